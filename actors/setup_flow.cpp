#include "actors/setup_flow.hpp"

#include "actors/twilio/rest_client.hpp"
#include "storage/errors.hpp"

#include <Poco/Logger.h>

#include <algorithm>

namespace skyiq::actors {

namespace {

twilio::credentials to_twilio(const std::string& sid,
                              const std::string& token) {
  twilio::credentials result;
  result.account_sid = sid;
  result.auth_token = token;
  return result;
}

// Twilio's PhoneNumber filter matches substrings, so the exact number and
// its owning account are checked here.
caf::expected<twilio::incoming_number>
find_exact(const std::vector<twilio::incoming_number>& numbers,
           const std::string& account_sid, const std::string& e164) {
  for (const auto& number : numbers) {
    if (number.phone_number == e164 && number.account_sid == account_sid) {
      return number;
    }
  }
  return make_error(errc::number_not_in_twilio_account,
                    "the number " + e164 + " is not in Twilio account " +
                        account_sid +
                        ": buy or port it there first, or pick one of "
                        "the numbers listed by /api/twilio/numbers");
}

} // namespace

webhook_targets
make_webhook_targets(const std::string& public_base_url,
                     const std::optional<std::string>& voice_fallback_url) {
  webhook_targets targets;
  targets.voice_url = public_base_url + "/api/twilio/webhook";
  targets.status_callback = public_base_url + "/api/twilio/status";
  targets.voice_fallback_url = voice_fallback_url;
  return targets;
}

caf::expected<setup_result> run_setup(twilio::rest_client& client,
                                      storage::account_store& store,
                                      const setup_request& request,
                                      const webhook_targets& targets) {
  const auto credentials = to_twilio(request.account_sid, request.auth_token);
  if (auto checked = client.check_account(credentials); !checked) {
    return std::move(checked.error());
  }

  auto listed = client.find_numbers(credentials, request.e164);
  if (!listed) {
    return std::move(listed.error());
  }
  auto number = find_exact(*listed, request.account_sid, request.e164);
  if (!number) {
    return std::move(number.error());
  }
  if (!number->trunk_sid.empty()) {
    return make_error(errc::number_on_trunk,
                      "the number " + request.e164 +
                          " is attached to SIP trunk " + number->trunk_sid +
                          ": detach it from the trunk in Twilio first");
  }

  auto claimable = store.number_claimable(request.e164);
  if (!claimable) {
    return std::move(claimable.error());
  }
  if (!*claimable) {
    return make_error(errc::number_in_use,
                      "the number " + request.e164 +
                          " is already connected to another Sky IQ "
                          "account");
  }

  twilio::webhook_config config;
  config.voice_url = targets.voice_url;
  config.status_callback = targets.status_callback;
  config.voice_fallback_url = targets.voice_fallback_url;
  config.clear_voice_application = !number->voice_application_sid.empty();
  auto configured = client.configure_number(credentials, number->sid, config);
  if (!configured) {
    return std::move(configured.error());
  }

  storage::twilio_credentials stored{request.account_sid, request.auth_token};
  storage::claimed_number claim;
  claim.e164 = request.e164;
  claim.phone_number_sid = number->sid;
  auto saved = store.save_setup(stored, claim);
  if (!saved) {
    return std::move(saved.error());
  }

  setup_result result;
  result.phone_number = request.e164;
  result.phone_number_sid = number->sid;
  result.voice_url = targets.voice_url;
  result.status_callback = targets.status_callback;
  result.created = *saved;
  return result;
}

caf::expected<number_list>
run_list_numbers(twilio::rest_client& client,
                 const storage::twilio_credentials& credentials,
                 const std::vector<storage::claimed_number>& claimed) {
  const auto twilio_credentials =
      to_twilio(credentials.account_sid, credentials.auth_token);
  auto listed = client.find_numbers(twilio_credentials, std::nullopt);
  if (!listed) {
    return std::move(listed.error());
  }
  number_list result;
  for (const auto& number : *listed) {
    if (number.account_sid != credentials.account_sid) {
      continue;
    }
    number_entry entry;
    entry.phone_number = number.phone_number;
    entry.phone_number_sid = number.sid;
    entry.friendly_name = number.friendly_name;
    entry.voice_url = number.voice_url;
    entry.claimed_by_you =
        std::any_of(claimed.begin(), claimed.end(), [&](const auto& c) {
          return c.e164 == number.phone_number;
        });
    result.push_back(std::move(entry));
  }
  return result;
}

} // namespace skyiq::actors
