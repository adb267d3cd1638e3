// End-to-end: the gateway's responses to bad input, unknown routes, login
// and session failures, and a shutdown with a request in flight.

#include "tests/e2e/contract_support.hpp"

#include <catch2/catch.hpp>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/String.h>

#include <chrono>
#include <future>
#include <regex>
#include <thread>

using namespace skyiq::testing;

namespace {

using std::chrono::steady_clock;

// An HTTP/1.1 POST head for `target` with the extra header lines in
// `headers`, each ending in CRLF.
std::string post_head(const std::string& target, const std::string& headers) {
  return "POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers +
         "\r\n";
}

constexpr std::size_t body_limit = 64 * 1024;

// A signup body of exactly `size` bytes, padded inside the password.
std::string signup_body_of_size(const std::string& email, std::size_t size) {
  const auto head = R"({"email": ")" + email + R"(", "password": ")";
  const std::string tail = "\"}";
  return head + std::string(size - head.size() - tail.size(), 'p') + tail;
}

// Posts `body` and turns a connection error into status 0 with the error
// text as the body, so that one reset does not end the test case.
http_reply send_or_error(http_client& http, const std::string& target,
                         const std::string& body,
                         const std::string& content_type) {
  try {
    return http.send("POST", target, body, {}, content_type);
  } catch (const Poco::Exception& e) {
    http_reply failed;
    failed.body = "connection error: " + e.displayText();
    return failed;
  }
}

std::string profile_of(gateway_fixture& fx, const session& user) {
  return fx.client().get("/api/business/" + user.user_id, user.token).body;
}

} // namespace

TEST_CASE("malformed JSON is 400 with the byte position") {
  gateway_fixture fx;
  fx.start();
  auto http = fx.client();
  const auto user = fx.signup("json@example.com");
  const auto before = profile_of(fx, user);

  // The second string follows the first without a comma. nlohmann/json
  // reports the last byte of the token it could not accept: the closing
  // quote of "hours", byte 24 counted from 1.
  const std::string body = R"({"greeting": "a" "hours": "b"})";
  const auto reply =
      http.post_json("/api/business/" + user.user_id, body, user.token);
  INFO(reply.body);
  CHECK(reply.status == 400);
  CHECK(error_code(reply) == "invalid_request");
  CHECK(error_message(reply).find("byte 24") != std::string::npos);
  CHECK(profile_of(fx, user) == before);

  const auto truncated =
      http.post_json("/api/auth/signup", R"({"email": "new@example.com")");
  INFO(truncated.body);
  CHECK(truncated.status == 400);
  CHECK(error_code(truncated) == "invalid_request");
  CHECK(std::regex_search(error_message(truncated), std::regex("byte \\d+")));

  const auto not_object = http.post_json("/api/auth/signup", "[1, 2]");
  CHECK(not_object.status == 400);
  CHECK(error_code(not_object) == "invalid_request");
}

TEST_CASE("wrong, unknown and missing fields are 400 naming the field") {
  gateway_fixture fx;
  fx.start();
  auto http = fx.client();
  const auto twilio = fx.add_twilio_account("+14155550201");
  const auto user = fx.signup("fields@example.com");
  const auto profile_path = "/api/business/" + user.user_id;
  REQUIRE(
      http.post_json(profile_path, json{{"hours", "9-5"}}.dump(), user.token)
          .status == 200);
  const auto before = profile_of(fx, user);

  const auto wrong_type =
      http.post_json(profile_path, json{{"greeting", 42}}.dump(), user.token);
  INFO(wrong_type.body);
  CHECK(wrong_type.status == 400);
  CHECK(error_code(wrong_type) == "invalid_request");
  CHECK(error_message(wrong_type).find("'greeting'") != std::string::npos);

  const auto unknown = http.post_json(
      profile_path, json{{"hours", "24/7"}, {"colour", "red"}}.dump(),
      user.token);
  INFO(unknown.body);
  CHECK(unknown.status == 400);
  CHECK(error_code(unknown) == "invalid_request");
  CHECK(error_message(unknown).find("'colour'") != std::string::npos);
  CHECK(profile_of(fx, user) == before);

  const auto missing = post_setup(
      fx, user,
      json{{"accountSid", twilio.sid}, {"phoneNumber", twilio.number}}.dump());
  INFO(missing.body);
  CHECK(missing.status == 400);
  CHECK(error_code(missing) == "invalid_request");
  CHECK(error_message(missing).find("'authToken'") != std::string::npos);

  const auto token_type = post_setup(fx, user,
                                     json{{"accountSid", twilio.sid},
                                          {"authToken", 12345},
                                          {"phoneNumber", twilio.number}}
                                         .dump());
  CHECK(token_type.status == 400);
  CHECK(error_code(token_type) == "invalid_request");
  CHECK(error_message(token_type).find("'authToken'") != std::string::npos);

  const auto signup_missing = http.post_json(
      "/api/auth/signup", json{{"email", "nopass@example.com"}}.dump());
  CHECK(signup_missing.status == 400);
  CHECK(error_code(signup_missing) == "invalid_request");
  CHECK(error_message(signup_missing).find("'password'") != std::string::npos);

  // None of these reached Twilio or stored anything.
  CHECK(fx.twilio.requests().empty());
  check_no_credentials(fx, user);
}

