"""The measurements of bench/cluster: voice webhook throughput with 1, 2
and 3 gateway nodes sharing one PostgreSQL database, and the cost of a
dashboard read that a node forwards to the account's owner compared with
one it serves itself. benchlib.nodes starts the nodes and stops them by
their pids.
"""

import os
import time
from dataclasses import dataclass, field
from typing import Optional

from benchlib import phases, webhooks
from benchlib.nodes import (STOP_TIMEOUT_S, NodeGroup, count_log_events,
                            start_cluster, stop_nodes)
from benchlib.phases import PUBLIC_BASE_URL
from benchlib.processes import BenchError
from benchlib.report import Figure
from benchlib.wrk import WrkResult, run_wrk

ACCOUNTS = 200
# Webhooks pre-signed per second of load. A replay that runs out is
# rejected, and one node on SQLite served about 7,000/s in bench/run on 2
# cores, so 30,000/s leaves room.
PRESIGN_RATE = 30000
CONNECTIONS = 64
SETTLE_TIMEOUT_S = 15


@dataclass
class ClusterContext(phases.Context):
    """The state that phases.Context shares between phases, plus the fake
    Twilio accounts that every database connects and the one-node webhook
    result that the larger clusters are compared with."""

    accounts: list = field(default_factory=list)
    single_node: Optional[WrkResult] = None


def _stop_and_note(ctx, phase, nodes):
    """Note the nodes' log events, stop the nodes and note every failure
    to stop. Return the number of nodes that exited with status 0."""
    _note_log_events(ctx, phase, nodes)
    failures = stop_nodes(nodes)
    if failures:
        ctx.note(f"{phase}: " + ". ".join(failures))
    return len(nodes) - len(failures)


def _exit_figure(ctx, phase, clean, count):
    ctx.add(Figure(phase, "nodes exited 0 after SIGTERM", f"{clean}/{count}",
                   target=f"all within {STOP_TIMEOUT_S} s",
                   met=clean == count))


def _note_log_events(ctx, phase, nodes):
    ctx.note(f"{phase}: node log events at warning level or above, and "
             "lease-lost, account-moved and peer-down: "
             + (count_log_events(nodes) or "none"))


def phase_name(count):
    return f"{count} node" + ("s" if count > 1 else "")


# Webhooks on 1, 2 and 3 nodes --------------------------------------------

def _wait_for_calls_to_settle(pg, database, timeout=SETTLE_TIMEOUT_S):
    """Wait until two readings of the calls table 0.5 s apart agree, so
    that the webhooks still in flight when wrk stopped are stored."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        count = int(pg.query(database, "SELECT count(*) FROM calls")[0][0])
        if count == last:
            return count
        last = count
        time.sleep(0.5)
    raise BenchError(f"the calls table of {database} still grew {timeout} s "
                     "after the load stopped")


def _stored_calls(pg, database):
    records = {}
    for call_sid, account_id in pg.query(
            database, "SELECT call_sid, account_id FROM calls"):
        records.setdefault(call_sid, []).append(account_id)
    return records


def _lease_owners(pg, database):
    return dict(pg.query(database,
                         "SELECT account_id, owner_node FROM account_leases"))


def _forwarded_share(plan, sent, accounts, owners, names):
    """Return the fraction of the webhooks sent that reached a node other
    than the account's owner. Thread t sent to node t mod len(names)."""
    forwarded = total = 0
    for thread, entries in enumerate(plan):
        receiver = names[thread % len(names)]
        for _, account_index in entries[:sent[thread]]:
            owner = owners.get(accounts[account_index].user_id)
            forwarded += owner != receiver
            total += 1
    return forwarded / max(total, 1)


def _probe_every_node(nodes, accounts):
    """Send one signed webhook to each node and return the CallSids
    sent."""
    call_sids = set()
    for index, node in enumerate(nodes):
        status, body, call_sid = webhooks.send_probe(
            node.port, PUBLIC_BASE_URL, accounts[index])
        if status != 200 or "<Response>" not in body:
            raise BenchError(f"a signed probe webhook to {node.name} "
                             f"returned status {status}: {body[:200]}")
        call_sids.add(call_sid)
    return call_sids


