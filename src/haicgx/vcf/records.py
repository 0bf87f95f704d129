"""The checks of one record (columns, POS, QUAL, alleles, genotypes, sample columns), the sort
and duplicate checks over the stream, and the limits on records left out as unusable."""

from __future__ import annotations

import re
from pathlib import Path

from haicgx.errors import shorten
from haicgx.vcf.facts import UNSEEN_ALLELES, TextScan, Unusable, fail, is_structural

MAX_INFO_BYTES = 1_000_000  # a single INFO field this large is a broken or hostile file
_BASES = re.compile(r"^[ACGTN]+$")
_PLAIN_REF = re.compile(r"[ACGTN]+")
_PLAIN_ALTS = re.compile(r"[ACGTN]+(?:,[ACGTN]+)*")
# A record whose alleles cannot be evaluated (ALT equal to REF, a character that is not a base) is
# left out with a QC warning when it is one of a few: callers write such a record now and then
# (VarScan 2's 'A/T'). More than either limit and the file is refused as malformed: that many
# suggests a broken or mis-converted file whose other records cannot be trusted either.
MAX_UNUSABLE_RECORDS = 10
MAX_UNUSABLE_PERCENT = 1
# Alleles that can be written inside a bcftools expression's double quotes.
_EXPRESSIBLE = re.compile(r"^[!#-\[\]-~]+$")


class RecordOrder:
    """Sortedness and duplicate checks over a stream of records, in constant memory per position."""

    def __init__(self, patient: str, path: Path) -> None:
        self.patient, self.path = patient, path
        self.finished: set[str] = set()
        self.last: tuple[str, int] | None = None
        self.here: set[tuple[str, str]] = set()  # (REF, ALT) already seen at the last position

    def add(self, chrom: str, pos: int, ref: str, alt: str) -> None:
        last = self.last
        if last is not None and chrom == last[0] and pos > last[1]:  # the common case
            self.here.clear()
            self.here.add((ref, alt))
            self.last = (chrom, pos)
            return
        where = f"{chrom}:{pos}"
        if last is not None and chrom != last[0]:
            if chrom in self.finished:
                raise fail(
                    self.patient,
                    self.path,
                    f"unsorted: {chrom} appears again after other contigs",
                    where,
                )
            self.finished.add(last[0])
            self.here.clear()
        elif last is not None and pos < last[1]:
            raise fail(self.patient, self.path, f"unsorted: position {pos} after {last[1]}", where)
        elif last is not None and pos > last[1]:
            self.here.clear()
        if (ref, alt) in self.here:
            raise fail(self.patient, self.path, f"duplicate record {ref}>{alt}", where)
        self.here.add((ref, alt))
        self.last = (chrom, pos)

    @property
    def contigs(self) -> set[str]:
        return self.finished | ({self.last[0]} if self.last else set())


def _chr_twin(name: str) -> str:
    return name[3:] if name.startswith("chr") else f"chr{name}"


def check_one_naming(patient: str, path: Path, contigs: set[str]) -> None:
    """`12` and `chr12` in one file are two contigs to htslib: refuse the mix by name."""
    for name in sorted(contigs):
        if name.startswith("chr") and _chr_twin(name) in contigs:
            raise fail(
                patient,
                path,
                f"the records mix contig naming ({_chr_twin(name)!r} and {name!r}): use one "
                "naming throughout the file",
            )


