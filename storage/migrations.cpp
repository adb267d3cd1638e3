#include "storage/migrations.hpp"

#include "storage/errors.hpp"
#include "storage/types.hpp"

#include <Poco/Logger.h>

namespace skyiq::storage {

namespace {

struct migration {
  int version;
  const char* name;
  std::vector<const char*> statements;
};

// Every table that contains account data has an account_id column. Times are
// BIGINT milliseconds since the epoch on both backends. Append new
// migrations; never edit an applied one.
const std::vector<migration>& all_migrations() {
  static const std::vector<migration> list{
    {1,
     "initial schema",
     {
       "CREATE TABLE accounts ("
       " id TEXT PRIMARY KEY,"
       " email TEXT NOT NULL UNIQUE,"
       " password_hash TEXT NOT NULL,"
       " created_at BIGINT NOT NULL)",
       "CREATE TABLE sessions ("
       " token_hash TEXT PRIMARY KEY,"
       " account_id TEXT NOT NULL REFERENCES accounts (id)"
       "  ON DELETE CASCADE,"
       " created_at BIGINT NOT NULL,"
       " expires_at BIGINT NOT NULL)",
       "CREATE INDEX sessions_account ON sessions (account_id)",
       "CREATE TABLE twilio_credentials ("
       " account_id TEXT PRIMARY KEY REFERENCES accounts (id)"
       "  ON DELETE CASCADE,"
       " account_sid TEXT NOT NULL,"
       " token_sealed TEXT NOT NULL,"
       " updated_at BIGINT NOT NULL)",
       // The primary key on e164 is the single source of truth for which
       // account owns a number, across all gateway nodes.
       "CREATE TABLE numbers ("
       " e164 TEXT PRIMARY KEY,"
       " account_id TEXT NOT NULL REFERENCES accounts (id)"
       "  ON DELETE CASCADE,"
       " phone_number_sid TEXT NOT NULL,"
       " claimed_at BIGINT NOT NULL)",
       "CREATE INDEX numbers_account ON numbers (account_id)",
       "CREATE TABLE business_profiles ("
       " account_id TEXT PRIMARY KEY REFERENCES accounts (id)"
       "  ON DELETE CASCADE,"
       " business_name TEXT,"
       " greeting TEXT,"
       " timezone TEXT,"
       " hours TEXT,"
       " forward_to TEXT,"
       " updated_at BIGINT NOT NULL)",
       "CREATE TABLE calls ("
       " id TEXT PRIMARY KEY,"
       " account_id TEXT NOT NULL REFERENCES accounts (id)"
       "  ON DELETE CASCADE,"
       " call_sid TEXT NOT NULL,"
       " from_number TEXT NOT NULL,"
       " to_number TEXT NOT NULL,"
       " direction TEXT NOT NULL,"
       " status TEXT NOT NULL,"
       " created_at BIGINT NOT NULL,"
       " started_at BIGINT,"
       " ended_at BIGINT,"
       " duration_seconds BIGINT,"
       " last_sequence BIGINT NOT NULL DEFAULT -1,"
       " UNIQUE (account_id, call_sid))",
       "CREATE INDEX calls_account_created"
       " ON calls (account_id, created_at DESC, id DESC)",
       "CREATE INDEX calls_account_status_created"
       " ON calls (account_id, status, created_at DESC, id DESC)",
     }},
    {2,
     "cluster membership and account leases",
     {
       // One row per gateway node, with the time of its last heartbeat.
       "CREATE TABLE cluster_nodes ("
       " name TEXT PRIMARY KEY,"
       " address TEXT NOT NULL,"
       " started_at BIGINT NOT NULL,"
       " heartbeat_at BIGINT NOT NULL)",
       // The node that owns an account. A released lease keeps its row
       // (expires_at 0), so the epoch only ever grows.
       "CREATE TABLE account_leases ("
       " account_id TEXT PRIMARY KEY REFERENCES accounts (id)"
       "  ON DELETE CASCADE,"
       " owner_node TEXT NOT NULL,"
       " epoch BIGINT NOT NULL,"
       " expires_at BIGINT NOT NULL)",
       "CREATE INDEX account_leases_owner ON account_leases (owner_node)",
     }},
    {3,
     "lease of the write that inserted a call",
     {
       // The node and lease epoch under which a clustered gateway inserted
       // the row; NULL on a single node. They show afterwards that no two
       // nodes served one account at the same time.
       "ALTER TABLE calls ADD COLUMN lease_node TEXT",
       "ALTER TABLE calls ADD COLUMN lease_epoch BIGINT",
     }},
    {4,
     "fingerprint of the master key",
     {
       // One row: the HMAC of a fixed label under the master key that
       // sealed the Twilio auth tokens (storage/key_check.hpp).
       "CREATE TABLE master_key_check ("
       " id INTEGER PRIMARY KEY CHECK (id = 1),"
       " fingerprint TEXT NOT NULL,"
       " created_at BIGINT NOT NULL)",
     }},
  };
  return list;
}

constexpr const char* create_migrations_table
  = "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version BIGINT PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " applied_at BIGINT NOT NULL)";

// Applies what is missing; stores the version found in `found`.
caf::expected<int> apply_pending(sql_connection& connection, int& found) {
  // Another gateway may hold the lock for as long as its migrations take,
  // and a migration may take longer than any one request, so neither
  // lock_timeout nor the statement timeout applies here.
  connection.set_statement_timeout(std::chrono::milliseconds(0));
  auto lock = migration_lock_sql(connection.backend());
  if (!lock.empty()) {
    connection.execute("SET LOCAL lock_timeout = 0");
    connection.query(lock);
  }
  connection.execute(create_migrations_table);
  auto row = connection.query_one(
    "SELECT version FROM schema_migrations ORDER BY version DESC LIMIT 1");
  int current = row ? static_cast<int>(row->integer(0)) : 0;
  found = current;
  if (current > latest_schema_version()) {
    return make_error(errc::unavailable,
                      "database schema version " + std::to_string(current)
                        + " is newer than this gateway understands ("
                        + std::to_string(latest_schema_version())
                        + "); run a newer gateway build");
  }
  for (const auto& step : all_migrations()) {
    if (step.version <= current) {
      continue;
    }
    for (const char* sql : step.statements) {
      connection.execute(sql);
    }
    connection.execute("INSERT INTO schema_migrations (version, name, "
                       "applied_at) VALUES (?, ?, ?)",
                       {step.version, step.name, now_ms()});
  }
  return latest_schema_version();
}

} // namespace

int latest_schema_version() {
  return all_migrations().back().version;
}

caf::expected<int> migrate(connection_pool& pool) {
  int found = 0;
  auto result = with_transaction(pool, "schema migration",
                                 [&](sql_connection& connection) {
                                   return apply_pending(connection, found);
                                 });
  if (result && *result != found) {
    Poco::Logger::get("gateway.storage")
      .information("storage-migrated from_version=" + std::to_string(found)
                   + " to_version=" + std::to_string(*result));
  }
  return result;
}

} // namespace skyiq::storage
