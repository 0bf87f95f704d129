"""The `haicgx` command on a real demo run: explain and the record commands, in-process."""

from __future__ import annotations

import csv
import json
import re

import pytest
from demo_workflow import demo_patients

from haicgx.cli import main

pytestmark = pytest.mark.slow


def test_explain_prints_every_regimen_with_reasons(demo, capsys):
    folder = demo / "results" / "patients" / "DEMO04"
    assert main(["explain", str(folder)]) == 0
    out = capsys.readouterr().out
    rec = json.loads((folder / "recommendation.json").read_text(encoding="utf-8"))
    assert "Patient DEMO04 (gastric, cohort UGI)" in out
    dpyd = rec["pgx"]["DPYD"]
    assert f"DPYD [{dpyd['status']}]: {dpyd['phenotype']}" in out
    assert f"genotype from the {dpyd['genotype_source']} sample" in out
    assert f"{dpyd['positions_called']} allele positions called" in out
    assert "Genotype reading: GT and allele fraction both read" in out
    for regimen in rec["regimens"]:
        assert f"{regimen['rank']:>2}. {regimen['name']} [{regimen['status']}]" in out
    assert "dose_adjustment:" in out and "DPYD-AS1_1P5-FLUOROURACIL" in out
    assert "site evidence: retrospective" in out  # the S-1 series in gastric
    tied = [r for r in rec["regimens"] if r.get("tied_with")]
    assert tied and "tied with " + ", ".join(tied[0]["tied_with"]) in out.replace("\n      ", " ")


def test_explain_missing_folder_is_one_line(tmp_path, capsys):
    assert main(["explain", str(tmp_path / "nobody")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("haicgx: error:") and "\n" not in err


def test_record_show_and_export_on_the_demo(demo, capsys, tmp_path):
    db = demo / "results" / "cohort_record.sqlite"
    assert main(["record", "show", "--db", str(db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    # The whole table, column by column (cells are left-aligned under their titles), against the
    # workflow's own export of the record: one undecided current row per demo patient, no events.
    starts = [m.start() for m in re.finditer(r"\S+", lines[0])]
    titles = lines[0].split()
    shown = [
        {t: line[a:b].strip() for t, a, b in zip(titles, starts, [*starts[1:], None], strict=True)}
        for line in lines[1:]
    ]
    workflow_export = demo / "results" / "cohort_record.tsv"
    with workflow_export.open(encoding="utf-8") as handle:
        exported = list(csv.DictReader(handle, delimiter="\t"))
    assert [r["patient_id"] for r in exported] == demo_patients()
    assert shown == [
        {
            "patient": r["patient_id"],
            "version": "1",
            "current": "yes",
            "status": r["status"],
            "review": "",
            "cohort": r["cohort_id"],
            "regimen": r["regimen_id"],
            "decision": "",
            "contraindication": "",
            "by": "",
            "decided_at": "",
            "created_at": r["created_at"],
            "pipeline": r["pipeline_version"],
            "note": "",
        }
        for r in exported
    ]
    target = tmp_path / "export.tsv"
    assert main(["record", "export", str(target), "--db", str(db)]) == 0
    assert target.read_bytes() == workflow_export.read_bytes()
