"""The line scan: one pass over a text VCF (or a BCF through htslib) running the header and
record checks, into a `TextScan`."""

from __future__ import annotations

from pathlib import Path

import pysam

from haicgx.vcf.facts import UNSEEN_ALLELES, TextScan, Unusable, fail, is_structural
from haicgx.vcf.header import HeaderUse, check_definition, column_header
from haicgx.vcf.lines import open_variant_file, read_lines
from haicgx.vcf.records import (
    RecordOrder,
    check_alleles,
    check_genotypes,
    check_one_naming,
    check_record,
)


def scan_text(patient: str, path: Path) -> TextScan:
    """Check a text VCF line by line: structure, sort order, duplicates, undeclared keys.

    Streams the file (memory stays flat) and stops at the first problem.
    """
    header: list[str] = []
    n_records = 0
    columns = 0
    use = HeaderUse()
    order = RecordOrder(patient, path)
    scan = TextScan([], 0, set(), [])
    unseen = False
    for lineno, line in read_lines(patient, path):
        if lineno == 1 and not line.startswith("##fileformat=VCF"):
            raise fail(patient, path, not_a_vcf(line))
        if line.startswith("##"):
            header.append(line)
            use.header_line(line)
            if line.startswith(("##INFO=", "##FORMAT=")):
                check_definition(patient, path, lineno, line)
            continue
        if line.startswith("#"):
            columns = column_header(patient, path, lineno, line)
            header.append(line)
            continue
        if not line:
            # htslib reads a blank line as a record on contig '' and bcftools then fails
            raise fail(patient, path, f"line {lineno} is blank: a VCF has no blank lines")
        if not columns:
            raise fail(patient, path, f"line {lineno}: data before the #CHROM header line")
        n_records += 1
        fields = check_record(patient, path, lineno, line, columns, use.declared["contig"], scan)
        use.record(fields)
        order.add(fields[0], int(fields[1]), fields[3], fields[4])
        if columns > 9 and fields[8].startswith("GT"):
            check_genotypes(patient, path, fields)
        if "<" in fields[4] or "[" in fields[4] or "]" in fields[4]:
            alts = fields[4].split(",")
            unseen = unseen or any(a in UNSEEN_ALLELES for a in alts)
            if any(is_structural(a) for a in alts):
                scan.note_structural(fields[0], int(fields[1]), fields[3], fields[7], alts)
    if not columns:
        raise fail(patient, path, "no #CHROM header line (empty or not a VCF)")
    check_one_naming(patient, path, order.contigs)
    scan.header, scan.records, scan.contigs = header, n_records, order.contigs
    scan.header_additions, scan.unseen_alleles = use.additions(), unseen
    return scan


def not_a_vcf(first_line: str) -> str:
    """Why the first line is not `##fileformat=VCF...`, naming the usual culprits."""
    if first_line.startswith("\ufeff"):
        return (
            "the file starts with a byte-order mark (U+FEFF, added by some Windows editors) "
            "before ##fileformat: save it as UTF-8 without BOM"
        )
    return "not a VCF: the first line is not ##fileformat=VCF..."


def _scan_bcf(patient: str, path: Path, variant_file: pysam.VariantFile) -> TextScan:
    """The record checks of `scan_text` for a BCF, through htslib."""
    n_records = 0
    order = RecordOrder(patient, path)
    scan = TextScan([], 0, set(), [])
    unseen = False
    try:
        for rec in variant_file:
            n_records += 1
            alts = list(rec.alts or ())
            where = f"{rec.chrom}:{rec.pos}"
            if unusable := check_alleles(patient, path, where, rec.ref or "", alts):
                scan.unusable.append(Unusable(rec.chrom, rec.pos, rec.ref or "", *unusable))
            order.add(rec.chrom, rec.pos, rec.ref or "", ",".join(alts))
            unseen = unseen or any(a in UNSEEN_ALLELES for a in alts)
            for sample in rec.samples.values():
                named = [a for a in (sample.get("GT") or ()) if a is not None]
                if named and max(named) > len(alts):
                    raise fail(
                        patient,
                        path,
                        f"GT names allele {max(named)} but the record has {len(alts)} ALT alleles",
                        where,
                    )
            if any(is_structural(a) for a in alts):
                end = rec.stop if "END" in rec.info else rec.pos + len(rec.ref or "N") - 1
                scan.note_structural(rec.chrom, rec.pos, rec.ref or "", f"END={end}", alts)
    except (OSError, ValueError) as exc:
        raise fail(
            patient, path, f"truncated or corrupt BCF: unreadable after {n_records} records ({exc})"
        ) from None
    scan.header, scan.records, scan.contigs = (
        str(variant_file.header).splitlines(),
        n_records,
        order.contigs,
    )
    scan.unseen_alleles = unseen
    return scan


def read_bcf(patient: str, path: Path) -> tuple[TextScan, dict[str, int | None]]:
    with open_variant_file(patient, path) as variant_file:
        lengths = {str(name): c.length for name, c in variant_file.header.contigs.items()}
        scan = _scan_bcf(patient, path, variant_file)
    return scan, lengths
