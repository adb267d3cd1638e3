#include "config/settings.hpp"

#include "config/cluster_settings.hpp"

#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/Util/IniFileConfiguration.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <limits>

namespace skyiq::config {

namespace {

using setter = std::function<void(settings&, const std::string& key,
                                  const std::string& value)>;

[[noreturn]] void reject(const std::string& key, const std::string& value,
                         const std::string& expected) {
  throw config_error("invalid value '" + value + "' for configuration key '" +
                     key + "': expected " + expected);
}

std::uint64_t parse_unsigned(const std::string& key, const std::string& text,
                             std::uint64_t min, std::uint64_t max) {
  const std::string expected =
      "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  if (text.empty() || !std::all_of(text.begin(), text.end(), ::isdigit)) {
    reject(key, text, expected);
  }
  if (text.size() > 19) {
    reject(key, text, expected);
  }
  const auto value = std::stoull(text);
  if (value < min || value > max) {
    reject(key, text, expected);
  }
  return value;
}

template <class T>
setter unsigned_field(T settings::*field, std::uint64_t min,
                      std::uint64_t max) {
  return [=](settings& s, const std::string& key, const std::string& value) {
    s.*field = static_cast<T>(parse_unsigned(key, value, min, max));
  };
}

setter rate_field(double settings::*field) {
  return [=](settings& s, const std::string& key, const std::string& value) {
    s.*field = static_cast<double>(parse_unsigned(key, value, 0, 1000000));
  };
}

setter string_field(std::string settings::*field, bool allow_empty) {
  return [=](settings& s, const std::string& key, const std::string& value) {
    if (!allow_empty && value.empty()) {
      reject(key, value, "a non-empty string");
    }
    s.*field = value;
  };
}

setter url_field(std::string settings::*field) {
  return [=](settings& s, const std::string& key, const std::string& value) {
    const bool http = value.rfind("http://", 0) == 0;
    const bool https = value.rfind("https://", 0) == 0;
    if (!http && !https) {
      reject(key, value, "an http:// or https:// URL");
    }
    auto trimmed = value;
    while (trimmed.size() > 8 && trimmed.back() == '/') {
      trimmed.pop_back();
    }
    s.*field = trimmed;
  };
}

template <class Duration>
setter duration_field(Duration settings::*field) {
  return [=](settings& s, const std::string& key, const std::string& value) {
    s.*field = std::chrono::duration_cast<Duration>(parse_duration(key, value));
  };
}

// A duration of at least `least`, for timeouts where 0 would refuse every
// request.
setter positive_duration_field(std::chrono::milliseconds settings::*field,
                               std::chrono::milliseconds least) {
  return [=](settings& s, const std::string& key, const std::string& value) {
    auto parsed = parse_duration(key, value);
    if (parsed < least) {
      reject(key, value,
             "a duration of at least " + std::to_string(least.count())
               + "ms, such as 10s");
    }
    s.*field = parsed;
  };
}

const std::map<std::string, setter>& setters() {
  static const std::map<std::string, setter> table = {
      {"http.host", string_field(&settings::http_host, false)},
      {"http.port", unsigned_field(&settings::http_port, 0, 65535)},
      {"http.public_base_url", url_field(&settings::http_public_base_url)},
      {"http.threads", unsigned_field(&settings::http_threads, 1, 4096)},
      {"http.max_queued", unsigned_field(&settings::http_max_queued, 1, 65536)},
      {"http.max_body_bytes",
       unsigned_field(&settings::http_max_body_bytes, 1024, 16 << 20)},
      {"http.max_webhook_bytes",
       unsigned_field(&settings::http_max_webhook_bytes, 1024, 16 << 20)},
      {"http.idle_timeout", duration_field(&settings::http_idle_timeout)},
      {"http.read_timeout",
       positive_duration_field(&settings::http_read_timeout,
                               std::chrono::milliseconds(100))},
      {"http.max_header_fields",
       unsigned_field(&settings::http_max_header_fields, 1, 100)},
      {"http.max_header_bytes",
       unsigned_field(&settings::http_max_header_bytes, 1024, 1 << 20)},
      {"http.max_keep_alive_requests",
       unsigned_field(&settings::http_max_keep_alive_requests, 1, 1000000)},
      {"http.request_timeout", duration_field(&settings::http_request_timeout)},
      {"http.account_rate", rate_field(&settings::http_account_rate)},
      {"http.account_burst", rate_field(&settings::http_account_burst)},
      {"storage.url", string_field(&settings::storage_url, false)},
      {"storage.pool_size",
       unsigned_field(&settings::storage_pool_size, 1, 256)},
      {"storage.max_batch",
       unsigned_field(&settings::storage_max_batch, 1, 100000)},
      {"storage.timeout", duration_field(&settings::storage_timeout)},
      {"security.master_key_file",
       string_field(&settings::security_master_key_file, false)},
      {"security.session_ttl", duration_field(&settings::security_session_ttl)},
      {"security.argon2_memory_kib",
       unsigned_field(&settings::security_argon2_memory_kib, 8, 4u << 20)},
      {"security.argon2_iterations",
       unsigned_field(&settings::security_argon2_iterations, 1, 100)},
      {"security.argon2_parallelism",
       unsigned_field(&settings::security_argon2_parallelism, 1, 64)},
      {"security.login_max_failures",
       unsigned_field(&settings::security_login_max_failures, 0, 1000000)},
      {"security.login_max_failures_per_email",
       unsigned_field(&settings::security_login_max_failures_per_email, 0,
                      1000000)},
      {"security.login_max_failures_per_address",
       unsigned_field(&settings::security_login_max_failures_per_address, 0,
                      1000000)},
      {"security.login_failure_window",
       duration_field(&settings::security_login_failure_window)},
      {"twilio.api_base_url", url_field(&settings::twilio_api_base_url)},
      {"twilio.voice_fallback_url",
       [](settings& s, const std::string& key, const std::string& value) {
         if (value.empty()) {
           s.twilio_voice_fallback_url.reset();
           return;
         }
         if (value.rfind("https://", 0) != 0 &&
             value.rfind("http://", 0) != 0) {
           reject(key, value, "an http:// or https:// URL, or empty for none");
         }
         s.twilio_voice_fallback_url = value;
       }},
      {"twilio.timeout", duration_field(&settings::twilio_timeout)},
      {"twilio.connect_timeout",
       duration_field(&settings::twilio_connect_timeout)},
      {"twilio.max_retries",
       unsigned_field(&settings::twilio_max_retries, 0, 10)},
      {"twilio.retry_backoff", duration_field(&settings::twilio_retry_backoff)},
      {"twilio.ca_file", string_field(&settings::twilio_ca_file, true)},
      {"phone.default_region",
       [](settings& s, const std::string& key, const std::string& value) {
         const bool ok = value.size() == 2 && std::isupper(value[0]) &&
                         std::isupper(value[1]);
         if (!ok) {
           reject(key, value, "a two-letter upper-case region code such as US");
         }
         s.phone_default_region = value;
       }},
      {"actors.idle_timeout", duration_field(&settings::actors_idle_timeout)},
      {"actors.io_workers",
       unsigned_field(&settings::actors_io_workers, 1, 256)},
      {"actors.scheduler",
       [](settings& s, const std::string& key, const std::string& value) {
         if (value != "sharing" && value != "stealing") {
           reject(key, value, "sharing or stealing");
         }
         s.actors_scheduler = value;
       }},
      {"log.level",
       [](settings& s, const std::string& key, const std::string& value) {
         static const std::vector<std::string> levels = {
             "fatal",  "critical",    "error", "warning",
             "notice", "information", "debug", "trace"};
         if (std::find(levels.begin(), levels.end(), value) == levels.end()) {
           reject(key, value,
                  "one of fatal, critical, error, warning, "
                  "notice, information, debug, trace");
         }
         s.log_level = value;
       }},
      {"cluster.node_name", cluster_keys::set_node_name},
      {"cluster.listen", cluster_keys::set_listen},
      {"cluster.peers", cluster_keys::set_peers},
      {"cluster.lease_ttl", cluster_keys::set_lease_ttl},
      {"cluster.heartbeat_interval", cluster_keys::set_heartbeat_interval},
      {"cluster.tls", cluster_keys::set_tls},
      {"cluster.tls_cert_file", cluster_keys::set_tls_cert_file},
      {"cluster.tls_key_file", cluster_keys::set_tls_key_file},
      {"cluster.tls_ca_file", cluster_keys::set_tls_ca_file},
  };
  return table;
}

void apply(settings& s, const std::string& key, const std::string& value) {
  const auto& table = setters();
  const auto it = table.find(key);
  if (it == table.end()) {
    throw config_error("unknown configuration key '" + key +
                       "': see the configuration table in README.md");
  }
  it->second(s, key, value);
}

void apply_ini(settings& s, const std::string& path) {
  Poco::AutoPtr<Poco::Util::IniFileConfiguration> ini;
  try {
    ini = new Poco::Util::IniFileConfiguration(path);
  } catch (const Poco::Exception& e) {
    throw config_error("cannot read configuration file '" + path +
                       "': " + e.displayText());
  }
  Poco::Util::AbstractConfiguration::Keys sections;
  ini->keys(sections);
  for (const auto& section : sections) {
    Poco::Util::AbstractConfiguration::Keys names;
    ini->keys(section, names);
    for (const auto& name : names) {
      const auto key = section + "." + name;
      apply(s, key, ini->getRawString(key));
    }
  }
}

} // namespace

