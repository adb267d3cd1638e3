"""Starting, watching and stopping the processes a benchmark runs.

Every process is ended by the pid this module started, never by name.
"""

import http.client
import os
import re
import signal
import socket
import subprocess
import time


class BenchError(Exception):
    """A benchmark step that failed. The message names the step and the
    reason."""


def free_port():
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def machine_busy(seconds=1.0):
    """Return the fraction of all CPUs busy over the next `seconds`, from
    /proc/stat. Called while the benchmark's own processes are idle, it
    measures what else runs on the machine."""
    def sample():
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
        idle = values[3] + values[4]
        return idle, sum(values)

    idle_before, total_before = sample()
    time.sleep(seconds)
    idle_after, total_after = sample()
    total = total_after - total_before
    return 1 - (idle_after - idle_before) / total if total else 0.0


def fdatasync_ms(directory, count=200):
    """Return the median time, in milliseconds, of writing 4 KiB to a file
    in `directory` and waiting for fdatasync: the least a durable commit
    costs on that file system."""
    path = os.path.join(directory, "fdatasync-probe")
    times = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(count):
            started = time.perf_counter()
            os.write(fd, b"\0" * 4096)
            os.fdatasync(fd)
            times.append(time.perf_counter() - started)
    finally:
        os.close(fd)
        os.unlink(path)
    times.sort()
    return times[len(times) // 2] * 1000


def run_checked(argv, log_path, cwd=None):
    """Run `argv` to completion with its output in `log_path`."""
    with open(log_path, "ab") as log:
        result = subprocess.run(argv, cwd=cwd, stdout=log,
                                stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise BenchError(f"{' '.join(argv)} exited with status "
                         f"{result.returncode}; see {log_path}")


class Process:
    """A child process whose stdout and stderr go to a log file."""

    def __init__(self, name, argv, log_path, env=None, cwd=None):
        self.name = name
        self.argv = list(argv)
        self.cwd = cwd
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.started = time.monotonic()
        self._popen = subprocess.Popen(argv, stdout=self._log,
                                       stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, env=env,
                                       cwd=cwd)
        self.pid = self._popen.pid
        self.term_sent = False

    def send_term(self):
        """Send SIGTERM once without waiting, so that several processes
        can stop at the same time. A later stop() only waits."""
        if self._popen.poll() is None and not self.term_sent:
            os.kill(self.pid, signal.SIGTERM)
            self.term_sent = True

    def log_text(self):
        with open(self.log_path, "r", errors="replace") as log:
            return log.read()

    def wait_for_log(self, pattern, timeout):
        """Wait for a log line matching `pattern`; return the match and the
        seconds from process start to the moment it was seen (polled every
        millisecond)."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with open(self.log_path, "r", errors="replace") as log:
            text = ""
            while time.monotonic() < deadline:
                text += log.read()
                found = regex.search(text)
                if found:
                    return found, time.monotonic() - self.started
                if self._popen.poll() is not None:
                    raise BenchError(
                        f"{self.name} exited with status "
                        f"{self._popen.returncode} during start-up; see "
                        f"{self.log_path}")
                time.sleep(0.001)
        raise BenchError(f"{self.name} logged no line matching "
                         f"'{pattern}' within {timeout} s; see "
                         f"{self.log_path}")

    def wait_until_ready(self, port, path, timeout):
        """Poll GET `path` on 127.0.0.1:`port` until it returns 200; return
        the seconds since process start."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._popen.poll() is not None:
                raise BenchError(f"{self.name} exited with status "
                                 f"{self._popen.returncode} during start-up;"
                                 f" see {self.log_path}")
            connection = http.client.HTTPConnection("127.0.0.1", port,
                                                    timeout=1)
            try:
                connection.request("GET", path)
                if connection.getresponse().status == 200:
                    return time.monotonic() - self.started
            except (OSError, http.client.HTTPException):
                pass
            finally:
                connection.close()
            time.sleep(0.01)
        raise BenchError(f"{self.name} did not return 200 on {path} within "
                         f"{timeout} s; see {self.log_path}")

    def rss_kib(self):
        """Return the resident set size (VmRSS) in KiB."""
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise BenchError(f"/proc/{self.pid}/status of {self.name} has no "
                         "VmRSS line")

    def cpu_seconds(self):
        """Return the user and the system CPU time, in seconds, that the
        process used so far."""
        with open(f"/proc/{self.pid}/stat") as stat:
            # Fields after the parenthesised command name; utime and stime
            # are fields 14 and 15 of proc(5).
            fields = stat.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return int(fields[11]) / ticks, int(fields[12]) / ticks

    def context_switches(self):
        """Return the voluntary plus involuntary context switches of all
        the process's current threads (a thread that exited is missing)."""
        total = 0
        for task in os.listdir(f"/proc/{self.pid}/task"):
            try:
                with open(f"/proc/{self.pid}/task/{task}/status") as status:
                    for line in status:
                        if line.startswith(("voluntary_ctxt_switches:",
                                            "nonvoluntary_ctxt_switches:")):
                            total += int(line.split()[1])
            except FileNotFoundError:
                continue
        return total

    def stop(self, timeout=60):
        """Send SIGTERM, unless send_term() did, wait and return the exit
        status. A process that does not exit in time is killed with
        SIGKILL and reported."""
        self.send_term()
        try:
            status = self._popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.pid, signal.SIGKILL)
            self._popen.wait()
            self._log.close()
            raise BenchError(f"{self.name} (pid {self.pid}) did not exit "
                             f"within {timeout} s of SIGTERM and was killed;"
                             f" see {self.log_path}")
        self._log.close()
        return status

    def kill(self):
        """Kill the process with SIGKILL, wait for it and return its exit
        status."""
        if self._popen.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
        status = self._popen.wait()
        self._log.close()
        return status

    def running(self):
        return self._popen.poll() is None

    def wait(self, timeout):
        """Wait for the process to exit on its own; return its status."""
        try:
            status = self._popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise BenchError(f"{self.name} (pid {self.pid}) did not exit "
                             f"within {timeout} s; see {self.log_path}")
        self._log.close()
        return status

    def descendant_running(self, executable):
        """Return the pid of a descendant process running `executable`,
        for wrapper scripts (heaptrack) that start their target as a
        child and do not pass SIGTERM on."""
        parents = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parents[int(entry)] = int(
                        stat.read().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError):
                continue
        for pid in parents:
            ancestor = parents.get(pid)
            while ancestor and ancestor != self.pid:
                ancestor = parents.get(ancestor)
            if ancestor != self.pid:
                continue
            try:
                if os.path.realpath(f"/proc/{pid}/exe") == \
                        os.path.realpath(executable):
                    return pid
            except OSError:
                continue
        raise BenchError(f"{self.name} (pid {self.pid}) has no child "
                         f"running {executable}")
