#include "actors/io_pool.hpp"

#include "actors/twilio/rest_client.hpp"
#include "storage/errors.hpp"

#include <caf/actor_pool.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_execution_unit.hpp>

#include <Poco/Logger.h>

namespace skyiq::actors {

io_context::io_context(client_factory factory) : factory_(std::move(factory)) {}

io_context::~io_context() = default;

caf::expected<twilio::rest_client*> io_context::twilio() {
  if (!client_) {
    auto created = factory_();
    if (!created) {
      return std::move(created.error());
    }
    client_ = std::move(*created);
  }
  return client_.get();
}

namespace {

caf::behavior io_worker(caf::event_based_actor* self,
                        io_context::client_factory factory) {
  auto context = std::make_shared<io_context>(std::move(factory));
  self->set_default_handler(caf::drop);
  return {
      [context](io_job& job) -> caf::message {
        try {
          return job.run(*context);
        } catch (const std::exception& e) {
          Poco::Logger::get("gateway.io")
              .error("io-job-failed message=\"unexpected exception\" what=\"" +
                     std::string(e.what()) + "\"");
          return caf::make_message(make_error(
              errc::internal, "internal error while running a background job"));
        }
      },
  };
}

} // namespace

caf::actor spawn_io_pool(caf::actor_system& system, std::size_t workers,
                         io_context::client_factory factory) {
  caf::scoped_execution_unit context(&system);
  auto spawn_worker = [&system, factory]() -> caf::actor {
    return system.spawn<caf::detached>(io_worker, factory);
  };
  return caf::actor_pool::make(&context, workers, spawn_worker,
                               caf::actor_pool::round_robin());
}

} // namespace skyiq::actors
