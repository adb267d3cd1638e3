// End-to-end: Twilio setup and the numbers list against a fake Twilio that
// fails in each way the gateway must handle. A failed setup must leave
// nothing half done: no stored credentials, no claimed number and, when it
// failed before the update, the number's configuration at Twilio unchanged.

#include "tests/e2e/contract_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>

using namespace skyiq::testing;

namespace {

using std::chrono::steady_clock;

const std::string old_voice_url = "https://customer.example.com/voice";

std::string account_path(const twilio_account& account) {
  return "/Accounts/" + account.sid + ".json";
}

std::size_t requests_to(const fake_twilio& twilio, const std::string& method,
                        const std::string& path_contains) {
  const auto all = twilio.requests();
  return static_cast<std::size_t>(
      std::count_if(all.begin(), all.end(), [&](const recorded_request& r) {
        return r.method == method &&
               r.target.find(path_contains) != std::string::npos;
      }));
}

std::string voice_url_of(const fake_twilio& twilio, const std::string& sid) {
  const auto state = twilio.number(sid);
  REQUIRE(state.has_value());
  return state->voice_url;
}

// A Twilio account whose number already has the customer's own VoiceUrl.
twilio_account configured_account(gateway_fixture& fx,
                                  const std::string& number) {
  auto account = fx.add_twilio_account(number);
  set_voice_url(fx.twilio, account, account.number_sid, old_voice_url);
  fx.twilio.clear_requests();
  return account;
}

// Checks that a second Sky IQ account can still connect `account`'s number.
void check_connectable(gateway_fixture& fx, const std::string& email,
                       const twilio_account& account) {
  const auto other = fx.signup(email);
  const auto reply = post_setup(fx, other, setup_body(account));
  INFO("setup by " << email << ": " << reply.body);
  CHECK(reply.status == 201);
}

} // namespace

TEST_CASE("wrong auth token is 422 and changes nothing") {
  gateway_fixture fx;
  fx.start();
  const auto twilio = configured_account(fx, "+14155550301");
  const auto user = fx.signup("token@example.com");

  const auto reply = post_setup(
      fx, user, setup_body(twilio.sid, std::string(32, '0'), twilio.number));
  INFO(reply.body);
  CHECK(reply.status == 422);
  CHECK(error_code(reply) == "invalid_twilio_credentials");
  CHECK(reply.body.find(std::string(32, '0')) == std::string::npos);

  CHECK(voice_url_of(fx.twilio, twilio.number_sid) == old_voice_url);
  check_no_credentials(fx, user);
  check_unclaimed(fx, twilio, twilio.number);
  check_connectable(fx, "token2@example.com", twilio);
}

TEST_CASE("suspended Twilio account is 422 twilio_account_inactive") {
  gateway_fixture fx;
  fx.start();
  const auto twilio = configured_account(fx, "+14155550302");
  fx.twilio.set_account_status(twilio.sid, "suspended");
  const auto user = fx.signup("suspended@example.com");

  const auto reply = post_setup(fx, user, setup_body(twilio));
  INFO(reply.body);
  CHECK(reply.status == 422);
  CHECK(error_code(reply) == "twilio_account_inactive");
  CHECK(error_message(reply).find("suspended") != std::string::npos);

  CHECK(voice_url_of(fx.twilio, twilio.number_sid) == old_voice_url);
  check_no_credentials(fx, user);
  check_unclaimed(fx, twilio, twilio.number);
  fx.twilio.set_account_status(twilio.sid, "active");
  check_connectable(fx, "suspended2@example.com", twilio);
}

