-- Prints the figures that bench/run reads, one "bench-NAME VALUE" line
-- each, after wrk's own summary. Latencies are in microseconds. Defines
-- no request() or response(), so wrk sends its static request.

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format("bench-requests %d\n", summary.requests))
  io.write(string.format("bench-duration-us %d\n", summary.duration))
  io.write(string.format("bench-p50-us %d\n", latency:percentile(50.0)))
  io.write(string.format("bench-p99-us %d\n", latency:percentile(99.0)))
  io.write(string.format("bench-max-us %d\n", latency.max))
  io.write(string.format("bench-errors-status %d\n", errors.status))
  io.write(string.format("bench-errors-socket %d\n",
                         errors.connect + errors.read + errors.write))
  io.write(string.format("bench-errors-timeout %d\n", errors.timeout))
end
