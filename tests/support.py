"""Shared test helpers (paths, the demo's config, tiny VCF writers, the real public data), imported
by test modules as `from support import ...`; the fixtures are in conftest.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from haicgx.builds import KNOWN_CONTIG_LENGTHS

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
