"""Transcript facts from an Ensembl-style GFF3: the transcript that speaks for a gene, exon numbers.

bcftools csq reports every overlapping transcript; haicgx keeps one per gene by the transcript
policy of haicgx.consequence, from the GFF3's facts: MANE Select and Ensembl canonical (tags), a
complete CDS (no cds_start_NF or cds_end_NF tag), the longest CDS (its CDS lines); then the most
severe consequence, then the smaller transcript id.

A full Ensembl GFF3 (250,000 transcripts, 1.6 million exons) takes seconds to read in Python,
more than bcftools csq itself spends on it. So the facts are read once per GFF3 into a few flat
arrays (`TranscriptIndex`) and kept on disk, in the cache folder (`cache_folder`), under the
GFF3's SHA-256; a later process loads them in a fraction of a second. A GFF3 path whose size,
modification time and inode are unchanged finds its SHA-256 in a small stamp file instead of
reading the GFF3 again; a copy of the same GFF3 elsewhere (a SLURM job's local scratch) reads it
once, then finds the arrays already there. Cache files are written whole or not at all
(haicgx.atomic: a rename on the same disk, atomic on NFS too), so concurrent jobs building the
same index at once each write an identical file and the last rename wins; a file that does not
load (damaged, truncated, an older format, another GFF3's) is rebuilt from the GFF3. A cache
folder that cannot be written costs speed only: the index is then built in memory.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import re
import zipfile
from bisect import bisect_right
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np

from haicgx.atomic import write_atomically
from haicgx.consequence import NO_FACTS, TranscriptFacts, transcript_rank

FORMAT = 1  # bump when the arrays change: older cache files are then rebuilt
CACHE_ENV = "HAICGX_CACHE_DIR"
_INCOMPLETE_TAGS = frozenset({"cds_start_NF", "cds_end_NF"})
_FLAG_MANE, _FLAG_CANONICAL, _FLAG_INCOMPLETE, _FLAG_MINUS = 1, 2, 4, 8
_ARRAYS = ("ids", "genes", "gene_of", "flags", "cds_length", "offsets", "starts", "ends")


@dataclass(frozen=True)
class Transcript:
    """One transcript's facts, as `TranscriptIndex.transcripts` gives them."""

    transcript_id: str
    gene: str
    strand: str
    facts: TranscriptFacts
    exons: tuple[tuple[int, int], ...]  # genomic order

    @property
    def cds_length(self) -> int:
        return self.facts.cds_length


