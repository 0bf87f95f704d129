"""The genome build: the file's contigs against the reference (or the build's known contigs),
renames of the chr prefix, contigs left out, and the assembly the header names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from haicgx.builds import KNOWN_CONTIG_LENGTHS, identify_build, length_fits
from haicgx.knowledge import normalise_chrom
from haicgx.vcf.facts import fail


def fasta_contigs(fasta: Path) -> dict[str, int]:
    """Contig lengths from a FASTA's .fai index."""
    lengths: dict[str, int] = {}
    with open(f"{fasta}.fai", encoding="utf-8") as handle:
        for line in handle:
            name, length = line.split("\t")[:2]
            lengths[name] = int(length)
    return lengths


@dataclass
class BuildCheck:
    """The outcome of `check_build`."""

    renames: dict[str, str]  # file contig -> reference contig (chr prefix, M/MT)
    sentence: str  # for the outputs
    warnings: list[str]
    confirmed: bool  # contig lengths confirmed the build
    excluded: list[str]  # non-primary contigs the reference lacks: their records are left out


def check_build(
    patient: str,
    path: Path,
    header_lengths: dict[str, int | None],
    header_lines: list[str],
    *,
    build: str,
    fasta: Path | None,
    record_contigs: set[str],
) -> BuildCheck:
    """Compare the file's contigs with the reference (or the build's known contigs).

    Contig names that differ only by a `chr` prefix are renamed to the reference's. A file of
    another build is refused, naming both builds. Records on a primary chromosome the reference
    lacks are an error; records on other contigs the reference lacks (alt, random, decoy, HLA)
    are left out with a warning: no knowledge row or pharmacogene lies there.
    """
    if fasta is not None:
        target = fasta_contigs(fasta)
        target_label = f"the reference FASTA index ({fasta.name})"
    else:
        target = KNOWN_CONTIG_LENGTHS[build]
        target_label = f"the known {build} contigs"
    names = set(header_lengths) | record_contigs
    renames, excluded = _renames(patient, path, names, record_contigs, target, target_label)
    warnings = []
    if excluded:
        shown = ", ".join(excluded[:5]) + (
            f" and {len(excluded) - 5} more" if len(excluded) > 5 else ""
        )
        warnings.append(
            f"records on {len(excluded)} contigs outside {target_label} ({shown}) were left out: "
            "only the primary assembly is evaluated"
        )
    renames_note = target_label if not renames else f"{target_label}, after renaming"
    lengths_known = {n: length for n, length in header_lengths.items() if length}
    _check_lengths(patient, path, lengths_known, renames, target, target_label, build)
    declared = declared_assembly(header_lines)
    if lengths_known:
        if declared and declared != build:
            warnings.append(
                f"the header names {declared} but its contig lengths are those of {build}; "
                "the lengths were trusted"
            )
        sentence = f"contig lengths match {renames_note}"
        return BuildCheck(renames, sentence, warnings, True, excluded)
    if declared and declared != build:
        raise fail(
            patient,
            path,
            f"the header declares {declared} but the configuration is {build} "
            "(and there are no contig lengths to say otherwise)",
        )
    sentence = (
        "the file carries no contig lengths, so its build could not be checked from them"
        + (f"; the header declares {declared}" if declared else "; nor does the header name it")
        + (
            f"; REF alleles are checked against {fasta.name} instead"
            if fasta is not None
            else "; with no reference FASTA, REF alleles could not be checked either"
        )
    )
    return BuildCheck(renames, sentence, [sentence, *warnings], False, excluded)


# Primary chromosomes, named as knowledge.normalise_chrom names them (no chr prefix, M for MT).
PRIMARY_CHROMOSOMES = frozenset({str(i) for i in range(1, 23)} | {"X", "Y", "M"})


def _renames(
    patient: str,
    path: Path,
    names: set[str],
    used: set[str],
    target: dict[str, int],
    target_label: str,
) -> tuple[dict[str, str], list[str]]:
    """File contig -> reference contig where only the chr prefix (or M/MT) differs, and the
    non-primary contigs with records that the reference lacks."""
    by_plain = {normalise_chrom(name): name for name in target}
    renames: dict[str, str] = {}
    excluded: list[str] = []
    for name in sorted(names):
        if name in target:
            continue
        plain = normalise_chrom(name)
        if plain in by_plain:
            renames[name] = by_plain[plain]
        elif name in used and plain in PRIMARY_CHROMOSOMES:
            raise fail(patient, path, f"contig {name!r} is not in {target_label}")
        elif name in used:
            excluded.append(name)
    return renames, excluded


def _check_lengths(
    patient: str,
    path: Path,
    lengths: dict[str, int],
    renames: dict[str, str],
    target: dict[str, int],
    target_label: str,
    build: str,
) -> None:
    for name, length in lengths.items():
        ref_name = renames.get(name, name)
        if ref_name in target and not length_fits(build, name, length, target[ref_name]):
            guessed = identify_build(lengths)
            what = f"a {guessed} file" if guessed and guessed != build else "another assembly"
            raise fail(
                patient,
                path,
                f"{what} under a {build} configuration: contig {name} is {length:,} bp in the "
                f"file but {target[ref_name]:,} bp in {target_label}",
            )


_BUILD_NAMES = {
    "GRCh38": r"grch38|hg38|b38|hs38|assembly38",
    "GRCh37": r"grch37|hg19|b37|hs37|human_g1k_v37|assembly19",
}
_LIFTOVER = re.compile(r"(grch3[78]|hg19|hg38|b3[78])_?to_?(grch3[78]|hg19|hg38|b3[78])")
_REFERENCE_OPTION = re.compile(r"(?:--reference|--fasta-ref)[= ](\S+)")


def _builds_named(text: str) -> set[str]:
    return {build for build, pattern in _BUILD_NAMES.items() if re.search(pattern, text)}


def declared_assembly(header_lines: list[str]) -> str | None:
    """The build the header names, if it names exactly one.

    Reads ##reference, ##assembly, ##contig assembly=, the reference of recorded command lines,
    and liftover lines (whose target build wins: the file was converted to it).

    >>> declared_assembly(["##reference=file:///refs/GRCh38_full_analysis_set.fa"])
    'GRCh38'
    >>> declared_assembly(["##reference=hg19.fa", "##liftOverChainFile=hg19Tohg38.over.chain.gz"])
    'GRCh38'
    >>> declared_assembly(['##GATKCommandLine=<ID=Mutect2,CommandLine="--reference b37.fa">'])
    'GRCh37'
    >>> declared_assembly(["##source=strelka"]) is None
    True
    """
    texts = []
    for line in header_lines:
        lower = line.lower()
        if lower.startswith("##liftover"):
            if m := _LIFTOVER.search(lower):
                return next(iter(_builds_named(m[2])))
            continue
        if lower.startswith(("##reference", "##assembly", "##contig")):
            texts.append(lower)
        elif "command" in lower[:40]:
            texts += _REFERENCE_OPTION.findall(lower)
    hits = _builds_named("\n".join(texts))
    return hits.pop() if len(hits) == 1 else None
