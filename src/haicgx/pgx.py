"""Germline pharmacogenomics from a tumour VCF: DPYD activity score and UGT1A1 diplotype.

Allele functions and activity values come from the knowledge table (`allele_function` rows, one
set per genome build), so the table is the one place for them. The rules follow CPIC for DPYD (the
two lowest-function alleles, presumed in trans when unphased; phased genotypes honoured within one
phase set) and CPIC/PharmCAT allele functions for UGT1A1 (*80 combined with *28/*37 on one gene copy
as PharmCAT's *80+*28 and *80+*37).

Where the genotype is read (`genotype_source`): the matched normal sample when the VCF has one,
else the tumour sample. A germline allele the normal carries and the tumour does not is noted as
possible loss of heterozygosity; the call stays the normal's.

How a genotype is read: haicgx.genotype (GT and allele fraction both read; where they disagree the
lower-activity reading sets the status and a note gives the other).

When a gene counts as genotyped: like PharmCAT, by its allele-defining positions (those of the
knowledge table's allele rows for the build). A position is called when the germline sample has a
call there: a variant, a reference call (`0/0`, a record without ALT) or a gVCF block (INFO END)
covering it. A somatic call elsewhere in the gene says nothing about these positions. Status:
`not_assessed` when no position was called (or the build has no allele rows); `indeterminate` when a
position of a decreased- or no-function allele was not called (HapB3's causal SNP and its exonic
proxy count as one), when a zygosity could not be told, or when the alleles found have no CPIC
phenotype (UGT1A1 *80 alone, *6/*80 without the TA repeat); else `assessed`. An indeterminate call
still applies the rules of what was found, which can only overstate the activity: a missing
position can add a decreased-function allele, never remove one.

Indels are matched in their left-aligned form. A VCF not normalised against a reference may write
an allele in a tandem repeat further right (UGT1A1*28 as `chr2:233760248 A>ATA` instead of
`chr2:233760233 C>CAT`); `RepeatAllele` recognises such spellings from the knowledge row and the
record alone, and the output says so.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from haicgx.genotype import ABSENT_BELOW, SampleCall, read_genotype
from haicgx.knowledge import KnowledgeBase, KnowledgeRow, normalise_chrom, trim_allele
from haicgx.qc import GERMLINE_HOM_MIN, germline_check

DPYD = "DPYD"
UGT1A1 = "UGT1A1"
PHARMACOGENES = (DPYD, UGT1A1)
# A right-shifted spelling is accepted at most this many repeat units from the left-aligned
# anchor: more than the UGT1A1 TATA-box tract (A(TA)7, 15 bp after the anchor), few enough that an
# unrelated indel further along is not taken for the allele.
MAX_REPEAT_SHIFT_UNITS = 10
STATUSES = ("assessed", "indeterminate", "not_assessed")
READING_RULE = (
    "GT and allele fraction both read; where they disagree, the lower-activity reading sets the "
    f"status (allele fraction below {ABSENT_BELOW:g}: absent; {ABSENT_BELOW:g} up to "
    f"{GERMLINE_HOM_MIN:g}: heterozygous; {GERMLINE_HOM_MIN:g} and above: homozygous)"
)

Key = tuple[str, int, str, str]  # (plain chrom, pos, ref, alt)
Position = tuple[str, int]  # (plain chrom, pos)

# HapB3: the intronic c.1129-5923C>G (rs75017182) is causal; the exonic c.1236G>A (rs56038477)
# only tags the haplotype. Keyed by build: (chrom, pos, ref, alt) of the causal and proxy alleles
# (GRCh37 from PyPGx's variant table, as the knowledge rows).
HAPB3 = {
    "GRCh38": (("1", 97579893, "G", "C"), ("1", 97573863, "C", "T")),
    "GRCh37": (("1", 98045449, "G", "C"), ("1", 98039419, "C", "T")),
}
# c.2846A>T (rs67376798): CPIC notes that homozygotes (activity score 1) may need a starting-dose
# cut of more than 50%.
C2846 = {"GRCh38": ("1", 97082391, "T", "A"), "GRCh37": ("1", 97547947, "T", "A")}

# PharmCAT names *80 together with a TA-repeat allele on one gene copy (*80+*28, *80+*37 in
# UGT1A1_translation.json); CPIC gives the combination the repeat allele's function.
STAR80 = "*80"
COMBINES_WITH_80 = ("*28", "*37")

PHENOTYPE_LABELS = {
    "normal_metabolizer": "Normal Metabolizer",
    "intermediate_metabolizer": "Intermediate Metabolizer",
    "poor_metabolizer": "Poor Metabolizer",
    "indeterminate_metabolizer": "Indeterminate",
}
_STAR = re.compile(r"\*\d+")
_FUNCTION_ORDER = {
    "no_function": 0,
    "decreased_function": 1,
    "uncertain_function": 2,
    "normal_function": 3,
    "increased_function": 4,
}
_DECREASED = ("decreased_function", "no_function")
# What each gene's call bears on, for the messages of a gene that could not be called.
GENE_DRUGS = {
    DPYD: "fluorouracil, capecitabine or tegafur (and floxuridine)",
    UGT1A1: "irinotecan",
}
GENE_TEST = {
    DPYD: "DPYD genotype or DPD activity",
    UGT1A1: "UGT1A1 genotype (with the *28 TA repeat)",
}


# -- repeat-aware allele matching -------------------------------------------------------------


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


# -- observations and calls ------------------------------------------------------------------


@dataclass
class Observation:
    """A call of a pharmacogene allele of the table, in the germline sample."""

    row: KnowledgeRow
    chrom: str
    pos: int
    ref: str
    alt: str
    genotype: str
    copies: int  # by the reading rule (haicgx.genotype)
    phased_haplotypes: tuple[int, ...] | None  # indices of haplotypes carrying ALT when phased
    phase_set: int | None
    vaf: float | None
    depth: int | None
    filters: list[str]
    matched_as: str = "exact"  # exact, trimmed, repeat_shift
    source: str = "tumour"  # the sample read: normal or tumour
    alternative: int | None = None  # copies by the other reading, when GT and reads disagree
    ambiguous: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def key(self) -> Key:
        return (normalise_chrom(self.chrom), self.pos, self.ref, self.alt)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kb_id": self.row.kb_id,
            "allele_name": self.row.allele_name,
            "chrom": self.chrom,
            "pos": self.pos,
            "ref": self.ref,
            "alt": self.alt,
            "matched_as": self.matched_as,
            "sample": self.source,
            "genotype": self.genotype,
            "copies": self.copies,
            "other_reading_copies": self.alternative,
            "allele_function": self.row.allele_function,
            "activity_value": self.row.activity_value,
            "vaf": self.vaf,
            "depth": self.depth,
            "filter": ";".join(self.filters) or "PASS",
            "germline_check": germline_check(self.vaf, self.copies),
        }


@dataclass
class PgxCall:
    gene: str
    status: str  # assessed | indeterminate | not_assessed
    phenotype_key: str | None
    observations: list[Observation]
    notes: list[str]
    activity_score: float | None = None
    diplotype: str | None = None
    rules: list[KnowledgeRow] = field(default_factory=list)
    genotype_source: str | None = None  # normal | tumour; None when nothing was read
    positions_called: list[str] = field(default_factory=list)
    positions_missing: list[str] = field(default_factory=list)

    @property
    def phenotype(self) -> str:
        if self.status == "not_assessed" or self.phenotype_key is None:
            return "Not assessed" if self.status == "not_assessed" else "Indeterminate"
        label = PHENOTYPE_LABELS[self.phenotype_key]
        if self.status == "assessed":
            return label
        if self.gene == DPYD and self.activity_score is not None:
            bound = "" if self.activity_score == 0 else "at most "
            return f"Indeterminate ({bound}activity score {self.activity_score:g}: {label})"
        if self.phenotype_key == "poor_metabolizer":
            return f"Indeterminate (at least {label})"
        return "Indeterminate"

    @property
    def firm(self) -> bool:
        return self.status == "assessed"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status}
        if self.gene == DPYD:
            out["activity_score"] = self.activity_score
        else:
            out["diplotype"] = self.diplotype
        out["phenotype"] = self.phenotype
        out["genotype_source"] = self.genotype_source
        out["positions_called"] = len(self.positions_called)
        out["positions_missing"] = len(self.positions_missing)
        out["missing_positions"] = list(self.positions_missing)
        out["reading_rule"] = READING_RULE
        out["alleles"] = [o.as_dict() for o in self.observations]
        out["rules"] = [r.kb_id for r in self.rules]
        out["notes"] = list(self.notes)
        return out


def _key(row: KnowledgeRow) -> Key:
    a = row.alteration
    return (a.chrom, a.pos, a.ref, a.alt)  # type: ignore[return-value]


def _lowering_row(row: KnowledgeRow) -> bool:
    """Whether an allele can lower activity: a firm call must have looked at its position.
    (UGT1A1 *80, of uncertain function, acts through its linkage with the TA-repeat alleles,
    whose own position is required.)"""
    if row.activity_value is not None:
        return row.activity_value < 1
    return row.allele_function in _DECREASED


class PgxCollector:
    """Collects the germline calls at pharmacogene positions while the VCF streams past.

    `has_normal`: the VCF carries a matched normal sample, from which the genotypes are read.
    """

    def __init__(self, kb: KnowledgeBase, build: str, *, has_normal: bool = False) -> None:
        self.kb = kb
        self.build = build
        self.source = "normal" if has_normal else "tumour"
        self.alleles: dict[Key, KnowledgeRow] = {}
        self.repeats: list[RepeatAllele] = []
        self.rows: dict[str, list[KnowledgeRow]] = {}
        self.windows: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for gene in PHARMACOGENES:
            rows = kb.allele_rows(gene, build)
            self.rows[gene] = rows
            for row in rows:
                self.alleles[_key(row)] = row
                repeat = RepeatAllele.of(row)
                if repeat is not None:
                    self.repeats.append(repeat)
        # Where a record can matter at all: each gene's allele positions, widened by the longest
        # repeat shift. Most records of a tumour VCF are elsewhere and are let past at the cost
        # of one comparison.
        reach = max((r.window for r in self.repeats), default=0)
        for rows in self.rows.values():
            if rows:
                positions = [_key(r)[1] for r in rows]
                self.windows[_key(rows[0])[0]].append(
                    (min(positions) - reach, max(positions) + reach)
                )
        self.position_names: dict[Position, str] = {}
        for row in self.alleles.values():
            where = _key(row)[:2]
            self.position_names.setdefault(where, f"{where[0]}:{where[1]} ({_label(row)})")
        self.called: set[Position] = set()
        self.reference_positions: set[Position] = set()
        self.observations: dict[str, list[Observation]] = {g: [] for g in PHARMACOGENES}
        self.unplaced: dict[str, list[str]] = {g: [] for g in PHARMACOGENES}
        self.source_notes: dict[str, list[str]] = {g: [] for g in PHARMACOGENES}
        self.structural_notes: dict[str, list[str]] = {g: [] for g in PHARMACOGENES}

    def may_matter(self, chrom: str, pos: int, length: int = 1) -> bool:
        """Whether a record at chrom:pos spanning `length` bases touches a pharmacogene window."""
        windows = self.windows.get(normalise_chrom(chrom))
        if not windows:
            return False
        return any(start <= pos + length and pos <= end for start, end in windows)

    def mark_read(
        self, chrom: str, pos: int, call: SampleCall | None, end: int | None = None
    ) -> None:
        """A record without a variant allele (a reference call, or a gVCF block to `end`): its
        allele positions count as called when the germline sample has a call there."""
        if call is None or not call.informative:
            return
        plain = normalise_chrom(chrom)
        reference = call.gt is not None and all(a == 0 for a in call.gt)
        for where in self._positions_within(plain, pos, end or pos):
            self.called.add(where)
            if reference:
                self.reference_positions.add(where)

    def structural(self, chrom: str, pos: int, end: int, alt: str) -> None:
        """A structural-variant record left out of the evaluation: where it overlaps a gene's
        allele span, a deletion or copy loss may remove an allele, so the call cannot be firm."""
        plain = normalise_chrom(chrom)
        for gene, rows in self.rows.items():
            places = [_key(r)[1] for r in rows if _key(r)[0] == plain]
            if places and pos <= max(places) and end >= min(places):
                self.structural_notes[gene].append(
                    f"A structural variant ({alt} at {chrom}:{pos}-{end}) overlaps {gene}; "
                    "haicgx does not evaluate structural variants, and a deletion or copy loss "
                    f"there can remove an allele: the call is indeterminate. Test "
                    f"{GENE_TEST[gene]} before {GENE_DRUGS[gene]}."
                )

    def unusable(self, chrom: str, pos: int, end: int, reason: str) -> None:
        """A record left out because its alleles cannot be evaluated (haicgx.vcf.Unusable):
        within a gene's allele span it may have carried an allele, so the call cannot be firm."""
        plain = normalise_chrom(chrom)
        for gene, rows in self.rows.items():
            places = [_key(r)[1] for r in rows if _key(r)[0] == plain]
            if places and pos <= max(places) and end >= min(places):
                self.structural_notes[gene].append(
                    f"The record at {chrom}:{pos}, within {gene}, was left out: {reason}. It may "
                    f"have carried an allele: the call is indeterminate. Test {GENE_TEST[gene]} "
                    f"before {GENE_DRUGS[gene]}."
                )

    def _positions_within(self, plain: str, start: int, end: int) -> list[Position]:
        if end == start:
            return [(plain, start)] if (plain, start) in self.position_names else []
        return [p for p in self.position_names if p[0] == plain and start <= p[1] <= end]

    def offer(
        self,
        *,
        chrom: str,
        pos: int,
        ref: str,
        alt: str,
        germline: SampleCall,
        tumour: SampleCall | None = None,
        filters: list[str],
        left_aligned: bool = False,
    ) -> None:
        """Look at one biallelic record. `germline` is the sample the genotype is read from (the
        normal when there is one); `tumour` is the tumour sample beside a normal, else None.

        `left_aligned` says the records were normalised against the reference (bcftools norm -f):
        then only the written form can be the allele, and shifted spellings are not looked for.
        """
        if not self.may_matter(chrom, pos, len(ref)):
            return
        plain = normalise_chrom(chrom)
        found = self._find(plain, pos, ref, alt, left_aligned)
        gene = found[0].gene if found else None
        call, source = germline, self.source
        if not germline.informative and tumour is not None and tumour.informative:
            call, source = tumour, "tumour"  # the normal has no call here: the safer fallback
            if gene:
                self.source_notes[gene].append(
                    f"{_label(found[0])}: the normal sample has no call at {chrom}:{pos}; read "
                    "from the tumour sample instead."
                )
        if not call.informative:
            return
        row = found[0] if found else None
        more = row is None or row.allele_function != "increased_function"
        genotype = read_genotype(call, lower_activity_more_copies=more)
        self.called.add((plain, pos))
        if row is None:
            if genotype.copies:
                self._note_unplaced(plain, pos, ref, alt)
            return
        self.called.add(_key(row)[:2])  # a shifted spelling calls the allele's own position
        matched_as = found[1]  # type: ignore[index]
        if genotype.copies == 0:
            if genotype.reference:
                self.reference_positions.add(_key(row)[:2])
            if source == "normal" and tumour is not None:
                self._somatic_only(row, tumour, chrom, pos)
            return
        notes = list(genotype.notes)
        if matched_as == "repeat_shift":
            a = row.alteration
            notes.append(
                f"matched through the right-shifted repeat spelling {chrom}:{pos} {ref}>{alt} of "
                f"the left-aligned {a.chrom}:{a.pos} {a.ref}>{a.alt}; the VCF was not normalised "
                "against a reference, so the repeat tract itself was not checked"
            )
        if source == "normal" and tumour is not None and tumour.informative:
            in_tumour = read_genotype(tumour, lower_activity_more_copies=more)
            if in_tumour.copies == 0:
                notes.append(
                    f"carried by the normal sample ({genotype.text}) but not seen in the tumour "
                    f"({in_tumour.text}, allele fraction {tumour.vaf}): possible loss of "
                    "heterozygosity in the tumour; the germline call from the normal is used"
                )
        self._add(
            Observation(
                row=row,
                chrom=chrom,
                pos=pos,
                ref=ref,
                alt=alt,
                genotype=genotype.text,
                copies=genotype.copies,
                phased_haplotypes=genotype.haplotypes,
                phase_set=call.phase_set,
                vaf=call.vaf,
                depth=call.depth,
                filters=[f for f in filters if f != "PASS"],
                matched_as=matched_as,
                source=source,
                alternative=genotype.alternative,
                ambiguous=genotype.ambiguous,
                notes=notes,
            )
        )

    def _somatic_only(self, row: KnowledgeRow, tumour: SampleCall, chrom: str, pos: int) -> None:
        """A table allele the tumour carries and the normal does not: somatic, not germline."""
        if tumour.informative and read_genotype(tumour).copies > 0:
            self.source_notes[row.gene].append(
                f"{_label(row)} is seen in the tumour ({tumour.text}, allele fraction "
                f"{tumour.vaf}) but not in the normal sample at {chrom}:{pos}: read as somatic, "
                "which does not change the patient's germline genotype."
            )

    def _find(
        self, plain: str, pos: int, ref: str, alt: str, left_aligned: bool
    ) -> tuple[KnowledgeRow, str] | None:
        """The table's allele this record spells, and how: exact, trimmed or repeat_shift."""
        row = self.alleles.get((plain, pos, ref, alt))
        if row is not None:
            return row, "exact"
        tpos, tref, talt = trim_allele(pos, ref, alt)
        row = self.alleles.get((plain, tpos, tref, talt))
        if row is not None:
            return row, "trimmed"
        if left_aligned:
            return None
        for repeat in self.repeats:
            if repeat.shifted(plain, tpos, tref, talt):
                return repeat.row, "repeat_shift"
        return None

    def _note_unplaced(self, plain: str, pos: int, ref: str, alt: str) -> None:
        """An indel in the repeat of a table allele that is none of its alleles: say so."""
        tpos, tref, talt = trim_allele(pos, ref, alt)
        if indel_bases(tref, talt) is None:
            return
        for repeat in self.repeats:
            if repeat.near(plain, tpos):
                self.unplaced[repeat.row.gene].append(
                    f"The indel {plain}:{pos} {ref}>{alt} lies in the repeat of "
                    f"{repeat.row.allele_name} but matches no allele of the knowledge table: "
                    "genotype this region by a validated method."
                )
                return

    def _add(self, observation: Observation) -> None:
        """Keep one observation per allele: two spellings of one allele are one call."""
        gene = observation.row.gene
        for i, seen in enumerate(self.observations[gene]):
            if seen.row.kb_id == observation.row.kb_id:
                keep = max(seen, observation, key=lambda o: o.copies)
                keep.notes.append(
                    f"written twice in the VCF ({seen.chrom}:{seen.pos} {seen.ref}>{seen.alt} and "
                    f"{observation.chrom}:{observation.pos} {observation.ref}>{observation.alt}): "
                    "counted once; confirm the genotype"
                )
                self.observations[gene][i] = keep
                return
        self.observations[gene].append(observation)

    def call(self) -> dict[str, PgxCall]:
        return {DPYD: self._call_dpyd(), UGT1A1: self._call_ugt1a1()}

    # -- evidence of genotyping -----------------------------------------------------------------

    def _coverage(self, gene: str) -> tuple[list[str], list[str], bool]:
        """Positions called and missing (named), and whether every position that could lower
        the activity was called (HapB3's causal SNP and its proxy count as one)."""
        rows = self.rows[gene]
        positions = sorted({_key(r)[:2] for r in rows}, key=lambda p: p[1])
        called = [p for p in positions if p in self.called]
        missing = [p for p in positions if p not in self.called]
        causal, proxy = HAPB3.get(self.build, (None, None))
        loci: dict[Key, set[Position]] = defaultdict(set)
        for r in rows:
            if _lowering_row(r):
                loci[causal if _key(r) == proxy else _key(r)].add(_key(r)[:2])
        complete = all(places & self.called for places in loci.values())
        names = self.position_names
        return [names[p] for p in called], [names[p] for p in missing], complete

    def _not_assessed(self, gene: str, called: list[str], missing: list[str]) -> PgxCall | None:
        """The call of a gene this VCF cannot speak to, or None when it can."""
        if not self.rows[gene]:
            why = (
                f"The knowledge table has no {gene} allele definitions for {self.build}, so "
                f"{gene} was not assessed on this build"
            )
        elif not called:
            why = (
                f"None of the {len(missing)} {gene} allele-defining positions has a call in the "
                f"{self.source} sample: a variant-only VCF reports no reference calls, so absence "
                f"of a record is not a reference genotype, and {gene} was not assessed"
            )
        else:
            return None
        note = f"{why}. Test {GENE_TEST[gene]} before {GENE_DRUGS[gene]}."
        return PgxCall(gene, "not_assessed", None, [], [note], positions_missing=missing)

    def _status(
        self, gene: str, observations: list[Observation], complete: bool, missing: list[str]
    ) -> tuple[str, list[str]]:
        notes = []
        if not complete:
            shown = "; ".join(missing[:6]) + (
                f" and {len(missing) - 6} more" if len(missing) > 6 else ""
            )
            notes.append(
                f"{len(missing)} {gene} allele-defining position(s) have no call ({shown}): an "
                "allele there can be neither confirmed nor excluded, so the call is indeterminate "
                f"and can only overstate the activity. Test {GENE_TEST[gene]} before "
                f"{GENE_DRUGS[gene]}."
            )
        ambiguous = [o for o in observations if o.ambiguous]
        for o in ambiguous:
            notes.append(f"{_label(o.row)}: zygosity could not be told from the file; confirm it.")
        notes += self.structural_notes[gene]
        firm = complete and not ambiguous and not self.structural_notes[gene]
        return ("assessed" if firm else "indeterminate"), notes

    # -- DPYD -------------------------------------------------------------------------------

    def _call_dpyd(self) -> PgxCall:
        called, missing, complete = self._coverage(DPYD)
        if (none := self._not_assessed(DPYD, called, missing)) is not None:
            return none
        observations = self.observations[DPYD]
        notes: list[str] = []
        counted = self._resolve_hapb3(observations, notes)
        score = activity_score(counted)
        status, more = self._status(DPYD, counted, complete, missing)
        notes = more + notes
        notes += dpyd_notes(counted, self.build)
        notes += _germline_notes(observations)
        notes += _alternative_readings(
            counted, lambda obs: f"activity score {_dpyd_text(activity_score(obs))}"
        )
        notes += self.source_notes[DPYD] + self.unplaced[DPYD]
        key = dpyd_phenotype(score)
        shown = score if status == "assessed" or score < 2 else None
        call = PgxCall(
            DPYD,
            status,
            key if shown is not None else None,
            observations,
            notes,
            activity_score=shown,
            genotype_source=self.source,
            positions_called=called,
            positions_missing=missing,
        )
        if shown is not None:  # what was found can only overstate the activity
            call.rules = [
                r
                for r in self.kb.rules_for(DPYD)
                if r.alteration.level == "activity_score"
                and r.alteration.score_range[0] <= score <= r.alteration.score_range[1]  # type: ignore[index]
            ]
        return call

    def _resolve_hapb3(
        self, observations: list[Observation], notes: list[str]
    ) -> list[Observation]:
        """Count HapB3 once: the causal intronic SNP when called, else its proxy, with a warning."""
        pair = HAPB3.get(self.build)
        if pair is None:
            return observations
        causal, proxy = pair
        has_causal = any(_key(o.row) == causal for o in observations)
        causal_reference = causal[:2] in self.reference_positions
        counted = []
        for o in observations:
            if _key(o.row) == proxy:
                if has_causal:
                    continue  # the same haplotype, already counted through the causal SNP
                if causal_reference:
                    notes.append(
                        "The HapB3 proxy c.1236G>A (rs56038477) is present but the causal "
                        "c.1129-5923C>G (rs75017182) was called reference: HapB3 not counted."
                    )
                    continue
                notes.append(
                    "HapB3 was inferred from its exonic proxy c.1236G>A (rs56038477) because the "
                    "causal intronic c.1129-5923C>G (rs75017182) is not in the VCF."
                )
            counted.append(o)
        return counted

    # -- UGT1A1 -----------------------------------------------------------------------------

    def _call_ugt1a1(self) -> PgxCall:
        called, missing, complete = self._coverage(UGT1A1)
        if (none := self._not_assessed(UGT1A1, called, missing)) is not None:
            return none
        observations = self.observations[UGT1A1]
        status, notes = self._status(UGT1A1, observations, complete, missing)
        notes += _germline_notes(observations)
        haplotypes, more = ugt1a1_haplotypes(observations)
        notes += more
        diplotype, key = ugt1a1_diplotype(haplotypes)
        notes += _ugt1a1_haplotype_notes(haplotypes, diplotype, key)
        notes += self._repeat_notes(observations, haplotypes, key)
        notes += _alternative_readings(observations, _ugt1a1_text)
        notes += self.source_notes[UGT1A1] + self.unplaced[UGT1A1]
        if key == "indeterminate_metabolizer":
            status = "indeterminate"
        call = PgxCall(
            UGT1A1,
            status,
            key,
            observations,
            notes,
            diplotype=diplotype,
            genotype_source=self.source,
            positions_called=called,
            positions_missing=missing,
        )
        call.rules = [
            r
            for r in self.kb.rules_for(UGT1A1)
            if r.alteration.level == "phenotype" and r.alteration.phenotype == key
        ]
        return call

    def _repeat_notes(
        self, observations: list[Observation], haplotypes: list[Haplotype], key: str
    ) -> list[str]:
        """What a VCF without a TA-repeat call leaves open, and what *80 then suggests."""
        loci = {(r.chrom, r.pos) for r in self.repeats if r.row.gene == UGT1A1}
        repeat_ids = {r.row.kb_id for r in self.repeats if r.row.gene == UGT1A1}
        if not loci or any(o.row.kb_id in repeat_ids for o in observations):
            return []
        if loci & self.called:
            return []
        notes = [
            "The VCF has no call at the *28 promoter TA repeat, which short-read callers often "
            "miss: *28 and *37 can be neither confirmed nor excluded."
        ]
        star28 = next((r.row for r in self.repeats if _star(r.row) == "*28"), None)
        if star28 is None or not any(STAR80 in h.stars for h in haplotypes):
            return notes
        # *80 is in strong linkage with *28: the call if *28 rides with every *80 copy.
        linked = [
            _name_haplotype([*h.alleles, ("*28", star28.allele_function)])
            if STAR80 in h.stars and not set(h.stars) & set(COMBINES_WITH_80)
            else h
            for h in haplotypes
        ]
        alt_diplotype, alt_key = ugt1a1_diplotype(linked)
        if alt_key != key:
            notes.append(
                "*80 (rs887829) is in strong linkage with *28; if *28 travels with it the call "
                f"is {alt_diplotype or 'without a CPIC name'} ({PHENOTYPE_LABELS[alt_key]}): "
                "genotype the TA repeat before irinotecan."
            )
        return notes


