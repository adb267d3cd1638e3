// REST client error mapping, retries and timeouts against the fake Twilio
// server, and base URL checks.

#include "tests/actors/twilio/rest_fixture.hpp"

#include <Poco/Net/ServerSocket.h>

using namespace skyiq::twilio;
using namespace skyiq::twilio::test;
using skyiq::errc;

namespace {

std::string message(const caf::error& error) {
  return skyiq::message_of(error);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Returns a loopback port that nothing listens on.
std::uint16_t closed_port() {
  Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
  const auto port = socket.address().port();
  socket.close();
  return port;
}

caf::expected<rest_client> make_with_base(const std::string& base_url) {
  rest_options options;
  options.base_url = base_url;
  return rest_client::make(options);
}

} // namespace

TEST_CASE_METHOD(rest_fixture, "wrong auth token is invalid credentials") {
  auto twilio = client();
  const credentials wrong{account_a, "not-the-token"};
  const auto checked = twilio.check_account(wrong);
  REQUIRE_FALSE(checked);
  CHECK(skyiq::code_of(checked.error()) == errc::invalid_twilio_credentials);
  CHECK(contains(message(checked.error()), account_a));
  CHECK(contains(message(checked.error()), "code 20003"));
  CHECK_FALSE(contains(message(checked.error()), "not-the-token"));
  CHECK(errors->snapshot() == std::vector<std::pair<int, int>>{{401, 20003}});
}

TEST_CASE_METHOD(rest_fixture, "another account's path is rejected") {
  auto twilio = client();
  // Valid credentials of account B used for account A's resources.
  const credentials mixed{account_a, token_b};
  const auto checked = twilio.check_account(mixed);
  REQUIRE_FALSE(checked);
  CHECK(skyiq::code_of(checked.error()) == errc::invalid_twilio_credentials);
  const auto found = twilio.find_numbers(mixed, std::nullopt);
  REQUIRE_FALSE(found);
  CHECK(skyiq::code_of(found.error()) == errc::invalid_twilio_credentials);
  CHECK_FALSE(contains(message(found.error()), token_b));
}

TEST_CASE_METHOD(rest_fixture, "404 on account fetch is invalid") {
  fake.inject(make_fault("GET", account_a + ".json", 404));
  auto twilio = client();
  const auto checked = twilio.check_account(creds_a);
  REQUIRE_FALSE(checked);
  CHECK(skyiq::code_of(checked.error()) == errc::invalid_twilio_credentials);
}

TEST_CASE_METHOD(rest_fixture, "malformed Account SID sends no request") {
  auto twilio = client();
  for (const auto* sid : {"", "AC123", "XX0123456789abcdef0123456789abcdef",
                          "AC0123456789abcdef0123456789abcdeg",
                          "AC0123456789abcdef0123456789abcdef/../x"}) {
    INFO(sid);
    const auto checked = twilio.check_account({sid, token_a});
    REQUIRE_FALSE(checked);
    CHECK(skyiq::code_of(checked.error()) == errc::invalid_account_sid);
  }
  CHECK(fake.requests().empty());
}

TEST_CASE_METHOD(rest_fixture, "empty auth token sends no request") {
  auto twilio = client();
  const auto checked = twilio.check_account({account_a, ""});
  REQUIRE_FALSE(checked);
  CHECK(skyiq::code_of(checked.error()) == errc::invalid_twilio_credentials);
  CHECK(fake.requests().empty());
}

TEST_CASE_METHOD(rest_fixture, "non-E.164 search filter sends no request") {
  auto twilio = client();
  const auto found = twilio.find_numbers(creds_a, "4155550123");
  REQUIRE_FALSE(found);
  CHECK(skyiq::code_of(found.error()) == errc::invalid_phone_number);
  CHECK(fake.requests().empty());
}

TEST_CASE_METHOD(rest_fixture, "unknown number SID is not in the account") {
  fake.add_number(account_b, "+14155550123", number_sid(1));
  auto twilio = client();
  webhook_config config{"https://gw.example/v", "https://gw.example/s",
                        std::nullopt, false};
  const auto updated = twilio.configure_number(creds_a, number_sid(1), config);
  REQUIRE_FALSE(updated);
  CHECK(skyiq::code_of(updated.error()) == errc::number_not_in_twilio_account);
  const auto state = fake.number(number_sid(1));
  REQUIRE(state);
  CHECK(state->voice_url.empty());
}

TEST_CASE_METHOD(rest_fixture, "malformed number SID sends no request") {
  auto twilio = client();
  webhook_config config{"https://gw.example/v", "https://gw.example/s",
                        std::nullopt, false};
  const auto updated = twilio.configure_number(creds_a, "PN1/../x", config);
  REQUIRE_FALSE(updated);
  CHECK(skyiq::code_of(updated.error()) == errc::invalid_request);
  CHECK(fake.requests().empty());
}

TEST_CASE_METHOD(rest_fixture, "429 waits for Retry-After") {
  auto throttled = make_fault("GET", ".json", 429);
  throttled.retry_after_seconds = 1;
  fake.inject(throttled);
  auto twilio = client();

  caf::expected<void> checked;
  const auto took =
      elapsed_ms([&] { checked = twilio.check_account(creds_a); });
  CHECK(checked);
  CHECK(took >= 1000);
  CHECK(took < 2500);
  CHECK(fake.requests().size() == 2);
  CHECK(errors->snapshot() == std::vector<std::pair<int, int>>{{429, 20429}});
}

TEST_CASE_METHOD(rest_fixture, "Retry-After beyond the timeout fails fast") {
  auto throttled = make_fault("GET", ".json", 429);
  throttled.retry_after_seconds = 60;
  fake.inject(throttled);
  auto twilio = client();

  caf::expected<void> checked;
  const auto took =
      elapsed_ms([&] { checked = twilio.check_account(creds_a); });
  REQUIRE_FALSE(checked);
  CHECK(skyiq::code_of(checked.error()) == errc::twilio_unavailable);
  CHECK(contains(message(checked.error()), "HTTP 429"));
  CHECK(took < 1000);
}

TEST_CASE_METHOD(rest_fixture, "persistent 500 is twilio_unavailable") {
  auto opts = options();
  fake.inject(
      make_fault("GET", "IncomingPhoneNumbers", 500, opts.max_retries + 1));
  auto twilio = client(opts);

  const auto found = twilio.find_numbers(creds_a, std::nullopt);
  REQUIRE_FALSE(found);
  CHECK(skyiq::code_of(found.error()) == errc::twilio_unavailable);
  const auto text = message(found.error());
  CHECK(contains(text, "HTTP 500"));
  CHECK(contains(text, "code 20500"));
  CHECK(contains(text, "Internal Server Error"));
  CHECK(contains(text, "3 attempts"));
  CHECK_FALSE(contains(text, token_a));
  CHECK(fake.requests().size() == 3);
  CHECK(errors->snapshot().size() == 3);

  // The fault is used up, so the next request succeeds.
  CHECK(twilio.find_numbers(creds_a, std::nullopt));
}

TEST_CASE_METHOD(rest_fixture, "one 503 is retried") {
  fake.inject(make_fault("", "", 503));
  auto twilio = client();
  CHECK(twilio.check_account(creds_a));
  CHECK(fake.requests().size() == 2);
}

TEST_CASE_METHOD(rest_fixture, "retries back off exponentially") {
  auto opts = options();
  opts.max_retries = 3;
  opts.retry_backoff = std::chrono::milliseconds(100);
  fake.inject(make_fault("GET", "", 500, 3));
  auto twilio = client(opts);

  // Waits of 100, 200 and 400 ms come before the fourth attempt.
  caf::expected<void> checked;
  const auto took =
      elapsed_ms([&] { checked = twilio.check_account(creds_a); });
  CHECK(checked);
  CHECK(took >= 700);
  CHECK(took < 2000);
  CHECK(fake.requests().size() == 4);
}

TEST_CASE_METHOD(rest_fixture, "hang past the timeout is twilio_timeout") {
  auto opts = options();
  opts.timeout = std::chrono::milliseconds(500);
  auto hang = make_fault("GET", "", 0);
  hang.delay = std::chrono::milliseconds(5000);
  fake.inject(hang);
  auto twilio = client(opts);

  caf::expected<void> checked;
  const auto took =
      elapsed_ms([&] { checked = twilio.check_account(creds_a); });
  REQUIRE_FALSE(checked);
  CHECK(skyiq::code_of(checked.error()) == errc::twilio_timeout);
  CHECK(contains(message(checked.error()), "500 ms"));
  CHECK(took >= 450);
  CHECK(took < 900);
  CHECK(fake.requests().size() == 1);
}

TEST_CASE_METHOD(rest_fixture, "slow response within timeout succeeds") {
  auto slow = make_fault("GET", "", 0);
  slow.delay = std::chrono::milliseconds(200);
  fake.inject(slow);
  auto twilio = client();
  CHECK(twilio.check_account(creds_a));
  CHECK(fake.requests().size() == 1);
}

TEST_CASE_METHOD(rest_fixture, "dropped connection is retried") {
  auto dropped = make_fault("GET", "", 0);
  dropped.drop_connection = true;
  fake.inject(dropped);
  auto twilio = client();
  CHECK(twilio.check_account(creds_a));
  CHECK(fake.requests().size() == 2);
  const auto calls = errors->snapshot();
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].first == 0);
}

