"""The cohort assignment record: every version of every patient's assignment, in one SQLite file.

What is stored
    ``assignments`` holds one row per (patient, version): cohort, recommended regimen (rank 1), the
    ranked regimen ids (JSON), status, the sha256 of the recommendation, VCF and knowledge table,
    the pipeline version, ``created_at`` and, once the tumour board decides, who decided, when,
    which regimen and why. ``events`` is an append-only log of every status change (recorded,
    superseded, confirmed, overridden, released, promoted) with who, when and why.
    ``meta`` holds ``schema_version``.

Append-only, enforced by triggers
    Nothing is ever deleted. The columns describing a version are never rewritten; the only
    changes to a row are its status moving forward (proposed -> confirmed | overridden |
    superseded, waitlisted -> proposed | superseded, confirmed | overridden -> superseded) and the
    decision columns being filled once. Each such change is also written to ``events``.

Identical inputs add nothing
    The key of a version is (recommendation_sha256, vcf_sha256, knowledge_sha256,
    pipeline_version). ``recommendation_sha256`` must be ``recommendation_digest(recommendation)``:
    the sha256 of the canonical JSON of recommendation.json without ``provenance.generated_at``
    (CONTRACT section 4: the same inputs give the same file except that field), so a rerun on the
    same inputs matches while a change of VCF, knowledge, cohorts, options or pipeline does not.
    A run matching the patient's latest live version adds nothing.

Versions, supersede and review
    Changed inputs add version n+1 and mark the earlier live version ``superseded`` - unless the
    patient's assignment was decided (``confirmed`` or ``overridden``). A decision is never
    superseded silently: the new version is added as a pending proposal beside it
    (``needs_review``), and the decided version stays current until the board confirms again,
    which then supersedes it. Inputs that return to those of the decided version retire the
    pending proposal.

Cohort capacity, waitlist, release and promote
    A patient entering a cohort with ``max_patients`` is ``waitlisted`` when the cohort's places
    are taken (patients with a live proposed, confirmed or overridden version) or when others are
    already waiting, so a freed place never goes to whoever happens to run next. A place is freed
    only by ``release`` (the patient's live versions become superseded, with a ``released`` event
    naming who and why) and given only by ``promote`` (waitlisted -> proposed, refused while the
    cohort is full). A patient re-appearing after release with changed inputs is waitlisted, so
    re-entry is explicit too. Nothing is ever re-shuffled silently. A patient keeps its place or
    its queue position across new versions within the same cohort.

Concurrency and crashes
    WAL journal, ``busy_timeout`` of 60 s and ``BEGIN IMMEDIATE`` for every write, so the
    read-modify-write (next version number, capacity count) of one writer is serialised against
    all others; a lock error that still escapes is retried with backoff. ``synchronous=FULL``:
    each commit is fsynced. A SIGKILLed writer cannot lose a committed transaction even with
    NORMAL (the WAL pages are already in the OS), only power loss or an OS crash can, and FULL
    closes that gap too; with a few writes per patient its cost is negligible. An uncommitted
    transaction of a killed writer is discarded at the next open: no partial row can survive.
    SQLite locking is unreliable on network filesystems: keep the file on a local disk.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import re
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from haicgx.cohorts import Cohorts, cohort_for_site
from haicgx.errors import HaicgxError

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_DB = Path("results") / "cohort_record.sqlite"
BUSY_TIMEOUT_S = 60.0
RETRY_DEADLINE_S = 300.0

# Statuses that hold a place in a cohort, and those that record a tumour-board decision.
PLACE_STATUSES: tuple[str, ...] = ("proposed", "confirmed", "overridden")
DECIDED_STATUSES: tuple[str, ...] = ("confirmed", "overridden")

# Columns of `export_tsv` (and keys of `current_assignments`), in file order.
RECORD_EXPORT_COLUMNS: tuple[str, ...] = (
    "patient_id",
    "version",
    "status",
    "needs_review",
    "pending_version",
    "withdrawn",
    "cohort_id",
    "primary_site",
    "regimen_id",
    "decision_regimen_id",
    "decided_by",
    "decided_at",
    "decision_note",
    "recommendation_sha256",
    "vcf_sha256",
    "knowledge_sha256",
    "pipeline_version",
    "created_at",
)

# The fields that identify the inputs of a version (see "Identical inputs add nothing").
_INPUT_KEY: tuple[str, ...] = (
    "recommendation_sha256",
    "vcf_sha256",
    "knowledge_sha256",
    "pipeline_version",
)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


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

    def message(self) -> str:
        """One line for logs and the command line."""
        text = f"{self.patient_id} version {self.version}: {self.action}"
        if self.status != self.action:
            text += f" ({self.status})"
        if self.superseded:
            text += f"; superseded version {', '.join(map(str, self.superseded))}"
        if self.needs_review:
            text += "; needs review by the tumour board"
        return text


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


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


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


def confirm(
    db_path: str | Path,
    patient_id: str,
    *,
    by: str,
    regimen_id: str | None,
    note: str | None,
    now: str | None = None,
) -> RecordOutcome:
    """Record the tumour board's decision on the patient's pending proposal.

    A regimen other than the recommended one is an override and needs a note.
    """
    by, note = _required_text(by, "--by"), _optional_text(note)
    at = now or _utc_now()
    return _transaction(
        Path(db_path), lambda conn: _confirm(conn, patient_id, by, regimen_id, note, at)
    )


def release(
    db_path: str | Path, patient_id: str, *, by: str, note: str, now: str | None = None
) -> RecordOutcome:
    """Withdraw a patient: its live versions become superseded and its place is freed."""
    by, note = _required_text(by, "--by"), _required_text(note, "--note")
    at = now or _utc_now()
    return _transaction(Path(db_path), lambda conn: _release(conn, patient_id, by, note, at))


def promote(
    db_path: str | Path,
    patient_id: str,
    *,
    by: str,
    note: str | None = None,
    cohorts: Cohorts | None = None,
    now: str | None = None,
) -> RecordOutcome:
    """Give a waitlisted patient a place (status proposed); refused while the cohort is full.

    The capacity is taken from ``cohorts`` when given, else from the latest version recorded in
    that cohort (each version stores the capacity it was recorded under).
    """
    by, note = _required_text(by, "--by"), _optional_text(note)
    at = now or _utc_now()
    return _transaction(
        Path(db_path), lambda conn: _promote(conn, patient_id, by, note, cohorts, at)
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
    released patient) the latest. ``needs_review``/``pending_version`` point at a pending
    proposal beside a decision; ``withdrawn`` marks a released patient.
    """
    rows = _transaction(Path(db_path), lambda conn: _all_rows(conn, None), write=False)
    return [_current_assignment(patient_rows) for patient_rows in _by_patient(rows)]