def _dpyd_text(score: float) -> str:
    return f"{score:g} ({PHENOTYPE_LABELS[dpyd_phenotype(score)]})"


def _ugt1a1_text(observations: list[Observation]) -> str:
    diplotype, key = ugt1a1_diplotype(ugt1a1_haplotypes(observations)[0])
    return f"{diplotype or 'an unnamed diplotype'} ({PHENOTYPE_LABELS[key]})"


def _alternative_readings(
    observations: list[Observation], describe: Callable[[list[Observation]], str]
) -> list[str]:
    """For each allele whose GT and allele fraction disagree, the call the other reading gives:
    the status follows the lower-activity reading, the note says what the other would mean."""
    notes = []
    chosen = describe(observations)
    for o in observations:
        if o.alternative is None:
            continue
        other = [replace(o, copies=o.alternative, phased_haplotypes=None)] if o.alternative else []
        others = [x for y in observations for x in (other if y is o else [y])]
        reading = {0: "absent from germline DNA", 1: "heterozygous", 2: "homozygous"}
        text = describe(others)
        if text != chosen:
            notes.append(
                f"{_label(o.row)}: the genotype and the allele fraction disagree; the call uses "
                f"the lower-activity reading ({chosen}). If the allele is "
                f"{reading[o.alternative]}, the call is {text}: confirm in germline DNA before "
                "dosing."
            )
    return notes


