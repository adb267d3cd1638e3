#include "actors/node.hpp"

#include "actors/io_pool.hpp"
#include "actors/registry.hpp"
#include "actors/twilio/rest_client.hpp"
#include "storage/call_writer.hpp"
#include "storage/leases.hpp"

#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

namespace skyiq::actors {

namespace {

io_context::client_factory make_client_factory(const config::settings& s,
                                               node_hooks& hooks) {
  twilio::rest_options options;
  options.base_url = s.twilio_api_base_url;
  options.timeout = s.twilio_timeout;
  options.connect_timeout = s.twilio_connect_timeout;
  options.max_retries = s.twilio_max_retries;
  options.retry_backoff = s.twilio_retry_backoff;
  options.ca_file = s.twilio_ca_file;
  options.on_error = hooks.on_twilio_error;
  return [options]() -> caf::expected<std::unique_ptr<twilio::rest_client>> {
    auto client = twilio::rest_client::make(options);
    if (!client) {
      return std::move(client.error());
    }
    return std::make_unique<twilio::rest_client>(std::move(*client));
  };
}

io_context::client_factory no_client() {
  return []() -> caf::expected<std::unique_ptr<twilio::rest_client>> {
    return make_error(errc::internal, "storage workers do not call Twilio");
  };
}

} // namespace

std::chrono::milliseconds twilio_flow_timeout(const config::settings& s) {
  return 3 * s.twilio_timeout + std::chrono::seconds(2);
}

node::node(caf::actor_system& system, const config::settings& settings,
           std::shared_ptr<storage::database> database,
           std::shared_ptr<const storage::master_key> key, node_hooks hooks) {
  storage_pool_ =
      spawn_io_pool(system, settings.storage_pool_size, no_client());
  twilio_pool_ = spawn_io_pool(system, settings.actors_io_workers,
                               make_client_factory(settings, hooks));
  writer_ =
      spawn_writer(system, std::make_shared<storage::call_writer>(database),
                   settings.storage_max_batch, hooks.on_batch);

  auto accounts = std::make_shared<account_environment>();
  accounts->storage_pool = storage_pool_;
  accounts->twilio_pool = twilio_pool_;
  accounts->writer = writer_;
  accounts->targets = make_webhook_targets(settings.http_public_base_url,
                                           settings.twilio_voice_fallback_url);
  accounts->storage_timeout = settings.storage_timeout;
  accounts->twilio_flow_timeout = twilio_flow_timeout(settings);
  accounts->idle_timeout = settings.actors_idle_timeout;

  registry_environment env{database, key, std::move(accounts),
                           hooks.active_accounts, nullptr};
  if (hooks.cluster) {
    auto cluster = std::make_shared<registry_cluster>();
    cluster->view = hooks.cluster;
    cluster->leases = std::make_shared<storage::lease_table>(database);
    cluster->lease_ttl = settings.cluster_lease_ttl;
    // A dead owner's lease ends at most one TTL after its last renewal.
    cluster->acquire_wait =
        settings.cluster_lease_ttl + settings.cluster_heartbeat_interval;
    env.cluster = std::move(cluster);
  }
  registry_ = system.spawn<actors::registry>(std::move(env));
  bridge_ = std::make_shared<bridge>(system, 4);
  if (hooks.cluster) {
    bridge_->enable_forwarding(std::make_shared<forwarding>(forwarding{
        hooks.cluster, std::move(key), hooks.forwarded_requests}));
  }
}

node::~node() {
  stop();
}

void node::stop() {
  if (stopped_) {
    return;
  }
  stopped_ = true;
  bridge_.reset();
  caf::anon_send_exit(registry_, caf::exit_reason::user_shutdown);
  caf::anon_send(caf::actor_cast<caf::actor>(writer_), stop_atom_v);
  caf::anon_send_exit(storage_pool_, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(twilio_pool_, caf::exit_reason::user_shutdown);
}

} // namespace skyiq::actors
