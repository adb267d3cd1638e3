// End-to-end: login throttling and per-account dashboard rate limits.

#include "tests/e2e/fixture.hpp"

#include <catch2/catch.hpp>

using namespace skyiq::testing;

namespace {

http_reply login(http_client& http, const std::string& email,
                 const std::string& password) {
  return http.post_json("/api/auth/login",
                        json{{"email", email}, {"password", password}}.dump());
}

std::string code_of(const http_reply& reply) {
  return json::parse(reply.body)["error"]["code"].get<std::string>();
}

} // namespace

TEST_CASE("repeated failed logins for one email get 429") {
  gateway_fixture fx;
  fx.start({"security.login_max_failures=3"});
  auto http = fx.client();
  fx.signup("victim@example.com", "the right password");

  for (int i = 0; i < 3; ++i) {
    CHECK(login(http, "victim@example.com", "wrong guess").status == 401);
  }
  const auto blocked = login(http, "Victim@Example.com", "wrong guess");
  CHECK(blocked.status == 429);
  CHECK(code_of(blocked) == "rate_limited");
  CHECK(std::stoi(blocked.header("Retry-After")) > 0);

  // The right password is refused too while the email is blocked.
  CHECK(login(http, "victim@example.com", "the right password").status == 429);
  // Another email from the same address is not blocked by this limit.
  fx.signup("other@example.com", "another password");
  CHECK(login(http, "other@example.com", "another password").status == 200);
}

TEST_CASE("failed logins from one address across emails get 429") {
  gateway_fixture fx;
  fx.start({"security.login_max_failures=100",
            "security.login_max_failures_per_address=4"});
  auto http = fx.client();
  for (int i = 0; i < 4; ++i) {
    CHECK(login(http, "nobody" + std::to_string(i) + "@example.com",
                "password guess")
              .status == 401);
  }
  const auto blocked = login(http, "nobody9@example.com", "password guess");
  CHECK(blocked.status == 429);
  CHECK_FALSE(blocked.header("Retry-After").empty());
}

TEST_CASE("one account's dashboard requests are rate limited") {
  gateway_fixture fx;
  fx.start({"http.account_rate=1", "http.account_burst=3"});
  auto http = fx.client();
  const auto user = fx.signup("busy@example.com");
  const auto other = fx.signup("calm@example.com");
  const auto path = "/api/business/" + user.user_id;
  for (int i = 0; i < 3; ++i) {
    CHECK(http.get(path, user.token).status == 200);
  }
  const auto limited = http.get(path, user.token);
  CHECK(limited.status == 429);
  CHECK(code_of(limited) == "rate_limited");
  CHECK(limited.header("Retry-After") == "1");
  // Other accounts keep their own budget.
  CHECK(http.get("/api/business/" + other.user_id, other.token).status == 200);
}
