#pragma once

#include "actors/messages.hpp"

#include <optional>
#include <string>
#include <vector>

namespace skyiq::twilio {
class rest_client;
}

namespace skyiq::actors {

/// Webhook URLs the gateway sets on the numbers it connects.
struct webhook_targets {
  std::string voice_url;
  std::string status_callback;
  std::optional<std::string> voice_fallback_url;
};

/// Builds the webhook targets from the public base URL.
webhook_targets
make_webhook_targets(const std::string& public_base_url,
                     const std::optional<std::string>& voice_fallback_url);

/// Runs the whole setup on an I/O worker, blocking. It checks the
/// credentials with Twilio, finds the number in that Twilio account and
/// checks that no other account claimed it. It then points the number's
/// webhooks at the gateway and, in one transaction, claims it and stores
/// the encrypted credentials. Nothing is stored when an earlier step fails.
caf::expected<setup_result> run_setup(twilio::rest_client& client,
                                      storage::account_store& store,
                                      const setup_request& request,
                                      const webhook_targets& targets);

/// Lists the numbers of the Twilio account behind `credentials`, marking
/// those in `claimed`.
caf::expected<number_list>
run_list_numbers(twilio::rest_client& client,
                 const storage::twilio_credentials& credentials,
                 const std::vector<storage::claimed_number>& claimed);

} // namespace skyiq::actors
