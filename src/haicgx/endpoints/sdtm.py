"""SDTM domain files: which file holds each domain, and reading them, validated row by row.

A folder holds one file per domain, named by the domain code: ``dm.csv`` or ``dm.tsv``. Files
named by the code followed by ``_`` or ``.`` (``tu_onco_recist.csv``, ``dm.2024.csv``) are taken
too, as the CDISC pilot names them. An exact name wins over prefixed ones; two candidates of
equal standing are refused, naming both, except for the lesion pair TU/TR: lesions and their
measurements are read as a pair, so among several TU files the one named like the single TR
file (the same text after the code) is taken, and said (and the other way round).
``--domain CODE=FILE`` settles any choice by hand.

Each row is checked against ``src/haicgx/schemas/sdtm_<domain>.schema.yaml`` (JSON Schema), and
dates against the calendar, with the same one-line errors as the patient sheet: the file, the
line and subject, the column and the problem. An empty cell or ``NA`` is a missing value.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from haicgx.endpoints.dates import PartialDate, parse_dtc
from haicgx.errors import ConfigError, HaicgxError
from haicgx.paths import load_schema

# The domains haicgx endpoints reads, in the order they are reported.
DOMAINS: tuple[str, ...] = ("DM", "DS", "TU", "TR", "RS", "AE", "EX")
# What each domain is needed for, said when it is absent.
NEEDED_FOR: dict[str, str] = {
    "DM": "every endpoint (subjects, start dates, deaths)",
    "DS": "deaths and last contact recorded as disposition events",
    "TU": "RECIST 1.1 from measurements (lesion roles and sites)",
    "TR": "RECIST 1.1 from measurements",
    "RS": "per-visit responses recorded by the site",
    "AE": "the adverse event tables and ADAE",
    "EX": "the safety population (subjects dosed) and last contact",
}
SUFFIXES: tuple[str, ...] = (".csv", ".tsv")
MISSING: frozenset[str] = frozenset({"", "NA"})
# Partner domains read as a pair (lesions and their measurements).
PAIRED: dict[str, str] = {"TU": "TR", "TR": "TU"}


@dataclass(frozen=True)
class Row:
    """One data row: its values (missing ones left out) and its line in the file."""

    values: dict[str, str]
    line: int

    def get(self, column: str) -> str | None:
        return self.values.get(column)

    @property
    def subject(self) -> str:
        return self.values.get("USUBJID", "")


@dataclass(frozen=True)
class Domain:
    """The validated rows of one domain file."""

    code: str
    path: Path
    columns: tuple[str, ...]
    rows: tuple[Row, ...]

    @property
    def file(self) -> str:
        return str(self.path)

    def has_column(self, column: str) -> bool:
        return column in self.columns

    def by_subject(self) -> dict[str, list[Row]]:
        groups: dict[str, list[Row]] = {}
        for row in self.rows:
            groups.setdefault(row.subject, []).append(row)
        return groups

    def where(self, row: Row, column: str | None = None) -> str:
        """``line 12 (01-701-1015), column AESTDTC`` for a message."""
        text = f"line {row.line} ({row.subject or 'no USUBJID'})"
        return f"{text}, column {column}" if column else text

    def error(self, row: Row, column: str | None, problem: str) -> ConfigError:
        return ConfigError(self.file, self.where(row, column), problem)

    def date(self, row: Row, column: str) -> PartialDate | None:
        """The row's date in ``column`` (already checked on reading), or None."""
        text = row.get(column)
        return parse_dtc(text) if text else None


@dataclass
class Located:
    """The file taken for each domain, what was said about the choice, and what is absent."""

    files: dict[str, Path] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    absent: list[str] = field(default_factory=list)


def locate_domains(folder: Path, chosen: Mapping[str, Path] | None = None) -> Located:
    """Find the file of each domain in ``folder``; raise HaicgxError on an ambiguous choice."""
    folder = Path(folder)
    if not folder.is_dir():
        raise HaicgxError(f"{folder}: not a folder of SDTM domain files")
    chosen = {code.upper(): Path(path) for code, path in (chosen or {}).items()}
    for code in chosen:
        if code not in DOMAINS:
            raise HaicgxError(f"--domain {code}: unknown domain (known: {', '.join(DOMAINS)})")
    names = sorted(p.name for p in folder.iterdir() if p.is_file())
    exact, prefixed = _candidates(names)
    located = Located()
    pending: list[str] = []
    for code in DOMAINS:
        if code in chosen:
            path = chosen[code]
            if not path.is_absolute() and (folder / path).is_file():
                path = folder / path  # a name in the folder, else a path from here
            if not path.is_file():
                raise HaicgxError(f"--domain {code}={chosen[code]}: file not found")
            located.files[code] = path
            located.notes[code] = f"{path.name} (chosen with --domain)"
        elif len(exact[code]) > 1:
            raise HaicgxError(
                f"{folder}: {' and '.join(exact[code])} are both the {code} domain: "
                f"keep one, or name it with --domain {code}=FILE (workflow: endpoints.domains)"
            )
        elif exact[code]:
            located.files[code] = folder / exact[code][0]
            others = prefixed[code]
            also = f" ({', '.join(others)} not read: the exact name wins)" if others else ""
            located.notes[code] = exact[code][0] + also
        elif len(prefixed[code]) == 1:
            located.files[code] = folder / prefixed[code][0]
            located.notes[code] = prefixed[code][0]
        elif prefixed[code]:
            pending.append(code)
        else:
            located.absent.append(code)
    for code in pending:
        _settle_by_partner(folder, code, prefixed[code], located)
    return located


