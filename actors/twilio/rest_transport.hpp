#pragma once

// Internal to skyiq_twilio: HTTP exchanges with Twilio over libcurl.

#include "actors/twilio/rest_client.hpp"
#include "actors/twilio/rest_json.hpp"

#include <caf/expected.hpp>

#include <memory>
#include <string>

namespace skyiq::twilio::detail {

/// One request, relative to the base URL.
struct http_request {
  /// "GET" or "POST".
  std::string method;
  /// Path and query, starting with '/'.
  std::string target;
  /// Form-encoded body of a POST.
  std::string body;
};

/// A response that is final: a 2xx, or a status that a retry cannot fix.
struct http_response {
  long status = 0;
  std::string body;
};

/// The outcome of one attempt; defined in rest_transport.cpp.
struct attempt_result;

/// A libcurl easy handle with the client's fixed settings. Keeps its
/// connection open between requests.
class transport {
public:
  /// Validates `options.base_url` and sets up the handle.
  static caf::expected<std::unique_ptr<transport>> make(rest_options options);

  ~transport();

  /// Sends `request` with Basic auth, retrying 429, 5xx and transport
  /// failures within `rest_options::timeout`. Returns the final response,
  /// or `errc::twilio_unavailable` / `errc::twilio_timeout` when there is
  /// none.
  caf::expected<http_response> perform(const credentials& creds,
                                       const http_request& request);

private:
  transport(rest_options options, std::string base_url, void* handle);

  /// Sends `request` once within `budget`.
  attempt_result attempt(const credentials& creds, const http_request& request,
                         std::chrono::milliseconds budget);

  rest_options options_;
  /// Base URL without a trailing '/'.
  std::string base_url_;
  /// The CURL easy handle.
  void* handle_;
};

} // namespace skyiq::twilio::detail
