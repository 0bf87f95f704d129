"""The trial endpoints after a real demo run: the board confirms some patients in a copy of the
run's record, the synthetic follow-up is generated from it, and `haicgx endpoints` writes every
table and the report; then the workflow target does the same from a config key."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from demo_workflow import REPO, read_tsv, run_workflow

from haicgx import record
from haicgx.cli import main

pytestmark = pytest.mark.slow
OUTPUTS = ("adrs.tsv", "adtte.tsv", "adae.tsv", "endpoints.json", "endpoints.html")


@pytest.fixture(scope="module")
def decided(demo, tmp_path_factory) -> Path:
    """A copy of the demo's record (the session's demo stays as it is) with board decisions."""
    copy = tmp_path_factory.mktemp("record") / "cohort_record.sqlite"
    source = sqlite3.connect(demo / "results" / "cohort_record.sqlite")
    target = sqlite3.connect(copy)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    # confirm checks each decision against the recommendation beside the record (and rewrites
    # the views there): the run's patient folders are copied, so the session's demo stays as it is
    shutil.copytree(demo / "results" / "patients", copy.parent / "patients")
    current = {a["patient_id"]: a for a in record.current_assignments(copy)}
    for patient in ("DEMO03", "DEMO04", "DEMO05", "DEMO06", "DEMO07"):
        if current[patient]["status"] == "proposed":
            record.confirm(copy, patient, by="Dr Board", regimen_id=None, note=None)
    return copy


def test_endpoints_on_the_demo_record(decided, tmp_path):
    followup = tmp_path / "followup"
    script = REPO / "resources" / "demo" / "make_followup.py"
    made = subprocess.run(
        [sys.executable, str(script), "--record", str(decided), "--out", str(followup)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    out = tmp_path / "endpoints"
    assert (
        main(["endpoints", "--sdtm", str(followup), "--db", str(decided), "--out", str(out)]) == 0
    )
    for name in OUTPUTS:
        assert (out / name).stat().st_size > 500, name
    data = json.loads((out / "endpoints.json").read_text(encoding="utf-8"))
    assert data["grouping"] == "record"
    decided_ids = {"DEMO03", "DEMO04", "DEMO05", "DEMO06", "DEMO07"}
    groups = [g for g in data["regimens"] if g["decided"]]
    assert decided_ids <= {s for g in groups for s in g["subjects"]}
    waitlisted = [e for e in data["subjects"]["excluded"] if "waitlisted" in e["reason"]]
    assert len(waitlisted) == 1  # the demo's fourth colorectal patient
    assert {r["PARAMCD"] for r in read_tsv(out / "adtte.tsv")} == {"PFS", "OS"}


def test_workflow_target_writes_the_endpoints(demo, decided, tmp_path):
    followup = tmp_path / "followup"
    script = REPO / "resources" / "demo" / "make_followup.py"
    subprocess.run(
        [sys.executable, str(script), "--record", str(decided), "--out", str(followup)],
        check=True, capture_output=True,
    )  # fmt: skip
    work = tmp_path / "work"
    (work / "results").mkdir(parents=True)
    for name in ("cohort_record.sqlite", "cohort_record.tsv"):
        source = decided if name.endswith("sqlite") else demo / "results" / name
        (work / "results" / name).write_bytes(source.read_bytes())
    config = tmp_path / "endpoints.yaml"
    config.write_text(f"endpoints:\n  sdtm: {followup}\n", encoding="utf-8")
    result = run_workflow(
        work, "--allowed-rules", "endpoints", "--", "results/endpoints/endpoints.html",
        configs=(config,),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    for name in OUTPUTS:
        assert (work / "results" / "endpoints" / name).is_file(), name
