"""One patient with the checks, bcftools and the evaluation overlapping (haicgx.analysis).

The overlapped path must write what the sequential path writes, report the same one-line
message for every bad input, fall back to the sequential path when the records need more than
the header declares, and leave no process or file behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
from dataclasses import replace
from pathlib import Path

import pytest
from support import REPO, demo_config, write_vcf
from test_bad_inputs import BAD, PATIENT, assert_corpus_message, corpus

from haicgx import analysis
from haicgx.errors import HaicgxError, InputError
from haicgx.forks import Child
from haicgx.jobs import load_run
from haicgx.settings import Patient

# The tests' own VCFs against the synthetic demo genome, which the pipeline refuses for any
# file that is not a demo file (tests/unit/test_demo_reference_guard.py).
pytestmark = pytest.mark.usefixtures("synthetic_reference_for_test_files")

OUTPUTS = ("variants.tsv", "matches.tsv", "recommendation.json")


@pytest.fixture(scope="module")
def demo_run():
    config = demo_config()
    return load_run(config, workdir=REPO, root=REPO)


def analyse(run, patient: Patient, folder: Path) -> dict:
    return analysis.analyse_vcf(
        patient=patient, settings=run.settings, kb=run.knowledge, cohort=None, folder=folder
    )


def outputs(folder: Path) -> dict[str, object]:
    """The three files, the recommendation without its time stamp."""
    found: dict[str, object] = {}
    for name in OUTPUTS:
        text = (folder / name).read_text(encoding="utf-8")
        if name.endswith(".json"):
            data = json.loads(text)
            data["provenance"].pop("generated_at")
            found[name] = data
        else:
            found[name] = text
    return found


@pytest.fixture
def overlapped(monkeypatch):
    """The overlapped path even for the small test files (it is meant for large ones)."""
    monkeypatch.setattr(analysis, "SMALL_FILE", 0)


def sequential_only(monkeypatch) -> None:
    """Make every file take the sequential path (the header never stands in for the checks)."""
    monkeypatch.setattr(analysis, "inspect_header", lambda *args, **kwargs: None)


def no_children_left() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_every_demo_patient_gets_the_same_outputs_three_ways(demo_run, tmp_path, monkeypatch):
    ways = {
        "small": {"SMALL_FILE": 1 << 30},  # one step after the other, in process
        "sequential": {"SMALL_FILE": 0, "inspect_header": lambda *args, **kwargs: None},
        "overlapped": {"SMALL_FILE": 0},
    }
    for way, patches in ways.items():
        with monkeypatch.context() as patch:
            for name, value in patches.items():
                patch.setattr(analysis, name, value)
            for pid, patient in demo_run.patients.items():
                analyse(demo_run, patient, tmp_path / way / pid)
    for pid in demo_run.patients:
        expected = outputs(tmp_path / "small" / pid)
        for way in ("sequential", "overlapped"):
            assert outputs(tmp_path / way / pid) == expected, (way, pid)
            assert sorted(p.name for p in (tmp_path / way / pid).iterdir()) == sorted(OUTPUTS)
    assert no_children_left()


@pytest.mark.parametrize("small_file", [0, analysis.SMALL_FILE], ids=["overlapped", "small"])
@pytest.mark.parametrize("row", corpus(), ids=lambda row: row["file"])
def test_each_bad_file_gets_its_own_message_either_way(
    demo_run, row, small_file, tmp_path, monkeypatch
):
    monkeypatch.setattr(analysis, "SMALL_FILE", small_file)
    vcf = BAD / row["file"]
    patient = Patient(PATIENT, vcf, "colorectal", row["tumour_sample"] or None, (), None, 1)
    folder = tmp_path / PATIENT
    with pytest.raises(InputError) as caught:
        analyse(demo_run, patient, folder)
    assert_corpus_message(str(caught.value), row)
    assert list(folder.iterdir()) == []  # no output, no temporary folder
    assert no_children_left()


KRAS = "chr12\t25245350\t.\tC\tT\t.\tPASS\t{info}\tGT:AD:DP:AF\t0/1:70,30:100:0.3"


@pytest.mark.parametrize(
    ("case", "records", "extra_header"),
    [
        # an INFO key the header does not declare: bcftools must be told of it
        ("undeclared key", [KRAS.format(info="SOMATIC_NOTE=x")], ()),
        # a contig outside the reference: its records are left out
        (
            "off-reference contig",
            [KRAS.format(info="."), "chrUn_KI270742v1\t10\t.\tA\tG\t.\tPASS\t.\tGT\t0/1"],
            ("##contig=<ID=chrUn_KI270742v1,length=186739>",),
        ),
    ],
)
def test_records_needing_more_than_the_header_are_annotated_again(
    demo_run, tmp_path, monkeypatch, caplog, case, records, extra_header, overlapped
):
    vcf = write_vcf(tmp_path / "p.vcf", records, extra_header=extra_header)
    patient = Patient("P1", vcf, "colorectal", None, (), None, 1)
    with caplog.at_level("INFO", logger="haicgx.analysis"):
        analyse(demo_run, patient, tmp_path / "overlapped")
    assert "annotating again" in caplog.text, case
    with monkeypatch.context() as patch:
        sequential_only(patch)
        analyse(demo_run, patient, tmp_path / "sequential")
    assert outputs(tmp_path / "overlapped") == outputs(tmp_path / "sequential")
    recommendation = outputs(tmp_path / "overlapped")["recommendation.json"]
    assert recommendation["qc"]["warnings"]  # the additions or the left-out contig are said
    assert no_children_left()


def test_a_file_the_header_cannot_speak_for_takes_the_sequential_path(demo_run, tmp_path):
    vcf = write_vcf(tmp_path / "p.vcf", [KRAS.format(info=".")], contigs=())
    patient = Patient("P1", vcf, "colorectal", None, (), None, 1)
    assert analysis._header_plan(patient, demo_run.settings, vcf) is None
    analyse(demo_run, patient, tmp_path / "out")
    assert (tmp_path / "out" / "recommendation.json").exists()


def test_the_checks_message_comes_before_a_bcftools_failure(demo_run, tmp_path, overlapped):
    # Unsorted records (the checks' message) whose later record also disagrees with the
    # reference (a bcftools failure, had the checks let it through).
    late = KRAS.format(info=".").replace("25245350", "25245300").replace("\tC\tT\t", "\tG\tT\t")
    vcf = write_vcf(tmp_path / "p.vcf", [KRAS.format(info="."), late])
    patient = Patient("P1", vcf, "colorectal", None, (), None, 1)
    with pytest.raises(InputError, match="unsorted: position 25245300"):
        analyse(demo_run, patient, tmp_path / "out")
    assert no_children_left()


def test_a_different_tumour_sample_is_kept_by_view(demo_run, tmp_path, overlapped):
    record = KRAS.format(info=".") + "\t0/0:50,0:50:0.0"
    vcf = write_vcf(tmp_path / "p.vcf", [record], samples=("TUMOR", "NORMAL"))
    tumour = Patient("P1", vcf, "colorectal", "TUMOR", (), None, 1)
    normal = replace(tumour, tumour_sample="NORMAL")
    analyse(demo_run, tumour, tmp_path / "tumour")
    analyse(demo_run, normal, tmp_path / "normal")
    got = outputs(tmp_path / "tumour")["recommendation.json"]
    assert got["qc"]["tumour_sample"] == "TUMOR" and got["qc"]["records_passing"] == 1
    # NORMAL's 0/0 call carries no ALT copy: read from its own column, it does not pass
    assert outputs(tmp_path / "normal")["recommendation.json"]["qc"]["records_passing"] == 0


# -- forks.Child ---------------------------------------------------------------------------------


def test_a_child_returns_its_value_and_its_input_error(tmp_path):
    assert Child(lambda: {"records": 3}, tmp_path / "a").wait() == {"records": 3}

    def bad():
        raise InputError("P1", "a.vcf", "unsorted", record="chr1:5")

    with pytest.raises(InputError) as caught:
        Child(bad, tmp_path / "b").wait()
    assert str(caught.value) == "patient P1: a.vcf: record chr1:5: unsorted"


def test_a_child_that_fails_or_is_killed_says_so_in_one_line(tmp_path):
    with pytest.raises(HaicgxError, match=r"internal error \(ZeroDivisionError"):
        Child(lambda: 1 / 0, tmp_path / "a").wait()
    child = Child(lambda: os.kill(os.getpid(), signal.SIGTERM), tmp_path / "b")
    with pytest.raises(HaicgxError, match="killed"):
        child.wait()
    sleeper = Child(lambda: signal.pause(), tmp_path / "c")
    sleeper.stop()
    assert sleeper.outcome() == ("signal", signal.SIGKILL)
    assert no_children_left()


def test_failed_checks_stop_bcftools_and_its_steps(demo_run, tmp_path):
    # A stand-in for the bcftools child: a process group of two sleepers.
    def group():
        Child(lambda: signal.pause(), tmp_path / "step")
        signal.pause()

    stream = Child(group, tmp_path / "stream", new_group=True)
    bad = Patient("P1", BAD / "unsorted.vcf", "colorectal", None, (), None, 1)
    with pytest.raises(InputError, match="unsorted"):
        analysis._checks_then_stop(bad, demo_run.settings, bad.vcf, stream.pid)
    assert stream.outcome() == ("signal", signal.SIGKILL)
    assert no_children_left()


# -- small files of an analysis job: one csq run for the group -----------------------------------


def group_outputs(run, patients, folder: Path) -> dict[str, object]:
    ready = analysis.prepare_group(patients, run.settings, folder / "work")
    found = {}
    for patient in patients:
        prepared = ready[patient.patient_id]
        if isinstance(prepared, Exception):
            found[patient.patient_id] = str(prepared)
            continue
        out = folder / patient.patient_id
        found[f"{patient.patient_id} shared"] = prepared.consequences is not None
        analysis.analyse_vcf(
            patient=patient,
            settings=run.settings,
            kb=run.knowledge,
            cohort=None,
            folder=out,
            prepared=prepared,
        )
        found[patient.patient_id] = outputs(out)
    return found


def test_one_csq_for_the_group_gives_what_one_per_patient_gives(demo_run, tmp_path, monkeypatch):
    patients = list(demo_run.patients.values())
    bad = Patient("BAD", BAD / "ref_mismatch.vcf", "colorectal", None, (), None, 1)
    group = [*patients[:4], bad, *patients[4:]]
    together = group_outputs(demo_run, group, tmp_path / "together")
    assert "REF G disagrees with the GRCh38 reference" in together.pop("BAD")  # its own error
    assert all(together.pop(f"{p.patient_id} shared") for p in patients)  # csq ran once
    for patient in patients:
        analyse(demo_run, patient, tmp_path / "alone" / patient.patient_id)
        assert together[patient.patient_id] == outputs(tmp_path / "alone" / patient.patient_id)
    # When the group's csq run fails, each file is annotated on its own, with the same result.
    monkeypatch.setattr(analysis, "_group_csq", lambda members, work: None)
    separately = group_outputs(demo_run, group, tmp_path / "separately")
    separately.pop("BAD")
    assert not any(separately.pop(f"{p.patient_id} shared") for p in patients)
    assert separately == together
    assert no_children_left()


def test_the_group_takes_only_small_files(demo_run, tmp_path, monkeypatch):
    monkeypatch.setattr(analysis, "SMALL_FILE", 0)
    patients = list(demo_run.patients.values())
    assert analysis.prepare_group(patients, demo_run.settings, tmp_path) == {}


def test_stopping_a_group_leader_stops_its_children(tmp_path):
    said, say = os.pipe()

    def grandchild():
        os.write(say, f"{os.getpid()}\n".encode())
        signal.pause()

    def leader():
        Child(grandchild, tmp_path / "g")
        os.close(say)  # the grandchild's copy is then the last: its death ends the pipe
        signal.pause()

    child = Child(leader, tmp_path / "leader", new_group=True)
    os.close(say)
    with os.fdopen(said) as pipe:  # waits for the grandchild to run (no polling)
        grandchild_pid = int(pipe.readline())
    exited = os.pidfd_open(grandchild_pid)  # readable once the process has exited
    try:
        child.stop()
        assert child.outcome() == ("signal", signal.SIGKILL)
        # the bound only keeps a failure from hanging the run: a killed process exits at once
        assert select.select([exited], [], [], 120)[0], "the leader's child outlived it"
    finally:
        os.close(exited)


def real_vcfs() -> list[Path]:
    from support import TESTDATA

    names = [
        "pvactools-hcc1395/HCC1395.somatic.grch38.vep95.vcf.gz",  # VEP, 1.2 MB: overlapped anyway
        "pcgr-examples/T001-BRCA.grch38.vcf.gz",
        "vcf2maf-tests/test_b38.vcf",
        "vembrane/snpeff43t_hg38_strelka.ann.vcf",
        "pharmcat/pharmcat.example2.vcf",
        "pharmcat/pharmcat_positions.vcf",
    ]
    found = [TESTDATA / n for n in names]
    for gene in ("DPYD", "UGT1A1"):
        folder = TESTDATA / "pharmcat" / "test-vcf" / gene
        found += sorted(folder.glob("*.vcf"))[:6] if folder.is_dir() else []
    return found


@pytest.mark.parametrize("vcf", real_vcfs(), ids=lambda p: p.name)
def test_real_files_get_the_same_outcome_every_way(vcf, tmp_path, monkeypatch):
    if not vcf.exists():
        pytest.skip(f"{vcf} is absent: the shared public test data is not beside the project")
    config = demo_config()
    config["reference"] = {"build": "GRCh38"}  # no FASTA: the files' own annotations, if any
    run = load_run(config, workdir=REPO, root=REPO)
    with pysam_samples(vcf) as samples:
        sample = samples[-1] if len(samples) > 1 else None
    patient = Patient("REAL", vcf, "colorectal", sample, (), None, 1)
    ways = {
        "small": {"SMALL_FILE": 1 << 30},
        "sequential": {"SMALL_FILE": 0, "inspect_header": lambda *args, **kwargs: None},
        "overlapped": {"SMALL_FILE": 0},
    }
    outcomes = {}
    for way, patches in ways.items():
        with monkeypatch.context() as patch:
            for name, value in patches.items():
                patch.setattr(analysis, name, value)
            try:
                analyse(run, patient, tmp_path / way)
                outcomes[way] = outputs(tmp_path / way)
            except InputError as exc:
                outcomes[way] = str(exc)
    assert outcomes["sequential"] == outcomes["small"]
    assert outcomes["overlapped"] == outcomes["small"]
    assert no_children_left()


@contextlib.contextmanager
def pysam_samples(vcf: Path):
    import pysam

    with pysam.VariantFile(str(vcf)) as handle:
        yield list(handle.header.samples)


def test_an_analysis_job_mixing_small_and_large_files(demo_run, tmp_path, monkeypatch):
    """analyse_job: the small files go through the group, the others overlapped; a bad file
    fails alone; every patient's outputs are what it gets on its own."""
    from haicgx import jobs
    from haicgx.cohorts import cohort_for_site

    bad = Patient("BAD", BAD / "unsorted.vcf", "colorectal", None, (), None, 99)
    group = [*demo_run.patients.values(), bad]
    params = [jobs.patient_params(p) for p in group]
    config = demo_config()
    monkeypatch.chdir(REPO)  # the config's relative paths, as in a workflow run
    monkeypatch.setattr(analysis, "SMALL_FILE", 2400)  # about half the demo files are "large"
    sizes = {p.patient_id: p.vcf.stat().st_size for p in group}
    assert min(sizes.values()) < 2400 < max(sizes.values())
    out = tmp_path / "job"
    jobs.analyse_job(patients=params, config=config, root=str(REPO), out_dir=str(out))
    assert "unsorted" in (out / "BAD" / jobs.FAILED).read_text()
    assert sorted(p.name for p in out.iterdir()) == sorted(sizes)  # no work folder left
    for patient in demo_run.patients.values():
        alone = tmp_path / "alone" / patient.patient_id
        analysis.analyse_vcf(
            patient=patient,
            settings=demo_run.settings,
            kb=demo_run.knowledge,
            cohort=cohort_for_site(demo_run.cohorts, patient.primary_site),
            folder=alone,
        )
        assert outputs(out / patient.patient_id) == outputs(alone), patient.patient_id
        assert (out / patient.patient_id / "report.pdf").exists()
    assert no_children_left()


