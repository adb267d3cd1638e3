"""Rows written straight into the gateway's SQLite file.

The gateway creates the schema, because its migrations run when it
starts on an empty file. These functions only insert rows shaped as the
gateway writes them: ids of 16 random bytes in base64url (22 characters),
session tokens of 32 random bytes (43 characters) stored as their
SHA-256 hex, times in milliseconds since the epoch, and Twilio auth
tokens sealed with AES-256-GCM as storage/crypto.cpp does.
"""

import base64
import hashlib
import os
import random
import secrets
import sqlite3
import time

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# Stands in for an Argon2id hash, because no seeded account ever logs in.
PASSWORD_HASH = ("$argon2id$v=19$m=19456,t=2,p=1$YmVuY2hzZWVkc2FsdA$"
                 "c2VlZGVkLWFjY291bnQtbm90LWZvci1sb2dpbg")
SEALED_VERSION = 1
STATUSES = (["completed"] * 14 + ["no-answer"] * 2 + ["busy", "failed",
                                                       "canceled"])
DAY_MS = 24 * 3600 * 1000


def now_ms():
    return int(time.time() * 1000)


def random_id():
    return secrets.token_urlsafe(16)


def write_master_key(path):
    """Write a fresh 256-bit key as the gateway's key file (mode 0600) and
    return its bytes."""
    key = secrets.token_bytes(32)
    with open(path, "w", opener=lambda p, f: os.open(p, f, 0o600)) as out:
        out.write(key.hex() + "\n")
    return key


def seal(key, plaintext, account_id):
    """Seal like storage/crypto.cpp encrypt_secret: base64 of version byte
    | 12-byte nonce | ciphertext | 16-byte tag, with the version byte and
    the account id as associated data."""
    nonce = secrets.token_bytes(12)
    version = bytes([SEALED_VERSION])
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(),
                                 version + account_id.encode())
    return base64.b64encode(version + nonce + sealed).decode()


def _open(path):
    db = sqlite3.connect(path, isolation_level=None)
    # Seeding only: the benchmark rebuilds the file on every run.
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -1000000")
    db.execute("PRAGMA foreign_keys = ON")
    return db


def _finish(db):
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def seed_accounts(path, count, key, sessions, with_twilio, number_base,
                  email_tag):
    """Insert `count` accounts, each with a business profile and, when
    `with_twilio`, sealed Twilio credentials and one claimed number
    (+1 `number_base` + index). The first `sessions` accounts get a live
    session. Return [(account_id, token or None, e164)]."""
    db = _open(path)
    created = now_ms()
    expires = created + 7 * DAY_MS
    result = []
    db.execute("BEGIN")
    for i in range(count):
        account_id = random_id()
        e164 = f"+1{number_base + i:010d}"
        db.execute("INSERT INTO accounts (id, email, password_hash, "
                   "created_at) VALUES (?, ?, ?, ?)",
                   (account_id, f"bench-{email_tag}-{i}@example.com",
                    PASSWORD_HASH, created))
        db.execute("INSERT INTO business_profiles (account_id, "
                   "business_name, greeting, timezone, hours, forward_to, "
                   "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (account_id, f"Bench Plumbing {i}",
                    "Thanks for calling Bench Plumbing. We will call you "
                    "back within the hour.", "America/New_York",
                    "Mon-Fri 08:00-18:00", None, created))
        if with_twilio:
            db.execute("INSERT INTO twilio_credentials (account_id, "
                       "account_sid, token_sealed, updated_at) "
                       "VALUES (?, ?, ?, ?)",
                       (account_id, "AC" + secrets.token_hex(16),
                        seal(key, secrets.token_hex(16), account_id),
                        created))
            db.execute("INSERT INTO numbers (e164, account_id, "
                       "phone_number_sid, claimed_at) VALUES (?, ?, ?, ?)",
                       (e164, account_id, "PN" + secrets.token_hex(16),
                        created))
        token = None
        if i < sessions:
            token = secrets.token_urlsafe(32)
            db.execute("INSERT INTO sessions (token_hash, account_id, "
                       "created_at, expires_at) VALUES (?, ?, ?, ?)",
                       (hashlib.sha256(token.encode()).hexdigest(),
                        account_id, created, expires))
        result.append((account_id, token, e164))
    db.execute("COMMIT")
    _finish(db)
    return result


def seed_calls(path, accounts, per_account):
    """Insert `per_account` completed-or-missed inbound calls for every
    account, created over the last 30 days."""
    db = _open(path)
    rng = random.Random(1)
    now = now_ms()

    def rows():
        for account_id, _, e164 in accounts:
            for _ in range(per_account):
                created = now - rng.randrange(30 * DAY_MS)
                status = rng.choice(STATUSES)
                answered = status == "completed"
                duration = rng.randrange(5, 900) if answered else None
                started = created + 4000 if answered else None
                ended = started + duration * 1000 if answered else None
                yield (random_id(), account_id, "CA" + secrets.token_hex(16),
                       f"+1202{rng.randrange(10**7):07d}", e164, "inbound",
                       status, created, started, ended, duration, 3)

    db.execute("BEGIN")
    db.executemany("INSERT INTO calls (id, account_id, call_sid, "
                   "from_number, to_number, direction, status, created_at, "
                   "started_at, ended_at, duration_seconds, last_sequence) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows())
    db.execute("COMMIT")
    _finish(db)


def query_plan(path, sql, params):
    """Return SQLite's EXPLAIN QUERY PLAN of `sql` as one string."""
    db = sqlite3.connect(path)
    try:
        steps = db.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        return "; ".join(step[-1] for step in steps)
    finally:
        db.close()


def count_rows(path, table):
    db = sqlite3.connect(path)
    try:
        return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        db.close()


def webhook_records(path):
    """Return {CallSid: [account_id, ...]} of every stored call."""
    db = sqlite3.connect(path)
    try:
        records = {}
        for call_sid, account_id in db.execute(
                "SELECT call_sid, account_id FROM calls"):
            records.setdefault(call_sid, []).append(account_id)
        return records
    finally:
        db.close()
