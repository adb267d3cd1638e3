// End-to-end: the real gateway binary, a real SQLite file and a fake
// Twilio, driven through the public HTTP contract.

#include "tests/e2e/fixture.hpp"

#include <catch2/catch.hpp>

using namespace skyiq::testing;

namespace {

std::string setup_body(const twilio_account& account,
                       const std::string& number) {
  return json{{"accountSid", account.sid},
              {"authToken", account.token},
              {"phoneNumber", number}}
      .dump();
}

} // namespace

TEST_CASE("signup, setup, webhook and call list work end to end") {
  gateway_fixture fx;
  fx.start();
  auto http = fx.client();
  const auto twilio = fx.add_twilio_account("+14155550101");
  const auto user = fx.signup("owner@example.com");

  SECTION("setup configures the number's webhooks at Twilio") {
    const auto reply =
        http.post_json("/api/twilio/setup/" + user.user_id,
                       setup_body(twilio, "(415) 555-0101"), user.token);
    INFO(reply.body);
    REQUIRE(reply.status == 201);
    const auto body = json::parse(reply.body);
    CHECK(body["phoneNumber"] == "+14155550101");
    CHECK(body["phoneNumberSid"] == twilio.number_sid);
    CHECK(body["voiceUrl"] == public_base_url + "/api/twilio/webhook");
    CHECK(body["statusCallback"] == public_base_url + "/api/twilio/status");
    const auto state = fx.twilio.number(twilio.number_sid);
    REQUIRE(state.has_value());
    CHECK(state->voice_url == public_base_url + "/api/twilio/webhook");
    CHECK(state->status_callback == public_base_url + "/api/twilio/status");
    CHECK(state->voice_method == "POST");
    CHECK(state->status_callback_method == "POST");
    CHECK(reply.body.find(twilio.token) == std::string::npos);

    const auto again =
        http.post_json("/api/twilio/setup/" + user.user_id,
                       setup_body(twilio, "+14155550101"), user.token);
    CHECK(again.status == 200);
  }

  SECTION("a signed webhook is recorded and answered with TwiML") {
    REQUIRE(http.post_json("/api/twilio/setup/" + user.user_id,
                           setup_body(twilio, "+14155550101"), user.token)
                .status == 201);
    const auto profile =
        http.post_json("/api/business/" + user.user_id,
                       json{{"businessName", "Rosa's <Bakery> & Co"},
                            {"greeting", "Hi from Rosa's <Bakery> & \"Co\""},
                            {"forwardTo", "+14155550199"}}
                           .dump(),
                       user.token);
    REQUIRE(profile.status == 200);

    const auto sid = random_call_sid();
    const auto answer = fx.send_voice(twilio, sid);
    INFO(answer.body);
    REQUIRE(answer.status == 200);
    CHECK(answer.header("Content-Type").find("text/xml") == 0);
    CHECK(answer.body.find("<Say>Hi from Rosa&apos;s &lt;Bakery&gt; &amp; "
                           "&quot;Co&quot;</Say>") != std::string::npos);
    CHECK(answer.body.find("<Dial>+14155550199</Dial>") != std::string::npos);

    const auto duplicate = fx.send_voice(twilio, sid);
    CHECK(duplicate.status == 200);
    CHECK(duplicate.body == answer.body);

    const auto calls = fx.calls_of(user);
    REQUIRE(calls["calls"].size() == 1);
    const auto& call = calls["calls"][0];
    CHECK(call["callSid"] == sid);
    CHECK(call["from"] == "+14155550100");
    CHECK(call["to"] == "+14155550101");
    CHECK(call["direction"] == "inbound");
    CHECK(call["status"] == "ringing");
    CHECK(call["endedAt"].is_null());
    CHECK(calls["nextCursor"].is_null());
  }
}

