"""Recording a recommendation as a version: unchanged, added (superseding or beside a decision)
or reverted, and the status a new version enters with (a place, or the waitlist)."""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from haicgx.cohorts import Cohorts
from haicgx.record.append import _add_event, _append, _set_status
from haicgx.record.inputs import _Entry, _entry_from, _same_inputs, _utc_now
from haicgx.record.state import (
    PLACE_STATUSES,
    _current,
    _decided,
    _has_pending,
    _live,
    _patient_rows,
)
from haicgx.record.store import _transaction

log = logging.getLogger("haicgx.record")  # one logger for the whole record, as log lines name it


@dataclass(frozen=True)
class RecordOutcome:
    """What a write did. ``action``: unchanged, added, reverted, confirmed, overridden, released
    or promoted; ``version``/``status``: the patient's version acted on and its status now."""

    patient_id: str
    action: str
    version: int
    status: str
    needs_review: bool = False
    superseded: tuple[int, ...] = ()
    contraindication_acknowledged: bool = False

    def message(self) -> str:
        """One line for logs and the command line."""
        text = f"{self.patient_id} version {self.version}: {self.action}"
        if self.status != self.action:
            text += f" ({self.status})"
        if self.superseded:
            text += f"; superseded version {', '.join(map(str, self.superseded))}"
        if self.needs_review:
            text += "; needs review by the tumour board"
        if self.contraindication_acknowledged:
            text += "; contraindication acknowledged"
        return text


def record_recommendation(
    db_path: str | Path,
    *,
    recommendation: dict[str, Any],
    vcf_sha256: str,
    recommendation_sha256: str,
    knowledge_sha256: str,
    pipeline_version: str,
    cohorts: Cohorts,
    now: str | None = None,
) -> RecordOutcome:
    """Record a patient's recommendation; create the record file if it does not exist.

    ``recommendation_sha256`` must be ``recommendation_digest(recommendation)``.
    """
    entry = _entry_from(
        recommendation,
        cohorts=cohorts,
        hashes={
            "recommendation_sha256": recommendation_sha256,
            "vcf_sha256": vcf_sha256,
            "knowledge_sha256": knowledge_sha256,
        },
        pipeline_version=pipeline_version,
    )
    at = now or _utc_now()
    outcome = _transaction(Path(db_path), lambda conn: _record(conn, entry, at), create=True)
    log.info("cohort record: %s", outcome.message())
    return outcome


def _record(conn: sqlite3.Connection, entry: _Entry, at: str) -> RecordOutcome:
    rows = _patient_rows(conn, entry.patient_id)
    live = _live(rows)
    decided = _decided(live)
    # Compare with the latest live version (a released patient: its latest version).
    baseline = live[-1] if live else (rows[-1] if rows else None)
    if baseline is not None and _same_inputs(baseline, entry):
        current = _current(rows)
        return RecordOutcome(
            entry.patient_id,
            "unchanged",
            current["version"],
            current["status"],
            needs_review=_has_pending(rows),
        )
    pending = [row for row in live if row is not decided]
    if decided is not None and _same_inputs(decided, entry):
        # The inputs are back to those the board decided on: the pending proposal is obsolete.
        note = f"inputs are again those of {decided['status']} version {decided['version']}"
        for row in pending:
            _set_status(conn, row, "superseded", event="superseded", note=note, at=at)
        return RecordOutcome(
            entry.patient_id,
            "reverted",
            decided["version"],
            decided["status"],
            superseded=tuple(row["version"] for row in pending),
        )
    status = _entry_status(conn, entry, rows, live)
    version = rows[-1]["version"] + 1 if rows else 1
    for row in pending:
        note = f"superseded by version {version}"
        _set_status(conn, row, "superseded", event="superseded", note=note, at=at)
    _insert(conn, entry, version, status, at)
    return RecordOutcome(
        entry.patient_id,
        "added",
        version,
        status,
        needs_review=decided is not None,
        superseded=tuple(row["version"] for row in pending),
    )


def _entry_status(
    conn: sqlite3.Connection, entry: _Entry, rows: list[sqlite3.Row], live: list[sqlite3.Row]
) -> str:
    """Status of a new version: keep a place or a queue position, else apply the capacity."""
    if rows and not live:
        return "waitlisted"  # re-entry after a release is explicit: `promote`
    cohort = entry.cohort_id
    if cohort is None:
        return "proposed"
    in_cohort = {row["status"] for row in live if row["cohort_id"] == cohort}
    if in_cohort & set(PLACE_STATUSES):
        return "proposed"
    if "waitlisted" in in_cohort:
        return "waitlisted"
    if entry.cohort_max_patients is None:
        return "proposed"
    full = _places_taken(conn, cohort, entry.patient_id) >= entry.cohort_max_patients
    return "waitlisted" if full or _others_waiting(conn, cohort, entry.patient_id) else "proposed"


def _places_taken(conn: sqlite3.Connection, cohort: str, patient_id: str) -> int:
    """Other patients holding a place in the cohort."""
    marks = ", ".join("?" * len(PLACE_STATUSES))
    sql = (
        "SELECT COUNT(DISTINCT patient_id) FROM assignments "
        f"WHERE cohort_id = ? AND patient_id != ? AND status IN ({marks})"
    )
    return conn.execute(sql, (cohort, patient_id, *PLACE_STATUSES)).fetchone()[0]


def _others_waiting(conn: sqlite3.Connection, cohort: str, patient_id: str) -> bool:
    sql = (
        "SELECT 1 FROM assignments WHERE cohort_id = ? AND patient_id != ? "
        "AND status = 'waitlisted' LIMIT 1"
    )
    return conn.execute(sql, (cohort, patient_id)).fetchone() is not None


def _insert(conn: sqlite3.Connection, entry: _Entry, version: int, status: str, at: str) -> None:
    row = _append(
        conn,
        "assignments",
        {
            "patient_id": entry.patient_id,
            "version": version,
            "cohort_id": entry.cohort_id,
            "cohort_max_patients": entry.cohort_max_patients,
            "primary_site": entry.primary_site,
            "regimen_id": entry.regimen_id,
            "ranked_regimen_ids": json.dumps(list(entry.ranked_regimen_ids)),
            "status": status,
            "recommendation_sha256": entry.recommendation_sha256,
            "vcf_sha256": entry.vcf_sha256,
            "knowledge_sha256": entry.knowledge_sha256,
            "pipeline_version": entry.pipeline_version,
            "created_at": at,
        },
    )
    _add_event(conn, row, "recorded", status, by=None, note=None, at=at)