# -- DPYD rules -------------------------------------------------------------------------------


def _lowers(o: Observation) -> bool:
    return o.row.activity_value is not None and o.row.activity_value < 1


def phased_haplotypes(
    observations: list[Observation],
) -> tuple[list[Observation], list[Observation]] | None:
    """The alleles of each gene copy when phase settles it, else None.

    Homozygous calls sit on both copies whatever their phase; heterozygous calls must all be
    phased within one phase set (a missing PS is one set, as the VCF specification says).
    """
    hets = [o for o in observations if o.copies < 2]
    if any(o.phased_haplotypes is None for o in hets) or len({o.phase_set for o in hets}) > 1:
        return None
    copies: tuple[list[Observation], list[Observation]] = ([], [])
    for o in observations:
        for h in (0, 1) if o.copies >= 2 else o.phased_haplotypes or ():
            if h < 2:
                copies[h].append(o)
    return copies


def activity_score(observations: list[Observation]) -> float:
    """CPIC DPYD activity score from the called alleles.

    Each gene copy counts its lowest-function allele; normal-function alleles (value 1) never
    lower it. When phase settles which copy each allele is on, the two copies are scored
    directly; otherwise the two lowest values are presumed to lie on different copies.
    """
    lowering = [o for o in observations if _lowers(o)]
    if not lowering:
        return 2.0
    copies = phased_haplotypes(lowering)
    if copies is not None:
        return float(sum(min([1.0, *(o.row.activity_value for o in c)]) for c in copies))  # type: ignore[type-var]
    values = sorted(v for o in lowering for v in [o.row.activity_value] * o.copies)
    return float(sum(([*values, 1.0, 1.0])[:2]))  # type: ignore[arg-type]


