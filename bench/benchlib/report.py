"""The figure lines bench/run prints and the record it appends to
BENCHMARKS.md."""

import os
import platform
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional


@dataclass
class Figure:
    """One measured figure. `ratio` is the value divided by `basis` (the
    baseline's figure or the target); `met` is None for figures without a
    target."""

    phase: str
    name: str
    value: str
    ratio: Optional[float] = None
    basis: str = ""
    target: str = ""
    met: Optional[bool] = None
    note: str = ""

    def verdict(self):
        if self.met is None:
            return "-"
        return "met" if self.met else "MISSED"

    def ratio_text(self):
        if self.ratio is None:
            return "-"
        return f"{self.ratio:.2f} x {self.basis}"


def print_line(figure):
    print(f"{figure.phase:<10} {figure.name:<34} {figure.value:>14}  "
          f"{figure.ratio_text():<20} {figure.target:<22} "
          f"{figure.verdict()}", flush=True)


def machine():
    """Return nproc, the CPU model and the kernel release."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"nproc {os.cpu_count()}, {model}, Linux {platform.release()}"


def git(repo, *args):
    return subprocess.run(["git", "-C", repo] + list(args),
                          capture_output=True, text=True,
                          check=True).stdout.strip()


def append_record(path, figures, command, source, notes, title="Run"):
    """Append one run's figures as a Markdown section headed
    "## `title` of <UTC date and time>" to `path`."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "",
        f"## {title} of {stamp}",
        "",
        f"- Source: {source}",
        f"- Machine: {machine()}",
        f"- Command: `{command}`",
    ]
    lines += [f"- {note}" for note in notes]
    lines += [
        "",
        "| phase | figure | value | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for f in figures:
        lines.append(f"| {f.phase} | {f.name} | {f.value} | "
                     f"{f.ratio_text()} | {f.target or '-'} | "
                     f"{f.verdict()} |")
    with open(path, "a") as out:
        out.write("\n".join(lines) + "\n")