TEST_CASE_METHOD(rest_fixture, "dropped POST is retried") {
  fake.add_number(account_a, "+14155550123", number_sid(1));
  auto dropped = make_fault("POST", "", 0);
  dropped.drop_connection = true;
  fake.inject(dropped);
  auto twilio = client();
  webhook_config config{"https://gw.example/v", "https://gw.example/s",
                        std::nullopt, false};
  const auto updated = twilio.configure_number(creds_a, number_sid(1), config);
  REQUIRE(updated);
  CHECK(updated->voice_url == "https://gw.example/v");
  CHECK(fake.requests().size() == 2);
}

TEST_CASE_METHOD(rest_fixture, "truncated body is retried") {
  auto truncated = make_fault("GET", "", 0);
  truncated.truncate_body = true;
  fake.inject(truncated);
  auto twilio = client();
  CHECK(twilio.check_account(creds_a));
  CHECK(fake.requests().size() == 2);
}

TEST_CASE_METHOD(rest_fixture, "always dropped connection is unavailable") {
  auto opts = options();
  auto dropped = make_fault("GET", "", 0, opts.max_retries + 1);
  dropped.drop_connection = true;
  fake.inject(dropped);
  auto twilio = client(opts);
  const auto checked = twilio.check_account(creds_a);
  REQUIRE_FALSE(checked);
  CHECK(skyiq::code_of(checked.error()) == errc::twilio_unavailable);
  CHECK(contains(message(checked.error()), "no response"));
}

