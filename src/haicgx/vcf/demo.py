"""The synthetic-demo-reference guard: only the demo's own VCFs run under the demo genome."""

from __future__ import annotations

from pathlib import Path

from haicgx.settings import is_synthetic_reference
from haicgx.vcf.facts import fail
from haicgx.vcf.lines import read_header

# The header line resources/demo/make_demo.py writes into every demo VCF.
DEMO_FILE_SOURCE = "##source=haicgx demo cohort"


def refuse_synthetic_reference(
    patient: str, path: Path, header_lines: list[str], fasta: Path | None
) -> None:
    """Refuse a file that is not one of the demo's under the synthetic demo genome.

    That genome is N almost everywhere and random elsewhere: a real patient's file checked,
    normalised or annotated against it would give wrong REF checks and wrong consequences.
    """
    if not is_synthetic_reference(fasta):
        return
    if any(line.startswith(DEMO_FILE_SOURCE) for line in header_lines):
        return
    raise fail(
        patient,
        path,
        f"reference.fasta ({fasta}) is the SYNTHETIC demo reference, for the demo's own VCFs "
        f"only (their header has '{DEMO_FILE_SOURCE}'): set reference.fasta and reference.gff3 "
        "to your genome and its Ensembl GFF3 (and leave config/demo.yaml out), or set no "
        "reference (reference.fasta: null) for VCFs already annotated by VEP or SnpEff "
        "(annotation: auto) or for annotation: none",
    )


def early_header(path: Path) -> list[str] | None:
    """The header lines when they read as a VCF header at once; None when not (the full checks
    then name the problem)."""
    try:
        lines = read_header(path)
    except Exception:
        return None
    whole = lines and lines[0].startswith("##fileformat=VCF") and lines[-1].startswith("#CHROM")
    return lines if whole else None