TEST_CASE("number outside the Twilio account is 422") {
  gateway_fixture fx;
  fx.start();
  const auto own = configured_account(fx, "+14155550303");
  const auto foreign = configured_account(fx, "+14155550304");
  const auto user = fx.signup("outside@example.com");

  const auto absent =
      post_setup(fx, user, setup_body(own.sid, own.token, "+14155550399"));
  INFO(absent.body);
  CHECK(absent.status == 422);
  CHECK(error_code(absent) == "number_not_in_twilio_account");
  CHECK(error_message(absent).find("+14155550399") != std::string::npos);

  const auto elsewhere =
      post_setup(fx, user, setup_body(own.sid, own.token, foreign.number));
  INFO(elsewhere.body);
  CHECK(elsewhere.status == 422);
  CHECK(error_code(elsewhere) == "number_not_in_twilio_account");
  CHECK(error_message(elsewhere).find(foreign.number) != std::string::npos);

  CHECK(voice_url_of(fx.twilio, foreign.number_sid) == old_voice_url);
  CHECK(voice_url_of(fx.twilio, own.number_sid) == old_voice_url);
  check_no_credentials(fx, user);
  check_unclaimed(fx, foreign, foreign.number);
  check_connectable(fx, "foreign@example.com", foreign);
}

TEST_CASE("partial PhoneNumber matches connect only the exact number") {
  gateway_fixture fx;
  fx.start();
  // Both are possible German numbers, and Twilio's substring filter for
  // the shorter one also returns the longer one, which the fake lists
  // first.
  const std::string shorter = "+4930123456";
  const std::string longer = "+49301234567";
  auto twilio = fx.add_twilio_account(longer);
  const auto longer_sid = twilio.number_sid;
  const auto shorter_sid = number_sid(1);
  fx.twilio.add_number(twilio.sid, shorter, shorter_sid);
  set_voice_url(fx.twilio, twilio, longer_sid, old_voice_url);
  const auto user = fx.signup("partial@example.com");

  const auto reply =
      post_setup(fx, user, setup_body(twilio.sid, twilio.token, shorter));
  INFO(reply.body);
  REQUIRE(reply.status == 201);
  const auto body = json::parse(reply.body);
  CHECK(body["phoneNumber"] == shorter);
  CHECK(body["phoneNumberSid"] == shorter_sid);
  CHECK(voice_url_of(fx.twilio, shorter_sid) ==
        public_base_url + "/api/twilio/webhook");
  CHECK(voice_url_of(fx.twilio, longer_sid) == old_voice_url);

  const auto listed = json::parse(post_numbers(fx, user).body);
  CHECK(find_number(listed, shorter)["claimedByYou"] == true);
  CHECK(find_number(listed, longer)["claimedByYou"] == false);
  check_unclaimed(fx, twilio, longer);
}

TEST_CASE("number on a SIP trunk is 409 and keeps the trunk") {
  gateway_fixture fx;
  fx.start();
  auto twilio = fx.add_twilio_account("+14155550305");
  const auto trunked = number_sid(2);
  const std::string trunk_sid = "TK" + std::string(32, 'a');
  fx.twilio.add_number(twilio.sid, "+14155550306", trunked, "Trunk line", "",
                       trunk_sid);
  set_voice_url(fx.twilio, twilio, trunked, old_voice_url);
  fx.twilio.clear_requests();
  const auto user = fx.signup("trunk@example.com");

  const auto reply = post_setup(
      fx, user, setup_body(twilio.sid, twilio.token, "+14155550306"));
  INFO(reply.body);
  CHECK(reply.status == 409);
  CHECK(error_code(reply) == "number_on_trunk");
  CHECK(error_message(reply).find("+14155550306") != std::string::npos);

  const auto state = fx.twilio.number(trunked);
  REQUIRE(state.has_value());
  CHECK(state->trunk_sid == trunk_sid);
  CHECK(state->voice_url == old_voice_url);
  CHECK(requests_to(fx.twilio, "POST", trunked) == 0);
  check_no_credentials(fx, user);
  check_unclaimed(fx, twilio, "+14155550306");
}