def _replay(ctx, nodes, data_dir, count):
    """Replay distinct pre-signed webhooks, wrk thread t sending to node
    t mod count. Return the wrk result, the plan of each thread and the
    number of threads."""
    threads = max(2, count)
    connections = CONNECTIONS // threads * threads
    prefix = data_dir / f"requests-{count}"
    plan = webhooks.presign(ctx.accounts, PUBLIC_BASE_URL,
                            PRESIGN_RATE * ctx.duration_s, threads, prefix)
    env = dict(os.environ,
               BENCH_NODE_PORTS=",".join(str(n.port) for n in nodes))
    try:
        result = run_wrk(
            f"http://127.0.0.1:{nodes[0].port}{webhooks.WEBHOOK_PATH}",
            str(ctx.lua_dir / "replay_webhooks.lua"),
            ctx.run_dir / f"wrk-webhooks-{count}.txt", ctx.duration_s,
            connections, threads,
            script_args=[str(data_dir / "accounts.txt"), str(prefix),
                         webhooks.WEBHOOK_PATH],
            server=NodeGroup(nodes), env=env)
    finally:
        webhooks.remove_files(prefix, threads)
    if result.extra.get("exhausted", 0):
        raise BenchError("the replay ran out of pre-signed webhooks, so the "
                         "figure would be a lower bound; raise PRESIGN_RATE "
                         "in bench/benchlib/cluster.py")
    return result, plan, threads


def measure_webhooks(ctx, pg, count, data_dir, twilio_url):
    """Start `count` nodes on a fresh database, connect the accounts
    through the setup flow, replay voice webhooks spread over all nodes
    and check the stored calls. Return the wrk result."""
    database = f"skyiq_webhooks_{count}"
    nodes = start_cluster(ctx, pg, database, count, data_dir, twilio_url)
    try:
        webhooks.connect_accounts(nodes[0].port, ctx.accounts)
        probes = _probe_every_node(nodes, ctx.accounts)
        result, plan, threads = _replay(ctx, nodes, data_dir, count)
        stored = _wait_for_calls_to_settle(pg, database)
        sent = [result.extra[f"sent-{t}"] for t in range(threads)]
        outcome = phases.compare_records(_stored_calls(pg, database), plan,
                                         sent, ctx.accounts, probes)
        owners = _lease_owners(pg, database)
        stray = pg.query(database, "SELECT count(*) FROM calls c JOIN "
                         "account_leases l USING (account_id) WHERE "
                         "c.lease_node IS DISTINCT FROM l.owner_node")
    finally:
        clean = _stop_and_note(ctx, phase_name(count), nodes)

    names = [node.node_name for node in nodes]
    share = _forwarded_share(plan, sent, ctx.accounts, owners, names)
    _report_webhooks(ctx, count, result, names, threads, outcome)
    _exit_figure(ctx, phase_name(count), clean, count)
    ctx.note(f"{phase_name(count)}: {sum(sent):,} webhooks sent and "
             f"{stored:,} calls stored. {share:.0%} of the webhooks sent "
             "reached a node that forwarded them to the owner, and "
             f"{int(stray[0][0]):,} calls carry a lease_node other than the "
             "account's owner at the end")
    phases.busy_note(ctx, phase_name(count), result)
    return result


def _report_webhooks(ctx, count, result, names, threads, outcome):
    phase = phase_name(count)
    # The 1-node figures are the basis, unless that phase failed.
    one = result if count == 1 else ctx.single_node
    basis = "1 node" if one else ""

    def add_compared(name, text, value, basis_value):
        ratio = value / basis_value if one else None
        ctx.add(Figure(phase, name, text, ratio, basis))

    rps = result.requests_per_s
    one_rps = one.requests_per_s if one else None
    add_compared("requests/s, all nodes", f"{rps:,.0f}", rps, one_rps)
    add_compared("requests/s per node", f"{rps / count:,.0f}", rps / count,
                 one_rps)
    for index, name in enumerate(names):
        answered = sum(result.extra[f"answered-{t}"]
                       for t in range(index, threads, count))
        ctx.add(Figure(phase, f"{name} requests/s",
                       f"{answered / result.duration_s:,.0f}"))
    add_compared("p50 latency", f"{result.p50_ms:.2f} ms", result.p50_ms,
                 one.p50_ms if one else None)
    add_compared("p99 latency", f"{result.p99_ms:.2f} ms", result.p99_ms,
                 one.p99_ms if one else None)
    non2xx = sum(result.extra[f"non2xx-{t}"] for t in range(threads))
    ctx.add(Figure(phase, "responses other than 2xx", f"{non2xx:,}",
                   target="0", met=non2xx == 0))
    failed = result.socket_errors + result.timeouts
    ctx.add(Figure(phase, "socket errors and timeouts", f"{failed:,}",
                   target="0", met=failed == 0))
    add_compared("CPU per request, all nodes",
                 f"{result.cpu_us_per_request:.1f} us",
                 result.cpu_us_per_request,
                 one.cpu_us_per_request if one else None)
    _report_records(ctx, phase, result, threads, non2xx, outcome)


