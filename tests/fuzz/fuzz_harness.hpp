#pragma once

// An in-process gateway for fuzz targets that drive http::dispatch: SQLite
// in a scratch directory, the real actor node, the route table and two
// signed-up accounts. Nothing listens on a socket. Twilio REST calls go to
// a closed loopback port, so a setup that passes validation ends in 502.

#include "actors/node.hpp"
#include "http/app.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace skyiq::fuzzing {

class gateway_harness {
public:
  /// Returns the process-wide harness, built on first use and torn down at
  /// exit (actors stopped, scratch directory removed).
  static gateway_harness& instance();

  gateway_harness(const gateway_harness&) = delete;
  gateway_harness& operator=(const gateway_harness&) = delete;
  ~gateway_harness();

  /// Runs `method target` with `body` and the given Authorization header
  /// (none when empty) through the router, as the server would after
  /// reading the request.
  http::response send(const std::string& method, const std::string& target,
                      const std::string& body,
                      const std::string& authorization);

  http::services& app() {
    return *app_;
  }
  const http::router& routes() const {
    return router_;
  }

  /// Account id and session token of the account the requests act as.
  const std::string& user_id() const {
    return user_id_;
  }
  const std::string& token() const {
    return token_;
  }
  /// A second account, whose id the first account must not reach.
  const std::string& other_user_id() const {
    return other_user_id_;
  }

private:
  gateway_harness();

  std::string dir_;
  caf::actor_system_config caf_config_;
  std::unique_ptr<caf::actor_system> system_;
  std::unique_ptr<actors::node> node_;
  std::shared_ptr<http::services> app_;
  http::router router_;
  std::string user_id_;
  std::string token_;
  std::string other_user_id_;
};

/// Aborts with `what` on stderr when `condition` is false, so that
/// libFuzzer records the input as a crash.
void require(bool condition, const char* what, const std::string& detail = "");

/// Checks the one error body shape: {"error": {"code", "message"}} with
/// string values. Returns the code.
std::string require_error_body(const http::response& result);

} // namespace skyiq::fuzzing
