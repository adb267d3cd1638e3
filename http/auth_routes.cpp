#include "http/app.hpp"
#include "http/errors.hpp"
#include "http/json_io.hpp"
#include "storage/user_store.hpp"

#include <Poco/Logger.h>

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
                       "request_id="
                       + req.request_id + " account_id="
                       + session->account_id);
  return json_response(201, session_json(*session));
}

response login(services& app, request& req) {
  auto body = read_login(req);
  if (!body) {
    return error_response(body.error());
  }
  auto session = app.users->login(body->email, body->password);
  if (!session) {
    return error_response(session.error());
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