TEST_CASE("number with a voice application is connected and cleared") {
  gateway_fixture fx;
  fx.start();
  auto twilio = fx.add_twilio_account("+14155550307");
  const auto with_app = number_sid(3);
  fx.twilio.add_number(twilio.sid, "+14155550308", with_app, "App line",
                       "AP" + std::string(32, 'b'));
  const auto user = fx.signup("app@example.com");

  const auto reply = post_setup(
      fx, user, setup_body(twilio.sid, twilio.token, "+14155550308"));
  INFO(reply.body);
  REQUIRE(reply.status == 201);
  const auto state = fx.twilio.number(with_app);
  REQUIRE(state.has_value());
  CHECK(state->voice_application_sid.empty());
  CHECK(state->voice_url == public_base_url + "/api/twilio/webhook");
  CHECK(state->status_callback == public_base_url + "/api/twilio/status");
}

TEST_CASE("Twilio 500 on every attempt is 502 after bounded retries") {
  gateway_fixture fx;
  fx.start();
  const auto twilio = configured_account(fx, "+14155550309");
  const auto user = fx.signup("five@example.com");
  fault failing;
  failing.path_contains = account_path(twilio);
  failing.status = 500;
  failing.count = 100;
  fx.twilio.inject(failing);

  const auto reply = post_setup(fx, user, setup_body(twilio));
  INFO(reply.body);
  CHECK(reply.status == 502);
  CHECK(error_code(reply) == "twilio_unavailable");
  // twilio.max_retries is 3 by default: one attempt and three retries.
  CHECK(requests_to(fx.twilio, "GET", account_path(twilio)) == 4);

  CHECK(voice_url_of(fx.twilio, twilio.number_sid) == old_voice_url);
  check_no_credentials(fx, user);
  check_unclaimed(fx, twilio, twilio.number);
}

TEST_CASE("429 with Retry-After then success is 201") {
  gateway_fixture fx;
  fx.start();
  const auto twilio = configured_account(fx, "+14155550310");
  const auto user = fx.signup("busy@example.com");
  fault busy;
  busy.path_contains = account_path(twilio);
  busy.status = 429;
  busy.retry_after_seconds = 1;
  fx.twilio.inject(busy);

  const auto started = steady_clock::now();
  const auto reply = post_setup(fx, user, setup_body(twilio));
  const auto took = steady_clock::now() - started;
  INFO(reply.body);
  CHECK(reply.status == 201);
  CHECK(requests_to(fx.twilio, "GET", account_path(twilio)) == 2);
  // The retry waited for Retry-After, not only twilio.retry_backoff.
  CHECK(took >= std::chrono::milliseconds(950));
  CHECK(voice_url_of(fx.twilio, twilio.number_sid) ==
        public_base_url + "/api/twilio/webhook");
}

TEST_CASE("Twilio hanging past twilio.timeout is 504 within a bound") {
  gateway_fixture fx;
  fx.start();
  const auto twilio = configured_account(fx, "+14155550311");
  const auto user = fx.signup("hang@example.com");
  fault hang;
  hang.path_contains = account_path(twilio);
  hang.status = 0;
  hang.delay = std::chrono::seconds(15);
  hang.count = 100;
  fx.twilio.inject(hang);

  const auto started = steady_clock::now();
  const auto reply = post_setup(fx, user, setup_body(twilio));
  const auto took = steady_clock::now() - started;
  INFO(reply.body);
  CHECK(reply.status == 504);
  CHECK(error_code(reply) == "twilio_timeout");
  // twilio.timeout is 2 s: the request takes at least that and at most
  // the gateway's whole-flow bound (3 x 2 s + 2 s) plus slack.
  CHECK(took >= std::chrono::milliseconds(1900));
  CHECK(took < std::chrono::seconds(3 * 2 + 5));

  CHECK(voice_url_of(fx.twilio, twilio.number_sid) == old_voice_url);
  check_no_credentials(fx, user);
  check_unclaimed(fx, twilio, twilio.number);
}

