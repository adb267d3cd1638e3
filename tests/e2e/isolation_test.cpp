// End-to-end: two accounts, each account's token against the other's ids,
// numbers and data.

#include "tests/e2e/fixture.hpp"

#include <catch2/catch.hpp>

using namespace skyiq::testing;

namespace {

struct tenant {
  twilio_account twilio;
  session user;
  std::string call_id;
  std::string call_sid;
};

tenant make_tenant(gateway_fixture& fx, const std::string& email,
                   const std::string& number, const std::string& name) {
  tenant t;
  t.twilio = fx.add_twilio_account(number);
  t.user = fx.connect(email, t.twilio);
  auto http = fx.client();
  REQUIRE(http.post_json("/api/business/" + t.user.user_id,
                         json{{"businessName", name},
                              {"greeting", "Welcome to " + name}}
                             .dump(),
                         t.user.token)
              .status == 200);
  t.call_sid = random_call_sid();
  REQUIRE(fx.send_voice(t.twilio, t.call_sid).status == 200);
  const auto calls = fx.calls_of(t.user);
  REQUIRE(calls["calls"].size() == 1);
  t.call_id = calls["calls"][0]["id"].get<std::string>();
  return t;
}

std::string snapshot(gateway_fixture& fx, const tenant& t) {
  auto http = fx.client();
  return http.get("/api/calls/user/" + t.user.user_id, t.user.token).body +
         http.get("/api/business/" + t.user.user_id, t.user.token).body;
}

} // namespace

TEST_CASE("one account's token never reaches another account's data") {
  gateway_fixture fx;
  fx.start();
  auto http = fx.client();
  const auto a = make_tenant(fx, "a@example.com", "+14155550111", "Alpha");
  const auto b = make_tenant(fx, "b@example.com", "+14155550122", "Beta");
  const auto b_before = snapshot(fx, b);

  const auto& token = a.user.token;
  const auto& other = b.user.user_id;
  CHECK(http.get("/api/calls/user/" + other, token).status == 403);
  CHECK(http.get("/api/business/" + other, token).status == 403);
  CHECK(http.post_json("/api/business/" + other,
                       json{{"businessName", "Hijacked"}}.dump(), token)
            .status == 403);
  CHECK(http.post_json("/api/twilio/setup/" + other,
                       json{{"accountSid", a.twilio.sid},
                            {"authToken", a.twilio.token},
                            {"phoneNumber", a.twilio.number}}
                           .dump(),
                       token)
            .status == 403);
  CHECK(http.post_json("/api/twilio/numbers/" + other, "{}", token).status ==
        403);

  // Another account's call id gets the same response as an id that never
  // existed.
  const auto foreign = http.del("/api/calls/" + b.call_id, token);
  const auto missing = http.del("/api/calls/AAAAAAAAAAAAAAAAAAAAAA", token);
  CHECK(foreign.status == 404);
  CHECK(foreign.body == missing.body);

  // Creating a call on the other account's number is refused.
  const auto on_foreign_number =
      http.post_json("/api/calls",
                     json{{"callSid", random_call_sid()},
                          {"from", "+14155550100"},
                          {"to", b.twilio.number}}
                         .dump(),
                     token);
  CHECK(on_foreign_number.status == 422);

  // Claiming the other account's number fails even with its credentials.
  const auto claim = http.post_json("/api/twilio/setup/" + a.user.user_id,
                                    json{{"accountSid", b.twilio.sid},
                                         {"authToken", b.twilio.token},
                                         {"phoneNumber", b.twilio.number}}
                                        .dump(),
                                    token);
  CHECK(claim.status == 409);

  // A webhook for B's number signed with A's token is rejected.
  const auto forged =
      post_signed(http, "/api/twilio/webhook", public_base_url, a.twilio.token,
                  voice_params(a.twilio.sid, random_call_sid(), "+14155550100",
                               b.twilio.number));
  CHECK(forged.status == 403);

  // A status callback naming B's CallSid on A's number stays in A.
  const auto status =
      post_signed(http, "/api/twilio/status", public_base_url, a.twilio.token,
                  status_params(a.twilio.sid, b.call_sid, "+14155550100",
                                a.twilio.number, "completed", 5, 10));
  CHECK(status.status == 204);

  CHECK(snapshot(fx, b) == b_before);
  const auto a_calls = fx.calls_of(a.user);
  CHECK(a_calls["calls"].size() == 2);
  CHECK(a_calls.dump().find(b.call_id) == std::string::npos);
}

TEST_CASE("missing, malformed and logged-out tokens are 401") {
  gateway_fixture fx;
  fx.start();
  auto http = fx.client();
  const auto user = fx.signup("t@example.com");
  const auto path = "/api/business/" + user.user_id;

  CHECK(http.get(path).status == 401);
  CHECK(http.get(path, "not a token!").status == 401);
  CHECK(http.get(path, std::string(43, 'A')).status == 401);
  CHECK(http.send("GET", path, "", {{"Authorization", "Basic abc"}}).status ==
        401);
  // 401 comes before 403: a bad token on someone else's path is 401.
  CHECK(http.get("/api/business/someone-else").status == 401);

  REQUIRE(http.get(path, user.token).status == 200);
  CHECK(http.send("POST", "/api/auth/logout", "",
                  {{"Authorization", "Bearer " + user.token}})
            .status == 204);
  CHECK(http.get(path, user.token).status == 401);
}

TEST_CASE("no secret appears in responses or logs") {
  gateway_fixture fx;
  fx.start();
  auto http = fx.client();
  const auto twilio = fx.add_twilio_account("+14155550133");
  const std::string password = "a very secret password";
  const auto user = fx.signup("secret@example.com", password);
  std::string responses;
  responses += http.post_json("/api/twilio/setup/" + user.user_id,
                              json{{"accountSid", twilio.sid},
                                   {"authToken", twilio.token},
                                   {"phoneNumber", twilio.number}}
                                  .dump(),
                              user.token)
                   .body;
  responses +=
      http.post_json("/api/twilio/numbers/" + user.user_id, "{}", user.token)
          .body;
  responses += fx.send_voice(twilio, random_call_sid()).body;
  responses += http.get("/metrics").body;
  const auto log = fx.gateway->log();
  for (const auto& secret : {twilio.token, password}) {
    CHECK(responses.find(secret) == std::string::npos);
    CHECK(log.find(secret) == std::string::npos);
  }
  CHECK(log.find(user.token) == std::string::npos);
}
