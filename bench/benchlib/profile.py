"""Callgrind profiles of the webhook and dashboard request paths, and the
split of the gateway's time between user space and system calls from
perf samples of a measured run.

This machine's perf has no hardware counters (`perf stat -e instructions`
reports "not supported"), so the profile counts instructions with
valgrind's callgrind. The gateway runs about 50 times slower under it, so
the load is light (one wrk thread, 8 connections). The figures of a
profiled run are therefore not benchmarks, but the split of instructions
between functions is meaningful.
"""

import os
import re
import shutil
import signal
import subprocess
import time

from benchlib import phases, seed, webhooks
from benchlib.processes import BenchError, Process
from benchlib.wrk import run_wrk

PROFILE_CONNECTIONS = 8
PROFILE_WEBHOOKS = 50000
VALGRIND_START_TIMEOUT_S = 300


def _start_under_callgrind(ctx, data_dir, phase, extra=None, warm_up=None):
    out = ctx.run_dir / f"callgrind.{phase}.out"
    # Instrumentation starts only once the gateway is ready, so that start-up
    # (the dummy Argon2 hash, dynamic linking) stays out of the profile.
    wrapper = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
               "--instr-atstart=no", "--fair-sched=yes"]
    process = phases.start_gateway(ctx, f"gateway-{phase}-callgrind",
                                   data_dir, extra, wrapper)
    process.wait_until_ready(process.port, "/readyz",
                             VALGRIND_START_TIMEOUT_S)
    if warm_up:
        warm_up(process.port)
    done = subprocess.run(["callgrind_control", "--instr=on",
                           str(process.pid)], capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchError(f"callgrind_control --instr=on failed: "
                         f"{done.stdout}{done.stderr}")
    return process, out


def _annotate(ctx, out, phase):
    """Write the exclusive and inclusive instruction counts per function
    next to the profile and print the first lines of each."""
    for mode in ("exclusive", "inclusive"):
        argv = ["callgrind_annotate", "--threshold=99",
                f"--inclusive={'yes' if mode == 'inclusive' else 'no'}",
                str(out)]
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0:
            raise BenchError(f"callgrind_annotate failed: {done.stderr}")
        path = ctx.run_dir / f"callgrind.{phase}.{mode}.txt"
        path.write_text(done.stdout)
        print(f"--- {mode} instructions, top of {path}")
        print("\n".join(done.stdout.splitlines()[:45]), flush=True)


def _light_load(ctx, url, log_name, **kwargs):
    return run_wrk(url, kwargs.pop("script"), ctx.run_dir / log_name,
                   ctx.duration_s, PROFILE_CONNECTIONS, 1, **kwargs)


def _profile_webhooks(ctx):
    data_dir = phases.make_data_dir(ctx, "callgrind-webhooks")
    twilio = gateway = profiled = None
    try:
        accounts = webhooks.make_twilio_accounts(phases.WEBHOOK_ACCOUNTS)
        webhooks.write_fake_twilio_seed(accounts, data_dir / "twilio.json")
        twilio = Process("fake-twilio", [str(ctx.binaries.fake_twilio),
                                         str(data_dir / "twilio.json")],
                         ctx.run_dir / "fake-twilio.log")
        found, _ = twilio.wait_for_log(r"listening on (http://\S+)", 20)
        settings = {
            "security.argon2_memory_kib": "64",
            "security.argon2_iterations": "1",
            "twilio.api_base_url": found.group(1),
        }
        gateway = phases.start_gateway(ctx, "gateway-webhooks-setup",
                                       data_dir, settings)
        gateway.wait_until_ready(gateway.port, "/readyz", 60)
        webhooks.connect_accounts(gateway.port, accounts)
        phases.stop_checked(gateway)

        webhooks.write_account_templates(accounts, data_dir / "accounts.txt")
        webhooks.presign(accounts, phases.PUBLIC_BASE_URL, PROFILE_WEBHOOKS,
                         1, data_dir / "requests")
        def activate_all(port):
            # One webhook per number activates every account actor and
            # fills the number cache, as the setup flow and the first
            # calls do in the measured run.
            for account in accounts:
                status, body, _ = webhooks.send_probe(
                    port, phases.PUBLIC_BASE_URL, account)
                if status != 200:
                    raise BenchError("warm-up webhook returned status "
                                     f"{status}: {body[:200]}")

        profiled, out = _start_under_callgrind(ctx, data_dir, "webhooks",
                                               settings, activate_all)
        result = _light_load(
            ctx, f"http://127.0.0.1:{profiled.port}{webhooks.WEBHOOK_PATH}",
            "wrk-webhooks-callgrind.txt",
            script=str(ctx.lua_dir / "replay_webhooks.lua"),
            script_args=[str(data_dir / "accounts.txt"),
                         str(data_dir / "requests"), webhooks.WEBHOOK_PATH])
        profiled.stop(timeout=300)
        profiled = None
    finally:
        for process in (profiled, twilio):
            if process is not None and process.running():
                process.stop(timeout=300)
        phases.remove_data_dir(ctx, data_dir)
    return result, out


def _profile_dashboard(ctx):
    data_dir = phases.make_data_dir(ctx, "callgrind-dashboard")
    profiled = None
    try:
        key = seed.write_master_key(data_dir / "master.key")
        phases.create_schema(ctx, data_dir, "gateway-dashboard-schema")
        db_path = data_dir / "gateway.db"
        accounts = seed.seed_accounts(db_path, phases.DASHBOARD_ACCOUNTS, key,
                                      phases.DASHBOARD_ACCOUNTS, True,
                                      2120000000, "dashboard")
        seed.seed_calls(db_path, accounts,
                        phases.CALLS_PER_DASHBOARD_ACCOUNT)
        def activate_one(port):
            status, body = phases.http_get(
                port, f"/api/calls/user/{accounts[0][0]}?limit=50",
                accounts[0][1])
            if status != 200:
                raise BenchError(f"warm-up request returned status {status}: "
                                 f"{body[:200]}")

        profiled, out = _start_under_callgrind(ctx, data_dir, "dashboard",
                                               warm_up=activate_one)
        account_id, token, _ = accounts[0]
        path = f"/api/calls/user/{account_id}?limit=50"
        result = _light_load(ctx, f"http://127.0.0.1:{profiled.port}{path}",
                             "wrk-dashboard-callgrind.txt",
                             script=str(ctx.lua_dir / "report.lua"),
                             headers=[f"Authorization: Bearer {token}"])
        profiled.stop(timeout=300)
        profiled = None
    finally:
        if profiled is not None and profiled.running():
            profiled.stop(timeout=300)
        phases.remove_data_dir(ctx, data_dir)
    return result, out


def run_callgrind(ctx, phase):
    """Profile `phase` ("webhooks" or "dashboard") under callgrind."""
    if shutil.which("valgrind") is None:
        raise BenchError("valgrind is not installed: apt-get install -y "
                         "valgrind")
    started = time.monotonic()
    if phase == "webhooks":
        result, out = _profile_webhooks(ctx)
    else:
        result, out = _profile_dashboard(ctx)
    print(f"{phase} under callgrind: {result.requests:,} requests in "
          f"{result.duration_s:.0f} s, {result.errors} errors; profiling "
          f"took {time.monotonic() - started:.0f} s; divide a function's "
          "instructions by the requests for its cost per request",
          flush=True)
    _annotate(ctx, out, phase)


def run_heaptrack(ctx):
    """Record the gateway's heap with heaptrack while 10,000 of 100,000
    stored accounts are activated, and write heaptrack_print's peak
    consumers. The memory each active actor keeps shows up as the sites
    with about 10,000 calls, or a multiple of it."""
    if shutil.which("heaptrack") is None:
        raise BenchError("heaptrack is not installed: apt-get install -y "
                         "heaptrack")
    data_dir = phases.make_data_dir(ctx, "heaptrack-scale")
    gateway = None
    target = None
    out = ctx.run_dir / "heaptrack.scale"
    try:
        accounts = phases.seed_scale_database(ctx, data_dir)

        gateway = phases.start_gateway(ctx, "gateway-scale-heaptrack",
                                       data_dir, wrapper=["heaptrack", "-o",
                                                          str(out)])
        gateway.wait_until_ready(gateway.port, "/readyz", 120)
        # The heaptrack script runs the gateway as its child and does not
        # pass SIGTERM on, so the gateway itself is stopped by its pid.
        target = gateway.descendant_running(ctx.binaries.gateway)
        phases.activate_accounts(gateway, accounts)
        os.kill(target, signal.SIGTERM)
        gateway.wait(timeout=300)
        gateway = None
    finally:
        if gateway is not None and gateway.running():
            if target:
                os.kill(target, signal.SIGKILL)
            gateway.stop(timeout=300)
        phases.remove_data_dir(ctx, data_dir)

    recorded = sorted(ctx.run_dir.glob("heaptrack.scale*"))
    if not recorded:
        raise BenchError(f"heaptrack wrote no file next to {out}")
    done = subprocess.run(["heaptrack_print", "-f", str(recorded[0]), "-p",
                           "-a", "0", "-T", "0", "-n", "25", "-s", "3"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchError(f"heaptrack_print failed: {done.stderr}")
    path = ctx.run_dir / "heaptrack.scale.peaks.txt"
    path.write_text(done.stdout)

    summary = [line for line in done.stdout.splitlines()
               if line.startswith(("peak heap memory", "total memory",
                                   "calls to allocation"))]
    print("\n".join(summary))
    print(f"peak consumers with backtraces in {path}", flush=True)


# System calls that perf reports as __x64_sys_<name>.
_SYSCALL = re.compile(r"^\s+([0-9.]+)%\s+([0-9.]+)%\s+\[k\] __x64_sys_(\w+)")
_KERNEL_SELF = re.compile(r"^\s+[0-9.]+%\s+([0-9.]+)%\s+\[k\] ")


def print_kernel_split(ctx, phase):
    """Print the share of the gateway's perf samples in the kernel and in
    each system call (children included) during `phase`'s measured load,
    and write perf's whole report next to the data."""
    data = ctx.run_dir / f"perf.{phase}.data"
    done = subprocess.run(["perf", "report", "-i", str(data), "--children",
                           "--sort", "sym", "--stdio", "-g", "none"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchError(f"perf report failed: {done.stderr.strip()[-300:]}")
    report = ctx.run_dir / f"perf.{phase}.txt"
    report.write_text(done.stdout)
    kernel = 0.0
    calls = []
    for line in done.stdout.splitlines():
        found = _KERNEL_SELF.match(line)
        if found:
            kernel += float(found.group(1))
        found = _SYSCALL.match(line)
        if found:
            calls.append((float(found.group(1)), found.group(3)))
    calls.sort(reverse=True)
    print(f"--- {phase}: {kernel:.0f}% of the gateway's samples in the "
          f"kernel; system calls, children included (whole report: "
          f"{report})", flush=True)
    for share, name in calls[:12]:
        print(f"{phase:<10} perf  {name:<24} {share:5.1f}%", flush=True)