def _candidates(names: Iterable[str]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    exact: dict[str, list[str]] = {code: [] for code in DOMAINS}
    prefixed: dict[str, list[str]] = {code: [] for code in DOMAINS}
    for name in names:
        lower = name.lower()
        suffix = next((s for s in SUFFIXES if lower.endswith(s)), None)
        if suffix is None:
            continue
        stem = lower[: -len(suffix)]
        for code in DOMAINS:
            key = code.lower()
            if stem == key:
                exact[code].append(name)
            elif stem.startswith((key + "_", key + ".")):
                prefixed[code].append(name)
    return exact, prefixed


def _settle_by_partner(folder: Path, code: str, names: list[str], located: Located) -> None:
    """Several prefixed files for one domain: take the one named like its partner's file."""
    partner = PAIRED.get(code)
    partner_path = located.files.get(partner) if partner else None
    if partner_path is not None:
        tail = _tail(partner_path.name)
        same = [name for name in names if _tail(name) == tail]
        if len(same) == 1:
            located.files[code] = folder / same[0]
            others = ", ".join(n for n in names if n != same[0])
            located.notes[code] = (
                f"{same[0]} (of {len(names)} candidates; named like the {partner} file "
                f"{partner_path.name}; not read: {others})"
            )
            return
    raise HaicgxError(
        f"{folder}: {len(names)} files could be the {code} domain ({', '.join(names)}): "
        f"name one with --domain {code}=FILE (workflow: endpoints.domains)"
    )


def _tail(name: str) -> str:
    """The file name after its two-letter domain code: ``_onco_recist.csv``."""
    return name[2:].lower()


# ------------------------------------------------------------------------------------ reading


@cache
def _validator(code: str) -> jsonschema.Draft202012Validator:
    schema = load_schema(f"sdtm_{code.lower()}")
    return jsonschema.Draft202012Validator(schema)


def read_domain(code: str, path: Path) -> Domain:
    """Read and validate one domain file (CSV or TSV, UTF-8, one header row)."""
    path = Path(path)
    text = _decode(path)
    delimiter = "\t" if path.name.lower().endswith(".tsv") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        raise ConfigError(str(path), "line 1", "empty file: a header row is required")
    columns = tuple(h.strip().upper() for h in header)
    if len(set(columns)) != len(columns):
        twice = next(c for c in columns if columns.count(c) > 1)
        raise ConfigError(str(path), "header", f"column {twice} appears twice")
    if "USUBJID" not in columns:
        raise ConfigError(str(path), "header", "missing required column 'USUBJID'")
    validator = _validator(code)
    date_columns = _date_columns(code)
    rows: list[Row] = []
    for line, cells in _lines(reader, path):
        if len(cells) != len(columns):
            raise ConfigError(
                str(path), f"line {line}", f"{len(cells)} cells, header has {len(columns)}"
            )
        values = {c: v.strip() for c, v in zip(columns, cells, strict=True)}
        values = {c: v for c, v in values.items() if v not in MISSING}
        row = Row(values, line)
        _check_row(code, path, row, validator, date_columns)
        rows.append(row)
    return Domain(code=code, path=path, columns=columns, rows=tuple(rows))


def _decode(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot be read: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(str(path), f"line {line}", "not UTF-8 text") from None


def _lines(reader: Any, path: Path) -> Iterator[tuple[int, list[str]]]:
    """Data rows with the line each starts on; blank lines are skipped."""
    start = reader.line_num + 1
    try:
        for cells in reader:
            if cells and any(c.strip() for c in cells):
                yield start, cells
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ConfigError(
            str(path), f"line {reader.line_num}", f"not valid CSV/TSV: {exc}"
        ) from None


def _check_row(
    code: str,
    path: Path,
    row: Row,
    validator: jsonschema.Draft202012Validator,
    date_columns: tuple[str, ...],
) -> None:
    where = f"line {row.line} ({row.subject or 'no USUBJID'})"
    error = jsonschema.exceptions.best_match(validator.iter_errors(row.values))
    if error is not None:
        column = _error_column(error)
        raise ConfigError(str(path), f"{where}, column {column}", _error_text(error))
    for column in date_columns:
        text = row.values.get(column)
        if text:
            try:
                parse_dtc(text)
            except ValueError as exc:
                raise ConfigError(str(path), f"{where}, column {column}", str(exc)) from None


def _error_column(error: jsonschema.ValidationError) -> str:
    if error.validator == "required":
        return str(error.message.split("'")[1])
    return str(error.path[0]) if error.path else "row"


def _error_text(error: jsonschema.ValidationError) -> str:
    """A schema error in words: the description of the expected value, not a regular expression."""
    if error.validator == "required":
        return "a value is required"
    description = error.schema.get("description") if isinstance(error.schema, dict) else None
    if error.validator in ("pattern", "enum", "const") and description:
        return f"{error.instance!r} is not {description}"
    return str(error.message)


@cache
def _date_columns(code: str) -> tuple[str, ...]:
    """The columns of a domain whose schema says they are dates."""
    schema = _validator(code).schema
    return tuple(
        name
        for name, sub in schema.get("properties", {}).items()
        if isinstance(sub, dict) and sub.get("$ref") == "#/$defs/dtc"
    )


def read_domains(located: Located) -> dict[str, Domain]:
    """Read every located domain file."""
    return {code: read_domain(code, path) for code, path in located.files.items()}
