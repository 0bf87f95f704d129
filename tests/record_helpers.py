"""Recommendations and record writes shared by the record tests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from haicgx import record
from haicgx.cohorts import Cohort, Cohorts

COHORTS = Cohorts(
    "test",
    (
        Cohort("CRC", "Colorectal", ("colorectal",), max_patients=2),
        Cohort("UGI", "Upper GI", ("gastric", "biliary")),
    ),
)
RANKED = ("haic_folfox", "haic_fuop", "haic_raltitrexed")
NOW = "2026-11-25T10:00:00Z"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def recommendation(
    patient: str,
    site: str = "colorectal",
    *,
    ranked: tuple[str, ...] = RANKED,
    cohort: str | None = None,
    generated_at: str = NOW,
    contraindicated: tuple[str, ...] = (),
) -> dict[str, Any]:
    cohort = cohort or {"colorectal": "CRC", "gastric": "UGI"}.get(site)
    regimens = [
        {
            "rank": i + 1,
            "regimen_id": r,
            "status": "contraindicated" if r in contraindicated else "recommended",
            "reasons": (
                [{"kind": "pgx", "text": "DPYD activity score 0: no fluorouracil.", "kb_ids": []}]
                if r in contraindicated
                else []
            ),
        }
        for i, r in enumerate(ranked)
    ]
    return {
        "patient_id": patient,
        "primary_site": site,
        "cohort": cohort,
        # Ranks listed out of order on purpose: the record must use rank, not position.
        "regimens": regimens[::-1],
        "provenance": {"pipeline_version": "0.1.0", "generated_at": generated_at},
    }


def write_recommendation(db: Path, rec: dict[str, Any]) -> Path:
    """Where the run publishes it: patients/{id}/recommendation.json beside the record."""
    path = record.recommendation_path(db, rec["patient_id"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec, indent=2), encoding="utf-8")
    return path


def put(db: Path, patient: str, vcf: str = "v1", **kwargs: Any) -> record.RecordOutcome:
    """Publish a recommendation beside the record, then record it, as a run does."""
    cohorts = kwargs.pop("cohorts", COHORTS)
    rec = recommendation(patient, **kwargs)
    write_recommendation(db, rec)
    return record.record_recommendation(
        db,
        recommendation=rec,
        vcf_sha256=sha(f"{patient}-{vcf}"),
        recommendation_sha256=record.recommendation_digest(rec),
        knowledge_sha256=sha("knowledge"),
        pipeline_version="0.1.0",
        cohorts=cohorts,
        now=NOW,
    )


def statuses(db: Path, patient: str) -> list[tuple[int, str]]:
    return [(row["version"], row["status"]) for row in record.history(db, patient)]


def current(db: Path, patient: str) -> dict[str, Any]:
    return next(row for row in record.current_assignments(db) if row["patient_id"] == patient)
