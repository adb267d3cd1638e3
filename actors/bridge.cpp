#include "actors/bridge.hpp"

#include "storage/types.hpp"

#include <caf/exit_reason.hpp>

namespace skyiq::actors {

namespace {

caf::behavior bridge_actor(caf::event_based_actor* self) {
  return {
      [self](bridge_job& job) { job.run(self); },
  };
}

} // namespace

bridge::bridge(caf::actor_system& system, std::size_t actors)
    : system_(&system) {
  for (std::size_t i = 0; i < std::max<std::size_t>(actors, 1); ++i) {
    actors_.push_back(system.spawn(bridge_actor));
  }
}

bridge::~bridge() {
  for (auto& actor : actors_) {
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  }
}

// Past this many accounts the cache starts over instead of growing; the
// registry still has every live handle.
constexpr std::size_t max_cached_handles = 100000;

std::optional<account_actor>
bridge::handle_cache::find(const std::string& account_id) {
  std::lock_guard<std::mutex> guard(mutex_);
  const auto it = handles_.find(account_id);
  if (it == handles_.end()) {
    return std::nullopt;
  }
  return it->second;
}

void bridge::handle_cache::store(const std::string& account_id,
                                 const account_actor& handle) {
  std::lock_guard<std::mutex> guard(mutex_);
  if (handles_.size() >= max_cached_handles) {
    handles_.clear();
  }
  handles_[account_id] = handle;
}

void bridge::handle_cache::erase(const std::string& account_id) {
  std::lock_guard<std::mutex> guard(mutex_);
  handles_.erase(account_id);
}

caf::error bridge::check_leases_current() const {
  if (forward_->view->leases_current(storage::now_ms())) {
    return caf::none;
  }
  return make_error(errc::unavailable,
                    "gateway node " + forward_->view->self() +
                        " missed its lease renewals, so another node may "
                        "serve this account now: retry the request");
}

caf::actor bridge::next_actor() {
  const auto index = next_.fetch_add(1, std::memory_order_relaxed);
  return actors_[index % actors_.size()];
}

} // namespace skyiq::actors
