#pragma once

#include "actors/messages.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include <functional>
#include <memory>

namespace skyiq::twilio {
class rest_client;
}

namespace skyiq::actors {

/// Per-thread resources of one I/O worker. A worker runs one job at a
/// time, so nothing here needs a lock.
class io_context {
public:
  using client_factory =
      std::function<caf::expected<std::unique_ptr<twilio::rest_client>>()>;

  explicit io_context(client_factory factory);
  ~io_context();

  /// Returns this worker's Twilio REST client, created on first use so that
  /// its connections live in the worker and not in any account actor.
  caf::expected<twilio::rest_client*> twilio();

private:
  client_factory factory_;
  std::unique_ptr<twilio::rest_client> client_;
};

/// Spawns `workers` detached actors, each on its own thread, behind one
/// round-robin pool handle. Each worker runs `io_job`s and replies with the
/// message the job returns.
caf::actor spawn_io_pool(caf::actor_system& system, std::size_t workers,
                         io_context::client_factory factory);

/// Wraps a job's result for the reply: the value, or its error.
template <class T>
caf::message to_reply(caf::expected<T>&& result) {
  if (!result) {
    return caf::make_message(std::move(result.error()));
  }
  return caf::make_message(std::move(*result));
}

} // namespace skyiq::actors
