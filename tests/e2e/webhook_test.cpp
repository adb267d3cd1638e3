// End-to-end: Twilio's voice webhooks and status callbacks in the forms
// Twilio really sends them, signed by a signer written apart from the
// gateway's own.

#include "tests/e2e/contract_support.hpp"

#include <catch2/catch.hpp>

using namespace skyiq::testing;

namespace {

const std::string webhook_url = public_base_url + "/api/twilio/webhook";

json only_call(gateway_fixture& fx, const session& user) {
  const auto calls = fx.calls_of(user);
  REQUIRE(calls["calls"].size() == 1);
  return calls["calls"][0];
}

// The call with `call_sid` in a call list, or null JSON.
json find_call(const json& list, const std::string& call_sid) {
  for (const auto& call : list["calls"]) {
    if (call["callSid"] == call_sid) {
      return call;
    }
  }
  return json();
}

} // namespace

TEST_CASE("outbound-api webhook routes by From") {
  gateway_fixture fx;
  fx.start();
  auto http = fx.client();
  const auto twilio = fx.add_twilio_account("+14155550401");
  const auto user = fx.connect("out@example.com", twilio);
  // The called party is another account's claimed number, so routing by
  // To would pick the wrong account.
  const auto other_twilio = fx.add_twilio_account("+14155550402");
  const auto other = fx.connect("called@example.com", other_twilio);

  const auto sid = random_call_sid();
  const auto reply = post_reference_signed(
      http, "/api/twilio/webhook", webhook_url, twilio.token,
      voice_params(twilio.sid, sid, twilio.number, other_twilio.number,
                   "outbound-api"));
  INFO(reply.body);
  CHECK(reply.status == 200);
  CHECK(reply.body.find("<Reject/>") == std::string::npos);

  const auto call = only_call(fx, user);
  CHECK(call["callSid"] == sid);
  CHECK(call["direction"] == "outbound-api");
  CHECK(call["from"] == twilio.number);
  CHECK(call["to"] == other_twilio.number);
  CHECK(fx.calls_of(other)["calls"].empty());
}

TEST_CASE("signed AccountSid of another account is 403") {
  gateway_fixture fx;
  fx.start();
  auto http = fx.client();
  const auto twilio = fx.add_twilio_account("+14155550403");
  const auto user = fx.connect("sidcheck@example.com", twilio);
  const auto other = fx.add_twilio_account("+14155550404");

  // Correctly signed with the number's own token, but naming another
  // Twilio account.
  const auto reply = post_reference_signed(
      http, "/api/twilio/webhook", webhook_url, twilio.token,
      voice_params(other.sid, random_call_sid(), "+14155550100",
                   twilio.number));
  INFO(reply.body);
  CHECK(reply.status == 403);
  CHECK(error_code(reply) == "signature_invalid");

  const auto status = post_reference_signed(
      http, "/api/twilio/status", public_base_url + "/api/twilio/status",
      twilio.token,
      status_params(other.sid, random_call_sid(), "+14155550100", twilio.number,
                    "completed", 1, 5));
  CHECK(status.status == 403);
  CHECK(fx.calls_of(user)["calls"].empty());
}

TEST_CASE("signature covers the request target with its query") {
  gateway_fixture fx;
  fx.start();
  auto http = fx.client();
  const auto twilio = fx.add_twilio_account("+14155550405");
  const auto user = fx.connect("query@example.com", twilio);
  const std::string target = "/api/twilio/webhook?tenant=x&b=%2F";

  const auto without_query =
      post_reference_signed(http, target, webhook_url, twilio.token,
                            voice_params(twilio.sid, random_call_sid(),
                                         "+14155550100", twilio.number));
  CHECK(without_query.status == 403);

  const auto decoded = post_reference_signed(
      http, target, public_base_url + "/api/twilio/webhook?tenant=x&b=/",
      twilio.token,
      voice_params(twilio.sid, random_call_sid(), "+14155550100",
                   twilio.number));
  CHECK(decoded.status == 403);

  const auto sid = random_call_sid();
  const auto exact = post_reference_signed(
      http, target, public_base_url + target, twilio.token,
      voice_params(twilio.sid, sid, "+14155550100", twilio.number));
  INFO(exact.body);
  CHECK(exact.status == 200);
  CHECK(only_call(fx, user)["callSid"] == sid);
}

