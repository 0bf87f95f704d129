"""The UGT1A1 rules (CPIC/PharmCAT allele functions): the two gene copies from phase or presumed,
*80 combined with *28/*37 on one copy (PharmCAT's *80+*28 and *80+*37), the diplotype and
phenotype, and what a VCF without a TA-repeat call leaves open."""

from __future__ import annotations

import re
from dataclasses import dataclass

from haicgx.knowledge import KnowledgeRow
from haicgx.pgx.calls import (
    DECREASED,
    FUNCTION_ORDER,
    PHENOTYPE_LABELS,
    Observation,
    Position,
    phased_haplotypes,
)
from haicgx.pgx.genes import COMBINES_WITH_80, STAR80, UGT1A1
from haicgx.pgx.repeat import RepeatAllele

_STAR = re.compile(r"\*\d+")


def ugt1a1_text(observations: list[Observation]) -> str:
    diplotype, key = ugt1a1_diplotype(ugt1a1_haplotypes(observations)[0])
    return f"{diplotype or 'an unnamed diplotype'} ({PHENOTYPE_LABELS[key]})"


def star_of(row: KnowledgeRow) -> str:
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


def name_haplotype(alleles: list[tuple[str, str]]) -> Haplotype:
    unique = tuple(sorted(set(alleles), key=lambda a: _star_number(a[0])))
    stars = [s for s, _ in unique]
    if not unique:
        return Haplotype((), "normal_function", "*1")
    if len(unique) == 1:
        return Haplotype(unique, unique[0][1], stars[0])
    others = [a for a in unique if a[0] != STAR80]
    if STAR80 in stars and len(others) == 1 and others[0][0] in COMBINES_WITH_80:
        return Haplotype(unique, others[0][1], f"{STAR80}+{others[0][0]}")
    lowest = min((f for _, f in unique), key=lambda f: FUNCTION_ORDER.get(f, 2))
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
        alleles = [[(star_of(o.row), o.row.allele_function) for o in c] for c in copies]
        return [name_haplotype(a) for a in alleles], []
    notes = []
    placed: list[list[tuple[str, str]]] = [[], []]
    order = sorted(
        observations,
        key=lambda o: (
            star_of(o.row) == STAR80,
            -o.copies,
            FUNCTION_ORDER.get(o.row.allele_function, 2),
            _star_number(star_of(o.row)),
        ),
    )
    het_stars = {star_of(o.row) for o in observations if o.copies < 2}
    for o in order:
        allele = (star_of(o.row), o.row.allele_function)
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
    haplotypes = [name_haplotype(a) for a in placed]
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
    decreased = sum(f in DECREASED for f in functions)
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


def ugt1a1_haplotype_notes(
    haplotypes: list[Haplotype], diplotype: str | None, key: str
) -> list[str]:
    if diplotype is not None:
        return []
    described = " and ".join("+".join(h.stars) or "*1" for h in haplotypes)
    if key == "poor_metabolizer":
        consequence = "both gene copies carry a decreased-function allele (poor metabolizer)"
    elif any(h.function in DECREASED for h in haplotypes):
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


def repeat_notes(
    repeats: list[RepeatAllele],
    called: set[Position],
    observations: list[Observation],
    haplotypes: list[Haplotype],
    key: str,
) -> list[str]:
    """What a VCF without a TA-repeat call leaves open, and what *80 then suggests.
    `repeats`: the table's repeat alleles; `called`: the positions the germline sample called."""
    ugt = [r for r in repeats if r.row.gene == UGT1A1]
    loci = {(r.chrom, r.pos) for r in ugt}
    repeat_ids = {r.row.kb_id for r in ugt}
    if not loci or any(o.row.kb_id in repeat_ids for o in observations):
        return []
    if loci & called:
        return []
    notes = [
        "The VCF has no call at the *28 promoter TA repeat, which short-read callers often "
        "miss: *28 and *37 can be neither confirmed nor excluded."
    ]
    star28 = next((r.row for r in repeats if star_of(r.row) == "*28"), None)
    if star28 is None or not any(STAR80 in h.stars for h in haplotypes):
        return notes
    # *80 is in strong linkage with *28: the call if *28 rides with every *80 copy.
    linked = [
        name_haplotype([*h.alleles, ("*28", star28.allele_function)])
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
