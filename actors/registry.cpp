#include "actors/registry.hpp"

#include "actors/io_pool.hpp"
#include "storage/account_store.hpp"
#include "storage/errors.hpp"
#include "storage/leases.hpp"

#include <Poco/Logger.h>

namespace skyiq::actors {

namespace {

Poco::Logger& logger() {
  static Poco::Logger& instance = Poco::Logger::get("gateway.registry");
  return instance;
}

constexpr std::chrono::milliseconds lease_retry_delay{200};

caf::error not_owner(const std::string& account_id, const std::string& owner) {
  return make_error(errc::unavailable,
                    "account " + account_id + " is served by gateway node " +
                        owner + ", not this one: retry the request");
}

// Acquires the lease (clustered), then loads the account; runs on a
// storage worker.
caf::message load_activation(const registry_environment& env,
                             const std::string& account_id) {
  std::optional<storage::lease_fence> fence;
  if (env.cluster) {
    const auto& node = env.cluster->view->self();
    auto held = env.cluster->leases->acquire(account_id, node,
                                             env.cluster->lease_ttl);
    if (!held) {
      return caf::make_message(std::move(held.error()));
    }
    if (!*held) {
      return caf::make_message(activation{});
    }
    fence = storage::lease_fence{account_id, node, (*held)->epoch};
  }
  auto store = std::make_shared<storage::account_store>(
      env.database, env.key, account_id, std::move(fence));
  auto snapshot = load_snapshot(*store);
  if (!snapshot) {
    return caf::make_message(std::move(snapshot.error()));
  }
  return caf::make_message(activation{store, std::move(*snapshot)});
}

} // namespace

registry::registry(caf::actor_config& config, registry_environment environment)
    : registry_actor::base(config), env_(std::move(environment)) {
  set_down_handler([this](caf::down_msg& msg) { on_down(msg); });
}

registry::behavior_type registry::make_behavior() {
  return {
      [this](account_atom, const std::string& id) { return on_account(id); },
      [this](count_atom) { return live_.size(); },
      [this](reconcile_atom, std::vector<storage::lease>& held,
             std::int64_t renewed_at) {
        return on_reconcile(held, renewed_at);
      },
      [this](retry_atom, const std::string& id) { on_retry(id); },
  };
}

registry::handle_promise registry::on_account(const std::string& account_id) {
  auto rp = make_response_promise<account_actor>();
  if (env_.cluster && !env_.cluster->view->owns(account_id)) {
    rp.deliver(
        not_owner(account_id, env_.cluster->view->owner_of(account_id)));
    return rp;
  }
  if (auto it = live_.find(account_id); it != live_.end()) {
    rp.deliver(it->second);
    return rp;
  }
  auto& waiting = pending_[account_id];
  waiting.push_back(rp);
  if (waiting.size() == 1) {
    if (env_.cluster) {
      deadlines_[account_id] =
          std::chrono::steady_clock::now() + env_.cluster->acquire_wait;
    }
    activate(account_id);
  }
  return rp;
}

void registry::activate(const std::string& account_id) {
  io_job work{[env = env_, account_id](io_context&) {
    return load_activation(env, account_id);
  }};
  request(env_.accounts->storage_pool, env_.accounts->storage_timeout,
          std::move(work))
      .then(
          [this, account_id](activation& result) {
            on_activation(account_id, result);
          },
          [this, account_id](caf::error& err) {
            on_failed(account_id, std::move(err));
          });
}

void registry::on_activation(const std::string& account_id,
                             activation& result) {
  if (result.store) {
    on_loaded(account_id, std::move(result.store), result.snapshot);
    return;
  }
  // Another node still holds the lease: it is shutting the account down,
  // or it died and its lease has not expired yet.
  const auto deadline = deadlines_.find(account_id);
  if (deadline == deadlines_.end() ||
      std::chrono::steady_clock::now() + lease_retry_delay >
          deadline->second) {
    on_failed(account_id,
              make_error(errc::unavailable,
                         "account " + account_id +
                             " is still held by another gateway node: "
                             "retry the request in a few seconds"));
    return;
  }
  delayed_send(this, lease_retry_delay, retry_atom_v, account_id);
}

void registry::on_retry(const std::string& account_id) {
  if (pending_.count(account_id) == 0) {
    return;
  }
  if (!env_.cluster->view->owns(account_id)) {
    on_failed(account_id,
              not_owner(account_id,
                        env_.cluster->view->owner_of(account_id)));
    return;
  }
  activate(account_id);
}

void registry::on_loaded(const std::string& account_id,
                         std::shared_ptr<storage::account_store> store,
                         account_snapshot& snapshot) {
  if (const auto* fence = store->fence()) {
    epochs_[account_id] = fence->epoch;
    started_at_[account_id] = storage::now_ms();
    logger().information("lease-acquired message=\"this node serves the "
                         "account\" account_id=" +
                         account_id + " epoch=" +
                         std::to_string(fence->epoch) +
                         " node=" + fence->node);
  }
  auto handle =
      spawn<account>(std::move(store), std::move(snapshot), env_.accounts);
  monitor(handle);
  // The link ends the account actor when the registry stops.
  link_to(handle);
  live_.emplace(account_id, handle);
  ids_.emplace(handle.address(), account_id);
  if (env_.active_accounts) {
    env_.active_accounts->store(live_.size());
  }
  logger().debug("account-activated message=\"account actor started\" "
                 "account_id=" +
                 account_id);
  auto waiting = std::move(pending_[account_id]);
  pending_.erase(account_id);
  deadlines_.erase(account_id);
  for (auto& rp : waiting) {
    rp.deliver(handle);
  }
}

void registry::on_failed(const std::string& account_id, caf::error err) {
  // On a clustered node, waiting out another node's lease ends here too.
  const auto line = "account-activation-failed message=\"cannot load "
                    "account\" account_id=" +
                    account_id + " error=\"" + message_of(err) + "\"";
  if (code_of(err) == errc::unavailable) {
    logger().warning(line);
  } else {
    logger().error(line);
  }
  auto waiting = std::move(pending_[account_id]);
  pending_.erase(account_id);
  deadlines_.erase(account_id);
  for (auto& rp : waiting) {
    rp.deliver(err);
  }
}

void registry::on_down(const caf::down_msg& msg) {
  const auto it = ids_.find(msg.source);
  if (it == ids_.end()) {
    return;
  }
  live_.erase(it->second);
  epochs_.erase(it->second);
  started_at_.erase(it->second);
  ids_.erase(it);
  if (env_.active_accounts) {
    env_.active_accounts->store(live_.size());
  }
}

std::vector<storage::lease>
registry::on_reconcile(std::vector<storage::lease>& held,
                       storage::timestamp_ms renewed_at) {
  std::vector<storage::lease> release;
  if (!env_.cluster) {
    return release;
  }
  std::map<std::string, std::int64_t> held_epochs;
  for (const auto& item : held) {
    held_epochs.emplace(item.account_id, item.epoch);
  }
  const auto& view = *env_.cluster->view;
  std::vector<std::string> lost;
  std::vector<std::string> moved;
  for (const auto& [account_id, epoch] : epochs_) {
    auto it = held_epochs.find(account_id);
    // A lease acquired after the renewal started may be missing from it.
    if (started_at_[account_id] >= renewed_at) {
      continue;
    }
    if (it == held_epochs.end() || it->second != epoch) {
      lost.push_back(account_id);
    } else if (!view.owns(account_id)) {
      moved.push_back(account_id);
    }
  }
  // Leases of accounts with no actor here, such as one whose load failed
  // after its lease was acquired, go back at once.
  for (const auto& item : held) {
    if (live_.count(item.account_id) == 0 &&
        pending_.count(item.account_id) == 0) {
      release.push_back(item);
    }
  }
  for (const auto& account_id : lost) {
    stop_account(account_id, "lease-lost");
  }
  for (const auto& account_id : moved) {
    release.push_back({account_id, view.self(), epochs_[account_id], 0});
    stop_account(account_id, "account-moved");
  }
  return release;
}

void registry::stop_account(const std::string& account_id, const char* event) {
  auto it = live_.find(account_id);
  if (it == live_.end()) {
    return;
  }
  const auto handle = it->second;
  logger().information(std::string(event) +
                       " message=\"account actor stopped\" account_id=" +
                       account_id +
                       " epoch=" + std::to_string(epochs_[account_id]));
  // Without the unlink, the account actor's exit would end the registry.
  unlink_from(handle);
  demonitor(handle.address());
  send_exit(handle, caf::exit_reason::user_shutdown);
  ids_.erase(handle.address());
  epochs_.erase(account_id);
  started_at_.erase(account_id);
  live_.erase(it);
  if (env_.active_accounts) {
    env_.active_accounts->store(live_.size());
  }
}

} // namespace skyiq::actors
