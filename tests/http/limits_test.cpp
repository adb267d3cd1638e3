#include "http/limits.hpp"

#include <catch2/catch.hpp>

using namespace skyiq::http;
using namespace std::chrono_literals;

TEST_CASE("failure limiter blocks after max failures in the window") {
  failure_limiter limiter(3, 60s);
  const auto start = limiter_clock::now();
  for (int i = 0; i < 3; ++i) {
    CHECK_FALSE(limiter.blocked("a@example.com", start + i * 1s));
    limiter.record_failure("a@example.com", start + i * 1s);
  }
  const auto wait = limiter.blocked("a@example.com", start + 3s);
  REQUIRE(wait.has_value());
  CHECK(*wait == 57s);
  CHECK_FALSE(limiter.blocked("b@example.com", start + 3s));
}

TEST_CASE("failure limiter forgets failures that left the window") {
  failure_limiter limiter(2, 10s);
  const auto start = limiter_clock::now();
  limiter.record_failure("k", start);
  limiter.record_failure("k", start + 1s);
  CHECK(limiter.blocked("k", start + 2s));
  CHECK_FALSE(limiter.blocked("k", start + 11s));
}

TEST_CASE("failure limiter reset clears a key") {
  failure_limiter limiter(1, 10s);
  const auto now = limiter_clock::now();
  limiter.record_failure("k", now);
  REQUIRE(limiter.blocked("k", now));
  limiter.reset("k");
  CHECK_FALSE(limiter.blocked("k", now));
}

TEST_CASE("failure limiter with zero failures is off") {
  failure_limiter limiter(0, 10s);
  const auto now = limiter_clock::now();
  limiter.record_failure("k", now);
  CHECK_FALSE(limiter.blocked("k", now));
}

TEST_CASE("rate limiter allows a burst then refills at the rate") {
  rate_limiter limiter(2, 3);
  const auto start = limiter_clock::now();
  CHECK_FALSE(limiter.take("acct", start));
  CHECK_FALSE(limiter.take("acct", start));
  CHECK_FALSE(limiter.take("acct", start));
  const auto wait = limiter.take("acct", start);
  REQUIRE(wait.has_value());
  CHECK(*wait == 1s);
  CHECK_FALSE(limiter.take("other", start));
  CHECK_FALSE(limiter.take("acct", start + 600ms));
}

TEST_CASE("rate limiter with rate zero is off") {
  rate_limiter limiter(0, 1);
  const auto now = limiter_clock::now();
  for (int i = 0; i < 100; ++i) {
    CHECK_FALSE(limiter.take("acct", now));
  }
}
