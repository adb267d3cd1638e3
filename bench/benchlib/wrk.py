"""Running wrk with one of bench/lua's scripts and reading its figures."""

import re
import subprocess
from dataclasses import dataclass, field

from benchlib.processes import BenchError, machine_busy

# Maximum duration of one wrk run, in seconds.
MAX_DURATION_S = 15


@dataclass
class WrkResult:
    """Figures of one wrk run; latencies in milliseconds."""

    requests: int
    duration_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    status_errors: int
    socket_errors: int
    timeouts: int
    extra: dict = field(default_factory=dict)
    # Fraction of all CPUs busy in the second before the load started.
    busy_before: float = 0.0
    # User and system CPU seconds the server used during the run, when
    # measured.
    server_user_s: float = 0.0
    server_system_s: float = 0.0
    # Context switches of the server's threads during the run.
    server_switches: int = 0

    @property
    def requests_per_s(self):
        return self.requests / self.duration_s

    @property
    def cpu_us_per_request(self):
        return ((self.server_user_s + self.server_system_s) * 1e6
                / self.requests)

    @property
    def switches_per_request(self):
        return self.server_switches / self.requests

    @property
    def system_share(self):
        total = self.server_user_s + self.server_system_s
        return self.server_system_s / total if total else 0.0

    @property
    def errors(self):
        return self.status_errors + self.socket_errors + self.timeouts


def run_wrk(url, script, log_path, duration_s, connections=64, threads=2,
            headers=(), script_args=(), server=None, env=None,
            perf_out=None):
    """Run wrk against `url` (127.0.0.1 only) and return its figures. The
    whole output goes to `log_path`. When `server` (a Process, or any
    object with its cpu_seconds and context_switches methods) is given,
    the CPU time it used during the run is recorded. `env` replaces wrk's
    environment when given. With `perf_out`, `perf record` samples the
    server's call stacks into that file while wrk runs."""
    if not url.startswith("http://127.0.0.1:"):
        raise BenchError(f"refusing to load {url}: only 127.0.0.1 is "
                         "benchmarked")
    if not 0 < duration_s <= MAX_DURATION_S:
        raise BenchError(f"wrk duration {duration_s} s is outside 1 to "
                         f"{MAX_DURATION_S} s")
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration_s}s",
            "--timeout", "2s", "--latency", "-s", script]
    for header in headers:
        argv += ["-H", header]
    argv.append(url)
    if script_args:
        argv += ["--"] + list(script_args)
    busy_before = machine_busy()
    cpu_before = server.cpu_seconds() if server else (0.0, 0.0)
    switches_before = server.context_switches() if server else 0
    sampler = _start_perf(server, perf_out, duration_s) if perf_out else None
    try:
        done = subprocess.run(argv, capture_output=True, text=True,
                              timeout=duration_s + 60, env=env)
    except FileNotFoundError:
        raise BenchError("wrk is not installed: apt-get install -y wrk")
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk did not finish within {duration_s + 60} s")
    finally:
        if sampler is not None:
            _finish_perf(sampler, perf_out)
    cpu_after = server.cpu_seconds() if server else (0.0, 0.0)
    switches_after = server.context_switches() if server else 0
    with open(log_path, "w") as log:
        log.write(" ".join(argv) + "\n" + done.stdout + done.stderr)
    if done.returncode != 0:
        raise BenchError(f"wrk exited with status {done.returncode}; see "
                         f"{log_path}")
    values = dict(re.findall(r"^bench-(\S+) (-?\d+)$", done.stdout, re.M))
    try:
        result = WrkResult(
            requests=int(values.pop("requests")),
            duration_s=int(values.pop("duration-us")) / 1e6,
            p50_ms=int(values.pop("p50-us")) / 1000,
            p99_ms=int(values.pop("p99-us")) / 1000,
            max_ms=int(values.pop("max-us")) / 1000,
            status_errors=int(values.pop("errors-status")),
            socket_errors=int(values.pop("errors-socket")),
            timeouts=int(values.pop("errors-timeout")))
    except KeyError as missing:
        raise BenchError(f"wrk printed no bench-{missing.args[0]} line; see "
                         f"{log_path}")
    result.extra = {k: int(v) for k, v in values.items()}
    result.busy_before = busy_before
    result.server_user_s = cpu_after[0] - cpu_before[0]
    result.server_system_s = cpu_after[1] - cpu_before[1]
    result.server_switches = switches_after - switches_before
    if result.requests == 0:
        raise BenchError(f"wrk completed no request; see {log_path}")
    return result


def _start_perf(server, perf_out, duration_s):
    if server is None:
        raise BenchError("perf needs the server process to sample")
    argv = ["perf", "record", "-g", "-F", "499", "-p", str(server.pid),
            "-o", str(perf_out), "--", "sleep", str(duration_s)]
    try:
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
    except FileNotFoundError:
        raise BenchError("perf is not installed: apt-get install -y "
                         "linux-perf")


def _finish_perf(sampler, perf_out):
    try:
        _, errors = sampler.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        sampler.kill()
        raise BenchError(f"perf record did not stop within 60 s after wrk; "
                         f"{perf_out} may be incomplete")
    if sampler.returncode != 0:
        raise BenchError(f"perf record exited with status "
                         f"{sampler.returncode}: {errors.strip()[-300:]}")
