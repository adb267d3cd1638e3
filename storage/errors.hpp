#pragma once

#include <caf/error.hpp>
#include <caf/make_message.hpp>

#include <cstdint>
#include <string>

namespace skyiq {

/// Project error codes. The values are pinned because they appear in logs;
/// `to_code` gives the snake_case word used in API responses.
enum class errc : std::uint8_t {
  invalid_request = 1,
  invalid_phone_number = 2,
  invalid_account_sid = 3,
  invalid_twilio_credentials = 4,
  twilio_account_inactive = 5,
  number_not_in_twilio_account = 6,
  number_in_use = 7,
  number_on_trunk = 8,
  twilio_account_conflict = 9,
  twilio_unavailable = 10,
  twilio_timeout = 11,
  call_exists = 12,
  number_not_claimed = 13,
  not_found = 14,
  unauthorized = 15,
  forbidden = 16,
  email_taken = 17,
  invalid_credentials = 18,
  unavailable = 19,
  body_too_large = 20,
  length_required = 21,
  method_not_allowed = 22,
  signature_invalid = 23,
  unknown_number = 24,
  internal = 25,
  twilio_not_connected = 26,
  rate_limited = 27,
  headers_too_large = 28,
};

/// Returns the stable snake_case word of `code`.
const char* to_code(errc code);

/// Category atom under which project errors travel in `caf::error`.
constexpr caf::atom_value error_category = caf::atom("skyiq");

/// Makes an error whose context carries a message for people. The message
/// names the value and what to do; it never contains a secret.
caf::error make_error(errc code, std::string message);

/// Returns the project code of `err`, or `errc::internal` when `err` comes
/// from another category (a CAF timeout, say).
errc code_of(const caf::error& err);

/// Returns the message stored by `make_error`, or a rendering of a foreign
/// error.
std::string message_of(const caf::error& err);

} // namespace skyiq
