#include "actors/twilio/phone_number.hpp"

#include "storage/errors.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

using skyiq::twilio::is_e164;
using skyiq::twilio::normalize_e164;

namespace {

// Returns the normalized number, or "error: <code>" for a failure.
std::string normalized(const std::string& input, const std::string& region) {
  const auto result = normalize_e164(input, region);
  if (!result) {
    return std::string("error: ") +
           skyiq::to_code(skyiq::code_of(result.error()));
  }
  return *result;
}

} // namespace

TEST_CASE("US numbers normalize to E.164") {
  CHECK(normalized("+14155550123", "US") == "+14155550123");
  CHECK(normalized("+1 (415) 555-0123", "US") == "+14155550123");
  CHECK(normalized("(415) 555-0123", "US") == "+14155550123");
  CHECK(normalized("415.555.0123", "US") == "+14155550123");
  CHECK(normalized("1 415 555 0123", "US") == "+14155550123");
  CHECK(normalized("  +14155550123  ", "US") == "+14155550123");
}

TEST_CASE("GB numbers normalize to E.164") {
  CHECK(normalized("+44 20 7946 0958", "US") == "+442079460958");
  CHECK(normalized("020 7946 0958", "GB") == "+442079460958");
  CHECK(normalized("07700 900123", "GB") == "+447700900123");
  CHECK(normalized("+44 (0)20 7946 0958", "US") == "+442079460958");
}

TEST_CASE("DE numbers of varied length normalize") {
  CHECK(normalized("+49 30 123456", "US") == "+4930123456");
  CHECK(normalized("030 12345678", "DE") == "+493012345678");
  CHECK(normalized("0151 23456789", "DE") == "+4915123456789");
}

TEST_CASE("default region applies only without a plus") {
  CHECK(normalized("020 7946 0958", "GB") == "+442079460958");
  CHECK(normalized("+1 415 555 0123", "GB") == "+14155550123");
  CHECK(normalized("00 1 415 555 0123", "GB") == "+14155550123");
  CHECK(normalized("011 44 20 7946 0958", "US") == "+442079460958");
}

TEST_CASE("lower-case default region is accepted") {
  CHECK(normalized("020 7946 0958", "gb") == "+442079460958");
}

TEST_CASE("unassigned but possible numbers pass") {
  // 555-01XX is reserved for fiction and not a valid assigned number, but
  // its length is possible, which is all the gateway requires.
  CHECK(normalized("+1 212 555 0100", "US") == "+12125550100");
}

TEST_CASE("partial numbers are rejected") {
  CHECK(normalized("+1415", "US") == "error: invalid_phone_number");
  CHECK(normalized("+1 415 555", "US") == "error: invalid_phone_number");
  CHECK(normalized("+44 20", "US") == "error: invalid_phone_number");
  CHECK(normalized("+49", "US") == "error: invalid_phone_number");
  CHECK(normalized("+", "US") == "error: invalid_phone_number");
}

TEST_CASE("partial number message names the fix") {
  const auto result = normalize_e164("+1415", "US");
  REQUIRE_FALSE(result);
  const auto message = skyiq::message_of(result.error());
  CHECK(message.find("'+1415' is not a possible phone number") !=
        std::string::npos);
  CHECK(message.find("E.164") != std::string::npos);
  CHECK(message.find("+14155550123") != std::string::npos);
}

TEST_CASE("local numbers without area code are rejected") {
  CHECK(normalized("555 0123", "US") == "error: invalid_phone_number");
}

TEST_CASE("too long numbers are rejected") {
  CHECK(normalized("+1 415 555 0123 4567", "US") ==
        "error: invalid_phone_number");
  CHECK(normalized("+49 30 1234567890123456", "US") ==
        "error: invalid_phone_number");
}

TEST_CASE("over-long input is rejected before parsing") {
  const std::string long_input(41, '1');
  CHECK(normalized(long_input, "US") == "error: invalid_phone_number");
  const auto result = normalize_e164(long_input, "US");
  REQUIRE_FALSE(result);
  CHECK(skyiq::message_of(result.error()).find("41 characters") !=
        std::string::npos);
}

TEST_CASE("garbage is rejected") {
  for (const auto* input :
       {"", "   ", "hello", "1-800-FLOWERS", "+1 415 555 0123 ext 5",
        "+1 415 555 0123;ext=5", "+1 415 555 0123#", "tel:+14155550123",
        "+1\n4155550123", "\xEF\xBC\x91"}) {
    INFO(input);
    CHECK(normalized(input, "US") == "error: invalid_phone_number");
  }
}

TEST_CASE("error message hides control characters") {
  const auto result = normalize_e164("+1\n4155550123", "US");
  REQUIRE_FALSE(result);
  CHECK(skyiq::message_of(result.error()).find("'+1?4155550123'") !=
        std::string::npos);
}

TEST_CASE("unknown country code is rejected") {
  CHECK(normalized("+999 1234 5678", "US") == "error: invalid_phone_number");
}

TEST_CASE("national number with unknown region fails") {
  const auto result = normalize_e164("020 7946 0958", "ZZ");
  REQUIRE_FALSE(result);
  CHECK(skyiq::code_of(result.error()) == skyiq::errc::invalid_phone_number);
  CHECK(skyiq::message_of(result.error()).find("'ZZ'") != std::string::npos);
  CHECK(normalized("+442079460958", "ZZ") == "+442079460958");
}

TEST_CASE("normalized numbers pass the E.164 check") {
  for (const auto* input :
       {"+14155550123", "020 7946 0958", "+4930123456", "+290 2 1234"}) {
    INFO(input);
    const auto result = normalize_e164(input, "GB");
    REQUIRE(result);
    CHECK(is_e164(*result));
  }
}

TEST_CASE("E.164 check accepts plus and 7 to 15 digits") {
  CHECK(is_e164("+14155550123"));
  CHECK(is_e164("+2902123"));
  CHECK(is_e164("+123456789012345"));
}

TEST_CASE("E.164 check rejects other forms") {
  CHECK_FALSE(is_e164(""));
  CHECK_FALSE(is_e164("+"));
  CHECK_FALSE(is_e164("14155550123"));
  CHECK_FALSE(is_e164("+04155550123"));
  CHECK_FALSE(is_e164("+290212"));
  CHECK_FALSE(is_e164("+1234567890123456"));
  CHECK_FALSE(is_e164("+1 4155550123"));
  CHECK_FALSE(is_e164("+1415555012a"));
  CHECK_FALSE(is_e164("++14155550123"));
}

TEST_CASE("normalization is consistent across threads") {
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&mismatches] {
      for (int i = 0; i < 500; ++i) {
        if (normalized("(415) 555-0123", "US") != "+14155550123" ||
            normalized("020 7946 0958", "GB") != "+442079460958") {
          ++mismatches;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  CHECK(mismatches == 0);
}