TEST_CASE("broken Twilio responses are 502 and change nothing") {
  gateway_fixture fx;
  fx.start();
  struct broken {
    const char* name;
    fault applied;
  };
  std::vector<broken> cases(3);
  cases[0].name = "dropped connection";
  cases[0].applied.drop_connection = true;
  cases[1].name = "truncated body";
  cases[1].applied.truncate_body = true;
  cases[2].name = "200 with malformed JSON";
  cases[2].applied.status = 200;
  cases[2].applied.body = "{\"status\": ";

  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto number = "+1415555034" + std::to_string(i);
    const auto twilio = configured_account(fx, number);
    const auto user = fx.signup("broken" + std::to_string(i) + "@example.com");
    auto applied = cases[i].applied;
    applied.path_contains = account_path(twilio);
    applied.count = 100;
    fx.twilio.inject(applied);

    const auto reply = post_setup(fx, user, setup_body(twilio));
    INFO(cases[i].name << ": " << reply.body);
    CHECK(reply.status == 502);
    CHECK(error_code(reply) == "twilio_unavailable");
    CHECK(voice_url_of(fx.twilio, twilio.number_sid) == old_voice_url);
    check_no_credentials(fx, user);
    check_unclaimed(fx, twilio, number);
  }
}

TEST_CASE("failed number update is 502 and claims nothing") {
  gateway_fixture fx;
  fx.start();
  const auto twilio = configured_account(fx, "+14155550312");
  const auto user = fx.signup("update@example.com");
  fault failing;
  failing.method = "POST";
  failing.path_contains = twilio.number_sid;
  failing.status = 500;
  failing.count = 100;
  fx.twilio.inject(failing);

  const auto reply = post_setup(fx, user, setup_body(twilio));
  INFO(reply.body);
  CHECK(reply.status == 502);
  CHECK(error_code(reply) == "twilio_unavailable");
  CHECK(requests_to(fx.twilio, "POST", twilio.number_sid) >= 1);

  CHECK(voice_url_of(fx.twilio, twilio.number_sid) == old_voice_url);
  check_no_credentials(fx, user);
  check_unclaimed(fx, twilio, twilio.number);
  const auto listed = post_numbers(
      fx, user,
      json{{"accountSid", twilio.sid}, {"authToken", twilio.token}}.dump());
  INFO(listed.body);
  REQUIRE(listed.status == 200);
  CHECK(find_number(json::parse(listed.body), twilio.number)["claimedByYou"] ==
        false);
}

TEST_CASE("hang on the number update is 504 and claims nothing") {
  gateway_fixture fx;
  fx.start();
  const auto twilio = configured_account(fx, "+14155550319");
  const auto user = fx.signup("slowpost@example.com");
  fault hang;
  hang.method = "POST";
  hang.path_contains = twilio.number_sid;
  hang.status = 0;
  hang.delay = std::chrono::seconds(15);
  fx.twilio.inject(hang);

  const auto started = steady_clock::now();
  const auto reply = post_setup(fx, user, setup_body(twilio));
  const auto took = steady_clock::now() - started;
  INFO(reply.body);
  CHECK(reply.status == 504);
  CHECK(error_code(reply) == "twilio_timeout");
  CHECK(took < std::chrono::seconds(3 * 2 + 5));
  check_no_credentials(fx, user);
  check_unclaimed(fx, twilio, twilio.number);

  // The fault is used up, so the same setup now succeeds.
  const auto retried = post_setup(fx, user, setup_body(twilio));
  INFO(retried.body);
  CHECK(retried.status == 201);
}

TEST_CASE("setup with another Account SID is 409 twilio_account_conflict") {
  gateway_fixture fx;
  fx.start();
  const auto first = fx.add_twilio_account("+14155550313");
  const auto second = configured_account(fx, "+14155550314");
  const auto user = fx.connect("conflict@example.com", first);

  const auto reply = post_setup(fx, user, setup_body(second));
  INFO(reply.body);
  CHECK(reply.status == 409);
  CHECK(error_code(reply) == "twilio_account_conflict");
  CHECK(requests_to(fx.twilio, "POST", second.number_sid) == 0);
  CHECK(voice_url_of(fx.twilio, second.number_sid) == old_voice_url);

  // The stored credentials are still the first account's.
  const auto listed = post_numbers(fx, user);
  INFO(listed.body);
  REQUIRE(listed.status == 200);
  const auto numbers = json::parse(listed.body);
  CHECK(find_number(numbers, first.number)["claimedByYou"] == true);
  CHECK(find_number(numbers, second.number).is_null());
  check_unclaimed(fx, second, second.number);
  check_connectable(fx, "conflict2@example.com", second);
}