TEST_CASE("webhooks for unknown numbers or with bad signatures create "
          "nothing") {
  gateway_fixture fx;
  fx.start();
  auto http = fx.client();
  const auto twilio = fx.add_twilio_account("+14155550102");
  const auto user = fx.connect("a@example.com", twilio);

  const auto unknown =
      post_signed(http, "/api/twilio/webhook", public_base_url, twilio.token,
                  voice_params(twilio.sid, random_call_sid(), "+14155550100",
                               "+14155550999"));
  CHECK(unknown.status == 200);
  CHECK(unknown.body.find("<Response><Reject/></Response>") !=
        std::string::npos);

  auto params = voice_params(twilio.sid, random_call_sid(), "+14155550100",
                             twilio.number);
  const auto wrong_key = post_signed(
      http, "/api/twilio/webhook", public_base_url, "0123456789abcdef", params);
  CHECK(wrong_key.status == 403);

  const auto unsigned_reply =
      http.send("POST", "/api/twilio/webhook",
                "CallSid=" + random_call_sid() +
                    "&To=%2B14155550102&AccountSid=" + twilio.sid,
                {}, "application/x-www-form-urlencoded");
  CHECK(unsigned_reply.status == 403);

  // A suffix of the claimed number must not route to it.
  const auto suffix =
      post_signed(http, "/api/twilio/webhook", public_base_url, twilio.token,
                  voice_params(twilio.sid, random_call_sid(), "+14155550100",
                               "4155550102"));
  CHECK(suffix.body.find("<Reject/>") != std::string::npos);

  CHECK(fx.calls_of(user)["calls"].empty());
}

TEST_CASE("status callbacks keep the final status") {
  gateway_fixture fx;
  fx.start();
  auto http = fx.client();
  const auto twilio = fx.add_twilio_account("+14155550103");
  const auto user = fx.connect("s@example.com", twilio);
  const auto sid = random_call_sid();
  const auto from = std::string("+14155550100");

  auto status = [&](const std::string& value, std::optional<int> sequence,
                    std::optional<int> duration) {
    return post_signed(http, "/api/twilio/status", public_base_url,
                       twilio.token,
                       status_params(twilio.sid, sid, from, twilio.number,
                                     value, sequence, duration));
  };

  // The final event arrives first, before the voice webhook.
  CHECK(status("completed", 3, 42).status == 204);
  CHECK(status("in-progress", 1, std::nullopt).status == 204);
  CHECK(status("ringing", std::nullopt, std::nullopt).status == 204);
  REQUIRE(fx.send_voice(twilio, sid).status == 200);

  const auto calls = fx.calls_of(user);
  REQUIRE(calls["calls"].size() == 1);
  const auto& call = calls["calls"][0];
  CHECK(call["status"] == "completed");
  CHECK(call["durationSeconds"] == 42);
  CHECK_FALSE(call["endedAt"].is_null());
}

