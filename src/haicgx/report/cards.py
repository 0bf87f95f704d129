"""A regimen's evidence card: what regimens.yaml says of it (doses and schedule, the evidence in
the patient's primary site with its key study and the others, the sites elsewhere, notes)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from haicgx.doses import dose_text, says_not_verified

if TYPE_CHECKING:
    from haicgx.knowledge import Regimen


def _study(regimen: Regimen, key: str) -> dict[str, Any]:
    """One source of a regimen (regimens.yaml `sources`), as the evidence card shows it."""
    source = regimen.source(key)
    return {
        "key": key,
        "citation": source.get("source", ""),
        "design": source.get("design", ""),
        "n": source.get("n"),
        "finding": source.get("finding", ""),
        "verified_at": source.get("verified_at", ""),
        "unverified": list(source.get("unverified") or []),
    }


def regimen_card(regimen: Regimen | None, site: str) -> dict[str, Any] | None:
    """What regimens.yaml says of a regimen: doses and schedule, evidence in the patient's site.

    None when the report was given no knowledge set or the regimen is not in it.
    """
    if regimen is None:
        return None
    evidence = regimen.evidence_for(site)
    here = None
    if evidence is not None:
        key = _study(regimen, evidence.sources[0])
        here = {
            "level": evidence.level,
            "n": evidence.n,
            "orr": evidence.orr,
            "pfs": evidence.pfs,
            "os": evidence.os,
            "note": evidence.note,
            "unverified": list(evidence.unverified),
            "key": key,
            # what the curators could not verify, of the site entry or of its key study
            "not_verified": list(dict.fromkeys([*key["unverified"], *evidence.unverified])),
            "others": [_study(regimen, key) for key in evidence.sources[1:]],
        }
    return {
        "schedule": regimen.schedule,
        "schedule_not_verified": says_not_verified(regimen.schedule),
        "doses": [
            {"drug": d, "dose": dose_text(regimen.doses_of(d)) if regimen.doses_of(d) else None}
            for d in regimen.drugs
        ],
        "dose_parts": {d: regimen.doses_of(d) for d in regimen.drugs},
        "site": site,
        "evidence": here,
        "elsewhere": [
            {"site": other, "level": e.level, "n": e.n}
            for other, e in regimen.site_evidence.items()
            if other != site
        ],
        "notes": regimen.notes,
    }