TEST_CASE("number claimed by another Sky IQ account is 409 number_in_use") {
  gateway_fixture fx;
  fx.start();
  const auto twilio = fx.add_twilio_account("+14155550315");
  const auto owner = fx.connect("owner@example.com", twilio);
  const auto voice_url = voice_url_of(fx.twilio, twilio.number_sid);
  const auto intruder = fx.signup("intruder@example.com");

  const auto reply = post_setup(fx, intruder, setup_body(twilio));
  INFO(reply.body);
  CHECK(reply.status == 409);
  CHECK(error_code(reply) == "number_in_use");
  check_no_credentials(fx, intruder);

  // The owner keeps the number and its calls.
  CHECK(voice_url_of(fx.twilio, twilio.number_sid) == voice_url);
  const auto sid = random_call_sid();
  REQUIRE(fx.send_voice(twilio, sid).status == 200);
  const auto calls = fx.calls_of(owner);
  REQUIRE(calls["calls"].size() == 1);
  CHECK(calls["calls"][0]["callSid"] == sid);
}

TEST_CASE("setup with a second number of the account adds it") {
  gateway_fixture fx;
  fx.start();
  const auto twilio = fx.add_twilio_account("+14155550316");
  const auto second_sid = number_sid(4);
  fx.twilio.add_number(twilio.sid, "+14155550317", second_sid);
  const auto user = fx.connect("two@example.com", twilio);

  const auto reply = post_setup(
      fx, user, setup_body(twilio.sid, twilio.token, "+14155550317"));
  INFO(reply.body);
  REQUIRE(reply.status == 201);
  CHECK(json::parse(reply.body)["phoneNumberSid"] == second_sid);

  const auto listed = json::parse(post_numbers(fx, user).body);
  CHECK(find_number(listed, twilio.number)["claimedByYou"] == true);
  CHECK(find_number(listed, "+14155550317")["claimedByYou"] == true);

  auto second = twilio;
  second.number = "+14155550317";
  REQUIRE(fx.send_voice(twilio, random_call_sid()).status == 200);
  REQUIRE(fx.send_voice(second, random_call_sid()).status == 200);
  CHECK(fx.calls_of(user)["calls"].size() == 2);
}

TEST_CASE("setup again with a rotated token is 200 and stores it") {
  gateway_fixture fx;
  fx.start();
  const auto old_token = fx.add_twilio_account("+14155550318");
  const auto user = fx.connect("rotate@example.com", old_token);
  // NOTE: the fake cannot revoke a token, so the old one stays valid at
  // the fake; the gateway must still switch to the new one.
  auto rotated = old_token;
  rotated.token = std::string(32, 'e');
  fx.twilio.add_account(rotated.sid, rotated.token);
  // The customer changed the VoiceUrl in the meantime.
  set_voice_url(fx.twilio, old_token, old_token.number_sid, old_voice_url);

  // A token that Twilio rejects replaces nothing.
  auto wrong = old_token;
  wrong.token = std::string(32, 'd');
  const auto rejected = post_setup(fx, user, setup_body(wrong));
  CHECK(rejected.status == 422);
  CHECK(error_code(rejected) == "invalid_twilio_credentials");
  CHECK(fx.send_voice(old_token, random_call_sid()).status == 200);

  const auto reply = post_setup(fx, user, setup_body(rotated));
  INFO(reply.body);
  CHECK(reply.status == 200);
  CHECK(voice_url_of(fx.twilio, old_token.number_sid) ==
        public_base_url + "/api/twilio/webhook");

  CHECK(fx.send_voice(rotated, random_call_sid()).status == 200);
  CHECK(fx.send_voice(old_token, random_call_sid()).status == 403);
  CHECK(fx.calls_of(user)["calls"].size() == 2);
}

