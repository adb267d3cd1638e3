#include "actors/registry.hpp"

#include "actors/io_pool.hpp"
#include "storage/account_store.hpp"
#include "storage/errors.hpp"

#include <Poco/Logger.h>

namespace skyiq::actors {

namespace {

Poco::Logger& logger() {
  static Poco::Logger& instance = Poco::Logger::get("gateway.registry");
  return instance;
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
  };
}

registry::handle_promise registry::on_account(const std::string& account_id) {
  auto rp = make_response_promise<account_actor>();
  if (auto it = live_.find(account_id); it != live_.end()) {
    rp.deliver(it->second);
    return rp;
  }
  auto& waiting = pending_[account_id];
  waiting.push_back(rp);
  if (waiting.size() == 1) {
    activate(account_id);
  }
  return rp;
}

void registry::activate(const std::string& account_id) {
  auto store = std::make_shared<storage::account_store>(env_.database, env_.key,
                                                        account_id);
  io_job work{[store](io_context&) { return to_reply(load_snapshot(*store)); }};
  request(env_.accounts->storage_pool, env_.accounts->storage_timeout,
          std::move(work))
      .then(
          [this, account_id, store](account_snapshot& snapshot) {
            on_loaded(account_id, store, snapshot);
          },
          [this, account_id](caf::error& err) { on_failed(account_id, err); });
}

void registry::on_loaded(const std::string& account_id,
                         std::shared_ptr<storage::account_store> store,
                         account_snapshot& snapshot) {
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
  for (auto& rp : waiting) {
    rp.deliver(handle);
  }
}

void registry::on_failed(const std::string& account_id, caf::error& err) {
  logger().error("account-activation-failed message=\"cannot load account\" "
                 "account_id=" +
                 account_id + " error=\"" + message_of(err) + "\"");
  auto waiting = std::move(pending_[account_id]);
  pending_.erase(account_id);
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
  ids_.erase(it);
  if (env_.active_accounts) {
    env_.active_accounts->store(live_.size());
  }
}

} // namespace skyiq::actors
