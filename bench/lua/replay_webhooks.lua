-- Replays pre-signed Twilio voice webhooks, every body exactly once.
--
--   wrk ... -s replay_webhooks.lua URL -- ACCOUNTS REQUESTS PATH
--
-- ACCOUNTS has one line per account: the form-encoded body before and
-- after the CallSid value, separated by a tab. REQUESTS.N (N = wrk thread
-- 0, 1, ...) has one line per request: "SIGNATURE ACCOUNT CALLSID", where
-- ACCOUNT is a 1-based line of ACCOUNTS. Thread N reads REQUESTS.N in
-- order, so the first `sent` lines of each file are the webhooks sent.
--
-- Each thread reads its file line by line while it runs, instead of
-- loading it in init(): wrk starts thread 0 while it still runs init() of
-- thread 1, so a slow init() would give thread 0 extra time that the
-- requests/s figure does not account for.
--
-- A thread that runs out of lines stops and sends GET /healthz for its
-- remaining connections, never a webhook twice; done() reports this as
-- bench-exhausted, and bench/run rejects such a run.
--
-- BENCH_NODE_PORTS, when set, lists ports on 127.0.0.1 separated by
-- commas. Thread N then sends to entry (N mod count) + 1 of the list
-- instead of the URL's port. done() also reports, for each thread, the
-- responses received (bench-answered-N) and those whose status is not
-- 2xx (bench-non2xx-N). The list is an environment variable because
-- setup() runs before init() receives the script arguments.

local threads = {}
local next_id = 0
local node_ports = {}
for port in (os.getenv("BENCH_NODE_PORTS") or ""):gmatch("%d+") do
  table.insert(node_ports, port)
end

function setup(thread)
  thread:set("id", next_id)
  if #node_ports > 0 then
    local port = node_ports[next_id % #node_ports + 1]
    thread.addr = wrk.lookup("127.0.0.1", port)[1]
  end
  table.insert(threads, thread)
  next_id = next_id + 1
end

function init(args)
  accounts = {}
  for line in io.lines(args[1]) do
    local prefix, suffix = line:match("^([^\t]*)\t([^\t]*)$")
    table.insert(accounts, {prefix, suffix})
  end
  requests = assert(io.open(args[2] .. "." .. id, "r"))
  path = args[3]
  sent = 0
  exhausted = 0
  answered = 0
  non2xx = 0
end

function request()
  if id == 0 and not checked then
    -- wrk 4.1 calls request() of thread 0 once before the run, only to
    -- check that it returns a valid request, and never sends that one.
    checked = true
    return wrk.format("GET", "/healthz")
  end
  local line = requests:read("*l")
  if line == nil then
    exhausted = exhausted + 1
    wrk.thread:stop()
    return wrk.format("GET", "/healthz")
  end
  local signature, account, call_sid = line:match("^(%S+) (%d+) (%S+)$")
  local parts = accounts[tonumber(account)]
  sent = sent + 1
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Twilio-Signature"] = signature,
  }, parts[1] .. call_sid .. parts[2])
end

-- Defined only with BENCH_NODE_PORTS, so that the single-node replay
-- does not pay for wrk passing every response to Lua.
if #node_ports > 0 then
  function response(status, headers, body)
    answered = answered + 1
    if status < 200 or status > 299 then
      non2xx = non2xx + 1
    end
  end
end

function done(summary, latency, requests_stats)
  local total_sent = 0
  local total_exhausted = 0
  for _, thread in ipairs(threads) do
    io.write(string.format("bench-sent-%d %d\n", thread:get("id"),
                           thread:get("sent")))
    if #node_ports > 0 then
      io.write(string.format("bench-answered-%d %d\n", thread:get("id"),
                             thread:get("answered")))
      io.write(string.format("bench-non2xx-%d %d\n", thread:get("id"),
                             thread:get("non2xx")))
    end
    total_sent = total_sent + thread:get("sent")
    total_exhausted = total_exhausted + thread:get("exhausted")
  end
  local errors = summary.errors
  io.write(string.format("bench-sent %d\n", total_sent))
  io.write(string.format("bench-exhausted %d\n", total_exhausted))
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
