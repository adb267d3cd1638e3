// Checks that the fake speaks Twilio's shapes, using Poco's HTTP client so
// that the REST client under test plays no part.

#include "tests/fake_twilio/fake_twilio.hpp"

#include <Poco/Net/HTTPBasicCredentials.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using nlohmann::json;
using skyiq::testing::fake_twilio;

namespace {

const std::string sid = "AC0123456789abcdef0123456789abcdef";
const std::string token = "secret-token";
const std::string list =
    "/2010-04-01/Accounts/" + sid + "/IncomingPhoneNumbers.json";

std::string number_sid(int n) {
  auto digits = std::to_string(n);
  return "PN" + std::string(32 - digits.size(), '0') + digits;
}

struct answer {
  int status = 0;
  json body;
};

answer call(const fake_twilio& fake, const std::string& method,
            const std::string& target, const std::string& password = token,
            const std::string& form = "") {
  Poco::Net::HTTPClientSession session("127.0.0.1", fake.port());
  Poco::Net::HTTPRequest request(method, target,
                                 Poco::Net::HTTPMessage::HTTP_1_1);
  Poco::Net::HTTPBasicCredentials(sid, password).authenticate(request);
  if (!form.empty()) {
    request.setContentType("application/x-www-form-urlencoded");
    request.setContentLength(static_cast<std::streamsize>(form.size()));
  }
  session.sendRequest(request) << form;
  Poco::Net::HTTPResponse response;
  std::string body;
  Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
  return {static_cast<int>(response.getStatus()), json::parse(body)};
}

struct fake_fixture {
  fake_twilio fake;

  fake_fixture() {
    fake.add_account(sid, token);
  }
};

} // namespace

TEST_CASE_METHOD(fake_fixture, "fake account omits the auth token") {
  const auto got = call(fake, "GET", "/2010-04-01/Accounts/" + sid + ".json");
  CHECK(got.status == 200);
  CHECK(got.body["sid"] == sid);
  CHECK(got.body["status"] == "active");
  CHECK(got.body["type"] == "Full");
  CHECK_FALSE(got.body.contains("auth_token"));
}

TEST_CASE_METHOD(fake_fixture, "fake error body has Twilio's four fields") {
  const auto got =
      call(fake, "GET", "/2010-04-01/Accounts/" + sid + ".json", "wrong");
  CHECK(got.status == 401);
  const json expected = {
      {"code", 20003},
      {"message", "Authenticate"},
      {"more_info", "https://www.twilio.com/docs/errors/20003"},
      {"status", 401}};
  CHECK(got.body == expected);
  CHECK_FALSE(fake.requests().at(0).authenticated);
}

TEST_CASE_METHOD(fake_fixture, "fake unknown route is 20404") {
  const auto got =
      call(fake, "GET", "/2010-04-01/Accounts/" + sid + "/Calls.json");
  CHECK(got.status == 404);
  CHECK(got.body["code"] == 20404);
}

TEST_CASE_METHOD(fake_fixture, "fake list pages carry Twilio's page fields") {
  for (int i = 0; i < 5; ++i) {
    fake.add_number(sid, "+1415555010" + std::to_string(i), number_sid(i));
  }
  const auto got = call(fake, "GET", list + "?PageSize=2&Page=1");
  CHECK(got.status == 200);
  CHECK(got.body["page"] == 1);
  CHECK(got.body["page_size"] == 2);
  CHECK(got.body["start"] == 2);
  CHECK(got.body["end"] == 3);
  CHECK(got.body["first_page_uri"] == list + "?PageSize=2&Page=0");
  CHECK(got.body["previous_page_uri"] == list + "?PageSize=2&Page=0");
  CHECK(got.body["next_page_uri"] == list + "?PageSize=2&Page=2");
  CHECK(got.body["uri"] == list + "?PageSize=2&Page=1");
  REQUIRE(got.body["incoming_phone_numbers"].size() == 2);
  CHECK(got.body["incoming_phone_numbers"][0]["phone_number"] ==
        "+14155550102");

  const auto last = call(fake, "GET", list + "?PageSize=2&Page=2");
  CHECK(last.body["incoming_phone_numbers"].size() == 1);
  CHECK(last.body["next_page_uri"].is_null());
}

TEST_CASE_METHOD(fake_fixture, "fake number has Twilio's null fields") {
  fake.add_number(sid, "+14155550123", number_sid(1));
  const auto got = call(fake, "GET", list);
  const auto& number = got.body["incoming_phone_numbers"].at(0);
  CHECK(number["voice_url"].is_null());
  CHECK(number["trunk_sid"].is_null());
  CHECK(number["voice_application_sid"] == "");
  CHECK(number["voice_method"] == "POST");
  CHECK(number["account_sid"] == sid);
}

TEST_CASE_METHOD(fake_fixture, "fake filter is partial with digit wildcard") {
  fake.add_number(sid, "+4930123456", number_sid(1));
  fake.add_number(sid, "+49301234567", number_sid(2));
  fake.add_number(sid, "+4940123456", number_sid(3));
  CHECK(call(fake, "GET", list + "?PhoneNumber=%2B4930123456")
            .body["incoming_phone_numbers"]
            .size() == 2);
  CHECK(call(fake, "GET", list + "?PhoneNumber=%2B49*0123456")
            .body["incoming_phone_numbers"]
            .size() == 3);
  CHECK(call(fake, "GET", list + "?PhoneNumber=3012")
            .body["incoming_phone_numbers"]
            .size() == 2);
}

TEST_CASE_METHOD(fake_fixture, "fake POST updates only the fields sent") {
  fake.add_number(sid, "+14155550123", number_sid(1), "Desk",
                  "AP0123456789abcdef0123456789abcdef");
  const auto got =
      call(fake, "POST",
           list.substr(0, list.size() - 5) + "/" + number_sid(1) + ".json",
           token, "VoiceUrl=https%3A%2F%2Fa.example%2Fv");
  CHECK(got.status == 200);
  const auto state = fake.number(number_sid(1));
  REQUIRE(state);
  CHECK(state->voice_url == "https://a.example/v");
  CHECK(state->friendly_name == "Desk");
  CHECK(state->voice_application_sid == "AP0123456789abcdef0123456789abcdef");
}

TEST_CASE_METHOD(fake_fixture, "fake fault is used up by its count") {
  skyiq::testing::fault f;
  f.status = 429;
  f.retry_after_seconds = 7;
  fake.inject(f);
  CHECK(call(fake, "GET", list).status == 429);
  CHECK(call(fake, "GET", list).status == 200);
}
