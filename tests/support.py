"""Shared test helpers (paths, the demo's config, tiny VCF writers, the real public data), imported
by test modules as `from support import ...`; the fixtures are in conftest.py."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pysam
import pytest
import yaml

from haicgx import annotate
from haicgx.annotate import AnnotationPlan
from haicgx.builds import KNOWN_CONTIG_LENGTHS
from haicgx.knowledge import KnowledgeBase
from haicgx.settings import Patient, Settings
from haicgx.vcf import VcfFacts

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
SHARED = REPO.parent / "shared"
TESTDATA = SHARED / "testdata"
MINI_KNOWLEDGE = TESTS / "data" / "knowledge"
# The demo's config: a site's template, then the demo's own settings (as `make run` names them).
DEMO_CONFIGS = (REPO / "config" / "config.yaml", REPO / "config" / "demo.yaml")
DEMO_SHEET = REPO / "config" / "demo_patients.tsv"


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def demo_config() -> dict[str, Any]:
    """config/config.yaml with config/demo.yaml over it, key by key, as Snakemake merges them."""
    config: dict[str, Any] = {}
    for path in DEMO_CONFIGS:
        config = _merge(config, yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    return config


def testdata(folder: str) -> Path:
    """A folder of ../shared/testdata, or skip with the reason."""
    path = TESTDATA / folder
    if not path.is_dir():
        pytest.skip(f"{path} is absent: the shared public test data is not beside the project")
    return path


def vcf_text(
    records: list[str],
    *,
    samples: tuple[str, ...] = ("TUMOR",),
    build: str = "GRCh38",
    contigs: tuple[str, ...] = ("chr1", "chr2", "chr7", "chr12", "chr13"),
    extra_header: tuple[str, ...] = (),
    fmt: bool = True,
) -> str:
    """A small VCF: contig lines with the build's real lengths, AD/DP/AF/GT formats."""
    lines = ["##fileformat=VCFv4.2"]
    for name in contigs:
        lines.append(f"##contig=<ID={name},length={KNOWN_CONTIG_LENGTHS[build][name]}>")
    lines += [
        '##FILTER=<ID=PASS,Description="All filters passed">',
        '##FILTER=<ID=weak_evidence,Description="Weak evidence">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">',
        '##FORMAT=<ID=AF,Number=A,Type=Float,Description="Allele fraction">',
        '##FORMAT=<ID=PS,Number=1,Type=Integer,Description="Phase set">',
        *extra_header,
    ]
    head = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"
    if fmt:
        head += "\tFORMAT\t" + "\t".join(samples)
    lines.append(head)
    return "\n".join(lines + records) + "\n"


def write_vcf(path: Path, records: list[str], **kwargs) -> Path:
    path.write_text(vcf_text(records, **kwargs), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Annotated:
    """A patient's VCF after the production stages' checks and bcftools steps
    (`annotate.check_and_plan`, then `annotate.stream`, as `haicgx.analysis.analyse_vcf` runs
    them): the streamed records kept in `path`, and the plan."""

    path: Path
    plan: AnnotationPlan

    @property
    def annotation(self) -> str:
        return self.plan.source

    @property
    def annotation_key(self) -> str | None:
        return self.plan.annotation_key

    @property
    def ref_checked(self) -> bool:
        return self.plan.ref_checked

    @property
    def facts(self) -> VcfFacts:
        return self.plan.facts

    @property
    def warnings(self) -> list[str]:
        return self.plan.warnings


def annotate_vcf(
    vcf: Path,
    out_bcf: Path,
    *,
    patient: str = "P1",
    tumour_sample: str | None = None,
    normal_sample: str | None = None,
    build: str = "GRCh38",
    annotation_mode: str = "auto",
    fasta: Path | None = None,
    gff3: Path | None = None,
) -> Annotated:
    """The annotated records of one VCF as the analysis reads them, written to `out_bcf` (nothing
    unless every step succeeds); the checks' or bcftools' InputError as the analysis raises it."""
    out_bcf.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_bcf.parent) as tmp:
        work = Path(tmp)
        plan = annotate.check_and_plan(
            patient=patient,
            vcf=vcf,
            work=work,
            tumour_sample=tumour_sample,
            normal_sample=normal_sample,
            build=build,
            annotation_mode=annotation_mode,
            fasta=fasta,
            gff3=gff3,
        )
        with (
            annotate.stream(plan, work) as records,
            pysam.VariantFile(str(work / "out.bcf"), "wb", header=records.header) as out,
        ):
            for record in records:
                out.write(record)
        (work / "out.bcf").replace(out_bcf)
    return Annotated(out_bcf, plan)


def analyse(patient: Patient, settings: Settings, kb: KnowledgeBase, folder: Path, **overrides):
    """One patient through the production entry (`haicgx.analysis.analyse_vcf`), with
    `overrides` of the settings (build, fasta, gff3, annotation...); the recommendation."""
    from haicgx.analysis import analyse_vcf

    return analyse_vcf(
        patient=patient,
        settings=replace(settings, **overrides),
        kb=kb,
        cohort=None,
        folder=folder,
    )
