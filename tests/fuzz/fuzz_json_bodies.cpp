// Fuzzes the JSON request bodies. The first input byte picks a consumer:
// json_io's field readers directly, or one JSON route run through
// http::dispatch with a valid session, so that the route's whole input
// reader runs (setup, number listing, call creation, profile update,
// signup and login). The rest of the input is the body.

#include "http/json_io.hpp"
#include "storage/errors.hpp"
#include "tests/fuzz/fuzz_harness.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

using skyiq::fuzzing::gateway_harness;
using skyiq::fuzzing::require;
using skyiq::fuzzing::require_error_body;
namespace http = skyiq::http;

namespace {

std::size_t utf8_length(const std::string& text) {
  std::size_t count = 0;
  for (char c : text) {
    count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }
  return count;
}

void check_field_readers(const std::string& body) {
  const std::vector<std::string> allowed = {"accountSid", "authToken",
                                            "phoneNumber", "greeting"};
  auto object = http::parse_object(body, allowed);
  if (!object) {
    require(skyiq::code_of(object.error()) == skyiq::errc::invalid_request,
            "a rejected body is invalid_request", body);
    return;
  }
  require(object->is_object(), "parse_object returns an object", body);
  for (const auto& [key, _] : object->items()) {
    require(std::find(allowed.begin(), allowed.end(), key) != allowed.end(),
            "parse_object rejects unknown fields", body);
  }
  for (const auto& name : allowed) {
    const auto field = object->find(name);
    const bool present = field != object->end();
    const bool is_null = present && field->is_null();

    auto required = http::required_string(*object, name, 16);
    if (required) {
      require(present && field->is_string(), "required_string needs a string",
              body);
      require(utf8_length(*required) <= 16, "required_string bounds length",
              body);
    } else {
      require(skyiq::code_of(required.error()) == skyiq::errc::invalid_request,
              "required_string errors are invalid_request", body);
      require(skyiq::message_of(required.error()).find(name) !=
                  std::string::npos,
              "required_string errors name the field", body);
    }

    auto optional = http::optional_string(*object, name, 16);
    if (optional) {
      require(optional->has_value() == (present && !is_null),
              "optional_string is empty exactly when absent or null", body);
    }

    auto patch = http::patch_string(*object, name, 16);
    if (patch) {
      require(patch->has_value() == present,
              "patch_string's outer value is empty exactly when absent", body);
      if (*patch) {
        require((*patch)->has_value() == !is_null,
                "patch_string's inner value is empty exactly for null", body);
      }
    } else {
      require(present && !is_null, "patch_string accepts absent and null",
              body);
    }
    require(static_cast<bool>(optional) == static_cast<bool>(patch),
            "optional_string and patch_string agree on validity", body);
  }
}

struct json_route {
  std::string method;
  /// Target; `{self}` is replaced with the signed-in account's id.
  std::string target;
  bool authenticated;
  std::set<int> statuses;
};

const std::vector<json_route>& routes() {
  static const std::vector<json_route> table = {
      {"POST",
       "/api/twilio/setup/{self}",
       true,
       {400, 409, 422, 502, 503, 504}},
      {"POST", "/api/twilio/numbers/{self}", true, {400, 422, 502, 503, 504}},
      {"POST", "/api/calls", true, {400, 409, 422, 503}},
      {"POST", "/api/business/{self}", true, {200, 400, 503}},
      {"POST", "/api/auth/signup", false, {201, 400, 409, 503}},
      {"POST", "/api/auth/login", false, {200, 400, 401, 503}},
  };
  return table;
}

void check_route(const json_route& route, const std::string& body) {
  auto& harness = gateway_harness::instance();
  std::string target = route.target;
  if (const auto at = target.find("{self}"); at != std::string::npos) {
    target.replace(at, 6, harness.user_id());
  }
  const auto result =
      harness.send(route.method, target, body,
                   route.authenticated ? "Bearer " + harness.token() : "");
  const auto detail = route.method + " " + route.target + " status " +
                      std::to_string(result.status) + " body " + body +
                      " response " + result.body;
  require(result.status != 500, "no body makes a JSON route fail with 500",
          detail);
  require(route.statuses.count(result.status) == 1,
          "the status is one this route documents", detail);
  if (result.status >= 400) {
    const auto code = require_error_body(result);
    if (result.status == 400) {
      require(code == "invalid_request" || code == "invalid_phone_number" ||
                  code == "invalid_account_sid",
              "a 400 carries an input error code", detail);
    }
  } else {
    const auto parsed = nlohmann::json::parse(result.body, nullptr, false);
    require(parsed.is_object(), "a success body is a JSON object", detail);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::size_t choice = data[0] % (routes().size() + 1);
  if (choice == routes().size()) {
    check_field_readers(body);
  } else {
    check_route(routes()[choice], body);
  }
  return 0;
}
