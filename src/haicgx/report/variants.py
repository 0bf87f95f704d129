"""The report's view of variants.tsv and matches.tsv: one streaming pass over the variants
(VariantDigest, bounded memory for a genome-size file), the table of passing variants and the
matched variants joined with their VAF and depth."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from haicgx.report.formats import float_or_none, int_or_none
from haicgx.report.vaf_plot import VAF_PLOT_BINS, VAF_PLOT_MAX_DOTS

# The HTML table of passing variants shows at most this many rows (an exome has tens of thousands;
# the rest are counted, and variants.tsv has them all); it is open when there are at most
# VARIANT_TABLE_OPEN_UP_TO variants, else folded (a <details>, no script).
VARIANT_TABLE_MAX_ROWS = 500
VARIANT_TABLE_OPEN_UP_TO = 40


def _variant_key(row: Mapping[str, str]) -> tuple[str, str, str, str]:
    """Join key of an allele between variants.tsv and matches.tsv."""
    return (row["chrom"].strip(), row["pos"].strip(), row["ref"].strip(), row["alt"].strip())


@dataclass
class VariantDigest:
    """What the report needs of variants.tsv, gathered in one pass with bounded memory.

    Matched variants are kept whole; of the others only the first VAF_PLOT_MAX_DOTS points and a
    VAF histogram are kept, and the table of passing variants keeps its first
    VARIANT_TABLE_MAX_ROWS rows, so a genome-size variants.tsv never has to fit in memory.
    """

    total: int = 0
    matched: dict[tuple[str, str, str, str], dict[str, str]] = field(default_factory=dict)
    others: list[dict[str, Any]] = field(default_factory=list)
    other_count: int = 0
    bins: list[int] = field(default_factory=lambda: [0] * VAF_PLOT_BINS)
    without_vaf: int = 0
    table: list[dict[str, Any]] = field(default_factory=list)

    @property
    def table_open(self) -> bool:
        """Whether the table of passing variants is shown open rather than folded."""
        return self.total <= VARIANT_TABLE_OPEN_UP_TO

    @classmethod
    def of(
        cls, variants: Iterable[Mapping[str, str]], matches: list[dict[str, str]]
    ) -> VariantDigest:
        digest = cls()
        matched_keys = {_variant_key(row) for row in matches}
        for variant in variants:
            digest.total += 1
            key = _variant_key(variant)
            if len(digest.table) < VARIANT_TABLE_MAX_ROWS:
                digest.table.append(_table_variant(variant, key in matched_keys))
            if key in matched_keys:
                digest.matched[key] = dict(variant)
                continue
            vaf = float_or_none(variant.get("vaf"))
            if vaf is None:
                digest.without_vaf += 1
                continue
            digest.other_count += 1
            index = int(min(max(vaf, 0.0), 1.0) * VAF_PLOT_BINS)
            digest.bins[min(index, VAF_PLOT_BINS - 1)] += 1
            if len(digest.others) < VAF_PLOT_MAX_DOTS:
                label = variant.get("protein_change") or f"{variant['chrom']}:{variant['pos']}"
                digest.others.append({"vaf": vaf, "gene": variant.get("gene", ""), "label": label})
        return digest


def _table_variant(variant: Mapping[str, str], matched: bool) -> dict[str, Any]:
    """One row of the passing-variant table (variants.tsv text, numbers parsed)."""
    return {
        "genomic": f"{variant['chrom']}:{variant['pos']} {variant['ref']}>{variant['alt']}",
        "gene": variant.get("gene", ""),
        "protein_change": variant.get("protein_change", ""),
        "consequence": variant.get("consequence", ""),
        "transcript": variant.get("transcript", ""),
        "exon": variant.get("exon", ""),
        "vaf": float_or_none(variant.get("vaf")),
        "depth": int_or_none(variant.get("depth")),
        "alt_reads": int_or_none(variant.get("alt_reads")),
        "genotype": variant.get("genotype", ""),
        "germline_check": variant.get("germline_check", ""),
        "matched": matched,
    }


def matched_variants(
    digest: VariantDigest, matches: list[dict[str, str]], anchors: Mapping[str, str]
) -> list[dict[str, Any]]:
    """matches.tsv joined with variants.tsv for VAF and depth, in matches.tsv order."""
    by_key = digest.matched
    rows = []
    for match in matches:
        variant = by_key.get(_variant_key(match), {})
        rows.append(
            {
                "kb_id": match["kb_id"],
                "anchor": anchors.get(match["kb_id"]),
                "gene": match["gene"] or variant.get("gene", ""),
                "protein_change": match["protein_change"] or variant.get("protein_change", ""),
                "genomic": f"{match['chrom']}:{match['pos']} {match['ref']}>{match['alt']}",
                "vaf": float_or_none(variant.get("vaf")),
                "depth": int_or_none(variant.get("depth")),
                "match_level": match["match_level"],
                "drug": match["drug"],
                "effect": match["effect"],
                "evidence_level": match["evidence_level"],
                "tumour_context_fit": match["tumour_context_fit"],
                "source": match["source"],
            }
        )
    return rows
