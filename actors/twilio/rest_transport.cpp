#include "actors/twilio/rest_transport.hpp"

#include "storage/errors.hpp"

#include <Poco/Logger.h>

#include <curl/curl.h>

#include <algorithm>
#include <mutex>
#include <thread>

namespace skyiq::twilio::detail {

namespace {

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Limit on a response body. Twilio's largest page holds 1000 numbers, and
// one number in Twilio's shape is about 1 KB (939 bytes from the fake).
constexpr std::size_t max_body_bytes = 16 * 1024 * 1024;

// Cap on a Retry-After value, so that a huge one cannot overflow the wait.
// A wait this long exceeds any sensible twilio.timeout and fails fast.
constexpr long max_retry_after_seconds = 3600;

Poco::Logger& logger() {
  return Poco::Logger::get("gateway.twilio");
}

caf::error setup_error(const std::string& reason) {
  return make_error(errc::invalid_request,
                    "cannot set up the Twilio REST client: " + reason);
}

bool is_loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "[::1]";
}

std::string url_part(CURLU* url, CURLUPart part) {
  char* text = nullptr;
  if (curl_url_get(url, part, &text, 0) != CURLUE_OK || text == nullptr) {
    return "";
  }
  std::string result = text;
  curl_free(text);
  return result;
}

// Hides user info ("https://user:password@host") in error messages.
std::string redacted(const std::string& url) {
  const auto authority = url.find("://");
  const auto at = url.find('@');
  if (authority == std::string::npos || at == std::string::npos) {
    return url;
  }
  return url.substr(0, authority + 3) + "***" + url.substr(at);
}

// Returns scheme://host[:port][/path] without a trailing '/'.
caf::expected<std::string> validate_base_url(const std::string& base_url) {
  const std::string hint = " Set twilio.api_base_url to a URL such as "
                           "https://api.twilio.com.";
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> url(curl_url(),
                                                          curl_url_cleanup);
  if (!url || curl_url_set(url.get(), CURLUPART_URL, base_url.c_str(), 0) !=
                  CURLUE_OK) {
    return make_error(errc::invalid_request, "Twilio API base URL '" +
                                                 redacted(base_url) +
                                                 "' is not a URL." + hint);
  }
  const auto scheme = url_part(url.get(), CURLUPART_SCHEME);
  const auto host = url_part(url.get(), CURLUPART_HOST);
  if (scheme != "https" && !(scheme == "http" && is_loopback(host))) {
    return make_error(errc::invalid_request,
                      "Twilio API base URL '" + redacted(base_url) +
                          "' must use https (plain http is accepted only "
                          "for 127.0.0.1, localhost or [::1])." +
                          hint);
  }
  if (!url_part(url.get(), CURLUPART_USER).empty() ||
      !url_part(url.get(), CURLUPART_QUERY).empty() ||
      !url_part(url.get(), CURLUPART_FRAGMENT).empty()) {
    return make_error(errc::invalid_request,
                      "Twilio API base URL must not contain user info, a "
                      "query or a fragment." +
                          hint);
  }
  auto normalized = base_url;
  while (!normalized.empty() && normalized.back() == '/') {
    normalized.pop_back();
  }
  return normalized;
}

void initialize_curl_once() {
  static std::once_flag flag;
  std::call_once(flag, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t collect_body(char* data, size_t size, size_t count, void* user) {
  auto& body = *static_cast<std::string*>(user);
  const auto bytes = size * count;
  if (body.size() + bytes > max_body_bytes) {
    return 0;
  }
  body.append(data, bytes);
  return bytes;
}

// Reads Retry-After in its delta-seconds form and ignores an HTTP date.
std::optional<std::chrono::seconds> retry_after(CURL* handle) {
  curl_header* header = nullptr;
  if (curl_easy_header(handle, "Retry-After", 0, CURLH_HEADER, -1, &header) !=
          CURLHE_OK ||
      header == nullptr) {
    return std::nullopt;
  }
  const std::string value = header->value;
  if (value.empty() || value.size() > 9 ||
      !std::all_of(value.begin(), value.end(), ::isdigit)) {
    return std::nullopt;
  }
  const auto seconds = std::min(std::stol(value), max_retry_after_seconds);
  return std::chrono::seconds(seconds);
}

bool is_retryable_status(long status) {
  return status == 429 || (status >= 500 && status <= 599);
}

// Returns whether a retry on a new connection may avoid `code`.
bool is_retryable_transport(CURLcode code) {
  switch (code) {
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_CONNECT:
  case CURLE_PARTIAL_FILE:
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
    return true;
  default:
    return false;
  }
}

milliseconds remaining_until(clock_type::time_point deadline) {
  return std::chrono::duration_cast<milliseconds>(deadline - clock_type::now());
}

} // namespace

struct attempt_result {
  /// CURLE_OK when a response arrived.
  CURLcode code = CURLE_OK;
  /// curl's description of `code`.
  std::string failure;
  long status = 0;
  std::string body;
  std::optional<std::chrono::seconds> retry_after;
};

caf::expected<std::unique_ptr<transport>>
transport::make(rest_options options) {
  auto base_url = validate_base_url(options.base_url);
  if (!base_url) {
    return std::move(base_url.error());
  }
  if (options.max_retries < 0 || options.timeout <= milliseconds{0} ||
      options.connect_timeout <= milliseconds{0}) {
    return setup_error("timeouts must be positive and max_retries at "
                       "least 0");
  }
  initialize_curl_once();
  CURL* handle = curl_easy_init();
  if (handle == nullptr) {
    return setup_error("curl_easy_init failed");
  }
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(handle, CURLOPT_USERAGENT, "skyiq-gateway");
  curl_easy_setopt(handle, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, collect_body);
  if (!options.ca_file.empty()) {
    // CURLOPT_CAINFO replaces the default bundle, so the system CA
    // directory is named explicitly to keep the public CAs trusted.
    curl_easy_setopt(handle, CURLOPT_CAINFO, options.ca_file.c_str());
    const auto* info = curl_version_info(CURLVERSION_NOW);
    if (info->capath != nullptr) {
      curl_easy_setopt(handle, CURLOPT_CAPATH, info->capath);
    }
  }
  return std::unique_ptr<transport>(
      new transport(std::move(options), std::move(*base_url), handle));
}

transport::transport(rest_options options, std::string base_url, void* handle)
    : options_(std::move(options)), base_url_(std::move(base_url)),
      handle_(handle) {}

transport::~transport() {
  curl_easy_cleanup(static_cast<CURL*>(handle_));
}

attempt_result transport::attempt(const credentials& creds,
                                  const http_request& request,
                                  milliseconds budget) {
  auto* handle = static_cast<CURL*>(handle_);
  attempt_result result;
  const auto url = base_url_ + request.target;
  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  if (request.method == "POST") {
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, request.body.c_str());
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE,
                     static_cast<long>(request.body.size()));
  } else {
    curl_easy_setopt(handle, CURLOPT_HTTPGET, 1L);
  }
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(budget.count()));
  curl_easy_setopt(
      handle, CURLOPT_CONNECTTIMEOUT_MS,
      static_cast<long>(std::min(budget, options_.connect_timeout).count()));
  curl_easy_setopt(handle, CURLOPT_USERNAME, creds.account_sid.c_str());
  curl_easy_setopt(handle, CURLOPT_PASSWORD, creds.auth_token.c_str());
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &result.body);
  char message[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, message);

  result.code = curl_easy_perform(handle);

  // curl keeps its own copy of the token, so it is cleared after each
  // request.
  curl_easy_setopt(handle, CURLOPT_PASSWORD, nullptr);
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, nullptr);
  if (result.code != CURLE_OK) {
    result.failure =
        message[0] != '\0' ? message : curl_easy_strerror(result.code);
    return result;
  }
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &result.status);
  result.retry_after = retry_after(handle);
  return result;
}

