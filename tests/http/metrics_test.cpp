#include "http/metrics.hpp"

#include <catch2/catch.hpp>

using skyiq::http::metrics;

TEST_CASE("metrics counters move and render") {
  metrics m;
  m.count_request("POST", "/api/twilio/webhook", 200);
  m.count_request("POST", "/api/twilio/webhook", 200);
  m.signature_failures++;
  m.observe_webhook_seconds(0.003);
  m.observe_batch_size(7);
  m.count_twilio_error(401, 20003);
  const auto text = m.render();
  CHECK(text.find("skyiq_http_requests_total{method=\"POST\",route=\"/api/"
                  "twilio/webhook\",status=\"200\"} 2") != std::string::npos);
  CHECK(text.find("skyiq_signature_failures_total 1") != std::string::npos);
  CHECK(text.find("skyiq_webhook_duration_seconds_bucket{le=\"0.005\"} 1") !=
        std::string::npos);
  CHECK(text.find("skyiq_commit_batch_size_count 1") != std::string::npos);
  CHECK(text.find("skyiq_twilio_rest_errors_total{status=\"401\",code="
                  "\"20003\"} 1") != std::string::npos);
}
