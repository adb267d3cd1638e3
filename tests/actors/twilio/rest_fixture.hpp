#pragma once

// Shared set-up of the REST client tests: a fake Twilio with two accounts
// and a client pointed at it.

#include "actors/twilio/rest_client.hpp"
#include "storage/errors.hpp"
#include "tests/fake_twilio/fake_twilio.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <mutex>
#include <utility>
#include <vector>

namespace Catch {

/// Shows project error codes by name in failed checks.
template <>
struct StringMaker<skyiq::errc> {
  static std::string convert(skyiq::errc code) {
    return skyiq::to_code(code);
  }
};

} // namespace Catch

namespace skyiq::twilio::test {

inline const std::string account_a = "AC0123456789abcdef0123456789abcdef";
inline const std::string token_a = "token-a-0123456789abcdef";
inline const std::string account_b = "ACfedcba9876543210fedcba9876543210";
inline const std::string token_b = "token-b-fedcba9876543210";

/// Returns a phone number SID whose last digits are `n`.
inline std::string number_sid(int n) {
  auto digits = std::to_string(n);
  return "PN" + std::string(32 - digits.size(), '0') + digits;
}

/// Records the on_error calls of a client.
struct error_log {
  std::mutex mutex;
  std::vector<std::pair<int, int>> calls;

  std::vector<std::pair<int, int>> snapshot() {
    std::lock_guard<std::mutex> guard(mutex);
    return calls;
  }
};

/// Returns a fault for `count` requests matching `method` and `path`.
inline skyiq::testing::fault make_fault(std::string method, std::string path,
                                        int status, int count = 1) {
  skyiq::testing::fault result;
  result.method = std::move(method);
  result.path_contains = std::move(path);
  result.status = status;
  result.count = count;
  return result;
}

struct rest_fixture {
  skyiq::testing::fake_twilio fake;
  std::shared_ptr<error_log> errors = std::make_shared<error_log>();
  credentials creds_a{account_a, token_a};
  credentials creds_b{account_b, token_b};

  rest_fixture() {
    fake.add_account(account_a, token_a);
    fake.add_account(account_b, token_b);
  }

  rest_options options() const {
    rest_options result;
    result.base_url = fake.base_url();
    result.timeout = std::chrono::milliseconds(3000);
    result.connect_timeout = std::chrono::milliseconds(1000);
    result.max_retries = 2;
    result.retry_backoff = std::chrono::milliseconds(10);
    result.on_error = [log = errors](int status, int code) {
      std::lock_guard<std::mutex> guard(log->mutex);
      log->calls.emplace_back(status, code);
    };
    return result;
  }

  rest_client client() const {
    return client(options());
  }

  static rest_client client(rest_options opts) {
    auto created = rest_client::make(std::move(opts));
    REQUIRE(created);
    return std::move(*created);
  }
};

/// Milliseconds that `run` takes.
template <class F>
long long elapsed_ms(F&& run) {
  const auto start = std::chrono::steady_clock::now();
  run();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now() - start)
      .count();
}

} // namespace skyiq::twilio::test
