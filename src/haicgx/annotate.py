"""Normalisation (bcftools norm) and consequence calling (bcftools csq), through pysam's bcftools.

One call per patient turns the raw VCF into a normalised, single-sample, annotated BCF:
`bcftools view -s` (the tumour sample, contigs renamed to the reference's names), `bcftools norm`
(split multi-allelic records, left-align and check REF against the reference when there is one),
and `bcftools csq` when the annotation mode asks for it.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pysam
from pysam import bcftools

from haicgx.errors import InputError
from haicgx.vcf import VcfFacts, inspect_vcf

log = logging.getLogger(__name__)

BCSQ = "BCSQ"


@dataclass
class PreparedVcf:
    """The annotated single-sample BCF and what was learned on the way."""

    path: Path
    annotation: str  # csq, vep, snpeff, bcsq, none
    annotation_key: str | None  # the INFO key holding consequences
    ref_checked: bool
    facts: VcfFacts
    warnings: list[str] = field(default_factory=list)


def detect_annotation(header: pysam.VariantHeader) -> tuple[str, str] | None:
    """The consequence annotation a file already carries: (source, INFO key), else None.

    VEP writes its fields' names into the Description (under the key CSQ, or ANN when asked);
    SnpEff's ANN Description names 'Annotation_Impact'; bcftools csq writes BCSQ.
    """
    info = header.info
    for key in ("CSQ", "ANN"):
        if key in info:
            description = info[key].description or ""
            if "Annotation_Impact" in description:
                return "snpeff", key
            if "Format:" in description:
                return "vep", key
    if BCSQ in info:
        return "bcsq", BCSQ
    return None


def _bcftools(patient: str, vcf: Path, tool: str, *args: str) -> None:
    """Run one bcftools sub-command; its failure becomes one line naming the record if it can."""
    try:
        getattr(bcftools, tool)(*args, catch_stdout=False)
    except pysam.utils.SamtoolsError as exc:
        raise _as_input_error(patient, vcf, tool, str(exc)) from None


_MISMATCH = re.compile(
    r"Reference allele mismatch at (\S+?):(\d+) \.\. REF_SEQ:'(\w*)' vs VCF:'(\w*)'"
)
_AT = re.compile(r"(?:at|position) (\S+?):(\d+)")


def _as_input_error(patient: str, vcf: Path, tool: str, message: str) -> InputError:
    if m := _MISMATCH.search(message):
        return InputError(
            patient,
            str(vcf),
            f"REF {m[4]} disagrees with the reference ({m[3]}): wrong build or reference?",
            record=f"{m[1]}:{m[2]}",
        )
    lines = [ln.strip() for ln in message.splitlines() if ln.strip() and "stderr=" not in ln]
    detail = next((ln for ln in lines if ln.lower().startswith(("error", "[e::"))), None)
    detail = detail or (lines[-1] if lines else message)
    detail = re.sub(r"^.*?(returned with error \d+: ?)", "", detail)[:300]
    at = _AT.search(message)
    return InputError(
        patient,
        str(vcf),
        f"bcftools {tool} failed: {detail}",
        record=f"{at[1]}:{at[2]}" if at else None,
    )


def prepare_vcf(
    *,
    patient: str,
    vcf: Path,
    out_bcf: Path,
    tumour_sample: str | None,
    build: str,
    annotation_mode: str,
    fasta: Path | None,
    gff3: Path | None,
) -> PreparedVcf:
    """Check, subset, normalise and annotate one patient's VCF into `out_bcf`."""
    facts = inspect_vcf(patient, vcf, tumour_sample=tumour_sample, build=build, fasta=fasta)
    log.info(
        "%s: %d records, tumour sample %s; %s",
        patient,
        facts.records_read,
        facts.tumour_sample,
        facts.build_check,
    )
    with pysam.VariantFile(str(vcf)) as handle:
        existing = detect_annotation(handle.header)
    try:
        source, key = _annotation_plan(annotation_mode, existing, fasta, gff3)
    except ValueError as exc:
        raise InputError(patient, str(vcf), str(exc)) from None
    warnings = list(facts.warnings)
    ref_checked = fasta is not None
    if not ref_checked:
        warnings.append("REF alleles were not checked against a reference (no FASTA configured)")
    if source == "none":
        warnings.append("no consequence annotation: only exact genomic-allele rules were evaluated")
    with tempfile.TemporaryDirectory(prefix=f"haicgx-{patient}-", dir=out_bcf.parent) as tmp:
        work = Path(tmp)
        subset = work / "subset.bcf"
        view_args = ["-s", facts.tumour_sample, "--force-samples", "-Ou", "-o", str(subset)]
        if facts.contig_names:
            renames = work / "contigs.txt"
            renames.write_text("".join(f"{a}\t{b}\n" for a, b in facts.contig_names.items()))
            renamed = work / "renamed.bcf"
            _bcftools(
                patient,
                vcf,
                "annotate",
                "--rename-chrs",
                str(renames),
                "-Ou",
                "-o",
                str(renamed),
                str(vcf),
            )
            view_args.append(str(renamed))
        else:
            view_args.append(str(vcf))
        _bcftools(patient, vcf, "view", *view_args)
        normalised = work / "norm.bcf"
        norm_args = ["-m", "-any", "-Ou", "-o", str(normalised)]
        if fasta is not None:
            norm_args += ["-f", str(fasta), "-c", "e"]
        _bcftools(patient, vcf, "norm", *norm_args, str(subset))
        result = normalised
        if source == "csq":
            annotated = work / "csq.bcf"
            _bcftools(
                patient,
                vcf,
                "csq",
                "-f",
                str(fasta),
                "-g",
                str(gff3),
                "-s",
                "-",
                "-l",
                "--force",
                "-Ob",
                "-o",
                str(annotated),
                str(normalised),
            )
            result = annotated
        shutil.move(str(result), out_bcf)
    return PreparedVcf(
        path=out_bcf,
        annotation=source,
        annotation_key=BCSQ if source == "csq" else key,
        ref_checked=ref_checked,
        facts=facts,
        warnings=warnings,
    )


def _annotation_plan(
    mode: str, existing: tuple[str, str] | None, fasta: Path | None, gff3: Path | None
) -> tuple[str, str | None]:
    """Which annotation to use: the file's own (auto, vep, snpeff) or a fresh csq run."""
    if mode == "none":
        return "none", None
    if mode in ("vep", "snpeff"):
        if existing is None or existing[0] != mode:
            found = existing[0] if existing else "no annotation"
            raise ValueError(f"annotation: {mode} was configured but the VCF carries {found}")
        return existing
    if mode == "auto" and existing is not None:
        return existing
    if fasta is None or gff3 is None:
        return "none", None
    return "csq", BCSQ