TEST_CASE("refused connection is twilio_unavailable") {
  rest_options options;
  options.base_url = "http://127.0.0.1:" + std::to_string(closed_port());
  options.max_retries = 2;
  options.retry_backoff = std::chrono::milliseconds(10);
  int failures = 0;
  options.on_error = [&failures](int status, int) {
    failures += status == 0 ? 1 : 100;
  };
  auto client = rest_client::make(options);
  REQUIRE(client);
  const auto checked = client->check_account({account_a, token_a});
  REQUIRE_FALSE(checked);
  CHECK(skyiq::code_of(checked.error()) == errc::twilio_unavailable);
  CHECK(failures == 3);
}

TEST_CASE_METHOD(rest_fixture, "malformed JSON is twilio_unavailable") {
  auto garbage = make_fault("GET", "", 200);
  garbage.body = "<html>not json</html>";
  fake.inject(garbage);
  auto twilio = client();
  const auto checked = twilio.check_account(creds_a);
  REQUIRE_FALSE(checked);
  CHECK(skyiq::code_of(checked.error()) == errc::twilio_unavailable);
  CHECK(contains(message(checked.error()), "malformed Account"));
}

TEST_CASE_METHOD(rest_fixture, "wrong field type is twilio_unavailable") {
  auto wrong = make_fault("GET", "IncomingPhoneNumbers", 200);
  wrong.body = R"({"incoming_phone_numbers": [{"sid": 5,
    "phone_number": "+14155550123"}], "next_page_uri": null})";
  fake.inject(wrong);
  auto twilio = client();
  const auto found = twilio.find_numbers(creds_a, std::nullopt);
  REQUIRE_FALSE(found);
  CHECK(skyiq::code_of(found.error()) == errc::twilio_unavailable);
}

TEST_CASE_METHOD(rest_fixture, "foreign next_page_uri is not followed") {
  auto hostile = make_fault("GET", "IncomingPhoneNumbers", 200);
  hostile.body = R"({"incoming_phone_numbers": [],
    "next_page_uri": "//evil.example/2010-04-01/Accounts/x.json"})";
  fake.inject(hostile);
  auto twilio = client();
  const auto found = twilio.find_numbers(creds_a, std::nullopt);
  REQUIRE_FALSE(found);
  CHECK(skyiq::code_of(found.error()) == errc::twilio_unavailable);
  CHECK(fake.requests().size() == 1);
}