TEST_CASE("bodies over 64 KiB are 413 on JSON and webhook routes") {
  gateway_fixture fx;
  fx.start();
  auto http = fx.client();

  // The limit applies to the declared length before any body byte is
  // read, so a request head alone gets the 413 response.
  for (const auto* target : {"/api/auth/signup", "/api/twilio/webhook"}) {
    const auto started = steady_clock::now();
    const auto reply = parse_raw_reply(
        http.send_raw(post_head(target, "Content-Type: application/json\r\n"
                                        "Content-Length: 65537\r\n"),
                      std::chrono::seconds(5)));
    INFO(target << ": " << reply.body);
    CHECK(reply.status == 413);
    CHECK(error_code(reply) == "body_too_large");
    CHECK(error_message(reply).find("65537") != std::string::npos);
    CHECK(Poco::icompare(reply.header("Connection"), "close") == 0);
    // The gateway closed the connection rather than wait for the body.
    CHECK(steady_clock::now() - started < std::chrono::seconds(4));
  }

  // At the limit itself the body is read and judged on its content.
  const auto at_limit = signup_body_of_size("big@example.com", body_limit);
  REQUIRE(at_limit.size() == body_limit);
  const auto at_limit_reply = http.post_json("/api/auth/signup", at_limit);
  INFO(at_limit_reply.body);
  CHECK(at_limit_reply.status == 400);
  CHECK(error_code(at_limit_reply) == "invalid_request");
  CHECK(error_message(at_limit_reply).find("'password'") != std::string::npos);

  // Nothing created an account.
  const auto later =
      http.post_json("/api/auth/signup", json{{"email", "big@example.com"},
                                              {"password", "long enough pass"}}
                                             .dump());
  CHECK(later.status == 201);
}

TEST_CASE("oversized body sent in full still gets its 413") {
  gateway_fixture fx;
  fx.start();
  auto http = fx.client();
  const auto json_body =
      signup_body_of_size("full@example.com", body_limit + 1);
  const auto form_body = "CallSid=" + random_call_sid() +
                         "&Padding=" + std::string(body_limit, 'x');

  // When the gateway closes with request bytes still unread, the kernel
  // resets the connection, so a client still writing the body gets EPIPE
  // or ECONNRESET. Poco's HTTPClientSession then throws before it reads
  // the 413. Reading the rest of the body, or waiting for it after a
  // half-close, avoids that. One try can pass by luck, ten rarely do.

  // Returns how many of ten tries got the 413, and the first other result.
  const auto try_ten_times = [&](const std::string& target,
                                 const std::string& body,
                                 const std::string& content_type) {
    int answered = 0;
    std::string failure;
    for (int attempt = 0; attempt < 10; ++attempt) {
      const auto reply = send_or_error(http, target, body, content_type);
      if (reply.status == 413 && error_code(reply) == "body_too_large") {
        ++answered;
      } else if (failure.empty()) {
        failure = std::to_string(reply.status) + " " + reply.body;
      }
    }
    return std::make_pair(answered, failure);
  };

  const auto [json_413s, json_failure] =
      try_ten_times("/api/auth/signup", json_body, "application/json");
  INFO("JSON route, first failure: " << json_failure);
  CHECK(json_413s == 10);
  const auto [form_413s, form_failure] = try_ten_times(
      "/api/twilio/webhook", form_body, "application/x-www-form-urlencoded");
  INFO("webhook route, first failure: " << form_failure);
  CHECK(form_413s == 10);
}

