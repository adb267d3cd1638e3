#include "actors/account.hpp"

#include "actors/io_pool.hpp"
#include "actors/twilio/signature.hpp"
#include "actors/twiml.hpp"
#include "actors/webhook_params.hpp"
#include "storage/errors.hpp"

#include <caf/after.hpp>

#include <Poco/Logger.h>

#include <algorithm>

namespace skyiq::actors {

namespace {

Poco::Logger& logger() {
  static Poco::Logger& instance = Poco::Logger::get("gateway.account");
  return instance;
}

caf::error signature_rejected() {
  return make_error(errc::signature_invalid,
                    "the X-Twilio-Signature header does not match this "
                    "request");
}

void apply_field(std::optional<std::string>& target,
                 const std::optional<std::optional<std::string>>& patch) {
  if (patch) {
    target = *patch;
  }
}

} // namespace

caf::expected<account_snapshot> load_snapshot(storage::account_store& store) {
  account_snapshot snapshot;
  auto credentials = store.load_credentials();
  if (!credentials) {
    return std::move(credentials.error());
  }
  auto profile = store.load_profile();
  if (!profile) {
    return std::move(profile.error());
  }
  auto numbers = store.claimed_numbers();
  if (!numbers) {
    return std::move(numbers.error());
  }
  snapshot.credentials = std::move(*credentials);
  snapshot.profile = std::move(*profile);
  snapshot.numbers = std::move(*numbers);
  return snapshot;
}

account::account(caf::actor_config& config,
                 std::shared_ptr<storage::account_store> store,
                 account_snapshot snapshot,
                 std::shared_ptr<const account_environment> environment)
    : account_actor::base(config), store_(std::move(store)),
      credentials_(std::move(snapshot.credentials)),
      profile_(std::move(snapshot.profile)),
      numbers_(std::move(snapshot.numbers)), env_(std::move(environment)) {}

account::behavior_type account::make_behavior() {
  return {
      [this](voice_atom, twilio_request& r) { return on_voice(r); },
      [this](status_atom, twilio_request& r) { return on_status(r); },
      [this](setup_atom, setup_request& r) { return on_setup(r); },
      [this](numbers_atom, numbers_request& r) { return on_numbers(r); },
      [this](profile_atom) { return profile_; },
      [this](update_atom, profile_patch& p) { return on_update(p); },
      [this](list_atom, storage::call_query& q) { return on_list(q); },
      [this](create_atom, storage::call_record& c) { return on_create(c); },
      [this](delete_atom, std::string& id) { return on_delete(id); },
      caf::after(env_->idle_timeout) >> [this] { on_idle(); },
  };
}

void account::on_idle() {
  if (in_flight_ == 0) {
    quit();
  }
}

caf::error account::authenticate(const twilio_request& msg) const {
  if (!credentials_) {
    return signature_rejected();
  }
  if (!twilio::validate_signature(credentials_->auth_token, msg.url, msg.params,
                                  msg.signature)) {
    return signature_rejected();
  }
  const auto signed_sid = find_param(msg.params, "AccountSid");
  if (!signed_sid || *signed_sid != credentials_->account_sid) {
    return make_error(errc::signature_invalid,
                      "the signed AccountSid is not this account's "
                      "Account SID");
  }
  return caf::none;
}

account::promise<std::string> account::on_voice(twilio_request& msg) {
  auto rp = make_response_promise<std::string>();
  if (auto err = authenticate(msg)) {
    logger().warning("signature-invalid message=\"voice webhook rejected\" "
                     "request_id=" +
                     msg.request_id + " account_id=" + store_->account_id());
    rp.deliver(std::move(err));
    return rp;
  }
  auto record = call_from_webhook(msg.params, now_ms());
  if (!record) {
    rp.deliver(std::move(record.error()));
    return rp;
  }
  // The writer replies to the webhook's sender itself once the record is
  // durable, which saves a hand-over through this actor.
  rp.delegate(env_->writer, write_atom_v,
              store_->prepare_webhook_call(std::move(*record)),
              render_answer(profile_));
  return rp;
}

account::promise<bool> account::on_status(twilio_request& msg) {
  auto rp = make_response_promise<bool>();
  if (auto err = authenticate(msg)) {
    logger().warning("signature-invalid message=\"status callback "
                     "rejected\" request_id=" +
                     msg.request_id + " account_id=" + store_->account_id());
    rp.deliver(std::move(err));
    return rp;
  }
  auto update = status_from_callback(msg.params, now_ms());
  if (!update) {
    rp.deliver(std::move(update.error()));
    return rp;
  }
  ++in_flight_;
  this->request(env_->writer, env_->storage_timeout, write_atom_v,
                store_->prepare_status(std::move(*update)))
      .then(
          [this, rp](storage::call_record&) mutable {
            --in_flight_;
            rp.deliver(true);
          },
          [this, rp](caf::error& err) mutable {
            --in_flight_;
            rp.deliver(std::move(err));
          });
  return rp;
}

template <class T, class Job>
void account::run_storage(promise<T> rp, Job job) {
  io_job work{[store = store_, job](io_context&) mutable {
    return to_reply(job(*store));
  }};
  // The worker replies to the original sender directly.
  rp.delegate(env_->storage_pool, std::move(work));
}

account::promise<setup_result> account::on_setup(setup_request& msg) {
  auto rp = make_response_promise<setup_result>();
  if (credentials_ && credentials_->account_sid != msg.account_sid) {
    rp.deliver(
        make_error(errc::twilio_account_conflict,
                   "this Sky IQ account is connected to Twilio account " +
                       credentials_->account_sid + ", not " + msg.account_sid +
                       ": use the connected account's credentials"));
    return rp;
  }
  ++in_flight_;
  io_job work{[store = store_, msg,
               targets = env_->targets](io_context& io) -> caf::message {
    auto client = io.twilio();
    if (!client) {
      return caf::make_message(std::move(client.error()));
    }
    return to_reply(run_setup(**client, *store, msg, targets));
  }};
  this->request(env_->twilio_pool, env_->twilio_flow_timeout, std::move(work))
      .then(
          [this, rp, msg](setup_result& result) mutable {
            --in_flight_;
            credentials_ =
                storage::twilio_credentials{msg.account_sid, msg.auth_token};
            if (!owns_number(result.phone_number)) {
              storage::claimed_number claim;
              claim.e164 = result.phone_number;
              claim.phone_number_sid = result.phone_number_sid;
              numbers_.push_back(claim);
            }
            logger().information(
                "number-connected message=\"Twilio number connected\" "
                "request_id=" +
                msg.request_id + " account_id=" + store_->account_id() +
                " phone_number=" + result.phone_number);
            rp.deliver(std::move(result));
          },
          [this, rp, msg](caf::error& err) mutable {
            --in_flight_;
            logger().information(
                "setup-failed message=\"Twilio setup failed\" request_id=" +
                msg.request_id + " account_id=" + store_->account_id() +
                " code=" + to_code(code_of(err)));
            rp.deliver(std::move(err));
          });
  return rp;
}

account::promise<number_list> account::on_numbers(numbers_request& msg) {
  auto rp = make_response_promise<number_list>();
  std::optional<storage::twilio_credentials> credentials;
  if (!msg.account_sid.empty()) {
    credentials = storage::twilio_credentials{msg.account_sid, msg.auth_token};
  } else {
    credentials = credentials_;
  }
  if (!credentials) {
    rp.deliver(make_error(errc::twilio_not_connected,
                          "no Twilio account is connected: send "
                          "accountSid and authToken in the body, or run "
                          "setup first"));
    return rp;
  }
  ++in_flight_;
  io_job work{[credentials = *credentials,
               claimed = numbers_](io_context& io) -> caf::message {
    auto client = io.twilio();
    if (!client) {
      return caf::make_message(std::move(client.error()));
    }
    return to_reply(run_list_numbers(**client, credentials, claimed));
  }};
  this->request(env_->twilio_pool, env_->twilio_flow_timeout, std::move(work))
      .then(
          [this, rp](number_list& list) mutable {
            --in_flight_;
            rp.deliver(std::move(list));
          },
          [this, rp](caf::error& err) mutable {
            --in_flight_;
            rp.deliver(std::move(err));
          });
  return rp;
}

account::promise<storage::business_profile>
account::on_update(profile_patch& patch) {
  auto rp = make_response_promise<storage::business_profile>();
  auto updated = profile_;
  apply_field(updated.business_name, patch.business_name);
  apply_field(updated.greeting, patch.greeting);
  apply_field(updated.timezone, patch.timezone);
  apply_field(updated.hours, patch.hours);
  apply_field(updated.forward_to, patch.forward_to);
  // The profile in memory changes only after the write succeeded; the
  // answer of a webhook in between still uses the previous one.
  ++in_flight_;
  io_job work{[store = store_, updated](io_context&) -> caf::message {
    auto saved = store->save_profile(updated);
    if (!saved) {
      return caf::make_message(std::move(saved.error()));
    }
    return caf::make_message(updated);
  }};
  this->request(env_->storage_pool, env_->storage_timeout, std::move(work))
      .then(
          [this, rp](storage::business_profile& saved) mutable {
            --in_flight_;
            profile_ = saved;
            rp.deliver(std::move(saved));
          },
          [this, rp](caf::error& err) mutable {
            --in_flight_;
            rp.deliver(std::move(err));
          });
  return rp;
}

account::promise<storage::call_page>
account::on_list(storage::call_query& query) {
  auto rp = make_response_promise<storage::call_page>();
  run_storage(rp, [query](storage::account_store& store) {
    return store.list_calls(query);
  });
  return rp;
}

bool account::owns_number(const std::string& e164) const {
  return std::any_of(numbers_.begin(), numbers_.end(),
                     [&](const auto& n) { return n.e164 == e164; });
}

account::promise<storage::call_record>
account::on_create(storage::call_record& record) {
  auto rp = make_response_promise<storage::call_record>();
  const bool inbound = record.direction == "inbound";
  const auto& own = inbound ? record.to : record.from;
  if (!owns_number(own)) {
    rp.deliver(make_error(errc::number_not_claimed,
                          "the number " + own + " ('" +
                              (inbound ? "to" : "from") +
                              "') is not connected to this account: "
                              "connect it with /api/twilio/setup first"));
    return rp;
  }
  run_storage(rp, [record](storage::account_store& store) {
    return store.create_call(record);
  });
  return rp;
}

account::promise<bool> account::on_delete(std::string& id) {
  auto rp = make_response_promise<bool>();
  run_storage(rp, [id](storage::account_store& store) -> caf::expected<bool> {
    auto deleted = store.delete_call(id);
    if (!deleted) {
      return std::move(deleted.error());
    }
    return true;
  });
  return rp;
}

} // namespace skyiq::actors
