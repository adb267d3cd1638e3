// REST client success paths against the fake Twilio server.

#include "tests/actors/twilio/rest_fixture.hpp"

#include "actors/twilio/signature.hpp"

#include <algorithm>
#include <map>

using namespace skyiq::twilio;
using namespace skyiq::twilio::test;
using skyiq::errc;

namespace {

std::vector<std::string>
phone_numbers(const std::vector<incoming_number>& numbers) {
  std::vector<std::string> result;
  for (const auto& n : numbers) {
    result.push_back(n.phone_number);
  }
  return result;
}

// Returns the form body of a recorded request as a name to value map.
std::map<std::string, std::string> form_of(const std::string& body) {
  const auto parsed = parse_form(body);
  REQUIRE(parsed);
  return {parsed->begin(), parsed->end()};
}

} // namespace

TEST_CASE_METHOD(rest_fixture, "account check accepts an active account") {
  auto twilio = client();
  const auto checked = twilio.check_account(creds_a);
  CHECK(checked);

  const auto requests = fake.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].method == "GET");
  CHECK(requests[0].target == "/2010-04-01/Accounts/" + account_a + ".json");
  CHECK(requests[0].authenticated);
}

TEST_CASE_METHOD(rest_fixture, "account status is passed through") {
  fake.set_account_status(account_a, "closed");
  auto twilio = client();
  const auto status = twilio.fetch_account_status(creds_a);
  REQUIRE(status);
  CHECK(*status == "closed");
}

TEST_CASE_METHOD(rest_fixture, "suspended account is twilio_account_inactive") {
  fake.set_account_status(account_a, "suspended");
  auto twilio = client();
  const auto checked = twilio.check_account(creds_a);
  REQUIRE_FALSE(checked);
  CHECK(skyiq::code_of(checked.error()) == errc::twilio_account_inactive);
  const auto message = skyiq::message_of(checked.error());
  CHECK(message.find(account_a) != std::string::npos);
  CHECK(message.find("suspended") != std::string::npos);
}

TEST_CASE_METHOD(rest_fixture, "number search returns partial matches") {
  // German numbers vary in length, so Twilio's substring filter for the
  // shorter one also finds the longer one.
  fake.add_number(account_a, "+4930123456", number_sid(1));
  fake.add_number(account_a, "+49301234567", number_sid(2));
  fake.add_number(account_a, "+4940123456", number_sid(3));
  auto twilio = client();

  const auto found = twilio.find_numbers(creds_a, "+4930123456");
  REQUIRE(found);
  const std::vector<std::string> expected = {"+4930123456", "+49301234567"};
  CHECK(phone_numbers(*found) == expected);

  const auto requests = fake.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].target ==
        "/2010-04-01/Accounts/" + account_a +
            "/IncomingPhoneNumbers.json?PhoneNumber=%2B4930123456");
}

TEST_CASE_METHOD(rest_fixture, "number search reads every field") {
  fake.add_number(account_a, "+14155550123", number_sid(7), "Front desk",
                  "AP0123456789abcdef0123456789abcdef",
                  "TK0123456789abcdef0123456789abcdef");
  auto twilio = client();
  const auto found = twilio.find_numbers(creds_a, "+14155550123");
  REQUIRE(found);
  REQUIRE(found->size() == 1);
  const auto& number = found->front();
  CHECK(number.sid == number_sid(7));
  CHECK(number.account_sid == account_a);
  CHECK(number.phone_number == "+14155550123");
  CHECK(number.friendly_name == "Front desk");
  CHECK(number.voice_application_sid == "AP0123456789abcdef0123456789abcdef");
  CHECK(number.trunk_sid == "TK0123456789abcdef0123456789abcdef");
  // Twilio sends null for an unset voice_url.
  CHECK(number.voice_url.empty());
  CHECK(number.status_callback.empty());
}

TEST_CASE_METHOD(rest_fixture, "number search lists only the own account") {
  fake.add_number(account_a, "+14155550123", number_sid(1));
  fake.add_number(account_b, "+14155550124", number_sid(2));
  auto twilio = client();
  const auto found = twilio.find_numbers(creds_a, std::nullopt);
  REQUIRE(found);
  CHECK(phone_numbers(*found) == std::vector<std::string>{"+14155550123"});
}

TEST_CASE_METHOD(rest_fixture, "number search with no match is empty") {
  fake.add_number(account_a, "+14155550123", number_sid(1));
  auto twilio = client();
  const auto found = twilio.find_numbers(creds_a, "+442079460958");
  REQUIRE(found);
  CHECK(found->empty());
}

TEST_CASE_METHOD(rest_fixture, "number search follows next_page_uri") {
  fake.set_page_size(2);
  std::vector<std::string> expected;
  for (int i = 0; i < 7; ++i) {
    expected.push_back("+1415555010" + std::to_string(i));
    fake.add_number(account_a, expected.back(), number_sid(i));
  }
  auto twilio = client();

  const auto found = twilio.find_numbers(creds_a, std::nullopt);
  REQUIRE(found);
  CHECK(phone_numbers(*found) == expected);

  const auto requests = fake.requests();
  REQUIRE(requests.size() == 4);
  CHECK(requests[1].target.find("Page=1") != std::string::npos);
  CHECK(requests[3].target.find("Page=3") != std::string::npos);
  CHECK(std::all_of(requests.begin(), requests.end(),
                    [](const auto& r) { return r.authenticated; }));
}