namespace {

std::string describe_failure(long status, CURLcode code,
                             const std::string& curl_message,
                             const std::string& body) {
  if (code != CURLE_OK) {
    return "no response (" + curl_message + ")";
  }
  return describe_status(status, parse_error_body(body));
}

milliseconds backoff(const rest_options& options, int retry,
                     std::optional<std::chrono::seconds> retry_after) {
  const auto factor = 1LL << std::min(retry, 16);
  milliseconds wait = options.retry_backoff * factor;
  if (retry_after) {
    wait = std::max<milliseconds>(wait, *retry_after);
  }
  return wait;
}

caf::error timeout_error(const http_request& request,
                         const rest_options& options) {
  return make_error(errc::twilio_timeout,
                    "Twilio did not complete " + request.method + " " +
                        request.target + " within " +
                        std::to_string(options.timeout.count()) +
                        " ms (twilio.timeout). Try again later.");
}

caf::error unavailable_error(const http_request& request, int attempts,
                             const std::string& failure,
                             const std::string& hint) {
  return make_error(errc::twilio_unavailable,
                    "Twilio request " + request.method + " " + request.target +
                        " failed after " + std::to_string(attempts) +
                        " attempt" + (attempts == 1 ? "" : "s") + ": " +
                        failure + ". " + hint);
}

// Replaces quotes and control characters, which could forge log fields,
// in text that came from the server.
std::string log_safe(std::string text) {
  for (char& c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f || c == '"') {
      c = '?';
    }
  }
  return text;
}