std::string environment_name(const std::string& key) {
  std::string name = "SKYIQ_";
  for (char c : key) {
    name.push_back(c == '.' ? '_' : static_cast<char>(std::toupper(c)));
  }
  return name;
}

std::chrono::milliseconds parse_duration(const std::string& key,
                                         const std::string& text) {
  const std::string expected =
      "a duration such as 250ms, 10s, 5m or 24h (a bare number is seconds)";
  std::size_t digits = 0;
  while (digits < text.size() &&
         std::isdigit(static_cast<unsigned char>(text[digits]))) {
    ++digits;
  }
  if (digits == 0 || digits > 12) {
    reject(key, text, expected);
  }
  const auto amount = std::stoll(text.substr(0, digits));
  const auto unit = text.substr(digits);
  using namespace std::chrono;
  if (unit == "ms") {
    return milliseconds(amount);
  }
  if (unit == "s" || unit.empty()) {
    return seconds(amount);
  }
  if (unit == "m") {
    return minutes(amount);
  }
  if (unit == "h") {
    return hours(amount);
  }
  reject(key, text, expected);
}

std::vector<std::string> known_keys() {
  std::vector<std::string> keys;
  for (const auto& [key, _] : setters()) {
    keys.push_back(key);
  }
  return keys;
}

settings load_settings(const std::optional<std::string>& ini_file,
                       bool ini_file_required,
                       const std::map<std::string, std::string>& environment,
                       const std::vector<std::string>& overrides) {
  settings result;
  if (ini_file) {
    if (Poco::File(*ini_file).exists()) {
      apply_ini(result, *ini_file);
    } else if (ini_file_required) {
      throw config_error("configuration file '" + *ini_file +
                         "' does not exist: check the --config path");
    }
  }
  for (const auto& key : known_keys()) {
    const auto it = environment.find(environment_name(key));
    if (it != environment.end()) {
      apply(result, key, it->second);
    }
  }
  for (const auto& item : overrides) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw config_error("invalid --set argument '" + item +
                         "': expected key=value, for example "
                         "--set http.port=0");
    }
    apply(result, item.substr(0, eq), item.substr(eq + 1));
  }
  cluster_keys::check(result);
  return result;
}

} // namespace skyiq::config
