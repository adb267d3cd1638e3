#include "actors/twilio/rest_client.hpp"

#include "actors/twilio/phone_number.hpp"
#include "actors/twilio/rest_json.hpp"
#include "actors/twilio/rest_transport.hpp"
#include "actors/twilio/signature.hpp"
#include "storage/errors.hpp"

#include <algorithm>
#include <cctype>

namespace skyiq::twilio {

namespace {

using detail::http_request;
using detail::http_response;

constexpr const char* api_prefix = "/2010-04-01/Accounts/";

// Maximum pages that find_numbers follows. At Twilio's default of 50
// numbers a page, this covers 5000 numbers.
constexpr int max_pages = 100;

// Checks a Twilio SID: two letters and 32 hex digits.
bool is_sid(const std::string& value, const char* prefix) {
  return value.size() == 34 && value.compare(0, 2, prefix) == 0 &&
         std::all_of(value.begin() + 2, value.end(),
                     [](unsigned char c) { return std::isxdigit(c) != 0; });
}

// Shows at most 40 characters of a value that failed a format check.
std::string quoted(const std::string& value) {
  return "'" + value.substr(0, 40) + (value.size() > 40 ? "...'" : "'");
}

caf::expected<void> check_credentials(const credentials& creds) {
  if (!is_sid(creds.account_sid, "AC")) {
    return make_error(errc::invalid_account_sid,
                      "Account SID " + quoted(creds.account_sid) +
                          " is invalid: it must be AC followed by 32 hex "
                          "digits, as shown in the Twilio Console.");
  }
  if (creds.auth_token.empty()) {
    return make_error(errc::invalid_twilio_credentials,
                      "the auth token of Twilio account " + creds.account_sid +
                          " is empty: copy it from the Twilio Console.");
  }
  return {};
}

caf::error rejected_credentials(const credentials& creds,
                                const http_response& response) {
  const auto error = detail::parse_error_body(response.body);
  return make_error(errc::invalid_twilio_credentials,
                    "Twilio rejected the credentials of account " +
                        creds.account_sid + " (" +
                        detail::describe_status(response.status, error) +
                        "). Check the Account SID and auth token in the "
                        "Twilio Console.");
}

caf::error unexpected_status(const http_request& request,
                             const http_response& response) {
  const auto error = detail::parse_error_body(response.body);
  std::string message = "Twilio responded to " + request.method + " " +
                        request.target + " with " +
                        detail::describe_status(response.status, error) + ".";
  if (!error.more_info.empty()) {
    message += " See " + error.more_info + ".";
  }
  return make_error(errc::twilio_unavailable, std::move(message));
}

// Checks that `uri` is `list_path` itself or with a query.
bool is_page_of(const std::string& uri, const std::string& list_path) {
  return uri.compare(0, list_path.size(), list_path) == 0 &&
         (uri.size() == list_path.size() || uri[list_path.size()] == '?');
}

bool is_success(const http_response& response) {
  return response.status >= 200 && response.status <= 299;
}

bool is_auth_failure(const http_response& response) {
  return response.status == 401 || response.status == 403;
}

std::string numbers_path(const std::string& account_sid) {
  return api_prefix + account_sid + "/IncomingPhoneNumbers";
}

form_params webhook_form(const webhook_config& config) {
  form_params form = {
      {"VoiceUrl", config.voice_url},
      {"VoiceMethod", "POST"},
      {"StatusCallback", config.status_callback},
      {"StatusCallbackMethod", "POST"},
  };
  if (config.voice_fallback_url) {
    form.emplace_back("VoiceFallbackUrl", *config.voice_fallback_url);
    form.emplace_back("VoiceFallbackMethod", "POST");
  }
  if (config.clear_voice_application) {
    form.emplace_back("VoiceApplicationSid", "");
  }
  return form;
}

} // namespace

caf::expected<rest_client> rest_client::make(rest_options options) {
  auto created = detail::transport::make(std::move(options));
  if (!created) {
    return std::move(created.error());
  }
  return rest_client(std::move(*created));
}

rest_client::rest_client(std::unique_ptr<detail::transport> transport)
    : transport_(std::move(transport)) {}

rest_client::rest_client(rest_client&&) noexcept = default;
rest_client& rest_client::operator=(rest_client&&) noexcept = default;
rest_client::~rest_client() = default;

caf::expected<std::string>
rest_client::fetch_account_status(const credentials& creds) {
  if (auto valid = check_credentials(creds); !valid) {
    return std::move(valid.error());
  }
  const http_request request{"GET", api_prefix + creds.account_sid + ".json",
                             ""};
  auto response = transport_->perform(creds, request);
  if (!response) {
    return std::move(response.error());
  }
  // Twilio returns 404 for an Account SID that does not exist.
  if (is_auth_failure(*response) || response->status == 404) {
    return rejected_credentials(creds, *response);
  }
  if (!is_success(*response)) {
    return unexpected_status(request, *response);
  }
  return detail::parse_account_status(response->body);
}

caf::expected<void> rest_client::check_account(const credentials& creds) {
  auto status = fetch_account_status(creds);
  if (!status) {
    return std::move(status.error());
  }
  if (*status != "active") {
    return make_error(errc::twilio_account_inactive,
                      "Twilio account " + creds.account_sid + " is " + *status +
                          ", not active: reactivate it in the Twilio "
                          "Console or connect an active account.");
  }
  return {};
}

caf::expected<std::vector<incoming_number>>
rest_client::find_numbers(const credentials& creds,
                          const std::optional<std::string>& e164) {
  if (auto valid = check_credentials(creds); !valid) {
    return std::move(valid.error());
  }
  if (e164 && !is_e164(*e164)) {
    return make_error(errc::invalid_phone_number,
                      "phone number " + quoted(*e164) +
                          " is not in E.164 form, such as +14155550123.");
  }
  const auto list_path = numbers_path(creds.account_sid) + ".json";
  std::string target = list_path;
  if (e164) {
    target += "?PhoneNumber=" + percent_encode(*e164);
  }

  std::vector<incoming_number> numbers;
  for (int page = 0; page < max_pages; ++page) {
    const http_request request{"GET", target, ""};
    auto response = transport_->perform(creds, request);
    if (!response) {
      return std::move(response.error());
    }
    if (is_auth_failure(*response) || response->status == 404) {
      return rejected_credentials(creds, *response);
    }
    if (!is_success(*response)) {
      return unexpected_status(request, *response);
    }
    auto parsed = detail::parse_number_page(response->body);
    if (!parsed) {
      return std::move(parsed.error());
    }
    std::move(parsed->numbers.begin(), parsed->numbers.end(),
              std::back_inserter(numbers));
    if (parsed->next_page_uri.empty()) {
      return numbers;
    }
    // Basic auth goes only to this account's list on the same host.
    if (!is_page_of(parsed->next_page_uri, list_path)) {
      return make_error(errc::twilio_unavailable,
                        "Twilio returned a next_page_uri outside " + list_path +
                            ", so the page was not followed.");
    }
    target = parsed->next_page_uri;
  }
  return make_error(errc::twilio_unavailable,
                    "Twilio account " + creds.account_sid + " lists more " +
                        "than " + std::to_string(max_pages) +
                        " pages of incoming numbers; the list was not "
                        "completed.");
}

caf::expected<incoming_number>
rest_client::configure_number(const credentials& creds,
                              const std::string& number_sid,
                              const webhook_config& config) {
  if (auto valid = check_credentials(creds); !valid) {
    return std::move(valid.error());
  }
  if (!is_sid(number_sid, "PN")) {
    return make_error(errc::invalid_request,
                      "phone number SID " + quoted(number_sid) +
                          " is invalid: it must be PN followed by 32 hex "
                          "digits.");
  }
  if (config.voice_url.empty() || config.status_callback.empty()) {
    return make_error(errc::invalid_request,
                      "the voice URL and status callback of " + number_sid +
                          " must not be empty: check " +
                          "http.public_base_url.");
  }
  const http_request request{
      "POST", numbers_path(creds.account_sid) + "/" + number_sid + ".json",
      form_encode(webhook_form(config))};
  auto response = transport_->perform(creds, request);
  if (!response) {
    return std::move(response.error());
  }
  if (is_auth_failure(*response)) {
    return rejected_credentials(creds, *response);
  }
  if (response->status == 404) {
    return make_error(errc::number_not_in_twilio_account,
                      "phone number " + number_sid +
                          " is not in Twilio account " + creds.account_sid +
                          ": pick one of the account's numbers.");
  }
  if (!is_success(*response)) {
    return unexpected_status(request, *response);
  }
  return detail::parse_number(response->body);
}

} // namespace skyiq::twilio
