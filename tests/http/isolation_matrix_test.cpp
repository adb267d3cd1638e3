// Cross-account isolation, checked on every route of the real route table.
// One gateway runs in process (SQLite in a scratch directory, the actor
// node, the Poco server on port 0) against a fake Twilio. Accounts A and B
// each connect a number, set a profile and receive signed webhooks. Then
// every route in the server's table is tried with B's ids in its path and
// each kind of credential A could hold. A route added later is covered
// without editing this file, unless it brings a path parameter other than
// :userId or :id, which fails the test until its foreign value is defined
// below.

#include "actors/node.hpp"
#include "actors/twilio/signature.hpp"
#include "http/server.hpp"
#include "storage/crypto.hpp"
#include "storage/database.hpp"
#include "storage/number_directory.hpp"
#include "storage/user_store.hpp"
#include "tests/fake_twilio/fake_twilio.hpp"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>

using namespace skyiq;
using nlohmann::json;

namespace {

const std::string public_base_url = "https://gateway.matrix.invalid";
const std::string password = "correct horse battery";
const std::vector<std::string> all_methods = {"GET", "POST", "PUT", "PATCH",
                                              "DELETE"};

struct reply {
  int status = 0;
  std::string content_type;
  std::string body;
  std::map<std::string, std::string> headers;
};

using header_list = std::vector<std::pair<std::string, std::string>>;

reply send(std::uint16_t port, const std::string& method,
           const std::string& target, const std::string& body,
           const header_list& headers,
           const std::string& content_type = "application/json") {
  Poco::Net::HTTPClientSession session("127.0.0.1", port);
  session.setTimeout(Poco::Timespan(30, 0));
  Poco::Net::HTTPRequest request(method, target,
                                 Poco::Net::HTTPMessage::HTTP_1_1);
  for (const auto& [name, value] : headers) {
    request.set(name, value);
  }
  if (!body.empty() || method == "POST" || method == "PUT" ||
      method == "PATCH") {
    request.setContentType(content_type);
    request.setContentLength(static_cast<std::streamsize>(body.size()));
  }
  session.sendRequest(request) << body;
  Poco::Net::HTTPResponse response;
  auto& in = session.receiveResponse(response);
  reply result;
  result.status = static_cast<int>(response.getStatus());
  result.content_type = response.getContentType();
  for (const auto& [name, value] : response) {
    result.headers[name] = value;
  }
  Poco::StreamCopier::copyToString(in, result.body);
  return result;
}

header_list bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

std::string error_code(const reply& r) {
  const auto body = json::parse(r.body, nullptr, false);
  if (!body.is_object() || !body.contains("error") ||
      !body["error"].contains("code")) {
    return "<no error body>";
  }
  return body["error"]["code"].get<std::string>();
}

std::string hex_id(const std::string& prefix, int seed, char fill) {
  char digits[40];
  std::snprintf(digits, sizeof(digits), "%c%031x", fill, seed);
  return prefix + digits;
}

using form_params = twilio::form_params;

form_params voice_params(const std::string& account_sid,
                         const std::string& call_sid, const std::string& to) {
  return {{"AccountSid", account_sid},
          {"ApiVersion", "2010-04-01"},
          {"CallSid", call_sid},
          {"CallStatus", "ringing"},
          {"Called", to},
          {"Caller", "+12125550187"},
          {"Direction", "inbound"},
          {"From", "+12125550187"},
          {"FromCountry", "US"},
          {"To", to},
          {"ToCountry", "US"}};
}

form_params status_params(const std::string& account_sid,
                          const std::string& call_sid, const std::string& to) {
  return {{"AccountSid", account_sid},
          {"ApiVersion", "2010-04-01"},
          {"CallSid", call_sid},
          {"CallStatus", "completed"},
          {"CallDuration", "42"},
          {"Direction", "inbound"},
          {"From", "+12125550187"},
          {"SequenceNumber", "2"},
          {"Timestamp", "Fri, 04 Dec 2026 15:02:11 +0000"},
          {"To", to}};
}

struct tenant {
  std::string email;
  std::string user_id;
  std::string token;
  std::string twilio_sid;
  std::string twilio_token;
  std::string number;
  std::string number_sid;
  std::string call_id;
  std::string call_sid;
};

// The gateway's parts as http/main.cpp wires them, in one process.
struct matrix_gateway {
  matrix_gateway() {
    char pattern[] = "/tmp/skyiq-matrix.XXXXXX";
    if (!mkdtemp(pattern)) {
      throw std::runtime_error("mkdtemp failed");
    }
    dir = pattern;

    settings.http_port = 0;
    settings.http_public_base_url = public_base_url;
    settings.storage_url = "sqlite:" + dir + "/gateway.db";
    settings.security_master_key_file = dir + "/master.key";
    settings.security_argon2_memory_kib = 64;
    settings.security_argon2_iterations = 1;
    // The matrix sends a few hundred requests with A's token; the rate
    // limit is per account and is tested on its own elsewhere.
    settings.http_account_rate = 0;
    settings.twilio_api_base_url = twilio.base_url();
    settings.twilio_timeout = std::chrono::seconds(2);
    settings.twilio_retry_backoff = std::chrono::milliseconds(20);

    storage::database_options options;
    options.url = settings.storage_url;
    options.pool_size = settings.storage_pool_size;
    auto opened = storage::database::open(options);
    if (!opened) {
      throw std::runtime_error(message_of(opened.error()));
    }
    database = *opened;
    auto loaded =
        storage::master_key::load_or_create(settings.security_master_key_file);
    if (!loaded) {
      throw std::runtime_error(message_of(loaded.error()));
    }
    key = *loaded;

    system = std::make_unique<caf::actor_system>(caf_config);
    node = std::make_unique<actors::node>(*system, settings, database, key,
                                          actors::node_hooks{});
    argon2 = {settings.security_argon2_memory_kib,
              settings.security_argon2_iterations,
              settings.security_argon2_parallelism};
    auto app = std::make_shared<http::services>();
    app->settings = settings;
    app->users = std::make_shared<storage::user_store>(
        database, argon2, settings.security_session_ttl);
    app->numbers = std::make_shared<storage::number_directory>(database);
    app->database = database;
    app->registry = node->registry();
    app->bridge = node->requests();
    app->stats = std::make_shared<http::metrics>();
    app->limits = http::make_limits(settings);
    server = std::make_unique<http::server>(app);
    server->start();
    port = server->port();
  }