def export_tsv(db_path: str | Path, path: str | Path) -> int:
    """Write the current assignments as TSV (RECORD_EXPORT_COLUMNS) atomically; return the count.

    Tabs and line breaks inside cells (notes) are written as spaces.
    """
    assignments = current_assignments(db_path)
    lines = ["\t".join(RECORD_EXPORT_COLUMNS)]
    lines += ["\t".join(_cell(row[c]) for c in RECORD_EXPORT_COLUMNS) for row in assignments]
    _write_atomically(Path(path), "\n".join(lines) + "\n")
    return len(assignments)


# ---------------------------------------------------------------------------------------------
# Writes
# ---------------------------------------------------------------------------------------------


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


def _confirm(
    conn: sqlite3.Connection,
    patient_id: str,
    by: str,
    regimen_id: str | None,
    note: str | None,
    at: str,
) -> RecordOutcome:
    rows = _existing_rows(conn, patient_id)
    live = _live(rows)
    if not live:
        raise HaicgxError(f"patient {patient_id} was released; there is nothing to confirm")
    decided = _decided(live)
    pending = [row for row in live if row is not decided]
    if not pending:
        raise HaicgxError(
            f"patient {patient_id} version {decided['version']} is already {decided['status']} "
            f"(by {decided['decided_by']} at {decided['decided_at']}); nothing to confirm"
        )
    target = pending[-1]
    if target["status"] == "waitlisted":
        raise HaicgxError(
            f"patient {patient_id} is waitlisted for cohort {target['cohort_id']}: "
            "a place must be given first (haicgx record promote)"
        )
    chosen, status = _decision(target, regimen_id, note)
    conn.execute(
        "UPDATE assignments SET status = ?, decided_by = ?, decided_at = ?, "
        "decision_regimen_id = ?, decision_note = ? WHERE id = ?",
        (status, by, at, chosen, note, target["id"]),
    )
    _add_event(conn, target, status, status, by=by, note=note, at=at)
    superseded: tuple[int, ...] = ()
    if decided is not None:
        text = f"replaced by the decision on version {target['version']}"
        _set_status(conn, decided, "superseded", event="superseded", by=by, note=text, at=at)
        superseded = (decided["version"],)
    return RecordOutcome(patient_id, status, target["version"], status, superseded=superseded)


