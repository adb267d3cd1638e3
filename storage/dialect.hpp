#pragma once

// The one place where SQLite and PostgreSQL differ. Repository code writes
// each statement once, with `?` placeholders and types both backends read
// the same way (TEXT; BIGINT, which SQLite stores as INTEGER). Upserts use
// `INSERT ... ON CONFLICT (...) DO NOTHING | DO UPDATE SET x = excluded.x`,
// which SQLite (3.24 and later) and PostgreSQL (9.5 and later) both accept.
// Everything else that differs goes through the functions below.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace skyiq::storage {

enum class backend_kind { sqlite, postgresql };

/// Returns `sqlite` or `postgresql`, the names used in logs and by
/// `database::backend`.
const char* backend_name(backend_kind backend);

/// Returns the Poco::Data connector key: `SQLite` or `PostgreSQL`.
const char* poco_connector(backend_kind backend);

/// Rewrites `?` placeholders outside quoted literals as `$1, $2, ...` for
/// PostgreSQL, the only form Poco 1.11's connector accepts; returns `sql`
/// unchanged for SQLite.
std::string translate_placeholders(backend_kind backend,
                                   std::string_view sql);

/// Returns the statement that opens a read-write transaction. SQLite uses
/// BEGIN IMMEDIATE: a deferred transaction that reads before it writes
/// can fail with SQLITE_BUSY at once in WAL mode, without waiting for the
/// busy timeout.
const char* begin_write_sql(backend_kind backend);

/// A statement run on every new connection before its first use.
struct setup_statement {
  std::string sql;
  /// Value the first column of the first row must have; empty when the
  /// statement returns nothing to check.
  std::string expected;
};

/// Returns the statements run on every new connection before first use.
/// `busy_timeout` bounds waits for locks held by other connections: it
/// becomes SQLite's busy_timeout and PostgreSQL's lock_timeout.
std::vector<setup_statement>
session_setup_sql(backend_kind backend, std::chrono::milliseconds busy_timeout);

/// Returns a statement that serializes schema migrations across gateway
/// processes inside the migration transaction, or an empty string when the
/// write transaction itself does that (SQLite).
std::string migration_lock_sql(backend_kind backend);

/// Returns the suffix that locks the selected rows until the end of the
/// transaction (` FOR UPDATE`), or an empty string for SQLite, whose write
/// transaction already excludes every other writer.
const char* lock_rows_suffix(backend_kind backend);

/// Returns " FOR KEY SHARE" on PostgreSQL and "" on SQLite, whose write
/// transactions already exclude each other. The lock conflicts only with
/// FOR UPDATE (and deletes), not with a plain UPDATE of non-key columns.
const char* key_share_lock_suffix(backend_kind backend);

} // namespace skyiq::storage