  ~matrix_gateway() {
    server.reset();
    node->stop();
    system->await_all_actors_done();
    node.reset();
    system.reset();
    database.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  reply request(const std::string& method, const std::string& target,
                const std::string& body = "", const header_list& headers = {},
                const std::string& content_type = "application/json") {
    return send(port, method, target, body, headers, content_type);
  }

  reply signed_post(const std::string& target, const form_params& params,
                    const std::string& auth_token) {
    const auto signature =
        twilio::compute_signature(auth_token, public_base_url + target, params);
    return request("POST", target, twilio::form_encode(params),
                   {{"X-Twilio-Signature", signature}},
                   "application/x-www-form-urlencoded");
  }

  tenant add_tenant(int n, const std::string& email, const std::string& number,
                    const std::string& business) {
    tenant t;
    t.email = email;
    t.twilio_sid = hex_id("AC", n, 'a');
    t.twilio_token = hex_id("", n * 7919, 'f');
    t.number = number;
    t.number_sid = hex_id("PN", n, 'b');
    twilio.add_account(t.twilio_sid, t.twilio_token);
    twilio.add_number(t.twilio_sid, number, t.number_sid, business + " line");

    const auto signup =
        request("POST", "/api/auth/signup",
                json{{"email", email}, {"password", password}}.dump());
    REQUIRE(signup.status == 201);
    const auto session = json::parse(signup.body);
    t.user_id = session.at("userId").get<std::string>();
    t.token = session.at("token").get<std::string>();

    const auto setup = request("POST", "/api/twilio/setup/" + t.user_id,
                               json{{"accountSid", t.twilio_sid},
                                    {"authToken", t.twilio_token},
                                    {"phoneNumber", number}}
                                   .dump(),
                               bearer(t.token));
    INFO(setup.body);
    REQUIRE(setup.status == 201);

    const auto profile =
        request("POST", "/api/business/" + t.user_id,
                json{{"businessName", business},
                     {"greeting", "Thanks for calling " + business + "."},
                     {"timezone", "America/New_York"},
                     {"hours", "Mon-Fri 9:00-17:00"},
                     {"forwardTo", "+12125550100"}}
                    .dump(),
                bearer(t.token));
    REQUIRE(profile.status == 200);

    const auto call_sid = hex_id("CA", n * 31, 'c');
    t.call_sid = call_sid;
    REQUIRE(signed_post("/api/twilio/webhook",
                        voice_params(t.twilio_sid, call_sid, number),
                        t.twilio_token)
                .status == 200);
    REQUIRE(signed_post("/api/twilio/status",
                        status_params(t.twilio_sid, call_sid, number),
                        t.twilio_token)
                .status == 204);
    const auto calls =
        request("GET", "/api/calls/user/" + t.user_id, "", bearer(t.token));
    REQUIRE(calls.status == 200);
    const auto list = json::parse(calls.body);
    REQUIRE(list["calls"].size() == 1);
    t.call_id = list["calls"][0]["id"].get<std::string>();
    return t;
  }

  // B's calls list, profile and Twilio number configuration, as B reads
  // them.
  std::string snapshot(const tenant& t) {
    const auto calls =
        request("GET", "/api/calls/user/" + t.user_id, "", bearer(t.token));
    const auto profile =
        request("GET", "/api/business/" + t.user_id, "", bearer(t.token));
    const auto number = twilio.number(t.number_sid);
    REQUIRE(calls.status == 200);
    REQUIRE(profile.status == 200);
    REQUIRE(number.has_value());
    return calls.body + "\n" + profile.body + "\n" + number->voice_url + "\n" +
           number->status_callback + "\n" + number->account_sid;
  }

  std::string dir;
  testing::fake_twilio twilio;
  config::settings settings;
  storage::argon2_params argon2;
  std::shared_ptr<storage::database> database;
  std::shared_ptr<const storage::master_key> key;
  caf::actor_system_config caf_config;
  std::unique_ptr<caf::actor_system> system;
  std::unique_ptr<actors::node> node;
  std::unique_ptr<http::server> server;
  std::uint16_t port = 0;
};

// The credentials A could present on a dashboard route.
enum class credential { own_token, none, malformed, expired, logged_out };

const char* name_of(credential c) {
  switch (c) {
  case credential::own_token:
    return "A's token";
  case credential::none:
    return "no token";
  case credential::malformed:
    return "malformed token";
  case credential::expired:
    return "expired token";
  case credential::logged_out:
    return "logged-out token";
  }
  return "?";
}

const std::vector<credential> all_credentials = {
    credential::own_token, credential::none, credential::malformed,
    credential::expired, credential::logged_out};

// Replaces each `:name` segment with B's value. Fails the test for a
// parameter this file has no foreign value for.
std::string foreign_target(const std::string& pattern, const tenant& b,
                           const std::string& call_id) {
  std::string target;
  for (const auto& segment : http::split_path(pattern)) {
    target += '/';
    if (segment.empty() || segment[0] != ':') {
      target += segment;
    } else if (segment == ":userId") {
      target += b.user_id;
    } else if (segment == ":id") {
      target += call_id;
    } else {
      FAIL("route " << pattern << " has path parameter " << segment
                    << ": define another account's value for it in "
                       "foreign_target");
    }
  }
  return target;
}

bool has_segment(const std::string& pattern, const std::string& name) {
  const auto segments = http::split_path(pattern);
  return std::find(segments.begin(), segments.end(), name) != segments.end();
}

} // namespace

TEST_CASE("every route keeps one account out of another's data") {
  matrix_gateway gw;
  const auto a = gw.add_tenant(1, "alpha@example.com", "+14155550111", "Alpha");
  const auto b = gw.add_tenant(2, "beta@example.com", "+14155550122", "Beta");
  const auto b_before = gw.snapshot(b);

  // Tokens A could hold besides its live one. The expired one comes from
  // a second user store on the same database whose sessions live 0 s.
  storage::user_store short_lived(gw.database, gw.argon2,
                                  std::chrono::seconds(0));
  auto expired = short_lived.login(a.email, password);
  REQUIRE(expired);
  const auto login =
      gw.request("POST", "/api/auth/login",
                 json{{"email", a.email}, {"password", password}}.dump());
  REQUIRE(login.status == 200);
  const auto logged_out =
      json::parse(login.body).at("token").get<std::string>();
  REQUIRE(
      gw.request("POST", "/api/auth/logout", "", bearer(logged_out)).status ==
      204);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));

  auto headers_for = [&](credential c) -> header_list {
    switch (c) {
    case credential::own_token:
      return bearer(a.token);
    case credential::none:
      return {};
    case credential::malformed:
      return {{"Authorization", "Bearer " + a.token + "!"}};
    case credential::expired:
      return bearer(expired->token);
    case credential::logged_out:
      return bearer(logged_out);
    }
    return {};
  };

  // A well-formed id that names no call, to compare 404 bodies with.
  const auto missing_call = storage::random_id();
  const auto& routes = gw.server->routes().routes();
  REQUIRE(routes.size() > 0);

  std::size_t cases = 0;
  std::size_t webhook_sid = 1000;
  std::set<std::string> patterns;
  std::map<std::string, std::set<std::string>> methods_of;
  for (const auto& route : routes) {
    patterns.insert(route.pattern);
    methods_of[route.pattern].insert(route.method);
  }

  for (const auto& route : routes) {
    const auto target = foreign_target(route.pattern, b, b.call_id);
    const auto label = route.method + " " + route.pattern;

    if (route.check == http::access::twilio) {
      // Webhooks carry no bearer token: A's own auth token signs requests
      // for B's number, with A's or B's AccountSid, or there is no valid
      // signature at all.
      const bool status_route =
          route.pattern.find("status") != std::string::npos;
      auto params_for = [&](const std::string& account_sid) {
        const auto sid = hex_id("CA", static_cast<int>(++webhook_sid), 'd');
        return status_route ? status_params(account_sid, sid, b.number)
                            : voice_params(account_sid, sid, b.number);
      };
      struct twilio_case {
        std::string name;
        reply result;
        int status;
        std::string code;
      };
      std::vector<twilio_case> tried;
      tried.push_back(
          {"A's signature for B's number",
           gw.signed_post(target, params_for(a.twilio_sid), a.twilio_token),
           403, "signature_invalid"});
      tried.push_back(
          {"A's signature with B's AccountSid",
           gw.signed_post(target, params_for(b.twilio_sid), a.twilio_token),
           403, "signature_invalid"});
      const auto unsigned_body = twilio::form_encode(params_for(b.twilio_sid));
      tried.push_back({"no signature",
                       gw.request("POST", target, unsigned_body, {},
                                  "application/x-www-form-urlencoded"),
                       403, "signature_invalid"});
      tried.push_back(
          {"malformed signature",
           gw.request("POST", target, unsigned_body,
                      {{"X-Twilio-Signature", "not base64 at all!"}},
                      "application/x-www-form-urlencoded"),
           403, "signature_invalid"});
      tried.push_back(
          {"A's bearer token instead of a signature",
           gw.request("POST", target, unsigned_body, bearer(a.token),
                      "application/x-www-form-urlencoded"),
           403, "signature_invalid"});
      // A may sign anything for its own number, B's CallSid included. The
      // gateway files it under A, and B's call must stay as it was.
      auto own = status_route
                     ? status_params(a.twilio_sid, b.call_sid, a.number)
                     : voice_params(a.twilio_sid, b.call_sid, a.number);
      tried.push_back({"A's signature for A's number with B's CallSid",
                       gw.signed_post(target, own, a.twilio_token),
                       status_route ? 204 : 200, ""});
      for (const auto& t : tried) {
        INFO(label << " with " << t.name << ": " << t.result.body);
        CHECK(t.result.status == t.status);
        if (!t.code.empty()) {
          CHECK(error_code(t.result) == t.code);
        }
        ++cases;
      }
      continue;
    }

    if (route.check == http::access::open) {
      // Open routes respond the same whatever Authorization header comes
      // with them.
      std::optional<int> baseline;
      for (const auto c : all_credentials) {
        std::string body;
        if (route.pattern == "/api/auth/signup") {
          body =
              json{{"email", "open-" + std::to_string(cases) + "@example.com"},
                   {"password", password}}
                  .dump();
        } else if (route.pattern == "/api/auth/login") {
          body = json{{"email", a.email}, {"password", password}}.dump();
        } else if (route.body == http::body_kind::json) {
          body = "{}";
        }
        const auto result =
            gw.request(route.method, target, body, headers_for(c));
        INFO(label << " with " << name_of(c) << ": " << result.body);
        CHECK(result.status != 401);
        CHECK(result.status != 403);
        CHECK(result.status < 500);
        if (!baseline) {
          baseline = result.status;
        }
        CHECK(result.status == *baseline);
        ++cases;
      }
      continue;
    }

    // Dashboard routes.
    const bool foreign_user = has_segment(route.pattern, ":userId");
    const bool foreign_call = has_segment(route.pattern, ":id");
    for (const auto c : all_credentials) {
      std::string body;
      if (route.body == http::body_kind::json ||
          route.body == http::body_kind::optional_json) {
        if (route.pattern == "/api/twilio/setup/:userId") {
          body = json{{"accountSid", a.twilio_sid},
                      {"authToken", a.twilio_token},
                      {"phoneNumber", a.number}}
                     .dump();
        } else if (route.pattern == "/api/business/:userId") {
          body = json{{"businessName", "Hijacked"}, {"greeting", "Hijacked"}}
                     .dump();
        } else if (route.pattern == "/api/calls") {
          body = json{{"callSid",
                       hex_id("CA", static_cast<int>(++webhook_sid), 'e')},
                      {"from", "+12125550187"},
                      {"to", b.number},
                      {"direction", "inbound"},
                      {"status", "completed"}}
                     .dump();
        } else {
          body = "{}";
        }
      }
      auto headers = headers_for(c);
      if (c == credential::own_token && route.pattern == "/api/auth/logout") {
        // Logging out with A's main token would end it for the rest of
        // the matrix; a spare session of A is used instead.
        const auto spare =
            gw.request("POST", "/api/auth/login",
                       json{{"email", a.email}, {"password", password}}.dump());
        REQUIRE(spare.status == 200);
        headers =
            bearer(json::parse(spare.body).at("token").get<std::string>());
      }
      const auto result = gw.request(route.method, target, body, headers);
      INFO(label << " as " << target << " with " << name_of(c) << ": "
                 << result.body);
      ++cases;
      if (c != credential::own_token) {
        CHECK(result.status == 401);
        CHECK(error_code(result) == "unauthorized");
        continue;
      }
      if (foreign_user) {
        CHECK(result.status == 403);
        CHECK(error_code(result) == "forbidden");
      } else if (foreign_call) {
        const auto missing = gw.request(
            route.method, foreign_target(route.pattern, b, missing_call), body,
            headers);
        CHECK(result.status == 404);
        CHECK(error_code(result) == "not_found");
        CHECK(result.body == missing.body);
        CHECK(result.content_type == missing.content_type);
      } else if (route.pattern == "/api/calls" && route.method == "POST") {
        CHECK(result.status == 422);
        CHECK(error_code(result) == "number_not_claimed");
      } else {
        // A route without path parameters acts on A's own account.
        CHECK(result.status < 500);
      }
    }
  }

  // Every path with a method it does not serve: 405 before any
  // authentication, whatever the credentials.
  for (const auto& pattern : patterns) {
    const auto target = foreign_target(pattern, b, b.call_id);
    for (const auto& method : all_methods) {
      if (methods_of[pattern].count(method) != 0) {
        continue;
      }
      for (const auto c : all_credentials) {
        const auto result = gw.request(
            method, target, method == "GET" || method == "DELETE" ? "" : "{}",
            headers_for(c));
        INFO(method << " " << pattern << " with " << name_of(c) << ": "
                    << result.body);
        CHECK(result.status == 405);
        CHECK(error_code(result) == "method_not_allowed");
        CHECK(result.headers.count("Allow") == 1);
        ++cases;
      }
    }
  }

  CHECK(gw.snapshot(b) == b_before);
  std::cout << "isolation matrix: " << routes.size() << " routes on "
            << patterns.size() << " paths, " << cases << " cases tried\n";
}
