"""`haicgx endpoints` on the demo cohort: a record built from the demo sheet and its cohorts
(decisions, an override, a proposal left open, a waitlisted patient), and the generated
synthetic follow-up (haicgx.endpoints.demo, resources/demo/make_followup.py)."""

from __future__ import annotations

import csv
import hashlib
import json
import runpy
import sys
from datetime import date
from pathlib import Path

import pytest

from haicgx import record
from haicgx.cli import main
from haicgx.cohorts import load_cohorts
from haicgx.endpoints.demo import demo_followup, enrolments_from_record, write_followup
from haicgx.knowledge import parse_regimens
from haicgx.paths import KNOWLEDGE_DIR

REPO = Path(__file__).resolve().parents[2]
MAKE_FOLLOWUP = REPO / "resources" / "demo" / "make_followup.py"
RECORDED = "2025-03-03T09:00:00Z"
DECIDED = "2025-03-10T16:30:00Z"


def demo_sheet() -> list[dict[str, str]]:
    with (REPO / "config" / "demo_patients.tsv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def build_record(path: Path) -> Path:
    """The demo patients recorded in sheet order, with the bundled regimens' base order."""
    cohorts = load_cohorts(REPO / "config" / "demo_cohorts.yaml")
    _, base_order, _, _ = parse_regimens(KNOWLEDGE_DIR / "regimens.yaml")
    for row in demo_sheet():
        ranked = base_order[row["primary_site"]]
        recommendation = {
            "patient_id": row["patient_id"],
            "primary_site": row["primary_site"],
            "regimens": [
                {"regimen_id": r, "rank": i, "status": "recommended"}
                for i, r in enumerate(ranked, start=1)
            ],
            "provenance": {"generated_at": RECORDED},
        }
        # confirm checks the decision against the recommendation beside the record
        folder = path.parent / "patients" / row["patient_id"]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "recommendation.json").write_text(json.dumps(recommendation), encoding="utf-8")
        digest = hashlib.sha256(row["patient_id"].encode()).hexdigest()
        record.record_recommendation(
            path,
            recommendation=recommendation,
            vcf_sha256=digest,
            recommendation_sha256=record.recommendation_digest(recommendation),
            knowledge_sha256="0" * 64,
            pipeline_version="test",
            cohorts=cohorts,
            now=RECORDED,
        )
    for patient in ("DEMO01", "DEMO02", "DEMO03", "DEMO04", "DEMO05", "DEMO06", "DEMO07"):
        record.confirm(path, patient, by="Dr Board", regimen_id=None, note=None, now=DECIDED)
    second = base_order["colorectal"][1]
    record.confirm(
        path, "DEMO08", by="Dr Board", regimen_id=second, note="prior oxaliplatin", now=DECIDED
    )
    return path


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("demo_endpoints")
    db = build_record(root / "cohort_record.sqlite")
    followup = root / "followup"
    argv = ["make_followup.py", "--record", str(db), "--out", str(followup)]
    old = sys.argv
    sys.argv = argv
    try:
        with pytest.raises(SystemExit) as done:
            runpy.run_path(str(MAKE_FOLLOWUP), run_name="__main__")
    finally:
        sys.argv = old
    assert done.value.code == 0
    out = root / "endpoints"
    assert main(["endpoints", "--sdtm", str(followup), "--db", str(db), "--out", str(out)]) == 0
    return {"db": db, "followup": followup, "out": out}


def read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_the_record_is_as_built(demo_run):
    current = {a["patient_id"]: a for a in record.current_assignments(demo_run["db"])}
    assert current["DEMO10"]["status"] == "waitlisted"  # the fourth colorectal patient
    assert current["DEMO08"]["status"] == "overridden"
    assert current["DEMO09"]["status"] == "proposed"


def test_every_table_and_the_report_are_written(demo_run):
    out = demo_run["out"]
    for name in ("adrs.tsv", "adtte.tsv", "adae.tsv", "endpoints.json", "endpoints.html"):
        assert (out / name).stat().st_size > 500, name
    adrs = read_tsv(out / "adrs.tsv")
    assert {r["PARAMCD"] for r in adrs} == {"OVR", "BOR", "CBOR"}
    assert {r["SRCDOM"] for r in adrs if r["PARAMCD"] == "OVR"} == {"TR", "RS"}


def test_groups_and_start_dates_come_from_the_record(demo_run):
    data = json.loads((demo_run["out"] / "endpoints.json").read_text(encoding="utf-8"))
    assert data["grouping"] == "record"
    analysed = set(data["overall"]["subjects"])
    assert analysed == {f"DEMO0{i}" for i in range(1, 10)}
    assert data["subjects"]["excluded"] == [
        {"id": "DEMO10", "reason": "waitlisted in the cohort record, not in DM (no follow-up data)"}
    ]
    cohorts = {g["id"]: g["subjects"] for g in data["cohorts"]}
    assert cohorts["CRC"] == ["DEMO01", "DEMO02", "DEMO08"]
    proposed = [g for g in data["regimens"] if g["decided"] is False]
    assert [g["subjects"] for g in proposed] == [["DEMO09"]]
    assert "proposed, not confirmed" in proposed[0]["name"]
    adtte = read_tsv(demo_run["out"] / "adtte.tsv")
    starts = {r["USUBJID"]: r["STARTDT"] for r in adtte}
    assert starts["DEMO01"] == "2025-03-10"  # the board's decision
    assert starts["DEMO09"] == "2025-03-03"  # the proposal, not yet decided
    regimen = {r["USUBJID"]: r["REGIMEN"] for r in adtte}
    _, base_order, _, _ = parse_regimens(KNOWLEDGE_DIR / "regimens.yaml")
    assert regimen["DEMO08"] == base_order["colorectal"][1]  # the overriding decision


def test_the_generated_courses_show_each_kind_of_response(demo_run):
    adrs = read_tsv(demo_run["out"] / "adrs.tsv")
    cbor = {r["USUBJID"]: r["AVALC"] for r in adrs if r["PARAMCD"] == "CBOR"}
    assert {"CR", "PR", "PD"} <= set(cbor.values())
    ovr = [r["AVALC"] for r in adrs if r["PARAMCD"] == "OVR"]
    assert "NE" in ovr  # the missed lesion measurement
    assert any(r["NEWLES"] == "Y" for r in adrs if r["PARAMCD"] == "OVR")
    adtte = read_tsv(demo_run["out"] / "adtte.tsv")
    assert any(r["PARAMCD"] == "OS" and r["CNSR"] == "0" for r in adtte)
    adae = read_tsv(demo_run["out"] / "adae.tsv")
    assert {r["ATOXGR"] for r in adae} >= {"1", "2", "3"}


def test_the_generator_is_deterministic(demo_run, tmp_path):
    enrolments = enrolments_from_record(demo_run["db"])
    assert enrolments[0].start == date(2025, 3, 10)
    write_followup(tmp_path, demo_followup(enrolments))
    for path in sorted(tmp_path.iterdir()):
        assert path.read_bytes() == (demo_run["followup"] / path.name).read_bytes(), path.name
    other = demo_followup(enrolments, seed=21)
    assert other["tr"] != demo_followup(enrolments)["tr"]
