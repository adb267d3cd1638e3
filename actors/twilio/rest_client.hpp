#pragma once

#include <caf/expected.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace skyiq::twilio {

/// Settings of a Twilio REST client.
struct rest_options {
  /// Scheme, host and optional port of the API, such as
  /// "https://api.twilio.com". Plain http is accepted only for a loopback
  /// host (127.0.0.1, localhost or [::1]).
  std::string base_url;
  /// Total time of one API request, retries and waits between them
  /// included. Each page of a list is one request.
  std::chrono::milliseconds timeout{10000};
  /// Time one attempt may spend connecting (TCP and TLS).
  std::chrono::milliseconds connect_timeout{3000};
  /// Retries after a 429, a 5xx or a transport failure.
  int max_retries = 3;
  /// Wait before the first retry. It doubles on each further retry, and a
  /// longer `Retry-After` from Twilio wins.
  std::chrono::milliseconds retry_backoff{200};
  /// PEM file of a private CA trusted in addition to the system CAs.
  std::string ca_file;
  /// Called once for each failed attempt, before any retry, with the HTTP
  /// status (0 when no response arrived) and Twilio's error code (0 when
  /// the body had none). It feeds metrics and must not block.
  std::function<void(int http_status, int twilio_code)> on_error;
};

/// Twilio credentials of one account. The auth token never leaves the
/// client: it is sent only as Basic auth and kept out of errors and logs.
struct credentials {
  std::string account_sid;
  std::string auth_token;
};

/// The fields of Twilio's IncomingPhoneNumber resource that the gateway
/// uses. A JSON null becomes an empty string.
struct incoming_number {
  /// Phone number SID, "PN" and 32 hex digits.
  std::string sid;
  std::string account_sid;
  /// The number in E.164 form.
  std::string phone_number;
  std::string friendly_name;
  std::string voice_url;
  /// Set when a TwiML App handles calls. Twilio ignores voice_url then.
  std::string voice_application_sid;
  /// Set when the number belongs to a SIP trunk. Twilio ignores voice_url
  /// then.
  std::string trunk_sid;
  std::string status_callback;
};

/// The webhooks that `configure_number` sets, all called with POST.
struct webhook_config {
  std::string voice_url;
  std::string status_callback;
  std::optional<std::string> voice_fallback_url;
  /// Sends an empty `VoiceApplicationSid`, which detaches a TwiML App so
  /// that Twilio uses voice_url.
  bool clear_voice_application = false;
};

namespace detail {
class transport;
}

/// Client of Twilio's REST API (2010-04-01) over libcurl, with certificate
/// and host name verification. One object owns one connection, so it is
/// used by one thread at a time; each I/O worker thread owns its own.
///
/// Rejected credentials are `errc::invalid_twilio_credentials`. A 429, a
/// 5xx or a transport failure is retried with exponential backoff and then
/// becomes `errc::twilio_unavailable`. A request that runs out of
/// `rest_options::timeout` is `errc::twilio_timeout`.
class rest_client {
public:
  /// Creates a client, or returns `errc::invalid_request` when the base URL
  /// is not https (or http on loopback) or curl cannot be set up.
  static caf::expected<rest_client> make(rest_options options);

  rest_client(rest_client&&) noexcept;
  rest_client& operator=(rest_client&&) noexcept;
  ~rest_client();

  /// Fetches the account resource and returns its `status` ("active",
  /// "suspended" or "closed").
  caf::expected<std::string> fetch_account_status(const credentials& creds);

  /// Checks that the credentials are accepted and that the account is
  /// active; otherwise returns `errc::twilio_account_inactive`.
  caf::expected<void> check_account(const credentials& creds);

  /// Lists the account's incoming numbers, following `next_page_uri` for
  /// at most 100 pages. With `e164`, Twilio filters by *partial* match, so
  /// the result may hold other numbers and the caller compares
  /// `phone_number` exactly.
  caf::expected<std::vector<incoming_number>>
  find_numbers(const credentials& creds,
               const std::optional<std::string>& e164);

  /// Points the number's voice webhook and status callback at `config`
  /// and returns the updated resource. An unknown number SID is
  /// `errc::number_not_in_twilio_account`.
  caf::expected<incoming_number> configure_number(const credentials& creds,
                                                  const std::string& number_sid,
                                                  const webhook_config& config);

private:
  explicit rest_client(std::unique_ptr<detail::transport> transport);

  std::unique_ptr<detail::transport> transport_;
};

} // namespace skyiq::twilio
