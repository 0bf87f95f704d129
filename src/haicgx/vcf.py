"""Reading a patient's tumour VCF safely: structure checks, the tumour sample, the genome build.

Every problem becomes an `InputError` naming the patient, the file, the record where known, and
what is wrong, so that one bad file fails only its own patient with one line.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pysam

from haicgx.builds import KNOWN_CONTIG_LENGTHS, identify_build, length_fits
from haicgx.errors import InputError
from haicgx.knowledge import normalise_chrom
from haicgx.settings import is_synthetic_reference

MAX_INFO_BYTES = 1_000_000  # a single INFO field this large is a broken or hostile file
# A line is read at most this far: a file of one endless line (a decompression bomb) is refused
# at that point instead of being held in memory whole.
MAX_LINE_CHARS = 32 * 1024 * 1024
_BASES = re.compile(r"^[ACGTN]+$")
_PLAIN_REF = re.compile(r"[ACGTN]+")
_PLAIN_ALTS = re.compile(r"[ACGTN]+(?:,[ACGTN]+)*")
_TUMOR_SAMPLE = re.compile(r"^##tumou?r_sample=(.+)$", re.IGNORECASE)
_NORMAL_SAMPLE = re.compile(r"^##normal_sample=(.+)$", re.IGNORECASE)
# gVCF and bcftools placeholders for "any other allele": not variants, trimmed before evaluation.
UNSEEN_ALLELES = ("<*>", "<NON_REF>")
# Records with a symbolic structural allele (<DEL>, <DUP:TANDEM>, <CN0>...) or a breakend are
# valid VCF that haicgx does not evaluate: left out by `bcftools view -e` with this expression,
# which tests each allele (so <*> and <NON_REF> are spared), and counted.
STRUCTURAL_EXCLUDE = 'ALT~"<[A-MO-Z]" || ALT~"<N[^O]" || ALT~"<NO[^N]" || ALT~"[][]"'
MAX_STRUCTURAL_KEPT = 10_000  # structural records remembered (for the pharmacogene check)
_END = re.compile(r"(?:^|;)END=(\d+)")


def is_structural(allele: str) -> bool:
    """A symbolic allele other than the unseen-allele placeholders, or a breakend.

    >>> [is_structural(a) for a in ("<DEL>", "<*>", "<NON_REF>", "C[chr17:7675088[", "T")]
    [True, False, False, True, False]
    """
    return (
        (allele.startswith("<") and allele not in UNSEEN_ALLELES) or "[" in allele or "]" in allele
    )


@dataclass(frozen=True)
class Structural:
    """A structural-variant record left out of the evaluation."""

    chrom: str
    pos: int
    end: int
    alt: str


_CONTIG = re.compile(r"^##contig=<(.*)>\s*$")
_FIXED_COLUMNS = ["CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]
_UNREADABLE = (EOFError, zlib.error, gzip.BadGzipFile, OSError)


@dataclass
class VcfFacts:
    """What the checks learned about a file, carried into the outputs."""

    tumour_sample: str
    samples: list[str]
    normal_sample: str | None = None  # the matched normal, whose genotypes the PGx calls read
    contig_names: dict[str, str] = field(default_factory=dict)  # file name -> reference name
    build_check: str = ""
    records_read: int = 0
    warnings: list[str] = field(default_factory=list)
    build_confirmed: bool = True  # False: no contig lengths, the build rests on REF checks alone
    header_additions: list[str] = field(default_factory=list)  # declarations the header lacked
    excluded_contigs: list[str] = field(default_factory=list)  # non-primary, not in the reference
    unseen_alleles: bool = False  # records carry <*> or <NON_REF>, to be trimmed
    structural_records: int = 0  # symbolic or breakend records, left out
    structural: list[Structural] = field(default_factory=list)  # the first MAX_STRUCTURAL_KEPT

    @property
    def kept_samples(self) -> list[str]:
        """The samples the annotated file keeps, the tumour first."""
        return [self.tumour_sample] + ([self.normal_sample] if self.normal_sample else [])


def _fail(patient: str, path: Path, problem: str, record: str | None = None) -> InputError:
    return InputError(patient, str(path), _cut(problem), record=record and _cut(record))


def _cut(text: str, keep: int = 1000) -> str:
    """A message may quote the file: a 200 kb REF is cut, so the message stays one readable line
    (the longest of haicgx's own explanations is under half of `keep`)."""
    return text if len(text) <= keep + 100 else f"{text[:keep]}... ({len(text)} characters)"


def sniff_format(path: Path) -> str:
    """`bcf`, `bgzf` (bgzip-compressed VCF), `gzip` (plain gzip VCF) or `text`, from the content.

    The file name is not trusted: a `.vcf.gz` written by `gzip` instead of `bgzip` is common, and
    htslib cannot open it through pysam (it needs BGZF to seek).
    """
    with path.open("rb") as handle:
        head = handle.read(18)
    if head.startswith(b"BCF"):
        return "bcf"  # uncompressed BCF (bcftools -Ou)
    if head[:2] != b"\x1f\x8b":
        return "text"
    # BGZF: a gzip member with the FEXTRA flag and a 'BC' subfield (SAM/BAM spec, section 4.1)
    is_bgzf = len(head) >= 14 and bool(head[3] & 4) and head[12:14] == b"BC"
    try:
        with gzip.open(path, "rb") as handle:
            first = handle.read(3)
    except _UNREADABLE:
        first = b""  # corrupt: the scan names the problem
    if first == b"BCF":
        return "bcf"
    return "bgzf" if is_bgzf else "gzip"


def _open_text(path: Path):
    with path.open("rb") as handle:
        compressed = handle.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if compressed else path.open("rb")


class _RecordOrder:
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
                raise _fail(
                    self.patient,
                    self.path,
                    f"unsorted: {chrom} appears again after other contigs",
                    where,
                )
            self.finished.add(last[0])
            self.here.clear()
        elif last is not None and pos < last[1]:
            raise _fail(self.patient, self.path, f"unsorted: position {pos} after {last[1]}", where)
        elif last is not None and pos > last[1]:
            self.here.clear()
        if (ref, alt) in self.here:
            raise _fail(self.patient, self.path, f"duplicate record {ref}>{alt}", where)
        self.here.add((ref, alt))
        self.last = (chrom, pos)

    @property
    def contigs(self) -> set[str]:
        return self.finished | ({self.last[0]} if self.last else set())


def _lines(patient: str, path: Path) -> Iterator[tuple[int, str]]:
    """Decoded lines without their LF; CRLF, non-UTF-8 bytes and broken compression are errors.

    Decoded in blocks (per-line decoding was a tenth of the scan); when a block is not UTF-8,
    the file is read again line by line to name the first line that is not.
    """
    try:
        with _open_text(path) as raw, io.TextIOWrapper(raw, "utf-8", newline="\n") as handle:
            for lineno, line in enumerate(iter(lambda: handle.readline(MAX_LINE_CHARS), ""), 1):
                if len(line) == MAX_LINE_CHARS and not line.endswith("\n"):
                    raise _fail(
                        patient,
                        path,
                        f"line {lineno} is longer than {MAX_LINE_CHARS} characters "
                        "(a broken or hostile file)",
                    )
                if "\x00" in line:
                    raise _fail(patient, path, f"line {lineno} holds a NUL byte: not VCF text")
                if lineno == 1 and line.startswith("\ufeff"):
                    raise _fail(
                        patient, path, "the file starts with a byte-order mark (BOM): save it "
                        "as UTF-8 without one",
                    )  # fmt: skip
                if line.endswith("\r\n"):
                    raise _fail(
                        patient,
                        path,
                        f"line {lineno} ends in CRLF (Windows line ends); convert to LF",
                    )
                if "\r" in line:
                    raise _fail(
                        patient, path, f"line {lineno} holds a carriage return (CR-only line "
                        "ends, as old Mac files have?); convert to LF",
                    )  # fmt: skip
                yield lineno, line.rstrip("\n")
    except UnicodeDecodeError:
        raise _fail(patient, path, f"line {_first_undecodable(path)} is not UTF-8 text") from None
    except _UNREADABLE as exc:
        raise _fail(patient, path, f"truncated or corrupt compressed file ({exc})") from None


def _first_undecodable(path: Path) -> int | str:
    with _open_text(path) as handle:
        for lineno, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return lineno
    return "?"  # a multi-byte character split across lines cannot happen: LF is one byte


@dataclass
class TextScan:
    """What a line-by-line pass over a text VCF learned."""

    header: list[str]
    records: int
    contigs: set[str]  # contigs the records use
    header_additions: list[str]  # declarations the header lacks, for bcftools annotate -h
    unseen_alleles: bool = False  # some record carries <*> or <NON_REF>
    structural_records: int = 0
    structural: list[Structural] = field(default_factory=list)

    def note_structural(self, chrom: str, pos: int, ref: str, info: str, alts: list[str]) -> None:
        self.structural_records += 1
        if len(self.structural) < MAX_STRUCTURAL_KEPT:
            m = _END.search(info)
            end = int(m[1]) if m else pos + len(ref) - 1
            self.structural.append(Structural(chrom, pos, max(end, pos), ",".join(alts)))


# Reserved VCF keys keep their specification types when a header forgets to declare them, so that
# AD or DP are still read as numbers; any other key is declared as a String (or a Flag).
_RESERVED_FORMAT = {
    "GT": ("1", "String"),
    "AD": ("R", "Integer"),
    "DP": ("1", "Integer"),
    "AF": ("A", "Float"),
    "GQ": ("1", "Integer"),
    "PS": ("1", "Integer"),
    "FT": ("1", "String"),
}
_RESERVED_INFO = {"DP": ("1", "Integer"), "AF": ("A", "Float"), "END": ("1", "Integer")}
_DECLARED = re.compile(r"^##(INFO|FORMAT|FILTER|contig)=<ID=([^,>]+)")
_INFO_KEY = re.compile(r"(?:^|;)([^=;]+)")


class _HeaderUse:
    """INFO keys, FORMAT keys and contigs the records use that the header does not declare.

    htslib reads such a file with warnings, but `bcftools view -s` refuses it ("Undefined tags in
    the header"), which real files (PharmCAT's test VCFs, hand-made panels) would hit, and
    `bcftools csq` (1.24) crashes on a header without any ##contig line.
    """

    def __init__(self) -> None:
        self.declared: dict[str, set[str]] = {
            "INFO": set(),
            "FORMAT": set(),
            "FILTER": {"PASS"},
            "contig": set(),
        }
        self.info: dict[str, bool] = {}  # undeclared key -> ever carried a value
        self.format: set[str] = set()
        self.filters: set[str] = set()
        self.contigs: set[str] = set()
        self._formats_seen: set[str] = set()

    def header_line(self, line: str) -> None:
        if m := _DECLARED.match(line):
            self.declared[m[1]].add(m[2])

    def record(self, fields: list[str]) -> None:
        # With no ##contig line at all, each contig is declared; a partial list is an error.
        if not self.declared["contig"]:
            self.contigs.add(fields[0])
        if fields[6] not in (".", "PASS"):
            self.filters |= set(fields[6].split(";")) - self.declared["FILTER"]
        info = fields[7]
        if info != "." and not self.declared["INFO"].issuperset(_INFO_KEY.findall(info)):
            for item in info.split(";"):
                key, eq, _ = item.partition("=")
                if key and key not in self.declared["INFO"]:
                    self.info[key] = self.info.get(key, False) or bool(eq)
        if len(fields) > 8 and fields[8] != "." and fields[8] not in self._formats_seen:
            self._formats_seen.add(fields[8])
            self.format |= set(fields[8].split(":")) - self.declared["FORMAT"]

    def additions(self) -> list[str]:
        note = 'Description="Not declared by the input file; added by haicgx"'
        lines = [f"##contig=<ID={name}>" for name in sorted(self.contigs)]
        lines += [f"##FILTER=<ID={name},{note}>" for name in sorted(self.filters)]
        for key, valued in sorted(self.info.items()):
            number, kind = _RESERVED_INFO.get(key, (".", "String") if valued else ("0", "Flag"))
            lines.append(f"##INFO=<ID={key},Number={number},Type={kind},{note}>")
        for key in sorted(self.format):
            number, kind = _RESERVED_FORMAT.get(key, (".", "String"))
            lines.append(f"##FORMAT=<ID={key},Number={number},Type={kind},{note}>")
        return lines


def scan_text(patient: str, path: Path) -> TextScan:
    """Check a text VCF line by line: structure, sort order, duplicates, undeclared keys.

    Streams the file (memory stays flat) and stops at the first problem.
    """
    header: list[str] = []
    n_records = 0
    columns = 0
    use = _HeaderUse()
    order = _RecordOrder(patient, path)
    scan = TextScan([], 0, set(), [])
    unseen = False
    for lineno, line in _lines(patient, path):
        if lineno == 1 and not line.startswith("##fileformat=VCF"):
            raise _fail(patient, path, "not a VCF: the first line is not ##fileformat=VCF...")
        if line.startswith("##"):
            if line.startswith(("##INFO=", "##FORMAT=")) and (bad := _malformed_definition(line)):
                raise _fail(patient, path, f"line {lineno}: malformed {bad}")
            header.append(line)
            use.header_line(line)
            continue
        if line.startswith("#"):
            columns = _column_header(patient, path, lineno, line)
            header.append(line)
            continue
        if not line:
            if not columns:
                raise _fail(patient, path, f"line {lineno} is blank, inside the header")
            continue
        if not columns:
            raise _fail(patient, path, f"line {lineno}: data before the #CHROM header line")
        n_records += 1
        fields = _check_record(patient, path, lineno, line, columns, use.declared["contig"])
        use.record(fields)
        order.add(fields[0], int(fields[1]), fields[3], fields[4])
        if columns > 9 and fields[8].startswith("GT"):
            _check_genotypes(patient, path, fields)
        if "<" in fields[4] or "[" in fields[4] or "]" in fields[4]:
            alts = fields[4].split(",")
            unseen = unseen or any(a in UNSEEN_ALLELES for a in alts)
            if any(is_structural(a) for a in alts):
                scan.note_structural(fields[0], int(fields[1]), fields[3], fields[7], alts)
    if not columns:
        raise _fail(patient, path, "no #CHROM header line (empty or not a VCF)")
    scan.header, scan.records, scan.contigs = header, n_records, order.contigs
    scan.header_additions, scan.unseen_alleles = use.additions(), unseen
    return scan


_DEFINITION_TYPES = ("Integer", "Float", "Flag", "Character", "String")
_DEFINITION_NUMBER = re.compile(r"\d+|[ARG.]")
_DEFINITION_FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^,"]*)(?:,|$)')


def _malformed_definition(line: str) -> str | None:
    """What is wrong with an ##INFO or ##FORMAT line (VCF 4.3 section 1.4.2), or None.

    htslib reads a broken definition with a warning or drops it, and the values it declares are
    then read as something else; the file is refused instead, naming the line.
    """
    kind, _, body = line[2:].partition("=")
    what = f"##{kind} header line"
    if not (body.startswith("<") and body.endswith(">")):
        return f"{what}: not enclosed in <...>"
    inner, fields, at = body[1:-1], {}, 0
    while at < len(inner):
        match = _DEFINITION_FIELD.match(inner, at)
        if not match:
            return f"{what}: cannot read it from {inner[at : at + 40]!r}"
        fields.setdefault(match[1], match[2])
        at = match.end()
    if not fields.get("ID"):
        return f"{what}: no ID"
    number, kind_of = fields.get("Number"), fields.get("Type")
    if number is None or not _DEFINITION_NUMBER.fullmatch(number):
        return f"{what} {fields['ID']}: Number {number!r} is not a count, A, R, G or ."
    if kind_of not in _DEFINITION_TYPES:
        return (
            f"{what} {fields['ID']}: Type {kind_of!r} is not one of {', '.join(_DEFINITION_TYPES)}"
        )
    return None


def _column_header(patient: str, path: Path, lineno: int, line: str) -> int:
    """Check the #CHROM line; return its number of columns."""
    fields = line[1:].split("\t")
    if fields[:8] != _FIXED_COLUMNS:
        raise _fail(patient, path, f"line {lineno}: malformed #CHROM header line")
    samples = fields[9:]
    if len(set(samples)) != len(samples):
        twice = sorted({s for s in samples if samples.count(s) > 1})
        raise _fail(patient, path, f"sample name {twice[0]!r} appears twice in the #CHROM line")
    return len(fields)


def _check_record(
    patient: str, path: Path, lineno: int, line: str, columns: int, contigs: set[str]
) -> list[str]:
    """Check one data line; return its fields."""
    fields = line.split("\t")
    if _plainly_valid(fields, columns, contigs):
        return fields
    where = f"{fields[0]}:{fields[1]}" if len(fields) > 1 else None
    if len(fields) != columns:
        raise _fail(
            patient,
            path,
            f"line {lineno}: {len(fields)} columns where the header has {columns}",
            where,
        )
    chrom, pos, _vid, ref, alt, qual, _filter, info = fields[:8]
    if not (pos.isascii() and pos.isdigit()) or int(pos) < 1:
        raise _fail(
            patient, path, f"line {lineno}: POS {pos[:40]!r} is not a positive integer", where
        )
    if qual != "." and not _is_number(qual):
        raise _fail(patient, path, f"QUAL {qual[:40]!r} is not a number", where)
    if len(fields) > 9:
        _check_sample_columns(patient, path, where, fields)
    if contigs and chrom not in contigs:
        other = chrom[3:] if chrom.startswith("chr") else f"chr{chrom}"
        mixed = f" (the header names {other!r}: mixed naming)" if other in contigs else ""
        raise _fail(patient, path, f"contig {chrom!r} is not declared in the header{mixed}", where)
    _check_alleles(patient, path, where, ref, alt.split(","))
    if len(info) > MAX_INFO_BYTES:
        raise _fail(
            patient, path, f"INFO field of {len(info)} bytes (limit {MAX_INFO_BYTES})", where
        )
    return fields


_ALLELE_INDEX = re.compile(r"\d+")


def _check_genotypes(patient: str, path: Path, fields: list[str]) -> None:
    """A GT may name only the record's alleles: bcftools would turn `3/7` on a one-ALT record
    into a missing genotype without a word, and a placeholder read as a call misleads."""
    alleles = fields[4].count(",") + (1 if fields[4] != "." else 0)
    for value in fields[9:]:
        gt = value.split(":", 1)[0]
        if len(gt) == 3 and gt[0] <= "1" and gt[2] <= "1":
            continue  # 0/0, 0/1, 1|1, ./.: the common calls, settled at once
        named = [int(i) for i in _ALLELE_INDEX.findall(gt)]
        if named and max(named) > alleles:
            raise _fail(
                patient,
                path,
                f"GT {gt[:20]} names allele {max(named)} but the record has {alleles} ALT "
                f"allele{'s' if alleles != 1 else ''}",
                f"{fields[0]}:{fields[1]}",
            )


def _plainly_valid(fields: list[str], columns: int, contigs: set[str]) -> bool:
    """A quick test that a record passes every check of `_check_record`: true only when it
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
            raise _fail(
                patient,
                path,
                f"column {column} has {value.count(':') + 1} values for {keys} FORMAT keys",
                where,
            )


def _check_alleles(patient: str, path: Path, where: str, ref: str, alts: list[str]) -> None:
    """REF and ALT must be plain sequence: structural and placeholder alleles are refused."""
    if not _BASES.match(ref):
        if ref.upper() != ref:
            raise _fail(patient, path, f"lowercase REF {ref!r}", where)
        raise _fail(patient, path, f"REF {ref!r} has characters other than A, C, G, T, N", where)
    if set(ref) == {"N"}:
        raise _fail(patient, path, "REF is N only: no reference base to check", where)
    for allele in alts:
        if allele in UNSEEN_ALLELES or is_structural(allele):
            continue  # trimmed, or left out with a warning, before evaluation
        if allele == "*":
            # Never advise deleting the record: at a pharmacogene it may carry a germline allele.
            raise _fail(
                patient,
                path,
                "spanning-deletion allele '*' on this record: split the file with bcftools norm "
                "-m -any and exclude only the '*' alleles (bcftools view -e 'ALT=\"*\"'), which "
                "keeps every real allele of the record",
                where,
            )
        if allele == ref:
            raise _fail(patient, path, f"ALT {allele} equals REF: not a variant", where)
        if allele != "." and not _BASES.match(allele):
            raise _fail(
                patient, path, f"ALT {allele!r} has characters other than A, C, G, T, N", where
            )


def open_quietly(path: Path) -> pysam.VariantFile:
    """htslib's own complaints go to stderr; the caller turns failures into one line instead."""
    previous = pysam.set_verbosity(0)
    try:
        return pysam.VariantFile(str(path))
    finally:
        pysam.set_verbosity(previous)


def open_variant_file(patient: str, path: Path) -> pysam.VariantFile:
    """Open with htslib, turning its failures into one line."""
    _check_exists(patient, path)
    if sniff_format(path) == "gzip":
        raise _fail(
            patient,
            path,
            "compressed with plain gzip, not bgzip: htslib needs BGZF "
            "(recompress with `gunzip -c f.vcf.gz | bgzip > g.vcf.gz`)",
        )
    try:
        return open_quietly(path)
    except (OSError, ValueError, NotImplementedError) as exc:
        if "EOF marker" in str(exc) or "truncated" in str(exc):
            raise _fail(patient, path, f"truncated or corrupt BCF ({exc})") from None
        raise _fail(patient, path, f"not a readable VCF/BCF ({exc})") from None


def _check_exists(patient: str, path: Path) -> None:
    if not path.exists():
        raise _fail(patient, path, "file not found")
    if path.is_dir():
        raise _fail(patient, path, "a folder, not a VCF file")
    if not path.is_file():  # a FIFO or a device would block or never end
        raise _fail(patient, path, "not a regular file (a pipe or a device?): give the VCF itself")
    if not os.access(path, os.R_OK):
        raise _fail(patient, path, "cannot be read: permission denied")
    if path.stat().st_size == 0:
        raise _fail(patient, path, "empty file")


def choose_sample(
    patient: str, path: Path, samples: list[str], header_lines: list[str], wanted: str | None
) -> str:
    """The tumour sample: the sheet's choice, else a ##tumor_sample= line, else the only sample."""
    if wanted:
        if wanted not in samples:
            raise _fail(
                patient,
                path,
                f"tumour_sample {wanted!r} is not in the file "
                f"(samples: {', '.join(samples) or 'none'})",
            )
        return wanted
    for line in header_lines:
        if m := _TUMOR_SAMPLE.match(line):
            name = m[1].strip()
            if name not in samples:
                raise _fail(patient, path, f"##tumor_sample={name} names no sample of the file")
            return name
    if len(samples) == 1:
        return samples[0]
    if not samples:
        raise _fail(patient, path, "no sample column: a tumour sample with genotypes is needed")
    raise _fail(
        patient,
        path,
        f"{len(samples)} samples ({', '.join(samples)}) and no tumour_sample in the sheet or "
        "##tumor_sample= header line",
    )


def choose_normal(
    patient: str,
    path: Path,
    samples: list[str],
    header_lines: list[str],
    wanted: str | None,
    tumour: str,
) -> str | None:
    """The matched normal: the sheet's choice, else a ##normal_sample= line, else none."""
    name, said = wanted, "normal_sample"
    if not name:
        line = next((m for ln in header_lines if (m := _NORMAL_SAMPLE.match(ln))), None)
        name, said = (line[1].strip(), "##normal_sample=") if line else (None, "")
    if not name:
        return None
    if name not in samples:
        raise _fail(
            patient,
            path,
            f"{said} {name!r} is not a sample of the file "
            f"(samples: {', '.join(samples) or 'none'})",
        )
    if name == tumour:
        raise _fail(patient, path, f"{said} {name!r} is also the tumour sample")
    return name


def _unused_samples_warning(samples: list[str], tumour: str, normal: str | None) -> list[str]:
    others = [s for s in samples if s not in (tumour, normal)]
    if not others or normal is not None:
        return [f"samples not read: {', '.join(others)}"] if others else []
    return [
        f"the file has other samples ({', '.join(others)}) and no matched normal was named: "
        "germline pharmacogenes were read from the tumour sample; if one of them is the "
        "matched normal, name it in the sheet's normal_sample column"
    ]


def fasta_contigs(fasta: Path) -> dict[str, int]:
    """Contig lengths from a FASTA's .fai index."""
    lengths: dict[str, int] = {}
    with open(f"{fasta}.fai", encoding="utf-8") as handle:
        for line in handle:
            name, length = line.split("\t")[:2]
            lengths[name] = int(length)
    return lengths


def header_samples(header_lines: list[str]) -> list[str]:
    """Sample names from the #CHROM line."""
    for line in reversed(header_lines):
        if line.startswith("#CHROM"):
            return line.split("\t")[9:]
    return []


def header_contig_lengths(header_lines: list[str]) -> dict[str, int | None]:
    """Contig name -> declared length (None when the ##contig line has none).

    >>> header_contig_lengths(["##contig=<ID=chr1,length=248956422>", "##contig=<ID=chrM>"])
    {'chr1': 248956422, 'chrM': None}
    """
    lengths: dict[str, int | None] = {}
    for line in header_lines:
        if m := _CONTIG.match(line):
            fields = dict(
                item.split("=", 1) for item in re.findall(r"[^,=]+=[^,]*", m[1]) if "=" in item
            )
            name = fields.get("ID")
            length = fields.get("length", "")
            if name:
                lengths[name] = int(length) if length.isdigit() else None
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
        raise _fail(
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
            raise _fail(patient, path, f"contig {name!r} is not in {target_label}")
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
            raise _fail(
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


def _scan_bcf(patient: str, path: Path, variant_file: pysam.VariantFile) -> TextScan:
    """The record checks of `scan_text` for a BCF, through htslib."""
    n_records = 0
    order = _RecordOrder(patient, path)
    scan = TextScan([], 0, set(), [])
    unseen = False
    try:
        for rec in variant_file:
            n_records += 1
            alts = list(rec.alts or ())
            where = f"{rec.chrom}:{rec.pos}"
            _check_alleles(patient, path, where, rec.ref or "", alts)
            order.add(rec.chrom, rec.pos, rec.ref or "", ",".join(alts))
            unseen = unseen or any(a in UNSEEN_ALLELES for a in alts)
            for sample in rec.samples.values():
                named = [a for a in (sample.get("GT") or ()) if a is not None]
                if named and max(named) > len(alts):
                    raise _fail(
                        patient,
                        path,
                        f"GT names allele {max(named)} but the record has {len(alts)} ALT alleles",
                        where,
                    )
            if any(is_structural(a) for a in alts):
                end = rec.stop if "END" in rec.info else rec.pos + len(rec.ref or "N") - 1
                scan.note_structural(rec.chrom, rec.pos, rec.ref or "", f"END={end}", alts)
    except (OSError, ValueError) as exc:
        raise _fail(
            patient, path, f"truncated or corrupt BCF: unreadable after {n_records} records ({exc})"
        ) from None
    scan.header, scan.records, scan.contigs = (
        str(variant_file.header).splitlines(),
        n_records,
        order.contigs,
    )
    scan.unseen_alleles = unseen
    return scan


def _read_bcf(patient: str, path: Path) -> tuple[TextScan, dict[str, int | None]]:
    with open_variant_file(patient, path) as variant_file:
        lengths = {name: c.length for name, c in variant_file.header.contigs.items()}
        scan = _scan_bcf(patient, path, variant_file)
    return scan, lengths


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
    raise _fail(
        patient,
        path,
        f"reference.fasta ({fasta}) is the SYNTHETIC demo reference, for the demo's own VCFs "
        f"only (their header has '{DEMO_FILE_SOURCE}'): set reference.fasta and reference.gff3 "
        "to your genome and its Ensembl GFF3 (and leave config/demo.yaml out), or set no "
        "reference (reference.fasta: null) for VCFs already annotated by VEP or SnpEff "
        "(annotation: auto) or for annotation: none",
    )


def _early_header(path: Path) -> list[str] | None:
    """The header lines when they read as a VCF header at once; None when not (the full checks
    then name the problem)."""
    try:
        lines = _header_lines(path)
    except Exception:
        return None
    whole = lines and lines[0].startswith("##fileformat=VCF") and lines[-1].startswith("#CHROM")
    return lines if whole else None


def inspect_vcf(
    patient: str,
    path: Path,
    *,
    tumour_sample: str | None,
    normal_sample: str | None = None,
    build: str,
    fasta: Path | None,
) -> VcfFacts:
    """Run every structural check on a patient's VCF/BCF and learn what the later stages need.

    Text VCFs (plain, bgzip or gzip) are checked line by line in Python, BCFs through htslib.
    Under the synthetic demo reference, a file that is not a demo file is refused from its header,
    before the records are read.
    """
    _check_exists(patient, path)
    early = _early_header(path) if is_synthetic_reference(fasta) else None
    if early is not None:
        refuse_synthetic_reference(patient, path, early, fasta)
    if sniff_format(path) == "bcf":
        scan, lengths = _read_bcf(patient, path)
    else:
        scan = scan_text(patient, path)
        lengths = header_contig_lengths(scan.header)
    header_lines, n_records, record_contigs = scan.header, scan.records, scan.contigs
    if early is None:
        refuse_synthetic_reference(patient, path, header_lines, fasta)
    additions = scan.header_additions
    if n_records == 0:
        # A tumour VCF without a single call is far more often a failed upstream step than a
        # tumour without variants; ranking on it would read as "nothing actionable found".
        raise _fail(patient, path, "no variant records: the file has a header only")
    if scan.structural_records == n_records:
        # As a header-only file: likely the wrong file (a structural-variant caller's output),
        # and a ranking on no small variants would read as "nothing actionable found".
        raise _fail(
            patient,
            path,
            f"structural-variant records only ({n_records}): haicgx needs the small-variant VCF "
            "(SNVs and indels) of this tumour",
        )
    samples = header_samples(header_lines)
    sample = choose_sample(patient, path, samples, header_lines, tumour_sample)
    normal = choose_normal(patient, path, samples, header_lines, normal_sample, sample)
    checked = check_build(
        patient,
        path,
        lengths,
        header_lines,
        build=build,
        fasta=fasta,
        record_contigs=record_contigs,
    )
    warnings = list(checked.warnings) + _unused_samples_warning(samples, sample, normal)
    if additions:
        warnings.append(_additions_warning(additions))
    if scan.unseen_alleles:
        warnings.append(
            "gVCF/bcftools placeholder alleles (<*>, <NON_REF>) were trimmed; each record's "
            "real alleles were kept, and reference blocks count as reference calls"
        )
    if scan.structural_records:
        warnings.append(
            f"{scan.structural_records} structural-variant record(s) (symbolic ALT or breakend) "
            "were left out: haicgx evaluates small variants only; have them reviewed separately"
        )
    return VcfFacts(
        tumour_sample=sample,
        samples=samples,
        normal_sample=normal,
        unseen_alleles=scan.unseen_alleles,
        structural_records=scan.structural_records,
        structural=scan.structural,
        contig_names=checked.renames,
        build_check=checked.sentence,
        records_read=n_records,
        warnings=warnings,
        build_confirmed=checked.confirmed,
        header_additions=additions,
        excluded_contigs=checked.excluded,
    )


def inspect_header(
    patient: str,
    path: Path,
    *,
    tumour_sample: str | None,
    normal_sample: str | None = None,
    build: str,
    fasta: Path | None,
) -> VcfFacts | None:
    """The facts `inspect_vcf` will give for a file whose records hold no surprise, from its
    header alone; None when the header cannot say (no ##contig lines: the records name them).

    haicgx.analysis starts bcftools on these while the full checks run, and compares them with
    the full facts afterwards. A problem found here is left for the full checks to report, in
    their order.
    """
    header_lines = _header_lines(path)
    refuse_synthetic_reference(patient, path, header_lines, fasta)
    lengths = header_contig_lengths(header_lines)
    if not lengths or not any(line.startswith("#CHROM") for line in header_lines[-1:]):
        return None
    samples = header_samples(header_lines)
    sample = choose_sample(patient, path, samples, header_lines, tumour_sample)
    normal = choose_normal(patient, path, samples, header_lines, normal_sample, sample)
    checked = check_build(
        patient, path, lengths, header_lines, build=build, fasta=fasta, record_contigs=set()
    )
    return VcfFacts(
        tumour_sample=sample,
        samples=samples,
        normal_sample=normal,
        contig_names=checked.renames,
        build_check=checked.sentence,
        records_read=0,
        warnings=list(checked.warnings),
        build_confirmed=checked.confirmed,
    )


def same_plan(guess: VcfFacts, facts: VcfFacts) -> bool:
    """Whether bcftools run on the header's facts did what the full facts ask for."""
    return (
        guess.tumour_sample == facts.tumour_sample
        and guess.normal_sample == facts.normal_sample
        and not facts.unseen_alleles
        and not facts.structural_records
        and guess.contig_names == facts.contig_names
        and guess.build_confirmed == facts.build_confirmed
        and not facts.header_additions
        and not facts.excluded_contigs
    )


def _header_lines(path: Path) -> list[str]:
    """The header lines of a text VCF or a BCF, up to and including #CHROM."""
    if sniff_format(path) == "bcf":
        with open_quietly(path) as variant_file:
            return str(variant_file.header).splitlines()
    lines = []
    with _open_text(path) as raw, io.TextIOWrapper(raw, "utf-8", newline="\n") as handle:
        for line in handle:
            lines.append(line.rstrip("\n"))
            if not line.startswith("##"):
                break
    return lines


def _additions_warning(additions: list[str]) -> str:
    names = [re.sub(r"^##(\w+)=<ID=([^,>]+).*$", r"\1 \2", line) for line in additions]
    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    return (
        f"the header does not declare what the records use ({shown}); haicgx declared them "
        "(reserved keys with their VCF types, others as String or Flag) so that bcftools reads "
        "the file"
    )