def dpyd_phenotype(score: float) -> str:
    """CPIC phenotype key for a DPYD activity score.

    >>> [dpyd_phenotype(s) for s in (2.0, 1.5, 1.0, 0.5, 0.0)]  # doctest: +NORMALIZE_WHITESPACE
    ['normal_metabolizer', 'intermediate_metabolizer', 'intermediate_metabolizer',
     'poor_metabolizer', 'poor_metabolizer']
    """
    if score >= 2:
        return "normal_metabolizer"
    if score >= 1:
        return "intermediate_metabolizer"
    return "poor_metabolizer"


def dpyd_notes(counted: list[Observation], build: str) -> list[str]:
    """What the score rests on: presumed phase, extra copies, c.2846A>T homozygosity."""
    lowering = [o for o in counted if _lowers(o)]
    notes = []
    hets = [o for o in lowering if o.copies < 2]
    if len(hets) >= 2 and phased_haplotypes(lowering) is None:
        sets = {o.phase_set for o in hets if o.phased_haplotypes is not None}
        how = (
            "are phased in different phase sets, so their relative phase is unknown; they"
            if len(sets) > 1 and all(o.phased_haplotypes is not None for o in hets)
            else "without phase"
        )
        notes.append(
            f"Two decreased/no-function DPYD alleles {how} are presumed in trans (CPIC);"
            " if they lie in cis the score is underestimated: confirm with DPD phenotyping."
        )
    n_copies = sum(o.copies for o in lowering)
    if n_copies > 2:
        notes.append(
            f"{n_copies} decreased/no-function DPYD allele copies on two gene copies: at least two "
            "share a copy. The score counts the two lowest (CPIC); confirm by phasing or DPD "
            "phenotyping."
        )
    c2846 = C2846.get(build)
    if any(_key(o.row) == c2846 and o.copies >= 2 for o in lowering):
        notes.append(
            "c.2846A>T is homozygous (activity score 1): CPIC notes that c.2846A>T homozygotes "
            "may need a starting-dose reduction of more than 50%; guide the dose by DPD activity "
            "or drug monitoring."
        )
    return notes


