"""The synthetic demo reference refuses every VCF that is not a demo file; a run without a
reference says in every output what it could not do (CONTRACT section 2, issue 17)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml
from support import DEMO_CONFIGS, REPO, annotate_vcf, demo_config, write_vcf
from support import testdata as shared_data

from haicgx import analysis, annotate, report, vcf
from haicgx.annotate import AUTO_CANNOT_RUN
from haicgx.cohorts import load_cohorts
from haicgx.errors import InputError
from haicgx.jobs import analyse_patient
from haicgx.knowledge import load_knowledge
from haicgx.settings import SYNTHETIC_REFERENCE_FAI_SHA256, Patient, load_settings

DEMO_VCFS = sorted(
    p
    for p in (REPO / "resources" / "demo" / "vcf").iterdir()
    if p.suffix in (".vcf", ".gz", ".bcf")
)
FASTA = REPO / "resources" / "demo" / "reference" / "demo_grch38.fa.gz"
GFF3 = REPO / "resources" / "demo" / "reference" / "demo_grch38.gff3"
KRAS = "chr12\t25245350\t.\tC\tT\t.\tPASS\t.\tGT:AD:DP:AF\t0/1:70,30:100:0.3"


def refusal(path: Path, patient: str = "P1") -> str:
    """The start of the one-line refusal for `path`."""
    return f"patient {patient}: {path}: reference.fasta ({FASTA}) is the SYNTHETIC demo reference"


def inspect(path: Path, fasta: Path | None = FASTA) -> vcf.VcfFacts:
    return vcf.inspect_vcf("P1", path, tumour_sample=None, build="GRCh38", fasta=fasta)


def test_the_recorded_digest_is_the_bundled_index():
    digest = hashlib.sha256(Path(f"{FASTA}.fai").read_bytes()).hexdigest()
    assert digest == SYNTHETIC_REFERENCE_FAI_SHA256


@pytest.mark.parametrize("path", DEMO_VCFS, ids=lambda p: p.name)
def test_every_demo_file_passes(path):
    assert len(DEMO_VCFS) == 10
    assert inspect(path).records_read > 0


def test_another_file_is_refused_in_one_line_naming_the_keys(tmp_path):
    path = write_vcf(tmp_path / "site.vcf", [KRAS])
    with pytest.raises(InputError) as caught:
        inspect(path)
    message = str(caught.value)
    assert message.startswith(refusal(path))
    assert "\n" not in message
    for key in ("reference.fasta and reference.gff3", "annotation: none", "config/demo.yaml"):
        assert key in message
    assert inspect(path, fasta=None).records_read == 1  # no reference: no refusal


def test_the_demo_header_line_is_what_makes_a_demo_file(tmp_path):
    text = DEMO_VCFS[0].read_text(encoding="utf-8")
    unmarked = tmp_path / "unmarked.vcf"
    unmarked.write_text(
        "\n".join(ln for ln in text.splitlines() if not ln.startswith("##source=")) + "\n"
    )
    with pytest.raises(InputError, match="SYNTHETIC demo reference"):
        inspect(unmarked)
    copied = tmp_path / "copied.vcf"
    copied.write_text(text)
    assert inspect(copied).records_read > 0


def test_a_copy_of_the_synthetic_genome_refuses_as_well(tmp_path):
    for suffix in ("", ".fai", ".gzi"):
        (tmp_path / f"genome.fa.gz{suffix}").write_bytes(Path(f"{FASTA}{suffix}").read_bytes())
    path = write_vcf(tmp_path / "site.vcf", [KRAS])
    with pytest.raises(InputError, match="is the SYNTHETIC demo reference"):
        inspect(path, fasta=tmp_path / "genome.fa.gz")


def test_the_refusal_comes_from_the_header_before_the_records_are_read(tmp_path, monkeypatch):
    def no_scan(*args, **kwargs):
        raise AssertionError("the records were read")

    monkeypatch.setattr(vcf.inspection, "scan_text", no_scan)
    path = write_vcf(tmp_path / "site.vcf", [KRAS])
    with pytest.raises(InputError, match="SYNTHETIC demo reference"):
        inspect(path)


def test_a_broken_file_still_gets_its_own_message(tmp_path):
    path = tmp_path / "notes.vcf"
    path.write_text("hello\n")
    with pytest.raises(InputError, match="not a VCF"):
        inspect(path)


def test_no_bcftools_step_runs_for_a_refused_file(tmp_path, monkeypatch):
    def no_bcftools(*args, **kwargs):
        raise AssertionError("bcftools ran")

    monkeypatch.setattr(annotate, "stream", no_bcftools)
    monkeypatch.setattr(annotate, "produce", no_bcftools)
    path = write_vcf(tmp_path / "site.vcf", [KRAS])
    with pytest.raises(InputError, match="SYNTHETIC demo reference"):
        annotate_vcf(path, tmp_path / "out.bcf", fasta=FASTA, gff3=GFF3)


def test_a_real_public_vcf_under_the_demo_config_is_refused(tmp_path, monkeypatch):
    """pVACtools' HCC1395 (Mutect2, VEP 95, GRCh38), 1.2 MB: the header refuses it, before its
    records are read."""
    path = shared_data("pvactools-hcc1395") / "HCC1395.somatic.grch38.vep95.vcf.gz"
    settings = load_settings(demo_config(), workdir=REPO)
    kb = load_knowledge(settings.biomarkers, settings.regimens, settings.findings)
    patient = Patient("HCC1395", path, "breast", None, (), None, 2)
    with pytest.raises(InputError) as caught:
        analysis.analyse_vcf(
            patient=patient, settings=settings, kb=kb, cohort=None, folder=tmp_path / "out"
        )
    assert str(caught.value).startswith(refusal(path, "HCC1395"))
    assert list((tmp_path / "out").iterdir()) == []


# -- a run without a reference says so in every output -------------------------------------------


def site_settings(tmp_path: Path, **overrides):
    """config/config.yaml alone (no reference), with a sheet in the working directory."""
    config = yaml.safe_load(DEMO_CONFIGS[0].read_text(encoding="utf-8"))
    config.update(overrides)
    (tmp_path / "patients.tsv").write_text("x")
    return load_settings(config, workdir=tmp_path)


@pytest.fixture(scope="module")
def knowledge():
    settings = load_settings(demo_config(), workdir=REPO)
    return (
        load_knowledge(settings.biomarkers, settings.regimens, settings.findings),
        load_cohorts(settings.cohorts),
    )


def test_no_reference_is_said_in_every_output(tmp_path, knowledge):
    """A demo file without its annotation, under the template's settings with annotation: none:
    no REF check, no left-alignment, no consequences: the JSON, the HTML report and its print
    edition say so."""
    kb, cohorts = knowledge
    settings = site_settings(tmp_path, annotation="none")
    patient = Patient("DEMO04", DEMO_VCFS[3], "gastric", None, (), None, 2)
    folder = tmp_path / "DEMO04"
    analyse_patient(patient, settings=settings, kb=kb, cohorts=cohorts, folder=folder)
    qc = json.loads((folder / "recommendation.json").read_text())["qc"]
    assert qc["annotation"] == "none" and qc["ref_checked"] is False
    no_fasta = next(w for w in qc["warnings"] if w.startswith("REF alleles were not checked"))
    assert "not left-aligned" in no_fasta
    assert "no consequence annotation: only exact" in " ".join(qc["warnings"])
    for markup in (report.render_patient_html(folder), report.render_print_html(folder)):
        text = " ".join(markup.split())
        assert "not left-aligned" in text
        assert "only genomic-allele rules were evaluated" in text


def test_auto_without_annotation_or_reference_fails_the_patient_saying_what_to_set(
    tmp_path, knowledge
):
    """annotation: auto is the file's annotation, else csq: with neither, the patient fails
    with one line naming the keys, and nothing is written (never a quiet fall to `none`)."""
    kb, cohorts = knowledge
    settings = site_settings(tmp_path, annotation="auto")
    patient = Patient("DEMO04", DEMO_VCFS[3], "gastric", None, (), None, 2)
    folder = tmp_path / "DEMO04"
    with pytest.raises(InputError) as caught:
        analyse_patient(patient, settings=settings, kb=kb, cohorts=cohorts, folder=folder)
    assert str(caught.value) == f"patient DEMO04: {DEMO_VCFS[3]}: {AUTO_CANNOT_RUN}"
    assert not (folder / "recommendation.json").exists()
