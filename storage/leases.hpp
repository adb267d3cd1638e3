#pragma once

// Cluster membership and account leases in the shared store. Each node
// registers itself and sends heartbeats; each account is owned by the node
// that holds its lease. A lease carries an epoch that changes whenever the
// account changes hands, so a write that names the epoch it was made under
// (see `lease_fence.hpp`) fails once another node has taken over.
//
// Every write is one conditional statement (an acquisition locks the row
// first, in the same transaction), so two nodes that race cannot both
// win, and each is idempotent, so the retry of `with_connection` after a
// lost reply does no harm.
//
// Times come from the clock given at construction (the node's own clock by
// default). NOTE: node clocks must agree to well within the lease TTL. A
// node whose clock runs ahead may take a lease that the owner still
// believes live. The epoch fence then rejects the old owner's writes, but
// both nodes may serve reads until the lease ends by the owner's clock.

#include "storage/types.hpp"

#include <caf/expected.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace skyiq::storage {

class database;

/// A source of the current time in milliseconds since the Unix epoch.
using clock_function = std::function<timestamp_ms()>;

/// One gateway node as the membership table lists it.
struct node_entry {
  std::string name;
  /// host:port of the node's CAF link.
  std::string address;
  timestamp_ms started_at = 0;
  timestamp_ms heartbeat_at = 0;
};

/// The node table: registration, heartbeats and the list of live nodes.
/// Thread-safe. Errors: errc::unavailable when the database fails.
class membership {
public:
  explicit membership(std::shared_ptr<database> db,
                      clock_function clock = now_ms);

  /// Inserts or replaces the row of `name`, with its heartbeat at now, but
  /// only when no row of that name had a heartbeat within `ttl`. Returns
  /// false when a live node uses the name, so that two processes never run
  /// as one node. Errors: errc::invalid_request for an empty name or
  /// address.
  caf::expected<bool> claim_name(const std::string& name,
                                 const std::string& address,
                                 std::chrono::milliseconds ttl) const;

  /// Moves the heartbeat of `name` to now, but never back in time. Returns
  /// false when `name` is not registered, so the node must register again.
  caf::expected<bool> heartbeat(const std::string& name) const;

  /// Removes the row of `name`. Returns false when there was none.
  caf::expected<bool> deregister(const std::string& name) const;

  /// Returns the nodes whose last heartbeat is less than `ttl` old, sorted
  /// by the bytes of their names.
  caf::expected<std::vector<node_entry>>
  live_nodes(std::chrono::milliseconds ttl) const;

private:
  std::shared_ptr<database> db_;
  clock_function clock_;
};

/// A node's lease on one account.
struct lease {
  std::string account_id;
  std::string owner_node;
  /// 1 for the first owner, then one more at every change of hands.
  std::int64_t epoch = 0;
  timestamp_ms expires_at = 0;
};

/// The account lease table. Thread-safe. Errors: errc::unavailable when
/// the database fails, plus the codes listed per method.
class lease_table {
public:
  explicit lease_table(std::shared_ptr<database> db,
                       clock_function clock = now_ms);

  /// Acquires the lease on `account_id` for `node`, or renews it, until
  /// now + `ttl`. Succeeds only when the lease is free, expired or held by
  /// `node`. The epoch stays the same when `node` renews a live lease and
  /// goes up by one in every other case: a new owner, or the same node
  /// after its lease expired or was released. Returns nullopt when another
  /// node holds a live lease. Errors: errc::not_found when the account
  /// does not exist; errc::invalid_request for an empty account id or
  /// node name, or a TTL below 1 ms.
  caf::expected<std::optional<lease>>
  acquire(const std::string& account_id, const std::string& node,
          std::chrono::milliseconds ttl) const;

  /// Ends the lease of `node` on `account_id` at `epoch` now, so that
  /// another node may acquire it at once. Returns false when `node` did
  /// not hold that lease, which makes a second release harmless. The row
  /// stays so that the next owner's epoch is higher.
  caf::expected<bool> release(const std::string& account_id,
                              const std::string& node,
                              std::int64_t epoch) const;

  /// Returns true while `node` holds a live lease on `account_id` at
  /// `epoch`. It checks the same condition as `lease_fence_sql()`.
  caf::expected<bool> holds(const std::string& account_id,
                            const std::string& node,
                            std::int64_t epoch) const;

  /// Extends every live lease of `node` to now + `ttl`, keeping their
  /// epochs, and returns them. A lease that expired before the call is not
  /// renewed and not returned: the node lost it and must acquire it again.
  caf::expected<std::vector<lease>>
  renew_all(const std::string& node, std::chrono::milliseconds ttl) const;

  /// Releases every lease of `node`, as at shutdown, and returns how many
  /// were live or expired but not yet released.
  caf::expected<std::size_t> release_all(const std::string& node) const;

  /// Returns the lease row of `account_id`, live or not, or nullopt when
  /// no node ever held it.
  caf::expected<std::optional<lease>>
  find(const std::string& account_id) const;

private:
  std::shared_ptr<database> db_;
  clock_function clock_;
};

} // namespace skyiq::storage