def check_record(
    patient: str,
    path: Path,
    lineno: int,
    line: str,
    columns: int,
    contigs: set[str],
    scan: TextScan | None = None,
) -> list[str]:
    """Check one data line; return its fields. A record whose alleles cannot be evaluated is
    noted in `scan` (to be left out), or refused when there is no scan to note it in."""
    fields = line.split("\t")
    if _plainly_valid(fields, columns, contigs):
        return fields
    where = f"{fields[0]}:{fields[1]}" if len(fields) > 1 else None
    if len(fields) != columns:
        raise fail(
            patient,
            path,
            f"line {lineno}: {len(fields)} columns where the header has {columns}",
            where,
        )
    where = f"{fields[0]}:{fields[1]}"  # the column count checked: both fields are there
    chrom, pos, _vid, ref, alt, qual, _filter, info = fields[:8]
    if not (pos.isascii() and pos.isdigit()) or int(pos) < 1:
        raise fail(
            patient, path, f"line {lineno}: POS {pos[:40]!r} is not a positive integer", where
        )
    if qual != "." and not _is_number(qual):
        raise fail(patient, path, f"QUAL {qual[:40]!r} is not a number", where)
    if len(fields) > 9:
        _check_sample_columns(patient, path, where, fields)
    if contigs and chrom not in contigs:
        twin = (
            f", which declares {_chr_twin(chrom)!r}: the file mixes contig naming"
            if _chr_twin(chrom) in contigs
            else ""
        )
        raise fail(
            patient, path, f"contig {shorten(chrom)!r} is not declared in the header{twin}", where
        )
    if unusable := check_alleles(patient, path, where, ref, alt.split(",")):
        if scan is None:
            raise fail(patient, path, unusable[1], where)
        scan.unusable.append(Unusable(chrom, int(pos), ref, unusable[0], unusable[1]))
    if len(info) > MAX_INFO_BYTES:
        raise fail(
            patient, path, f"INFO field of {len(info)} bytes (limit {MAX_INFO_BYTES})", where
        )
    return fields


_ALLELE_INDEX = re.compile(r"\d+")


def check_genotypes(patient: str, path: Path, fields: list[str]) -> None:
    """A GT may name only the record's alleles: bcftools would turn `3/7` on a one-ALT record
    into a missing genotype without a word, and a placeholder read as a call misleads."""
    alleles = fields[4].count(",") + (1 if fields[4] != "." else 0)
    for value in fields[9:]:
        gt = value.split(":", 1)[0]
        if len(gt) == 3 and gt[0] <= "1" and gt[2] <= "1":
            continue  # 0/0, 0/1, 1|1, ./.: the common calls, settled at once
        named = [int(i) for i in _ALLELE_INDEX.findall(gt)]
        if named and max(named) > alleles:
            raise fail(
                patient,
                path,
                f"GT {gt[:20]} names allele {max(named)} but the record has {alleles} ALT "
                f"allele{'s' if alleles != 1 else ''}",
                f"{fields[0]}:{fields[1]}",
            )


def _plainly_valid(fields: list[str], columns: int, contigs: set[str]) -> bool:
    """A quick test that a record passes every check of `check_record`: true only when it
    does; a record it cannot vouch for gets the full checks, which name the problem."""
    if len(fields) != columns:
        return False
    chrom, pos, _vid, ref, alt, qual = fields[:6]
    return (
        pos.isascii()
        and pos.isdigit()
        and pos[0] != "0"
        and (qual == "." or _is_number(qual))
        and (not contigs or chrom in contigs)
        and _PLAIN_REF.fullmatch(ref) is not None
        and ref.strip("N") != ""
        and _PLAIN_ALTS.fullmatch(alt) is not None
        and (alt != ref if "," not in alt else ref not in alt.split(","))
        and len(fields[7]) <= MAX_INFO_BYTES
        and (columns < 10 or _sample_columns_fit(fields))
    )


def _sample_columns_fit(fields: list[str]) -> bool:
    keys = fields[8].count(":")
    return all(value.count(":") <= keys for value in fields[9:])


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_sample_columns(patient: str, path: Path, where: str, fields: list[str]) -> None:
    """A sample column may drop trailing FORMAT values, never hold more (htslib stops there)."""
    keys = fields[8].count(":") + 1
    for column, value in enumerate(fields[9:], start=10):
        if value.count(":") + 1 > keys:
            raise fail(
                patient,
                path,
                f"column {column} has {value.count(':') + 1} values for {keys} FORMAT keys",
                where,
            )


