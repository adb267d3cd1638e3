#include "http/errors.hpp"

#include <nlohmann/json.hpp>

namespace skyiq::http {

int status_of(errc code) {
  switch (code) {
  case errc::invalid_request:
  case errc::invalid_phone_number:
  case errc::invalid_account_sid:
    return 400;
  case errc::unauthorized:
  case errc::invalid_credentials:
    return 401;
  case errc::forbidden:
  case errc::signature_invalid:
    return 403;
  case errc::not_found:
    return 404;
  case errc::method_not_allowed:
    return 405;
  case errc::number_in_use:
  case errc::number_on_trunk:
  case errc::twilio_account_conflict:
  case errc::call_exists:
  case errc::email_taken:
    return 409;
  case errc::length_required:
    return 411;
  case errc::body_too_large:
    return 413;
  case errc::invalid_twilio_credentials:
  case errc::twilio_account_inactive:
  case errc::number_not_in_twilio_account:
  case errc::number_not_claimed:
  case errc::twilio_not_connected:
    return 422;
  case errc::rate_limited:
    return 429;
  case errc::headers_too_large:
    return 431;
  case errc::twilio_unavailable:
    return 502;
  case errc::unavailable:
    return 503;
  case errc::twilio_timeout:
    return 504;
  case errc::unknown_number:
    return 200;
  case errc::internal:
    return 500;
  }
  return 500;
}

response error_response(errc code, const std::string& message) {
  response result;
  result.status = status_of(code);
  nlohmann::json body = {
      {"error", {{"code", to_code(code)}, {"message", message}}}};
  result.body =
      body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return result;
}

response error_response(const caf::error& err) {
  if (err.category() != error_category) {
    return error_response(errc::unavailable,
                          "the gateway could not complete the request in "
                          "time: retry later");
  }
  // Messages of these two codes may name the database, its driver's text
  // or another gateway node, which clients (Twilio included) must not
  // see. The gateway logs the details where the error arises.
  switch (code_of(err)) {
  case errc::unavailable:
    return error_response(errc::unavailable,
                          "the gateway cannot complete the request right "
                          "now: retry later");
  case errc::internal:
    return error_response(errc::internal,
                          "the gateway failed to complete the request; "
                          "its log has the details");
  default:
    return error_response(code_of(err), message_of(err));
  }
}

} // namespace skyiq::http
