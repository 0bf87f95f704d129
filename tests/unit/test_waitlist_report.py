"""A waitlisted patient's own report says where the patient waits (issue 19): written by the
cohort views once the record has the place, rewritten when it moves, cleared on promotion."""

from __future__ import annotations

import html as html_module
import re
from pathlib import Path

from record_helpers import COHORTS, NOW, put, sha
from test_report import bundled_kb, sample_recommendation, write_patient_dir

from haicgx import cli, record, report
from haicgx.cohort_views import write_cohort_views
from haicgx.report import render


def visible(html: str) -> str:
    body = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    return " ".join(html_module.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def analysed(results: Path, patient: str) -> Path:
    """A patient published as the analysis job leaves it: the three outputs and its report,
    written before the record knows the patient."""
    rec = sample_recommendation()
    rec["patient_id"], rec["cohort"] = patient, "CRC"
    folder = write_patient_dir(results / "patients" / patient, rec)
    report.write_patient_report(
        folder, html_path=folder / "report.html", pdf_path=folder / "report.pdf", kb=bundled_kb()
    )
    record.record_recommendation(
        results / "cohort_record.sqlite",
        recommendation=rec,
        vcf_sha256=sha(f"{patient}-v1"),
        recommendation_sha256=record.recommendation_digest(rec),
        knowledge_sha256=rec["provenance"]["knowledge_sha256"],
        pipeline_version="0.1.0",
        cohorts=COHORTS,
        now=NOW,
    )
    return folder


def test_the_waitlisted_patients_report_follows_its_place(tmp_path: Path, capsys) -> None:
    results = tmp_path / "results"
    db = results / "cohort_record.sqlite"
    put(db, "A")
    put(db, "B")  # CRC's 2 places are taken
    folder = analysed(results, "C")
    before_pdf = (folder / "report.pdf").read_bytes()
    assert "Waitlisted" not in visible((folder / "report.html").read_text(encoding="utf-8"))

    written = write_cohort_views(db, results, failures={})  # the run's end
    assert folder / "report.html" in written and folder / "report.pdf" in written
    page = visible((folder / "report.html").read_text(encoding="utf-8"))
    assert "Waitlisted for cohort CRC: number 1 of 1 in its queue." in page
    assert "The cohort is full (2 of 2 places taken)" in page
    assert (folder / "report.pdf").read_bytes() != before_pdf
    # the PDF is rendered from the print edition with the same place
    place = report.waiting_place(record.patient_places(db)["C"])
    printed = render.print_html(render.patient_context(folder, bundled_kb(), place))
    assert "Waitlisted for cohort CRC: number 1 of 1 in its queue." in visible(printed)

    # Unchanged place: the report is left alone.
    assert write_cohort_views(db, results, failures={})[2:] == []

    assert (
        cli.main(["record", "release", "A", "--by", "Dr Ada", "--note", "x", "--db", str(db)]) == 0
    )
    assert str(folder / "report.pdf") in capsys.readouterr().out  # said among the files rewritten
    page = visible((folder / "report.html").read_text(encoding="utf-8"))
    assert "A place is free (1 of 2 places taken): the coordinator can promote" in page

    assert cli.main(["record", "promote", "C", "--by", "Dr Ada", "--db", str(db)]) == 0
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "Waitlisted" not in visible(html)
    assert report.shown_place_key(folder / "report.html") == ""


def test_a_report_is_left_alone_when_its_knowledge_set_is_not_found(tmp_path: Path) -> None:
    results = tmp_path / "results"
    db = results / "cohort_record.sqlite"
    put(db, "A")
    put(db, "B")
    folder = analysed(results, "C")
    rec = folder / "recommendation.json"
    rec.write_text(rec.read_text().replace(bundled_kb().sha256, "0" * 64), encoding="utf-8")
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert write_cohort_views(db, results, failures={})[2:] == []
    assert (folder / "report.html").read_text(encoding="utf-8") == html
    assert "C" in visible((results / "cohort_report.html").read_text(encoding="utf-8"))
