"""The workflow on a real single-node SLURM, through workflow/profiles/slurm.

The cluster is the one tools/slurm/local-slurm.sh starts: munge, slurmctld and slurmd on this
machine, memory enforced by jobacct_gather/linux with OverMemoryKill. The demo cohort through SLURM
must give what a local run gives; a job killed for its memory is retried with more and succeeds;
a job that stays over its memory fails alone while the other patients complete and are recorded
once. The first test needs no SLURM: it checks what the profile asks of every rule.
"""

from __future__ import annotations

import csv
import fcntl
import os
import re
import sqlite3
from pathlib import Path

import pytest
from slurm_helpers import (
    CLUSTER_RULES,
    LOCAL_RULES,
    REPO,
    dry_run_jobs,
    on_slurm,
    reason_of,
    recommendation,
    script,
    slurm_jobs,
    snakemake,
)

DEMO_SHEET = REPO / "config" / "demo_patients.tsv"

# Far below what the Snakemake process inside every job needs (about 140 MB): OverMemoryKill
# kills the job within a second or two of its start, long before it could finish.
STARVED_MB = 64


def demo_rows() -> list[dict[str, str]]:
    with DEMO_SHEET.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def demo_patients() -> list[str]:
    return [row["patient_id"] for row in demo_rows()]


def sheet_of(tmp: Path, patients: list[str], patients_per_job: int = 5) -> Path:
    """A config naming a sheet of these demo patients, their VCF paths made absolute."""
    rows = {row["patient_id"]: row for row in demo_rows()}
    sheet = tmp / "patients.tsv"
    with sheet.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(demo_rows()[0]), delimiter="\t")
        writer.writeheader()
        for pid in patients:
            vcf = (DEMO_SHEET.parent / rows[pid]["vcf"]).resolve()
            writer.writerow({**rows[pid], "vcf": str(vcf)})
    extra = tmp / "sheet.yaml"
    extra.write_text(f"patients: {sheet}\npatients_per_job: {patients_per_job}\n", encoding="utf-8")
    return extra


def starve(expression: str) -> list[str]:
    """--set-resources giving mem_mb = `expression` to every rule that runs on the cluster."""
    return ["--set-resources", *(f"{rule}:mem_mb={expression}" for rule in sorted(CLUSTER_RULES))]


