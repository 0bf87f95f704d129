"""Which patients completed, and what a failed one is told (haicgx.jobs)."""

from __future__ import annotations

from haicgx.jobs import ERROR_PREFIX, PATIENT_FILES, completed_patients, failed_patients


def test_a_patient_completes_only_with_every_output(tmp_path):
    for pid, names in (("A", PATIENT_FILES), ("B", PATIENT_FILES[:-1])):
        folder = tmp_path / "results" / "patients" / pid
        folder.mkdir(parents=True)
        for name in names:
            (folder / name).write_text("x")
    assert completed_patients(["A", "B", "C"], tmp_path / "results") == ["A"]


def test_failures_name_the_publish_message_or_the_analysis_log(tmp_path):
    results, logs = tmp_path / "results", tmp_path / "logs"
    (logs / "publish").mkdir(parents=True)
    (logs / "publish" / "B.log").write_text(f"{ERROR_PREFIX}patient B: b.vcf: unsorted\n")
    failures = failed_patients(["A", "B", "C"], results, logs, patients_per_job=2)
    assert failures == {
        "A": f"did not complete (see {logs / 'analyse' / 'batch001'}.log)",
        "B": "patient B: b.vcf: unsorted",
        "C": f"did not complete (see {logs / 'analyse' / 'batch002'}.log)",
    }