def test_variant_rows_are_quoted_only_when_a_cell_needs_it():
    import csv
    import io

    from haicgx.evaluate import _write_variant
    from haicgx.vocab import VARIANT_COLUMNS

    plain = tuple(f"c{i}" for i in range(len(VARIANT_COLUMNS)))
    odd = ('GENE"X', "a\tb", *plain[2:])  # a quote or a tab an annotation field brought in
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    _write_variant(out, writer, plain)
    _write_variant(out, writer, odd)
    lines = out.getvalue().splitlines()
    assert lines[0] == "\t".join(plain)
    assert list(csv.reader(io.StringIO(out.getvalue()), delimiter="\t")) == [list(plain), list(odd)]


def test_without_pipes_by_path_the_steps_run_one_after_the_other(demo_run, tmp_path, monkeypatch):
    import haicgx.annotate

    monkeypatch.setattr(analysis, "SMALL_FILE", 0)
    patient = next(iter(demo_run.patients.values()))
    analyse(demo_run, patient, tmp_path / "pipes")
    monkeypatch.setattr(analysis, "pipes_by_path", lambda: False)
    monkeypatch.setattr(haicgx.annotate, "pipes_by_path", lambda: False)
    monkeypatch.setattr(haicgx.annotate, "_run_steps", None)  # never the streamed steps
    analyse(demo_run, patient, tmp_path / "none")
    assert outputs(tmp_path / "none") == outputs(tmp_path / "pipes")


