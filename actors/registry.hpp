#pragma once

#include "actors/account.hpp"
#include "actors/cluster_view.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace skyiq::storage {
class database;
class lease_table;
class master_key;
} // namespace skyiq::storage

namespace skyiq::actors {

/// Settings and shared state the registry of a clustered node uses to own
/// accounts.
struct registry_cluster {
  std::shared_ptr<cluster_view> view;
  std::shared_ptr<const storage::lease_table> leases;
  std::chrono::milliseconds lease_ttl{4000};
  /// How long an activation waits for another node's lease on the account
  /// to end before it fails with errc::unavailable.
  std::chrono::milliseconds acquire_wait{5000};
};

/// An account's store and snapshot, loaded on a storage worker. `store` is
/// null when another node held the account's lease.
struct activation {
  std::shared_ptr<storage::account_store> store;
  account_snapshot snapshot;
};

/// Dependencies the registry needs to activate accounts.
struct registry_environment {
  std::shared_ptr<storage::database> database;
  std::shared_ptr<const storage::master_key> key;
  std::shared_ptr<const account_environment> accounts;
  /// Live account actors, readable from any thread (metrics).
  std::shared_ptr<std::atomic<std::size_t>> active_accounts;
  /// Null on a single node.
  std::shared_ptr<const registry_cluster> cluster;
};

/// Maps account ids to live account actors. An account is activated on
/// first use: its snapshot is loaded on a storage worker, then its actor is
/// spawned and monitored. Requests that arrive meanwhile wait for it. On a
/// clustered node the worker first acquires the account's lease, and the
/// account's store writes under it. While another node owns the lease,
/// the activation is retried until `acquire_wait` has passed.
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
  void on_activation(const std::string& account_id, activation& result);
  void on_loaded(const std::string& account_id,
                 std::shared_ptr<storage::account_store> store,
                 account_snapshot& snapshot);
  void on_retry(const std::string& account_id);
  void on_failed(const std::string& account_id, caf::error err);
  void on_down(const caf::down_msg& msg);
  std::vector<storage::lease> on_reconcile(std::vector<storage::lease>& held,
                                           storage::timestamp_ms renewed_at);
  void stop_account(const std::string& account_id, const char* event);

  registry_environment env_;
  /// Live account actors by account id.
  std::map<std::string, account_actor> live_;
  /// Account ids by actor address, to forget an actor when it exits.
  std::map<caf::actor_addr, std::string> ids_;
  /// Requests waiting for an account that is being activated.
  std::map<std::string, std::vector<handle_promise>> pending_;
  /// Clustered: when each pending activation stops waiting for a lease.
  std::map<std::string, std::chrono::steady_clock::time_point> deadlines_;
  /// Clustered: the lease epoch each live account actor writes under.
  std::map<std::string, std::int64_t> epochs_;
  /// Clustered: when each live account actor started (ms since the Unix
  /// epoch), after its lease was acquired.
  std::map<std::string, storage::timestamp_ms> started_at_;
};

} // namespace skyiq::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(skyiq::actors::activation)
