#pragma once

#include "actors/account.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace skyiq::storage {
class database;
class master_key;
} // namespace skyiq::storage

namespace skyiq::actors {

/// Dependencies the registry needs to activate accounts.
struct registry_environment {
  std::shared_ptr<storage::database> database;
  std::shared_ptr<const storage::master_key> key;
  std::shared_ptr<const account_environment> accounts;
  /// Live account actors, readable from any thread (metrics).
  std::shared_ptr<std::atomic<std::size_t>> active_accounts;
};

/// Maps account ids to live account actors. An account is activated on
/// first use: its snapshot is loaded on a storage worker, then its actor is
/// spawned and monitored. Requests that arrive meanwhile wait for it.
class registry : public registry_actor::base {
public:
  registry(caf::actor_config& config, registry_environment environment);

  behavior_type make_behavior() override;

  const char* name() const override {
    return "registry";
  }

private:
  using handle_promise = caf::typed_response_promise<account_actor>;

  handle_promise on_account(const std::string& account_id);
  void activate(const std::string& account_id);
  void on_loaded(const std::string& account_id,
                 std::shared_ptr<storage::account_store> store,
                 account_snapshot& snapshot);
  void on_failed(const std::string& account_id, caf::error& err);
  void on_down(const caf::down_msg& msg);

  registry_environment env_;
  /// Live account actors by account id.
  std::map<std::string, account_actor> live_;
  /// Account ids by actor address, to forget an actor when it exits.
  std::map<caf::actor_addr, std::string> ids_;
  /// Requests waiting for an account that is being activated.
  std::map<std::string, std::vector<handle_promise>> pending_;
};

} // namespace skyiq::actors
