"""A throwaway PostgreSQL 15 cluster on 127.0.0.1 for one benchmark run.

Set up as scripts/test-all does: initdb and pg_ctl run as the postgres
user on a data directory in a fresh /tmp/skyiq-bench-pg.* directory, with
trust authentication, listening on 127.0.0.1 only and fsync on. Queries
go through psql, so no Python driver is needed.
"""

import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from benchlib.processes import BenchError, free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30
QUERY_TIMEOUT_S = 60


def port_is_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _as_postgres(argv, timeout):
    """Run a PostgreSQL program as the postgres user and return its
    output."""
    try:
        done = subprocess.run(["runuser", "-u", "postgres", "--"] + argv,
                              capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchError(f"{argv[0]} did not finish within {timeout} s")
    except FileNotFoundError as missing:
        raise BenchError(f"{missing.filename} is missing: install "
                         "postgresql-15 (scripts/install-deps)")
    if done.returncode != 0:
        raise BenchError(f"{' '.join(argv)} exited with status "
                         f"{done.returncode}: {done.stderr.strip()}")
    return done.stdout


class Postgres:
    """A PostgreSQL cluster that this process initialized and started.
    stop() stops it through pg_ctl, which signals the postmaster whose pid
    is in this cluster's own postmaster.pid, and removes its directory."""

    def __init__(self, preferred_port, run_dir):
        self.run_dir = run_dir
        self.port = (preferred_port if port_is_free(preferred_port)
                     else free_port())
        self.directory = Path(tempfile.mkdtemp(prefix="skyiq-bench-pg."))
        self.data = self.directory / "data"
        self.log_path = self.directory / "postgres.log"
        self.started = False

    def start(self):
        shutil.chown(self.directory, "postgres")
        _as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data), "-A",
                      "trust", "-U", "postgres"], START_TIMEOUT_S)
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} "
                   f"-k {self.directory} -c fsync=on")
        # Marked before pg_ctl returns, so that a start that times out is
        # still stopped.
        self.started = True
        _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l",
                      str(self.log_path), "-o", options, "-w", "-t",
                      str(START_TIMEOUT_S), "start"], START_TIMEOUT_S + 10)

    def url(self, database):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name):
        self.query("postgres", f'CREATE DATABASE "{name}"')

    def query(self, database, sql):
        """Run `sql` and return its rows as lists of column texts."""
        argv = ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U",
                "postgres", "-d", database, "-X", "-A", "-t", "-F", "\t",
                "-v", "ON_ERROR_STOP=1", "-c", sql]
        try:
            done = subprocess.run(argv, capture_output=True, text=True,
                                  timeout=QUERY_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise BenchError(f"psql did not finish within {QUERY_TIMEOUT_S}"
                             f" s: {sql}")
        if done.returncode != 0:
            raise BenchError(f"psql failed on {sql!r}: "
                             f"{done.stderr.strip()}")
        return [line.split("\t") for line in done.stdout.splitlines()
                if line]

    def logged_errors(self):
        """Return "message count" pairs of the ERROR lines in the server
        log, most frequent first, or "none"."""
        counts = {}
        with open(self.log_path, errors="replace") as log:
            for line in log:
                found = re.search(r"\] ERROR:  (.*)$", line)
                if found:
                    message = found.group(1).strip()
                    counts[message] = counts.get(message, 0) + 1
        ranked = sorted(counts.items(), key=lambda item: -item[1])
        return ", ".join(f"{message} {count:,}"
                         for message, count in ranked) or "none"

    def stop(self, keep_data=False):
        """Stop the cluster, copy its log into the run directory and
        remove its directory unless `keep_data`."""
        try:
            if self.started:
                _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data),
                              "-m", "fast", "-w", "-t",
                              str(STOP_TIMEOUT_S), "stop"],
                             STOP_TIMEOUT_S + 10)
                self.started = False
        finally:
            if self.log_path.exists():
                shutil.copy(self.log_path, self.run_dir / "postgres.log")
            if not keep_data:
                shutil.rmtree(self.directory, ignore_errors=True)