class TranscriptIndex:
    """The transcripts of one GFF3 as flat arrays, rows sorted by transcript id:

    ids, genes (bytes); gene_of (row -> genes); flags (MANE, canonical, incomplete, minus
    strand); cds_length; offsets (row -> its exons in starts/ends, genomic order).
    """

    def __init__(self, arrays: Mapping[str, np.ndarray]) -> None:
        missing = [k for k in _ARRAYS if k not in arrays]
        if missing:
            raise ValueError(f"transcript index lacks {', '.join(missing)}")
        self._a = {k: arrays[k] for k in _ARRAYS}
        n = len(self._a["ids"])
        if len(self._a["offsets"]) != n + 1 or len(self._a["starts"]) != self._a["offsets"][-1]:
            raise ValueError("transcript index arrays disagree in length")
        self._rows: dict[str, int] = {}
        self._preferences: dict[str, tuple[int, int, int, int]] = {}
        self._exons: dict[int, tuple[list[int], list[int], bool]] = {}

    @classmethod
    def for_gff3(cls, path: Path, cache: Path | None = None) -> TranscriptIndex:
        """The index of a GFF3: kept in this process while the file stays unchanged (a job
        handles many patients), else loaded from the cache folder, else built and cached."""
        stat = os.stat(path)
        folder = str(cache if cache is not None else cache_folder())
        return _cached_index(str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size, folder)

    @classmethod
    def from_gff3(cls, path: Path) -> TranscriptIndex:
        """Read the GFF3 itself (seconds for a full Ensembl GFF3)."""
        return cls(_read_gff3(Path(path)))

    # -- the facts --------------------------------------------------------------------------

    def row(self, transcript_id: str) -> int | None:
        """The transcript's row, or None when the GFF3 lacks it."""
        found = self._rows.get(transcript_id)
        if found is None:
            ids = self._a["ids"]
            key = transcript_id.encode("utf-8")
            i = int(np.searchsorted(ids, key))
            found = i if i < len(ids) and ids[i] == key else -1
            self._rows[transcript_id] = found
        return None if found < 0 else found

    def facts(self, row: int) -> TranscriptFacts:
        flags = int(self._a["flags"][row])
        return TranscriptFacts(
            mane_select=bool(flags & _FLAG_MANE),
            canonical=bool(flags & _FLAG_CANONICAL),
            incomplete=bool(flags & _FLAG_INCOMPLETE),
            cds_length=int(self._a["cds_length"][row]),
        )

    def preference(self, transcript_id: str) -> tuple[int, int, int, int]:
        """`transcript_rank` of the transcript's facts (smaller is preferred); a transcript the
        GFF3 lacks has none. The reader breaks ties by severity, then by BCSQ's order, which
        `parse_bcsq` gives by transcript id."""
        found = self._preferences.get(transcript_id)
        if found is None:  # computed once per transcript: it is asked for every variant in it
            row = self.row(transcript_id)
            found = transcript_rank(NO_FACTS if row is None else self.facts(row))
            self._preferences[transcript_id] = found
        return found

    def exon_rank(self, transcript_id: str, pos: int) -> tuple[int, int] | None:
        """The exon holding `pos` and the transcript's exon count, as VEP's EXON `n/N` gives."""
        number = self.exon_number(transcript_id, pos)
        if number is None:
            return None
        row = self.row(transcript_id)
        assert row is not None  # it has an exon number
        return number, len(self._exons[row][0])

    def exon_number(self, transcript_id: str, pos: int) -> int | None:
        """1-based exon number (in transcript order) containing a genomic position, if any."""
        row = self.row(transcript_id)
        if row is None:
            return None
        table = self._exons.get(row)
        if table is None:  # made once per transcript: asked for every variant in it
            a, b = int(self._a["offsets"][row]), int(self._a["offsets"][row + 1])
            minus = bool(int(self._a["flags"][row]) & _FLAG_MINUS)
            table = (self._a["starts"][a:b].tolist(), self._a["ends"][a:b].tolist(), minus)
            self._exons[row] = table
        starts, ends, minus = table
        i = bisect_right(starts, pos) - 1
        if i < 0 or pos > ends[i]:
            return None
        return len(starts) - i if minus else i + 1

    @property
    def transcripts(self) -> Mapping[str, Transcript]:
        """Every transcript by id, made on demand (for tests and inspection)."""
        return _Transcripts(self)

    def transcript(self, row: int) -> Transcript:
        a = self._a
        lo, hi = int(a["offsets"][row]), int(a["offsets"][row + 1])
        return Transcript(
            transcript_id=a["ids"][row].decode("utf-8"),
            gene=a["genes"][a["gene_of"][row]].decode("utf-8"),
            strand="-" if int(a["flags"][row]) & _FLAG_MINUS else "+",
            facts=self.facts(row),
            exons=tuple(zip(a["starts"][lo:hi].tolist(), a["ends"][lo:hi].tolist(), strict=True)),
        )

    def to_bytes(self, checksum: str) -> bytes:
        buffer = io.BytesIO()
        meta = np.array([f"haicgx-transcripts {FORMAT} {checksum}".encode()])
        arrays: dict[str, Any] = {"meta": meta, **self._a}  # every keyword an array
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_cache_file(cls, path: Path, checksum: str) -> TranscriptIndex:
        """The index a cache file holds; ValueError (or OSError) when it is not this GFF3's
        index in this format. np.load checks each array's CRC-32 as it reads it."""
        with np.load(path, allow_pickle=False) as data:
            meta = data["meta"]
            if meta.shape != (1,) or meta[0] != f"haicgx-transcripts {FORMAT} {checksum}".encode():
                raise ValueError(f"{path} is not this GFF3's index")
            return cls({k: data[k] for k in _ARRAYS})


class _Transcripts(Mapping[str, Transcript]):
    def __init__(self, index: TranscriptIndex) -> None:
        self._index = index

    def __getitem__(self, transcript_id: str) -> Transcript:
        row = self._index.row(transcript_id)
        if row is None:
            raise KeyError(transcript_id)
        return self._index.transcript(row)

    def __iter__(self) -> Iterator[str]:
        return (i.decode("utf-8") for i in self._index._a["ids"])

    def __len__(self) -> int:
        return len(self._index._a["ids"])


# -- reading the GFF3 -------------------------------------------------------------------------


def _attributes(text: str) -> dict[str, str]:
    out = {}
    for item in text.strip().split(";"):
        if "=" in item:
            key, value = item.split("=", 1)
            out[key] = unquote(value)
    return out


_PARTS = frozenset({"exon", "CDS"})
_PARENT = re.compile(r"(?:^|;)Parent=transcript:([^;]*)")


def _parent_transcript(attrs: str) -> str | None:
    """The transcript an exon or CDS line belongs to (Parent=transcript:ID), else None."""
    m = _PARENT.search(attrs)
    if m is None:
        return None
    value = m[1].rstrip()
    return unquote(value) if "%" in value else value


def _strip(identifier: str) -> str:
    return identifier.split(":", 1)[1] if ":" in identifier else identifier