void log_failure(const http_request& request, int attempts,
                 const std::string& failure) {
  logger().error("twilio-request-failed method=" + request.method + " target=" +
                 request.target + " attempts=" + std::to_string(attempts) +
                 " failure=\"" + log_safe(failure) + "\"");
}

constexpr const char* retry_hint = "Try again later.";
constexpr const char* setup_hint =
    "Check twilio.api_base_url and, for a private CA, twilio.ca_file.";

// Returns the error that ends `request` after the failed attempt `result`,
// or nothing when a retry after `wait` is allowed and fits the deadline.
std::optional<caf::error> final_error(const http_request& request,
                                      const rest_options& options,
                                      const attempt_result& result,
                                      int attempts, milliseconds wait,
                                      clock_type::time_point deadline) {
  const bool answered = result.code == CURLE_OK;
  const bool timed_out = result.code == CURLE_OPERATION_TIMEDOUT;
  auto failure =
      describe_failure(result.status, result.code, result.failure, result.body);
  std::optional<caf::error> error;
  // A timeout that leaves budget came from the connect phase, so a retry
  // may succeed.
  if (timed_out && remaining_until(deadline) < milliseconds{10}) {
    error = timeout_error(request, options);
  } else if (!answered && !timed_out && !is_retryable_transport(result.code)) {
    error = unavailable_error(request, attempts, failure, setup_hint);
  } else if (attempts > options.max_retries) {
    error = timed_out
                ? timeout_error(request, options)
                : unavailable_error(request, attempts, failure, retry_hint);
  } else if (wait >= remaining_until(deadline)) {
    failure += ", and the next retry (in " + std::to_string(wait.count()) +
               " ms) would pass twilio.timeout";
    error = unavailable_error(request, attempts, failure, retry_hint);
  }

  if (error) {
    log_failure(request, attempts, failure);
  } else {
    logger().warning("twilio-request-retry method=" + request.method +
                     " target=" + request.target +
                     " attempt=" + std::to_string(attempts) +
                     " wait_ms=" + std::to_string(wait.count()) +
                     " failure=\"" + log_safe(failure) + "\"");
  }
  return error;
}

} // namespace

caf::expected<http_response> transport::perform(const credentials& creds,
                                                const http_request& request) {
  const auto deadline = clock_type::now() + options_.timeout;
  for (int retry = 0;; ++retry) {
    const auto budget = remaining_until(deadline);
    if (budget <= milliseconds{0}) {
      return timeout_error(request, options_);
    }
    auto result = attempt(creds, request, budget);
    const bool answered = result.code == CURLE_OK;
    if (options_.on_error && (!answered || result.status >= 400)) {
      const auto code = answered ? parse_error_body(result.body).code : 0;
      options_.on_error(static_cast<int>(result.status), code);
    }
    if (answered && !is_retryable_status(result.status)) {
      return http_response{result.status, std::move(result.body)};
    }

    const auto wait = backoff(options_, retry, result.retry_after);
    if (auto error =
            final_error(request, options_, result, retry + 1, wait, deadline)) {
      return std::move(*error);
    }
    std::this_thread::sleep_for(wait);
  }
}

} // namespace skyiq::twilio::detail