# -- UGT1A1 rules -----------------------------------------------------------------------------


def _star(row: KnowledgeRow) -> str:
    m = _STAR.search(row.allele_name)
    return m[0] if m else row.allele_name


def _star_number(star: str) -> tuple[int, str]:
    digits = star.split("+")[0].lstrip("*")
    return (int(digits), star) if digits.isdigit() else (10_000, star)


@dataclass(frozen=True)
class Haplotype:
    """The UGT1A1 alleles on one gene copy, its function and its CPIC/PharmCAT name."""

    alleles: tuple[tuple[str, str], ...]  # (star, allele function)
    function: str
    name: str | None  # None: no named allele combines these

    @property
    def stars(self) -> tuple[str, ...]:
        return tuple(s for s, _ in self.alleles)


def _name_haplotype(alleles: list[tuple[str, str]]) -> Haplotype:
    unique = tuple(sorted(set(alleles), key=lambda a: _star_number(a[0])))
    stars = [s for s, _ in unique]
    if not unique:
        return Haplotype((), "normal_function", "*1")
    if len(unique) == 1:
        return Haplotype(unique, unique[0][1], stars[0])
    others = [a for a in unique if a[0] != STAR80]
    if STAR80 in stars and len(others) == 1 and others[0][0] in COMBINES_WITH_80:
        return Haplotype(unique, others[0][1], f"{STAR80}+{others[0][0]}")
    lowest = min((f for _, f in unique), key=lambda f: _FUNCTION_ORDER.get(f, 2))
    return Haplotype(unique, lowest, None)


