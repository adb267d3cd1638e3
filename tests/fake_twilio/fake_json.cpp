#include "tests/fake_twilio/fake_json.hpp"

#include <ctime>

namespace skyiq::testing {

namespace {

using json = nlohmann::json;

json null_if_empty(const std::string& value) {
  return value.empty() ? json(nullptr) : json(value);
}

} // namespace

std::string rfc2822_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[64];
  std::strftime(text, sizeof(text), "%a, %d %b %Y %H:%M:%S +0000", &utc);
  return text;
}

json number_json(const number_state& n) {
  const auto uri =
      api_prefix + n.account_sid + "/IncomingPhoneNumbers/" + n.sid + ".json";
  return {
      {"account_sid", n.account_sid},
      {"address_requirements", "none"},
      {"address_sid", nullptr},
      {"api_version", "2010-04-01"},
      {"beta", false},
      {"capabilities", {{"mms", true}, {"sms", true}, {"voice", true}}},
      {"date_created", "Thu, 30 Jul 2015 23:19:04 +0000"},
      {"date_updated", "Thu, 30 Jul 2015 23:19:04 +0000"},
      {"emergency_status", "Inactive"},
      {"friendly_name", n.friendly_name},
      {"identity_sid", nullptr},
      {"origin", "twilio"},
      {"phone_number", n.phone_number},
      {"sid", n.sid},
      {"sms_application_sid", ""},
      {"sms_fallback_method", "POST"},
      {"sms_fallback_url", ""},
      {"sms_method", "POST"},
      {"sms_url", ""},
      {"status", "in-use"},
      {"status_callback", n.status_callback},
      {"status_callback_method", n.status_callback_method},
      {"trunk_sid", null_if_empty(n.trunk_sid)},
      {"uri", uri},
      {"voice_application_sid", n.voice_application_sid},
      {"voice_caller_id_lookup", false},
      {"voice_fallback_method", n.voice_fallback_method},
      {"voice_fallback_url", null_if_empty(n.voice_fallback_url)},
      {"voice_method", n.voice_method},
      {"voice_url", null_if_empty(n.voice_url)},
  };
}

json account_json(const std::string& sid, const std::string& status,
                  const std::string& date_created) {
  const auto uri = api_prefix + sid;
  return {
      {"date_created", date_created},
      {"date_updated", date_created},
      {"friendly_name", sid + "'s Account"},
      {"owner_account_sid", sid},
      {"sid", sid},
      {"status", status},
      {"subresource_uris",
       {{"incoming_phone_numbers", uri + "/IncomingPhoneNumbers.json"},
        {"calls", uri + "/Calls.json"}}},
      {"type", "Full"},
      {"uri", uri + ".json"},
  };
}

fake_response twilio_error_response(int status, int code,
                                    const std::string& message) {
  const json body = {
      {"code", code},
      {"message", message},
      {"more_info",
       "https://www.twilio.com/docs/errors/" + std::to_string(code)},
      {"status", status},
  };
  return {status, body.dump(), std::nullopt};
}

} // namespace skyiq::testing
