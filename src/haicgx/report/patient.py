"""The patient report's context: everything the templates need, built from the three
per-patient outputs (and the knowledge set they were made with) by the section modules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from haicgx.errors import InputError
from haicgx.pgx.genes import DPYD, UGT1A1
from haicgx.record import recommendation_digest
from haicgx.report.dosing import dose_table
from haicgx.report.evidence import cited_evidence, finding_groups, known_rows
from haicgx.report.formats import report_date
from haicgx.report.inputs import RECOMMENDATION_FILE
from haicgx.report.pharmacogenes import gene_sections, red_banners
from haicgx.report.place import place_key, place_text
from haicgx.report.regimens import regimen_rows
from haicgx.report.vaf_plot import strip_plot
from haicgx.report.variants import VariantDigest, matched_variants
from haicgx.vocab import SITE_COLUMN_PREFIX

if TYPE_CHECKING:
    from haicgx.knowledge import KnowledgeBase

IDENTIFIER_LABELS = {"specimen_id": "Specimen ID", "assay": "Assay"}


def _identifiers(recommendation: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The sheet's identifiers (``identifiers``: column to text) as (label, text), in their
    order: specimen_id and assay, then the site's own site_* columns; empty when there are none.

    >>> _identifiers({"identifiers": {"specimen_id": "S1", "site_mrn": "H2", "x_y": "3"}})
    [('Specimen ID', 'S1'), ('mrn (site)', 'H2'), ('x y', '3')]
    """
    identifiers = recommendation.get("identifiers")
    if not isinstance(identifiers, Mapping):
        return []
    return [
        (_identifier_label(str(k)), str(v))
        for k, v in identifiers.items()
        if v is not None and str(v) != ""
    ]


def _identifier_label(column: str) -> str:
    if column in IDENTIFIER_LABELS:
        return IDENTIFIER_LABELS[column]
    if column.startswith(SITE_COLUMN_PREFIX):
        return f"{column.removeprefix(SITE_COLUMN_PREFIX).replace('_', ' ')} (site)"
    return column.replace("_", " ")


def build_patient_context(
    recommendation: dict[str, Any],
    variants: Iterable[Mapping[str, str]],
    matches: list[dict[str, str]],
    *,
    kb: KnowledgeBase | None = None,
    place: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything the patient template needs, computed from the three per-patient outputs.

    ``place``: the patient's place on its cohort's waitlist (``waiting_place``), or None.

    ``variants`` is read once, as it streams (see VariantDigest). ``kb``: the knowledge set the
    recommendation was made with (its sha256 must be the one in the provenance), for the
    regimens' doses, schedules and trials and the findings' sources; without it the report says
    that those are not shown.
    """
    provenance = recommendation.get("provenance") or {}
    patient_id = str(recommendation.get("patient_id", ""))
    expected = provenance.get("knowledge_sha256")
    if kb is not None and expected and kb.sha256 != expected:
        raise InputError(
            patient_id,
            RECOMMENDATION_FILE,
            f"made with the knowledge set sha256 {expected}, but the report was given "
            f"{kb.sha256} ({kb.paths.get('regimens', 'unknown files')}): the doses and trials "
            "shown would not be those the ranking used; report with the same knowledge set",
        )
    digest = VariantDigest.of(variants, matches)
    regimens = recommendation.get("regimens") or []
    pgx = recommendation.get("pgx") or {}
    findings = recommendation.get("findings") or []
    known = known_rows(recommendation.get("evidence"), matches, kb)
    evidence, anchors = cited_evidence(regimens, known, pgx, findings)
    site = str(recommendation.get("primary_site", ""))
    definitions = kb.regimens_by_id if kb is not None else None
    ranked = regimen_rows(regimens, known, anchors, definitions, site)
    top = ranked[0] if ranked else None
    pgx_genes = gene_sections(pgx, known, anchors, ranked)
    calls = {gene["gene"]: gene["call"] for gene in pgx_genes}
    crcl = recommendation.get("crcl_ml_min")
    return {
        "rec": recommendation,
        "identifiers": _identifiers(recommendation),
        "place": place_text(place) if place else None,
        "place_as_of": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC") if place else "",
        "place_key": place_key(place),
        "recommendation_sha256": recommendation_digest(recommendation),
        "knowledge_given": kb is not None,
        "top": top,
        "ranked": ranked,
        "any_usable": any(row["usable"] for row in ranked),
        "dpyd": calls[DPYD],
        "ugt1a1": calls[UGT1A1],
        "pgx_genes": pgx_genes,
        "dose_groups": dose_table(ranked, pgx_genes, known, crcl),
        "untested_genes": [g["gene"] for g in pgx_genes if g["call"].get("status") != "assessed"],
        "banners": red_banners(calls[DPYD], pgx_genes, top),
        "findings": finding_groups(findings, known, anchors),
        "finding_count": len(findings),
        "matched": matched_variants(digest, matches, anchors),
        "variant_table": digest.table,
        "variant_table_open": digest.table_open,
        "evidence": evidence,
        "plot": strip_plot(digest),
        "variant_count": digest.total,
        "qc": recommendation.get("qc") or {},
        "prov": provenance,
        "report_date": report_date(provenance.get("generated_at")),
    }
