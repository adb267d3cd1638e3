#pragma once

#include "actors/cluster_view.hpp"
#include "actors/interfaces.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <memory>

namespace skyiq::storage {
class master_key;
} // namespace skyiq::storage

namespace skyiq::cluster {

/// Dependencies of the node agent.
struct agent_environment {
  actors::registry_actor registry;
  std::shared_ptr<actors::cluster_view> view;
  /// Opens the auth tokens of forwarded setups and number listings.
  std::shared_ptr<const storage::master_key> key;
};

/// Spawns this node's agent, the one actor that peers link to. For
/// `(hello, name, agent)` from a peer that opened a link it passes the
/// peer on to the membership keeper (set with `(join, keeper)`) and
/// returns this node's name. It serves `(forward, account id,
/// request...)` for the accounts this node owns by handing the request to
/// the account's actor. For any other account it returns
/// errc::unavailable, so that the sender retries against the owner.
caf::actor spawn_node_agent(caf::actor_system& system, agent_environment env);

} // namespace skyiq::cluster
