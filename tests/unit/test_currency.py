"""Input stamps: what makes a patient's outputs out of date (haicgx.currency)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace

import pytest
from support import REPO, demo_config

from haicgx.currency import (
    batch_stamp_path,
    current,
    hold_run_lock,
    left_over,
    stamp_path,
    write_batch_stamps,
    write_stamps,
)
from haicgx.jobs import load_run, patient_params


@pytest.fixture
def run(tmp_path):
    """The demo run, with its knowledge, cohorts and first VCF copied where a test may edit them."""
    config = demo_config()
    knowledge = REPO / "src" / "haicgx" / "data" / "knowledge"
    for name in ("biomarkers.tsv", "regimens.yaml", "findings.yaml"):
        shutil.copy(knowledge / name, tmp_path / name)
    config["knowledge"] = {
        key: str(tmp_path / name)
        for key, name in (
            ("biomarkers", "biomarkers.tsv"),
            ("regimens", "regimens.yaml"),
            ("findings", "findings.yaml"),
        )
    }
    shutil.copy(REPO / "config" / "demo_cohorts.yaml", tmp_path / "cohorts.yaml")
    config["cohorts"] = str(tmp_path / "cohorts.yaml")
    return load_run(config, workdir=REPO, root=REPO)


def stamps(run, folder, patients=None):
    patients = patients or [patient_params(p) for p in run.patients.values()]
    return write_stamps(patients, run.settings, folder)


def test_stamps_are_rewritten_only_when_their_inputs_change(run, tmp_path):
    folder = tmp_path / "stamps"
    ids = list(run.patients)
    assert stamps(run, folder) == ids
    before = {pid: stamp_path(pid, folder).stat().st_mtime_ns for pid in ids}
    assert stamps(run, folder) == []
    assert {pid: stamp_path(pid, folder).stat().st_mtime_ns for pid in ids} == before
    stamp = json.loads(stamp_path(ids[0], folder).read_text())
    assert stamp["parts"]["patient"]["patient_id"] == ids[0]  # what it was made of, readable


def test_a_jobs_stamp_changes_with_any_of_its_patients_stamps_and_only_then(run, tmp_path):
    folder = tmp_path / "stamps"
    ids = list(run.patients)
    stamps(run, folder)
    batches = {"batch001": ids[:5], "batch002": ids[5:]}
    assert write_batch_stamps(batches, folder) == ["batch001", "batch002"]
    assert batch_stamp_path("batch001", folder).parent.name == "batches"  # never a patient's
    before = batch_stamp_path("batch002", folder).stat().st_mtime_ns
    assert write_batch_stamps(batches, folder) == []
    assert batch_stamp_path("batch002", folder).stat().st_mtime_ns == before
    # one patient redone (a renewal): its job only
    stamps_redone = write_stamps(
        [patient_params(run.patients[ids[6]])], run.settings, folder, redo=[ids[6]]
    )
    assert stamps_redone == [ids[6]]
    assert write_batch_stamps(batches, folder) == ["batch002"]
    # a patient appended to a job (a longer sheet): that job
    assert write_batch_stamps({"batch001": ids[:5], "batch002": [*ids[5:], ids[0]]}, folder) == [
        "batch002"
    ]
    # a patient's stamp lost: its job, whatever else
    stamp_path(ids[1], folder).unlink()
    assert write_batch_stamps({"batch001": ids[:5]}, folder) == ["batch001"]


@pytest.mark.parametrize(
    "change",
    ["biomarkers", "regimens", "findings", "cohorts", "filters", "ranking", "annotation"],
)
def test_every_shared_input_changes_every_stamp(run, tmp_path, change):
    folder = tmp_path / "stamps"
    stamps(run, folder)
    settings = run.settings
    if change in ("biomarkers", "regimens", "findings", "cohorts"):
        path = getattr(settings, change)
        path.write_bytes(path.read_bytes() + b"\n")
    else:
        config = json.loads(json.dumps(settings.config))
        config[change] = "none" if change == "annotation" else {**config[change], "min_depth": 19}
        settings = replace(settings, config=config)
    changed = write_stamps([patient_params(p) for p in run.patients.values()], settings, folder)
    assert changed == list(run.patients)


def test_a_patients_own_inputs_change_its_stamp_alone(run, tmp_path):
    folder = tmp_path / "stamps"
    stamps(run, folder)
    first, second, *_ = run.patients.values()
    vcf = tmp_path / f"copy{''.join(first.vcf.suffixes)}"
    shutil.copy(first.vcf, vcf)
    edited = [
        {**patient_params(first), "vcf": str(vcf)},
        {**patient_params(second), "prior_drugs": ["oxaliplatin"]},
    ]
    assert stamps(run, folder, edited) == [first.patient_id, second.patient_id]
    os.utime(vcf, ns=(1, 1))  # touched: the same bytes, nothing to redo
    assert stamps(run, folder, edited) == []
    vcf.write_bytes(vcf.read_bytes() + b"\n")
    assert stamps(run, folder, edited) == [first.patient_id]


@pytest.mark.parametrize("shape", ["folder", "fifo", "missing"])
def test_a_vcf_that_is_not_a_readable_file_is_never_read(run, tmp_path, shape):
    """Its stamp holds what it is; reading a FIFO would block the run's start."""
    path = tmp_path / "odd.vcf"
    if shape == "folder":
        path.mkdir()
    elif shape == "fifo":
        os.mkfifo(path)
    first = next(iter(run.patients.values()))
    folder = tmp_path / "stamps"
    assert stamps(run, folder, [{**patient_params(first), "vcf": str(path)}]) == [first.patient_id]
    vcf = json.loads(stamp_path(first.patient_id, folder).read_text())["parts"]["vcf"]
    expected = "FileNotFoundError" if shape == "missing" else "not a regular file"
    assert vcf == [str(path), expected]


