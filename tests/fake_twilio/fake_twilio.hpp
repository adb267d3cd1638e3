#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace Poco {
class ThreadPool;
namespace Net {
class HTTPServer;
}
} // namespace Poco

namespace skyiq::testing {

/// A failure the fake applies to the next `count` requests whose method
/// equals `method` (any method when empty) and whose path and query
/// contain `path_contains`. The first matching fault with a count left
/// wins.
struct fault {
  std::string method;
  std::string path_contains;
  /// HTTP status of the response, with Twilio's JSON error body unless
  /// `body` is set. 0 sends the normal response after `delay`.
  int status = 500;
  /// Replaces the body sent with `status`, to send malformed JSON or a
  /// crafted 200 page.
  std::optional<std::string> body;
  int count = 1;
  /// Sent as the `Retry-After` header.
  std::optional<int> retry_after_seconds;
  /// Wait before responding. The wait ends early when the fake stops.
  std::chrono::milliseconds delay{0};
  /// Closes the connection without sending anything.
  bool drop_connection = false;
  /// Sends a 200 whose body is shorter than its Content-Length, then
  /// closes the connection.
  bool truncate_body = false;
};

/// The state of one IncomingPhoneNumber, as POST updates leave it.
struct number_state {
  std::string sid;
  std::string account_sid;
  std::string phone_number;
  std::string friendly_name;
  std::string voice_url;
  std::string voice_method = "POST";
  std::string voice_fallback_url;
  std::string voice_fallback_method = "POST";
  std::string voice_application_sid;
  std::string trunk_sid;
  std::string status_callback;
  std::string status_callback_method = "POST";
};

/// One request as the fake received it. The Authorization header itself is
/// not kept.
struct recorded_request {
  std::string method;
  /// Path and query as sent.
  std::string target;
  std::string body;
  /// Whether the Basic auth credentials matched an account.
  bool authenticated = false;
  /// Client's TCP port; equal ports mean one reused connection.
  std::uint16_t client_port = 0;
};

/// Settings of the fake.
struct fake_options {
  /// Port on 127.0.0.1; 0 picks a free one.
  std::uint16_t port = 0;
  /// Numbers per page when the request has no PageSize.
  std::size_t page_size = 50;
  /// PEM certificate and key. When both are set, the fake serves https.
  std::string certificate_file;
  std::string private_key_file;
};

struct fake_state;

/// A local stand-in for Twilio's REST API (2010-04-01) with Twilio's JSON
/// shapes: the Account resource, the IncomingPhoneNumbers list (partial
/// PhoneNumber filter, PageSize/Page pagination) and number updates. It
/// checks Basic auth, responds 401 with code 20003 for unknown credentials
/// and for another account's path, and can inject faults. Thread-safe.
class fake_twilio {
public:
  /// Starts serving on 127.0.0.1. Throws Poco::Exception when it cannot
  /// bind the port or load the TLS files.
  explicit fake_twilio(fake_options options = {});
  ~fake_twilio();

  fake_twilio(const fake_twilio&) = delete;
  fake_twilio& operator=(const fake_twilio&) = delete;

  /// Returns "http://127.0.0.1:PORT" (https when TLS is on).
  std::string base_url() const;
  std::uint16_t port() const;

  void add_account(const std::string& sid, const std::string& auth_token,
                   const std::string& status = "active");
  void set_account_status(const std::string& sid, const std::string& status);
  void add_number(const std::string& account_sid, const std::string& e164,
                  const std::string& number_sid,
                  const std::string& friendly_name = "",
                  const std::string& voice_application_sid = "",
                  const std::string& trunk_sid = "");
  std::optional<number_state> number(const std::string& sid) const;

  void set_page_size(std::size_t page_size);
  void inject(fault f);
  std::vector<recorded_request> requests() const;
  void clear_requests();

private:
  std::shared_ptr<fake_state> state_;
  /// Declared before server_ so that it outlives the server's threads.
  std::unique_ptr<Poco::ThreadPool> threads_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  std::uint16_t port_ = 0;
  bool tls_ = false;
};

} // namespace skyiq::testing
