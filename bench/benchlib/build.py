"""The source tree that is measured, and its Release build."""

import io
import os
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from benchlib.processes import BenchError, run_checked

GATEWAY_TARGETS = ["skyiq-gateway", "fake-twilio", "skyiq-sign-webhook"]


@dataclass
class Binaries:
    gateway: Path
    fake_twilio: Path
    sign_webhook: Path
    baseline: Path


def _git(repo, *args):
    done = subprocess.run(["git", "-C", str(repo)] + list(args),
                          capture_output=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"git {' '.join(args)} failed: "
                         f"{done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def short_commit(repo, rev="HEAD"):
    return _git(repo, "rev-parse", "--short", rev).decode().strip()


def uncommitted_files(repo):
    """Return the paths with uncommitted changes outside bench/ and
    BENCHMARKS.md."""
    lines = _git(repo, "status", "--porcelain").decode().splitlines()
    paths = [line[3:] for line in lines]
    return [p for p in paths
            if not p.startswith("bench/") and p != "BENCHMARKS.md"]


def sync_revision(repo, rev, destination):
    """Make `destination` hold exactly the files of `rev` (git archive).
    Files whose content did not change keep their modification time, so
    that the build in its own directory stays incremental."""
    data = _git(repo, "archive", "--format=tar", rev)
    destination.mkdir(parents=True, exist_ok=True)
    wanted = set()
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for member in archive:
            if not member.isfile():
                continue
            target = destination / member.name
            wanted.add(target)
            content = archive.extractfile(member).read()
            if target.is_file() and target.read_bytes() == content:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            os.chmod(target, member.mode)
    for path in destination.rglob("*"):
        if path.is_file() and path not in wanted:
            path.unlink()


def prepare_source(repo, build_root, rev="HEAD", worktree=False):
    """Return the source directory to build, its build directory and a
    description of what is measured. The source is the checkout as it is
    when `worktree` is true, otherwise `rev` exported with git archive."""
    if worktree:
        changed = uncommitted_files(repo)
        description = (f"working tree at {short_commit(repo)}"
                       + (" with uncommitted changes in "
                          + ", ".join(changed) if changed else ", clean"))
        return repo, build_root / "worktree", description
    commit = short_commit(repo, rev)
    source = build_root / "src"
    sync_revision(repo, commit, source)
    changed = uncommitted_files(repo)
    description = f"commit {commit} (git archive of {rev})"
    if changed:
        description += ("; uncommitted changes in the checkout were not "
                        "measured")
    return source, build_root / "gateway", description


def build(source, build_root, gateway_build, bench_dir, log_path,
          jobs=None):
    """Build the gateway's targets in Release mode in `gateway_build` and
    the bench tools in `build_root`/tools, with `jobs` parallel jobs
    (default one per CPU); return the executables."""
    tools_build = build_root / "tools"
    jobs = str(jobs or os.cpu_count() or 2)
    run_checked(["cmake", "-S", str(source), "-B", str(gateway_build),
                 "-DCMAKE_BUILD_TYPE=Release", "-DSKYIQ_BUILD_TESTS=ON"],
                log_path)
    run_checked(["cmake", "--build", str(gateway_build), "-j", jobs,
                 "--target"] + GATEWAY_TARGETS, log_path)
    run_checked(["cmake", "-S", str(bench_dir), "-B", str(tools_build),
                 "-DCMAKE_BUILD_TYPE=Release"], log_path)
    run_checked(["cmake", "--build", str(tools_build), "-j", jobs],
                log_path)
    return Binaries(
        gateway=gateway_build / "http" / "skyiq-gateway",
        fake_twilio=gateway_build / "tests" / "fake_twilio" / "fake-twilio",
        sign_webhook=gateway_build / "examples" / "skyiq-sign-webhook",
        baseline=tools_build / "skyiq-bench-baseline")


def supports_setting(source, key):
    """Return True when the measured source's settings loader accepts
    `key`, so that a setting added after a benchmarked commit is passed
    only to builds that accept it."""
    settings = Path(source) / "config" / "settings.cpp"
    return f'"{key}"' in settings.read_text()