def _decision(target: sqlite3.Row, regimen_id: str | None, note: str | None) -> tuple[str, str]:
    """Return (chosen regimen, status) or raise when the choice is not allowed."""
    recommended = target["regimen_id"]
    chosen = regimen_id or recommended
    ranked = json.loads(target["ranked_regimen_ids"])
    if chosen not in ranked:
        raise HaicgxError(
            f"regimen {chosen} is not among the ranked regimens of patient "
            f"{target['patient_id']} version {target['version']}: {', '.join(ranked)}"
        )
    if chosen == recommended:
        return chosen, "confirmed"
    if not note:
        raise HaicgxError(
            f"choosing {chosen} instead of the recommended {recommended} is an override: "
            "give the reason with --note"
        )
    return chosen, "overridden"


def _release(
    conn: sqlite3.Connection, patient_id: str, by: str, note: str, at: str
) -> RecordOutcome:
    rows = _existing_rows(conn, patient_id)
    live = _live(rows)
    if not live:
        raise HaicgxError(f"patient {patient_id} was already released")
    for row in live:
        _set_status(conn, row, "superseded", event="released", by=by, note=note, at=at)
    current = _current(live)
    return RecordOutcome(
        patient_id,
        "released",
        current["version"],
        "superseded",
        superseded=tuple(row["version"] for row in live),
    )


def _promote(
    conn: sqlite3.Connection,
    patient_id: str,
    by: str,
    note: str | None,
    cohorts: Cohorts | None,
    at: str,
) -> RecordOutcome:
    rows = _existing_rows(conn, patient_id)
    waiting = [row for row in _live(rows) if row["status"] == "waitlisted"]
    if not waiting:
        status = _current(rows)["status"]
        raise HaicgxError(f"patient {patient_id} is not waitlisted (current status: {status})")
    target = waiting[-1]
    cohort = target["cohort_id"]
    capacity = _capacity(conn, cohort, cohorts)
    if cohort is not None and capacity is not None:
        taken = _places_taken(conn, cohort, patient_id)
        if taken >= capacity:
            raise HaicgxError(
                f"cohort {cohort} is full ({taken} of {capacity} places taken): "
                "release a patient first (haicgx record release)"
            )
    _set_status(conn, target, "proposed", event="promoted", by=by, note=note, at=at)
    return RecordOutcome(patient_id, "promoted", target["version"], "proposed")


def _capacity(conn: sqlite3.Connection, cohort: str | None, cohorts: Cohorts | None) -> int | None:
    if cohort is None:
        return None
    definition = cohorts.by_id(cohort) if cohorts else None
    if definition is not None:
        return definition.max_patients
    row = conn.execute(
        "SELECT cohort_max_patients FROM assignments WHERE cohort_id = ? ORDER BY id DESC LIMIT 1",
        (cohort,),
    ).fetchone()
    return row[0] if row else None


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
    cursor = conn.execute(
        "INSERT INTO assignments (patient_id, version, cohort_id, cohort_max_patients, "
        "primary_site, regimen_id, ranked_regimen_ids, status, recommendation_sha256, "
        "vcf_sha256, knowledge_sha256, pipeline_version, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            entry.patient_id,
            version,
            entry.cohort_id,
            entry.cohort_max_patients,
            entry.primary_site,
            entry.regimen_id,
            json.dumps(list(entry.ranked_regimen_ids)),
            status,
            entry.recommendation_sha256,
            entry.vcf_sha256,
            entry.knowledge_sha256,
            entry.pipeline_version,
            at,
        ),
    )
    conn.execute(
        "INSERT INTO events (assignment_id, patient_id, version, event, status, actor, note, at) "
        "VALUES (?, ?, ?, 'recorded', ?, NULL, NULL, ?)",
        (cursor.lastrowid, entry.patient_id, version, status, at),
    )


