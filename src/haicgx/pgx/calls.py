"""What a pharmacogene call is made of: `Observation` (one table allele found in the germline
sample), `PgxCall` (one gene's status, phenotype, alleles and notes) and the shared helpers both
genes' rules use (allele keys and labels, gene copies from phase, notes on the reading)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from haicgx.genotype import ABSENT_BELOW, SampleCall
from haicgx.knowledge import KnowledgeRow, normalise_chrom
from haicgx.pgx.genes import DPYD
from haicgx.qc import GERMLINE_HOM_MIN, germline_check

STATUSES = ("assessed", "indeterminate", "not_assessed")
READING_RULE = (
    "GT and allele fraction both read; where they disagree, the lower-activity reading sets the "
    f"status (allele fraction below {ABSENT_BELOW:g}: absent; {ABSENT_BELOW:g} up to "
    f"{GERMLINE_HOM_MIN:g}: heterozygous; {GERMLINE_HOM_MIN:g} and above: homozygous)"
)

Key = tuple[str, int, str, str]  # (plain chrom, pos, ref, alt)
Position = tuple[str, int]  # (plain chrom, pos)

PHENOTYPE_LABELS = {
    "normal_metabolizer": "Normal Metabolizer",
    "intermediate_metabolizer": "Intermediate Metabolizer",
    "poor_metabolizer": "Poor Metabolizer",
    "indeterminate_metabolizer": "Indeterminate",
}
FUNCTION_ORDER = {
    "no_function": 0,
    "decreased_function": 1,
    "uncertain_function": 2,
    "normal_function": 3,
    "increased_function": 4,
}
DECREASED = ("decreased_function", "no_function")


@dataclass
class Observation:
    """A call of a pharmacogene allele of the table, in the germline sample."""

    row: KnowledgeRow
    chrom: str
    pos: int
    ref: str
    alt: str
    call: SampleCall  # the germline sample's GT, phase set, allele fraction and depth
    copies: int  # by the reading rule (haicgx.genotype)
    phased_haplotypes: tuple[int, ...] | None  # indices of haplotypes carrying ALT when phased
    filters: list[str]
    matched_as: str = "exact"  # exact, trimmed, repeat_shift
    source: str = "tumour"  # the sample read: normal or tumour
    alternative: int | None = None  # copies by the other reading, when GT and reads disagree
    ambiguous: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def genotype(self) -> str:
        return self.call.text

    @property
    def phase_set(self) -> int | None:
        return self.call.phase_set

    @property
    def vaf(self) -> float | None:
        return self.call.vaf

    @property
    def depth(self) -> int | None:
        return self.call.depth

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


def allele_key(row: KnowledgeRow) -> Key:
    """(plain chrom, pos, ref, alt) of an allele row: its alteration is a genomic one."""
    a = row.alteration
    if a.chrom is None or a.pos is None or a.ref is None or a.alt is None:
        raise ValueError(f"haicgx: allele row {row.kb_id} has no genomic alteration")
    return (a.chrom, a.pos, a.ref, a.alt)


def lowering_row(row: KnowledgeRow) -> bool:
    """Whether an allele can lower activity: a firm call must have looked at its position.
    (UGT1A1 *80, of uncertain function, acts through its linkage with the TA-repeat alleles,
    whose own position is required.)"""
    if row.activity_value is not None:
        return row.activity_value < 1
    return row.allele_function in DECREASED


def alternative_readings(
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
                f"{allele_label(o.row)}: the genotype and the allele fraction disagree; the call "
                f"uses the lower-activity reading ({chosen}). If the allele is "
                f"{reading[o.alternative]}, the call is {text}: confirm in germline DNA before "
                "dosing."
            )
    return notes


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


def allele_label(row: KnowledgeRow) -> str:
    """`DPYD c.1905+1G>A (*2A)`, `UGT1A1*28 (rs3064744)`: the gene once."""
    return (
        row.allele_name if row.allele_name.startswith(row.gene) else f"{row.gene} {row.allele_name}"
    )


def germline_notes(observations: list[Observation]) -> list[str]:
    notes = []
    for o in observations:
        label = allele_label(o.row)
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
