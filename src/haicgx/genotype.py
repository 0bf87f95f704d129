"""How many copies of a germline allele one sample carries, read for dosing safety.

A tumour VCF's genotype is often not a genotype: Mutect2 writes `0/1` for every call (a
placeholder, whatever the allele fraction), Pindel writes a somatic call's tumour GT as `0/0`,
Strelka2 writes no GT at all, and loss of heterozygosity or copy-number change in the tumour moves a
germline allele fraction anywhere between 0 and 1. So the copies are read twice, from the GT and
from the allele fraction, and when the two readings disagree the *lower-activity* one is taken:
for a decreased- or no-function allele the reading with more copies (a 50% dose given to a patient
with no DPD activity can kill; the opposite error only delays full dosing). The other reading is
kept, so the outputs can say what the call would be under it.

Allele-fraction windows (`copies_from_fraction`):

- below 0.10: no copy. A germline heterozygous allele sits near 0.5 in a normal sample; in a
  tumour it can fall well below 0.3 when the tumour lost it, but a caller then still writes a
  genotype with the allele, which the GT reading counts. Below 0.10 is noise, contamination or a
  small subclone, not a germline copy.
- 0.10 up to 0.85: one copy (heterozygous; the wide window covers allelic imbalance).
- 0.85 and above: two copies. No normal copy is left at that fraction: a homozygous germline
  allele, or a heterozygous one whose other copy the tumour lost. The tumour cells' loss does not
  change the patient's germline, so the note gives the heterozygous alternative, but the status
  follows the homozygous reading (GERMLINE_HOM_MIN, the same bound `qc.germline_check` uses).

A genotype that cannot say how many copies there are (haploid on an autosome, one allele missing,
no GT and no allele fraction) is ambiguous: the higher count is taken, and the call is marked
ambiguous so that the gene is reported as indeterminate rather than as a firm call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from haicgx.qc import GERMLINE_HOM_MIN, ReadSupport

ABSENT_BELOW = 0.10  # allele fraction below which no germline copy is read


class SampleCall(NamedTuple):
    """One sample's call at one record: its GT and read support."""

    gt: tuple[int | None, ...] | None
    phased: bool = False
    phase_set: int | None = None
    vaf: float | None = None
    depth: int | None = None

    def with_support(self, support: ReadSupport) -> SampleCall:
        """This genotype with the sample's read support at the allele."""
        return self._replace(vaf=support.vaf, depth=support.depth)

    @property
    def informative(self) -> bool:
        """Whether the sample was genotyped here at all (a called allele or read counts)."""
        called = self.gt is not None and any(a is not None for a in self.gt)
        return called or self.vaf is not None or bool(self.depth)

    @property
    def text(self) -> str:
        if self.gt is None or all(a is None for a in self.gt):
            return "./."
        return ("|" if self.phased else "/").join("." if a is None else str(a) for a in self.gt)


@dataclass(frozen=True)
class Genotype:
    """What one sample's record says about the ALT allele it carries, after the reading rule."""

    text: str
    copies: int  # copies of ALT counted for the status (0-2)
    haplotypes: tuple[int, ...] | None  # haplotypes carrying ALT, when phased and diploid
    reference: bool  # the call shows the reference and nothing else
    alternative: int | None = None  # the other reading's copies, when the readings disagree
    ambiguous: bool = False  # the copies cannot be told: the higher count was taken
    notes: tuple[str, ...] = ()


def copies_from_fraction(vaf: float | None) -> int | None:
    """Copies of an allele its fraction of the reads suggests (None: no fraction).

    >>> [copies_from_fraction(v) for v in (None, 0.03, 0.1, 0.5, 0.84, 0.85, 1.0)]
    [None, 0, 1, 1, 1, 2, 2]
    """
    if vaf is None:
        return None
    if vaf < ABSENT_BELOW:
        return 0
    return 2 if vaf >= GERMLINE_HOM_MIN else 1


def _copies_from_gt(gt: tuple[int | None, ...] | None) -> tuple[int, int] | None:
    """The range (fewest, most) of ALT copies the GT allows; None when it has no called allele."""
    if gt is None or all(a is None for a in gt):
        return None
    alt = sum(1 for a in gt if a == 1)
    if len(gt) == 1:
        # A haploid ALT on an autosome: one copy seen, the other copy unknown.
        return (alt, 2) if alt else (0, 0)
    missing = sum(1 for a in gt if a is None)
    return min(alt, 2), min(alt + missing, 2)


def _copies_word(n: int) -> str:
    return {0: "absent", 1: "heterozygous", 2: "homozygous"}[n]


def read_genotype(call: SampleCall, *, lower_activity_more_copies: bool = True) -> Genotype:
    """Copies of ALT (allele index 1 after splitting) and their phase, by the reading rule.

    `lower_activity_more_copies`: more copies of this allele mean lower enzyme activity (every
    decreased-, no- and normal-function allele; False for an increased-function one).

    >>> read_genotype(SampleCall((0, 1), vaf=0.98)).copies  # Mutect2's placeholder GT
    2
    >>> g = read_genotype(SampleCall((0, 1), vaf=0.98)); g.alternative
    1
    >>> read_genotype(SampleCall((0, 0), vaf=0.45)).copies  # normal column GT 0/0 with reads
    1
    >>> read_genotype(SampleCall((1, 0), phased=True, vaf=0.5)).haplotypes
    (0,)
    >>> g = read_genotype(SampleCall(None)); (g.copies, g.ambiguous)
    (2, True)
    """
    text = call.text
    by_gt = _copies_from_gt(call.gt)
    by_fraction = copies_from_fraction(call.vaf)
    pick = max if lower_activity_more_copies else min
    notes: list[str] = []
    ambiguous = False
    alternative = None
    if by_gt is None and by_fraction is not None:
        copies = by_fraction
        notes.append(f"no genotype in the file: zygosity read from the allele fraction {call.vaf}")
    elif by_gt is None:
        copies, ambiguous = (2 if lower_activity_more_copies else 1), True
        notes.append(
            "no genotype and no allele fraction in the file: zygosity unknown, read as "
            f"{_copies_word(copies)} (the lower-activity reading)"
        )
    else:
        low, high = by_gt
        gt_copies = high if lower_activity_more_copies else low
        if by_fraction is None:
            copies = gt_copies
            if low != high:
                ambiguous = True
                notes.append(
                    f"genotype {text} allows {low} or {high} copies and the file gives no allele "
                    f"fraction: read as {_copies_word(copies)} (the lower-activity reading)"
                )
        elif low <= by_fraction <= high:
            copies = by_fraction  # the reads settle what the GT leaves open (a haploid call)
            if low != high:
                notes.append(
                    f"genotype {text} allows {low} or {high} copies: read as "
                    f"{_copies_word(copies)} from the allele fraction {call.vaf}"
                )
        else:
            copies = pick(gt_copies, by_fraction)
            alternative = by_fraction if copies == gt_copies else gt_copies
            notes.append(
                f"genotype {text} and allele fraction {call.vaf} disagree "
                f"({_copies_word(gt_copies)} by the GT, {_copies_word(by_fraction)} by the reads): "
                f"read as {_copies_word(copies)}, the lower-activity reading"
            )
    haplotypes = None
    if copies == 1 and call.phased and call.gt is not None and len(call.gt) == 2:
        carrying = tuple(i for i, a in enumerate(call.gt) if a == 1)
        haplotypes = carrying if len(carrying) == 1 else None
    reference = copies == 0 and call.gt is not None and all(a == 0 for a in call.gt)
    return Genotype(text, copies, haplotypes, reference, alternative, ambiguous, tuple(notes))
