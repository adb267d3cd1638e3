"""Accounts connected through the real setup flow, and pre-signed voice
webhooks for them."""

import base64
import hashlib
import hmac
import http.client
import json
import os
import secrets
import threading
import urllib.parse
from dataclasses import dataclass

from benchlib.processes import BenchError

WEBHOOK_PATH = "/api/twilio/webhook"

# The caller of every benchmark call, and the place fields Twilio sends
# with a US number, so that bodies have the size of real voice webhooks
# (about 800 bytes).
CALLER = "+12025550143"
CALLED_PLACE = {"City": "SAN FRANCISCO", "Country": "US", "State": "CA",
                "Zip": "94105"}
CALLER_PLACE = {"City": "WASHINGTON", "Country": "US", "State": "DC",
                "Zip": "20001"}


@dataclass
class TwilioAccount:
    """A fake Twilio account with one number, and the Sky IQ account
    connected to it once `connect_accounts` ran."""

    sid: str
    auth_token: str
    phone_number: str
    number_sid: str
    user_id: str = ""
    session_token: str = ""


def make_twilio_accounts(count):
    """Return `count` accounts with distinct SIDs, tokens and US numbers
    (+1 415 555 0000 upwards)."""
    if count > 10000:
        raise BenchError("at most 10,000 webhook accounts fit the +1 415 555 "
                         "number range")
    accounts = []
    for i in range(count):
        accounts.append(TwilioAccount(
            sid="AC" + secrets.token_hex(16),
            auth_token=secrets.token_hex(16),
            phone_number=f"+1415555{i:04d}",
            number_sid="PN" + secrets.token_hex(16)))
    return accounts


def write_fake_twilio_seed(accounts, path):
    """Write the JSON file that `fake-twilio` loads."""
    seed = {"accounts": [{
        "sid": a.sid,
        "authToken": a.auth_token,
        "status": "active",
        "numbers": [{"phoneNumber": a.phone_number, "sid": a.number_sid,
                     "friendlyName": "Main line"}],
    } for a in accounts]}
    with open(path, "w") as out:
        json.dump(seed, out)


def _post_json(connection, path, body, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    connection.request("POST", path, body=json.dumps(body), headers=headers)
    answer = connection.getresponse()
    return answer.status, answer.read()


def _connect_one(connection, index, account):
    status, body = _post_json(connection, "/api/auth/signup", {
        "email": f"bench-{index}@example.com",
        "password": f"bench-password-{index}"})
    if status != 201:
        raise BenchError(f"signup {index} returned status {status}: "
                         f"{body[:200]!r}")
    session = json.loads(body)
    account.user_id = session["userId"]
    account.session_token = session["token"]
    status, body = _post_json(
        connection, f"/api/twilio/setup/{account.user_id}",
        {"accountSid": account.sid, "authToken": account.auth_token,
         "phoneNumber": account.phone_number}, account.session_token)
    if status != 201:
        raise BenchError(f"setup of {account.phone_number} returned status "
                         f"{status}: {body[:200]!r}")


def connect_accounts(port, accounts, workers=8):
    """Sign up one Sky IQ account per Twilio account and run the setup
    flow (which calls the fake Twilio) for its number, `workers` at a
    time, each on one keep-alive connection."""
    failures = []
    next_index = [0]
    lock = threading.Lock()

    def work():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            while True:
                with lock:
                    if failures or next_index[0] >= len(accounts):
                        return
                    index = next_index[0]
                    next_index[0] += 1
                _connect_one(connection, index, accounts[index])
        except (BenchError, OSError, http.client.HTTPException,
                ValueError, KeyError) as error:
            with lock:
                failures.append(str(error))
        finally:
            connection.close()

    pool = [threading.Thread(target=work) for _ in range(workers)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if failures:
        raise BenchError("connecting accounts failed: " + failures[0])


def _voice_params(account, call_sid):
    """Return the parameters of an inbound voice webhook in the order
    Twilio sends them (which the signature does not depend on)."""
    params = [("AccountSid", account.sid), ("ApiVersion", "2010-04-01"),
              ("CallSid", call_sid), ("CallStatus", "ringing"),
              ("Called", account.phone_number)]
    params += [("Called" + k, v) for k, v in CALLED_PLACE.items()]
    params += [("Caller", CALLER)]
    params += [("Caller" + k, v) for k, v in CALLER_PLACE.items()]
    params += [("Direction", "inbound"), ("From", CALLER)]
    params += [("From" + k, v) for k, v in CALLER_PLACE.items()]
    params += [("To", account.phone_number)]
    params += [("To" + k, v) for k, v in CALLED_PLACE.items()]
    return params


def _encode(params):
    return "&".join(urllib.parse.quote_plus(k) + "=" +
                    urllib.parse.quote_plus(v) for k, v in params)


def signature(auth_token, url, params):
    """Return X-Twilio-Signature: base64 of HMAC-SHA1, keyed with the auth
    token, over the URL followed by every parameter, sorted by name, as
    name + value."""
    data = url + "".join(k + v for k, v in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1)
    return base64.b64encode(digest.digest()).decode()


def write_account_templates(accounts, path):
    """Write the replay script's ACCOUNTS file: per account, the encoded
    body before and after the CallSid value."""
    marker = "CA" + "0" * 32
    with open(path, "w") as out:
        for account in accounts:
            body = _encode(_voice_params(account, marker))
            prefix, suffix = body.split(marker)
            out.write(prefix + "\t" + suffix + "\n")


def presign(accounts, public_base_url, count, threads, prefix):
    """Write `count` webhooks with distinct CallSids, spread round-robin
    over the accounts, to `prefix`.0 .. `prefix`.(threads-1). Return the
    per-thread lists of (CallSid, account index) in file order."""
    url = public_base_url + WEBHOOK_PATH
    files = [open(f"{prefix}.{t}", "w") for t in range(threads)]
    plan = [[] for _ in range(threads)]
    try:
        for i in range(count):
            account_index = i % len(accounts)
            account = accounts[account_index]
            call_sid = "CA" + secrets.token_hex(16)
            params = _voice_params(account, call_sid)
            sig = signature(account.auth_token, url, params)
            files[i % threads].write(
                f"{sig} {account_index + 1} {call_sid}\n")
            plan[i % threads].append((call_sid, account_index))
    finally:
        for f in files:
            f.close()
    return plan


def send_probe(port, public_base_url, account):
    """Send one signed webhook with a CallSid outside the replay files and
    return (status, body, CallSid). bench/run requires 200 before the load
    starts, so that a signing mismatch cannot pass as a throughput
    figure."""
    call_sid = "CA" + secrets.token_hex(16)
    params = _voice_params(account, call_sid)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", WEBHOOK_PATH, body=_encode(params),
                           headers={
                               "Content-Type":
                                   "application/x-www-form-urlencoded",
                               "X-Twilio-Signature": signature(
                                   account.auth_token,
                                   public_base_url + WEBHOOK_PATH, params)})
        answer = connection.getresponse()
        return answer.status, answer.read().decode(errors="replace"), call_sid
    finally:
        connection.close()


def remove_files(prefix, threads):
    for t in range(threads):
        try:
            os.remove(f"{prefix}.{t}")
        except FileNotFoundError:
            pass
