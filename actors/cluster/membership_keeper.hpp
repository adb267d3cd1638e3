#pragma once

#include "actors/cluster_view.hpp"
#include "actors/interfaces.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/io/middleman_actor.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace skyiq::storage {
class lease_table;
class membership;
} // namespace skyiq::storage

namespace skyiq::cluster {

/// Dependencies of the membership keeper.
struct keeper_environment {
  /// This node's name and the host:port its agent is published at.
  std::string node;
  std::string address;
  /// host:port of peers from cluster.peers, linked even before they
  /// appear in the membership table.
  std::vector<std::string> peers;
  std::shared_ptr<const storage::membership> members;
  std::shared_ptr<const storage::lease_table> leases;
  std::shared_ptr<actors::cluster_view> view;
  actors::registry_actor registry;
  /// Opens links to peers (see `link_opener`).
  caf::io::middleman_actor opener;
  /// This node's published agent, introduced to the peers it links to.
  caf::actor agent;
  /// cluster.heartbeat_interval and cluster.lease_ttl.
  std::chrono::milliseconds interval{1000};
  std::chrono::milliseconds ttl{4000};
};

/// Spawns the actor that keeps this node in the cluster, on a thread of
/// its own because its database calls block. Every `interval` it sends
/// the node's heartbeat, reads the live members, renews the node's leases
/// and has the registry stop the accounts whose lease was lost or that
/// moved to another node. Each pair of nodes shares one link, opened by
/// the node whose name sorts first, which introduces its own agent with
/// `(hello, name, agent)`. The other side's agent passes that on to this
/// actor. Both sides monitor the peer's agent, and a `down_msg` drops the
/// peer at once. (Two links per pair, one opened from each side, broke
/// each other in CAF 0.17.6's OpenSSL module.) On `(stop)` it releases
/// every lease of the node, removes the node from the membership table,
/// replies and exits.
caf::actor spawn_membership_keeper(caf::actor_system& system,
                                   keeper_environment env);

} // namespace skyiq::cluster
