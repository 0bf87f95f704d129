"""The patient report's pharmacogenomics section: per pharmacogene the call, the rules applied in
full and the regimens that need the gene tested first; and the red banners (DPYD activity score
0 to 0.5, a rank-1 regimen that needs a test first). The gene names come from haicgx.pgx.genes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from haicgx.pgx.genes import DPYD, GENE_DRUGS, PHARMACOGENES, UGT1A1
from haicgx.report.formats import format_number

# The drugs each gene's section names. DPYD's is the report's own wording (it says how floxuridine
# is covered), not GENE_DRUGS's, which the calls' messages use.
PGX_GENE_DRUGS: dict[str, str] = {
    DPYD: "fluorouracil, capecitabine, tegafur; floxuridine by inference",
    UGT1A1: GENE_DRUGS[UGT1A1],
}
# What the report shows of a gene the recommendation has no call for.
NOT_REPORTED: dict[str, Any] = {"status": "not_assessed", "phenotype": "not reported"}
# CPIC: an activity score below 2 means reduced DPD activity.
DPYD_NORMAL_ACTIVITY = 2.0
# CPIC and DPWG: at activity score 0 or 0.5 avoid fluoropyrimidines; the report shows a red banner.
DPYD_CONTRAINDICATED_AT_MOST = 0.5


def _reason_gene(reason: Mapping[str, Any]) -> str | None:
    """The pharmacogene a reason is about: by its knowledge rows' ids, else by its first word."""
    for gene in PHARMACOGENES:
        if any(kb_id.upper().startswith(f"{gene}-") for kb_id, _ in reason["cites"]):
            return gene
    first = str(reason["text"]).split(" ", 1)[0]
    return first if first in PHARMACOGENES else None


def _pgx_basis(gene: str, call: Mapping[str, Any]) -> str:
    """What a pharmacogene rule was applied on, in a few words.

    >>> _pgx_basis("DPYD", {"activity_score": 1.5, "phenotype": "Intermediate Metabolizer"})
    'DPYD activity score 1.5 (Intermediate Metabolizer)'
    >>> _pgx_basis("UGT1A1", {"diplotype": "*28/*28", "phenotype": "Poor Metabolizer"})
    'UGT1A1 *28/*28 (Poor Metabolizer)'
    """
    phenotype = call.get("phenotype", "")
    if call.get("activity_score") is not None:
        return f"{gene} activity score {format_number(call['activity_score'])} ({phenotype})"
    return f"{gene} {call.get('diplotype') or 'no diplotype'} ({phenotype})"


def gene_sections(
    pgx: Mapping[str, Any],
    known: Mapping[str, Mapping[str, Any]],
    anchors: Mapping[str, str],
    ranked: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Per pharmacogene: the call, its alleles, the full text of each rule applied and the
    regimens that need the gene tested before the first dose."""
    genes = []
    for gene in PHARMACOGENES:
        call = pgx.get(gene) or dict(NOT_REPORTED)
        rules = []
        for kb_id in call.get("rules") or []:
            row = known.get(kb_id, {})
            rules.append(
                {
                    "kb_id": kb_id,
                    "anchor": anchors.get(kb_id),
                    "drugs": list(row.get("drugs") or []),
                    "effect": row.get("effect", ""),
                    "evidence_level": row.get("evidence_level", ""),
                    "source": row.get("source", ""),
                    "note": row.get("note", ""),
                }
            )
        tests = [
            {"rank": row.get("rank"), "name": row.get("name"), "text": reason["text"]}
            for row in ranked
            for reason in row["reasons"]
            if reason["test_first"] and _reason_gene(reason) == gene
        ]
        genes.append(
            {
                "gene": gene,
                "drugs": PGX_GENE_DRUGS[gene],
                "call": call,
                "basis": _pgx_basis(gene, call),
                "rules": rules,
                "tests_first": tests,
            }
        )
    return genes


def red_banners(
    dpyd: Mapping[str, Any], pgx_genes: list[dict[str, Any]], top: Mapping[str, Any] | None
) -> list[str]:
    """Red banners: DPYD activity score 0 to 0.5, and a rank-1 regimen that needs a test first."""
    banners = []
    score = dpyd.get("activity_score")
    if isinstance(score, int | float) and score <= DPYD_CONTRAINDICATED_AT_MOST:
        rules = next(g["rules"] for g in pgx_genes if g["gene"] == DPYD)
        avoid = [d for r in rules if r["effect"] == "contraindication" for d in r["drugs"]]
        if dpyd.get("status") == "assessed":
            text = f"DPYD activity score {format_number(score)}: {dpyd.get('phenotype', '')}."
        else:  # the missing positions can only lower the score the alleles found give
            text = (
                f"DPYD activity score {format_number(score)} from the alleles found (the call is "
                f"{str(dpyd.get('status', '')).replace('_', ' ')}: positions without a call can "
                "only lower it)."
            )
        if avoid:
            text += f" Contraindicated by guideline: {', '.join(dict.fromkeys(avoid))}."
        banners.append(text + " Do not start a fluoropyrimidine before the pharmacist's review.")
    if top is not None:
        for text in top.get("tests_first") or []:
            banners.append(f"Rank 1, {top['name']}: {text}")
    return banners
