"""The DPYD rules (CPIC): the activity score from the two lowest-function alleles (presumed in
trans when unphased, phased genotypes honoured within one phase set), its phenotype, HapB3
counted once, and the notes on what the score rests on."""

from __future__ import annotations

from haicgx.pgx.calls import PHENOTYPE_LABELS, Observation, Position, allele_key, phased_haplotypes
from haicgx.pgx.genes import C2846, HAPB3


def dpyd_text(score: float) -> str:
    return f"{score:g} ({PHENOTYPE_LABELS[dpyd_phenotype(score)]})"


def _activity(o: Observation) -> float:
    """An allele's activity value; one without a value does not lower the score."""
    return 1.0 if o.row.activity_value is None else o.row.activity_value


def _lowers(o: Observation) -> bool:
    return _activity(o) < 1


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
        return float(sum(min([1.0, *(_activity(o) for o in c)]) for c in copies))
    values = sorted(v for o in lowering for v in [_activity(o)] * o.copies)
    return float(sum(([*values, 1.0, 1.0])[:2]))


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
    if any(allele_key(o.row) == c2846 and o.copies >= 2 for o in lowering):
        notes.append(
            "c.2846A>T is homozygous (activity score 1): CPIC notes that c.2846A>T homozygotes "
            "may need a starting-dose reduction of more than 50%; guide the dose by DPD activity "
            "or drug monitoring."
        )
    return notes


def resolve_hapb3(
    observations: list[Observation],
    build: str,
    reference_positions: set[Position],
    notes: list[str],
) -> list[Observation]:
    """Count HapB3 once: the causal intronic SNP when called, else its proxy, with a warning.
    `reference_positions`: the positions the germline sample called reference."""
    pair = HAPB3.get(build)
    if pair is None:
        return observations
    causal, proxy = pair
    has_causal = any(allele_key(o.row) == causal for o in observations)
    causal_reference = causal[:2] in reference_positions
    counted = []
    for o in observations:
        if allele_key(o.row) == proxy:
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