TEST_CASE_METHOD(rest_fixture, "filtered pages keep the filter") {
  fake.set_page_size(1);
  fake.add_number(account_a, "+4930123456", number_sid(1));
  fake.add_number(account_a, "+4940000000", number_sid(2));
  fake.add_number(account_a, "+49301234567", number_sid(3));
  fake.add_number(account_a, "+493012345678", number_sid(4));
  auto twilio = client();

  const auto found = twilio.find_numbers(creds_a, "+4930123456");
  REQUIRE(found);
  CHECK(found->size() == 3);
  const auto requests = fake.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[2].target.find("PhoneNumber=%2B4930123456") !=
        std::string::npos);
}

TEST_CASE_METHOD(rest_fixture, "configure sets webhooks and clears the app") {
  fake.add_number(account_a, "+14155550123", number_sid(1), "",
                  "AP0123456789abcdef0123456789abcdef");
  auto twilio = client();
  webhook_config config;
  config.voice_url = "https://gw.example/api/twilio/webhook";
  config.status_callback = "https://gw.example/api/twilio/status";
  config.voice_fallback_url = "https://fallback.example/voice";
  config.clear_voice_application = true;

  const auto updated = twilio.configure_number(creds_a, number_sid(1), config);
  REQUIRE(updated);
  CHECK(updated->voice_url == config.voice_url);
  CHECK(updated->status_callback == config.status_callback);
  CHECK(updated->voice_application_sid.empty());

  const auto state = fake.number(number_sid(1));
  REQUIRE(state);
  CHECK(state->voice_url == config.voice_url);
  CHECK(state->voice_method == "POST");
  CHECK(state->status_callback == config.status_callback);
  CHECK(state->status_callback_method == "POST");
  CHECK(state->voice_fallback_url == "https://fallback.example/voice");
  CHECK(state->voice_fallback_method == "POST");
  CHECK(state->voice_application_sid.empty());
}

TEST_CASE_METHOD(rest_fixture, "configure sends exactly the webhook form") {
  fake.add_number(account_a, "+14155550123", number_sid(1));
  auto twilio = client();
  webhook_config config;
  config.voice_url = "https://gw.example/api/twilio/webhook?a=1&b=2";
  config.status_callback = "https://gw.example/api/twilio/status";
  config.clear_voice_application = true;
  REQUIRE(twilio.configure_number(creds_a, number_sid(1), config));

  const auto requests = fake.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].method == "POST");
  CHECK(requests[0].target == "/2010-04-01/Accounts/" + account_a +
                                  "/IncomingPhoneNumbers/" + number_sid(1) +
                                  ".json");
  const std::map<std::string, std::string> expected = {
      {"VoiceUrl", config.voice_url},
      {"VoiceMethod", "POST"},
      {"StatusCallback", config.status_callback},
      {"StatusCallbackMethod", "POST"},
      {"VoiceApplicationSid", ""},
  };
  CHECK(form_of(requests[0].body) == expected);
}

TEST_CASE_METHOD(rest_fixture, "configure keeps the app unless asked") {
  fake.add_number(account_a, "+14155550123", number_sid(1), "",
                  "AP0123456789abcdef0123456789abcdef");
  auto twilio = client();
  webhook_config config;
  config.voice_url = "https://gw.example/api/twilio/webhook";
  config.status_callback = "https://gw.example/api/twilio/status";
  REQUIRE(twilio.configure_number(creds_a, number_sid(1), config));

  const auto form = form_of(fake.requests().at(0).body);
  CHECK(form.count("VoiceApplicationSid") == 0);
  CHECK(form.count("VoiceFallbackUrl") == 0);
  CHECK(form.count("VoiceFallbackMethod") == 0);
  const auto state = fake.number(number_sid(1));
  REQUIRE(state);
  CHECK(state->voice_application_sid == "AP0123456789abcdef0123456789abcdef");
}

TEST_CASE_METHOD(rest_fixture, "requests reuse one connection") {
  fake.add_number(account_a, "+14155550123", number_sid(1));
  auto twilio = client();
  REQUIRE(twilio.check_account(creds_a));
  REQUIRE(twilio.find_numbers(creds_a, "+14155550123"));
  REQUIRE(twilio.check_account(creds_b));

  const auto requests = fake.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[0].client_port == requests[1].client_port);
  CHECK(requests[1].client_port == requests[2].client_port);
}

TEST_CASE_METHOD(rest_fixture, "moved client keeps working") {
  auto first = client();
  rest_client second = std::move(first);
  CHECK(second.check_account(creds_a));
}

TEST_CASE_METHOD(rest_fixture, "successful requests report no errors") {
  fake.add_number(account_a, "+14155550123", number_sid(1));
  auto twilio = client();
  REQUIRE(twilio.check_account(creds_a));
  REQUIRE(twilio.find_numbers(creds_a, std::nullopt));
  CHECK(errors->snapshot().empty());
}
