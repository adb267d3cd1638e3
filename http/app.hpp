#pragma once

#include "actors/bridge.hpp"
#include "actors/interfaces.hpp"
#include "config/settings.hpp"
#include "http/limits.hpp"
#include "http/metrics.hpp"
#include "http/router.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>

namespace skyiq::storage {
class database;
class number_directory;
class user_store;
} // namespace skyiq::storage

namespace skyiq::http {

/// Everything the route handlers use. The handlers hold no account state:
/// account data is reached only through the registry and the account's
/// own actor.
struct services {
  config::settings settings;
  std::shared_ptr<storage::user_store> users;
  std::shared_ptr<storage::number_directory> numbers;
  std::shared_ptr<storage::database> database;
  actors::registry_actor registry;
  std::shared_ptr<actors::bridge> bridge;
  std::shared_ptr<metrics> stats;
  std::shared_ptr<abuse_limits> limits;
};

/// Builds the abuse limits from the settings.
std::shared_ptr<abuse_limits> make_limits(const config::settings& s);

/// Builds a 429 `rate_limited` response with its Retry-After header.
response too_many_requests(const std::string& message,
                           std::chrono::seconds retry_after);

/// Builds the route table of the public HTTP contract.
router make_router(services& app);

/// Runs the whole pipeline for one read request: route match (404/405),
/// authentication (401), the `:userId` check (403), then the handler.
/// Exceptions become 500 and are logged.
response dispatch(const router& table, services& app, request& req);

/// Builds a JSON response. Invalid UTF-8 in strings is replaced with
/// U+FFFD instead of throwing.
response json_response(int status, const nlohmann::json& body);

void add_auth_routes(router& table, services& app);
void add_twilio_routes(router& table, services& app);
void add_call_routes(router& table, services& app);
void add_business_routes(router& table, services& app);
void add_health_routes(router& table, services& app);

} // namespace skyiq::http
