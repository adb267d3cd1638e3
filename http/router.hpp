#pragma once

#include "http/exchange.hpp"

#include <functional>
#include <string>
#include <vector>

namespace skyiq::http {

/// Access check of a route, run before its handler.
enum class access {
  /// No authentication (signup, login, health, metrics).
  open,
  /// Twilio's signed requests; the account actor checks the signature.
  twilio,
  /// A dashboard route: a valid bearer token, and a `:userId` segment, if
  /// any, equal to the caller's account id.
  account,
};

/// Body rule of a route.
enum class body_kind { none, json, optional_json, form };

using handler = std::function<response(request&)>;

struct route {
  std::string method;
  /// Segments separated by '/', where `:name` matches one segment.
  std::string pattern;
  access check = access::open;
  body_kind body = body_kind::none;
  handler handle;
};

/// Result of matching a method and path against the route table.
struct route_match {
  const route* found = nullptr;
  /// True when the path matched some route but not with this method.
  bool method_mismatch = false;
  /// Methods that match the path, for the `Allow` header.
  std::vector<std::string> allowed;
  std::map<std::string, std::string> params;
};

/// The table of every route the gateway serves.
class router {
public:
  void add(route r);

  route_match match(const std::string& method, const std::string& path) const;

  /// Returns every route in the order added, for tests to enumerate.
  const std::vector<route>& routes() const {
    return routes_;
  }

private:
  std::vector<route> routes_;
  /// Segments of each route's pattern, split once in `add`.
  std::vector<std::vector<std::string>> patterns_;
};

/// Splits a path into its segments. An empty segment (as in `//` or a
/// trailing `/`) is kept, so that it never matches a `:name`.
std::vector<std::string> split_path(const std::string& path);

} // namespace skyiq::http
