"""One patient's VCF through its one path (haicgx.analysis): the checks, one bcftools stream read
as records arrive, the outputs; the analysis job's group csq run for small files.

The group's run must give what a patient's own run gives, a failure must stay its patient's, the
checks' message must come before a bcftools failure, and no process or file may be left behind.
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
from test_bad_inputs import BAD

from haicgx import analysis, jobs
from haicgx.cohorts import cohort_for_site
from haicgx.errors import HaicgxError, InputError
from haicgx.forks import Child
from haicgx.jobs import load_run
from haicgx.outcome import OUTCOME, Outcome, read_outcome
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


def no_children_left() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


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
        # no ##contig line at all: the records name them
        ("no contig lines", [KRAS.format(info=".")], ()),
    ],
)
def test_what_the_checks_find_in_the_records_reaches_bcftools(
    demo_run, tmp_path, case, records, extra_header
):
    contigs = () if case == "no contig lines" else ("chr1", "chr2", "chr7", "chr12", "chr13")
    vcf = write_vcf(tmp_path / "p.vcf", records, extra_header=extra_header, contigs=contigs)
    patient = Patient("P1", vcf, "colorectal", None, (), None, 1)
    analyse(demo_run, patient, tmp_path / "out")
    recommendation = outputs(tmp_path / "out")["recommendation.json"]
    assert recommendation["qc"]["records_passing"] == 1, case
    assert recommendation["qc"]["warnings"], case  # the additions or the left-out contig are said
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(OUTPUTS)
    assert no_children_left()


def test_the_checks_message_comes_before_a_bcftools_failure(demo_run, tmp_path):
    # Unsorted records (the checks' message) whose later record also disagrees with the
    # reference (a bcftools failure, had the checks let it through).
    late = KRAS.format(info=".").replace("25245350", "25245300").replace("\tC\tT\t", "\tG\tT\t")
    vcf = write_vcf(tmp_path / "p.vcf", [KRAS.format(info="."), late])
    patient = Patient("P1", vcf, "colorectal", None, (), None, 1)
    with pytest.raises(InputError, match="unsorted: position 25245300"):
        analyse(demo_run, patient, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []
    assert no_children_left()


def test_a_bcftools_failure_mid_stream_is_raised_with_nothing_written(demo_run, tmp_path):
    # Sorted and well formed, so the checks pass; the second record's REF disagrees with the
    # reference, which bcftools norm finds after the first record has gone down the pipe.
    patient = Patient("P1", BAD / "ref_mismatch.vcf", "colorectal", None, (), None, 1)
    with pytest.raises(InputError, match=r"record chr12:25245350: REF G disagrees"):
        analyse(demo_run, patient, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []
    assert no_children_left()


def test_a_different_tumour_sample_is_kept_by_view(demo_run, tmp_path):
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


def test_an_error_while_reading_stops_the_stream_and_stays_the_readers(demo_run, tmp_path):
    from haicgx import annotate

    patient = next(iter(demo_run.patients.values()))
    plan = analysis._check_and_plan(patient, demo_run.settings, tmp_path)
    with pytest.raises(KeyError, match="the reader's own"), annotate.stream(plan, tmp_path) as rs:
        next(iter(rs))
        raise KeyError("the reader's own")
    assert no_children_left()


# -- small files of an analysis job: one csq run for the group -----------------------------------


def group_outputs(run, patients, folder: Path) -> dict[str, object]:
    """What an analysis job gives each patient, the report aside: the group's csq run, then each
    patient's own analysis (its one-line message when it fails)."""
    shared = analysis.group_consequences(patients, run.settings, folder / "work")
    found: dict[str, object] = {}
    for patient in patients:
        pid = patient.patient_id
        found[f"{pid} shared"] = pid in shared
        try:
            analysis.analyse_vcf(
                patient=patient,
                settings=run.settings,
                kb=run.knowledge,
                cohort=None,
                folder=folder / pid,
                consequences=shared.get(pid),
            )
            found[pid] = outputs(folder / pid)
        except HaicgxError as exc:
            found[pid] = str(exc)
    return found


def test_one_csq_for_the_group_gives_what_one_per_patient_gives(demo_run, tmp_path, monkeypatch):
    patients = list(demo_run.patients.values())
    bad = Patient("BAD", BAD / "ref_mismatch.vcf", "colorectal", None, (), None, 1)
    group = [*patients[:4], bad, *patients[4:]]
    together = group_outputs(demo_run, group, tmp_path / "together")
    assert not together.pop("BAD shared")  # left out of the group's run...
    assert "REF G disagrees with the GRCh38 reference" in together.pop("BAD")  # ...its own error
    assert all(together.pop(f"{p.patient_id} shared") for p in patients)  # csq ran once
    for patient in patients:
        analyse(demo_run, patient, tmp_path / "alone" / patient.patient_id)
        assert together[patient.patient_id] == outputs(tmp_path / "alone" / patient.patient_id)
    # When the group's csq run fails, each file is annotated on its own, with the same result.
    monkeypatch.setattr(analysis, "_group_csq", lambda members, work: None)
    separately = group_outputs(demo_run, group, tmp_path / "separately")
    assert not any(separately.pop(f"{p.patient_id} shared") for p in group)
    assert "REF G disagrees with the GRCh38 reference" in separately.pop("BAD")
    assert separately == together
    assert no_children_left()


