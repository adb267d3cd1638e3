#pragma once

#include "actors/messages.hpp"

#include <caf/fwd.hpp>

namespace skyiq::cluster {

/// Registers every message type that has an `inspect` overload (see
/// `message_inspect.hpp`) with `config`, so that the actor system can
/// serialize it for another node. Call it before the actor system is
/// constructed from `config`. Returns `config`.
caf::actor_system_config& add_message_types(caf::actor_system_config& config);

} // namespace skyiq::cluster