def _set_status(
    conn: sqlite3.Connection,
    row: sqlite3.Row,
    status: str,
    *,
    event: str,
    at: str,
    by: str | None = None,
    note: str | None = None,
) -> None:
    conn.execute("UPDATE assignments SET status = ? WHERE id = ?", (status, row["id"]))
    _add_event(conn, row, event, status, by=by, note=note, at=at)


def _add_event(
    conn: sqlite3.Connection,
    row: sqlite3.Row,
    event: str,
    status: str,
    *,
    by: str | None,
    note: str | None,
    at: str,
) -> None:
    conn.execute(
        "INSERT INTO events (assignment_id, patient_id, version, event, status, actor, note, at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (row["id"], row["patient_id"], row["version"], event, status, by, note, at),
    )


# ---------------------------------------------------------------------------------------------
# Reading and deriving the current state
# ---------------------------------------------------------------------------------------------


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


def _current_assignment(rows: list[sqlite3.Row]) -> dict[str, Any]:
    current = _current(rows)
    pending = [row["version"] for row in rows if _is_pending_review(row, rows)]
    item = _public(current)
    item["needs_review"] = bool(pending)
    item["pending_version"] = pending[-1] if pending else None
    item["withdrawn"] = not _live(rows)
    return {column: item[column] for column in RECORD_EXPORT_COLUMNS}


def _public(row: sqlite3.Row) -> dict[str, Any]:
    item = dict(row)
    item["ranked_regimen_ids"] = json.loads(item["ranked_regimen_ids"])
    return item


def _same_inputs(row: sqlite3.Row, entry: _Entry) -> bool:
    return all(row[key] == getattr(entry, key) for key in _INPUT_KEY)


# ---------------------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------------------


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


def _cell(value: Any) -> str:
    """A TSV cell: empty for None, yes/no for booleans, no tab or line break inside."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return " ".join(str(value).replace("\t", " ").splitlines())


def _write_atomically(path: Path, text: str) -> None:
    """Write beside the target, fsync, then rename: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------------------------------
# Connections, transactions, migrations
# ---------------------------------------------------------------------------------------------


def _transaction(
    db_path: Path,
    work: Callable[[sqlite3.Connection], T],
    *,
    create: bool = False,
    write: bool = True,
) -> T:
    """Run ``work`` in one transaction (BEGIN IMMEDIATE for writes), retrying lock errors."""
    deadline = time.monotonic() + RETRY_DEADLINE_S
    delay = 0.05
    while True:
        try:
            return _run_once(db_path, work, create=create, write=write)
        except sqlite3.OperationalError as exc:
            if not _is_lock_error(exc) or time.monotonic() > deadline:
                raise HaicgxError(f"cohort record {db_path}: {exc}") from exc
            log.debug("cohort record %s busy (%s); retrying", db_path, exc)
        except sqlite3.DatabaseError as exc:
            raise HaicgxError(f"cohort record {db_path}: {exc}") from exc
        time.sleep(delay * random.uniform(0.5, 1.5))  # jitter: writers do not retry in step
        delay = min(delay * 2, 2.0)


def _run_once(
    db_path: Path, work: Callable[[sqlite3.Connection], T], *, create: bool, write: bool
) -> T:
    conn = _connect(db_path, create=create)
    try:
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            result = work(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result
    finally:
        conn.close()


def _connect(db_path: Path, *, create: bool) -> sqlite3.Connection:
    if not create and not db_path.is_file():
        raise HaicgxError(f"cohort record not found: {db_path}")
    if create:
        db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            raise HaicgxError(
                f"cohort record {db_path}: cannot use a WAL journal (got {mode!r}); "
                "keep the record on a local disk"
            )
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        _migrate(conn, db_path)
    except BaseException:
        conn.close()
        raise
    return conn


def _schema_version(conn: sqlite3.Connection, db_path: Path) -> int:
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "meta" not in tables:
        if tables:
            raise HaicgxError(f"{db_path} is an SQLite file but not a haicgx cohort record")
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def _check_not_newer(version: int, db_path: Path) -> None:
    if version > SCHEMA_VERSION:
        raise HaicgxError(
            f"cohort record {db_path} has schema version {version}, newer than this haicgx "
            f"understands ({SCHEMA_VERSION}): use a newer haicgx"
        )


def _migrate(conn: sqlite3.Connection, db_path: Path) -> None:
    """Bring the file to SCHEMA_VERSION in one transaction; refuse a file from a newer haicgx."""
    version = _schema_version(conn, db_path)
    _check_not_newer(version, db_path)
    if version == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _schema_version(conn, db_path)  # another process may have migrated meanwhile
        _check_not_newer(version, db_path)
        for step in MIGRATIONS[version:]:
            step(conn)
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(SCHEMA_VERSION),),
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    if version < SCHEMA_VERSION:
        log.info("cohort record %s migrated from schema %d to %d", db_path, version, SCHEMA_VERSION)