def _place_unphased(copies: list[list[tuple[str, str]]], allele: tuple[str, str]) -> int | None:
    """The gene copy an unphased heterozygous allele is put on (None: it cannot be placed).

    Alleles other than *80 go to the copy with fewer alleles, so two decreased-function alleles
    are presumed in trans (as for DPYD). *80 joins a *28/*37 copy (the *80+*28 haplotype,
    PharmCAT's top candidate), else an empty copy.
    """
    if allele[0] != STAR80:
        return 0 if len(copies[0]) <= len(copies[1]) else 1
    for i, c in enumerate(copies):
        stars = {s for s, _ in c}
        if stars & set(COMBINES_WITH_80) and STAR80 not in stars:
            return i
    for i, c in enumerate(copies):
        if not c:
            return i
    return None


def ugt1a1_haplotypes(observations: list[Observation]) -> tuple[list[Haplotype], list[str]]:
    """The two UGT1A1 gene copies: from phase when it settles them, else presumed (with notes)."""
    copies = phased_haplotypes(observations)
    if copies is not None:
        alleles = [[(_star(o.row), o.row.allele_function) for o in c] for c in copies]
        return [_name_haplotype(a) for a in alleles], []
    notes = []
    placed: list[list[tuple[str, str]]] = [[], []]
    order = sorted(
        observations,
        key=lambda o: (
            _star(o.row) == STAR80,
            -o.copies,
            _FUNCTION_ORDER.get(o.row.allele_function, 2),
            _star_number(_star(o.row)),
        ),
    )
    het_stars = {_star(o.row) for o in observations if o.copies < 2}
    for o in order:
        allele = (_star(o.row), o.row.allele_function)
        if o.copies >= 2:
            placed[0].append(allele)
            placed[1].append(allele)
            continue
        where = _place_unphased(placed, allele)
        if where is None:
            notes.append(
                "*80 was also found but, without phase, fits neither gene copy: it is left out "
                "of the diplotype (uncertain function; it does not change the irinotecan rule)."
            )
            continue
        if allele[0] == STAR80 and {s for s, _ in placed[where]} & het_stars:
            notes.append(
                "*80 and a heterozygous TA-repeat allele without phase are reported on one gene "
                "copy (*80+*28 or *80+*37: they usually travel together, PharmCAT's top "
                "candidate); the two on different copies is also possible."
            )
        placed[where].append(allele)
    haplotypes = [_name_haplotype(a) for a in placed]
    if any(len([s for s in h.stars if s != STAR80]) > 1 for h in haplotypes):
        notes.append(
            "More than two reduced-function UGT1A1 alleles without phase: at least two share a "
            "gene copy, so the diplotype has no CPIC name; phasing is needed to resolve it."
        )
    return haplotypes, notes