TEST_CASE("numbers list follows every page") {
  gateway_fixture fx;
  fx.start();
  fx.twilio.set_page_size(2);
  const auto twilio = fx.add_twilio_account("+14155550320");
  const std::vector<std::string> numbers = {"+14155550320", "+14155550321",
                                            "+14155550322", "+14155550323",
                                            "+14155550324"};
  for (int i = 1; i < 5; ++i) {
    fx.twilio.add_number(twilio.sid, numbers[i], number_sid(10 + i));
  }
  const auto stranger = fx.add_twilio_account("+14155550329");
  const auto user = fx.signup("pages@example.com");
  for (const auto& claimed : {numbers[1], numbers[3]}) {
    REQUIRE(post_setup(fx, user, setup_body(twilio.sid, twilio.token, claimed))
                .status == 201);
  }
  fx.twilio.clear_requests();

  const auto reply = post_numbers(fx, user);
  INFO(reply.body);
  REQUIRE(reply.status == 200);
  const auto listed = json::parse(reply.body);
  CHECK(listed["numbers"].size() == numbers.size());
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    const auto entry = find_number(listed, numbers[i]);
    INFO(numbers[i]);
    REQUIRE_FALSE(entry.is_null());
    CHECK(entry["claimedByYou"] == (i == 1 || i == 3));
    CHECK(entry["phoneNumberSid"].is_string());
    CHECK(entry["friendlyName"].is_string());
  }
  CHECK(find_number(listed, stranger.number).is_null());
  CHECK(find_number(listed, numbers[1])["voiceUrl"] ==
        public_base_url + "/api/twilio/webhook");
  CHECK(requests_to(fx.twilio, "GET", "IncomingPhoneNumbers.json") == 3);

  // An empty body also means the stored credentials.
  const auto empty_body = post_numbers(fx, user, "");
  INFO(empty_body.body);
  REQUIRE(empty_body.status == 200);
  CHECK(json::parse(empty_body.body)["numbers"].size() == numbers.size());
}

TEST_CASE("numbers list with body credentials stores nothing") {
  gateway_fixture fx;
  fx.start();
  const auto twilio = fx.add_twilio_account("+14155550330");
  const auto stranger = fx.add_twilio_account("+14155550331");
  const auto user = fx.signup("peek@example.com");

  const auto reply = post_numbers(
      fx, user,
      json{{"accountSid", twilio.sid}, {"authToken", twilio.token}}.dump());
  INFO(reply.body);
  REQUIRE(reply.status == 200);
  const auto listed = json::parse(reply.body);
  REQUIRE(listed["numbers"].size() == 1);
  CHECK(listed["numbers"][0]["phoneNumber"] == twilio.number);
  CHECK(listed["numbers"][0]["phoneNumberSid"] == twilio.number_sid);
  CHECK(listed["numbers"][0]["claimedByYou"] == false);
  CHECK(find_number(listed, stranger.number).is_null());
  CHECK(reply.body.find(twilio.token) == std::string::npos);

  const auto wrong = post_numbers(
      fx, user,
      json{{"accountSid", twilio.sid}, {"authToken", stranger.token}}.dump());
  CHECK(wrong.status == 422);
  CHECK(error_code(wrong) == "invalid_twilio_credentials");

  const auto no_token =
      post_numbers(fx, user, json{{"accountSid", twilio.sid}}.dump());
  CHECK(no_token.status == 400);
  CHECK(error_code(no_token) == "invalid_request");
  CHECK(error_message(no_token).find("'authToken'") != std::string::npos);

  check_no_credentials(fx, user);
  check_unclaimed(fx, twilio, twilio.number);
}
