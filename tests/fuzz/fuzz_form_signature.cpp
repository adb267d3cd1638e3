// Fuzzes the webhook body parser and the X-Twilio-Signature check. The
// input is a form body. When it contains a line break, the bytes before
// the first one are the URL that the signature covers.

#include "actors/twilio/signature.hpp"
#include "storage/errors.hpp"
#include "tests/fuzz/fuzz_harness.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using skyiq::fuzzing::require;
namespace twilio = skyiq::twilio;

namespace {

const std::string auth_token = "9f2a6c1e4b7d8e0f3a5c6b7d8e9f0a1b";
const std::string plain_url = "https://gateway.example.com/api/twilio/webhook";
const std::string url_with_port =
    "https://gateway.example.com:443/api/twilio/webhook";

void check_fixed_url(const twilio::form_params& params,
                     const std::string& body) {
  const auto signature =
      twilio::compute_signature(auth_token, plain_url, params);
  require(twilio::validate_signature(auth_token, plain_url, params, signature),
          "a signature validates against its own URL", body);
  require(
      twilio::validate_signature(auth_token, url_with_port, params, signature),
      "a signature over the URL without :443 validates with it", body);
  require(!twilio::validate_signature("0" + auth_token.substr(1), plain_url,
                                      params, signature),
          "another auth token does not validate", body);
  require(!twilio::validate_signature(auth_token, plain_url, params, body),
          "the raw body is not a valid signature", body);

  // Twilio sorts the parameters, so arrival order must not matter.
  auto reversed = params;
  std::reverse(reversed.begin(), reversed.end());
  require(twilio::compute_signature(auth_token, plain_url, reversed) ==
              signature,
          "the signature ignores parameter order", body);

  if (!params.empty()) {
    auto changed = params;
    changed.front().second += "x";
    require(
        !twilio::validate_signature(auth_token, plain_url, changed, signature),
        "a changed value invalidates the signature", body);
    // A field with an empty name and value adds no bytes to the signed
    // text, so dropping it cannot change the signature.
    const auto& last = params.back();
    if (!last.first.empty() || !last.second.empty()) {
      auto dropped = params;
      dropped.pop_back();
      require(!twilio::validate_signature(auth_token, plain_url, dropped,
                                          signature),
              "a dropped parameter invalidates the signature", body);
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  const std::string url =
      newline == std::string::npos ? plain_url : input.substr(0, newline);
  const std::string body =
      newline == std::string::npos ? input : input.substr(newline + 1);

  auto params = twilio::parse_form(body);
  if (!params) {
    require(skyiq::code_of(params.error()) == skyiq::errc::invalid_request,
            "a rejected form body is invalid_request", body);
    require(body.find('%') != std::string::npos,
            "only a bad percent escape rejects a form body", body);
    return 0;
  }
  // Encoding what was parsed and parsing it again gives the same fields.
  const auto encoded = twilio::form_encode(*params);
  auto again = twilio::parse_form(encoded);
  require(static_cast<bool>(again), "form_encode output parses", body);
  require(*again == *params, "parse_form(form_encode(p)) == p", body);

  // A signature computed for any URL validates against that URL.
  const auto signature = twilio::compute_signature(auth_token, url, *params);
  require(twilio::validate_signature(auth_token, url, *params, signature),
          "a signature validates against its own URL", url);

  check_fixed_url(*params, body);
  return 0;
}
