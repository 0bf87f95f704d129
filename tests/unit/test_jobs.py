"""Which patients completed, what a failed one is told, and the run's end (haicgx.jobs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from record_helpers import recommendation, sha
from support import REPO

from haicgx import record
from haicgx.errors import HaicgxError
from haicgx.jobs import (
    PATIENT_FILES,
    clear_failures,
    completed_patients,
    failed_patients,
    finish_run,
)
from haicgx.outcome import Outcome, PatientFailed, publish_patient, write_outcome


def stamped(results, pid):
    """The patient's input stamp, as the Snakefile writes it before any job (haicgx.currency)."""
    stamp = results / "work" / "inputs" / f"{pid}.json"
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text('{"digest": "x"}')
    return stamp


def test_a_patient_completes_only_with_every_output(tmp_path):
    results = tmp_path / "results"
    for pid, names in (("A", PATIENT_FILES), ("B", PATIENT_FILES[:-1]), ("D", PATIENT_FILES)):
        if pid != "D":  # D: no stamp, so nothing tells which inputs its outputs came from
            stamped(results, pid)
        folder = results / "patients" / pid
        folder.mkdir(parents=True)
        for name in names:
            (folder / name).write_text("x")
    assert completed_patients(["A", "B", "C", "D"], results) == ["A"]


def test_outputs_older_than_the_inputs_are_not_completed(tmp_path):
    """Inputs changed after the outputs were made: the run that should have redone them did
    not (killed, failed); the old outputs are not recorded as this run's."""
    results = tmp_path / "results"
    folder = results / "patients" / "A"
    folder.mkdir(parents=True)
    stamp = stamped(results, "A")
    made = 1_700_000_000 * 10**9
    for name in PATIENT_FILES:
        (folder / name).write_text("x")
        os.utime(folder / name, ns=(made, made))
    os.utime(stamp, ns=(made + 1, made + 1))
    assert completed_patients(["A"], results) == []
    os.utime(stamp, ns=(made, made))
    assert completed_patients(["A"], results) == ["A"]


def test_failures_name_the_outcome_message_or_the_analysis_log(tmp_path):
    results, logs = tmp_path / "results", tmp_path / "logs"
    for pid, outcome in (("A", Outcome("ok")), ("B", Outcome("failed", "patient B: b.vcf: x"))):
        folder = results / "work" / "batch001" / pid
        folder.mkdir(parents=True)
        write_outcome(folder, outcome)
    failures = failed_patients(["A", "B", "C"], results, logs, patients_per_job=2)
    assert failures == {  # A's analysis went well, but it was not published
        "A": f"did not complete (see {logs / 'analyse' / 'batch001'}.log)",
        "B": "patient B: b.vcf: x",
        "C": f"did not complete (see {logs / 'analyse' / 'batch002'}.log)",
    }


def test_a_failure_does_not_outlive_its_run(tmp_path):
    work = tmp_path / "work"
    for batch, pid, status in (("b1", "A", "ok"), ("b1", "B", "failed"), ("b2", "C", "ok")):
        (work / batch / pid).mkdir(parents=True)
        write_outcome(work / batch / pid, Outcome(status, "x" if status == "failed" else ""))
    assert clear_failures(work) == [work / "b1"]  # its job's folder goes: the next run redoes it
    assert [p.name for p in work.iterdir()] == ["b2"]


def analysed(tmp_path, outcome: Outcome | None):
    folder = tmp_path / "work" / "batch001" / "P1"
    folder.mkdir(parents=True)
    if outcome is not None:
        write_outcome(folder, outcome)
    if outcome is not None and outcome.ok:
        for name in ("variants.tsv", "recommendation.json"):
            (folder / name).write_text(name)
    out = tmp_path / "results" / "patients" / "P1"
    out.mkdir(parents=True)
    targets = [str(out / "variants.tsv"), str(out / "recommendation.json")]
    return str(folder), targets, tmp_path / "publish.log"


