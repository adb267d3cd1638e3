"""The four measurements of bench/run: baseline, webhooks, dashboard and
scale. Each starts its own processes on 127.0.0.1 and stops them by pid."""

import http.client
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchlib import seed, webhooks
from benchlib.build import Binaries, supports_setting
from benchlib.processes import (BenchError, Process, fdatasync_ms,
                                 free_port)
from benchlib.report import Figure, print_line
from benchlib.wrk import run_wrk

PUBLIC_BASE_URL = "https://skyiq-bench.example.com"
# Poco's HTTPServer serves one keep-alive connection per thread, so the
# gateway and the baseline get one thread per wrk connection.
CONNECTIONS = 64
HTTP_THREADS = 64
WRK_THREADS = 2

WEBHOOK_ACCOUNTS = 1000
DASHBOARD_ACCOUNTS = 10000
CALLS_PER_DASHBOARD_ACCOUNT = 100
SCALE_ACCOUNTS = 100000
ACTIVE_ACCOUNTS = 10000
STARTUP_RUNS = 3

WEBHOOK_RPS_TARGET = 0.5
WEBHOOK_P99_TARGET_MS = 5.0
DASHBOARD_RPS_TARGET = 0.3
DASHBOARD_P99_TARGET_MS = 2.0
STARTUP_TARGET_S = 1.0
ACTOR_TARGET_KIB = 4.0


@dataclass
class Context:
    """Shared state of the phases: the measured source and its binaries,
    the log directory, the load duration and the collected figures."""

    source: Path
    binaries: Binaries
    run_dir: Path
    lua_dir: Path
    duration_s: int
    keep_data: bool
    # With perf set, the gateway's measured loads are sampled with perf
    # record and their kernel time is split by system call.
    perf: bool = False
    figures: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def add(self, figure):
        self.figures.append(figure)
        print_line(figure)

    def note(self, text):
        self.notes.append(text)
        print(f"note: {text}", flush=True)


def _gateway_env():
    # SKYIQ_* variables of the caller's shell would override settings.
    return {k: v for k, v in os.environ.items()
            if not k.startswith("SKYIQ_")}


def gateway_command(ctx, data_dir, extra=None):
    """Return the gateway's command line for a free port with SQLite under
    `data_dir`, and that port."""
    port = free_port()
    settings = {
        "http.host": "127.0.0.1",
        "http.port": str(port),
        "http.public_base_url": PUBLIC_BASE_URL,
        "http.threads": str(HTTP_THREADS),
        "storage.url": f"sqlite:{data_dir}/gateway.db",
        "security.master_key_file": f"{data_dir}/master.key",
        "log.level": "warning",
    }
    # The per-account dashboard limit (50 requests/s by default) would turn
    # a one-account load into 429s; the benchmark measures the request path.
    if supports_setting(ctx.source, "http.account_rate"):
        settings["http.account_rate"] = "0"
    settings.update(extra or {})
    argv = [str(ctx.binaries.gateway)]
    for key, value in settings.items():
        argv += ["--set", f"{key}={value}"]
    return argv, port


def start_gateway(ctx, name, data_dir, extra=None, wrapper=()):
    """Start the gateway (under `wrapper`, such as valgrind, when given).
    The returned process has a `port` attribute."""
    argv, port = gateway_command(ctx, data_dir, extra)
    process = Process(name, list(wrapper) + argv, ctx.run_dir / f"{name}.log",
                      env=_gateway_env(), cwd=str(data_dir))
    process.port = port
    return process


def stop_checked(process):
    status = process.stop()
    if status != 0:
        raise BenchError(f"{process.name} exited with status {status} after "
                         f"SIGTERM; see {process.log_path}")


def make_data_dir(ctx, phase):
    return Path(tempfile.mkdtemp(prefix=f"skyiq-bench-{phase}-"))


def remove_data_dir(ctx, path):
    if ctx.keep_data:
        ctx.note(f"data of this run kept in {path}")
    else:
        shutil.rmtree(path, ignore_errors=True)


