"""Helpers of the cluster tests: run the workflow locally or through the SLURM profile, read
back what SLURM knows of the jobs, and drive tools/slurm/local-slurm.sh."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SNAKEFILE = REPO / "Snakefile"
# The demo's config: a site's template, then the demo's own settings.
CONFIGS = (REPO / "config" / "config.yaml", REPO / "config" / "demo.yaml")
SLURM_PROFILE = REPO / "workflow" / "profiles" / "slurm"
SCRIPT = REPO / "tools" / "slurm" / "local-slurm.sh"
SLURM_CONF = "/etc/slurm/slurm.conf"  # where tools/slurm/local-slurm.sh writes it

# The rules that run as SLURM jobs and those that run on the submitting host. A new rule must be
# put in one of the two (docs/cluster.md says how to choose).
CLUSTER_RULES = {"analyse"}
LOCAL_RULES = {"publish", "cohort"}


def script(command: str, timeout: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SCRIPT), command],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def reason_of(result: subprocess.CompletedProcess) -> str:
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("local-slurm:")]
    return lines[0].removeprefix("local-slurm: ") if lines else result.stderr.strip()[-300:]


@dataclass
class Run:
    returncode: int
    output: str  # stdout and stderr
    run_id: str | None  # the SLURM job name of every job of the run


def snakemake(workdir: Path, *args: str, configs: tuple[Path, ...] = (), timeout: int = 420) -> Run:
    """Run the workflow in `workdir`, killed (and its SLURM jobs cancelled) after `timeout` s."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env["SLURM_CONF"] = SLURM_CONF
    env.pop("SNAKEMAKE_PROFILE", None)
    command = [
        "timeout", "-s", "KILL", str(timeout), str(BIN / "snakemake"),
        "-s", str(SNAKEFILE), "-d", str(workdir),
        "--configfile", *map(str, CONFIGS), *map(str, configs), *args,
    ]  # fmt: skip
    result = subprocess.run(
        command,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout + 60,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    output = result.stdout + result.stderr
    found = re.search(r"SLURM run ID: (\S+)", output)
    run = Run(result.returncode, output, found.group(1) if found else None)
    if result.returncode in (124, 137, -9) and run.run_id:  # killed by timeout
        subprocess.run(["scancel", "--name", run.run_id], env=env, check=False)
    return run


def on_slurm(workdir: Path, *args: str, configs: tuple[Path, ...] = ()) -> Run:
    """The workflow through the SLURM profile, as the docs show, polling every 2 s."""
    return snakemake(
        workdir,
        "--workflow-profile", str(SLURM_PROFILE),
        "--slurm-init-seconds-before-status-checks", "2",
        *args,
        configs=configs,
    )  # fmt: skip


@dataclass
class SlurmJob:
    job_id: str
    state: str
    mem_mb: int
    time_limit_min: int
    script: str  # the batch script: the Snakemake command with --target-jobs and --attempt

    @property
    def batches(self) -> set[str]:
        """The analysis jobs (groups of `patients_per_job` patients) this SLURM job ran."""
        return set(re.findall(r"batch=(batch\d+)", self.script))

    @property
    def rules(self) -> set[str]:
        return set(re.findall(r"'?(\w+):batch=", self.script))

    @property
    def attempt(self) -> int:
        return int(re.search(r"--attempt '?(\d+)", self.script).group(1))


def _mb(text: str) -> int:
    number, unit = re.fullmatch(r"([\d.]+)([KMGT]?)", text).groups()
    return round(float(number) * {"K": 1 / 1024, "": 1, "M": 1, "G": 1024, "T": 1024**2}[unit])


def _minutes(text: str) -> int:
    days, _, clock = text.rpartition("-")
    parts = [int(p) for p in clock.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0)
    hours, minutes, seconds = parts
    return (int(days or 0) * 24 + hours) * 60 + minutes + (seconds > 0)


def slurm_jobs(run_id: str | None) -> list[SlurmJob]:
    """The jobs of one run as slurmctld knows them (finished ones stay for MinJobAge = 300 s)."""
    assert run_id, "no 'SLURM run ID' in Snakemake's output: did the slurm executor run?"
    env = dict(os.environ, SLURM_CONF=SLURM_CONF)
    listing = subprocess.run(
        ["squeue", "--states=all", "--noheader", "--name", run_id, "--format=%i|%T|%m|%l"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    jobs = []
    for line in listing.splitlines():
        job_id, state, memory, limit = line.strip().split("|")
        batch = subprocess.run(
            ["scontrol", "write", "batch_script", job_id, "-"],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout
        jobs.append(SlurmJob(job_id, state, _mb(memory), _minutes(limit), batch))
    return sorted(jobs, key=lambda job: int(job.job_id))


def dry_run_jobs(workdir: Path, *args: str) -> list[dict]:
    """The jobs of a dry run with the SLURM profile: rule, wildcards and evaluated resources."""
    run = snakemake(workdir, "-n", "--workflow-profile", str(SLURM_PROFILE), *args, timeout=120)
    assert run.returncode == 0, run.output[-3000:]
    jobs: list[dict] = []
    for line in run.output.splitlines():
        head = re.fullmatch(r"\s*(?:local)?rule (\w+):", line)
        if head:
            jobs.append({"rule": head.group(1), "wildcards": "", "resources": {}})
            continue
        if not jobs:
            continue
        field = re.fullmatch(r"\s*(wildcards|resources): (.*)", line)
        if field and field.group(1) == "wildcards":
            jobs[-1]["wildcards"] = field.group(2)
        elif field:
            for item in field.group(2).split(", "):
                key, _, value = item.partition("=")
                jobs[-1]["resources"][key] = value
    return jobs


def recommendation(workdir: Path, patient: str) -> dict:
    """recommendation.json without provenance.generated_at, the one field allowed to differ."""
    path = workdir / "results" / "patients" / patient / "recommendation.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["provenance"].pop("generated_at")
    return data
