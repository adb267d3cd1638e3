#include "actors/twilio/rest_json.hpp"

#include "storage/errors.hpp"

#include <nlohmann/json.hpp>

namespace skyiq::twilio::detail {

namespace {

using json = nlohmann::json;

caf::error malformed(const std::string& resource, const std::string& detail) {
  return make_error(errc::twilio_unavailable,
                    "Twilio returned a malformed " + resource + " (" + detail +
                        "). Try again later, and check twilio.api_base_url "
                        "if it persists.");
}

caf::expected<json> parse_object(const std::string& body,
                                 const std::string& resource) {
  auto parsed = json::parse(body, nullptr, false);
  if (parsed.is_discarded()) {
    return malformed(resource, "not JSON");
  }
  if (!parsed.is_object()) {
    return malformed(resource, "not a JSON object");
  }
  return parsed;
}

// Reads a string field into `out`, which stays empty for null or a missing
// field. Returns false when the field has another type.
bool read_string(const json& object, const char* name, std::string& out) {
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) {
    out.clear();
    return true;
  }
  if (!it->is_string()) {
    return false;
  }
  out = it->get<std::string>();
  return true;
}

caf::expected<incoming_number> read_number(const json& object) {
  if (!object.is_object()) {
    return malformed("IncomingPhoneNumber", "not a JSON object");
  }
  incoming_number number;
  const std::pair<const char*, std::string*> fields[] = {
      {"sid", &number.sid},
      {"account_sid", &number.account_sid},
      {"phone_number", &number.phone_number},
      {"friendly_name", &number.friendly_name},
      {"voice_url", &number.voice_url},
      {"voice_application_sid", &number.voice_application_sid},
      {"trunk_sid", &number.trunk_sid},
      {"status_callback", &number.status_callback},
  };
  for (const auto& [name, target] : fields) {
    if (!read_string(object, name, *target)) {
      return malformed("IncomingPhoneNumber",
                       std::string{"field "} + name + " is not a string");
    }
  }
  if (number.sid.empty() || number.phone_number.empty()) {
    return malformed("IncomingPhoneNumber", "sid or phone_number missing");
  }
  return number;
}

} // namespace

twilio_error parse_error_body(const std::string& body) {
  twilio_error error;
  const auto parsed = json::parse(body, nullptr, false);
  if (!parsed.is_object()) {
    return error;
  }
  if (const auto it = parsed.find("code");
      it != parsed.end() && it->is_number_integer()) {
    error.code = it->get<int>();
  }
  read_string(parsed, "message", error.message);
  read_string(parsed, "more_info", error.more_info);
  return error;
}

std::string describe_status(long status, const twilio_error& error) {
  std::string text = "HTTP " + std::to_string(status);
  if (error.code != 0) {
    text += ", code " + std::to_string(error.code);
  }
  if (!error.message.empty()) {
    text += ": '" + error.message + "'";
  }
  return text;
}

caf::expected<std::string> parse_account_status(const std::string& body) {
  auto object = parse_object(body, "Account");
  if (!object) {
    return std::move(object.error());
  }
  std::string status;
  if (!read_string(*object, "status", status) || status.empty()) {
    return malformed("Account", "status is missing or not a string");
  }
  return status;
}

caf::expected<incoming_number> parse_number(const std::string& body) {
  auto object = parse_object(body, "IncomingPhoneNumber");
  if (!object) {
    return std::move(object.error());
  }
  return read_number(*object);
}

caf::expected<number_page> parse_number_page(const std::string& body) {
  const std::string resource = "IncomingPhoneNumbers page";
  auto object = parse_object(body, resource);
  if (!object) {
    return std::move(object.error());
  }
  const auto list = object->find("incoming_phone_numbers");
  if (list == object->end() || !list->is_array()) {
    return malformed(resource, "incoming_phone_numbers is not a list");
  }
  number_page page;
  if (!read_string(*object, "next_page_uri", page.next_page_uri)) {
    return malformed(resource, "next_page_uri is not a string");
  }
  for (const auto& item : *list) {
    auto number = read_number(item);
    if (!number) {
      return std::move(number.error());
    }
    page.numbers.push_back(std::move(*number));
  }
  return page;
}

} // namespace skyiq::twilio::detail