def test_no_unreadable_input_of_any_shape_reaches_another_patient(demo_run, tmp_path):
    """A folder named like a VCF, a FIFO, a NUL byte in a header line and an unreadable file,
    grouped with good panels: each bad one gets its own one-line message, the good ones their
    outputs (issue 18, isolation)."""
    good = [p for p in demo_run.patients.values() if p.vcf.suffix == ".vcf"][:2]
    folder = tmp_path / "x.vcf"
    folder.mkdir()
    fifo = tmp_path / "pipe.vcf"
    os.mkfifo(fifo)
    nul = tmp_path / "nul.vcf"
    nul.write_bytes(good[0].vcf.read_bytes().replace(b"##reference", b"##ref\x00erence", 1))
    bad = {"DIR": folder, "FIFO": fifo, "NUL": nul}
    expected = {"DIR": "a folder, not a VCF file", "FIFO": "not a regular file", "NUL": "NUL byte"}
    if os.geteuid() != 0:  # root reads whatever the mode says
        locked = tmp_path / "locked.vcf"
        locked.write_bytes(good[1].vcf.read_bytes())
        locked.chmod(0)
        bad["LOCKED"], expected["LOCKED"] = locked, "permission denied"
    patients = [*good, *(replace(good[0], patient_id=pid, vcf=path) for pid, path in bad.items())]
    found = group_outputs(demo_run, patients, tmp_path / "out")
    for pid, fragment in expected.items():
        message = found[pid]
        assert isinstance(message, str) and "\n" not in message, pid
        assert message.startswith(f"patient {pid}: ") and fragment in message, message
    for patient in good:
        assert set(found[patient.patient_id]) == set(OUTPUTS)
