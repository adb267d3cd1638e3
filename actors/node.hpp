#pragma once

#include "actors/bridge.hpp"
#include "actors/cluster_view.hpp"
#include "actors/interfaces.hpp"
#include "actors/writer.hpp"
#include "config/settings.hpp"

#include <caf/actor_system.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>

namespace skyiq::storage {
class database;
class master_key;
} // namespace skyiq::storage

namespace skyiq::actors {

/// Time a whole setup or number listing may take: three Twilio requests
/// (account, number list, update), each bounded by `twilio.timeout`.
std::chrono::milliseconds twilio_flow_timeout(const config::settings& s);

/// Hooks through which the actors report figures for metrics.
struct node_hooks {
  batch_observer on_batch;
  std::function<void(int http_status, int twilio_code)> on_twilio_error;
  std::shared_ptr<std::atomic<std::size_t>> active_accounts;
  /// Set on a clustered node: which node owns which account. The registry
  /// then serves only the accounts it owns, under their leases, and the
  /// bridge forwards the others.
  std::shared_ptr<cluster_view> cluster;
  /// Counts requests forwarded to another node; may be null.
  std::shared_ptr<std::atomic<std::uint64_t>> forwarded_requests;
};

/// The actors of one gateway node: the storage and Twilio worker pools,
/// the group-commit writer, the registry and the bridge that HTTP threads
/// use to reach them.
class node {
public:
  node(caf::actor_system& system, const config::settings& settings,
       std::shared_ptr<storage::database> database,
       std::shared_ptr<const storage::master_key> key, node_hooks hooks);
  ~node();

  registry_actor registry() const {
    return registry_;
  }

  std::shared_ptr<bridge> requests() const {
    return bridge_;
  }

  /// Stops the registry (and with it every account actor), then lets the
  /// writer commit what it holds and the pools exit.
  void stop();

private:
  caf::actor storage_pool_;
  caf::actor twilio_pool_;
  writer_actor writer_;
  registry_actor registry_;
  std::shared_ptr<bridge> bridge_;
  bool stopped_ = false;
};

} // namespace skyiq::actors