TEST_CASE("signature over the URL with its default port validates") {
  gateway_fixture fx;
  fx.start();
  auto http = fx.client();
  const auto twilio = fx.add_twilio_account("+14155550406");
  const auto user = fx.connect("port@example.com", twilio);

  const auto reply = post_reference_signed(
      http, "/api/twilio/webhook",
      "https://gateway.test.invalid:443/api/twilio/webhook", twilio.token,
      voice_params(twilio.sid, random_call_sid(), "+14155550100",
                   twilio.number));
  INFO(reply.body);
  CHECK(reply.status == 200);

  const auto wrong_port = post_reference_signed(
      http, "/api/twilio/webhook",
      "https://gateway.test.invalid:8443/api/twilio/webhook", twilio.token,
      voice_params(twilio.sid, random_call_sid(), "+14155550100",
                   twilio.number));
  CHECK(wrong_port.status == 403);
  CHECK(fx.calls_of(user)["calls"].size() == 1);
}

TEST_CASE("signature ignores Host and X-Forwarded headers") {
  gateway_fixture fx;
  fx.start();
  auto http = fx.client();
  const auto twilio = fx.add_twilio_account("+14155550412");
  const auto user = fx.connect("host@example.com", twilio);
  const std::vector<std::pair<std::string, std::string>> spoofed = {
      {"Host", "attacker.example"},
      {"X-Forwarded-Host", "attacker.example"},
      {"X-Forwarded-Proto", "http"},
      {"X-Forwarded-Port", "8080"}};

  const auto post = [&](const std::string& signed_url) {
    auto params = voice_params(twilio.sid, random_call_sid(), "+14155550100",
                               twilio.number);
    auto headers = spoofed;
    headers.emplace_back("X-Twilio-Signature",
                         reference_signature(twilio.token, signed_url, params));
    return http.send("POST", "/api/twilio/webhook",
                     reference_form_encode(params), headers,
                     "application/x-www-form-urlencoded");
  };
  CHECK(post("http://attacker.example:8080/api/twilio/webhook").status == 403);
  CHECK(post("https://attacker.example/api/twilio/webhook").status == 403);
  CHECK(post(webhook_url).status == 200);
  CHECK(fx.calls_of(user)["calls"].size() == 1);
}

TEST_CASE("repeated, empty and UTF-8 parameters validate") {
  gateway_fixture fx;
  fx.start();
  auto http = fx.client();
  const auto twilio = fx.add_twilio_account("+14155550407");
  const auto user = fx.connect("params@example.com", twilio);
  const auto sid = random_call_sid();
  auto params = voice_params(twilio.sid, sid, "+14155550100", twilio.number);
  // Arrival order differs from sorted order for the repeated name.
  params.emplace_back("StirVerstat", "TN-Validation-Passed-B");
  params.emplace_back("StirVerstat", "TN-Validation-Passed-A");
  params.emplace_back("ForwardedFrom", "");
  params.emplace_back("CallerName", "Jos\xC3\xA9 M\xC3\xBCller \xE6\x9D\xB1");
  params.emplace_back("Digits", "1 2+3&4=5");

  const auto reply = post_reference_signed(http, "/api/twilio/webhook",
                                           webhook_url, twilio.token, params);
  INFO(reply.body);
  CHECK(reply.status == 200);
  CHECK(only_call(fx, user)["callSid"] == sid);

  // Changing one of the repeated values breaks the signature.
  const auto signature = reference_signature(twilio.token, webhook_url, params);
  params[params.size() - 4].second = "TN-Validation-Passed-C";
  const auto tampered = http.send(
      "POST", "/api/twilio/webhook", reference_form_encode(params),
      {{"X-Twilio-Signature", signature}}, "application/x-www-form-urlencoded");
  CHECK(tampered.status == 403);
}

TEST_CASE("withheld caller ids are recorded as sent") {
  gateway_fixture fx;
  fx.start();
  const auto twilio = fx.add_twilio_account("+14155550408");
  const auto user = fx.connect("withheld@example.com", twilio);

  for (const std::string from :
       {"Anonymous", "client:alice", "sip:bob@example.com"}) {
    const auto sid = random_call_sid();
    const auto reply = fx.send_voice(twilio, sid, from);
    INFO(from << ": " << reply.body);
    CHECK(reply.status == 200);
    CHECK(reply.body.find("<Reject/>") == std::string::npos);
    const auto call = find_call(fx.calls_of(user), sid);
    REQUIRE_FALSE(call.is_null());
    CHECK(call["from"] == from);
    CHECK(call["to"] == twilio.number);
  }
}

