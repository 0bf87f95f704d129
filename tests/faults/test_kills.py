"""Currency under kills (issue 18 items 1 and 9): after an input changes, the demo run is killed at
a random moment, then rerun; every patient's recommendation.json and current record version must
then be those a clean run on the new inputs gives. In a loop, changing a different input each
time: the knowledge table, the cohorts, a config value. Each recommendation must show the
current knowledge digest, filters and cohort, and the record's current version must be it.

Two kinds of kill: SIGKILL to the whole process group (Snakemake and its jobs: a power cut, a
kill -9), and SIGKILL to one analysis job alone (the OOM killer): Snakemake sees that job fail,
runs its onerror and the next run must still redo what the job owed. The seed is printed on
failure; HAICGX_FAULT_KILLS sets how many kills (default 5).
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import pytest
from demo_workflow import REPO, demo_patients
from support import demo_config
from workflow_faults import kill_analysis_job, kill_run, recorded_digests, run, start

from haicgx import record
from haicgx.knowledge import knowledge_sha256
from haicgx.record import recommendation_digest

pytestmark = [pytest.mark.slow, pytest.mark.faults]

KNOWLEDGE = REPO / "src" / "haicgx" / "data" / "knowledge"
KILLS = int(os.environ.get("HAICGX_FAULT_KILLS", "5"))


def set_inputs(folder: Path, state: str) -> tuple[Path, ...]:
    """Write the inputs of one state into `folder` (always the same paths); return the configs.

    base: the bundled knowledge and the demo's cohorts; knowledge: one row's note edited (the
    knowledge digest in every recommendation changes); cohorts: the colorectal cohort renamed;
    config: filters.min_depth lowered."""
    biomarkers = (KNOWLEDGE / "biomarkers.tsv").read_text(encoding="utf-8").split("\n")
    if state == "knowledge":
        row = next(i for i, ln in enumerate(biomarkers) if ln and ln[0] not in "#k")
        cells = biomarkers[row].split("\t")
        cells[12] = "edited for the kill test"
        biomarkers[row] = "\t".join(cells)
    (folder / "biomarkers.tsv").write_text("\n".join(biomarkers), encoding="utf-8")
    for name in ("regimens.yaml", "findings.yaml"):
        shutil.copy(KNOWLEDGE / name, folder / name)
    cohorts = (REPO / "config" / "demo_cohorts.yaml").read_text(encoding="utf-8")
    if state == "cohorts":
        cohorts = cohorts.replace("- id: CRC\n", "- id: CRC2\n", 1)
    (folder / "cohorts.yaml").write_text(cohorts, encoding="utf-8")
    extra = folder / "inputs.yaml"
    extra.write_text(
        f"knowledge:\n  biomarkers: {folder / 'biomarkers.tsv'}\n"
        f"  regimens: {folder / 'regimens.yaml'}\n  findings: {folder / 'findings.yaml'}\n"
        f"cohorts: {folder / 'cohorts.yaml'}\n"
        + ("filters:\n  min_depth: 19\n" if state == "config" else ""),
        encoding="utf-8",
    )
    return (extra,)


STATES = ("base", "knowledge", "cohorts", "config")


def expected_of(inputs: Path, state: str) -> dict[str, object]:
    """What every recommendation must show of the inputs of `state`: the knowledge digest, the
    filters and the colorectal cohort's id."""
    files = [inputs / n for n in ("biomarkers.tsv", "regimens.yaml", "findings.yaml")]
    filters = dict(demo_config()["filters"], **({"min_depth": 19} if state == "config" else {}))
    colorectal = "CRC2" if state == "cohorts" else "CRC"
    return {"knowledge": knowledge_sha256(*files), "filters": filters, "colorectal": colorectal}


def stale(workdir: Path, patients: list[str], expected: dict[str, object]) -> list[str]:
    """Patients whose published recommendation does not derive from the current inputs, or whose
    current record version is not that recommendation."""
    recorded = recorded_digests(workdir)
    found = []
    for pid in patients:
        path = workdir / "results" / "patients" / pid / "recommendation.json"
        rec = json.loads(path.read_text(encoding="utf-8"))
        if (
            rec["provenance"]["knowledge_sha256"] != expected["knowledge"]
            or rec["provenance"]["config"]["filters"] != expected["filters"]
            or (rec["primary_site"] == "colorectal" and rec["cohort"] != expected["colorectal"])
            or recorded.get(pid) != recommendation_digest(rec)
        ):
            found.append(pid)
    return found


def test_no_patient_is_stale_after_kills_at_random_moments(tmp_path):
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    patients = demo_patients()
    workdir, state = tmp_path / "run", "base"
    workdir.mkdir()
    result = run(workdir, configs=set_inputs(inputs, state))
    assert result.returncode == 0, result.stderr[-3000:]
    assert stale(workdir, patients, expected_of(inputs, state)) == []
    tally = {"group": 0, "job": 0, "ended first": 0}
    for kill in range(KILLS):
        state = rng.choice([s for s in STATES if s != state])
        configs = set_inputs(inputs, state)
        mode = ("group", "job")[kill % 2]
        process = start(workdir, configs=configs)
        if mode == "group":
            killed = kill_run(process, rng.uniform(0.5, 8.0))
        else:
            killed = kill_analysis_job(process, rng.uniform(0.0, 3.0))
        tally[mode if killed else "ended first"] += 1
        if mode == "group" and killed:  # a killed Snakemake leaves its lock, as the user finds it
            assert run(workdir, "--unlock", configs=configs).returncode == 0
        result = run(workdir, configs=configs)
        where = f"kill {kill} ({mode}, inputs {state}), seed {seed}"
        assert result.returncode == 0, f"{where}: {result.stderr[-3000:]}"
        assert stale(workdir, patients, expected_of(inputs, state)) == [], where
        assert record.verify(workdir / "results" / "cohort_record.sqlite").intact, where
    print(f"faults: {KILLS} kills {tally}, 0 stale patients, seed {seed}")
    assert tally["group"] + tally["job"] >= KILLS // 2, f"seed {seed}: too few kills landed"
