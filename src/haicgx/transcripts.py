"""Transcript facts from an Ensembl-style GFF3: the transcript that speaks for a gene, exon numbers.

bcftools csq reports every overlapping transcript; haicgx keeps one per gene by the transcript
policy of haicgx.consequence, from the GFF3's facts: MANE Select and Ensembl canonical (tags), a
complete CDS (no cds_start_NF or cds_end_NF tag), the longest CDS (its CDS lines); then the most
severe consequence, then the smaller transcript id.
"""

from __future__ import annotations

import gzip
import os
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote

from haicgx.consequence import NO_FACTS, TranscriptFacts, transcript_rank

_INCOMPLETE_TAGS = frozenset({"cds_start_NF", "cds_end_NF"})


@dataclass
class Transcript:
    transcript_id: str
    gene: str
    strand: str
    tags: frozenset[str] = frozenset()
    cds_length: int = 0
    exons: list[tuple[int, int]] = field(default_factory=list)
    _table: tuple[list[int], list[int], list[int]] | None = field(
        default=None, repr=False, compare=False
    )

    @property
    def facts(self) -> TranscriptFacts:
        return TranscriptFacts(
            mane_select="MANE_Select" in self.tags,
            canonical="Ensembl_canonical" in self.tags,
            incomplete=not self.tags.isdisjoint(_INCOMPLETE_TAGS),
            cds_length=self.cds_length,
        )

    def exon_number(self, pos: int) -> int | None:
        """1-based exon number (in transcript order) containing a genomic position, if any."""
        starts, ends, numbers = self._exon_table()
        i = bisect_right(starts, pos) - 1
        return numbers[i] if i >= 0 and pos <= ends[i] else None

    def _exon_table(self) -> tuple[list[int], list[int], list[int]]:
        """Exon starts and ends in genomic order with their transcript-order numbers, made
        once: asked for every variant in the transcript."""
        if self._table is None or len(self._table[0]) != len(self.exons):
            ordered = sorted(self.exons)
            count = len(ordered)
            numbers = (
                [count - i for i in range(count)]
                if self.strand == "-"
                else list(range(1, count + 1))
            )
            self._table = ([a for a, _ in ordered], [b for _, b in ordered], numbers)
        return self._table


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


class TranscriptIndex:
    """Transcripts of a GFF3, read once per job."""

    def __init__(self, transcripts: dict[str, Transcript]) -> None:
        self.transcripts = transcripts
        self._preferences: dict[str, tuple[int, int, int, int]] = {}

    @classmethod
    def for_gff3(cls, path: Path) -> TranscriptIndex:
        """The index of a GFF3, parsed once per process while the file stays unchanged.

        An analysis job handles many patients against the same GFF3; parsing it for each one
        was a tenth of a panel patient's cost (docs/performance.md).
        """
        stat = os.stat(path)
        return _cached_index(str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)

    @classmethod
    def from_gff3(cls, path: Path) -> TranscriptIndex:
        genes: dict[str, str] = {}
        transcripts: dict[str, Transcript] = {}
        parents: dict[str, str] = {}
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
                    tr = transcripts.get(parent) if parent else None
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
                    tid = _strip(a["ID"])
                    tags = frozenset(a.get("tag", "").split(",")) - {""}
                    transcripts[tid] = Transcript(tid, a.get("Parent", ""), cols[6], tags)
                    parents[tid] = a.get("Parent", "")
        for tid, tr in transcripts.items():
            tr.gene = genes.get(parents[tid], _strip(parents[tid]))
        return cls(transcripts)

    def preference(self, transcript_id: str) -> tuple[int, int, int, int]:
        """`transcript_rank` of the transcript's facts (smaller is preferred); a transcript the
        GFF3 lacks has none. The reader breaks ties by severity, then by BCSQ's order, which
        `parse_bcsq` gives by transcript id."""
        found = self._preferences.get(transcript_id)
        if found is None:  # computed once per transcript: it is asked for every variant in it
            tr = self.transcripts.get(transcript_id)
            found = transcript_rank(tr.facts if tr else NO_FACTS)
            self._preferences[transcript_id] = found
        return found

    def exon_rank(self, transcript_id: str, pos: int) -> tuple[int, int] | None:
        """The exon holding `pos` and the transcript's exon count, as VEP's EXON `n/N` gives."""
        tr = self.transcripts.get(transcript_id)
        number = tr.exon_number(pos) if tr else None
        return None if tr is None or number is None else (number, len(tr.exons))


@lru_cache(maxsize=4)
def _cached_index(path: str, mtime_ns: int, size: int) -> TranscriptIndex:
    return TranscriptIndex.from_gff3(Path(path))


def forget_cached_indexes() -> None:
    """Drop the indexes `TranscriptIndex.for_gff3` keeps (the benchmark times a cold start)."""
    _cached_index.cache_clear()