TEST_CASE("webhook without CallSid is 400") {
  gateway_fixture fx;
  fx.start();
  auto http = fx.client();
  const auto twilio = fx.add_twilio_account("+14155550409");
  const auto user = fx.connect("nosid@example.com", twilio);
  auto params = voice_params(twilio.sid, random_call_sid(), "+14155550100",
                             twilio.number);
  params.erase(params.begin() + 2);
  REQUIRE(params[2].first != "CallSid");

  const auto reply = post_reference_signed(http, "/api/twilio/webhook",
                                           webhook_url, twilio.token, params);
  INFO(reply.body);
  CHECK(reply.status == 400);
  CHECK(error_code(reply) == "invalid_request");
  CHECK(error_message(reply).find("CallSid") != std::string::npos);

  const auto status = post_reference_signed(
      http, "/api/twilio/status", public_base_url + "/api/twilio/status",
      twilio.token,
      {{"AccountSid", twilio.sid},
       {"CallStatus", "completed"},
       {"To", twilio.number},
       {"From", "+14155550100"}});
  CHECK(status.status == 400);
  CHECK(error_code(status) == "invalid_request");
  CHECK(fx.calls_of(user)["calls"].empty());
}

TEST_CASE("unknown numbers never create a record") {
  gateway_fixture fx;
  fx.start();
  auto http = fx.client();
  const auto later = fx.add_twilio_account("+14155550410");
  const auto sid = random_call_sid();

  // A voice webhook and a status callback for a number that no account has
  // claimed.
  const auto voice = post_reference_signed(
      http, "/api/twilio/webhook", webhook_url, later.token,
      voice_params(later.sid, sid, "+14155550100", later.number));
  INFO(voice.body);
  CHECK(voice.status == 200);
  CHECK(voice.header("Content-Type").find("text/xml") == 0);
  CHECK(voice.body.find("<Response><Reject/></Response>") != std::string::npos);
  const auto status =
      post_reference_signed(http, "/api/twilio/status",
                            public_base_url + "/api/twilio/status", later.token,
                            status_params(later.sid, sid, "+14155550100",
                                          later.number, "completed", 3, 30));
  CHECK(status.status == 204);

  // The account that claims the number afterwards starts with no calls.
  const auto user = fx.connect("later@example.com", later);
  CHECK(fx.calls_of(user)["calls"].empty());
}

TEST_CASE("metrics count signature failures and unknown numbers") {
  gateway_fixture fx;
  fx.start();
  auto http = fx.client();
  const auto twilio = fx.add_twilio_account("+14155550411");
  fx.connect("metrics@example.com", twilio);
  const auto before = http.get("/metrics").body;
  const auto failures = metric_value(before, "skyiq_signature_failures_total");
  const auto unknown =
      metric_value(before, "skyiq_unknown_number_rejects_total");
  REQUIRE(failures >= 0);
  REQUIRE(unknown >= 0);

  for (int i = 0; i < 2; ++i) {
    const auto forged = post_reference_signed(
        http, "/api/twilio/webhook", webhook_url, "not the token",
        voice_params(twilio.sid, random_call_sid(), "+14155550100",
                     twilio.number));
    CHECK(forged.status == 403);
  }
  for (int i = 0; i < 3; ++i) {
    const auto stray = fx.send_voice(twilio, random_call_sid());
    CHECK(stray.status == 200);
  }
  auto unclaimed = twilio;
  unclaimed.number = "+14155550499";
  CHECK(fx.send_voice(unclaimed, random_call_sid()).body.find("<Reject/>") !=
        std::string::npos);

  const auto after = http.get("/metrics");
  CHECK(after.status == 200);
  CHECK(after.header("Content-Type").find("text/plain") == 0);
  CHECK(metric_value(after.body, "skyiq_signature_failures_total") ==
        failures + 2);
  CHECK(metric_value(after.body, "skyiq_unknown_number_rejects_total") ==
        unknown + 1);
}

TEST_CASE("status callback reusing another account's CallSid") {
  gateway_fixture fx;
  fx.start();
  auto http = fx.client();
  const auto owner_twilio = fx.add_twilio_account("+14155550411");
  const auto owner = fx.connect("owner@example.com", owner_twilio);
  const auto other_twilio = fx.add_twilio_account("+14155550412");
  const auto other = fx.connect("other@example.com", other_twilio);
  const auto sid = random_call_sid();
  REQUIRE(fx.send_voice(owner_twilio, sid).status == 200);
  const auto before = fx.calls_of(owner);

  // The other account signs a final status for its own number with the
  // owner's CallSid: it may only ever touch a record of its own.
  const auto reply = post_signed(
      http, "/api/twilio/status", public_base_url, other_twilio.token,
      status_params(other_twilio.sid, sid, "+14155550100",
                    other_twilio.number, "completed", 5, 60));
  CHECK(reply.status == 204);

  CHECK(fx.calls_of(owner) == before);
  const auto own = find_call(fx.calls_of(other), sid);
  REQUIRE_FALSE(own.is_null());
  CHECK(own["status"] == "completed");
  CHECK(own["to"] == other_twilio.number);
  CHECK(own["id"] != before["calls"][0]["id"]);
}
