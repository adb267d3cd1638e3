// Fuzzes request-target handling: split_target, percent_decode, the
// route table's path matching, and http::dispatch both without credentials
// and, for GET and DELETE, with a live session.
// The input is "METHOD\nTARGET", or a GET target without a line break.

#include "actors/twilio/signature.hpp"
#include "http/exchange.hpp"
#include "http/router.hpp"
#include "tests/fuzz/fuzz_harness.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

using skyiq::fuzzing::gateway_harness;
using skyiq::fuzzing::require;
using skyiq::fuzzing::require_error_body;
namespace http = skyiq::http;

namespace {

// Rebuilds a path from a pattern and the parameters the router bound.
std::string fill_pattern(const std::string& pattern,
                         const std::map<std::string, std::string>& params) {
  std::string path;
  for (const auto& segment : http::split_path(pattern)) {
    path += '/';
    if (!segment.empty() && segment[0] == ':') {
      path += params.at(segment.substr(1));
    } else {
      path += segment;
    }
  }
  return path;
}

void check_percent_decode(const std::string& text) {
  std::string decoded;
  if (!http::percent_decode(text, false, decoded)) {
    require(text.find('%') != std::string::npos,
            "only a bad escape fails percent_decode", text);
    return;
  }
  require(decoded.size() <= text.size(), "decoding never grows the text", text);
  std::string again;
  require(http::percent_decode(skyiq::twilio::percent_encode(decoded), false,
                               again),
          "percent_encode output decodes", text);
  require(again == decoded, "decode(encode(x)) == x", text);
}

void check_match(const gateway_harness& harness, const std::string& method,
                 const std::string& path, const http::route_match& found) {
  const auto detail = method + " " + path;
  if (found.found) {
    require(found.found->method == method, "a match has the method", detail);
    require(fill_pattern(found.found->pattern, found.params) == path,
            "the bound parameters rebuild the path", detail);
    for (const auto& [name, value] : found.params) {
      require(!value.empty(), "a path parameter is never empty", detail);
      require(value.find('/') == std::string::npos,
              "a path parameter is one segment", detail);
    }
    return;
  }
  require(found.method_mismatch == !found.allowed.empty(),
          "a method mismatch lists the allowed methods", detail);
  require(std::find(found.allowed.begin(), found.allowed.end(), method) ==
              found.allowed.end(),
          "the allowed methods exclude the one requested", detail);
  for (const auto& other : found.allowed) {
    require(harness.routes().match(other, path).found != nullptr,
            "every allowed method matches the path", detail + " " + other);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  const std::string method =
      newline == std::string::npos
          ? "GET"
          : input.substr(0, std::min<std::size_t>(newline, 16));
  const std::string target =
      newline == std::string::npos ? input : input.substr(newline + 1);

  check_percent_decode(target);

  std::string path;
  std::map<std::string, std::string> query;
  if (!http::split_target(target, path, query)) {
    return 0;
  }
  require(!path.empty() && path[0] == '/', "a split path is absolute", target);
  require(path.find('?') == std::string::npos, "the path has no query", target);

  auto& harness = gateway_harness::instance();
  const auto found = harness.routes().match(method, path);
  check_match(harness, method, path, found);

  // Without credentials no route reaches account data: account routes are
  // 401, and the others respond from their own input.
  const auto result = harness.send(method, target, "", "");
  const auto detail = method + " " + target + " status " +
                      std::to_string(result.status) + " response " +
                      result.body;
  require(result.status != 500, "no target makes dispatch fail with 500",
          detail);
  if (!found.found) {
    const auto code = require_error_body(result);
    require(result.status == (found.method_mismatch ? 405 : 404),
            "an unmatched target is 404, or 405 on a known path", detail);
    require(code ==
                (found.method_mismatch ? "method_not_allowed" : "not_found"),
            "the unmatched code names the case", detail);
  } else if (found.found->check == http::access::account) {
    require(result.status == 401, "an account route without token is 401",
            detail);
  }

  // With the session of the account whose id replaces "{self}", the query
  // of a dashboard read reaches its handler. GET and DELETE only, so that
  // no input logs the session out.
  if (method != "GET" && method != "DELETE") {
    return 0;
  }
  std::string own_target = target;
  for (auto at = own_target.find("{self}"); at != std::string::npos;
       at = own_target.find("{self}", at + harness.user_id().size())) {
    own_target.replace(at, 6, harness.user_id());
  }
  const auto own =
      harness.send(method, own_target, "", "Bearer " + harness.token());
  const auto own_detail = method + " " + own_target + " status " +
                          std::to_string(own.status) + " response " + own.body;
  require(own.status != 500, "no target makes a dashboard read fail with 500",
          own_detail);
  require(own.status != 401, "a live session token is never 401", own_detail);
  return 0;
}