def recorded(workdir: Path) -> list[str]:
    """The patient of every version in the cohort record, after an integrity check."""
    with sqlite3.connect(workdir / "results" / "cohort_record.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return sorted(pid for (pid,) in db.execute("SELECT patient_id FROM assignments"))


def exported(workdir: Path) -> list[str]:
    with (workdir / "results" / "cohort_record.tsv").open(encoding="utf-8") as handle:
        return sorted(row["patient_id"] for row in csv.DictReader(handle, delimiter="\t"))


def failed_slurm_logs(workdir: Path) -> str:
    """The SLURM logs the plugin keeps: those of failed jobs."""
    logs = sorted((workdir / ".snakemake" / "slurm_logs").rglob("*.log"))
    return "\n".join(log.read_text(encoding="utf-8", errors="replace") for log in logs)


# -- the cluster -------------------------------------------------------------------------------
#
# `slurm_cluster` uses the cluster that tools/slurm/local-slurm.sh runs (.ci/run starts it), or
# starts it and stops it again at the end of the session. Where it cannot start (not root, not
# Debian, no apt-get, packages not installable, a daemon failing) the SLURM tests skip with the
# script's own reason; with HAICGX_REQUIRE_SLURM=1 (set by .ci/run once it has started the
# cluster) they fail instead, so a broken cluster never hides behind a skip.

STATE = Path(os.environ.get("HAICGX_SLURM_STATE", "/var/lib/haicgx-slurm"))


@pytest.fixture(scope="session")
def slurm_cluster():
    """The single-node SLURM, running; skips (or fails if required) with the reason when not."""
    required = os.environ.get("HAICGX_REQUIRE_SLURM") == "1"

    def unavailable(reason: str):
        if required:
            pytest.fail(f"HAICGX_REQUIRE_SLURM=1, but no single-node SLURM: {reason}")
        pytest.skip(f"no single-node SLURM: {reason}")

    if os.name != "posix" or os.geteuid() != 0:
        unavailable("not root (tools/slurm/local-slurm.sh installs and starts daemons as root)")
    STATE.mkdir(parents=True, exist_ok=True)
    # A shared lock for as long as this session uses the cluster: a session that started it
    # stops it at its end only when no other session holds the lock.
    with (STATE / "users.lock").open("a") as users:
        fcntl.flock(users, fcntl.LOCK_SH)
        started = False
        if script("status", timeout=60).returncode != 0:
            result = script("start", timeout=900)
            if result.returncode != 0:
                unavailable(f"tools/slurm/local-slurm.sh start failed: {reason_of(result)}")
            started = True
        yield
        if started:
            try:
                fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # another session still runs jobs on it
            script("stop", timeout=120)


# -- what the profile asks of every rule (no SLURM needed) --------------------------------------


def test_every_rule_declares_resources_that_grow_on_retry(tmp_path):
    first = dry_run_jobs(tmp_path)
    second = dry_run_jobs(tmp_path, "--attempt", "2")
    rules = {job["rule"] for job in first} - {"all"}
    assert rules == CLUSTER_RULES | LOCAL_RULES, (
        "a rule was added or removed: put it in CLUSTER_RULES or LOCAL_RULES (tests/cluster/"
        "slurm_helpers.py) and in the table of docs/cluster.md"
    )
    by_job = {(j["rule"], j["wildcards"]): j["resources"] for j in second}
    for job in first:
        if job["rule"] == "all":
            continue
        resources = job["resources"]
        assert int(resources["runtime"]) > 0, job
        mem_mb = int(resources["mem_mb"])
        assert mem_mb > 0, job
        if job["rule"] in CLUSTER_RULES:
            # The Snakemake process inside every SLURM job takes about 140 MB of the limit.
            assert mem_mb >= 300, job
            retry = by_job[(job["rule"], job["wildcards"])]
            assert int(retry["mem_mb"]) == 2 * mem_mb, (job, retry)


# -- the demo cohort through SLURM --------------------------------------------------------------


@pytest.fixture(scope="module")
def local_demo(slurm_cluster, tmp_path_factory) -> Path:
    """The demo cohort run locally: what SLURM runs must give."""
    workdir = tmp_path_factory.mktemp("local")
    result = snakemake(workdir, "--cores", "2")
    assert result.returncode == 0, result.output[-3000:]
    return workdir


@pytest.fixture(scope="module")
def slurm_demo(slurm_cluster, tmp_path_factory):
    """The demo cohort through the SLURM profile: its working directory and its run."""
    workdir = tmp_path_factory.mktemp("slurm")
    run = on_slurm(workdir)
    assert run.returncode == 0, run.output[-5000:]
    assert run.run_id, "no SLURM run ID in the output: did the slurm executor run?"
    return workdir, run


@pytest.mark.slurm
def test_slurm_gives_the_local_recommendations(local_demo, slurm_demo):
    local, (cluster, _) = local_demo, slurm_demo
    for patient in demo_patients():
        assert recommendation(cluster, patient) == recommendation(local, patient), patient
        for name in ("variants.tsv", "matches.tsv"):
            ours = cluster / "results" / "patients" / patient / name
            theirs = local / "results" / "patients" / patient / name
            assert ours.read_bytes() == theirs.read_bytes(), (patient, name)
        assert (cluster / "results" / "patients" / patient / "report.pdf").stat().st_size > 0


@pytest.mark.slurm
def test_one_slurm_job_per_analysis_group_with_the_declared_resources(slurm_demo, tmp_path):
    _, run = slurm_demo
    declared = {}
    for job in dry_run_jobs(tmp_path):
        if job["rule"] in CLUSTER_RULES:
            resources = {k: int(job["resources"][k]) for k in ("mem_mb", "runtime")}
            declared[job["wildcards"].removeprefix("batch=")] = resources
    # The demo config analyses 5 patients to a job: its 10 patients make two SLURM jobs.
    assert sorted(declared) == ["batch001", "batch002"]
    jobs = slurm_jobs(run.run_id)
    assert sorted(b for job in jobs for b in job.batches) == sorted(declared)
    for job in jobs:
        assert job.state == "COMPLETED", job
        assert job.rules == CLUSTER_RULES, job
        assert job.attempt == 1
        (batch,) = job.batches
        assert job.mem_mb == declared[batch]["mem_mb"], job
        assert job.time_limit_min == declared[batch]["runtime"], job
    # Publishing and the record run on the submitting host only.
    for patient in demo_patients():
        publish = (
            r"localrule publish:\n\s+input: results/work/batch00\d, "
            rf"results/work/inputs/{patient}\.json\n"
            rf"\s+output: results/patients/{patient}/"
        )
        assert len(re.findall(publish, run.output)) == 1, patient
    assert run.output.count("localrule cohort:") == 1


@pytest.mark.slurm
def test_slurm_records_every_patient_once(slurm_demo):
    cluster, _ = slurm_demo
    assert recorded(cluster) == sorted(demo_patients())
    assert exported(cluster) == sorted(demo_patients())


# -- failures -----------------------------------------------------------------------------------


@pytest.mark.slurm
def test_a_job_killed_for_its_memory_succeeds_on_retry(local_demo, tmp_path):
    local = local_demo
    patient = "DEMO04"
    # Attempt 1 is starved and killed by SLURM; from attempt 2 on the job gets 1000 MB x attempt,
    # as the rules' memory() gives.
    run = on_slurm(
        tmp_path,
        "--retries", "1",
        *starve(f"{STARVED_MB} if attempt == 1 else 1000 * attempt"),
        configs=(sheet_of(tmp_path, [patient]),),
    )  # fmt: skip
    assert run.returncode == 0, run.output[-5000:]
    jobs = slurm_jobs(run.run_id)
    assert [(j.attempt, j.state, j.mem_mb) for j in jobs] == [
        (1, "FAILED", STARVED_MB),
        (2, "COMPLETED", 2000),
    ], jobs
    assert all(j.batches == {"batch001"} for j in jobs)
    assert "exceeded memory limit" in failed_slurm_logs(tmp_path)
    assert recommendation(tmp_path, patient) == recommendation(local, patient)
    assert recorded(tmp_path) == [patient]


@pytest.mark.slurm
def test_a_job_over_its_memory_fails_alone_with_keep_going(local_demo, tmp_path):
    local = local_demo
    patients, starved = ["DEMO01", "DEMO04", "DEMO06"], "DEMO04"
    # One patient to a job here, so that the starved job holds DEMO04 alone (batch002).
    run = on_slurm(
        tmp_path,
        "--keep-going", "--retries", "0",
        *starve(f"{STARVED_MB} if wildcards.batch == 'batch002' else 1000 * attempt"),
        configs=(sheet_of(tmp_path, patients, patients_per_job=1),),
    )  # fmt: skip
    assert run.returncode != 0, run.output[-5000:]
    by_batch = {next(iter(j.batches)): j for j in slurm_jobs(run.run_id)}
    jobs = {patient: by_batch[f"batch{n:03d}"] for n, patient in enumerate(patients, start=1)}
    assert (jobs[starved].state, jobs[starved].mem_mb) == ("FAILED", STARVED_MB)
    assert "exceeded memory limit" in failed_slurm_logs(tmp_path)
    assert f"haicgx: {starved} failed" in run.output
    folder = tmp_path / "results" / "patients" / starved
    assert not folder.exists() or not any(folder.iterdir()), "no partial output"
    completed = [p for p in patients if p != starved]
    for patient in completed:
        assert jobs[patient].state == "COMPLETED"
        assert recommendation(tmp_path, patient) == recommendation(local, patient)
    assert recorded(tmp_path) == completed  # each completed patient exactly once
    assert exported(tmp_path) == completed
    cohort_html = (tmp_path / "results" / "cohort_report.html").read_text(encoding="utf-8")
    assert starved in cohort_html
