#include "http/app.hpp"
#include "http/errors.hpp"
#include "http/json_io.hpp"
#include "storage/user_store.hpp"

#include <Poco/Logger.h>

#include <cctype>

namespace skyiq::http {

namespace {

Poco::Logger& logger() {
  static Poco::Logger& instance = Poco::Logger::get("gateway.auth");
  return instance;
}

struct login_body {
  std::string email;
  std::string password;
};

caf::expected<login_body> read_login(const request& req) {
  auto object = parse_object(req.body, {"email", "password"});
  if (!object) {
    return std::move(object.error());
  }
  auto email = required_string(*object, "email", 320);
  if (!email) {
    return std::move(email.error());
  }
  auto password = required_string(*object, "password", 1024);
  if (!password) {
    return std::move(password.error());
  }
  return login_body{std::move(*email), std::move(*password)};
}

json session_json(const storage::session_info& session) {
  return {{"userId", session.account_id}, {"token", session.token}};
}

response signup(services& app, request& req) {
  auto body = read_login(req);
  if (!body) {
    return error_response(body.error());
  }
  auto session = app.users->signup(body->email, body->password);
  if (!session) {
    return error_response(session.error());
  }
  logger().information("account-created message=\"account signed up\" "
                       "request_id=" +
                       req.request_id + " account_id=" + session->account_id);
  return json_response(201, session_json(*session));
}

// Lower-cases and trims the email so that the per-email limit cannot be
// dodged by changing case.
std::string email_key(const std::string& email) {
  const auto first = email.find_first_not_of(" \t");
  const auto last = email.find_last_not_of(" \t");
  std::string key = first == std::string::npos
                        ? std::string()
                        : email.substr(first, last - first + 1);
  for (auto& c : key) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return key;
}

// The key of one email tried from one client address. A newline occurs
// in neither an email key nor an address.
std::string pair_key(const std::string& email, const std::string& peer) {
  return email + "\n" + peer;
}

std::optional<response> login_blocked(abuse_limits& limits,
                                      const std::string& email,
                                      const std::string& peer) {
  const auto now = limiter_clock::now();
  auto wait = limits.login_by_email_and_address.blocked(pair_key(email, peer),
                                                        now);
  if (!wait) {
    wait = limits.login_by_email.blocked(email, now);
  }
  if (!wait) {
    wait = limits.login_by_address.blocked(peer, now);
  }
  if (!wait) {
    return std::nullopt;
  }
  return too_many_requests("too many failed logins: retry after " +
                               std::to_string(wait->count()) + " seconds",
                           *wait);
}

response login(services& app, request& req) {
  auto body = read_login(req);
  if (!body) {
    return error_response(body.error());
  }
  const auto key = email_key(body->email);
  if (app.limits) {
    if (auto blocked = login_blocked(*app.limits, key, req.peer)) {
      logger().warning("login-throttled message=\"login rate limited\" "
                       "request_id=" +
                       req.request_id + " peer=" + req.peer);
      return *blocked;
    }
  }
  auto session = app.users->login(body->email, body->password);
  if (!session) {
    if (app.limits && code_of(session.error()) == errc::invalid_credentials) {
      const auto now = limiter_clock::now();
      app.limits->login_by_email_and_address.record_failure(
        pair_key(key, req.peer), now);
      app.limits->login_by_email.record_failure(key, now);
      app.limits->login_by_address.record_failure(req.peer, now);
    }
    return error_response(session.error());
  }
  if (app.limits) {
    app.limits->login_by_email_and_address.reset(pair_key(key, req.peer));
    app.limits->login_by_email.reset(key);
  }
  return json_response(200, session_json(*session));
}

response logout(services& app, request& req) {
  const auto header = req.header("authorization");
  auto done = app.users->logout(header.substr(7));
  if (!done) {
    return error_response(done.error());
  }
  response result;
  result.status = 204;
  result.content_type.clear();
  return result;
}

} // namespace

void add_auth_routes(router& table, services& app) {
  table.add({"POST", "/api/auth/signup", access::open, body_kind::json,
             [&app](request& req) { return signup(app, req); }});
  table.add({"POST", "/api/auth/login", access::open, body_kind::json,
             [&app](request& req) { return login(app, req); }});
  table.add({"POST", "/api/auth/logout", access::account, body_kind::none,
             [&app](request& req) { return logout(app, req); }});
}

} // namespace skyiq::http
