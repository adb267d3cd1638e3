#include "actors/cluster/message_types.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/message.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

using namespace skyiq;

namespace {

constexpr auto int64_max = std::numeric_limits<std::int64_t>::max();
constexpr auto int64_min = std::numeric_limits<std::int64_t>::min();

// Non-ASCII text in several scripts, an emoji outside the BMP and an
// embedded NUL, to catch any length or encoding mistake.
const std::string unicode = std::string("Zoë's Café · 東京 · ☎️ 📞 ") +
                            std::string("a\0b", 3);

struct fixture {
  caf::actor_system_config config;
  caf::actor_system system;

  fixture() : system(cluster::add_message_types(config)) {
  }

  // Serializes `value` alone and reads it back into a fresh object.
  template <class T>
  T round_trip(T value) {
    std::vector<char> buffer;
    caf::binary_serializer sink{system, buffer};
    auto err = sink(value);
    INFO(system.render(err));
    REQUIRE_FALSE(err);
    REQUIRE_FALSE(buffer.empty());
    T result;
    caf::binary_deserializer source{system, buffer};
    err = source(result);
    INFO(system.render(err));
    REQUIRE_FALSE(err);
    CHECK(source.remaining() == 0);
    return result;
  }

  // Serializes `value` inside a caf::message, as a node link does, which
  // needs the type registered by name, and returns the element read back.
  template <class T>
  T message_round_trip(T value) {
    auto message = caf::make_message(std::move(value));
    std::vector<char> buffer;
    caf::binary_serializer sink{system, buffer};
    auto err = sink(message);
    INFO(system.render(err));
    REQUIRE_FALSE(err);
    caf::message result;
    caf::binary_deserializer source{system, buffer};
    err = source(result);
    INFO(system.render(err));
    REQUIRE_FALSE(err);
    REQUIRE(result.match_elements<T>());
    return result.get_as<T>(0);
  }
};

storage::call_record full_call() {
  storage::call_record call;
  call.id = "Xy9_-abcdefghijklmnopq";
  call.call_sid = "CA0123456789abcdef0123456789abcdef";
  call.from = "+15551234567";
  call.to = unicode;
  call.direction = "outbound-dial";
  call.status = "completed";
  call.created_at = int64_max;
  call.started_at = int64_min;
  call.ended_at = 0;
  call.duration_seconds = int64_max;
  call.last_sequence = int64_max;
  return call;
}

void check_same(const storage::call_record& a, const storage::call_record& b) {
  CHECK(a.id == b.id);
  CHECK(a.call_sid == b.call_sid);
  CHECK(a.from == b.from);
  CHECK(a.to == b.to);
  CHECK(a.direction == b.direction);
  CHECK(a.status == b.status);
  CHECK(a.created_at == b.created_at);
  CHECK(a.started_at == b.started_at);
  CHECK(a.ended_at == b.ended_at);
  CHECK(a.duration_seconds == b.duration_seconds);
  CHECK(a.last_sequence == b.last_sequence);
}

void check_same(const storage::business_profile& a,
                const storage::business_profile& b) {
  CHECK(a.business_name == b.business_name);
  CHECK(a.greeting == b.greeting);
  CHECK(a.timezone == b.timezone);
  CHECK(a.hours == b.hours);
  CHECK(a.forward_to == b.forward_to);
}

void check_same(const actors::profile_patch& a,
                const actors::profile_patch& b) {
  CHECK(a.business_name == b.business_name);
  CHECK(a.greeting == b.greeting);
  CHECK(a.timezone == b.timezone);
  CHECK(a.hours == b.hours);
  CHECK(a.forward_to == b.forward_to);
}

} // namespace

TEST_CASE_METHOD(fixture, "call_record round-trips with full fields") {
  auto call = full_call();
  check_same(round_trip(call), call);
  check_same(message_round_trip(call), call);
}

TEST_CASE_METHOD(fixture, "call_record round-trips with empty optionals") {
  storage::call_record call;
  call.call_sid = "CA1";
  auto copy = round_trip(call);
  check_same(copy, call);
  CHECK_FALSE(copy.started_at.has_value());
  CHECK_FALSE(copy.ended_at.has_value());
  CHECK_FALSE(copy.duration_seconds.has_value());
  CHECK(copy.last_sequence == -1);
}

TEST_CASE_METHOD(fixture, "loading clears an optional set before") {
  storage::call_record empty;
  std::vector<char> buffer;
  caf::binary_serializer sink{system, buffer};
  REQUIRE_FALSE(sink(empty));
  auto target = full_call();
  caf::binary_deserializer source{system, buffer};
  REQUIRE_FALSE(source(target));
  CHECK_FALSE(target.started_at.has_value());
  CHECK_FALSE(target.ended_at.has_value());
  CHECK_FALSE(target.duration_seconds.has_value());
}

TEST_CASE_METHOD(fixture, "status_update round-trips") {
  storage::status_update update;
  update.call_sid = "CA2";
  update.status = "in-progress";
  update.from = unicode;
  update.to = "+442071838750";
  update.direction = "inbound";
  update.sequence_number = int64_max;
  update.duration_seconds = 0;
  update.event_time = int64_min;
  for (auto& copy : {round_trip(update), message_round_trip(update)}) {
    CHECK(copy.call_sid == update.call_sid);
    CHECK(copy.status == update.status);
    CHECK(copy.from == update.from);
    CHECK(copy.to == update.to);
    CHECK(copy.direction == update.direction);
    CHECK(copy.sequence_number == update.sequence_number);
    CHECK(copy.duration_seconds == update.duration_seconds);
    CHECK(copy.event_time == update.event_time);
  }
}

