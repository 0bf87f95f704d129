"""Running the demo workflow under faults: started, killed and rerun in a temporary folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from demo_workflow import BIN, CONFIGS, REPO

from haicgx.record import current_assignments, recommendation_digest

# What `make run` passes through the default profile: a rerun remakes the outputs of a killed
# job (rerun-incomplete) and one failed job does not stop the others (keep-going).
PROFILE = ("--rerun-incomplete", "--keep-going")


def command(workdir: Path, *extra: str, configs: tuple[Path, ...] = ()) -> list[str]:
    return [
        str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "-d", str(workdir),
        "--configfile", *map(str, CONFIGS), *map(str, configs), "--cores", "2", *PROFILE, *extra,
    ]  # fmt: skip


def environment() -> dict[str, str]:
    return dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


def run(workdir: Path, *extra: str, configs: tuple[Path, ...] = ()) -> subprocess.CompletedProcess:
    return subprocess.run(
        command(workdir, *extra, configs=configs),
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=900,
        env=environment(),
    )


def start(workdir: Path, configs: tuple[Path, ...] = ()) -> subprocess.Popen:
    """A run in its own session, so that a kill reaches Snakemake and every job it started."""
    return subprocess.Popen(
        command(workdir, configs=configs),
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=environment(),
        start_new_session=True,
    )


def session_processes(leader: int, fragment: bytes) -> list[int]:
    """The processes of `leader`'s session whose command line holds `fragment`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == leader:
            continue
        try:
            if (
                os.getsid(int(entry.name)) == leader
                and fragment in (entry / "cmdline").read_bytes()
            ):
                found.append(int(entry.name))
        except OSError:
            continue  # ended meanwhile
    return found


def kill_run(process: subprocess.Popen, delay: float) -> bool:
    """SIGKILL Snakemake and all its jobs after `delay` s (power cut, OOM killer, kill -9 of the
    process group); True if it was still running."""
    try:
        process.wait(timeout=delay)
        return False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return True


def kill_analysis_job(process: subprocess.Popen, delay: float) -> bool:
    """SIGKILL one analysis job `delay` s after it starts, leaving Snakemake to see it fail and run
    its onerror; True if a job was killed. Then the run is left to end by itself."""
    while process.poll() is None:
        jobs = session_processes(process.pid, b"analyse.py")
        if jobs:
            time.sleep(delay)
            for pid in session_processes(process.pid, b"analyse.py"):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    continue
                process.wait()
                return True
        time.sleep(0.05)
    return False


def recommendation_digests(workdir: Path, patients: list[str]) -> dict[str, str | None]:
    digests: dict[str, str | None] = {}
    for pid in patients:
        path = workdir / "results" / "patients" / pid / "recommendation.json"
        try:
            digests[pid] = recommendation_digest(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            digests[pid] = None
    return digests


def recorded_digests(workdir: Path) -> dict[str, str]:
    """Each patient's current version in the record, by its recommendation digest."""
    record = workdir / "results" / "cohort_record.sqlite"
    return {a["patient_id"]: a["recommendation_sha256"] for a in current_assignments(record)}
