#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace skyiq::http {

/// A Prometheus histogram with fixed upper bounds.
class histogram {
public:
  explicit histogram(std::vector<double> bounds);

  void observe(double value);

  /// Appends the `_bucket`, `_sum` and `_count` series of `name`.
  void render(const std::string& name, std::string& out) const;

private:
  std::vector<double> bounds_;
  mutable std::mutex mutex_;
  std::vector<std::uint64_t> counts_;
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

/// The gateway's counters, rendered in Prometheus' text format by
/// `GET /metrics`. Thread-safe.
class metrics {
public:
  metrics();

  /// Counts one answered request of a route pattern (never a raw path, so
  /// that the series stay bounded).
  void count_request(const std::string& method, const std::string& route,
                     int status);
  void observe_webhook_seconds(double seconds);
  void observe_batch_size(std::size_t size);
  void count_twilio_error(int http_status, int twilio_code);

  std::atomic<std::uint64_t> signature_failures{0};
  std::atomic<std::uint64_t> unknown_number_rejects{0};
  std::atomic<std::uint64_t> database_errors{0};
  /// Connections cut off because the client did not send a whole request
  /// within http.read_timeout.
  std::atomic<std::uint64_t> read_timeouts{0};
  /// Live account actors, kept by the registry.
  std::shared_ptr<std::atomic<std::size_t>> active_accounts;
  /// Requests sent to the node that owns their account, counted by the
  /// bridge of a clustered node.
  std::shared_ptr<std::atomic<std::uint64_t>> forwarded_requests;
  /// Peers with a live node link; zero on a single node.
  std::shared_ptr<std::atomic<std::size_t>> linked_peers;

  std::string render() const;

private:
  mutable std::mutex mutex_;
  std::map<std::string, std::uint64_t> requests_;
  std::map<std::string, std::uint64_t> twilio_errors_;
  histogram webhook_seconds_;
  histogram batch_sizes_;
};

} // namespace skyiq::http