def test_publish_copies_the_outputs_of_an_ok_outcome(tmp_path, capsys):
    folder, outputs, log = analysed(tmp_path, Outcome("ok", timings={"check": 0.01}))
    publish_patient(folder, outputs, str(log))
    assert [Path(p).read_text() for p in outputs] == ["variants.tsv", "recommendation.json"]
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("outcome", "said"),
    [
        (Outcome("failed", "patient P1: p.vcf: record chr1:5: unsorted"), "unsorted"),
        (None, "no outcome.json in"),  # the job stopped before it could say
    ],
)
def test_publish_fails_the_patient_with_its_one_line(tmp_path, capsys, outcome, said):
    folder, outputs, log = analysed(tmp_path, outcome)
    with pytest.raises(PatientFailed, match="P1 failed"):
        publish_patient(folder, outputs, str(log))
    err = capsys.readouterr().err
    assert err.startswith("haicgx: ") and said in err and err.count("\n") == 1
    assert said in log.read_text() and not any(Path(p).exists() for p in outputs)


def test_rule_publishs_command_exits_by_the_patients_outcome(tmp_path):
    """The command rule publish runs, in a Python that has only the standard library and the
    package's source (-S: no site-packages)."""
    command = [sys.executable, "-S", "-m", "haicgx.outcome"]
    env = {"PYTHONPATH": str(REPO / "src"), "PATH": os.environ["PATH"]}
    for name, outcome, code in (("ok", Outcome("ok"), 0), ("bad", Outcome("failed", "x y"), 1)):
        folder, outputs, log = analysed(tmp_path / name, outcome)
        done = subprocess.run(
            [*command, folder, str(log), *outputs], env=env, capture_output=True, text=True
        )
        assert done.returncode == code, done.stderr
        assert all(Path(p).exists() for p in outputs) == (code == 0)
        assert done.stderr == ("" if code == 0 else "haicgx: x y\n")
    # a target it cannot write (its folder is gone): one line, no traceback
    folder, outputs, log = analysed(tmp_path / "gone", Outcome("ok"))
    Path(outputs[0]).parent.rename(tmp_path / "elsewhere")
    done = subprocess.run(
        [*command, folder, str(log), *outputs], env=env, capture_output=True, text=True
    )
    assert done.returncode == 1 and done.stderr.startswith("haicgx: cannot publish P1: ")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    usage = subprocess.run(command, env=env, capture_output=True, text=True)
    assert usage.returncode == 2 and usage.stderr.startswith("haicgx: usage:")


def completed_patient(results, rec):
    stamped(results, rec["patient_id"])
    folder = results / "patients" / rec["patient_id"]
    folder.mkdir(parents=True)
    for name in PATIENT_FILES:
        (folder / name).write_text("x")
    (folder / "recommendation.json").write_text(json.dumps(rec), encoding="utf-8")


def finish_in(tmp_path, monkeypatch, patient_ids):
    monkeypatch.chdir(tmp_path)
    sheet = tmp_path / "patients.tsv"
    sheet.write_text("patient_id\tvcf\tprimary_site\n", encoding="utf-8")
    return finish_run(config={"patients": str(sheet)}, root=str(REPO), patient_ids=patient_ids)


def test_the_run_records_and_writes_the_views(tmp_path, monkeypatch):
    rec = recommendation("P1")
    rec["provenance"].update(vcf_sha256=sha("vcf"), knowledge_sha256=sha("kb"))
    completed_patient(tmp_path / "results", rec)
    failures = finish_in(tmp_path, monkeypatch, ["P1", "P2"])
    results = tmp_path / "results"
    assert list(failures) == ["P2"]
    assert json.loads((results / "failed_patients.json").read_text()) == failures
    assert (results / "cohort_record.tsv").read_text().splitlines()[1].startswith("P1\t1\tproposed")
    assert "P2" in (results / "cohort_report.html").read_text()
    db = results / "cohort_record.sqlite"
    assert record.verify(db).intact and record.noted_results_folder(db) == results.resolve()


@pytest.mark.parametrize("with_patient", [True, False])
def test_the_runs_recording_step_refuses_a_record_cut_to_zero_bytes(
    tmp_path, monkeypatch, with_patient
):
    results = tmp_path / "results"
    results.mkdir()
    (results / "cohort_record.sqlite").touch()
    if with_patient:
        rec = recommendation("P1")
        rec["provenance"].update(vcf_sha256=sha("vcf"), knowledge_sha256=sha("kb"))
        completed_patient(results, rec)
    with pytest.raises(HaicgxError, match=r"cohort_record\.sqlite is empty \(0 bytes\): restore"):
        finish_in(tmp_path, monkeypatch, ["P1"])
    assert (results / "cohort_record.sqlite").stat().st_size == 0
    assert not (results / "cohort_record.tsv").exists()
