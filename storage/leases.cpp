#include "storage/leases.hpp"

#include "storage/database.hpp"
#include "storage/dialect.hpp"
#include "storage/errors.hpp"
#include "storage/lease_fence.hpp"
#include "storage/sql.hpp"

#include <Poco/Logger.h>

#include <algorithm>

namespace skyiq::storage {

namespace {

caf::error check_not_empty(const std::string& value, const char* name) {
  if (value.empty()) {
    return make_error(errc::invalid_request,
                      std::string(name) + " is missing: pass a non-empty value");
  }
  return caf::none;
}

caf::error check_ttl(std::chrono::milliseconds ttl) {
  if (ttl.count() < 1) {
    return make_error(errc::invalid_request,
                      "lease TTL " + std::to_string(ttl.count()) +
                        "ms is invalid: use at least 1ms");
  }
  return caf::none;
}

// Inserts the first lease of an existing account, or takes over a row
// that is expired, released or already this node's. The CAST calls give
// PostgreSQL the column types of the values in the SELECT list.
constexpr const char* acquire_sql =
  "INSERT INTO account_leases (account_id, owner_node, epoch, expires_at)"
  " SELECT id, CAST(? AS TEXT), 1, CAST(? AS BIGINT)"
  " FROM accounts WHERE id = ?"
  " ON CONFLICT (account_id) DO UPDATE SET"
  " epoch = CASE WHEN account_leases.owner_node = excluded.owner_node"
  "  AND account_leases.expires_at > ? THEN account_leases.epoch"
  "  ELSE account_leases.epoch + 1 END,"
  " owner_node = excluded.owner_node,"
  " expires_at = excluded.expires_at"
  " WHERE account_leases.owner_node = excluded.owner_node"
  "  OR account_leases.expires_at <= ?"
  " RETURNING epoch, expires_at";

} // namespace

const char* lease_fence_sql() {
  return "EXISTS (SELECT 1 FROM account_leases WHERE account_id = ?"
         " AND owner_node = ? AND epoch = ? AND expires_at > ?)";
}

caf::error check_fence(sql_connection& connection, const lease_fence& fence) {
  sql_params params;
  append_fence_params(params, fence, now_ms());
  const auto sql = std::string("SELECT 1 FROM account_leases"
                               " WHERE account_id = ? AND owner_node = ?"
                               " AND epoch = ? AND expires_at > ?")
                   + key_share_lock_suffix(connection.backend());
  if (connection.query_one(sql, params)) {
    return caf::none;
  }
  Poco::Logger::get("gateway.storage")
    .warning("write-fenced message=\"write rejected: the lease moved\""
             " account_id="
             + fence.account_id + " node=" + fence.node
             + " epoch=" + std::to_string(fence.epoch));
  return make_error(errc::unavailable,
                    "account " + fence.account_id
                      + " is no longer served by gateway node " + fence.node
                      + " (lease epoch " + std::to_string(fence.epoch)
                      + " ended): retry the request");
}

void append_fence_params(sql_params& params, const lease_fence& fence,
                         timestamp_ms now) {
  params.emplace_back(fence.account_id);
  params.emplace_back(fence.node);
  params.emplace_back(fence.epoch);
  params.emplace_back(now);
}

membership::membership(std::shared_ptr<database> db, clock_function clock)
  : db_(std::move(db)), clock_(std::move(clock)) {
}

caf::expected<bool> membership::claim_name(const std::string& name,
                                           const std::string& address,
                                           std::chrono::milliseconds ttl) const {
  if (auto err = check_not_empty(name, "node name")) {
    return err;
  }
  if (auto err = check_not_empty(address, "node address")) {
    return err;
  }
  const auto now = clock_();
  return with_connection(
    db_->pool(), "claim node name",
    [&](sql_connection& connection) -> caf::expected<bool> {
      auto changed = connection.execute(
        "INSERT INTO cluster_nodes (name, address, started_at, heartbeat_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
        " address = excluded.address, started_at = excluded.started_at,"
        " heartbeat_at = excluded.heartbeat_at"
        " WHERE cluster_nodes.heartbeat_at <= ?",
        {name, address, now, now, now - ttl.count()});
      return changed > 0;
    });
}

caf::expected<bool> membership::heartbeat(const std::string& name) const {
  const auto now = clock_();
  return with_connection(
    db_->pool(), "node heartbeat",
    [&](sql_connection& connection) -> caf::expected<bool> {
      auto changed = connection.execute(
        "UPDATE cluster_nodes SET heartbeat_at = CASE WHEN heartbeat_at < ?"
        " THEN ? ELSE heartbeat_at END WHERE name = ?",
        {now, now, name});
      return changed > 0;
    });
}

caf::expected<bool> membership::deregister(const std::string& name) const {
  return with_connection(
    db_->pool(), "deregister node",
    [&](sql_connection& connection) -> caf::expected<bool> {
      return connection.execute("DELETE FROM cluster_nodes WHERE name = ?",
                                {name}) > 0;
    });
}

caf::expected<std::vector<node_entry>>
membership::live_nodes(std::chrono::milliseconds ttl) const {
  const auto oldest = clock_() - ttl.count();
  using result_type = caf::expected<std::vector<node_entry>>;
  return with_connection(
    db_->pool(), "list live nodes",
    [&](sql_connection& connection) -> result_type {
      auto rows = connection.query(
        "SELECT name, address, started_at, heartbeat_at FROM cluster_nodes"
        " WHERE heartbeat_at > ?",
        {oldest});
      std::vector<node_entry> nodes;
      for (const auto& row : rows) {
        nodes.push_back(
          {row.text(0), row.text(1), row.integer(2), row.integer(3)});
      }
      // Sorted here: PostgreSQL's ORDER BY follows the database collation,
      // and callers need the same byte order on every backend.
      std::sort(nodes.begin(), nodes.end(),
                [](const node_entry& a, const node_entry& b) {
                  return a.name < b.name;
                });
      return nodes;
    });
}

lease_table::lease_table(std::shared_ptr<database> db, clock_function clock)
  : db_(std::move(db)), clock_(std::move(clock)) {
}

caf::expected<std::optional<lease>>
lease_table::acquire(const std::string& account_id, const std::string& node,
                     std::chrono::milliseconds ttl) const {
  if (auto err = check_not_empty(account_id, "account id")) {
    return err;
  }
  if (auto err = check_not_empty(node, "node name")) {
    return err;
  }
  if (auto err = check_ttl(ttl)) {
    return err;
  }
  const auto now = clock_();
  const timestamp_ms expires_at = now + ttl.count();
  using result_type = caf::expected<std::optional<lease>>;
  return with_transaction(
    db_->pool(), "acquire lease",
    [&](sql_connection& connection) -> result_type {
      // Waits for the writes under the current lease, which hold the row
      // FOR KEY SHARE, so that none commits after the takeover.
      connection.query_one(
        std::string("SELECT epoch FROM account_leases WHERE account_id = ?") +
          lock_rows_suffix(connection.backend()),
        {account_id});
      auto row = connection.query_one(
        acquire_sql, {node, expires_at, account_id, now, now});
      if (row) {
        return lease{account_id, node, row->integer(0), row->integer(1)};
      }
      // Nothing was written, so either another node owns a live lease or
      // the account does not exist. This read distinguishes the two.
      auto existing = connection.query_one(
        "SELECT 1 FROM account_leases WHERE account_id = ?", {account_id});
      if (!existing) {
        return make_error(errc::not_found,
                          "account " + account_id + " does not exist");
      }
      return std::optional<lease>{};
    });
}

caf::expected<bool> lease_table::release(const std::string& account_id,
                                         const std::string& node,
                                         std::int64_t epoch) const {
  return with_connection(
    db_->pool(), "release lease",
    [&](sql_connection& connection) -> caf::expected<bool> {
      auto changed = connection.execute(
        "UPDATE account_leases SET expires_at = 0 WHERE account_id = ?"
        " AND owner_node = ? AND epoch = ? AND expires_at <> 0",
        {account_id, node, epoch});
      return changed > 0;
    });
}

caf::expected<bool> lease_table::holds(const std::string& account_id,
                                       const std::string& node,
                                       std::int64_t epoch) const {
  sql_params params;
  append_fence_params(params, {account_id, node, epoch}, clock_());
  const auto sql =
    std::string("SELECT CASE WHEN ") + lease_fence_sql() + " THEN 1 ELSE 0 END";
  return with_connection(
    db_->pool(), "check lease",
    [&](sql_connection& connection) -> caf::expected<bool> {
      auto row = connection.query_one(sql, params);
      return row && row->integer(0) == 1;
    });
}

caf::expected<std::vector<lease>>
lease_table::renew_all(const std::string& node,
                       std::chrono::milliseconds ttl) const {
  if (auto err = check_ttl(ttl)) {
    return err;
  }
  const auto now = clock_();
  using result_type = caf::expected<std::vector<lease>>;
  return with_connection(
    db_->pool(), "renew leases",
    [&](sql_connection& connection) -> result_type {
      auto rows = connection.query(
        "UPDATE account_leases SET expires_at = ?"
        " WHERE owner_node = ? AND expires_at > ?"
        " RETURNING account_id, epoch, expires_at",
        {now + ttl.count(), node, now});
      std::vector<lease> held;
      held.reserve(rows.size());
      for (const auto& row : rows) {
        held.push_back({row.text(0), node, row.integer(1), row.integer(2)});
      }
      return held;
    });
}

caf::expected<std::size_t>
lease_table::release_all(const std::string& node) const {
  return with_connection(
    db_->pool(), "release leases",
    [&](sql_connection& connection) -> caf::expected<std::size_t> {
      return connection.execute(
        "UPDATE account_leases SET expires_at = 0"
        " WHERE owner_node = ? AND expires_at <> 0",
        {node});
    });
}

caf::expected<std::optional<lease>>
lease_table::find(const std::string& account_id) const {
  using result_type = caf::expected<std::optional<lease>>;
  return with_connection(
    db_->pool(), "find lease",
    [&](sql_connection& connection) -> result_type {
      auto row = connection.query_one(
        "SELECT owner_node, epoch, expires_at FROM account_leases"
        " WHERE account_id = ?",
        {account_id});
      if (!row) {
        return std::optional<lease>{};
      }
      return lease{account_id, row->text(0), row->integer(1),
                   row->integer(2)};
    });
}

} // namespace skyiq::storage
