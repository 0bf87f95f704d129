"""Germline pharmacogenomics from a tumour VCF: DPYD activity score and UGT1A1 diplotype.

Allele functions and activity values come from the knowledge table (`allele_function` rows), so the
table is the one place for them. The rules follow CPIC for DPYD (the two lowest-function alleles,
presumed in trans when unphased; phased genotypes honoured) and CPIC/DPWG allele functions for
UGT1A1. A gene is `assessed` only when the VCF carries calls within its allele span: a tumour VCF
without any call there cannot tell reference from not covered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from haicgx.knowledge import KnowledgeBase, KnowledgeRow, normalise_chrom
from haicgx.qc import germline_check

DPYD = "DPYD"
UGT1A1 = "UGT1A1"
PHARMACOGENES = (DPYD, UGT1A1)
SPAN_MARGIN = 5_000  # calls this close to a gene's allele positions show the region was read

# HapB3: the intronic c.1129-5923C>G (rs75017182) is causal; the exonic c.1236G>A (rs56038477)
# only tags the haplotype. Keyed by build: (chrom, pos, ref, alt) of the causal and proxy alleles.
HAPB3 = {
    "GRCh38": (("1", 97579893, "G", "C"), ("1", 97573863, "C", "T")),
}

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


@dataclass
class Observation:
    """A call at a pharmacogene allele position."""

    row: KnowledgeRow
    chrom: str
    pos: int
    ref: str
    alt: str
    genotype: str
    copies: int
    phased_haplotypes: tuple[int, ...] | None  # indices of haplotypes carrying ALT when phased
    phase_set: int | None
    vaf: float | None
    depth: int | None
    filters: list[str]
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kb_id": self.row.kb_id,
            "allele_name": self.row.allele_name,
            "chrom": self.chrom,
            "pos": self.pos,
            "ref": self.ref,
            "alt": self.alt,
            "genotype": self.genotype,
            "copies": self.copies,
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
    status: str  # assessed | not_assessed
    phenotype_key: str | None
    observations: list[Observation]
    notes: list[str]
    activity_score: float | None = None
    diplotype: str | None = None
    rules: list[KnowledgeRow] = field(default_factory=list)

    @property
    def phenotype(self) -> str:
        if self.status != "assessed" or self.phenotype_key is None:
            return "Not assessed"
        return PHENOTYPE_LABELS[self.phenotype_key]

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status}
        if self.gene == DPYD:
            out["activity_score"] = self.activity_score
        else:
            out["diplotype"] = self.diplotype
        out["phenotype"] = self.phenotype
        out["alleles"] = [o.as_dict() for o in self.observations]
        out["rules"] = [r.kb_id for r in self.rules]
        out["notes"] = list(self.notes)
        return out


class PgxCollector:
    """Collects the calls at pharmacogene positions while the VCF streams past."""

    def __init__(self, kb: KnowledgeBase, build: str) -> None:
        self.kb = kb
        self.build = build
        self.alleles: dict[tuple[str, int, str, str], KnowledgeRow] = {}
        self.spans: dict[str, tuple[str, int, int]] = {}
        for gene in PHARMACOGENES:
            rows = kb.allele_rows(gene, build)
            for row in rows:
                a = row.alteration
                self.alleles[(a.chrom, a.pos, a.ref, a.alt)] = row  # type: ignore[index]
            if rows:
                chrom = rows[0].alteration.chrom
                positions = [r.alteration.pos for r in rows]
                self.spans[gene] = (
                    chrom,  # type: ignore[arg-type]
                    min(positions) - SPAN_MARGIN,  # type: ignore[type-var]
                    max(positions) + SPAN_MARGIN,  # type: ignore[type-var]
                )
        self.covered: set[str] = set()
        self.reference_calls: set[tuple[str, int, str, str]] = set()
        self.observations: dict[str, list[Observation]] = {g: [] for g in PHARMACOGENES}

    def mark_read(self, chrom: str, pos: int) -> str:
        """Note a call (variant or not) at this position; return the contig's plain name."""
        plain = normalise_chrom(chrom)
        for gene, (span_chrom, start, end) in self.spans.items():
            if plain == span_chrom and start <= pos <= end:
                self.covered.add(gene)
        return plain

    def offer(
        self,
        *,
        chrom: str,
        pos: int,
        ref: str,
        alt: str,
        gt: tuple[int | None, ...] | None,
        phased: bool,
        phase_set: int | None,
        vaf: float | None,
        depth: int | None,
        filters: list[str],
    ) -> None:
        plain = self.mark_read(chrom, pos)
        row = self.alleles.get((plain, pos, ref, alt))
        if row is None:
            return
        notes = []
        if gt is None or all(a is None for a in gt):
            copies = 2 if (vaf or 0) >= 0.85 else 1
            genotype = "./."
            notes.append("no genotype in the file: zygosity inferred from the VAF")
            haplotypes = None
        else:
            copies = sum(1 for a in gt if a == 1)
            genotype = ("|" if phased else "/").join("." if a is None else str(a) for a in gt)
            haplotypes = tuple(i for i, a in enumerate(gt) if a == 1) if phased else None
        if copies == 0:  # a reference call: the position was read and carries no variant
            self.reference_calls.add((plain, pos, ref, alt))
            return
        self.observations[row.gene].append(
            Observation(
                row=row,
                chrom=chrom,
                pos=pos,
                ref=ref,
                alt=alt,
                genotype=genotype,
                copies=min(copies, 2),
                phased_haplotypes=haplotypes,
                phase_set=phase_set,
                vaf=vaf,
                depth=depth,
                filters=[f for f in filters if f != "PASS"],
                notes=notes,
            )
        )

    def call(self) -> dict[str, PgxCall]:
        return {DPYD: self._call_dpyd(), UGT1A1: self._call_ugt1a1()}

    # -- DPYD -------------------------------------------------------------------------------

    def _call_dpyd(self) -> PgxCall:
        observations = self.observations[DPYD]
        notes: list[str] = []
        if DPYD not in self.covered:
            return PgxCall(
                DPYD,
                "not_assessed",
                None,
                [],
                [
                    "The VCF has no call within DPYD, so reference cannot be told from not covered:"
                    " confirm DPD status (genotype or phenotype) before any fluoropyrimidine."
                ],
            )
        counted = self._resolve_hapb3(observations, notes)
        score = activity_score(counted)
        if any(o.phased_haplotypes is None for o in counted if _lowers(o)) and (
            sum(o.copies for o in counted if _lowers(o)) >= 2
        ):
            notes.append(
                "Two decreased/no-function DPYD alleles without phase are presumed in trans (CPIC);"
                " if they lie in cis the score is underestimated: confirm with DPD phenotyping."
            )
        notes += _germline_notes(observations)
        key = dpyd_phenotype(score)
        call = PgxCall(DPYD, "assessed", key, observations, notes, activity_score=score)
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

        def key(o: Observation) -> tuple[str, int, str, str]:
            return (normalise_chrom(o.chrom), o.pos, o.ref, o.alt)

        has_causal = any(key(o) == causal for o in observations)
        causal_reference = causal in self.reference_calls
        counted = []
        for o in observations:
            if key(o) == proxy:
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
        observations = self.observations[UGT1A1]
        if UGT1A1 not in self.covered:
            return PgxCall(
                UGT1A1,
                "not_assessed",
                None,
                [],
                [
                    "The VCF has no call near UGT1A1 (*28 promoter TA repeat, *6, *27, *80), so "
                    "its "
                    "genotype is unknown: confirm before irinotecan."
                ],
            )
        notes = _germline_notes(observations)
        diplotype, key, more = ugt1a1_diplotype(observations)
        notes += more
        if not any("*28" in _star(o.row) or "*37" in _star(o.row) for o in observations):
            notes.append(
                "Short-read callers often miss the *28 promoter TA repeat: a missing *28 call is "
                "not proof of its absence."
            )
        call = PgxCall(UGT1A1, "assessed", key, observations, notes, diplotype=diplotype)
        call.rules = [
            r
            for r in self.kb.rules_for(UGT1A1)
            if r.alteration.level == "phenotype" and r.alteration.phenotype == key
        ]
        return call