TEST_CASE("chunked and length-less POSTs are 411") {
  gateway_fixture fx;
  fx.start();
  auto http = fx.client();
  const std::string body = R"({"email":"chunk@example.com",)"
                           R"("password":"long enough pass"})";
  char size[16];
  std::snprintf(size, sizeof(size), "%zx", body.size());

  const auto chunked = parse_raw_reply(http.send_raw(
      post_head("/api/auth/signup", "Content-Type: application/json\r\n"
                                    "Transfer-Encoding: chunked\r\n") +
      size + "\r\n" + body + "\r\n0\r\n\r\n"));
  INFO(chunked.body);
  CHECK(chunked.status == 411);
  CHECK(error_code(chunked) == "length_required");

  const auto chunked_form = parse_raw_reply(http.send_raw(
      post_head("/api/twilio/webhook",
                "Content-Type: application/x-www-form-urlencoded\r\n"
                "Transfer-Encoding: chunked\r\n") +
      "5\r\nTo=%2\r\n0\r\n\r\n"));
  CHECK(chunked_form.status == 411);
  CHECK(error_code(chunked_form) == "length_required");

  const auto no_length = parse_raw_reply(http.send_raw(
      post_head("/api/auth/signup",
                "Content-Type: application/json\r\nConnection: close\r\n")));
  INFO(no_length.body);
  CHECK(no_length.status == 411);
  CHECK(error_code(no_length) == "length_required");

  // The chunked signup created no account.
  CHECK(http.post_json("/api/auth/signup", body).status == 201);
}

TEST_CASE("unknown routes are 404 and wrong methods 405 with Allow") {
  gateway_fixture fx;
  fx.start();
  auto http = fx.client();

  for (const auto* target :
       {"/api/nothing", "/api/business", "/api/calls/user/a/b", "/"}) {
    const auto reply = http.get(target);
    INFO(target << ": " << reply.body);
    CHECK(reply.status == 404);
    CHECK(error_code(reply) == "not_found");
  }

  const auto setup = http.get("/api/twilio/setup/someone");
  INFO(setup.body);
  CHECK(setup.status == 405);
  CHECK(error_code(setup) == "method_not_allowed");
  CHECK(setup.header("Allow") == "POST");

  const auto business = http.del("/api/business/someone");
  INFO(business.body);
  CHECK(business.status == 405);
  CHECK(error_code(business) == "method_not_allowed");
  const auto allow = business.header("Allow");
  CHECK(allow.find("GET") != std::string::npos);
  CHECK(allow.find("POST") != std::string::npos);

  const auto webhook = http.get("/api/twilio/webhook");
  CHECK(webhook.status == 405);
  CHECK(error_code(webhook) == "method_not_allowed");
  CHECK(webhook.header("Allow") == "POST");
}

