"""Gateway nodes of one cluster for bench/cluster: started on one
PostgreSQL database, linked, watched through their logs and stopped by
their pids."""

import re
import time

from benchlib import phases
from benchlib.processes import BenchError

START_TIMEOUT_S = 60
# Nodes link within about one heartbeat (1 s by default).
LINK_TIMEOUT_S = 15
# Nodes stop in well under a second when nothing is wrong.
STOP_TIMEOUT_S = 15


class NodeGroup:
    """The gateway nodes of one cluster, summed for run_wrk's CPU and
    context switch figures."""

    def __init__(self, nodes):
        self.nodes = nodes

    def cpu_seconds(self):
        times = [node.cpu_seconds() for node in self.nodes]
        return sum(t[0] for t in times), sum(t[1] for t in times)

    def context_switches(self):
        return sum(node.context_switches() for node in self.nodes)


def _node_settings(pg, database, name, data_dir, twilio_url):
    return {
        "storage.url": pg.url(database),
        # Every node must open the Twilio tokens the others sealed.
        "security.master_key_file": str(data_dir / "master.key"),
        "security.argon2_memory_kib": "64",
        "security.argon2_iterations": "1",
        "twilio.api_base_url": twilio_url,
        "cluster.node_name": name,
        "cluster.listen": "127.0.0.1:0",
        "cluster.tls": "false",
        # Logs the http-listening and peer-connected lines, while the
        # per-request lines stay at debug level.
        "log.level": "information",
    }


def _linked_peers(node):
    return set(re.findall(r" peer-connected .* node=(\S+)",
                          node.log_text()))


def wait_for_links(nodes, timeout=LINK_TIMEOUT_S):
    """Wait until every node has logged peer-connected for every other
    node."""
    names = {node.node_name for node in nodes}
    deadline = time.monotonic() + timeout
    while True:
        missing = {}
        for node in nodes:
            if not node.running():
                raise BenchError(f"{node.name} exited while the nodes were "
                                 f"linking; see {node.log_path}")
            absent = names - {node.node_name} - _linked_peers(node)
            if absent:
                missing[node.name] = sorted(absent)
        if not missing:
            return
        if time.monotonic() > deadline:
            raise BenchError(f"nodes not linked within {timeout} s: "
                             + "; ".join(f"{name} has no link to "
                                         + ", ".join(peers)
                                         for name, peers in missing.items()))
        time.sleep(0.05)


def stop_nodes(nodes, timeout=STOP_TIMEOUT_S):
    """Send SIGTERM to every node and wait at most `timeout` seconds in
    all, then kill the nodes still running with SIGKILL. Return one
    message for each node that had exited before, did not exit in time or
    exited with a non-zero status. Each node's log is `<name>.log` in the
    run directory."""
    failures = []
    for node in nodes:
        if not node.running():
            failures.append(f"{node.name} had exited before SIGTERM")
        node.send_term()
    deadline = time.monotonic() + timeout
    while any(node.running() for node in nodes) and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    for node in nodes:
        if node.running():
            failures.append(f"{node.name} did not exit within {timeout} s "
                            "of SIGTERM and was killed")
            node.kill()
            continue
        status = node.stop()
        if status != 0:
            failures.append(f"{node.name} exited with status {status} after "
                            "SIGTERM")
    return failures


def start_cluster(ctx, pg, database, count, data_dir, twilio_url):
    """Create `database` and start `count` nodes gw-1 .. gw-N on it, one
    after the other so that only the first runs the migrations; return
    them once all are linked."""
    pg.create_database(database)
    nodes = []
    try:
        for index in range(count):
            name = f"gw-{index + 1}"
            node = phases.start_gateway(
                ctx, f"{database}-{name}", data_dir,
                _node_settings(pg, database, name, data_dir, twilio_url))
            node.node_name = name
            nodes.append(node)
            node.wait_for_log(r"http-listening .* port=\d+", START_TIMEOUT_S)
        wait_for_links(nodes)
    except BaseException:
        stop_nodes(nodes)
        raise
    return nodes


# Events counted even at information level, because each one stops an
# account actor or a node link.
COUNTED_EVENTS = {"lease-lost", "account-moved", "peer-down"}


def count_log_events(nodes):
    """Return "event count" pairs, most frequent first, of the nodes' log
    lines at warning level or above and of COUNTED_EVENTS."""
    counts = {}
    for node in nodes:
        for line in node.log_text().splitlines():
            fields = line.split(" ", 4)
            if len(fields) < 4:
                continue
            level, event = fields[1], fields[3]
            if level in ("Warning", "Error", "Critical", "Fatal") or \
                    event in COUNTED_EVENTS:
                counts[event] = counts.get(event, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    return ", ".join(f"{event} {count:,}" for event, count in ranked)
