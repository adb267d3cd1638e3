#include "tests/e2e/probes.hpp"

#include <nlohmann/json.hpp>

#include <sstream>
#include <thread>

namespace skyiq::testing {

std::optional<double> metric_value(const std::string& metrics_text,
                                   const std::string& series) {
  std::istringstream lines(metrics_text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0
        && line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return std::nullopt;
}

std::string error_code(const std::string& body) {
  const auto parsed = nlohmann::json::parse(body, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("error")
      || !parsed["error"].is_object()
      || !parsed["error"].contains("code")
      || !parsed["error"]["code"].is_string()) {
    return {};
  }
  return parsed["error"]["code"].get<std::string>();
}

bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

} // namespace skyiq::testing
