#include "tests/fake_twilio/fake_state.hpp"

#include "tests/fake_twilio/fake_json.hpp"

#include <Poco/Net/HTMLForm.h>
#include <Poco/NumberParser.h>
#include <Poco/URI.h>

#include <algorithm>
#include <cctype>
#include <regex>

namespace skyiq::testing {

namespace {

using json = nlohmann::json;

// Twilio's largest PageSize.
constexpr std::size_t max_page_size = 1000;

std::string encode_query_value(const std::string& value) {
  std::string encoded;
  Poco::URI::encode(value, "+&=?#", encoded);
  return encoded;
}

// Twilio's PhoneNumber filter: a substring match in which '*' stands for
// any digit.
bool matches_filter(const std::string& phone_number,
                    const std::string& filter) {
  if (filter.size() > phone_number.size()) {
    return false;
  }
  for (std::size_t start = 0; start + filter.size() <= phone_number.size();
       ++start) {
    bool matched = true;
    for (std::size_t i = 0; i < filter.size() && matched; ++i) {
      const char c = phone_number[start + i];
      matched = filter[i] == '*'
                    ? std::isdigit(static_cast<unsigned char>(c)) != 0
                    : filter[i] == c;
    }
    if (matched) {
      return true;
    }
  }
  return false;
}

std::size_t parse_size(const std::string& text, std::size_t fallback) {
  unsigned value = 0;
  if (!Poco::NumberParser::tryParseUnsigned(text, value)) {
    return fallback;
  }
  return value;
}

fake_response not_found(const std::string& path) {
  return twilio_error_response(
      404, 20404, "The requested resource " + path + " was not found");
}

fake_response ok(const json& body) {
  return {200, body.dump(), std::nullopt};
}

} // namespace

fake_state::fake_state(std::size_t page_size) : page_size_(page_size) {}

void fake_state::add_account(const std::string& sid,
                             const std::string& auth_token,
                             const std::string& status) {
  std::lock_guard<std::mutex> guard(mutex_);
  accounts_.push_back({sid, auth_token, status, rfc2822_now()});
}

void fake_state::set_account_status(const std::string& sid,
                                    const std::string& status) {
  std::lock_guard<std::mutex> guard(mutex_);
  for (auto& account : accounts_) {
    if (account.sid == sid) {
      account.status = status;
    }
  }
}

void fake_state::add_number(number_state number) {
  std::lock_guard<std::mutex> guard(mutex_);
  numbers_.push_back(std::move(number));
}

std::optional<number_state> fake_state::number(const std::string& sid) const {
  std::lock_guard<std::mutex> guard(mutex_);
  for (const auto& n : numbers_) {
    if (n.sid == sid) {
      return n;
    }
  }
  return std::nullopt;
}

void fake_state::set_page_size(std::size_t page_size) {
  std::lock_guard<std::mutex> guard(mutex_);
  page_size_ = std::max<std::size_t>(page_size, 1);
}

void fake_state::inject(fault f) {
  std::lock_guard<std::mutex> guard(mutex_);
  faults_.push_back(std::move(f));
}

std::optional<fault> fake_state::take_fault(const std::string& method,
                                            const std::string& target) {
  std::lock_guard<std::mutex> guard(mutex_);
  for (auto& f : faults_) {
    const bool method_matches = f.method.empty() || f.method == method;
    if (f.count > 0 && method_matches &&
        target.find(f.path_contains) != std::string::npos) {
      --f.count;
      return f;
    }
  }
  return std::nullopt;
}

void fake_state::record(recorded_request request) {
  std::lock_guard<std::mutex> guard(mutex_);
  requests_.push_back(std::move(request));
}

std::vector<recorded_request> fake_state::requests() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return requests_;
}

void fake_state::clear_requests() {
  std::lock_guard<std::mutex> guard(mutex_);
  requests_.clear();
}

std::optional<std::string>
fake_state::authenticate(const std::optional<basic_auth>& auth) const {
  if (!auth) {
    return std::nullopt;
  }
  std::lock_guard<std::mutex> guard(mutex_);
  for (const auto& account : accounts_) {
    if (account.sid == auth->user && account.auth_token == auth->password) {
      return account.sid;
    }
  }
  return std::nullopt;
}

bool fake_state::wait(std::chrono::milliseconds delay) {
  std::unique_lock<std::mutex> lock(mutex_);
  return !stopped_changed_.wait_for(lock, delay, [this] { return stopped_; });
}

void fake_state::stop() {
  {
    std::lock_guard<std::mutex> guard(mutex_);
    stopped_ = true;
  }
  stopped_changed_.notify_all();
}