TEST_CASE("dashboard call routes page, filter, create and delete") {
  gateway_fixture fx;
  fx.start();
  auto http = fx.client();
  const auto twilio = fx.add_twilio_account("+14155550104");
  const auto user = fx.connect("d@example.com", twilio);

  for (int i = 0; i < 5; ++i) {
    REQUIRE(fx.send_voice(twilio, random_call_sid()).status == 200);
  }
  const auto first = fx.calls_of(user, "?limit=2");
  REQUIRE(first["calls"].size() == 2);
  REQUIRE(first["nextCursor"].is_string());
  const auto second = fx.calls_of(
      user, "?limit=2&cursor=" + first["nextCursor"].get<std::string>());
  REQUIRE(second["calls"].size() == 2);
  CHECK(second["calls"][0]["id"] != first["calls"][0]["id"]);
  CHECK(second["calls"][0]["id"] != first["calls"][1]["id"]);
  const auto third = fx.calls_of(
      user, "?limit=2&cursor=" + second["nextCursor"].get<std::string>());
  CHECK(third["calls"].size() == 1);
  CHECK(third["nextCursor"].is_null());

  CHECK(http.get("/api/calls/user/" + user.user_id + "?limit=0", user.token)
            .status == 400);
  CHECK(http.get("/api/calls/user/" + user.user_id + "?limit=201", user.token)
            .status == 400);
  CHECK(http.get("/api/calls/user/" + user.user_id + "?status=done", user.token)
            .status == 400);
  CHECK(fx.calls_of(user, "?status=completed")["calls"].empty());

  const auto sid = random_call_sid();
  const auto body = json{
      {"callSid", sid},
      {"from", "Anonymous"},
      {"to", twilio.number},
      {"direction", "inbound"},
      {"status",
       "completed"}}.dump();
  const auto created = http.post_json("/api/calls", body, user.token);
  INFO(created.body);
  REQUIRE(created.status == 201);
  const auto id = json::parse(created.body)["id"].get<std::string>();
  CHECK(http.post_json("/api/calls", body, user.token).status == 409);
  CHECK(fx.calls_of(user, "?status=completed")["calls"].size() == 1);

  const auto unclaimed = json{
      {"callSid", random_call_sid()},
      {"from", "+14155550100"},
      {"to", "+14155550177"}}.dump();
  CHECK(http.post_json("/api/calls", unclaimed, user.token).status == 422);

  CHECK(http.del("/api/calls/" + id, user.token).status == 204);
  CHECK(http.del("/api/calls/" + id, user.token).status == 404);
}

TEST_CASE("business profile starts empty and keeps unnamed fields") {
  gateway_fixture fx;
  fx.start();
  auto http = fx.client();
  const auto user = fx.signup("p@example.com");
  const auto path = "/api/business/" + user.user_id;

  const auto empty = json::parse(http.get(path, user.token).body);
  for (const auto* field :
       {"businessName", "greeting", "timezone", "hours", "forwardTo"}) {
    CHECK(empty[field].is_null());
  }
  REQUIRE(http.post_json(path,
                         json{{"businessName", "Acme"},
                              {"timezone", "America/New_York"}}
                             .dump(),
                         user.token)
              .status == 200);
  REQUIRE(
      http.post_json(path, json{{"hours", "9-5"}}.dump(), user.token).status ==
      200);
  const auto profile = json::parse(http.get(path, user.token).body);
  CHECK(profile["businessName"] == "Acme");
  CHECK(profile["timezone"] == "America/New_York");
  CHECK(profile["hours"] == "9-5");

  CHECK(http.post_json(path, json{{"timezone", "Mars/Olympus"}}.dump(),
                       user.token)
            .status == 400);
  CHECK(http.post_json(path, json{{"businessName", 7}}.dump(), user.token)
            .status == 400);
  CHECK(
      http.post_json(path, json{{"color", "red"}}.dump(), user.token).status ==
      400);
  CHECK(http.post_json(path,
                       json{{"businessName", std::string(201, 'x')}}.dump(),
                       user.token)
            .status == 400);
  const auto bad_phone =
      http.post_json(path, json{{"forwardTo", "+1415"}}.dump(), user.token);
  CHECK(bad_phone.status == 400);
  CHECK(bad_phone.body.find("invalid_phone_number") != std::string::npos);
}

TEST_CASE("answered webhooks survive kill -9") {
  gateway_fixture fx;
  fx.start();
  const auto twilio = fx.add_twilio_account("+14155550105");
  const auto user = fx.connect("k@example.com", twilio);
  std::vector<std::string> sids;
  for (int i = 0; i < 20; ++i) {
    sids.push_back(random_call_sid());
    REQUIRE(fx.send_voice(twilio, sids.back()).status == 200);
  }
  fx.gateway->kill_hard();
  fx.start();
  const auto calls = fx.calls_of(user, "?limit=200");
  CHECK(calls["calls"].size() == sids.size());
}

TEST_CASE("SIGTERM stops the gateway cleanly") {
  gateway_fixture fx;
  fx.start();
  CHECK(fx.client().get("/healthz").status == 200);
  CHECK(fx.client().get("/readyz").status == 200);
  CHECK(fx.gateway->terminate() == 0);
}
