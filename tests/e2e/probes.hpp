#pragma once

// Helpers that observe a running gateway from outside: its metrics, its
// error bodies and conditions that become true after a while.

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace skyiq::testing {

/// Returns the value of the series `series` (a metric name with its
/// labels, exactly as rendered) in Prometheus text, or nullopt when the
/// series is absent.
std::optional<double> metric_value(const std::string& metrics_text,
                                   const std::string& series);

/// Returns `error.code` of an error body, or an empty string when `body`
/// is not one.
std::string error_code(const std::string& body);

/// Calls `condition` every 50 ms until it returns true or `limit` passes;
/// returns its last result.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds limit);

} // namespace skyiq::testing
