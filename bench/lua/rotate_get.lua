-- Sends authenticated GET requests, rotating over a list of paths.
--
--   wrk ... -s rotate_get.lua URL -- REQUESTS
--
-- REQUESTS has one line per request: "PATH TOKEN", where TOKEN is the
-- bearer token of a session that may read PATH. Thread N walks the list
-- in a loop from line N + 1. done() prints the figures bench/cluster
-- reads, as report.lua does.

local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  prepared = {}
  for line in io.lines(args[1]) do
    local path, token = line:match("^(%S+) (%S+)$")
    table.insert(prepared, wrk.format("GET", path,
                                      {["Authorization"] = "Bearer " .. token}))
  end
  assert(#prepared > 0, "no request in " .. args[1])
  position = id % #prepared
end

function request()
  position = position % #prepared + 1
  return prepared[position]
end

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
