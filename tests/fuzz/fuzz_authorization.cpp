// Fuzzes the Authorization header of dashboard routes through
// http::dispatch, with sessions in a real SQLite user store. The input is
// the header value. Each "@TOKEN@" in it becomes a live session token, so
// the fuzzer also explores headers around a valid token.
// Every request targets the second account's data, so no header may get
// further than 403.

#include "tests/fuzz/fuzz_harness.hpp"

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>

using skyiq::fuzzing::gateway_harness;
using skyiq::fuzzing::require;
using skyiq::fuzzing::require_error_body;

namespace {

std::string with_token(std::string header, const std::string& token) {
  const std::string marker = "@TOKEN@";
  for (auto at = header.find(marker); at != std::string::npos;
       at = header.find(marker, at + token.size())) {
    header.replace(at, marker.size(), token);
  }
  return header;
}

// The one accepted form: the scheme "Bearer" in any case, one space and
// the token itself.
bool names_live_token(const std::string& header, const std::string& token) {
  const std::string scheme = "bearer ";
  if (header.size() != scheme.size() + token.size()) {
    return false;
  }
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != scheme[i]) {
      return false;
    }
  }
  return header.compare(scheme.size(), std::string::npos, token) == 0;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  auto& harness = gateway_harness::instance();
  const auto header = with_token(
      std::string(reinterpret_cast<const char*>(data), size), harness.token());
  const auto& other = harness.other_user_id();
  const bool live = names_live_token(header, harness.token());

  for (const auto* target : {"/api/business/", "/api/calls/user/"}) {
    // An empty header is the same as none.
    const auto result = harness.send("GET", target + other, "", header);
    const auto code = require_error_body(result);
    const auto detail = std::string(target) + " header '" + header +
                        "' status " + std::to_string(result.status);
    if (live) {
      require(result.status == 403, "a live token on a foreign userId is 403",
              detail);
      require(code == "forbidden", "403 carries forbidden", detail);
    } else {
      require(result.status == 401, "any other header is 401", detail);
      require(code == "unauthorized", "401 carries unauthorized", detail);
    }
  }
  return 0;
}
