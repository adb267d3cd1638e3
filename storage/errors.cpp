#include "storage/errors.hpp"

#include <caf/sec.hpp>

namespace skyiq {

const char* to_code(errc code) {
  switch (code) {
    case errc::invalid_request: return "invalid_request";
    case errc::invalid_phone_number: return "invalid_phone_number";
    case errc::invalid_account_sid: return "invalid_account_sid";
    case errc::invalid_twilio_credentials: return "invalid_twilio_credentials";
    case errc::twilio_account_inactive: return "twilio_account_inactive";
    case errc::number_not_in_twilio_account:
      return "number_not_in_twilio_account";
    case errc::number_in_use: return "number_in_use";
    case errc::number_on_trunk: return "number_on_trunk";
    case errc::twilio_account_conflict: return "twilio_account_conflict";
    case errc::twilio_unavailable: return "twilio_unavailable";
    case errc::twilio_timeout: return "twilio_timeout";
    case errc::call_exists: return "call_exists";
    case errc::number_not_claimed: return "number_not_claimed";
    case errc::not_found: return "not_found";
    case errc::unauthorized: return "unauthorized";
    case errc::forbidden: return "forbidden";
    case errc::email_taken: return "email_taken";
    case errc::invalid_credentials: return "invalid_credentials";
    case errc::unavailable: return "unavailable";
    case errc::body_too_large: return "body_too_large";
    case errc::length_required: return "length_required";
    case errc::method_not_allowed: return "method_not_allowed";
    case errc::signature_invalid: return "signature_invalid";
    case errc::unknown_number: return "unknown_number";
    case errc::internal: return "internal";
    case errc::twilio_not_connected: return "twilio_not_connected";
    case errc::rate_limited: return "rate_limited";
    case errc::headers_too_large: return "headers_too_large";
  }
  return "internal";
}

caf::error make_error(errc code, std::string message) {
  return caf::error(static_cast<std::uint8_t>(code), error_category,
                    caf::make_message(std::move(message)));
}

errc code_of(const caf::error& err) {
  if (err.category() != error_category) {
    return errc::internal;
  }
  return static_cast<errc>(err.code());
}

std::string message_of(const caf::error& err) {
  if (err.category() == error_category && err.context().size() == 1
      && err.context().match_element<std::string>(0)) {
    return err.context().get_as<std::string>(0);
  }
  if (err.category() == caf::atom("system")) {
    return "internal error: " + caf::to_string(static_cast<caf::sec>(
                                   err.code()));
  }
  return "internal error";
}

} // namespace skyiq
