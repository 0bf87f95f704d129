"""The header's declarations: ##INFO/##FORMAT definitions checked, the #CHROM line, what the
records use that the header does not declare, and the samples and contig lengths it names."""

from __future__ import annotations

import re
from pathlib import Path

from haicgx.errors import shorten
from haicgx.vcf.facts import fail

_CONTIG = re.compile(r"^##contig=<(.*)>\s*$")
_FIXED_COLUMNS = ["CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]


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


def _all_declared(keys: set[str]) -> re.Pattern[str]:
    """A pattern that an INFO column matches only when each of its items is a declared key
    (with or without a value); a column it does not match gets the key-by-key test."""
    if not keys:
        return re.compile(r"(?!)")  # matches nothing
    key = "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))
    item = f"(?:{key})(?:=[^;]*)?"
    return re.compile(f"{item}(?:;{item})*")


class HeaderUse:
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
        self._filters_seen: set[str] = {".", "PASS"}
        self._declared_info: re.Pattern[str] | None = None  # made at the first record

    def header_line(self, line: str) -> None:
        if m := _DECLARED.match(line):
            self.declared[m[1]].add(m[2])

    def record(self, fields: list[str]) -> None:
        # With no ##contig line at all, each contig is declared; a partial list is an error.
        if not self.declared["contig"]:
            self.contigs.add(fields[0])
        if fields[6] not in self._filters_seen:  # a file has few FILTER combinations
            self._filters_seen.add(fields[6])
            self.filters |= set(fields[6].split(";")) - self.declared["FILTER"]
        info = fields[7]
        if self._declared_info is None:
            self._declared_info = _all_declared(self.declared["INFO"])
        # One match per record; the key-by-key look only for a column it does not vouch for.
        if info != "." and self._declared_info.fullmatch(info) is None:
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


# The VCF specification's Number and Type values of an INFO or FORMAT definition.
_NUMBER = re.compile(r"^(?:\d+|[ARG.])$")
_TYPES = {
    "INFO": frozenset({"Integer", "Float", "Flag", "Character", "String"}),
    "FORMAT": frozenset({"Integer", "Float", "Character", "String"}),
}
_DEFINITION_FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^,>]*)')


def check_definition(patient: str, path: Path, lineno: int, line: str) -> None:
    """An ##INFO or ##FORMAT line must be a whole definition with ID, Number and Type: htslib
    guesses past a broken one (an unclosed `<` swallows the header lines after it; an unknown
    Type becomes String), and a value read under a guessed type is not what the caller wrote."""
    kind, _, body = line[2:].partition("=")
    if not (body.startswith("<") and body.endswith(">")):
        raise fail(patient, path, f"line {lineno}: malformed ##{kind} line (not enclosed in <...>)")
    fields = dict(_DEFINITION_FIELD.findall(body[1:-1]))
    number, kind_type = fields.get("Number", "(none)"), fields.get("Type", "(none)")
    problem = None
    if not fields.get("ID"):
        problem = "no ID"
    elif not _NUMBER.match(number):
        problem = f"Number {shorten(number, 20)!r} is not an integer, A, R, G or ."
    elif kind_type not in _TYPES[kind]:
        problem = f"Type {shorten(kind_type, 20)!r} is not one of {', '.join(sorted(_TYPES[kind]))}"
    if problem:
        raise fail(patient, path, f"line {lineno}: malformed ##{kind} definition: {problem}")


def column_header(patient: str, path: Path, lineno: int, line: str) -> int:
    """Check the #CHROM line; return its number of columns."""
    fields = line[1:].split("\t")
    if fields[:8] != _FIXED_COLUMNS:
        raise fail(patient, path, f"line {lineno}: malformed #CHROM header line")
    samples = fields[9:]
    if len(set(samples)) != len(samples):
        twice = sorted({s for s in samples if samples.count(s) > 1})
        raise fail(patient, path, f"sample name {twice[0]!r} appears twice in the #CHROM line")
    return len(fields)


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


def additions_warning(additions: list[str]) -> str:
    names = [re.sub(r"^##(\w+)=<ID=([^,>]+).*$", r"\1 \2", line) for line in additions]
    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    return (
        f"the header does not declare what the records use ({shown}); haicgx declared them "
        "(reserved keys with their VCF types, others as String or Flag) so that bcftools reads "
        "the file"
    )
