#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace skyiq::http {

using limiter_clock = std::chrono::steady_clock;

/// Counts failures per key (an email, a client address) in a sliding
/// window. A key with `max_failures` inside the window is blocked until its
/// oldest failure leaves the window. Thread-safe. Keys whose failures all
/// expired are pruned, which bounds memory.
class failure_limiter {
public:
  failure_limiter(std::size_t max_failures, std::chrono::seconds window);

  /// Returns how long `key` stays blocked, or nothing when it is not.
  std::optional<std::chrono::seconds> blocked(const std::string& key,
                                              limiter_clock::time_point now);

  void record_failure(const std::string& key, limiter_clock::time_point now);

  void reset(const std::string& key);

private:
  void prune(limiter_clock::time_point now);

  std::size_t max_failures_;
  std::chrono::seconds window_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::deque<limiter_clock::time_point>>
      failures_;
  std::size_t operations_ = 0;
};

/// A token bucket per key: `rate` tokens a second up to `burst`. A rate
/// of 0 turns the limit off. Thread-safe.
class rate_limiter {
public:
  rate_limiter(double rate, double burst);

  /// Takes one token for `key`; returns how long to wait when none is
  /// left.
  std::optional<std::chrono::seconds> take(const std::string& key,
                                           limiter_clock::time_point now);

private:
  struct bucket {
    double tokens = 0;
    limiter_clock::time_point updated;
  };

  double rate_;
  double burst_;
  std::mutex mutex_;
  std::unordered_map<std::string, bucket> buckets_;
  std::size_t operations_ = 0;
};

/// The abuse limits of one gateway process.
struct abuse_limits {
  abuse_limits(std::size_t login_failures_per_email_and_address,
               std::size_t login_failures_per_email,
               std::size_t login_failures_per_address,
               std::chrono::seconds login_window, double account_rate,
               double account_burst);

  /// Keyed by email and client address together.
  failure_limiter login_by_email_and_address;
  failure_limiter login_by_email;
  failure_limiter login_by_address;
  rate_limiter dashboard_by_account;
};

} // namespace skyiq::http