@dataclass
class _Reading:
    """One transcript while the GFF3 is read."""

    parent: str
    flags: int
    cds_length: int = 0
    exons: list[tuple[int, int]] = field(default_factory=list)


def _read_gff3(path: Path) -> dict[str, np.ndarray]:
    genes: dict[str, str] = {}
    found: dict[str, _Reading] = {}
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("#") or not line.strip():
                continue
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 9:
                continue
            kind, attrs = cols[2], cols[8]
            if kind in _PARTS:
                # Most lines: only the parent transcript is needed, not every attribute.
                parent = _parent_transcript(attrs)
                tr = found.get(parent) if parent else None
                if tr is None:
                    continue
                start, end = int(cols[3]), int(cols[4])
                if kind == "exon":
                    tr.exons.append((start, end))
                else:
                    tr.cds_length += end - start + 1
                continue
            if "ID=" not in attrs:
                continue  # UTRs and other parts without an identity of their own
            a = _attributes(attrs)
            if "ID" in a and a["ID"].startswith("gene:"):
                genes[a["ID"]] = a.get("Name", _strip(a["ID"]))
            elif "ID" in a and a["ID"].startswith("transcript:"):
                tags = frozenset(a.get("tag", "").split(","))
                flags = (
                    _FLAG_MANE * ("MANE_Select" in tags)
                    | _FLAG_CANONICAL * ("Ensembl_canonical" in tags)
                    | _FLAG_INCOMPLETE * (not tags.isdisjoint(_INCOMPLETE_TAGS))
                    | _FLAG_MINUS * (cols[6] == "-")
                )
                found[_strip(a["ID"])] = _Reading(a.get("Parent", ""), flags)
    return _arrays(found, genes)


def _arrays(found: dict[str, _Reading], genes: dict[str, str]) -> dict[str, np.ndarray]:
    ids = sorted(found)
    names: dict[str, int] = {}
    gene_of, flags, cds, offsets, starts, ends = [], [], [], [0], [], []
    for tid in ids:
        tr = found[tid]
        name = genes.get(tr.parent, _strip(tr.parent))
        gene_of.append(names.setdefault(name, len(names)))
        flags.append(tr.flags)
        cds.append(tr.cds_length)
        for s, e in sorted(tr.exons):
            starts.append(s)
            ends.append(e)
        offsets.append(len(starts))
    return {
        "ids": np.array([t.encode("utf-8") for t in ids], dtype=bytes),
        "genes": np.array([g.encode("utf-8") for g in names], dtype=bytes),
        "gene_of": np.array(gene_of, dtype=np.int64),
        "flags": np.array(flags, dtype=np.int8),
        "cds_length": np.array(cds, dtype=np.int64),
        "offsets": np.array(offsets, dtype=np.int64),
        "starts": np.array(starts, dtype=np.int64),
        "ends": np.array(ends, dtype=np.int64),
    }


# -- the cache on disk ------------------------------------------------------------------------


def cache_folder() -> Path:
    """$HAICGX_CACHE_DIR, else the user's cache folder ($XDG_CACHE_HOME or ~/.cache) /haicgx:
    on a cluster, the home folder every node shares."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "haicgx"


def _checksum(path: Path, stat: os.stat_result, folder: Path) -> str:
    """The GFF3's SHA-256, from its stamp file when path, size, mtime and inode are unchanged."""
    key = f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_ino}"
    stamp = folder / "stamps" / hashlib.sha256(key.encode()).hexdigest()
    try:
        text = stamp.read_text(encoding="ascii").strip()
        if re.fullmatch(r"[0-9a-f]{64}", text):
            return text
    except OSError:
        pass
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    checksum = digest.hexdigest()
    with contextlib.suppress(OSError):  # an unwritable cache: the GFF3 is read again next time
        write_atomically({stamp: checksum.encode() + b"\n"})
    return checksum


def load_or_build(gff3: Path, folder: Path) -> TranscriptIndex:
    """The GFF3's index from the cache folder, built and stored there when absent or unusable."""
    checksum = _checksum(gff3, os.stat(gff3), folder)
    cached = folder / "transcripts" / f"{checksum}.v{FORMAT}.npz"
    try:
        return TranscriptIndex.from_cache_file(cached, checksum)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        pass  # absent, damaged or not this GFF3's: built again below
    index = TranscriptIndex.from_gff3(gff3)
    with contextlib.suppress(OSError):  # an unwritable cache costs speed only
        write_atomically({cached: index.to_bytes(checksum)})
    return index


@lru_cache(maxsize=4)
def _cached_index(path: str, mtime_ns: int, size: int, folder: str) -> TranscriptIndex:
    return load_or_build(Path(path), Path(folder))


def forget_cached_indexes() -> None:
    """Drop the indexes `TranscriptIndex.for_gff3` keeps in this process (the benchmark times a
    process's first analysis)."""
    _cached_index.cache_clear()
