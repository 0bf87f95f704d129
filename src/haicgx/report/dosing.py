"""The pharmacist's dosing table: per regimen, each drug a pharmacogene rule or a renal band
applies to, its standard start (regimens.yaml, through haicgx.doses) beside the adjusted one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from haicgx.doses import dose_text, first_sentence, rule_percent
from haicgx.report.formats import format_number


def _dose_row(
    regimen: Mapping[str, Any],
    drug: str,
    rule: Mapping[str, Any],
    anchor: str | None,
    basis: str,
    *,
    renal: bool = False,
) -> dict[str, Any]:
    """One line of the dosing table: a drug of a regimen, its standard and adjusted start.

    The adjusted start: the rule's percentage of the standard dose when both are known; the
    band's text for a renal band; else the rule's own words in short (its text is shown in full
    above the table).
    """
    card = regimen.get("card")
    parts = card["dose_parts"].get(drug) if card else None
    standard = dose_text(parts) if parts else None
    note = str(rule.get("note") or rule.get("text") or "")
    effect = rule.get("effect", "")
    percent = rule_percent(note) if effect == "dose_adjustment" else None
    if effect == "contraindication":
        adjusted = "Do not give: contraindicated by the rule"
    elif percent is not None and parts:
        adjusted = f"{dose_text(parts, percent)} ({percent}% of the standard starting dose)"
    elif percent is not None:
        adjusted = f"{percent}% of the centre's standard starting dose"
    elif renal:
        adjusted = first_sentence(note)  # the band's own text
    else:
        head = first_sentence(note).split(": ", 1)[0]
        adjusted = f"{head}: no guideline percentage (see the rule's text)"
    return {
        "rank": regimen.get("rank"),
        "name": regimen.get("name"),
        "status": regimen.get("status", ""),
        "status_class": regimen["status_class"],
        "drug": drug,
        "standard": standard,
        "known": card is not None,
        "schedule_not_verified": bool(card and card["schedule_not_verified"]),
        "adjusted": adjusted,
        "avoid": effect == "contraindication",
        "renal": renal,
        "kb_id": rule.get("kb_id", ""),
        "anchor": anchor,
        "basis": basis,
    }


def dose_table(
    ranked: list[dict[str, Any]],
    pgx_genes: list[dict[str, Any]],
    known: Mapping[str, Mapping[str, Any]],
    crcl: float | None,
) -> list[dict[str, Any]]:
    """The dosing table: per regimen (rank order), each drug a pharmacogene rule or a renal band
    applies to, with the standard start (regimens.yaml) beside the adjusted one (the rule).

    One group per regimen (its rows under ``doses``), so the regimen is named once.
    """
    groups = []
    for regimen in ranked:
        rows: list[dict[str, Any]] = []
        for gene in pgx_genes:
            for rule in gene["rules"]:
                for drug in rule["drugs"]:
                    if drug in regimen.get("drugs", []):
                        rows.append(_dose_row(regimen, drug, rule, rule["anchor"], gene["basis"]))
        for reason in regimen["reasons"]:
            if reason["kind"] != "renal" or crcl is None:
                continue  # without a CrCl no band applies: the reasons ask for it
            for kb_id, anchor in reason["cites"]:
                rule = {"kb_id": kb_id, **known.get(kb_id, {})}
                for drug in rule.get("drugs") or []:
                    if drug in regimen.get("drugs", []):
                        basis = f"CrCl {format_number(crcl)} mL/min"
                        rows.append(_dose_row(regimen, drug, rule, anchor, basis, renal=True))
        if rows:
            groups.append({**rows[0], "doses": rows})
    return groups