fake_response
fake_state::handle(const std::string& method, const std::string& target,
                   const std::string& body,
                   const std::optional<std::string>& account_sid) {
  static const std::regex account_path(
      "/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})\\.json");
  static const std::regex list_path(
      "/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/IncomingPhoneNumbers\\.json");
  static const std::regex number_path(
      "/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/IncomingPhoneNumbers/"
      "(PN[0-9a-fA-F]{32})\\.json");

  const auto path = target.substr(0, target.find('?'));
  std::smatch match;
  const bool is_account = std::regex_match(path, match, account_path);
  const bool is_list = !is_account && std::regex_match(path, match, list_path);
  const bool is_number =
      !is_account && !is_list && std::regex_match(path, match, number_path);
  if (!is_account && !is_list && !is_number) {
    return not_found(path);
  }
  // Twilio responds to another account's path as to bad credentials.
  if (!account_sid || *account_sid != match[1].str()) {
    return twilio_error_response(401, 20003, "Authenticate");
  }
  if (is_number && method == "POST") {
    return update_number(*account_sid, match[2].str(), body);
  }
  if (method != "GET") {
    return twilio_error_response(405, 20004, "Method not allowed");
  }
  if (is_account) {
    return fetch_account(*account_sid);
  }
  if (is_list) {
    return list_numbers(*account_sid, target);
  }
  return fetch_number(*account_sid, match[2].str());
}

fake_response fake_state::fetch_account(const std::string& sid) const {
  std::lock_guard<std::mutex> guard(mutex_);
  const auto it = std::find_if(accounts_.begin(), accounts_.end(),
                               [&](const auto& a) { return a.sid == sid; });
  if (it == accounts_.end()) {
    return not_found(api_prefix + sid + ".json");
  }
  return ok(account_json(sid, it->status, it->date_created));
}

fake_response fake_state::list_numbers(const std::string& account_sid,
                                       const std::string& target) const {
  std::lock_guard<std::mutex> guard(mutex_);
  std::string filter;
  std::size_t page = 0;
  std::size_t page_size = page_size_;
  for (const auto& [name, value] : Poco::URI(target).getQueryParameters()) {
    if (name == "PhoneNumber") {
      filter = value;
    } else if (name == "Page") {
      page = parse_size(value, 0);
    } else if (name == "PageSize") {
      page_size = std::clamp<std::size_t>(parse_size(value, page_size), 1,
                                          max_page_size);
    }
  }

  std::vector<const number_state*> matching;
  for (const auto& n : numbers_) {
    if (n.account_sid == account_sid &&
        matches_filter(n.phone_number, filter)) {
      matching.push_back(&n);
    }
  }
  const auto start = std::min(page * page_size, matching.size());
  const auto end = std::min(start + page_size, matching.size());
  json items = json::array();
  for (auto i = start; i < end; ++i) {
    items.push_back(number_json(*matching[i]));
  }

  const auto path = api_prefix + account_sid + "/IncomingPhoneNumbers.json";
  const auto page_uri = [&](std::size_t p) {
    std::string uri = path + "?";
    if (!filter.empty()) {
      uri += "PhoneNumber=" + encode_query_value(filter) + "&";
    }
    return uri + "PageSize=" + std::to_string(page_size) +
           "&Page=" + std::to_string(p);
  };
  return ok({
      {"end", end == start ? start : end - 1},
      {"first_page_uri", page_uri(0)},
      {"incoming_phone_numbers", items},
      {"next_page_uri",
       end < matching.size() ? json(page_uri(page + 1)) : json(nullptr)},
      {"page", page},
      {"page_size", page_size},
      {"previous_page_uri",
       page > 0 ? json(page_uri(page - 1)) : json(nullptr)},
      {"start", start},
      {"uri", page_uri(page)},
  });
}

fake_response fake_state::fetch_number(const std::string& account_sid,
                                       const std::string& number_sid) const {
  std::lock_guard<std::mutex> guard(mutex_);
  for (const auto& n : numbers_) {
    if (n.sid == number_sid && n.account_sid == account_sid) {
      return ok(number_json(n));
    }
  }
  return not_found(api_prefix + account_sid + "/IncomingPhoneNumbers/" +
                   number_sid + ".json");
}

fake_response fake_state::update_number(const std::string& account_sid,
                                        const std::string& number_sid,
                                        const std::string& body) {
  Poco::Net::HTMLForm form;
  form.read(body);
  std::lock_guard<std::mutex> guard(mutex_);
  const auto it = std::find_if(numbers_.begin(), numbers_.end(), [&](auto& n) {
    return n.sid == number_sid && n.account_sid == account_sid;
  });
  if (it == numbers_.end()) {
    return not_found(api_prefix + account_sid + "/IncomingPhoneNumbers/" +
                     number_sid + ".json");
  }
  const std::pair<const char*, std::string*> fields[] = {
      {"FriendlyName", &it->friendly_name},
      {"VoiceUrl", &it->voice_url},
      {"VoiceMethod", &it->voice_method},
      {"VoiceFallbackUrl", &it->voice_fallback_url},
      {"VoiceFallbackMethod", &it->voice_fallback_method},
      {"VoiceApplicationSid", &it->voice_application_sid},
      {"TrunkSid", &it->trunk_sid},
      {"StatusCallback", &it->status_callback},
      {"StatusCallbackMethod", &it->status_callback_method},
  };
  for (const auto& [name, target] : fields) {
    if (form.has(name)) {
      *target = form.get(name);
    }
  }
  return ok(number_json(*it));
}

} // namespace skyiq::testing