def test_what_cannot_change_a_result_leaves_the_stamps(run, tmp_path):
    folder = tmp_path / "stamps"
    stamps(run, folder)
    config = {**run.settings.config, "patients_per_job": 1, "record": "elsewhere.sqlite"}
    settings = replace(run.settings, config=config)
    moved = [{**patient_params(p), "sheet_row": 99} for p in run.patients.values()]
    assert write_stamps(moved, settings, folder) == []


@pytest.mark.parametrize("damage", ["missing", "empty", "not json"])
def test_a_stamp_it_cannot_read_is_written_again(run, tmp_path, damage):
    folder = tmp_path / "stamps"
    stamps(run, folder)
    pid = next(iter(run.patients))
    path = stamp_path(pid, folder)
    if damage == "missing":
        path.unlink()
    else:
        path.write_text("" if damage == "empty" else "{digest")
    assert stamps(run, folder) == [pid]


def test_outputs_are_current_only_when_not_older_than_the_stamp(tmp_path):
    output = tmp_path / "recommendation.json"
    output.write_text("{}")
    assert not current("P1", [output], tmp_path)  # no stamp: it cannot tell
    stamp = stamp_path("P1", tmp_path)
    stamp.write_text("{}")
    os.utime(output, ns=(10**18, 10**18))
    os.utime(stamp, ns=(10**18 - 1, 10**18 - 1))
    assert current("P1", [output], tmp_path)
    os.utime(stamp, ns=(10**18 + 1, 10**18 + 1))
    assert not current("P1", [output], tmp_path)
    assert not current("P1", [tmp_path / "missing.tsv"], tmp_path)


def test_an_analysis_folder_left_by_an_earlier_run_redoes_its_patients(run, tmp_path):
    """A failed or killed run leaves its analysis folder (Snakemake removes it only once every
    patient is published): whatever it holds is not trusted, its patients' stamps are renewed."""
    work = tmp_path / "work"
    folder = work / "inputs"
    batches = {"batch001": ["DEMO01", "DEMO02"], "batch002": ["DEMO03"]}
    assert left_over(work, batches) == []
    (work / "batch002" / "DEMO03").mkdir(parents=True)
    assert left_over(work, batches) == ["DEMO03"]
    stamps(run, folder)
    before = stamp_path("DEMO03", folder).stat().st_mtime_ns
    os.utime(stamp_path("DEMO03", folder), ns=(before - 10**9, before - 10**9))
    patients = [patient_params(p) for p in run.patients.values()]
    old = stamp_path("DEMO03", folder).read_bytes()
    assert write_stamps(patients, run.settings, folder, redo=left_over(work, batches)) == ["DEMO03"]
    assert stamp_path("DEMO03", folder).stat().st_mtime_ns > before - 10**9
    # New bytes too: Snakemake takes an input whose checksum it recorded for unchanged.
    assert stamp_path("DEMO03", folder).read_bytes() != old


def test_the_run_lock_is_one_holders_and_freed_when_it_is_killed(tmp_path):
    lock = tmp_path / "work" / "run.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(lock)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert not hold_run_lock(lock)  # another process has it
    finally:
        holder.kill()  # SIGKILL: no chance to release it
        holder.wait()
    assert hold_run_lock(lock)


HOLD = """
import sys, time
from pathlib import Path
from haicgx.currency import hold_run_lock
assert hold_run_lock(Path(sys.argv[1]))
print("held", flush=True)
time.sleep(60)
"""