def _is_lock_error(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


# Migration 1 is frozen history: its status list is the vocabulary of the day. A test checks it
# still equals haicgx.vocab.RECORD_STATUSES, so a vocabulary change forces a new migration.
_V1_STATUSES = "('proposed', 'confirmed', 'overridden', 'waitlisted', 'superseded')"
_V1_EVENTS = "('recorded', 'superseded', 'confirmed', 'overridden', 'released', 'promoted')"
_V1_FROZEN = (
    "id, patient_id, version, cohort_id, cohort_max_patients, primary_site, regimen_id, "
    "ranked_regimen_ids, recommendation_sha256, vcf_sha256, knowledge_sha256, "
    "pipeline_version, created_at"
)
_V1_STATEMENTS: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    f"""CREATE TABLE assignments (
        id INTEGER PRIMARY KEY,
        patient_id TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1),
        cohort_id TEXT,
        cohort_max_patients INTEGER,
        primary_site TEXT NOT NULL,
        regimen_id TEXT NOT NULL,
        ranked_regimen_ids TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN {_V1_STATUSES}),
        recommendation_sha256 TEXT NOT NULL CHECK (length(recommendation_sha256) = 64),
        vcf_sha256 TEXT NOT NULL CHECK (length(vcf_sha256) = 64),
        knowledge_sha256 TEXT NOT NULL CHECK (length(knowledge_sha256) = 64),
        pipeline_version TEXT NOT NULL,
        created_at TEXT NOT NULL,
        decided_by TEXT,
        decided_at TEXT,
        decision_regimen_id TEXT,
        decision_note TEXT,
        UNIQUE (patient_id, version)
    )""",
    "CREATE INDEX assignments_cohort_status ON assignments (cohort_id, status)",
    f"""CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        assignment_id INTEGER NOT NULL REFERENCES assignments (id),
        patient_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        event TEXT NOT NULL CHECK (event IN {_V1_EVENTS}),
        status TEXT NOT NULL CHECK (status IN {_V1_STATUSES}),
        actor TEXT,
        note TEXT,
        at TEXT NOT NULL
    )""",
    "CREATE INDEX events_patient ON events (patient_id)",
    """CREATE TRIGGER assignments_no_delete BEFORE DELETE ON assignments
    BEGIN SELECT RAISE(ABORT, 'the cohort record is append-only: nothing is deleted'); END""",
    f"""CREATE TRIGGER assignments_frozen BEFORE UPDATE OF {_V1_FROZEN} ON assignments
    BEGIN SELECT RAISE(ABORT, 'the cohort record is append-only: no version is rewritten');
    END""",
    """CREATE TRIGGER assignments_decided_once BEFORE UPDATE OF decided_by, decided_at,
        decision_regimen_id, decision_note ON assignments WHEN OLD.decided_at IS NOT NULL
    BEGIN SELECT RAISE(ABORT, 'a tumour-board decision is recorded once'); END""",
    """CREATE TRIGGER assignments_status_forward BEFORE UPDATE OF status ON assignments
    WHEN NOT (
        (OLD.status = 'proposed' AND NEW.status IN ('confirmed', 'overridden', 'superseded'))
        OR (OLD.status = 'waitlisted' AND NEW.status IN ('proposed', 'superseded'))
        OR (OLD.status IN ('confirmed', 'overridden') AND NEW.status = 'superseded'))
    BEGIN SELECT RAISE(ABORT, 'status change not allowed in the cohort record'); END""",
    """CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END""",
    """CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END""",
)


def _migration_1(conn: sqlite3.Connection) -> None:
    """Schema 1: meta, assignments, events and the append-only triggers."""
    for statement in _V1_STATEMENTS:
        conn.execute(statement)


# MIGRATIONS[n] takes a file from schema version n to n + 1; append, never edit.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_migration_1,)
SCHEMA_VERSION = len(MIGRATIONS)
