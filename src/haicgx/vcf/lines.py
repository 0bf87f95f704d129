"""Reading a VCF's bytes: the format from the content (text, gzip, BGZF, BCF), its lines (with
the limits and the encoding checks), its header lines, and opening it through htslib."""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pysam

from haicgx.vcf.facts import fail

# A line is read at most this far before it is refused, so a file of one endless line (or a
# compression bomb of one) never has to fit in memory; real records (a 1 MB INFO, thousands of
# sample columns) stay well under it.
MAX_LINE_CHARS = 16_000_000


_UNREADABLE = (EOFError, zlib.error, gzip.BadGzipFile, OSError)


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


def open_text(path: Path):
    with path.open("rb") as handle:
        compressed = handle.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if compressed else path.open("rb")


def read_lines(patient: str, path: Path) -> Iterator[tuple[int, str]]:
    """Decoded lines without their LF; CRLF, non-UTF-8 bytes and broken compression are errors.

    Decoded in blocks (per-line decoding was a tenth of the scan); when a block is not UTF-8,
    the file is read again line by line to name the first line that is not.
    """
    try:
        with open_text(path) as raw, io.TextIOWrapper(raw, "utf-8", newline="\n") as handle:
            lines = iter(partial(handle.readline, MAX_LINE_CHARS + 1), "")
            for lineno, line in enumerate(lines, start=1):
                if len(line) > MAX_LINE_CHARS:
                    raise fail(
                        patient,
                        path,
                        f"line {lineno} is longer than {MAX_LINE_CHARS:,} characters: "
                        "a broken or hostile file",
                    )
                if "\x00" in line:
                    raise fail(patient, path, f"line {lineno} holds a NUL byte: not VCF text")
                if line.endswith("\r\n"):
                    raise fail(
                        patient,
                        path,
                        f"line {lineno} ends in CRLF (Windows line ends); convert to LF",
                    )
                if "\r" in line:
                    raise fail(patient, path, _stray_cr(lineno, line))
                yield lineno, line.rstrip("\n")
    except UnicodeDecodeError:
        raise fail(patient, path, f"line {_first_undecodable(path)} is not UTF-8 text") from None
    except _UNREADABLE as exc:
        raise fail(patient, path, f"truncated or corrupt compressed file ({exc})") from None


def _stray_cr(lineno: int, line: str) -> str:
    if line.count("\r") > 1 and line.startswith("##fileformat"):
        return "line ends are CR only (classic Mac OS): convert them to LF"
    return f"line {lineno} holds a carriage return (CR) inside the line: not VCF text"


def _first_undecodable(path: Path) -> int | str:
    with open_text(path) as handle:
        for lineno, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return lineno
    return "?"  # a multi-byte character split across lines cannot happen: LF is one byte


def open_quietly(path: Path) -> pysam.VariantFile:
    """htslib's own complaints go to stderr; the caller turns failures into one line instead."""
    previous = pysam.set_verbosity(0)
    try:
        return pysam.VariantFile(str(path))
    finally:
        pysam.set_verbosity(previous)


def open_variant_file(patient: str, path: Path) -> pysam.VariantFile:
    """Open with htslib, turning its failures into one line."""
    check_exists(patient, path)
    if sniff_format(path) == "gzip":
        raise fail(
            patient,
            path,
            "compressed with plain gzip, not bgzip: htslib needs BGZF "
            "(recompress with `gunzip -c f.vcf.gz | bgzip > g.vcf.gz`)",
        )
    try:
        return open_quietly(path)
    except (OSError, ValueError, NotImplementedError) as exc:
        if "EOF marker" in str(exc) or "truncated" in str(exc):
            raise fail(patient, path, f"truncated or corrupt BCF ({exc})") from None
        raise fail(patient, path, f"not a readable VCF/BCF ({exc})") from None


def check_exists(patient: str, path: Path) -> None:
    if not path.exists():
        raise fail(patient, path, "file not found")
    if path.is_dir():
        raise fail(patient, path, "a folder, not a VCF file")
    if not path.is_file():  # a FIFO or a device would block or never end
        raise fail(patient, path, "not a regular file (a pipe or a device?): give the VCF itself")
    if not os.access(path, os.R_OK):
        raise fail(patient, path, "cannot be read: permission denied")
    if path.stat().st_size == 0:
        raise fail(patient, path, "empty file")


def read_header(path: Path) -> list[str]:
    """The header lines of a text VCF or a BCF, up to and including #CHROM."""
    if sniff_format(path) == "bcf":
        with open_quietly(path) as variant_file:
            return str(variant_file.header).splitlines()
    lines = []
    with open_text(path) as raw, io.TextIOWrapper(raw, "utf-8", newline="\n") as handle:
        for line in handle:
            lines.append(line.rstrip("\n"))
            if not line.startswith("##"):
                break
    return lines