TEST_CASE_METHOD(fixture, "call_query round-trips") {
  storage::call_query query;
  query.limit = std::numeric_limits<std::size_t>::max();
  query.cursor = unicode;
  query.status = "no-answer";
  for (auto& copy : {round_trip(query), message_round_trip(query)}) {
    CHECK(copy.limit == query.limit);
    CHECK(copy.cursor == query.cursor);
    CHECK(copy.status == query.status);
  }
}

TEST_CASE_METHOD(fixture, "call_page round-trips with its calls") {
  storage::call_page page;
  page.calls.push_back(full_call());
  page.calls.emplace_back();
  page.next_cursor = "cursor-" + unicode;
  for (auto& copy : {round_trip(page), message_round_trip(page)}) {
    REQUIRE(copy.calls.size() == 2);
    check_same(copy.calls[0], page.calls[0]);
    check_same(copy.calls[1], page.calls[1]);
    CHECK(copy.next_cursor == page.next_cursor);
  }
}

TEST_CASE_METHOD(fixture, "empty call_page round-trips") {
  auto copy = message_round_trip(storage::call_page{});
  CHECK(copy.calls.empty());
  CHECK(copy.next_cursor.empty());
}

TEST_CASE_METHOD(fixture, "business_profile round-trips") {
  storage::business_profile profile;
  profile.business_name = unicode;
  profile.greeting = std::string();
  profile.hours = "Mo-Fr 09:00-17:00";
  for (auto& copy : {round_trip(profile), message_round_trip(profile)}) {
    check_same(copy, profile);
    CHECK_FALSE(copy.timezone.has_value());
    CHECK_FALSE(copy.forward_to.has_value());
  }
}

TEST_CASE_METHOD(fixture, "profile_patch keeps absent apart from null") {
  actors::profile_patch patch;
  patch.business_name = std::optional<std::string>(unicode);
  patch.greeting = std::optional<std::string>(std::nullopt);
  patch.hours = std::optional<std::string>("");
  for (auto& copy : {round_trip(patch), message_round_trip(patch)}) {
    check_same(copy, patch);
    REQUIRE(copy.greeting.has_value());
    CHECK_FALSE(copy.greeting->has_value());
    CHECK_FALSE(copy.timezone.has_value());
    REQUIRE(copy.hours.has_value());
    REQUIRE(copy.hours->has_value());
    CHECK(copy.hours->value().empty());
  }
}

TEST_CASE_METHOD(fixture, "twilio_request round-trips in order") {
  actors::twilio_request request;
  request.url = "https://gw.example.com/api/twilio/webhook?x=%C3%A9";
  request.params = {{"To", "+15551234567"},
                    {"CallerName", unicode},
                    {"Digits", ""},
                    {"Digits", "1"},
                    {"AccountSid", "AC0123456789abcdef0123456789abcdef"}};
  request.signature = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";
  request.request_id = "req-1";
  for (auto& copy : {round_trip(request), message_round_trip(request)}) {
    CHECK(copy.url == request.url);
    CHECK(copy.params == request.params);
    CHECK(copy.signature == request.signature);
    CHECK(copy.request_id == request.request_id);
  }
}

TEST_CASE_METHOD(fixture, "setup_result round-trips") {
  actors::setup_result result;
  result.phone_number = "+15551234567";
  result.phone_number_sid = "PN0123456789abcdef0123456789abcdef";
  result.voice_url = "https://gw.example.com/api/twilio/webhook";
  result.status_callback = "https://gw.example.com/api/twilio/status";
  result.created = true;
  for (auto& copy : {round_trip(result), message_round_trip(result)}) {
    CHECK(copy.phone_number == result.phone_number);
    CHECK(copy.phone_number_sid == result.phone_number_sid);
    CHECK(copy.voice_url == result.voice_url);
    CHECK(copy.status_callback == result.status_callback);
    CHECK(copy.created);
  }
}

TEST_CASE_METHOD(fixture, "number_list round-trips") {
  actors::number_list list(2);
  list[0].phone_number = "+15551234567";
  list[0].phone_number_sid = "PN1";
  list[0].friendly_name = unicode;
  list[0].voice_url = "https://example.com/voice";
  list[0].claimed_by_you = true;
  for (auto& copy : {round_trip(list), message_round_trip(list)}) {
    REQUIRE(copy.size() == 2);
    CHECK(copy[0].phone_number == list[0].phone_number);
    CHECK(copy[0].phone_number_sid == list[0].phone_number_sid);
    CHECK(copy[0].friendly_name == list[0].friendly_name);
    CHECK(copy[0].voice_url == list[0].voice_url);
    CHECK(copy[0].claimed_by_you);
    CHECK(copy[1].phone_number.empty());
    CHECK_FALSE(copy[1].claimed_by_you);
  }
}

TEST_CASE_METHOD(fixture, "truncated input fails to load") {
  std::vector<char> buffer;
  caf::binary_serializer sink{system, buffer};
  auto call = full_call();
  REQUIRE_FALSE(sink(call));
  buffer.resize(buffer.size() / 2);
  storage::call_record copy;
  caf::binary_deserializer source{system, buffer};
  CHECK(source(copy));
}

TEST_CASE_METHOD(fixture, "receiver without the types drops them") {
  // A node that did not call add_message_types has no factory for the
  // wire name. CAF 0.17.6 then loads an empty message and reports no
  // error, so a missing registration shows up only as lost messages.
  auto message = caf::make_message(full_call());
  std::vector<char> buffer;
  caf::binary_serializer sink{system, buffer};
  REQUIRE_FALSE(sink(message));
  caf::actor_system_config plain_config;
  caf::actor_system plain_system{plain_config};
  caf::message result;
  caf::binary_deserializer source{plain_system, buffer};
  source(result);
  CHECK(result.empty());
  CHECK(source.remaining() > 0);
}
