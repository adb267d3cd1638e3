#pragma once

// Internal to fake_twilio: Twilio's JSON shapes.

#include "tests/fake_twilio/fake_state.hpp"

#include <nlohmann/json.hpp>

namespace skyiq::testing {

inline const std::string api_prefix = "/2010-04-01/Accounts/";

/// Formats the current time the way Twilio's date fields do (RFC 2822).
std::string rfc2822_now();

/// Renders an IncomingPhoneNumber resource with all of Twilio's fields.
nlohmann::json number_json(const number_state& number);

/// Renders an Account resource; like Twilio's, it carries no auth token.
nlohmann::json account_json(const std::string& sid, const std::string& status,
                            const std::string& date_created);

} // namespace skyiq::testing
