#include "tests/e2e/fixture.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>

namespace skyiq::testing {

namespace {

std::string hex32(int seed, char tag) {
  char buffer[40];
  std::snprintf(buffer, sizeof(buffer), "%c%031x", tag, seed);
  return buffer;
}

} // namespace

storage_backend backend_from_environment() {
  const char* name = std::getenv("SKYIQ_E2E_BACKEND");
  const std::string value = name ? name : "";
  if (value.empty() || value == "sqlite") {
    return storage_backend::sqlite;
  }
  if (value != "postgresql") {
    FAIL("SKYIQ_E2E_BACKEND is '" << value
                                  << "': expected sqlite or postgresql");
  }
  return storage_backend::postgresql;
}

gateway_fixture::gateway_fixture()
  : gateway_fixture(backend_from_environment()) {
}

gateway_fixture::gateway_fixture(storage_backend selected)
  : backend(selected) {
  if (selected == storage_backend::postgresql) {
    postgres = std::make_unique<postgres_database>();
    storage_url = postgres->url();
  } else {
    storage_url = "sqlite:" + dir.path() + "/gateway.db";
  }
}

std::vector<std::string> gateway_fixture::overrides() const {
  return {
    "http.port=0",
    "http.public_base_url=" + public_base_url,
    "storage.url=" + storage_url,
    "security.master_key_file=" + dir.path() + "/master.key",
    "security.argon2_memory_kib=64",
    "security.argon2_iterations=1",
    "twilio.api_base_url=" + twilio.base_url(),
    "twilio.timeout=2s",
    "twilio.retry_backoff=20ms",
    "log.level=debug",
  };
}

void gateway_fixture::start(const std::vector<std::string>& extra) {
  gateway.reset();
  auto all = overrides();
  all.insert(all.end(), extra.begin(), extra.end());
  const auto log = dir.path() + "/gateway-" + std::to_string(restarts_++)
                   + ".log";
  gateway = std::make_unique<gateway_process>(log, all);
}

twilio_account gateway_fixture::add_twilio_account(const std::string& number) {
  ++accounts_;
  twilio_account account;
  account.sid = "AC" + hex32(accounts_, 'a');
  account.token = hex32(accounts_ * 7919, 'f');
  account.number = number;
  account.number_sid = "PN" + hex32(accounts_, 'b');
  twilio.add_account(account.sid, account.token);
  twilio.add_number(account.sid, number, account.number_sid, "Main line");
  return account;
}

session gateway_fixture::signup(const std::string& email,
                                const std::string& password) {
  auto http = client();
  const auto reply = http.post_json(
    "/api/auth/signup",
    json{{"email", email}, {"password", password}}.dump());
  REQUIRE(reply.status == 201);
  const auto body = json::parse(reply.body);
  return {body.at("userId").get<std::string>(),
          body.at("token").get<std::string>()};
}

session gateway_fixture::connect(const std::string& email,
                                 const twilio_account& account) {
  auto s = signup(email);
  auto http = client();
  const auto reply = http.post_json(
    "/api/twilio/setup/" + s.user_id,
    json{{"accountSid", account.sid},
         {"authToken", account.token},
         {"phoneNumber", account.number}}
      .dump(),
    s.token);
  INFO(reply.body);
  REQUIRE(reply.status == 201);
  return s;
}

http_reply gateway_fixture::send_voice(const twilio_account& account,
                                       const std::string& call_sid,
                                       const std::string& from) {
  auto http = client();
  return post_signed(http, "/api/twilio/webhook", public_base_url,
                     account.token,
                     voice_params(account.sid, call_sid, from,
                                  account.number));
}

json gateway_fixture::calls_of(const session& s, const std::string& query) {
  auto http = client();
  const auto reply = http.get("/api/calls/user/" + s.user_id + query,
                              s.token);
  INFO(reply.body);
  REQUIRE(reply.status == 200);
  return json::parse(reply.body);
}

} // namespace skyiq::testing
