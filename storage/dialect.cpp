#include "storage/dialect.hpp"

namespace skyiq::storage {

namespace {

// Key of the PostgreSQL advisory lock held while migrations run; an
// arbitrary constant that other applications are unlikely to use.
constexpr long long migration_lock_key = 0x536b7949510001LL;

} // namespace

const char* backend_name(backend_kind backend) {
  return backend == backend_kind::sqlite ? "sqlite" : "postgresql";
}

const char* poco_connector(backend_kind backend) {
  return backend == backend_kind::sqlite ? "SQLite" : "PostgreSQL";
}

std::string translate_placeholders(backend_kind backend,
                                   std::string_view sql) {
  if (backend == backend_kind::sqlite) {
    return std::string(sql);
  }
  std::string out;
  out.reserve(sql.size() + 16);
  char quote = 0;
  int next = 1;
  for (char c : sql) {
    if (quote != 0) {
      quote = c == quote ? 0 : quote;
      out += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      out += c;
    } else if (c == '?') {
      out += '$';
      out += std::to_string(next++);
    } else {
      out += c;
    }
  }
  return out;
}

const char* begin_write_sql(backend_kind backend) {
  return backend == backend_kind::sqlite ? "BEGIN IMMEDIATE" : "BEGIN";
}

std::vector<setup_statement>
session_setup_sql(backend_kind backend,
                  std::chrono::milliseconds busy_timeout) {
  if (backend == backend_kind::postgresql) {
    // client_min_messages keeps NOTICE lines of CREATE ... IF NOT EXISTS
    // off stderr. lock_timeout is the counterpart of SQLite's busy
    // timeout: a statement blocked by another session's row lock fails
    // (SQLSTATE 55P03) instead of waiting without end. The gateway sends a
    // transaction's statements back to back, so a transaction idle for
    // twice that long belongs to a gateway that is stopped or cut off. The
    // server then ends it, and with it the row locks that would keep
    // another node from taking over the stopped node's accounts.
    return {
      {"SET client_min_messages = warning", ""},
      {"SET lock_timeout = " + std::to_string(busy_timeout.count()), ""},
      {"SET idle_in_transaction_session_timeout = " +
         std::to_string(2 * busy_timeout.count()),
       ""},
    };
  }
  // journal_mode is stored in the file; the other pragmas are per
  // connection. synchronous=FULL makes every commit wait for fsync of
  // the WAL, so a committed record survives a power loss. cache_size
  // caps each connection's page cache at 512 KiB instead of SQLite's
  // default of 2 MiB, which kept the memory of the whole pool high. Pages
  // that do not fit are read again from the kernel's page cache.
  return {
    {"PRAGMA journal_mode = WAL", "wal"},
    {"PRAGMA synchronous = FULL", ""},
    {"PRAGMA cache_size = -512", ""},
    {"PRAGMA foreign_keys = ON", ""},
    {"PRAGMA busy_timeout = " + std::to_string(busy_timeout.count()), ""},
  };
}

std::string migration_lock_sql(backend_kind backend) {
  if (backend == backend_kind::sqlite) {
    return {};
  }
  return "SELECT 1 FROM (SELECT pg_advisory_xact_lock("
         + std::to_string(migration_lock_key) + ")) AS migration_lock";
}

const char* lock_rows_suffix(backend_kind backend) {
  return backend == backend_kind::sqlite ? "" : " FOR UPDATE";
}

const char* key_share_lock_suffix(backend_kind backend) {
  return backend == backend_kind::sqlite ? "" : " FOR KEY SHARE";
}

} // namespace skyiq::storage
