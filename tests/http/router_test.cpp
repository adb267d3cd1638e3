#include "http/router.hpp"

#include <catch2/catch.hpp>

using namespace skyiq::http;

namespace {

router sample() {
  router table;
  auto ok = [](request&) { return response{}; };
  table.add(
      {"GET", "/api/calls/user/:userId", access::account, body_kind::none, ok});
  table.add({"POST", "/api/calls", access::account, body_kind::json, ok});
  table.add({"DELETE", "/api/calls/:id", access::account, body_kind::none, ok});
  table.add(
      {"GET", "/api/business/:userId", access::account, body_kind::none, ok});
  table.add(
      {"POST", "/api/business/:userId", access::account, body_kind::json, ok});
  return table;
}

} // namespace

TEST_CASE("router matches parameters by segment") {
  const auto table = sample();
  const auto found = table.match("GET", "/api/calls/user/abc");
  REQUIRE(found.found != nullptr);
  CHECK(found.found->pattern == "/api/calls/user/:userId");
  CHECK(found.params.at("userId") == "abc");
}

TEST_CASE("router reports wrong methods with the allowed ones") {
  const auto table = sample();
  const auto found = table.match("PUT", "/api/business/abc");
  CHECK(found.found == nullptr);
  CHECK(found.method_mismatch);
  REQUIRE(found.allowed.size() == 2);
  CHECK(found.allowed[0] == "GET");
  CHECK(found.allowed[1] == "POST");
}

TEST_CASE("router rejects unknown and near-miss paths") {
  const auto table = sample();
  for (const auto* path :
       {"/api/calls/user/", "/api/calls/user/a/b", "/api/call", "/",
        "/api/calls/user//", "//api/calls", "/api/calls/", ""}) {
    INFO(path);
    const auto found = table.match("GET", path);
    CHECK(found.found == nullptr);
    CHECK_FALSE(found.method_mismatch);
  }
}

TEST_CASE("router does not treat a trailing slash as a parameter") {
  const auto table = sample();
  CHECK(table.match("DELETE", "/api/calls/").found == nullptr);
  CHECK(table.match("POST", "/api/calls").found != nullptr);
}

TEST_CASE("split_target decodes the query") {
  std::string path;
  std::map<std::string, std::string> query;
  REQUIRE(split_target("/a/b?x=1&y=a%20b&z=c+d&flag", path, query));
  CHECK(path == "/a/b");
  CHECK(query.at("x") == "1");
  CHECK(query.at("y") == "a b");
  CHECK(query.at("z") == "c d");
  CHECK(query.at("flag").empty());
  CHECK_FALSE(split_target("/a?x=%zz", path, query));
  CHECK_FALSE(split_target("/a?x=%4", path, query));
  CHECK_FALSE(split_target("http://host/a", path, query));
}
