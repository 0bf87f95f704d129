"""What a write is given, checked: a recommendation reduced to an entry, the digest that
identifies it, the text of --by and --note, the time now, and the recommendation.json a decision
is checked against. Nothing here opens the record."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from haicgx.cohorts import Cohorts, cohort_for_site
from haicgx.errors import HaicgxError

# The fields that identify the inputs of a version (see "Identical inputs add nothing").
_INPUT_KEY: tuple[str, ...] = (
    "recommendation_sha256",
    "vcf_sha256",
    "knowledge_sha256",
    "pipeline_version",
)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class _Entry:
    """A recommendation reduced to what the record stores."""

    patient_id: str
    primary_site: str
    cohort_id: str | None
    cohort_max_patients: int | None
    regimen_id: str
    ranked_regimen_ids: tuple[str, ...]
    recommendation_sha256: str
    vcf_sha256: str
    knowledge_sha256: str
    pipeline_version: str


def recommendation_digest(recommendation: dict[str, Any]) -> str:
    """Return the sha256 that identifies a recommendation: canonical JSON without generated_at.

    >>> a = {"patient_id": "P1", "provenance": {"generated_at": "2026-01-01T00:00:00Z"}}
    >>> b = {"provenance": {"generated_at": "2027-05-05T00:00:00Z"}, "patient_id": "P1"}
    >>> recommendation_digest(a) == recommendation_digest(b)
    True
    """
    content = dict(recommendation)
    provenance = dict(content.get("provenance") or {})
    provenance.pop("generated_at", None)
    content["provenance"] = provenance
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _entry_from(
    recommendation: dict[str, Any],
    *,
    cohorts: Cohorts,
    hashes: dict[str, str],
    pipeline_version: str,
) -> _Entry:
    patient_id = recommendation.get("patient_id")
    if not isinstance(patient_id, str) or not patient_id:
        raise HaicgxError("recommendation without a patient_id cannot be recorded")
    for name, value in hashes.items():
        if not isinstance(value, str) or not _SHA256.match(value):
            raise HaicgxError(f"patient {patient_id}: {name} is not a lower-case sha256: {value!r}")
    primary_site = recommendation.get("primary_site")
    if not isinstance(primary_site, str) or not primary_site:
        raise HaicgxError(f"patient {patient_id}: recommendation has no primary_site")
    cohort_id = _cohort_id(recommendation, cohorts, patient_id, primary_site)
    ranked = _ranked_regimen_ids(recommendation, patient_id)
    definition = cohorts.by_id(cohort_id) if cohort_id else None
    return _Entry(
        patient_id=patient_id,
        primary_site=primary_site,
        cohort_id=cohort_id,
        cohort_max_patients=definition.max_patients if definition else None,
        regimen_id=ranked[0],
        ranked_regimen_ids=ranked,
        pipeline_version=_required_text(pipeline_version, "pipeline_version"),
        **hashes,
    )


def _cohort_id(
    recommendation: dict[str, Any], cohorts: Cohorts, patient_id: str, primary_site: str
) -> str | None:
    """The cohorts file decides; a recommendation naming another cohort is an inconsistency."""
    expected = cohort_for_site(cohorts, primary_site)
    stated = recommendation.get("cohort", expected)
    if stated != expected:
        raise HaicgxError(
            f"patient {patient_id}: recommendation names cohort {stated!r} but "
            f"{cohorts.source or 'the cohorts file'} gives {expected!r} for {primary_site}"
        )
    return expected


def _ranked_regimen_ids(recommendation: dict[str, Any], patient_id: str) -> tuple[str, ...]:
    regimens = recommendation.get("regimens")
    try:
        ranked = sorted(regimens or [], key=lambda r: int(r["rank"]))
        ids = tuple(str(r["regimen_id"]) for r in ranked)
        first_rank = int(ranked[0]["rank"]) if ranked else None
    except (KeyError, TypeError, ValueError):
        raise HaicgxError(f"patient {patient_id}: malformed regimens in recommendation") from None
    if first_rank != 1:
        raise HaicgxError(f"patient {patient_id}: recommendation has no regimen ranked 1")
    return ids


def _required_text(value: str | None, name: str) -> str:
    text = (value or "").strip()
    if not text:
        raise HaicgxError(f"{name} must not be empty")
    return text


def _optional_text(value: str | None) -> str | None:
    text = (value or "").strip()
    return text or None


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _read_recommendation(path: Path, patient_id: str) -> dict[str, Any]:
    """The recommendation.json a decision is checked against; one clear line if unusable."""
    if Path(patient_id).name != patient_id or patient_id in (".", ".."):
        raise HaicgxError(f"patient {patient_id} is not in the cohort record")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HaicgxError(
            f"cannot check the decision against patient {patient_id}'s recommendation: "
            f"{path} not found (point --results at the run's results folder)"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HaicgxError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise HaicgxError(f"{path} is not a recommendation (not a JSON object)")
    return data


def _same_inputs(row: sqlite3.Row, entry: _Entry) -> bool:
    return all(row[key] == getattr(entry, key) for key in _INPUT_KEY)