TEST_CASE("status lines carry the status's reason phrase") {
  gateway_fixture fx;
  fx.start();
  auto http = fx.client();
  const auto status_line = [&](const std::string& request) {
    const auto bytes = http.send_raw(request);
    return bytes.substr(0, bytes.find("\r\n"));
  };
  // The line Poco's own HTTPResponse::setStatusAndReason would send.
  const auto expected = [](int status) {
    return "HTTP/1.1 " + std::to_string(status) + " " +
           Poco::Net::HTTPResponse::getReasonForStatus(
               static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
  };
  const auto get_head = [](const std::string& target) {
    return "GET " + target +
           " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  };

  CHECK(status_line(get_head("/healthz")) == expected(200));
  CHECK(status_line(get_head("/api/nothing")) == expected(404));
  CHECK(status_line(get_head("/api/business/x")) == expected(401));
  CHECK(status_line(post_head("/api/auth/signup",
                              "Content-Type: application/json\r\n"
                              "Content-Length: 65537\r\n")) == expected(413));
}

TEST_CASE("invalid Account SID is 400 naming the value") {
  gateway_fixture fx;
  fx.start();
  const auto twilio = fx.add_twilio_account("+14155550202");
  const auto user = fx.signup("sid@example.com");

  const std::vector<std::string> sids = {"AC123",
                                         "ACzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
                                         "PN" + twilio.sid.substr(2)};
  for (const auto& sid : sids) {
    const auto reply =
        post_setup(fx, user, setup_body(sid, twilio.token, twilio.number));
    INFO(sid << ": " << reply.body);
    CHECK(reply.status == 400);
    CHECK(error_code(reply) == "invalid_account_sid");
    CHECK(error_message(reply).find(sid) != std::string::npos);
  }

  const auto listed = post_numbers(
      fx, user, json{{"accountSid", "AC123"}, {"authToken", "x"}}.dump());
  CHECK(listed.status == 400);
  CHECK(error_code(listed) == "invalid_account_sid");
  CHECK(error_message(listed).find("AC123") != std::string::npos);

  CHECK(fx.twilio.requests().empty());
  check_no_credentials(fx, user);
}

TEST_CASE("impossible phone numbers are 400 naming the value") {
  gateway_fixture fx;
  fx.start();
  const auto twilio = fx.add_twilio_account("+14155550203");
  const auto user = fx.signup("phone@example.com");

  for (const std::string number :
       {"+1415", "+1 415 555 CALL", "hello", "+1415555020x"}) {
    const auto reply =
        post_setup(fx, user, setup_body(twilio.sid, twilio.token, number));
    INFO("'" << number << "': " << reply.body);
    CHECK(reply.status == 400);
    CHECK(error_code(reply) == "invalid_phone_number");
    CHECK(error_message(reply).find("'" + number + "'") != std::string::npos);
  }

  const auto empty =
      post_setup(fx, user, setup_body(twilio.sid, twilio.token, ""));
  CHECK(empty.status == 400);
  CHECK(error_code(empty) == "invalid_phone_number");

  CHECK(fx.twilio.requests().empty());
  check_no_credentials(fx, user);
}

TEST_CASE("numbers without a plus use the default region US") {
  gateway_fixture fx;
  fx.start();
  const auto twilio = fx.add_twilio_account("+14155550204");
  fx.twilio.add_number(twilio.sid, "+14155550205", number_sid(205));
  const auto user = fx.signup("region@example.com");

  const auto dotted = post_setup(
      fx, user, setup_body(twilio.sid, twilio.token, "415.555.0204"));
  INFO(dotted.body);
  REQUIRE(dotted.status == 201);
  CHECK(json::parse(dotted.body)["phoneNumber"] == "+14155550204");

  const auto with_trunk_prefix = post_setup(
      fx, user, setup_body(twilio.sid, twilio.token, "1 (415) 555-0205"));
  INFO(with_trunk_prefix.body);
  REQUIRE(with_trunk_prefix.status == 201);
  CHECK(json::parse(with_trunk_prefix.body)["phoneNumber"] == "+14155550205");

  // A national UK number is not a possible US number.
  const auto london = post_setup(
      fx, user, setup_body(twilio.sid, twilio.token, "020 7946 0018"));
  CHECK(london.status == 400);
  CHECK(error_code(london) == "invalid_phone_number");
}

TEST_CASE("phone.default_region reads national numbers") {
  gateway_fixture fx;
  fx.start({"phone.default_region=GB"});
  const auto twilio = fx.add_twilio_account("+442079460018");
  const auto user = fx.signup("gb@example.com");

  const auto reply = post_setup(
      fx, user, setup_body(twilio.sid, twilio.token, "020 7946 0018"));
  INFO(reply.body);
  REQUIRE(reply.status == 201);
  CHECK(json::parse(reply.body)["phoneNumber"] == "+442079460018");
}

TEST_CASE("signup with a registered email is 409 email_taken") {
  gateway_fixture fx;
  fx.start();
  auto http = fx.client();
  fx.signup("taken@example.com");

  for (const auto* email : {"taken@example.com", "Taken@Example.COM"}) {
    const auto reply = http.post_json(
        "/api/auth/signup",
        json{{"email", email}, {"password", "another password"}}.dump());
    INFO(email << ": " << reply.body);
    CHECK(reply.status == 409);
    CHECK(error_code(reply) == "email_taken");
  }

  // The first password still logs in; the second never replaced it.
  const auto login = http.post_json("/api/auth/login",
                                    json{{"email", "taken@example.com"},
                                         {"password", "correct horse battery"}}
                                        .dump());
  CHECK(login.status == 200);
}

TEST_CASE("wrong password and unknown email get identical 401 bodies") {
  gateway_fixture fx;
  fx.start();
  auto http = fx.client();
  fx.signup("known@example.com");

  const auto wrong_password =
      http.post_json("/api/auth/login", json{{"email", "known@example.com"},
                                             {"password", "not the password"}}
                                            .dump());
  const auto unknown_email =
      http.post_json("/api/auth/login", json{{"email", "nobody@example.com"},
                                             {"password", "not the password"}}
                                            .dump());
  INFO(wrong_password.body);
  CHECK(wrong_password.status == 401);
  CHECK(error_code(wrong_password) == "invalid_credentials");
  CHECK(unknown_email.status == 401);
  CHECK(error_code(unknown_email) == "invalid_credentials");
  CHECK(wrong_password.body == unknown_email.body);
}

TEST_CASE("short password is 400 at signup") {
  gateway_fixture fx;
  fx.start();
  auto http = fx.client();

  const auto reply = http.post_json(
      "/api/auth/signup",
      json{{"email", "short@example.com"}, {"password", "1234567"}}.dump());
  INFO(reply.body);
  CHECK(reply.status == 400);
  CHECK(error_code(reply) == "invalid_request");
  CHECK(error_message(reply).find("password") != std::string::npos);

  // Nothing was created: the email is still free.
  CHECK(http.post_json("/api/auth/signup", json{{"email", "short@example.com"},
                                                {"password", "12345678"}}
                                               .dump())
            .status == 201);
}

TEST_CASE("session past security.session_ttl is 401") {
  gateway_fixture fx;
  fx.start({"security.session_ttl=1s"});
  auto http = fx.client();
  const auto user = fx.signup("ttl@example.com");
  const auto path = "/api/business/" + user.user_id;
  REQUIRE(http.get(path, user.token).status == 200);

  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const auto expired = http.get(path, user.token);
  INFO(expired.body);
  CHECK(expired.status == 401);
  CHECK(error_code(expired) == "unauthorized");

  // A new login gets a fresh session.
  const auto login = http.post_json(
      "/api/auth/login",
      json{{"email", "ttl@example.com"}, {"password", "correct horse battery"}}
          .dump());
  REQUIRE(login.status == 200);
  const auto token = json::parse(login.body)["token"].get<std::string>();
  CHECK(http.get(path, token).status == 200);
}

TEST_CASE("SIGTERM lets an in-flight setup finish") {
  gateway_fixture fx;
  fx.start();
  const auto twilio = fx.add_twilio_account("+14155550206");
  const auto user = fx.signup("term@example.com");
  fault slow;
  slow.path_contains = "/Accounts/" + twilio.sid + ".json";
  slow.status = 0;
  slow.delay = std::chrono::milliseconds(1000);
  fx.twilio.inject(slow);

  auto pending = std::async(std::launch::async, [&fx, &user, &twilio] {
    return post_setup(fx, user, setup_body(twilio));
  });
  // Wait until the setup is waiting on the fake, then stop the gateway.
  const auto deadline = steady_clock::now() + std::chrono::seconds(5);
  while (fx.twilio.requests().empty() && steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE_FALSE(fx.twilio.requests().empty());
  const int status = fx.gateway->terminate();

  REQUIRE(pending.wait_for(std::chrono::seconds(10)) ==
          std::future_status::ready);
  const auto reply = pending.get();
  INFO(reply.body);
  CHECK(reply.status == 201);
  CHECK(status == 0);
}