def _report_records(ctx, phase, result, threads, non2xx, outcome):
    bad = (outcome["missing"] + outcome["duplicated"] + outcome["misrouted"]
           + outcome["unexpected"])
    ctx.add(Figure(phase, "CallSids stored once, right account",
                   f"{outcome['recorded_once']:,}/{outcome['sent']:,}",
                   target="every CallSid sent", met=bad == 0))
    if not bad:
        return
    # A webhook answered with an error, or still in flight when wrk
    # stopped, may rightly have no record.
    answered = sum(result.extra[f"answered-{t}"] for t in range(threads))
    excused = non2xx + outcome["sent"] - answered
    if outcome["missing"] <= excused and bad == outcome["missing"]:
        verdict = ("no more CallSids are missing than were answered other "
                   "than 2xx or not answered")
    else:
        verdict = "a CallSid answered 2xx was lost, duplicated or misrouted"
    ctx.note(f"{phase}: records check {outcome}. {non2xx:,} were answered "
             f"other than 2xx and {outcome['sent'] - answered:,} not "
             f"answered, so {verdict}")


# Forwarded versus local reads ---------------------------------------------

def _touch_accounts(node, accounts):
    """Read every account's business profile once through `node`, so that
    each account has a lease and an active actor on its owner."""
    for account in accounts:
        status, body = phases.http_get(node.port,
                                       f"/api/business/{account.user_id}",
                                       account.session_token)
        if status != 200:
            raise BenchError(f"GET /api/business/{account.user_id} on "
                             f"{node.name} returned status {status}: "
                             f"{body[:200]}")


def _write_requests(path, accounts):
    with open(path, "w") as out:
        for account in accounts:
            out.write(f"/api/business/{account.user_id} "
                      f"{account.session_token}\n")


def _read_load(ctx, nodes, path, log_name):
    return run_wrk(f"http://127.0.0.1:{nodes[0].port}/",
                   str(ctx.lua_dir / "rotate_get.lua"),
                   ctx.run_dir / log_name, ctx.duration_s, CONNECTIONS,
                   phases.WRK_THREADS, script_args=[str(path)],
                   server=NodeGroup(nodes))


def measure_forwarding(ctx, pg, data_dir, twilio_url):
    """With 2 nodes, load gw-1 with GET /api/business/:userId for the
    accounts gw-1 owns, then for those gw-2 owns."""
    database = "skyiq_forwarding"
    nodes = start_cluster(ctx, pg, database, 2, data_dir, twilio_url)
    try:
        webhooks.connect_accounts(nodes[0].port, ctx.accounts)
        _touch_accounts(nodes[0], ctx.accounts)
        owners = _lease_owners(pg, database)
        local = [a for a in ctx.accounts if owners.get(a.user_id) == "gw-1"]
        remote = [a for a in ctx.accounts
                  if owners.get(a.user_id) == "gw-2"]
        if not local or not remote:
            raise BenchError(f"gw-1 owns {len(local)} and gw-2 owns "
                             f"{len(remote)} of {len(ctx.accounts)} accounts"
                             ": both need at least one")
        _write_requests(data_dir / "local.txt", local)
        _write_requests(data_dir / "remote.txt", remote)
        near = _read_load(ctx, nodes, data_dir / "local.txt",
                          "wrk-business-local.txt")
        far = _read_load(ctx, nodes, data_dir / "remote.txt",
                         "wrk-business-forwarded.txt")
    finally:
        clean = _stop_and_note(ctx, "forwarding", nodes)

    ctx.note(f"forwarding: gw-1 owns {len(local)} and gw-2 owns "
             f"{len(remote)} of the {len(ctx.accounts)} accounts "
             "(account_leases after one read of each)")
    _report_forwarding(ctx, near, far)
    _exit_figure(ctx, "forwarding", clean, len(nodes))


def _report_forwarding(ctx, near, far):
    """Print the local and the forwarded figures, the forwarded ones with
    their ratio to the local ones."""
    for label, result in (("local", near), ("forwarded", far)):
        compared = result is far
        pairs = [
            ("requests/s", f"{result.requests_per_s:,.0f}",
             result.requests_per_s, near.requests_per_s),
            ("p50 latency", f"{result.p50_ms:.2f} ms", result.p50_ms,
             near.p50_ms),
            ("p99 latency", f"{result.p99_ms:.2f} ms", result.p99_ms,
             near.p99_ms),
            ("CPU per request, both nodes",
             f"{result.cpu_us_per_request:.1f} us",
             result.cpu_us_per_request, near.cpu_us_per_request),
        ]
        for name, text, value, local_value in pairs:
            ctx.add(Figure("forwarding", f"{label} {name}", text,
                           value / local_value if compared else None,
                           "local" if compared else ""))
        ctx.add(Figure("forwarding",
                       f"{label} errors (status > 399, socket, timeout)",
                       f"{result.errors:,}", target="0",
                       met=result.errors == 0))
        phases.busy_note(ctx, f"forwarding, {label}", result)