def _lowers(o: Observation) -> bool:
    return o.row.activity_value is not None and o.row.activity_value < 1


def activity_score(observations: list[Observation]) -> float:
    """CPIC DPYD activity score from the called alleles.

    Each gene copy counts its lowest-function allele; normal-function alleles (value 1) never
    lower it. Phased calls (all in one phase set) give the two haplotypes directly; otherwise the
    two lowest values are presumed to lie on different copies.
    """
    lowering = [o for o in observations if _lowers(o)]
    if not lowering:
        return 2.0
    phase_sets = {o.phase_set for o in lowering}
    if all(o.phased_haplotypes is not None for o in lowering) and len(phase_sets) == 1:
        haplotype_values = [1.0, 1.0]
        for o in lowering:
            for h in o.phased_haplotypes or ():
                if h < 2:
                    haplotype_values[h] = min(haplotype_values[h], o.row.activity_value)  # type: ignore[type-var]
        return float(sum(haplotype_values))
    values = sorted(v for o in lowering for v in [o.row.activity_value] * o.copies)
    lowest = ([*values, 1.0, 1.0])[:2]
    return float(sum(lowest))  # type: ignore[arg-type]


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


def _star(row: KnowledgeRow) -> str:
    m = _STAR.search(row.allele_name)
    return m[0] if m else row.allele_name