def ugt1a1_diplotype(haplotypes: list[Haplotype]) -> tuple[str | None, str]:
    """Diplotype (None without a CPIC name) and phenotype key from the two gene copies.

    Two decreased-function copies make a poor metabolizer even when a copy has no CPIC name;
    otherwise an unnamed or uncertain-function copy (*80 alone) leaves the phenotype indeterminate.
    """
    functions = [h.function for h in haplotypes]
    decreased = sum(f in _DECREASED for f in functions)
    if decreased >= 2:
        key = "poor_metabolizer"
    elif any(h.name is None for h in haplotypes) or "uncertain_function" in functions:
        key = "indeterminate_metabolizer"
    elif decreased == 1:
        key = "intermediate_metabolizer"
    else:
        key = "normal_metabolizer"
    if any(h.name is None for h in haplotypes):
        return None, key
    names = sorted((h.name or "" for h in haplotypes), key=_star_number)
    return "/".join(names), key


def _ugt1a1_haplotype_notes(
    haplotypes: list[Haplotype], diplotype: str | None, key: str
) -> list[str]:
    if diplotype is not None:
        return []
    described = " and ".join("+".join(h.stars) or "*1" for h in haplotypes)
    if key == "poor_metabolizer":
        consequence = "both gene copies carry a decreased-function allele (poor metabolizer)"
    elif any(h.function in _DECREASED for h in haplotypes):
        consequence = (
            "the other copy has no decreased-function allele, so the poor-metabolizer rule does "
            "not apply"
        )
    else:
        consequence = "the phenotype is indeterminate"
    return [
        f"UGT1A1 gene copies carry {described}: no CPIC allele combines these on one copy "
        f"(PharmCAT makes no call); {consequence}."
    ]


def _label(row: KnowledgeRow) -> str:
    """`DPYD c.1905+1G>A (*2A)`, `UGT1A1*28 (rs3064744)`: the gene once."""
    return (
        row.allele_name if row.allele_name.startswith(row.gene) else f"{row.gene} {row.allele_name}"
    )


def _germline_notes(observations: list[Observation]) -> list[str]:
    notes = []
    for o in observations:
        label = _label(o.row)
        if germline_check(o.vaf, o.copies) == "confirm":
            notes.append(
                f"{label}: VAF {o.vaf} does not fit a germline "
                f"{'homozygous' if o.copies > 1 else 'heterozygous'} call; confirm in germline DNA."
            )
        if o.filters:
            notes.append(
                f"{label}: the caller filtered this record ({';'.join(o.filters)}); it is still "
                "used for dosing safety."
            )
        notes += [f"{label}: {n}" for n in o.notes]
    return notes
