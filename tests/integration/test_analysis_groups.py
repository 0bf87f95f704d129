"""Patients analysed `patients_per_job` to a job: reruns, edits and failures stay per patient.

The demo VCFs are copied into the temporary folder so that a test can touch one of them.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from demo_workflow import REPO, read_tsv, run_workflow

pytestmark = pytest.mark.slow


def cohort(tmp_path: Path, patients: int, per_job: int, broken: str | None = None) -> Path:
    """A config for the first `patients` demo patients (copied VCFs), `per_job` to a job."""
    rows = read_tsv(REPO / "config" / "demo_patients.tsv")[:patients]
    lines = ["patient_id\tvcf\tprimary_site"]
    for row in rows:
        source = (REPO / "config" / row["vcf"]).resolve()
        copy = tmp_path / "vcf" / source.name
        copy.parent.mkdir(exist_ok=True)
        shutil.copy(source, copy)
        if row["patient_id"] == broken:
            copy.write_bytes(copy.read_bytes()[:200])  # a truncated file
        lines.append(f"{row['patient_id']}\t{copy}\t{row['primary_site']}")
    (tmp_path / "patients.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    extra = tmp_path / "groups.yaml"
    extra.write_text(
        f"patients: {tmp_path / 'patients.tsv'}\npatients_per_job: {per_job}\n", encoding="utf-8"
    )
    return extra


def planned(tmp_path: Path, extra: Path) -> dict[str, set[str]]:
    """The jobs a dry run would run: rule -> wildcards values."""
    result = run_workflow(tmp_path, "-n", configs=(extra,))
    assert result.returncode == 0, result.stderr[-3000:]
    jobs: dict[str, set[str]] = {}
    rule = None
    for line in (result.stdout + result.stderr).splitlines():
        if head := re.fullmatch(r"(?:local)?rule (\w+):", line.strip()):
            rule = head[1]
            jobs.setdefault(rule, set())
        elif rule and (found := re.fullmatch(r"wildcards: \w+=(\S+)", line.strip())):
            jobs[rule].add(found[1])
    return jobs


def record_rows(tmp_path: Path) -> list[tuple]:
    with sqlite3.connect(tmp_path / "results" / "cohort_record.sqlite") as db:
        return db.execute("SELECT * FROM assignments ORDER BY patient_id, version").fetchall()


def test_edits_rerun_only_the_group_they_touch(tmp_path):
    extra = cohort(tmp_path, patients=4, per_job=2)
    assert planned(tmp_path, extra)["analyse"] == {"batch001", "batch002"}
    first = run_workflow(tmp_path, configs=(extra,))
    assert first.returncode == 0, first.stderr[-3000:]
    before = record_rows(tmp_path)
    assert len(before) == 4

    # Nothing changed: nothing to run, nothing recorded.
    again = run_workflow(tmp_path, configs=(extra,))
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
    assert record_rows(tmp_path) == before

    # A touched VCF with the same content changes nothing (Snakemake compares checksums).
    fourth = read_tsv(tmp_path / "patients.tsv")[3]
    vcf = Path(fourth["vcf"])
    later = vcf.stat().st_mtime + 5
    os.utime(vcf, (later, later))
    assert "analyse" not in planned(tmp_path, extra)

    # An edited VCF for the fourth patient reruns its group (patients 3 and 4), nothing else,
    # although the group's folder (a temp() output) is gone by then.
    lines = vcf.read_text(encoding="utf-8").splitlines(keepends=True)
    vcf.write_text(lines[0] + "##note=re-exported\n" + "".join(lines[1:]), encoding="utf-8")
    jobs = planned(tmp_path, extra)
    third = read_tsv(tmp_path / "patients.tsv")[2]["patient_id"]
    assert jobs["analyse"] == {"batch002"}
    assert jobs["publish"] == {third, fourth["patient_id"]}
    rerun = run_workflow(tmp_path, configs=(extra,))
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    # The recommendation is unchanged but the VCF's sha256 is not: a new version for patient 4
    # only, the earlier one superseded.
    after = record_rows(tmp_path)
    assert len(after) == 5
    assert [r for r in after if fourth["patient_id"] not in r] == [
        r for r in before if fourth["patient_id"] not in r
    ]


def test_without_keep_going_every_completed_patient_is_recorded(tmp_path):
    patients = [r["patient_id"] for r in read_tsv(REPO / "config" / "demo_patients.tsv")[:3]]
    extra = cohort(tmp_path, patients=3, per_job=1, broken=patients[1])
    result = run_workflow(tmp_path, "--cores", "1", configs=(extra,))
    assert result.returncode != 0
    done = {
        p
        for p in patients
        if (tmp_path / "results" / "patients" / p / "report.pdf").exists()
        and (tmp_path / "results" / "patients" / p / "recommendation.json").exists()
    }
    assert patients[1] not in done
    recorded = {r["patient_id"] for r in read_tsv(tmp_path / "results" / "cohort_record.tsv")}
    assert recorded == done
    assert f"haicgx: {patients[1]} failed: patient {patients[1]}: " in result.stderr
