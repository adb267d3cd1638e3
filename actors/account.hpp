#pragma once

#include "actors/interfaces.hpp"
#include "actors/setup_flow.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

namespace skyiq::actors {

/// State of an account read from storage when its actor starts.
struct account_snapshot {
  std::optional<storage::twilio_credentials> credentials;
  storage::business_profile profile;
  std::vector<storage::claimed_number> numbers;
};

/// Resources every account actor of a node shares: the worker pools, the
/// writer and the settings they need.
struct account_environment {
  caf::actor storage_pool;
  caf::actor twilio_pool;
  writer_actor writer;
  webhook_targets targets;
  /// Time one storage job or write may take.
  std::chrono::milliseconds storage_timeout{5000};
  /// Time a whole setup or number listing may take on a Twilio worker.
  std::chrono::milliseconds twilio_flow_timeout{35000};
  /// Time without messages after which an account actor exits.
  std::chrono::milliseconds idle_timeout{600000};
};

/// Loads an account's snapshot, blocking; runs on a storage worker.
caf::expected<account_snapshot> load_snapshot(storage::account_store& store);

/// The actor of one account. Every storage access goes through `store_`,
/// which is bound to this account's id.
class account : public account_actor::base {
public:
  account(caf::actor_config& config,
          std::shared_ptr<storage::account_store> store,
          account_snapshot snapshot,
          std::shared_ptr<const account_environment> environment);

  behavior_type make_behavior() override;

  const char* name() const override {
    return "account";
  }

private:
  template <class T>
  using promise = caf::typed_response_promise<T>;

  promise<std::string> on_voice(twilio_request& request);
  promise<bool> on_status(twilio_request& request);
  promise<setup_result> on_setup(setup_request& request);
  promise<number_list> on_numbers(numbers_request& request);
  promise<storage::business_profile> on_update(profile_patch& patch);
  promise<storage::call_page> on_list(storage::call_query& query);
  promise<storage::call_record> on_create(storage::call_record& record);
  promise<bool> on_delete(std::string& id);

  /// Checks the signature with this account's auth token and that the
  /// signed AccountSid is this account's Account SID.
  caf::error authenticate(const twilio_request& request) const;

  /// Runs `job` on a storage worker, which delivers its `T` to `rp`.
  template <class T, class Job>
  void run_storage(promise<T> rp, Job job);

  bool owns_number(const std::string& e164) const;

  void on_idle();

  /// Bound to this account's id; used only inside jobs on worker threads.
  std::shared_ptr<storage::account_store> store_;
  std::optional<storage::twilio_credentials> credentials_;
  storage::business_profile profile_;
  std::vector<storage::claimed_number> numbers_;
  std::shared_ptr<const account_environment> env_;
  /// Requests sent to workers and not yet answered; the actor does not
  /// exit on idleness while any is open. Jobs delegated to the writer or a
  /// storage worker are not counted: their reply goes to the requester,
  /// not through this actor.
  std::size_t in_flight_ = 0;
};

} // namespace skyiq::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(skyiq::actors::account_snapshot)
