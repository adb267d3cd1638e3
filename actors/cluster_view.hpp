#pragma once

// One gateway node's view of the cluster: the live members from the
// membership table and the peers whose node agents it is linked to. HTTP
// threads ask it which node owns an account, and the membership keeper and
// the down handlers of the links update it. Thread-safe.

#include <caf/actor.hpp>

#include <atomic>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace skyiq::actors {

/// The link to one peer's node agent. `down` turns true when the link
/// breaks, so that callers waiting on a forwarded request can stop early.
struct peer_link {
  std::string name;
  /// host:port of the link; read and written by the membership keeper
  /// only.
  std::string address;
  caf::actor agent;
  std::atomic<bool> down{false};
};

using peer_ptr = std::shared_ptr<peer_link>;

class cluster_view {
public:
  /// `linked_peers`, when given, is kept equal to the number of linked
  /// peers (for metrics).
  explicit cluster_view(
      std::string self,
      std::shared_ptr<std::atomic<std::size_t>> linked_peers = nullptr);

  const std::string& self() const {
    return self_;
  }

  /// Replaces the set of live members (by name) read from the membership
  /// table. This node counts as live whatever the table contains.
  void set_members(std::set<std::string> names);

  /// Records a new link to `name`'s node agent, replacing an older one.
  void add_peer(peer_ptr peer);

  /// Marks the link to `name` as broken and drops it, if it is `peer`.
  void drop_peer(const peer_ptr& peer);

  /// Returns the link to `name`, if it is live.
  peer_ptr peer(const std::string& name) const;

  /// Returns the names of the linked peers.
  std::vector<std::string> peer_names() const;

  /// Returns the owner of `account_id` by rendezvous hashing over this
  /// node and the members it has a live link to.
  std::string owner_of(const std::string& account_id) const;

  /// Returns true when this node owns `account_id`.
  bool owns(const std::string& account_id) const {
    return owner_of(account_id) == self_;
  }

  /// Records that every lease this node holds lasts at least until
  /// `until` (ms since the Unix epoch), as the last renewal extended them.
  void set_leases_valid_until(std::int64_t until) {
    leases_valid_until_.store(until);
  }

  /// Returns false once the time recorded by `set_leases_valid_until` has
  /// passed: the node missed its renewals (it was stopped, or the database
  /// failed), so another node may own its accounts by now, and it must not
  /// serve them, not even reads, until a renewal shows which it still
  /// holds. True until the first renewal.
  bool leases_current(std::int64_t now) const {
    return now < leases_valid_until_.load();
  }

  /// Grows by one whenever the set of eligible nodes changes.
  std::uint64_t generation() const {
    return generation_.load();
  }

private:
  void rebuild_locked();

  const std::string self_;
  mutable std::mutex mutex_;
  std::set<std::string> members_;
  std::map<std::string, peer_ptr> peers_;
  /// This node plus the members with a live link, sorted by name.
  std::vector<std::string> eligible_;
  std::atomic<std::uint64_t> generation_{0};
  std::shared_ptr<std::atomic<std::size_t>> linked_peers_;
  std::atomic<std::int64_t> leases_valid_until_{
      std::numeric_limits<std::int64_t>::max()};
};

} // namespace skyiq::actors
