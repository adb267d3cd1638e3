#include "http/json_io.hpp"

#include "storage/errors.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <ctime>

using namespace skyiq::http;

TEST_CASE("parse_object names the byte of a syntax error") {
  const auto parsed = parse_object("{\"a\": }", {"a"});
  REQUIRE_FALSE(parsed);
  const auto message = skyiq::message_of(parsed.error());
  CHECK(message.find("malformed JSON at byte 7") != std::string::npos);
}

TEST_CASE("parse_object rejects numbers out of range") {
  const auto parsed = parse_object("{\"a\": 1e400}", {"a"});
  REQUIRE_FALSE(parsed);
  CHECK(skyiq::code_of(parsed.error()) == skyiq::errc::invalid_request);
  CHECK(skyiq::message_of(parsed.error()).find("out of range")
        != std::string::npos);
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

namespace {

skyiq::storage::call_record sample_call(const std::string& text) {
  skyiq::storage::call_record call;
  call.id = "id-" + text;
  call.call_sid = "CA" + text;
  call.from = "+14155550100";
  call.to = text;
  call.direction = "inbound";
  call.status = "completed";
  call.created_at = 1764860400123;
  call.started_at = 1764860401000;
  call.duration_seconds = 42;
  return call;
}

std::string dump_tree(const skyiq::storage::call_page& page) {
  return to_json(page).dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace

TEST_CASE("dump_call_page matches the JSON tree's dump") {
  const std::vector<std::string> texts = {
      "plain",        "",           "quote\" and \\ backslash",
      "tab\tnewline\n", "control\x01", "caf\xc3\xa9 and \xe2\x82\xac",
      "bad \xff utf-8", "cut \xe2\x82", "del\x7f",
  };
  skyiq::storage::call_page page;
  CHECK(dump_call_page(page) == dump_tree(page));
  for (const auto& text : texts) {
    page.calls.push_back(sample_call(text));
    INFO("after the call with " << text);
    CHECK(dump_call_page(page) == dump_tree(page));
  }
  page.calls.back().started_at.reset();
  page.calls.back().duration_seconds.reset();
  page.calls.back().ended_at = -1;
  page.next_cursor = "MTc2NDg2MDQwMDEyMzppZA";
  CHECK(dump_call_page(page) == dump_tree(page));
}

namespace {

// The gmtime_r-based formatting that format_time replaced.
std::string format_with_gmtime(skyiq::storage::timestamp_ms ms) {
  const std::time_t seconds =
      static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  const int millis = static_cast<int>(ms - seconds * 1000LL);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[80];
  std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                parts.tm_hour, parts.tm_min, parts.tm_sec, millis);
  return text;
}

} // namespace

TEST_CASE("format_time agrees with gmtime_r") {
  const std::vector<skyiq::storage::timestamp_ms> fixed = {
      -1,           -999,          -1000,         -86400000,
      951782400000, 951868799999,  4107542399999, 253402300799999,
      1709164800123, 1767225599999, 1764860400123,
  };
  for (const auto ms : fixed) {
    INFO("ms = " << ms);
    CHECK(format_time(ms) == format_with_gmtime(ms));
  }
  // Every 7 hours, 13 minutes and 17.011 seconds from 1900 to 2200.
  for (skyiq::storage::timestamp_ms ms = -2208988800000;
       ms < 7258118400000; ms += 25997011) {
    INFO("ms = " << ms);
    REQUIRE(format_time(ms) == format_with_gmtime(ms));
  }
}
