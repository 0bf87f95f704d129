"""Reading the record and deriving its current state: each patient's versions and current one,
the pending proposals beside a decision, the cohorts' places taken and their waitlists."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from haicgx.errors import HaicgxError
from haicgx.record.store import _transaction

# Statuses that hold a place in a cohort, and those that record a tumour-board decision.
PLACE_STATUSES: tuple[str, ...] = ("proposed", "confirmed", "overridden")
DECIDED_STATUSES: tuple[str, ...] = ("confirmed", "overridden")


# Columns of `export_tsv` (and keys of `current_assignments`), in file order. The pending_*
# columns show a proposal awaiting the board beside the decision it would replace.
RECORD_EXPORT_COLUMNS: tuple[str, ...] = (
    "patient_id",
    "version",
    "status",
    "needs_review",
    "pending_version",
    "pending_status",
    "pending_cohort_id",
    "pending_regimen_id",
    "withdrawn",
    "waitlist_position",
    "cohort_id",
    "primary_site",
    "regimen_id",
    "decision_regimen_id",
    "contraindication_acknowledged",
    "decided_by",
    "decided_at",
    "decision_note",
    "recommendation_sha256",
    "vcf_sha256",
    "knowledge_sha256",
    "pipeline_version",
    "created_at",
)


def history(db_path: str | Path, patient_id: str | None = None) -> list[dict[str, Any]]:
    """Every version (of one patient, or of all), ordered by patient and version.

    Each row adds ``current`` (the patient's current version) and ``needs_review`` (a pending
    proposal beside a board decision).
    """
    rows = _transaction(Path(db_path), lambda conn: _all_rows(conn, patient_id), write=False)
    if patient_id is not None and not rows:
        raise HaicgxError(f"patient {patient_id} is not in the cohort record {db_path}")
    out: list[dict[str, Any]] = []
    for patient_rows in _by_patient(rows):
        current = _current(patient_rows)
        for row in patient_rows:
            item = _public(row)
            item["current"] = row is current
            item["needs_review"] = _is_pending_review(row, patient_rows)
            out.append(item)
    return out


def events(db_path: str | Path, patient_id: str | None = None) -> list[dict[str, Any]]:
    """The status-change log (of one patient, or of all), oldest first."""
    sql = "SELECT * FROM events" + (" WHERE patient_id = ?" if patient_id else "") + " ORDER BY id"
    params = (patient_id,) if patient_id else ()
    rows = _transaction(
        Path(db_path), lambda conn: conn.execute(sql, params).fetchall(), write=False
    )
    return [dict(row) for row in rows]


def current_assignments(db_path: str | Path) -> list[dict[str, Any]]:
    """One dict per patient (keys RECORD_EXPORT_COLUMNS): its current version.

    The current version is the live decided one if any, else the latest live one, else (a
    released patient) the latest. ``needs_review`` and the ``pending_*`` keys show a pending
    proposal beside a decision; ``withdrawn`` marks a released patient; ``waitlist_position``
    is the patient's place in its cohort's queue (1 = next), empty when not waiting.
    """
    return cohort_state(db_path)["assignments"]


@dataclass(frozen=True)
class Place:
    """A patient's cohort and its place in it: ``waitlist_position`` 1 is the next to be
    promoted (None when the patient is not waiting); ``places_taken`` counts the patients
    holding a place (proposed, confirmed or overridden); ``max_patients`` None: no limit."""

    patient_id: str
    cohort_id: str | None
    status: str
    waitlist_position: int | None
    waitlist_length: int
    places_taken: int
    max_patients: int | None


def patient_places(db_path: str | Path) -> dict[str, Place]:
    """Each recorded patient's cohort, waitlist position and the cohort's places taken / max.

    The cohort is that of the patient's live waitlisted version when it waits for a place,
    else that of its current version. The waitlist is ordered by when each patient started
    waiting in that cohort (a new version keeps the queue position; a release ends it).
    """
    rows, log = _transaction(Path(db_path), _rows_and_events, write=False)
    return _patient_places(rows, log)


def cohort_places(db_path: str | Path) -> dict[str, dict[str, Any]]:
    """Per cohort: ``taken``, ``max_patients`` and ``waitlist`` (patient ids, next first)."""
    rows, log = _transaction(Path(db_path), _rows_and_events, write=False)
    return _cohort_places(rows, log)


def cohort_state(db_path: str | Path) -> dict[str, Any]:
    """``assignments`` (as ``current_assignments``), ``cohorts`` (as ``cohort_places``) and
    ``places`` (as ``patient_places``), all read in one transaction."""
    rows, log = _transaction(Path(db_path), _rows_and_events, write=False)
    places = _patient_places(rows, log)
    return {
        "assignments": [
            _current_assignment(patient_rows, places.get(patient_rows[0]["patient_id"]))
            for patient_rows in _by_patient(rows)
        ],
        "cohorts": _cohort_places(rows, log),
        "places": places,
    }


def _patient_rows(conn: sqlite3.Connection, patient_id: str) -> list[sqlite3.Row]:
    sql = "SELECT * FROM assignments WHERE patient_id = ? ORDER BY version"
    return conn.execute(sql, (patient_id,)).fetchall()


def _existing_rows(conn: sqlite3.Connection, patient_id: str) -> list[sqlite3.Row]:
    rows = _patient_rows(conn, patient_id)
    if not rows:
        raise HaicgxError(f"patient {patient_id} is not in the cohort record")
    return rows


def _all_rows(conn: sqlite3.Connection, patient_id: str | None) -> list[sqlite3.Row]:
    if patient_id is not None:
        return _patient_rows(conn, patient_id)
    return conn.execute("SELECT * FROM assignments ORDER BY patient_id, version").fetchall()


def _by_patient(rows: Iterable[sqlite3.Row]) -> list[list[sqlite3.Row]]:
    groups: dict[str, list[sqlite3.Row]] = {}
    for row in rows:
        groups.setdefault(row["patient_id"], []).append(row)
    return [groups[key] for key in sorted(groups)]


def _live(rows: list[sqlite3.Row]) -> list[sqlite3.Row]:
    return [row for row in rows if row["status"] != "superseded"]


def _decided(live: list[sqlite3.Row]) -> sqlite3.Row | None:
    return next((row for row in reversed(live) if row["status"] in DECIDED_STATUSES), None)


def _current(rows: list[sqlite3.Row]) -> sqlite3.Row:
    live = _live(rows)
    return _decided(live) or (live[-1] if live else rows[-1])


def _is_pending_review(row: sqlite3.Row, rows: list[sqlite3.Row]) -> bool:
    decided = _decided(_live(rows))
    return (
        decided is not None
        and row["status"] in ("proposed", "waitlisted")
        and row["version"] > decided["version"]
    )


def _has_pending(rows: list[sqlite3.Row]) -> bool:
    return any(_is_pending_review(row, rows) for row in rows)


def _current_assignment(rows: list[sqlite3.Row], place: Place | None) -> dict[str, Any]:
    current = _current(rows)
    pending = [row for row in rows if _is_pending_review(row, rows)]
    item = _public(current)
    latest = pending[-1] if pending else None
    item["needs_review"] = latest is not None
    item["pending_version"] = latest["version"] if latest else None
    item["pending_status"] = latest["status"] if latest else None
    item["pending_cohort_id"] = latest["cohort_id"] if latest else None
    item["pending_regimen_id"] = latest["regimen_id"] if latest else None
    item["withdrawn"] = not _live(rows)
    item["waitlist_position"] = place.waitlist_position if place else None
    return {column: item[column] for column in RECORD_EXPORT_COLUMNS}


def _public(row: sqlite3.Row) -> dict[str, Any]:
    item = dict(row)
    item["ranked_regimen_ids"] = json.loads(item["ranked_regimen_ids"])
    item["contraindication_acknowledged"] = bool(item.get("contraindication_acknowledged"))
    for column in ("chain_seq", "prev_hash", "row_hash"):
        item.pop(column, None)
    return item


def _rows_and_events(conn: sqlite3.Connection) -> tuple[list[sqlite3.Row], list[sqlite3.Row]]:
    rows = conn.execute("SELECT * FROM assignments ORDER BY patient_id, version").fetchall()
    return rows, conn.execute("SELECT * FROM events ORDER BY id").fetchall()


def _queues(
    rows: list[sqlite3.Row], log: list[sqlite3.Row]
) -> dict[str | None, list[tuple[int, str]]]:
    """Per cohort: (id of the version where the wait began, patient) of each waiting patient,
    in queue order. A wait goes on across versions that supersede one another in the same
    cohort; a release or a promotion ends it."""
    kinds: dict[int, set[str]] = {}
    first_status: dict[int, str] = {}
    for event in log:
        kinds.setdefault(event["assignment_id"], set()).add(event["event"])
        if event["event"] == "recorded":
            first_status[event["assignment_id"]] = event["status"]
    queues: dict[str | None, list[tuple[int, str]]] = {}
    for patient_rows in _by_patient(rows):
        waiting = [row for row in _live(patient_rows) if row["status"] == "waitlisted"]
        if not waiting:
            continue
        start = waiting[-1]
        for row in reversed(patient_rows[: patient_rows.index(start)]):
            continued = (
                row["cohort_id"] == start["cohort_id"]
                and first_status.get(row["id"]) == "waitlisted"
                and not kinds.get(row["id"], set()) & {"released", "promoted"}
            )
            if not continued:
                break
            start = row
        queues.setdefault(start["cohort_id"], []).append((start["id"], start["patient_id"]))
    return {cohort: sorted(queue) for cohort, queue in queues.items()}


def _cohort_places(rows: list[sqlite3.Row], log: list[sqlite3.Row]) -> dict[str, dict[str, Any]]:
    places: dict[str, dict[str, Any]] = {}
    for row in rows:  # patient, version order: the latest capacity recorded comes last
        if row["cohort_id"] is None:
            continue
        cohort = places.setdefault(
            row["cohort_id"], {"taken": set(), "max_patients": None, "waitlist": [], "ids": []}
        )
        cohort["ids"].append((row["id"], row["cohort_max_patients"]))
        if row["status"] in PLACE_STATUSES:
            cohort["taken"].add(row["patient_id"])
    queues = _queues(rows, log)
    out = {}
    for cohort_id, cohort in sorted(places.items()):
        out[cohort_id] = {
            "taken": len(cohort["taken"]),
            "max_patients": max(cohort["ids"])[1],  # as recorded with the newest version
            "waitlist": [patient for _, patient in queues.get(cohort_id, [])],
        }
    return out


def _patient_places(rows: list[sqlite3.Row], log: list[sqlite3.Row]) -> dict[str, Place]:
    cohorts = _cohort_places(rows, log)
    out = {}
    for patient_rows in _by_patient(rows):
        patient = patient_rows[0]["patient_id"]
        current = _current(patient_rows)
        waiting = [r for r in _live(patient_rows) if r["status"] == "waitlisted"]
        cohort_id = waiting[-1]["cohort_id"] if waiting else current["cohort_id"]
        cohort = cohorts.get(cohort_id) if cohort_id is not None else None
        queue = cohort["waitlist"] if cohort else []
        out[patient] = Place(
            patient_id=patient,
            cohort_id=cohort_id,
            status=waiting[-1]["status"] if waiting else current["status"],
            waitlist_position=queue.index(patient) + 1 if patient in queue else None,
            waitlist_length=len(queue),
            places_taken=cohort["taken"] if cohort else 0,
            max_patients=cohort["max_patients"] if cohort else None,
        )
    return out
