#pragma once

#include "actors/interfaces.hpp"

#include <caf/actor_system.hpp>

#include <memory>

namespace skyiq::storage {
class call_writer;
}

namespace skyiq::actors {

/// Observes each committed batch; used for metrics and tests.
using batch_observer = std::function<void(std::size_t batch_size)>;

/// Spawns the group-commit writer on its own thread. It takes one write,
/// then every write already waiting (up to `max_batch`), commits them in
/// one transaction and only then replies to each sender, so that a reply
/// always means the record is durable.
writer_actor spawn_writer(caf::actor_system& system,
                          std::shared_ptr<storage::call_writer> writer,
                          std::size_t max_batch, batch_observer observer);

} // namespace skyiq::actors