def test_the_group_takes_only_small_files(demo_run, tmp_path, monkeypatch):
    monkeypatch.setattr(analysis, "GROUP_FILE_LIMIT", 0)
    patients = list(demo_run.patients.values())
    assert analysis.group_consequences(patients, demo_run.settings, tmp_path) == {}


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
        "pvactools-hcc1395/HCC1395.somatic.grch38.vep95.vcf.gz",  # VEP, 1.2 MB
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
def test_real_files_get_the_same_outcome_twice(vcf, tmp_path):
    """Outputs or one InputError, the same on a second run, and no process left behind."""
    if not vcf.exists():
        pytest.skip(f"{vcf} is absent: the shared public test data is not beside the project")
    config = demo_config()
    config["reference"] = {"build": "GRCh38"}  # no FASTA: the files' own annotations, if any
    run = load_run(config, workdir=REPO, root=REPO)
    with pysam_samples(vcf) as samples:
        sample = samples[-1] if len(samples) > 1 else None
    patient = Patient("REAL", vcf, "colorectal", sample, (), None, 1)
    outcomes = []
    for attempt in ("first", "second"):
        try:
            analyse(run, patient, tmp_path / attempt)
            outcomes.append(outputs(tmp_path / attempt))
        except InputError as exc:
            assert "\n" not in str(exc) and str(exc).startswith("patient REAL: ")
            outcomes.append(str(exc))
    assert outcomes[0] == outcomes[1]
    assert no_children_left()


@contextlib.contextmanager
def pysam_samples(vcf: Path):
    import pysam

    with pysam.VariantFile(str(vcf)) as handle:
        yield list(handle.header.samples)


def job_outcomes(group: list[Patient], out: Path) -> dict[str, Outcome | None]:
    """An analysis job run as rule analyse runs it; each patient's outcome.json."""
    params = [jobs.patient_params(p) for p in group]
    jobs.analyse_job(patients=params, config=demo_config(), root=str(REPO), out_dir=str(out))
    return {p.patient_id: read_outcome(out / p.patient_id) for p in group}


def test_an_analysis_job_mixing_small_and_large_files(demo_run, tmp_path, monkeypatch):
    """analyse_job: the small files share a csq run, the others run their own; a bad file fails
    alone, its folder holding its outcome only; every patient's outputs are what it gets on its
    own."""
    bad = Patient("BAD", BAD / "unsorted.vcf", "colorectal", None, (), None, 99)
    group = [*demo_run.patients.values(), bad]
    monkeypatch.chdir(REPO)  # the config's relative paths, as in a workflow run
    monkeypatch.setattr(analysis, "GROUP_FILE_LIMIT", 2400)  # about half the demo files are "large"
    sizes = {p.patient_id: p.vcf.stat().st_size for p in group}
    assert min(sizes.values()) < 2400 < max(sizes.values())
    out = tmp_path / "job"
    found = job_outcomes(group, out)
    failed = found.pop("BAD")
    assert failed is not None and failed.status == "failed" and "unsorted" in failed.message
    assert [p.name for p in (out / "BAD").iterdir()] == [OUTCOME]
    assert sorted(p.name for p in out.iterdir()) == sorted(sizes)  # no work folder left
    for patient in demo_run.patients.values():
        pid = patient.patient_id
        done = found[pid]
        assert done is not None and done.ok and done.message == ""
        assert {"check", "annotate_evaluate", "outputs", "report"} <= set(done.timings)
        alone = tmp_path / "alone" / pid
        analysis.analyse_vcf(
            patient=patient,
            settings=demo_run.settings,
            kb=demo_run.knowledge,
            cohort=cohort_for_site(demo_run.cohorts, patient.primary_site),
            folder=alone,
        )
        assert outputs(out / pid) == outputs(alone), pid
        assert (out / pid / "report.pdf").exists()
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
    found = job_outcomes(patients, tmp_path / "out")
    for pid, fragment in expected.items():
        outcome = found[pid]
        assert outcome is not None and outcome.status == "failed", pid
        assert "\n" not in outcome.message, pid
        assert outcome.message.startswith(f"patient {pid}: ") and fragment in outcome.message
    for patient in good:
        assert found[patient.patient_id].ok
        assert set(OUTPUTS) <= {p.name for p in (tmp_path / "out" / patient.patient_id).iterdir()}
