#include "actors/bridge.hpp"

#include <caf/exit_reason.hpp>

namespace skyiq::actors {

namespace {

caf::behavior bridge_actor(caf::event_based_actor* self) {
  return {
      [self](bridge_job& job) { job.run(self); },
  };
}

} // namespace

bridge::bridge(caf::actor_system& system, std::size_t actors) {
  for (std::size_t i = 0; i < std::max<std::size_t>(actors, 1); ++i) {
    actors_.push_back(system.spawn(bridge_actor));
  }
}

bridge::~bridge() {
  for (auto& actor : actors_) {
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  }
}

caf::actor bridge::next_actor() {
  const auto index = next_.fetch_add(1, std::memory_order_relaxed);
  return actors_[index % actors_.size()];
}

} // namespace skyiq::actors
