#include "config/settings.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using skyiq::config::config_error;
using skyiq::config::load_settings;

TEST_CASE("defaults match the configuration contract") {
  const auto s = load_settings(std::nullopt, false, {}, {});
  CHECK(s.http_host == "127.0.0.1");
  CHECK(s.http_port == 8080);
  CHECK(s.http_public_base_url == "http://127.0.0.1:8080");
  CHECK(s.storage_url == "sqlite:var/gateway.db");
  CHECK(s.security_master_key_file == "var/master.key");
  CHECK(s.security_session_ttl == std::chrono::hours(24));
  CHECK(s.twilio_api_base_url == "https://api.twilio.com");
  CHECK_FALSE(s.twilio_voice_fallback_url.has_value());
  CHECK(s.twilio_timeout == std::chrono::seconds(10));
  CHECK(s.phone_default_region == "US");
}

TEST_CASE("environment names follow the SKYIQ_ prefix rule") {
  CHECK(skyiq::config::environment_name("http.public_base_url") ==
        "SKYIQ_HTTP_PUBLIC_BASE_URL");
}

TEST_CASE("later sources win over earlier ones") {
  const std::string path = "settings_test.ini";
  {
    std::ofstream out(path);
    out << "[http]\nport = 9000\nhost = 0.0.0.0\n";
  }
  const auto s =
      load_settings(path, true, {{"SKYIQ_HTTP_PORT", "9001"}}, {"http.port=0"});
  CHECK(s.http_host == "0.0.0.0");
  CHECK(s.http_port == 0);
  const auto from_env =
      load_settings(path, true, {{"SKYIQ_HTTP_PORT", "9001"}}, {});
  CHECK(from_env.http_port == 9001);
}

TEST_CASE("durations accept units") {
  using skyiq::config::parse_duration;
  CHECK(parse_duration("k", "250ms") == std::chrono::milliseconds(250));
  CHECK(parse_duration("k", "10s") == std::chrono::seconds(10));
  CHECK(parse_duration("k", "5m") == std::chrono::minutes(5));
  CHECK(parse_duration("k", "24h") == std::chrono::hours(24));
  CHECK(parse_duration("k", "3") == std::chrono::seconds(3));
  CHECK_THROWS_AS(parse_duration("k", "ten"), config_error);
  CHECK_THROWS_AS(parse_duration("k", "10 days"), config_error);
}

TEST_CASE("invalid values name the key and the value") {
  try {
    load_settings(std::nullopt, false, {}, {"http.port=70000"});
    FAIL("no exception");
  } catch (const config_error& e) {
    const std::string text = e.what();
    CHECK(text.find("http.port") != std::string::npos);
    CHECK(text.find("70000") != std::string::npos);
  }
}

TEST_CASE("unknown keys and malformed overrides are rejected") {
  CHECK_THROWS_AS(load_settings(std::nullopt, false, {}, {"http.prot=1"}),
                  config_error);
  CHECK_THROWS_AS(load_settings(std::nullopt, false, {}, {"http.port"}),
                  config_error);
  CHECK_THROWS_AS(
      load_settings(std::nullopt, false, {}, {"twilio.api_base_url=ftp://x"}),
      config_error);
  CHECK_THROWS_AS(
      load_settings(std::nullopt, false, {}, {"phone.default_region=usa"}),
      config_error);
}

TEST_CASE("a named configuration file must exist") {
  CHECK_THROWS_AS(load_settings(std::string("no-such.ini"), true, {}, {}),
                  config_error);
  CHECK_NOTHROW(load_settings(std::string("no-such.ini"), false, {}, {}));
}

TEST_CASE("abuse limits have defaults and bounds") {
  const auto s = load_settings(std::nullopt, false, {}, {});
  CHECK(s.http_read_timeout == std::chrono::seconds(10));
  CHECK(s.http_max_header_fields == 100);
  CHECK(s.http_max_header_bytes == 16384);
  CHECK(s.security_login_max_failures == 5);
  CHECK(s.security_login_max_failures_per_email == 100);
  CHECK(s.security_login_max_failures_per_address == 50);

  const auto set = load_settings(
    std::nullopt, false, {},
    {"http.read_timeout=250ms", "http.max_header_fields=20",
     "http.max_header_bytes=4096"});
  CHECK(set.http_read_timeout == std::chrono::milliseconds(250));
  CHECK(set.http_max_header_fields == 20);
  CHECK(set.http_max_header_bytes == 4096);

  // A read timeout of 0 would cut off every client.
  try {
    load_settings(std::nullopt, false, {}, {"http.read_timeout=0s"});
    FAIL("no exception");
  } catch (const config_error& e) {
    const std::string text = e.what();
    CHECK(text.find("http.read_timeout") != std::string::npos);
    CHECK(text.find("at least 100ms") != std::string::npos);
  }
  // Poco rejects a request with more than 100 fields before any handler
  // runs, so a higher limit could never apply.
  CHECK_THROWS_AS(
    load_settings(std::nullopt, false, {}, {"http.max_header_fields=101"}),
    config_error);
  CHECK_THROWS_AS(
    load_settings(std::nullopt, false, {}, {"http.max_header_bytes=100"}),
    config_error);
}

TEST_CASE("actors.scheduler accepts sharing and stealing") {
  CHECK(load_settings(std::nullopt, false, {}, {}).actors_scheduler ==
        "sharing");
  CHECK(load_settings(std::nullopt, false, {}, {"actors.scheduler=stealing"})
            .actors_scheduler == "stealing");
  CHECK_THROWS_AS(
      load_settings(std::nullopt, false, {}, {"actors.scheduler=fifo"}),
      config_error);
}
