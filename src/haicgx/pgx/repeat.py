"""Repeat-aware allele matching: an indel of the knowledge table recognised in a right-shifted
spelling (UGT1A1*28 written `chr2:233760248 A>ATA` rather than left-aligned `chr2:233760233
C>CAT`), from the table row and the record alone, without a reference."""

from __future__ import annotations

from dataclasses import dataclass

from haicgx.knowledge import KnowledgeRow

# A right-shifted spelling is accepted at most this many repeat units from the left-aligned
# anchor: more than the UGT1A1 TATA-box tract (A(TA)7, 15 bp after the anchor), few enough that an
# unrelated indel further along is not taken for the allele.
MAX_REPEAT_SHIFT_UNITS = 10


def indel_bases(ref: str, alt: str) -> tuple[bool, str] | None:
    """(inserted?, bases) of a trimmed simple indel with one anchor base, else None.

    >>> indel_bases("C", "CAT"), indel_bases("CAT", "C"), indel_bases("C", "T")
    ((True, 'AT'), (False, 'AT'), None)
    """
    if len(ref) == 1 and len(alt) > 1 and alt[0] == ref:
        return True, alt[1:]
    if len(alt) == 1 and len(ref) > 1 and ref[0] == alt:
        return False, ref[1:]
    return None


def repeat_unit(bases: str) -> str:
    """The shortest unit whose repeats make `bases`.

    >>> repeat_unit("ATAT"), repeat_unit("G"), repeat_unit("ATGA")
    ('AT', 'G', 'ATGA')
    """
    for size in range(1, len(bases) + 1):
        if len(bases) % size == 0 and bases[:size] * (len(bases) // size) == bases:
            return bases[:size]
    return bases


@dataclass(frozen=True)
class RepeatAllele:
    """An indel of the table (written left-aligned) and the right-shifted spellings of it.

    Inside a tandem repeat of its own bases, an indel moved k bases to the right keeps its length,
    its bases rotate by k, and its anchor is the repeat's base there: `bases[(k - 1) % len]`.
    Both are checked on the record itself, so no reference is needed.
    """

    row: KnowledgeRow
    chrom: str
    pos: int  # the left-aligned anchor base
    inserted: bool
    bases: str

    @classmethod
    def of(cls, row: KnowledgeRow) -> RepeatAllele | None:
        a = row.alteration
        found = indel_bases(a.ref or "", a.alt or "")
        if found is None:
            return None
        return cls(row, a.chrom or "", a.pos or 0, found[0], found[1])

    @property
    def window(self) -> int:
        return MAX_REPEAT_SHIFT_UNITS * len(repeat_unit(self.bases))

    def near(self, chrom: str, pos: int) -> bool:
        return chrom == self.chrom and 0 <= pos - self.pos <= self.window

    def shifted(self, chrom: str, pos: int, ref: str, alt: str) -> bool:
        """Whether a trimmed record is this allele written `pos - self.pos` bases to the right.

        >>> from haicgx.knowledge import Alteration
        >>> a = Alteration.parse("GRCh38:chr2:233760233:C:CAT")
        >>> row = KnowledgeRow("X", "UGT1A1", "", a, "*28", "any", (), "allele_function", "", (),
        ...                    "decreased_function", None, "", "", "", 0)
        >>> r = RepeatAllele.of(row)
        >>> [r.shifted("2", p, ref, alt) for p, ref, alt in
        ...  ((233760234, "A", "ATA"), (233760248, "A", "ATA"), (233760235, "A", "ATA"))]
        [True, True, False]
        """
        k = pos - self.pos
        if chrom != self.chrom or not 0 < k <= self.window:
            return False
        found = indel_bases(ref, alt)
        if found is None or found[0] != self.inserted:
            return False
        n = len(self.bases)
        rotated = self.bases[k % n :] + self.bases[: k % n]
        return ref[0] == self.bases[(k - 1) % n] and found[1] == rotated