def check_alleles(
    patient: str, path: Path, where: str, ref: str, alts: list[str]
) -> tuple[str | None, str] | None:
    """None when REF and every ALT are plain sequence, a placeholder or structural; else why the
    record cannot be evaluated, as (the ALT at fault or None for REF, the reason). A `*` allele, or
    an allele no bcftools expression can name, fails the file."""
    if "*" in alts:
        # Never advise deleting the record: at a pharmacogene it may carry a germline allele.
        raise fail(
            patient,
            path,
            "spanning-deletion allele '*' on this record: split the file with bcftools norm "
            "-m -any and exclude only the '*' alleles (bcftools view -e 'ALT=\"*\"'), which "
            "keeps every real allele of the record",
            where,
        )
    unusable = _unusable_alleles(ref, alts)
    if unusable is None:
        return None
    alt, reason = unusable
    if not all(_EXPRESSIBLE.match(text) for text in (where, ref, alt or "N")):
        raise fail(patient, path, reason, where)  # cannot be left out precisely: refused
    return unusable


def _unusable_alleles(ref: str, alts: list[str]) -> tuple[str | None, str] | None:
    """(the ALT at fault, or None when REF is; the reason), or None when the alleles are usable.

    >>> _unusable_alleles("G", ["A/T"])
    ('A/T', "ALT 'A/T' has characters other than A, C, G, T, N")
    >>> _unusable_alleles("C", ["T", "C"])
    ('C', 'ALT C equals REF: not a variant')
    >>> _unusable_alleles("C", ["t"])
    ('t', "lowercase ALT 't'")
    >>> _unusable_alleles("c", ["T"]) is None, _unusable_alleles("C", ["<NON_REF>", "."]) is None
    (False, True)
    """
    if not _BASES.match(ref):
        if ref.upper() != ref:
            return None, f"lowercase REF {shorten(ref)!r}"
        return None, f"REF {shorten(ref)!r} has characters other than A, C, G, T, N"
    if set(ref) == {"N"}:
        return None, "REF is N only: no reference base to check"
    for allele in alts:
        if allele in UNSEEN_ALLELES or is_structural(allele):
            continue  # trimmed, or left out with a warning, before evaluation
        if allele == ref:
            return allele, f"ALT {shorten(allele)} equals REF: not a variant"
        if allele != "." and not _BASES.match(allele):
            if _BASES.match(allele.upper()):
                return allele, f"lowercase ALT {shorten(allele)!r}"
            return allele, f"ALT {shorten(allele)!r} has characters other than A, C, G, T, N"
    return None


def refuse_many_unusable(patient: str, path: Path, unusable: list[Unusable], records: int) -> None:
    """More unusable records than haicgx leaves out: the file is malformed, named by the first."""
    if (
        len(unusable) <= MAX_UNUSABLE_RECORDS
        and len(unusable) * 100 <= records * MAX_UNUSABLE_PERCENT
    ):
        return
    first = unusable[0]
    raise fail(
        patient,
        path,
        f"{first.reason}; {len(unusable)} of {records} records unusable, more than the "
        f"{MAX_UNUSABLE_RECORDS} or {MAX_UNUSABLE_PERCENT}% haicgx leaves out: a malformed file?",
        first.where,
    )


def unusable_warning(unusable: list[Unusable]) -> str:
    """The QC warning for records left out because their alleles cannot be evaluated."""
    shown = "; ".join(f"{u.where} {u.reason}" for u in unusable[:3])
    more = f"; and {len(unusable) - 3} more" if len(unusable) > 3 else ""
    return (
        f"{len(unusable)} record(s) whose alleles cannot be evaluated were left out "
        f"({shown}{more}): have them checked in the caller's output; a file with more than "
        f"{MAX_UNUSABLE_RECORDS} such records or {MAX_UNUSABLE_PERCENT}% of its records is refused"
    )
