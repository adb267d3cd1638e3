#include "http/app.hpp"

#include "http/errors.hpp"
#include "storage/user_store.hpp"

#include <Poco/Logger.h>

#include <cctype>

namespace skyiq::http {

namespace {

Poco::Logger& logger() {
  static Poco::Logger& instance = Poco::Logger::get("gateway.http");
  return instance;
}

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

// Accepts exactly "Bearer <token>" (scheme case-insensitive, one space)
// with a token of URL-safe base64 characters.
std::optional<std::string> bearer_token(const std::string& header) {
  constexpr std::size_t prefix = 7;
  if (header.size() <= prefix || header.size() > prefix + 256) {
    return std::nullopt;
  }
  std::string scheme = header.substr(0, prefix);
  for (auto& c : scheme) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (scheme != "bearer ") {
    return std::nullopt;
  }
  auto token = header.substr(prefix);
  for (char c : token) {
    if (!is_token_char(c)) {
      return std::nullopt;
    }
  }
  return token;
}

std::optional<response> authorize(services& app, request& req) {
  const auto token = bearer_token(req.header("authorization"));
  const std::string hint = "log in and send Authorization: Bearer <token>";
  if (!token) {
    return error_response(errc::unauthorized,
                          "missing or malformed bearer token: " + hint);
  }
  auto account = app.users->authenticate(*token);
  if (!account) {
    if (code_of(account.error()) == errc::unavailable) {
      return error_response(account.error());
    }
    return error_response(errc::unauthorized,
                          "the session token is invalid or expired: " + hint);
  }
  req.account_id = *account;
  if (app.limits) {
    const auto wait = app.limits->dashboard_by_account.take(
        req.account_id, limiter_clock::now());
    if (wait) {
      return too_many_requests("too many requests for this account: retry "
                               "after the Retry-After delay",
                               *wait);
    }
  }
  const auto user = req.path_params.find("userId");
  if (user != req.path_params.end() && user->second != req.account_id) {
    return error_response(errc::forbidden,
                          "this token cannot access another user's data");
  }
  return std::nullopt;
}

response route_not_found(const route_match& found, const request& req) {
  if (!found.method_mismatch) {
    auto result = error_response(errc::not_found,
                                 "no route for " + req.method + " " + req.path +
                                     ": see the API table in README.md");
    return result;
  }
  std::string allowed;
  for (const auto& method : found.allowed) {
    allowed += (allowed.empty() ? "" : ", ") + method;
  }
  auto result = error_response(errc::method_not_allowed,
                               "method " + req.method + " is not allowed on " +
                                   req.path + ": use " + allowed);
  result.headers.emplace_back("Allow", allowed);
  return result;
}

} // namespace

std::shared_ptr<abuse_limits> make_limits(const config::settings& s) {
  return std::make_shared<abuse_limits>(
      s.security_login_max_failures, s.security_login_max_failures_per_email,
      s.security_login_max_failures_per_address,
      s.security_login_failure_window, s.http_account_rate,
      s.http_account_burst);
}

response too_many_requests(const std::string& message,
                           std::chrono::seconds retry_after) {
  auto result = error_response(errc::rate_limited, message);
  result.headers.emplace_back("Retry-After",
                              std::to_string(retry_after.count()));
  return result;
}

response json_response(int status, const nlohmann::json& body) {
  response result;
  result.status = status;
  result.body =
      body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return result;
}

router make_router(services& app) {
  router table;
  add_auth_routes(table, app);
  add_twilio_routes(table, app);
  add_call_routes(table, app);
  add_business_routes(table, app);
  add_health_routes(table, app);
  return table;
}

response dispatch(const router& table, services& app, request& req) {
  const auto found = table.match(req.method, req.path);
  if (!found.found) {
    return route_not_found(found, req);
  }
  req.path_params = found.params;
  try {
    if (found.found->check == access::account) {
      if (auto denied = authorize(app, req)) {
        return *denied;
      }
    }
    return found.found->handle(req);
  } catch (const std::exception& e) {
    logger().error("request-failed message=\"unexpected exception\" "
                   "request_id=" +
                   req.request_id + " route=\"" + found.found->pattern +
                   "\" what=\"" + e.what() + "\"");
    return error_response(errc::internal,
                          "internal error: retry, and report request id " +
                              req.request_id + " if it persists");
  }
}

} // namespace skyiq::http
