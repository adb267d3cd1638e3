#include "http/json_io.hpp"

#include "storage/errors.hpp"

#include <catch2/catch.hpp>

using namespace skyiq::http;

TEST_CASE("parse_object names the byte of a syntax error") {
  const auto parsed = parse_object("{\"a\": }", {"a"});
  REQUIRE_FALSE(parsed);
  const auto message = skyiq::message_of(parsed.error());
  CHECK(message.find("malformed JSON at byte 7") != std::string::npos);
}

TEST_CASE("parse_object rejects non-objects and unknown fields") {
  CHECK_FALSE(parse_object("[1]", {}));
  const auto unknown = parse_object("{\"b\": 1}", {"a"});
  REQUIRE_FALSE(unknown);
  CHECK(skyiq::message_of(unknown.error()).find("'b'") != std::string::npos);
}

TEST_CASE("string fields check type and length in characters") {
  const auto object = json::parse(R"({"n": 5, "s": "héllo"})");
  CHECK_FALSE(required_string(object, "n", 10));
  CHECK_FALSE(required_string(object, "missing", 10));
  CHECK(*required_string(object, "s", 5) == "héllo");
  CHECK_FALSE(required_string(object, "s", 4));
}

TEST_CASE("patch_string tells absent from null") {
  const auto object = json::parse(R"({"a": null, "b": "x"})");
  const auto absent = patch_string(object, "c", 10);
  const auto null = patch_string(object, "a", 10);
  const auto set = patch_string(object, "b", 10);
  REQUIRE(absent);
  REQUIRE(null);
  REQUIRE(set);
  CHECK_FALSE(absent->has_value());
  REQUIRE(null->has_value());
  CHECK_FALSE(null->value().has_value());
  CHECK(set->value().value() == "x");
}

TEST_CASE("format_time writes RFC 3339 with milliseconds") {
  CHECK(format_time(0) == "1970-01-01T00:00:00.000Z");
  CHECK(format_time(1764860400123) == "2025-12-04T15:00:00.123Z");
}

TEST_CASE("a call renders absent times as null") {
  skyiq::storage::call_record call;
  call.id = "id";
  call.created_at = 1000;
  const auto rendered = to_json(call);
  CHECK(rendered["createdAt"] == "1970-01-01T00:00:01.000Z");
  CHECK(rendered["startedAt"].is_null());
  CHECK(rendered["durationSeconds"].is_null());
}