TEST_CASE_METHOD(rest_fixture, "next_page_uri beyond the list is rejected") {
  const auto list =
      "/2010-04-01/Accounts/" + account_a + "/IncomingPhoneNumbers.json";
  auto sideways = make_fault("GET", "IncomingPhoneNumbers", 200);
  sideways.body = R"({"incoming_phone_numbers": [], "next_page_uri": ")" +
                  list + R"(/../../../Accounts.json"})";
  fake.inject(sideways);
  auto twilio = client();
  const auto found = twilio.find_numbers(creds_a, std::nullopt);
  REQUIRE_FALSE(found);
  CHECK(skyiq::code_of(found.error()) == errc::twilio_unavailable);
  CHECK(fake.requests().size() == 1);
}

TEST_CASE_METHOD(rest_fixture, "endless pagination stops at 100 pages") {
  const auto list =
      "/2010-04-01/Accounts/" + account_a + "/IncomingPhoneNumbers.json";
  auto loop = make_fault("GET", "IncomingPhoneNumbers", 200, 150);
  loop.body = R"({"incoming_phone_numbers": [], "next_page_uri": ")" + list +
              R"(?Page=1"})";
  fake.inject(loop);
  auto twilio = client();
  const auto found = twilio.find_numbers(creds_a, std::nullopt);
  REQUIRE_FALSE(found);
  CHECK(skyiq::code_of(found.error()) == errc::twilio_unavailable);
  CHECK(contains(message(found.error()), "100 pages"));
  CHECK(fake.requests().size() == 100);
}

TEST_CASE_METHOD(rest_fixture, "400 from Twilio carries its message") {
  fake.add_number(account_a, "+14155550123", number_sid(1));
  auto invalid = make_fault("POST", "", 400);
  invalid.body = R"({"code": 21502, "message": "Invalid Url",
    "more_info": "https://www.twilio.com/docs/errors/21502",
    "status": 400})";
  fake.inject(invalid);
  auto twilio = client();
  webhook_config config{"https://gw.example/v", "https://gw.example/s",
                        std::nullopt, false};
  const auto updated = twilio.configure_number(creds_a, number_sid(1), config);
  REQUIRE_FALSE(updated);
  CHECK(skyiq::code_of(updated.error()) == errc::twilio_unavailable);
  CHECK(contains(message(updated.error()), "code 21502"));
  CHECK(contains(message(updated.error()), "Invalid Url"));
  CHECK(fake.requests().size() == 1);
}

TEST_CASE("plain http only for loopback") {
  CHECK(make_with_base("http://127.0.0.1:8080"));
  CHECK(make_with_base("http://localhost:8080/"));
  CHECK(make_with_base("http://[::1]:8080"));
  CHECK(make_with_base("https://api.twilio.com"));
  for (const auto* url :
       {"http://api.twilio.com", "http://10.0.0.1:8080",
        "http://127.0.0.1.evil.example", "http://localhost.evil.example:80"}) {
    INFO(url);
    const auto client = make_with_base(url);
    REQUIRE_FALSE(client);
    CHECK(skyiq::code_of(client.error()) == errc::invalid_request);
    CHECK(contains(message(client.error()), "https"));
  }
}

TEST_CASE("malformed base URLs are rejected") {
  for (const auto* url :
       {"", "api.twilio.com", "ftp://api.twilio.com",
        "https://user:secret@api.twilio.com", "https://api.twilio.com/?a=1",
        "https://api.twilio.com/#x", "http://user:secret@10.0.0.1"}) {
    INFO(url);
    const auto client = make_with_base(url);
    REQUIRE_FALSE(client);
    CHECK(skyiq::code_of(client.error()) == errc::invalid_request);
    CHECK_FALSE(contains(message(client.error()), "secret@"));
  }
}

TEST_CASE("non-positive timeouts are rejected") {
  rest_options options;
  options.base_url = "https://api.twilio.com";
  options.timeout = std::chrono::milliseconds(0);
  CHECK_FALSE(rest_client::make(options));
  options.timeout = std::chrono::milliseconds(1000);
  options.max_retries = -1;
  CHECK_FALSE(rest_client::make(options));
}