def create_schema(ctx, data_dir, name):
    """Start the gateway once on an empty database so that its own
    migrations create the schema, then stop it."""
    gateway = start_gateway(ctx, name, data_dir)
    try:
        gateway.wait_until_ready(gateway.port, "/readyz", 60)
    finally:
        stop_checked(gateway)


def http_get(port, path, token=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Authorization": "Bearer " + token} if token else {}
        connection.request("GET", path, headers=headers)
        answer = connection.getresponse()
        return answer.status, answer.read().decode(errors="replace")
    finally:
        connection.close()


def metric_value(port, name):
    status, text = http_get(port, "/metrics")
    if status != 200:
        raise BenchError(f"GET /metrics returned status {status}")
    found = re.search(rf"^{re.escape(name)}(?:{{[^}}]*}})? (\S+)$", text,
                      re.M)
    if not found:
        raise BenchError(f"GET /metrics has no {name} line")
    return float(found.group(1))


def busy_note(ctx, phase, result):
    ctx.note(f"{phase}: {result.busy_before:.0%} of all CPUs were busy with "
             "other processes in the second before the load")


def cpu_figure(ctx, phase, result, baseline):
    ctx.add(Figure(phase, "server CPU per request",
                   f"{result.cpu_us_per_request:.1f} us",
                   result.cpu_us_per_request / baseline.cpu_us_per_request,
                   "baseline"))
    ctx.add(Figure(phase, "server CPU, kernel share",
                   f"{result.system_share:.0%}"))
    ctx.add(Figure(phase, "server context switches per request",
                   f"{result.switches_per_request:.1f}",
                   result.switches_per_request
                   / baseline.switches_per_request, "baseline"))


def latency_figures(ctx, phase, result, baseline):
    ctx.add(Figure(phase, "p50 latency", f"{result.p50_ms:.2f} ms",
                   result.p50_ms / baseline.p50_ms, "baseline"))


def error_figure(ctx, phase, result, extra=0):
    errors = result.errors + extra
    ctx.add(Figure(phase, "errors (status > 399, socket, timeout)",
                   f"{errors:,}", target="0", met=errors == 0))


# Baseline ----------------------------------------------------------------

def measure_baseline(ctx):
    """Measure the fixed-200 Poco server with wrk's static GET."""
    process = Process("baseline", [str(ctx.binaries.baseline), "--threads",
                                   str(HTTP_THREADS)],
                      ctx.run_dir / "baseline.log")
    try:
        found, _ = process.wait_for_log(r"baseline-listening port=(\d+)", 10)
        result = run_wrk(f"http://127.0.0.1:{found.group(1)}/",
                         str(ctx.lua_dir / "report.lua"),
                         ctx.run_dir / "wrk-baseline.txt", ctx.duration_s,
                         CONNECTIONS, WRK_THREADS, server=process)
    finally:
        stop_checked(process)
    if result.errors:
        raise BenchError(f"the baseline had {result.errors} errors; see "
                         f"{ctx.run_dir / 'wrk-baseline.txt'}")
    ctx.add(Figure("baseline", "requests/s", f"{result.requests_per_s:,.0f}"))
    ctx.add(Figure("baseline", "p50 latency", f"{result.p50_ms:.2f} ms"))
    ctx.add(Figure("baseline", "p99 latency", f"{result.p99_ms:.2f} ms"))
    ctx.add(Figure("baseline", "server CPU per request",
                   f"{result.cpu_us_per_request:.1f} us"))
    ctx.add(Figure("baseline", "server CPU, kernel share",
                   f"{result.system_share:.0%}"))
    ctx.add(Figure("baseline", "server context switches per request",
                   f"{result.switches_per_request:.1f}"))
    busy_note(ctx, "baseline", result)
    return result


# Webhooks ----------------------------------------------------------------

def _replay(ctx, server, port, data_dir, log_name, perf_out=None):
    return run_wrk(f"http://127.0.0.1:{port}{webhooks.WEBHOOK_PATH}",
                   str(ctx.lua_dir / "replay_webhooks.lua"),
                   ctx.run_dir / log_name, ctx.duration_s, CONNECTIONS,
                   WRK_THREADS,
                   script_args=[str(data_dir / "accounts.txt"),
                                str(data_dir / "requests"),
                                webhooks.WEBHOOK_PATH], server=server,
                   perf_out=perf_out)


def perf_file(ctx, phase):
    """Return the perf data file of `phase` when ctx.perf is set, else
    None."""
    return ctx.run_dir / f"perf.{phase}.data" if ctx.perf else None


def _measure_client_ceiling(ctx, data_dir):
    """Replay the webhooks against the baseline server: the rate that
    wrk's script and these request sizes allow at all on this machine."""
    process = Process("baseline-replay", [str(ctx.binaries.baseline),
                                          "--threads", str(HTTP_THREADS)],
                      ctx.run_dir / "baseline-replay.log")
    try:
        found, _ = process.wait_for_log(r"baseline-listening port=(\d+)", 10)
        return _replay(ctx, process, int(found.group(1)), data_dir,
                       "wrk-baseline-replay.txt")
    finally:
        stop_checked(process)


def _check_signer(ctx, account):
    """Require that bench's Python signer and skyiq-sign-webhook agree."""
    params = webhooks._voice_params(account, "CA" + "1" * 32)
    argv = [str(ctx.binaries.sign_webhook), "--token-env",
            "BENCH_TWILIO_TOKEN", "--url",
            PUBLIC_BASE_URL + webhooks.WEBHOOK_PATH]
    for name, value in params:
        argv += ["--param", f"{name}={value}"]
    env = dict(os.environ, BENCH_TWILIO_TOKEN=account.auth_token)
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    ours = webhooks.signature(account.auth_token,
                              PUBLIC_BASE_URL + webhooks.WEBHOOK_PATH, params)
    if done.returncode != 0 or done.stdout.strip() != ours:
        raise BenchError("skyiq-sign-webhook and bench/benchlib/webhooks.py "
                         f"disagree on a signature: {done.stdout.strip()!r} "
                         f"versus {ours!r} ({done.stderr.strip()})")


def _verify_records(db_path, plan, sent, accounts, probe_sid):
    """Compare the calls stored in the SQLite file with the webhooks
    sent."""
    return compare_records(seed.webhook_records(db_path), plan, sent,
                           accounts, {probe_sid})


def compare_records(records, plan, sent, accounts, probe_sids):
    """Compare the stored calls, {CallSid: [account_id, ...]}, with the
    webhooks sent: thread t sent the first sent[t] entries of plan[t].
    Return the counts of CallSids stored once under the right account,
    missing, duplicated and misrouted, and of stored CallSids that were
    neither sent nor in `probe_sids`."""
    expected = {}
    for thread, entries in enumerate(plan):
        for call_sid, account_index in entries[:sent[thread]]:
            expected[call_sid] = accounts[account_index].user_id
    outcome = {"sent": len(expected), "recorded_once": 0, "missing": 0,
               "duplicated": 0, "misrouted": 0, "unexpected": 0}
    for call_sid, owner in expected.items():
        rows = records.get(call_sid, [])
        if not rows:
            outcome["missing"] += 1
        elif len(rows) > 1:
            outcome["duplicated"] += 1
        elif rows[0] != owner:
            outcome["misrouted"] += 1
        else:
            outcome["recorded_once"] += 1
    outcome["unexpected"] = sum(1 for sid in records
                                if sid not in expected
                                and sid not in probe_sids)
    return outcome


def measure_webhooks(ctx, baseline):
    """Connect 1,000 accounts through the real setup flow against the
    fake Twilio, replay distinct pre-signed voice webhooks with 64
    connections, then check the stored records."""
    data_dir = make_data_dir(ctx, "webhooks")
    twilio = gateway = None
    try:
        accounts = webhooks.make_twilio_accounts(WEBHOOK_ACCOUNTS)
        webhooks.write_fake_twilio_seed(accounts, data_dir / "twilio.json")
        twilio = Process("fake-twilio", [str(ctx.binaries.fake_twilio),
                                         str(data_dir / "twilio.json")],
                         ctx.run_dir / "fake-twilio.log")
        found, _ = twilio.wait_for_log(r"listening on (http://\S+)", 20)
        gateway = start_gateway(ctx, "gateway-webhooks", data_dir, {
            "security.argon2_memory_kib": "64",
            "security.argon2_iterations": "1",
            "twilio.api_base_url": found.group(1),
        })
        gateway.wait_until_ready(gateway.port, "/readyz", 60)

        started = time.monotonic()
        webhooks.connect_accounts(gateway.port, accounts)
        ctx.note(f"webhooks: {WEBHOOK_ACCOUNTS:,} accounts signed up and "
                 "connected through POST /api/twilio/setup against the fake "
                 f"Twilio in {time.monotonic() - started:.1f} s")

        _check_signer(ctx, accounts[0])
        status, body, probe_sid = webhooks.send_probe(
            gateway.port, PUBLIC_BASE_URL, accounts[0])
        if status != 200 or "<Response>" not in body:
            raise BenchError("a signed probe webhook returned status "
                             f"{status}: {body[:200]}")

        # Half as many again as the baseline took in its run: neither the
        # gateway nor the baseline at a quieter moment of a shared machine
        # gets that far, so no body is replayed.
        count = math.ceil(1.5 * baseline.requests_per_s * ctx.duration_s)
        started = time.monotonic()
        webhooks.write_account_templates(accounts, data_dir / "accounts.txt")
        plan = webhooks.presign(accounts, PUBLIC_BASE_URL, count,
                                WRK_THREADS, data_dir / "requests")
        ctx.note(f"webhooks: {count:,} voice webhooks with distinct CallSids "
                 f"pre-signed in {time.monotonic() - started:.1f} s, "
                 f"round-robin over {WEBHOOK_ACCOUNTS:,} numbers")

        sync_ms = fdatasync_ms(data_dir)
        ceiling = _measure_client_ceiling(ctx, data_dir)
        result = _replay(ctx, gateway, gateway.port, data_dir,
                         "wrk-webhooks.txt", perf_file(ctx, "webhooks"))
        batch_sum = metric_value(gateway.port, "skyiq_commit_batch_size_sum")
        batch_count = metric_value(gateway.port,
                                   "skyiq_commit_batch_size_count")
        stop_checked(gateway)
        gateway = None
        sent = [result.extra[f"sent-{t}"] for t in range(WRK_THREADS)]
        outcome = _verify_records(data_dir / "gateway.db", plan, sent,
                                  accounts, probe_sid)
    finally:
        for process in (gateway, twilio):
            if process is not None and process.running():
                process.stop()
        remove_data_dir(ctx, data_dir)

    if result.extra.get("exhausted", 0):
        raise BenchError("the replay ran out of pre-signed webhooks, so the "
                         "figure would be a lower bound; raise the count in "
                         "measure_webhooks")
    # Running out only cuts the reference run short: its figure becomes a
    # lower bound.
    at_least = ">= " if ceiling.extra.get("exhausted", 0) else ""
    ctx.add(Figure("webhooks", "replay ceiling (baseline server)",
                   f"{at_least}{ceiling.requests_per_s:,.0f}/s",
                   ceiling.requests_per_s / baseline.requests_per_s,
                   "baseline"))
    # Every response waits for at least one durable commit, and at most
    # CONNECTIONS webhooks are in flight, so by Little's law no more than
    # CONNECTIONS per fdatasync time can be acknowledged.
    bound = CONNECTIONS / (sync_ms / 1000)
    ctx.add(Figure("webhooks", f"{CONNECTIONS} / fdatasync ({sync_ms:.2f} ms)",
                   f"{bound:,.0f}/s", bound / baseline.requests_per_s,
                   "baseline"))
    rps = result.requests_per_s
    ctx.add(Figure("webhooks", "requests/s", f"{rps:,.0f}",
                   rps / baseline.requests_per_s, "baseline",
                   f">= {WEBHOOK_RPS_TARGET:.2f} x baseline",
                   rps >= WEBHOOK_RPS_TARGET * baseline.requests_per_s))
    latency_figures(ctx, "webhooks", result, baseline)
    ctx.add(Figure("webhooks", "p99 latency", f"{result.p99_ms:.2f} ms",
                   result.p99_ms / WEBHOOK_P99_TARGET_MS, "target",
                   f"<= {WEBHOOK_P99_TARGET_MS:g} ms",
                   result.p99_ms <= WEBHOOK_P99_TARGET_MS))
    error_figure(ctx, "webhooks", result)
    cpu_figure(ctx, "webhooks", result, baseline)
    busy_note(ctx, "webhooks", result)
    bad = (outcome["missing"] + outcome["duplicated"] + outcome["misrouted"]
           + outcome["unexpected"])
    ctx.add(Figure("webhooks", "CallSids stored once, right account",
                   f"{outcome['recorded_once']:,}/{outcome['sent']:,}",
                   target="every CallSid sent", met=bad == 0))
    if bad:
        ctx.note("webhooks: records check " + json.dumps(outcome))
    ctx.note(f"webhooks: {result.requests:,} answered of "
             f"{outcome['sent']:,} sent (the rest were in flight when wrk "
             f"stopped); mean group-commit batch "
             f"{batch_sum / max(batch_count, 1):.1f} calls over "
             f"{batch_count:,.0f} transactions")
    return result


# Dashboard ---------------------------------------------------------------

CALL_PAGE_SQL = ("SELECT id, call_sid, from_number, to_number, direction, "
                 "status, created_at, started_at, ended_at, "
                 "duration_seconds, last_sequence FROM calls WHERE "
                 "account_id = ? ORDER BY created_at DESC, id DESC LIMIT ?")


def measure_dashboard(ctx, baseline):
    """Measure GET /api/calls/user/:userId?limit=50 for one account while
    the database contains 1,000,000 calls across 10,000 accounts."""
    data_dir = make_data_dir(ctx, "dashboard")
    gateway = None
    try:
        key = seed.write_master_key(data_dir / "master.key")
        create_schema(ctx, data_dir, "gateway-dashboard-schema")
        db_path = data_dir / "gateway.db"
        started = time.monotonic()
        accounts = seed.seed_accounts(db_path, DASHBOARD_ACCOUNTS, key,
                                      DASHBOARD_ACCOUNTS, True, 2120000000,
                                      "dashboard")
        seed.seed_calls(db_path, accounts, CALLS_PER_DASHBOARD_ACCOUNT)
        calls = seed.count_rows(db_path, "calls")
        ctx.note(f"dashboard: {calls:,} calls across {len(accounts):,} "
                 f"accounts seeded in {time.monotonic() - started:.1f} s; "
                 "SQLite plan of the page query: "
                 + seed.query_plan(db_path, CALL_PAGE_SQL,
                                   (accounts[0][0], 51)))

        gateway = start_gateway(ctx, "gateway-dashboard", data_dir)
        gateway.wait_until_ready(gateway.port, "/readyz", 60)
        account_id, token, _ = accounts[0]
        path = f"/api/calls/user/{account_id}?limit=50"
        status, body = http_get(gateway.port, path, token)
        if status != 200 or len(json.loads(body).get("calls", [])) != 50:
            raise BenchError(f"GET {path} returned status {status}: "
                             f"{body[:200]}")
        result = run_wrk(f"http://127.0.0.1:{gateway.port}{path}",
                         str(ctx.lua_dir / "report.lua"),
                         ctx.run_dir / "wrk-dashboard.txt", ctx.duration_s,
                         CONNECTIONS, WRK_THREADS,
                         headers=[f"Authorization: Bearer {token}"],
                         server=gateway, perf_out=perf_file(ctx, "dashboard"))
        rungs = _measure_rungs(ctx, gateway, account_id, token)
        stop_checked(gateway)
        gateway = None
    finally:
        if gateway is not None and gateway.running():
            gateway.stop()
        remove_data_dir(ctx, data_dir)

    rps = result.requests_per_s
    ctx.add(Figure("dashboard", "requests/s", f"{rps:,.0f}",
                   rps / baseline.requests_per_s, "baseline",
                   f">= {DASHBOARD_RPS_TARGET:.2f} x baseline",
                   rps >= DASHBOARD_RPS_TARGET * baseline.requests_per_s))
    latency_figures(ctx, "dashboard", result, baseline)
    ctx.add(Figure("dashboard", "p99 latency", f"{result.p99_ms:.2f} ms",
                   result.p99_ms / DASHBOARD_P99_TARGET_MS, "target",
                   f"<= {DASHBOARD_P99_TARGET_MS:g} ms",
                   result.p99_ms <= DASHBOARD_P99_TARGET_MS))
    error_figure(ctx, "dashboard", result)
    cpu_figure(ctx, "dashboard", result, baseline)
    busy_note(ctx, "dashboard", result)
    for name, rung in rungs:
        ctx.add(Figure("rung", f"{name} requests/s",
                       f"{rung.requests_per_s:,.0f}",
                       rung.requests_per_s / baseline.requests_per_s,
                       "baseline"))
        ctx.add(Figure("rung", f"{name} CPU per request",
                       f"{rung.cpu_us_per_request:.1f} us",
                       rung.cpu_us_per_request / baseline.cpu_us_per_request,
                       "baseline"))
        ctx.add(Figure("rung", f"{name} switches per request",
                       f"{rung.switches_per_request:.1f}",
                       rung.switches_per_request
                       / baseline.switches_per_request, "baseline"))
        if rung.errors:
            raise BenchError(f"{rung.errors} errors on {name}; see "
                             f"{ctx.run_dir}")
    return result


def _measure_rungs(ctx, gateway, account_id, token):
    """Measure two cheaper paths of the same gateway, so that the cost of
    the call list splits into its layers: GET /healthz (HTTP layer and
    router only) and GET /api/business/:userId (plus session lookup and a
    request through the registry to the account actor, which keeps the
    profile in memory)."""
    rungs = []
    for name, path, headers, log_name in [
            ("GET /healthz", "/healthz", [], "wrk-rung-healthz.txt"),
            ("GET /api/business", f"/api/business/{account_id}",
             [f"Authorization: Bearer {token}"], "wrk-rung-business.txt")]:
        rungs.append((name, run_wrk(f"http://127.0.0.1:{gateway.port}{path}",
                                    str(ctx.lua_dir / "report.lua"),
                                    ctx.run_dir / log_name, ctx.duration_s,
                                    CONNECTIONS, WRK_THREADS, headers=headers,
                                    server=gateway)))
    return rungs


# Scale -------------------------------------------------------------------

class _Clients:
    """Keep-alive connections that send GET requests in parallel, one
    thread each."""

    def __init__(self, port, count):
        self.connections = [http.client.HTTPConnection("127.0.0.1", port,
                                                       timeout=30)
                            for _ in range(count)]

    def run(self, requests):
        """Send every (path, token) and return one line for each response
        other than 200."""
        failures = []
        lock = threading.Lock()

        def work(connection, share):
            for path, token in share:
                headers = {"Authorization": "Bearer " + token} if token else {}
                try:
                    connection.request("GET", path, headers=headers)
                    answer = connection.getresponse()
                    answer.read()
                    status = answer.status
                except (OSError, http.client.HTTPException) as error:
                    status = str(error)
                if status != 200:
                    with lock:
                        failures.append(f"{path}: {status}")

        count = len(self.connections)
        threads = [threading.Thread(target=work,
                                    args=(c, requests[i::count]))
                   for i, c in enumerate(self.connections)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return failures

    def close(self):
        for connection in self.connections:
            connection.close()


def seed_scale_database(ctx, data_dir):
    """Create the schema and 100,000 accounts; return them."""
    key = seed.write_master_key(data_dir / "master.key")
    create_schema(ctx, data_dir, "gateway-scale-schema")
    started = time.monotonic()
    accounts = seed.seed_accounts(data_dir / "gateway.db", SCALE_ACCOUNTS,
                                  key, ACTIVE_ACCOUNTS, True, 3120000000,
                                  "scale")
    ctx.note(f"scale: {SCALE_ACCOUNTS:,} accounts with sealed Twilio "
             "credentials, a number and a business profile seeded in "
             f"{time.monotonic() - started:.1f} s")
    return accounts


def activate_accounts(gateway, accounts):
    """Activate the first 10,000 accounts with one GET /api/business each
    over 8 keep-alive connections. Return the VmRSS in KiB before, after
    half of them and after all."""
    clients = _Clients(gateway.port, 8)
    try:
        # Opens the connections, so that the server threads that serve
        # them exist before the first memory reading.
        warm = clients.run([("/healthz", None)] * 8)
        if warm:
            raise BenchError("GET /healthz failed: " + warm[0])
        rss_before = gateway.rss_kib()
        requests = [(f"/api/business/{account_id}", token)
                    for account_id, token, _ in accounts[:ACTIVE_ACCOUNTS]]
        half = len(requests) // 2
        failures = clients.run(requests[:half])
        rss_half = gateway.rss_kib()
        failures += clients.run(requests[half:])
        rss_after = gateway.rss_kib()
    finally:
        clients.close()
    if failures:
        raise BenchError(f"{len(failures)} activation requests failed, "
                         f"first {failures[0]}")
    active = metric_value(gateway.port, "skyiq_active_account_actors")
    if int(active) < ACTIVE_ACCOUNTS:
        raise BenchError(f"only {active:.0f} account actors were active after "
                         f"{ACTIVE_ACCOUNTS:,} activations")
    return rss_before, rss_half, rss_after, active


def measure_scale(ctx):
    """Measure start-up time and memory with 100,000 accounts stored, and
    the memory of 10,000 active account actors."""
    data_dir = make_data_dir(ctx, "scale")
    gateway = None
    try:
        accounts = seed_scale_database(ctx, data_dir)
        # Production Argon2 settings: the start-up hashes one dummy password.
        startups = []
        rss_at_start = []
        for run in range(STARTUP_RUNS):
            gateway = start_gateway(ctx, f"gateway-scale-{run}", data_dir,
                                    {"log.level": "information"})
            _, seconds = gateway.wait_for_log(r"http-listening .* port=\d+",
                                              30)
            startups.append(seconds)
            rss_at_start.append(gateway.rss_kib())
            if run + 1 < STARTUP_RUNS:
                stop_checked(gateway)
                gateway = None
        rss_before, rss_half, rss_after, active = activate_accounts(gateway,
                                                                    accounts)
        half = ACTIVE_ACCOUNTS // 2
        stop_checked(gateway)
        gateway = None
    finally:
        if gateway is not None and gateway.running():
            gateway.stop()
        remove_data_dir(ctx, data_dir)

    startup = statistics.median(startups)
    ctx.add(Figure("scale", f"start-up, median of {STARTUP_RUNS}",
                   f"{startup * 1000:.0f} ms", startup / STARTUP_TARGET_S,
                   "target", f"<= {STARTUP_TARGET_S:g} s",
                   startup <= STARTUP_TARGET_S))
    ctx.add(Figure("scale", f"RSS at start, {SCALE_ACCOUNTS:,} accounts",
                   f"{statistics.median(rss_at_start) / 1024:.1f} MiB"))
    ctx.note("scale: start-up runs " + ", ".join(
        f"{s * 1000:.0f} ms" for s in startups) + "; RSS at start "
        + ", ".join(f"{r / 1024:.1f} MiB" for r in rss_at_start))
    per_actor = (rss_after - rss_before) / ACTIVE_ACCOUNTS
    ctx.add(Figure("scale", f"RSS per active actor ({ACTIVE_ACCOUNTS:,})",
                   f"{per_actor:.2f} KiB", per_actor / ACTOR_TARGET_KIB,
                   "target", f"<= {ACTOR_TARGET_KIB:g} KiB",
                   per_actor <= ACTOR_TARGET_KIB))
    second_half = (rss_after - rss_half) / (ACTIVE_ACCOUNTS - half)
    ctx.add(Figure("scale", "RSS per actor, second 5,000 only",
                   f"{second_half:.2f} KiB", second_half / ACTOR_TARGET_KIB,
                   "target"))
    ctx.note(f"scale: RSS {rss_before / 1024:.1f} MiB before activation, "
             f"{rss_half / 1024:.1f} MiB after {half:,}, "
             f"{rss_after / 1024:.1f} MiB after {ACTIVE_ACCOUNTS:,}; "
             f"skyiq_active_account_actors {active:.0f}")
