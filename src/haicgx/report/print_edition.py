"""The PDF's print edition: the HTML report's facts stated compactly. Reasons shared by several
regimens move to one block (each row keeps a short head and a reference), matched alleles are
listed once, and the evidence is cited as a list."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from haicgx.report.reasons import distinct_heads, reason_head


def print_regimens(
    ranked: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ranked rows of the PDF with reasons shared by several regimens moved to one block.

    A reason is shared when its kind, text and kb_ids are identical on two or more regimens.
    Each row keeps its own reasons in full and, for a shared one, its kind, a short head and a
    reference (``A1``, ``A2``…) to the block, which states the text and the kb_ids once with the
    ranks it applies to. So a veto, a dose adjustment or a prior failure is still named on the
    row it concerns. Shared reasons of one kind with the same head get heads that tell them
    apart (see distinct_heads).
    """

    def key(reason: Mapping[str, Any]) -> tuple[str, str, tuple[str, ...]]:
        return (reason["kind"], reason["text"], tuple(kb_id for kb_id, _ in reason["cites"]))

    counts: Counter[tuple[str, str, tuple[str, ...]]] = Counter()
    for row in ranked:
        counts.update({key(reason) for reason in row["reasons"]})
    shared: dict[tuple[str, str, tuple[str, ...]], dict[str, Any]] = {}
    rows = []
    for row in ranked:
        reasons = []
        for reason in row["reasons"]:
            kind, text, kb_ids = key(reason)
            item = {
                "kind": kind,
                "text": text,
                "kb_ids": list(kb_ids),
                "grades": reason["grades"],
                "ref": None,
            }
            if counts[(kind, text, kb_ids)] > 1:
                block = shared.setdefault(
                    (kind, text, kb_ids),
                    {
                        "ref": f"A{len(shared) + 1}",
                        "kind": kind,
                        "text": text,
                        "kb_ids": list(kb_ids),
                        "grades": reason["grades"],
                        "head": reason_head(text),
                        "ranks": [],
                    },
                )
                if row.get("rank") not in block["ranks"]:
                    block["ranks"].append(row.get("rank"))
                item["ref"] = block["ref"]
            reasons.append(item)
        rows.append({**row, "reasons": reasons})
    blocks = list(shared.values())
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for block in blocks:
        groups.setdefault((block["kind"], block["head"]), []).append(block)
    head_of = {}
    for (_, head), group in groups.items():
        if len(group) == 1:
            heads = [head]
        elif head:
            heads = distinct_heads(head, [block["text"] for block in group])
        else:  # no short head to start from: the kind and the reference say enough
            heads = [""] * len(group)
        head_of.update({block["ref"]: new for block, new in zip(group, heads, strict=True)})
    for row in rows:
        for item in row["reasons"]:
            if item["ref"]:
                item["head"] = head_of[item["ref"]]
    return rows, blocks


def _print_variants(matched: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per matched allele (matches.tsv has one row per knowledge row), in file order."""
    alleles: dict[str, dict[str, Any]] = {}
    for row in matched:
        allele = alleles.setdefault(
            row["genomic"],
            {
                "gene": row["gene"],
                "protein_change": row["protein_change"],
                "genomic": row["genomic"],
                "vaf": row["vaf"],
                "kb_ids": [],
            },
        )
        if row["kb_id"] and row["kb_id"] not in allele["kb_ids"]:
            allele["kb_ids"].append(row["kb_id"])
    return list(alleles.values())


def _print_evidence(evidence: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cited knowledge rows as (kb_ids, evidence level, source), in order of first citation.

    Rows with the same evidence level and the same source share one entry, so a source cited
    for several drugs or activity-score bands is printed once (and rows without a source, which
    the template refers to the knowledge table, are listed together).
    """
    entries: dict[tuple[str, str], dict[str, Any]] = {}
    for row in evidence:
        source, level = row["source"], row["evidence_level"]
        entry = entries.setdefault(
            (level, source), {"kb_ids": [], "evidence_level": level, "source": source}
        )
        entry["kb_ids"].append(row["kb_id"])
    return list(entries.values())


def build_print_context(context: Mapping[str, Any]) -> dict[str, Any]:
    """What the PDF template needs on top of the HTML report's context.

    The PDF is a print edition: the same facts as the HTML, stated compactly (see
    print_regimens, _print_variants and _print_evidence).
    """
    rows, shared = print_regimens(context["ranked"])
    return {
        **context,
        "rows": rows,
        "shared": shared,
        "alleles": _print_variants(context["matched"]),
        "cited": _print_evidence(context["evidence"]),
    }