def ugt1a1_diplotype(observations: list[Observation]) -> tuple[str, str, list[str]]:
    """Diplotype and phenotype key from the called UGT1A1 alleles (CPIC/DPWG functions)."""
    notes: list[str] = []
    alleles: list[tuple[str, str]] = []
    for o in observations:
        alleles += [(_star(o.row), o.row.allele_function)] * o.copies
    stars = {s for s, _ in alleles}
    if "*80" in stars and stars & {"*28", "*37"}:
        # *80 travels with *28/*37 (the *80+*28 haplotype): it adds no allele of its own.
        alleles = [a for a in alleles if a[0] != "*80"]
        notes.append("*80 was called with *28/*37, as expected of the *80+*28 haplotype.")
    alleles.sort(key=lambda a: (_FUNCTION_ORDER.get(a[1], 2), a[0]))
    if len(alleles) > 2:
        notes.append(
            "More than two non-reference UGT1A1 alleles: the two lowest-function ones are used; "
            "phase is needed to resolve the diplotype."
        )
        alleles = alleles[:2]
    while len(alleles) < 2:
        alleles.append(("*1", "normal_function"))
    functions = [f for _, f in alleles]
    decreased = sum(f in ("decreased_function", "no_function") for f in functions)
    if decreased >= 2:
        key = "poor_metabolizer"
    elif decreased == 1:
        key = "intermediate_metabolizer"
    elif "uncertain_function" in functions:
        key = "indeterminate_metabolizer"
    else:
        key = "normal_metabolizer"
    diplotype = "/".join(sorted((s for s, _ in alleles), key=_star_number))
    return diplotype, key, notes


def _star_number(star: str) -> tuple[int, str]:
    digits = star.lstrip("*")
    return (int(digits), star) if digits.isdigit() else (10_000, star)


def _germline_notes(observations: list[Observation]) -> list[str]:
    notes = []
    for o in observations:
        if germline_check(o.vaf, o.copies) == "confirm":
            notes.append(
                f"{o.row.gene} {o.row.allele_name}: VAF {o.vaf} does not fit a germline "
                f"{'homozygous' if o.copies > 1 else 'heterozygous'} call; confirm in germline DNA."
            )
        if o.filters:
            notes.append(
                f"{o.row.gene} {o.row.allele_name}: the caller filtered this record "
                f"({';'.join(o.filters)}); it is still used for dosing safety."
            )
        notes += [f"{o.row.gene} {o.row.allele_name}: {n}" for n in o.notes]
    return notes
