#pragma once

// Internal to skyiq_twilio: reading Twilio's JSON resources.

#include "actors/twilio/rest_client.hpp"

#include <caf/expected.hpp>

#include <optional>
#include <string>
#include <vector>

namespace skyiq::twilio::detail {

/// Twilio's JSON error body. Fields missing from it stay empty.
struct twilio_error {
  int code = 0;
  std::string message;
  std::string more_info;
};

/// Reads Twilio's error body leniently, because a proxy may respond with
/// HTML or an empty body.
twilio_error parse_error_body(const std::string& body);

/// Formats "HTTP 500, code 20500: 'message'" for error messages and logs.
std::string describe_status(long status, const twilio_error& error);

/// One page of the IncomingPhoneNumbers list.
struct number_page {
  std::vector<incoming_number> numbers;
  /// Path and query of the next page, or empty on the last page.
  std::string next_page_uri;
};

/// Reads the `status` of an Account resource. Malformed JSON is
/// `errc::twilio_unavailable`, as are the other parse functions' errors.
caf::expected<std::string> parse_account_status(const std::string& body);

/// Reads one IncomingPhoneNumber resource.
caf::expected<incoming_number> parse_number(const std::string& body);

/// Reads one page of the IncomingPhoneNumbers list.
caf::expected<number_page> parse_number_page(const std::string& body);

} // namespace skyiq::twilio::detail
