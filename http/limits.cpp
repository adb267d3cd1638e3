#include "http/limits.hpp"

#include <algorithm>
#include <cmath>

namespace skyiq::http {

namespace {

// Pruning walks the whole map, so it runs once every this many calls.
constexpr std::size_t prune_interval = 4096;

std::chrono::seconds round_up(limiter_clock::duration wait) {
  const auto seconds = std::chrono::ceil<std::chrono::seconds>(wait);
  return std::max(seconds, std::chrono::seconds(1));
}

} // namespace

failure_limiter::failure_limiter(std::size_t max_failures,
                                 std::chrono::seconds window)
    : max_failures_(max_failures), window_(window) {}

std::optional<std::chrono::seconds>
failure_limiter::blocked(const std::string& key,
                         limiter_clock::time_point now) {
  if (max_failures_ == 0) {
    return std::nullopt;
  }
  std::lock_guard<std::mutex> guard(mutex_);
  const auto it = failures_.find(key);
  if (it == failures_.end()) {
    return std::nullopt;
  }
  auto& times = it->second;
  while (!times.empty() && times.front() + window_ <= now) {
    times.pop_front();
  }
  if (times.size() < max_failures_) {
    return std::nullopt;
  }
  return round_up(times.front() + window_ - now);
}

void failure_limiter::record_failure(const std::string& key,
                                     limiter_clock::time_point now) {
  if (max_failures_ == 0) {
    return;
  }
  std::lock_guard<std::mutex> guard(mutex_);
  auto& times = failures_[key];
  times.push_back(now);
  while (times.size() > max_failures_) {
    times.pop_front();
  }
  if (++operations_ % prune_interval == 0) {
    prune(now);
  }
}

void failure_limiter::reset(const std::string& key) {
  std::lock_guard<std::mutex> guard(mutex_);
  failures_.erase(key);
}

void failure_limiter::prune(limiter_clock::time_point now) {
  for (auto it = failures_.begin(); it != failures_.end();) {
    const bool expired =
        it->second.empty() || it->second.back() + window_ <= now;
    it = expired ? failures_.erase(it) : std::next(it);
  }
}

rate_limiter::rate_limiter(double rate, double burst)
    : rate_(rate), burst_(std::max(burst, 1.0)) {}

std::optional<std::chrono::seconds>
rate_limiter::take(const std::string& key, limiter_clock::time_point now) {
  if (rate_ <= 0) {
    return std::nullopt;
  }
  std::lock_guard<std::mutex> guard(mutex_);
  auto [it, fresh] = buckets_.try_emplace(key, bucket{burst_, now});
  auto& b = it->second;
  if (!fresh) {
    const std::chrono::duration<double> elapsed = now - b.updated;
    b.tokens = std::min(burst_, b.tokens + elapsed.count() * rate_);
    b.updated = now;
  }
  if (++operations_ % prune_interval == 0) {
    for (auto at = buckets_.begin(); at != buckets_.end();) {
      const std::chrono::duration<double> idle = now - at->second.updated;
      const bool full = at->second.tokens + idle.count() * rate_ >= burst_;
      at = (full && at != it) ? buckets_.erase(at) : std::next(at);
    }
  }
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return std::nullopt;
  }
  const std::chrono::duration<double> wait((1 - b.tokens) / rate_);
  return round_up(std::chrono::duration_cast<limiter_clock::duration>(wait));
}

abuse_limits::abuse_limits(std::size_t login_failures_per_email_and_address,
                           std::size_t login_failures_per_email,
                           std::size_t login_failures_per_address,
                           std::chrono::seconds login_window,
                           double account_rate, double account_burst)
    : login_by_email_and_address(login_failures_per_email_and_address,
                                 login_window),
      login_by_email(login_failures_per_email, login_window),
      login_by_address(login_failures_per_address, login_window),
      dashboard_by_account(account_rate, account_burst) {}

} // namespace skyiq::http
