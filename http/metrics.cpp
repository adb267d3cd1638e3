#include "http/metrics.hpp"

#include <memory>
#include <sstream>

namespace skyiq::http {

namespace {

std::string format_number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

} // namespace

histogram::histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void histogram::observe(double value) {
  std::lock_guard<std::mutex> guard(mutex_);
  std::size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) {
    ++i;
  }
  ++counts_[i];
  sum_ += value;
  ++count_;
}

void histogram::render(const std::string& name, std::string& out) const {
  std::lock_guard<std::mutex> guard(mutex_);
  out += "# TYPE " + name + " histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += name + "_bucket{le=\"" + format_number(bounds_[i]) + "\"} " +
           std::to_string(cumulative) + "\n";
  }
  cumulative += counts_.back();
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
  out += name + "_sum " + format_number(sum_) + "\n";
  out += name + "_count " + std::to_string(count_) + "\n";
}

metrics::metrics()
    : active_accounts(std::make_shared<std::atomic<std::size_t>>(0)),
      forwarded_requests(std::make_shared<std::atomic<std::uint64_t>>(0)),
      linked_peers(std::make_shared<std::atomic<std::size_t>>(0)),
      webhook_seconds_({0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1,
                        0.25, 0.5, 1, 2.5, 5}),
      batch_sizes_({1, 2, 4, 8, 16, 32, 64, 128, 256, 512}) {}

void metrics::count_request(const std::string& method, const std::string& route,
                            int status) {
  const auto key = "method=\"" + method + "\",route=\"" + route +
                   "\",status=\"" + std::to_string(status) + "\"";
  std::lock_guard<std::mutex> guard(mutex_);
  ++requests_[key];
}

void metrics::observe_webhook_seconds(double seconds) {
  webhook_seconds_.observe(seconds);
}

void metrics::observe_batch_size(std::size_t size) {
  batch_sizes_.observe(static_cast<double>(size));
}

void metrics::count_twilio_error(int http_status, int twilio_code) {
  const auto key = "status=\"" + std::to_string(http_status) + "\",code=\"" +
                   std::to_string(twilio_code) + "\"";
  std::lock_guard<std::mutex> guard(mutex_);
  ++twilio_errors_[key];
}

std::string metrics::render() const {
  std::string out;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    out += "# TYPE skyiq_http_requests_total counter\n";
    for (const auto& [labels, count] : requests_) {
      out += "skyiq_http_requests_total{" + labels + "} " +
             std::to_string(count) + "\n";
    }
    out += "# TYPE skyiq_twilio_rest_errors_total counter\n";
    for (const auto& [labels, count] : twilio_errors_) {
      out += "skyiq_twilio_rest_errors_total{" + labels + "} " +
             std::to_string(count) + "\n";
    }
  }
  out += "# TYPE skyiq_signature_failures_total counter\n";
  out += "skyiq_signature_failures_total " +
         std::to_string(signature_failures.load()) + "\n";
  out += "# TYPE skyiq_unknown_number_rejects_total counter\n";
  out += "skyiq_unknown_number_rejects_total " +
         std::to_string(unknown_number_rejects.load()) + "\n";
  out += "# TYPE skyiq_http_read_timeouts_total counter\n";
  out += "skyiq_http_read_timeouts_total " +
         std::to_string(read_timeouts.load()) + "\n";
  out += "# TYPE skyiq_database_errors_total counter\n";
  out += "skyiq_database_errors_total " +
         std::to_string(database_errors.load()) + "\n";
  out += "# TYPE skyiq_active_account_actors gauge\n";
  out += "skyiq_active_account_actors " +
         std::to_string(active_accounts->load()) + "\n";
  out += "# TYPE skyiq_forwarded_requests_total counter\n";
  out += "skyiq_forwarded_requests_total " +
         std::to_string(forwarded_requests->load()) + "\n";
  out += "# TYPE skyiq_cluster_linked_peers gauge\n";
  out += "skyiq_cluster_linked_peers " +
         std::to_string(linked_peers->load()) + "\n";
  webhook_seconds_.render("skyiq_webhook_duration_seconds", out);
  batch_sizes_.render("skyiq_commit_batch_size", out);
  return out;
}

} // namespace skyiq::http
