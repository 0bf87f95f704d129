"""What the patient report cites: every knowledge row it can name, the evidence list in order of
first citation (with its ``ev-N`` anchors), a reason's or finding's citations, and the findings
grouped by kind."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from haicgx.pgx.genes import PHARMACOGENES

if TYPE_CHECKING:
    from haicgx.knowledge import KnowledgeBase

# The findings section, in this order (recommendation.schema.json `findings[].kind`).
FINDING_KINDS: tuple[tuple[str, str], ...] = (
    ("targetable", "Targetable alterations"),
    ("germline_referral", "Germline referral"),
    ("msi_dmmr", "Possible MSI-H / dMMR"),
    ("resistance_marker", "Resistance markers"),
    ("other", "Other notes (e.g. known benign alleles)"),
)


def known_rows(
    cited: list[dict[str, Any]] | None,
    matches: list[dict[str, str]],
    kb: KnowledgeBase | None,
) -> dict[str, dict[str, Any]]:
    """Every knowledge row the report can cite, by kb_id: gene, drugs, effect, grade, source, note.

    recommendation.json's own ``evidence`` (rule rows, renal bands, regimen cautions, with the
    full note) wins over matches.tsv, which wins over the findings file of the knowledge set.
    """
    rows: dict[str, dict[str, Any]] = {}
    if kb is not None and kb.findings is not None:
        for entry_id, entry in kb.findings.by_id().items():
            gene = getattr(entry, "gene", "") or ", ".join(sorted(getattr(entry, "genes", ())))
            rows[entry_id] = {
                "kb_id": entry_id,
                "gene": gene,
                "drugs": [],
                "effect": "finding",
                "evidence_level": entry.evidence_level,
                "source": entry.source,
                "note": entry.text,
            }
    for match in matches:
        if match["kb_id"]:
            rows[match["kb_id"]] = {
                "kb_id": match["kb_id"],
                "gene": match["gene"],
                "drugs": [d for d in match["drug"].split(";") if d],
                "effect": match["effect"],
                "evidence_level": match["evidence_level"],
                "source": match["source"],
                "note": "",
            }
    for item in cited or []:
        rows[item["kb_id"]] = {"note": "", **item, "drugs": list(item.get("drugs") or [])}
    return rows


def cited_evidence(
    regimens: list[dict[str, Any]],
    known: Mapping[str, Mapping[str, Any]],
    pgx: Mapping[str, Any],
    findings: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Every knowledge row the report cites, in order of first citation, with its anchor id.

    Cited by the regimens' reasons (in rank order), the pharmacogene rules applied, and the
    findings. Anchors are ``ev-N`` rather than the kb_id itself, so an id with odd characters
    can never break the HTML ``id`` attribute.
    """
    cited_by: dict[str, list[str]] = {}

    def cite(kb_id: str, by: str) -> None:
        names = cited_by.setdefault(kb_id, [])
        if by not in names:
            names.append(by)

    for regimen in sorted(regimens, key=lambda item: item.get("rank", 0)):
        for reason in regimen.get("reasons") or []:
            for kb_id in reason.get("kb_ids") or []:
                cite(kb_id, str(regimen.get("name", "")))
    for gene in PHARMACOGENES:
        for kb_id in (pgx.get(gene) or {}).get("rules") or []:
            cite(kb_id, f"pharmacogenomics ({gene})")
    for finding in findings:
        for kb_id in finding.get("kb_ids") or []:
            cite(kb_id, f"finding ({finding.get('gene') or 'no gene'})")
    anchors = {kb_id: f"ev-{number}" for number, kb_id in enumerate(cited_by, start=1)}
    rows = []
    for kb_id, anchor in anchors.items():
        row = known.get(kb_id, {})
        rows.append(
            {
                "kb_id": kb_id,
                "anchor": anchor,
                "gene": row.get("gene", ""),
                "drug": ";".join(row.get("drugs") or []),
                "effect": row.get("effect", ""),
                "evidence_level": row.get("evidence_level", ""),
                "source": row.get("source", ""),
                "cited_by": cited_by[kb_id],
            }
        )
    return rows, anchors


def cites(
    kb_ids: Iterable[str], known: Mapping[str, Mapping[str, Any]], anchors: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The knowledge rows a reason or finding cites, each with its anchor, grade and source."""
    out = []
    for kb_id in kb_ids:
        row = known.get(kb_id, {})
        out.append(
            {
                "kb_id": kb_id,
                "anchor": anchors.get(kb_id),
                "evidence_level": row.get("evidence_level", ""),
                "effect": row.get("effect", ""),
                "source": row.get("source", ""),
            }
        )
    return out


def finding_groups(
    findings: list[dict[str, Any]],
    known: Mapping[str, Mapping[str, Any]],
    anchors: Mapping[str, str],
) -> list[dict[str, Any]]:
    """The findings grouped by kind (FINDING_KINDS order; unknown kinds last, under their code)."""
    labels = dict(FINDING_KINDS)
    groups: dict[str, list[dict[str, Any]]] = {}
    for finding in findings:
        kind = str(finding.get("kind", ""))
        groups.setdefault(kind, []).append(
            {
                "gene": finding.get("gene", ""),
                "text": finding.get("text", ""),
                "cited": cites(finding.get("kb_ids") or [], known, anchors),
            }
        )
    order = [kind for kind, _ in FINDING_KINDS] + sorted(set(groups) - set(labels))
    return [
        {"kind": kind, "label": labels.get(kind, kind.replace("_", " ")), "entries": groups[kind]}
        for kind in order
        if kind in groups
    ]
