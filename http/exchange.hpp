#pragma once

#include <map>
#include <string>
#include <vector>

namespace skyiq::http {

/// A request after the server read it: the body is complete and within
/// its route's limit.
struct request {
  std::string method;
  /// The request target exactly as received, query included.
  std::string target;
  /// The target's path, without the query.
  std::string path;
  /// Query parameters, percent-decoded.
  std::map<std::string, std::string> query;
  /// Header names in lower case.
  std::map<std::string, std::string> headers;
  std::string body;
  std::string request_id;
  std::string peer;

  /// Filled by the router: `:name` segments of the matched pattern.
  std::map<std::string, std::string> path_params;
  /// Filled by authentication: the caller's account id.
  std::string account_id;

  /// Returns a header by its lower-case name, or an empty string.
  std::string header(const std::string& name) const;
};

struct response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  /// Closes the connection after this response (used after errors that
  /// leave unread bytes on it).
  bool close = false;
  /// Reads and drops what is left of the request body after the response
  /// (with `close`), for errors sent before the body was read.
  bool drain = false;
};

/// Splits a request target into path and decoded query parameters.
/// Returns false when the target is not an origin-form path.
bool split_target(const std::string& target, std::string& path,
                  std::map<std::string, std::string>& query);

/// Decodes %XX escapes and, when `plus_is_space`, '+'. Returns false on a
/// malformed escape.
bool percent_decode(const std::string& text, bool plus_is_space,
                    std::string& out);

} // namespace skyiq::http
