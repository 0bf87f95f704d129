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

Decisions are taken on the recommendation recorded
    ``confirm`` reads the patient's recommendation.json in the run's results folder and checks
    its digest against the version's ``recommendation_sha256``; a regimen it calls
    ``contraindicated`` is confirmed only with an explicit acknowledgement, which the version
    and its event keep (``contraindication_acknowledged``).

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

Tamper evidence (schema 2)
    Every version and every event has a place in one hash chain, in insertion order, and
    ``verify`` replays it: the chain, each version's status and decision against its events,
    the append-only triggers and the whole schema against what the migrations create
    (haicgx.record_chain says what the chain covers and what it cannot prove). The triggers
    also refuse ``INSERT OR REPLACE`` of an existing version or event: REPLACE deletes the old
    row without firing DELETE triggers unless ``recursive_triggers`` is on, a per-connection
    setting that another program need not set, so a BEFORE INSERT trigger refuses any insert
    that is not the next row.

The record file is never written over
    Only a path that does not exist starts a new record, and it appears whole: the schema is
    written to a temporary file beside it, then hard-linked into place (a link never replaces
    an existing file, so two writers starting at once share one record). A record cut to
    0 bytes is an error for every command, never a new record. Exports and the views beside
    the record refuse the record itself, its journal files and any other SQLite file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import re
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from haicgx import record_chain as chain
from haicgx.atomic import is_sqlite_file, write_atomically
from haicgx.cohorts import Cohorts, cohort_for_site
from haicgx.errors import HaicgxError
from haicgx.tsv import tsv_text

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_DB = Path("results") / "cohort_record.sqlite"
BUSY_TIMEOUT_S = 60.0
RETRY_DEADLINE_S = 300.0

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
    acknowledge_contraindication: bool = False,
    results_dir: str | Path | None = None,
    now: str | None = None,
) -> RecordOutcome:
    """Record the tumour board's decision on the patient's pending proposal.

    A regimen other than the recommended one is an override and needs a note. The chosen
    regimen's status is read from the patient's recommendation.json
    (``results_dir/patients/{patient_id}/``, by default the record's folder), which must be the
    one the version was recorded from (same ``recommendation_digest``); a regimen it calls
    ``contraindicated`` needs ``acknowledge_contraindication``, and the record keeps that it
    was acknowledged.
    """
    by, note = _required_text(by, "--by"), _optional_text(note)
    at = now or _utc_now()
    db = Path(db_path)
    decision = _Decision(
        by=by,
        regimen_id=regimen_id,
        note=note,
        acknowledge=acknowledge_contraindication,
        recommendation_path=recommendation_path(db, patient_id, results_dir),
    )
    return _transaction(db, lambda conn: _confirm(conn, patient_id, decision, at))


def recommendation_path(
    db_path: str | Path, patient_id: str, results_dir: str | Path | None = None
) -> Path:
    """Where the run wrote the patient's recommendation.json: ``results_dir`` (default: the
    record's folder, ``results/`` of a run) ``/patients/{patient_id}/recommendation.json``."""
    results = Path(results_dir) if results_dir is not None else Path(db_path).parent
    return results / "patients" / patient_id / "recommendation.json"


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


def note_results_folder(db_path: str | Path, folder: str | Path) -> None:
    """Remember the run's results folder (absolute) in the record's meta table, so record
    commands rewrite the views there even when the record is kept elsewhere (a local disk on
    a cluster). Writes only when it changed."""
    value = str(Path(folder).resolve())

    def work(conn: sqlite3.Connection) -> None:
        row = conn.execute("SELECT value FROM meta WHERE key = 'results_folder'").fetchone()
        if row is None or row[0] != value:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('results_folder', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (value,),
            )

    _transaction(Path(db_path), work)


def noted_results_folder(db_path: str | Path) -> Path | None:
    """The results folder the last run noted (``note_results_folder``), if any."""
    sql = "SELECT value FROM meta WHERE key = 'results_folder'"
    row = _transaction(Path(db_path), lambda conn: conn.execute(sql).fetchone(), write=False)
    return Path(row[0]) if row else None


@dataclass(frozen=True)
class Verification:
    """What ``verify`` found: ``problems`` empty means the history is intact."""

    db_path: Path
    schema_version: int
    versions: int
    events: int
    head: str | None
    problems: tuple[str, ...]

    @property
    def intact(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """One line: ``intact: N versions, M events; chain head H`` or the count of problems."""
        if self.intact:
            head = f"; chain head {self.head}" if self.head else ""
            return f"intact: {self.versions} versions, {self.events} events{head}"
        count = len(self.problems)
        return (
            f"cohort record {self.db_path} failed verification: {count} "
            f"problem{'s' if count != 1 else ''} ({self.problems[0]}"
            f"{'; ...' if count > 1 else ''})"
        )


def verify(db_path: str | Path) -> Verification:
    """Check that the record's history is intact; never writes to the file.

    Checks ``PRAGMA integrity_check``, the schema (every table, index and trigger exactly as
    the migrations create it: a dropped or edited append-only trigger is named), the hash
    chain (haicgx.record_chain), and that each version's status and decision are what its
    events say. A record of an older schema has no chain yet: it is reported as such, with
    what can still be checked.
    """
    db = Path(db_path)
    return _transaction(db, lambda conn: _verify(conn, db), write=False, migrate=False)


def export_tsv(db_path: str | Path, path: str | Path) -> int:
    """Write the current assignments as TSV (RECORD_EXPORT_COLUMNS) atomically; return the count.

    Refuses the record itself (any name for it: symlink, hard link), its journal files, any
    existing SQLite file, a folder and a missing folder. Cells go through ``haicgx.tsv.cell``:
    tabs and line breaks inside notes become spaces, formula-like text is made inert.
    """
    target = Path(path)
    if not target.parent.is_dir():
        raise HaicgxError(f"cannot export to {target}: the folder {target.parent} does not exist")
    check_output_path(target, db_path)
    assignments = current_assignments(db_path)
    write_atomically({target: assignments_tsv(assignments).encode("utf-8")})
    return len(assignments)


def assignments_tsv(assignments: Iterable[dict[str, Any]]) -> str:
    """The text of an export or of cohort_record.tsv."""
    rows = ([row[c] for c in RECORD_EXPORT_COLUMNS] for row in assignments)
    return tsv_text(RECORD_EXPORT_COLUMNS, rows)


def check_output_path(target: str | Path, db_path: str | Path) -> None:
    """Refuse to write ``target`` when it is the record (under any name), one of its journal
    files, another SQLite file or a folder: no command ever writes over a record."""
    target, db = Path(target), Path(db_path)
    if target.is_dir():
        raise HaicgxError(f"cannot write {target}: it is a folder; give a file name")
    protected = [db] + [db.with_name(db.name + suffix) for suffix in ("-wal", "-shm", "-journal")]
    for path in protected:
        same = _same_file(target, path)
        if same or _absolute(target) == _absolute(path):
            raise HaicgxError(
                f"refusing to write {target}: it is the cohort record {path} itself"
                if path == db
                else f"refusing to write {target}: it is the journal file {path} of the record"
            )
    if is_sqlite_file(target):
        raise HaicgxError(f"refusing to write over {target}: it is an SQLite database")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)  # symlinks resolved, hard links by device and inode
    except OSError:
        return False


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path))


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


@dataclass(frozen=True)
class _Decision:
    """A tumour-board decision as entered, with the recommendation it was taken on."""

    by: str
    regimen_id: str | None
    note: str | None
    acknowledge: bool
    recommendation_path: Path


def _confirm(
    conn: sqlite3.Connection, patient_id: str, decision: _Decision, at: str
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
    # Read under the write lock: the file checked is the one the decision is recorded on.
    recommendation = _read_recommendation(decision.recommendation_path, patient_id)
    digest = recommendation_digest(recommendation)
    if digest != target["recommendation_sha256"]:
        raise HaicgxError(
            f"{decision.recommendation_path} is not the recommendation of patient {patient_id} "
            f"version {target['version']} (its digest is {digest[:12]}..., the record has "
            f"{target['recommendation_sha256'][:12]}...): record the current run first, or "
            "point --results at the run's results folder"
        )
    chosen, status = _decision(target, decision.regimen_id, decision.note)
    acknowledged = _contraindication(target, chosen, recommendation, decision.acknowledge)
    conn.execute(
        "UPDATE assignments SET status = ?, decided_by = ?, decided_at = ?, "
        "decision_regimen_id = ?, decision_note = ?, contraindication_acknowledged = ? "
        "WHERE id = ?",
        (status, decision.by, at, chosen, decision.note, acknowledged, target["id"]),
    )
    _add_event(
        conn,
        target,
        status,
        status,
        by=decision.by,
        note=decision.note,
        at=at,
        regimen_id=chosen,
        acknowledged=acknowledged,
    )
    superseded: tuple[int, ...] = ()
    if decided is not None:
        text = f"replaced by the decision on version {target['version']}"
        _set_status(
            conn, decided, "superseded", event="superseded", by=decision.by, note=text, at=at
        )
        superseded = (decided["version"],)
    return RecordOutcome(
        patient_id,
        status,
        target["version"],
        status,
        superseded=superseded,
        contraindication_acknowledged=bool(acknowledged),
    )


def _contraindication(
    target: sqlite3.Row, chosen: str, recommendation: dict[str, Any], acknowledge: bool
) -> int | None:
    """1 when the chosen regimen is contraindicated and the board acknowledged it; refuse a
    contraindicated regimen without the acknowledgement. None otherwise."""
    regimen = next(
        (
            item
            for item in recommendation.get("regimens") or []
            if isinstance(item, dict) and item.get("regimen_id") == chosen
        ),
        None,
    )
    if regimen is None or regimen.get("status") != "contraindicated":
        return None
    if not acknowledge:
        why = next(
            (
                str(reason.get("text"))
                for reason in regimen.get("reasons") or []
                if isinstance(reason, dict) and reason.get("text")
            ),
            "",
        )
        raise HaicgxError(
            f"regimen {chosen} is contraindicated for patient {target['patient_id']} "
            f"(version {target['version']}{': ' + why if why else ''}); to choose it anyway, "
            "add --acknowledge-contraindication"
        )
    return 1


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
    row: Any,
    event: str,
    status: str,
    *,
    by: str | None,
    note: str | None,
    at: str,
    regimen_id: str | None = None,
    acknowledged: int | None = None,
) -> None:
    _append(
        conn,
        "events",
        {
            "assignment_id": row["id"],
            "patient_id": row["patient_id"],
            "version": row["version"],
            "event": event,
            "status": status,
            "actor": by,
            "note": note,
            "at": at,
            "regimen_id": regimen_id,
            "contraindication_acknowledged": acknowledged,
        },
    )


def _append(conn: sqlite3.Connection, table: str, values: dict[str, Any]) -> dict[str, Any]:
    """Insert the next row of ``table`` with its id and its place in the hash chain.

    Runs inside the writer's BEGIN IMMEDIATE transaction, so the id, the chain position and
    the previous hash read here cannot change before the insert.
    """
    head = conn.execute(_CHAIN_HEAD).fetchone()
    row = dict(values)
    row["id"] = conn.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()[0]
    row["chain_seq"] = head["chain_seq"] + 1 if head else 1
    row["prev_hash"] = head["row_hash"] if head else chain.GENESIS
    row["row_hash"] = chain.row_hash(table, row, row["prev_hash"])
    columns = ", ".join(row)
    marks = ", ".join("?" * len(row))
    conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(row.values()))
    return row


_CHAIN_HEAD = (  # the newest row of either table; each max() is read from its index
    "SELECT chain_seq, row_hash FROM assignments "
    "WHERE chain_seq = (SELECT max(chain_seq) FROM assignments) "
    "UNION ALL SELECT chain_seq, row_hash FROM events "
    "WHERE chain_seq = (SELECT max(chain_seq) FROM events) "
    "ORDER BY chain_seq DESC LIMIT 1"
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


# ---------------------------------------------------------------------------------------------
# Connections, transactions, migrations
# ---------------------------------------------------------------------------------------------


def _transaction(
    db_path: Path,
    work: Callable[[sqlite3.Connection], T],
    *,
    create: bool = False,
    write: bool = True,
    migrate: bool = True,
) -> T:
    """Run ``work`` in one transaction (BEGIN IMMEDIATE for writes), retrying lock errors.

    ``migrate`` False (verify): the file is read at the schema it has.
    """
    deadline = time.monotonic() + RETRY_DEADLINE_S
    delay = 0.05
    while True:
        try:
            return _run_once(db_path, work, create=create, write=write, migrate=migrate)
        except sqlite3.OperationalError as exc:
            if not _is_lock_error(exc) or time.monotonic() > deadline:
                raise HaicgxError(f"cohort record {db_path}: {exc}") from exc
            log.debug("cohort record %s busy (%s); retrying", db_path, exc)
        except sqlite3.DatabaseError as exc:
            raise HaicgxError(f"cohort record {db_path}: {exc}") from exc
        time.sleep(delay * random.uniform(0.5, 1.5))  # jitter: writers do not retry in step
        delay = min(delay * 2, 2.0)


def _run_once(
    db_path: Path,
    work: Callable[[sqlite3.Connection], T],
    *,
    create: bool,
    write: bool,
    migrate: bool,
) -> T:
    conn = _connect(db_path, create=create, write=write, migrate=migrate)
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


def _check_file(db_path: Path, *, create: bool) -> None:
    """Refuse a record that cannot be one; create a new record only where no file exists."""
    try:
        status = db_path.stat()
    except FileNotFoundError:
        if db_path.is_symlink():
            raise HaicgxError(f"cohort record {db_path} is a broken symbolic link") from None
        if not create:
            raise HaicgxError(f"cohort record not found: {db_path}") from None
        _create_record(db_path)
        return
    if not db_path.is_file():
        raise HaicgxError(f"cohort record {db_path} is not a file")
    if status.st_size == 0:
        raise HaicgxError(
            f"the record {db_path} is empty (0 bytes): restore it from backup; "
            "refusing to start a new record over it"
        )


def _create_record(db_path: Path) -> None:
    """Create a new record whole: schema written beside it, then hard-linked into place.

    A link never replaces a file, so when two writers create the record at once one link
    wins and the other writer uses that record; no reader ever sees a 0-byte record.
    """
    db_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = db_path.with_name(f".{db_path.name}.{secrets.token_hex(6)}.new")
    try:
        conn = sqlite3.connect(temporary, isolation_level=None)
        try:
            # The schema goes in with a rollback journal, so a full disk fails the COMMIT. In WAL
            # mode it would wait in the WAL for the checkpoint at close(), whose failure
            # close() does not report: the file linked into place was then malformed.
            _migrate(conn, temporary)
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]  # in the header
            if mode != "wal" or conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.OperationalError(f"the new file did not check out ({mode})")
        finally:
            conn.close()
        try:
            os.link(temporary, db_path)
        except FileExistsError:
            pass  # another writer created it first: use theirs
        except OSError as exc:
            raise HaicgxError(
                f"cannot create the cohort record {db_path}: {exc.strerror} "
                "(keep the record on a local disk)"
            ) from exc
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{temporary}{suffix}").unlink(missing_ok=True)
    log.info("cohort record %s created (schema %d)", db_path, SCHEMA_VERSION)


def _connect(
    db_path: Path, *, create: bool, write: bool = True, migrate: bool = True
) -> sqlite3.Connection:
    _check_file(db_path, create=create)
    # mode=rw: SQLite never creates the file (it could, if it vanished since the check).
    uri = f"{db_path.absolute().as_uri()}?mode=rw"
    conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        if write:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise HaicgxError(
                    f"cohort record {db_path}: cannot use a WAL journal (got {mode!r}); "
                    "keep the record on a local disk"
                )
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        # REPLACE then fires DELETE triggers; the BEFORE INSERT triggers refuse it anyway.
        conn.execute("PRAGMA recursive_triggers = ON")
        version = _schema_version(conn, db_path)
        _check_not_newer(version, db_path)
        if version < SCHEMA_VERSION and migrate:
            if write:
                _migrate(conn, db_path)
            else:
                conn = _migrated_copy(conn, db_path)
    except BaseException:
        conn.close()
        raise
    return conn


def _migrated_copy(conn: sqlite3.Connection, db_path: Path) -> sqlite3.Connection:
    """An older record read through an in-memory copy at the current schema: reading never
    writes to the file; the file itself is migrated at its next write."""
    copy = sqlite3.connect(":memory:", isolation_level=None)
    try:
        copy.row_factory = sqlite3.Row
        conn.backup(copy)
        conn.close()
        _migrate(copy, db_path, check_history=False)
    except BaseException:
        copy.close()
        raise
    return copy


def _schema_version(conn: sqlite3.Connection, db_path: Path) -> int:
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "meta" not in tables:
        if tables:
            raise HaicgxError(f"{db_path} is an SQLite file but not a haicgx cohort record")
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    try:
        return int(row[0]) if row else 0
    except ValueError:
        raise HaicgxError(
            f"cohort record {db_path}: schema_version {row[0]!r} is not a number"
        ) from None


def _check_not_newer(version: int, db_path: Path) -> None:
    if version > SCHEMA_VERSION:
        raise HaicgxError(
            f"cohort record {db_path} has schema version {version}, newer than this haicgx "
            f"understands ({SCHEMA_VERSION}): use a newer haicgx"
        )


def _migrate(conn: sqlite3.Connection, db_path: Path, *, check_history: bool = True) -> None:
    """Bring the file to SCHEMA_VERSION in one transaction; refuse a file from a newer haicgx.

    Before a schema-1 record gets its hash chain, its guards and history are checked: the
    chain must not vouch for a history that was already altered.
    """
    version = _schema_version(conn, db_path)
    _check_not_newer(version, db_path)
    if version == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _schema_version(conn, db_path)  # another process may have migrated meanwhile
        _check_not_newer(version, db_path)
        if check_history and version == 1:
            problems = _schema_1_problems(conn)
            if problems:
                more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                raise HaicgxError(
                    f"cohort record {db_path} (schema 1) cannot be given its hash chain: "
                    f"{problems[0]}{more}; restore it from a backup "
                    "(haicgx record verify lists every problem)"
                )
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
    if 0 < version < SCHEMA_VERSION and check_history:
        log.info("cohort record %s migrated from schema %d to %d", db_path, version, SCHEMA_VERSION)


def _is_lock_error(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


# ---------------------------------------------------------------------------------------------
# Verification
# ---------------------------------------------------------------------------------------------


def _verify(conn: sqlite3.Connection, db_path: Path) -> Verification:
    version = _schema_version(conn, db_path)
    _check_not_newer(version, db_path)
    problems = [
        f"PRAGMA integrity_check: {row[0]}"
        for row in conn.execute("PRAGMA integrity_check").fetchall()
        if row[0] != "ok"
    ]
    if version < SCHEMA_VERSION:
        problems.append(
            f"schema version {version} predates the hash chain (schema {SCHEMA_VERSION}): the "
            "chain is computed at the record's next write (a run, or a record command that "
            "changes it)"
        )
        problems += _schema_1_problems(conn) if version == 1 else []
        counts = _counts(conn) if version >= 1 else (0, 0)
        return Verification(db_path, version, *counts, None, tuple(problems))
    problems += _schema_problems(conn, SCHEMA_VERSION)
    missing = _missing_columns(conn)
    if missing:
        problems.append(f"the history cannot be replayed: missing columns {', '.join(missing)}")
        return Verification(db_path, version, *_counts(conn), None, tuple(problems))
    assignments = _dicts(conn, "SELECT * FROM assignments ORDER BY id")
    events = _dicts(conn, "SELECT * FROM events ORDER BY id")
    problems += chain.chain_problems(assignments, events)
    problems += chain.replay_problems(assignments, events)
    head = conn.execute(_CHAIN_HEAD).fetchone()
    return Verification(
        db_path,
        version,
        len(assignments),
        len(events),
        head["row_hash"] if head else None,
        tuple(problems),
    )


def _schema_1_problems(conn: sqlite3.Connection) -> list[str]:
    """What can be checked of a record written before the hash chain."""
    problems = _schema_problems(conn, 1)
    if problems:
        return problems
    assignments = _dicts(conn, "SELECT * FROM assignments ORDER BY id")
    events = _dicts(conn, "SELECT * FROM events ORDER BY id")
    return chain.replay_problems(assignments, events, with_decision_regimen=False)


def _schema_problems(conn: sqlite3.Connection, version: int) -> list[str]:
    """Every table, index and trigger that is missing, altered or unexpected."""
    expected = _expected_schema(version)
    actual = {
        (kind, name): (table, sql)
        for kind, name, table, sql in conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master"
        )
        if not name.startswith("sqlite_stat")  # ANALYZE statistics change no data
    }
    problems = []
    for (kind, name), definition in sorted(expected.items()):
        what = f"{kind} {name}" + (" (an append-only guard)" if kind == "trigger" else "")
        if (kind, name) not in actual:
            problems.append(f"schema: {what} is missing: it was dropped")
        elif actual[(kind, name)] != definition:
            problems.append(f"schema: {what} differs from the expected SQL: it was altered")
    for kind, name in sorted(set(actual) - set(expected)):
        problems.append(f"schema: unexpected {kind} {name}: it was added outside haicgx")
    return problems


@cache
def _expected_schema(version: int) -> dict[tuple[str, str], tuple[str, str | None]]:
    """sqlite_master as the migrations up to ``version`` create it, on an empty database."""
    conn = sqlite3.connect(":memory:")
    try:
        for step in MIGRATIONS[:version]:
            step(conn)
        rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
    finally:
        conn.close()
    return {(kind, name): (table, sql) for kind, name, table, sql in rows}


def _missing_columns(conn: sqlite3.Connection) -> list[str]:
    needed = {
        "assignments": {*chain.ASSIGNMENT_HASHED, "status", "prev_hash", "row_hash"}
        | {column for column, _ in chain.DECISION_COLUMNS},
        "events": {*chain.EVENT_HASHED, "prev_hash", "row_hash"},
    }
    missing = []
    for table, columns in needed.items():
        present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        missing += [f"{table}.{column}" for column in sorted(columns - present)]
    return missing


def _counts(conn: sqlite3.Connection) -> tuple[int, int]:
    """Rows of each table; 0 for a table that is gone (the schema check names it)."""
    counts = []
    for table in ("assignments", "events"):
        try:
            counts.append(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        except sqlite3.OperationalError:
            counts.append(0)
    return counts[0], counts[1]


def _dicts(conn: sqlite3.Connection, sql: str) -> list[dict[str, Any]]:
    """Rows as dicts, whatever the connection's row factory."""
    cursor = conn.execute(sql)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


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


# Migration 2: the hash chain (haicgx.record_chain), the acknowledgement of a contraindication,
# the decision's regimen on its event, and guards against REPLACE. A fresh record runs
# migrations 1 and 2 too, so every record has the same schema text, which verify compares.
_V2_FROZEN = _V1_FROZEN + ", chain_seq, prev_hash, row_hash"
_V2_DECISION = (
    "decided_by, decided_at, decision_regimen_id, decision_note, contraindication_acknowledged"
)
_NEXT_IN_CHAIN = (
    "(max(coalesce((SELECT max(chain_seq) FROM assignments), 0), "
    "coalesce((SELECT max(chain_seq) FROM events), 0)) + 1)"
)
_V2_BEFORE: tuple[str, ...] = (
    "ALTER TABLE assignments ADD COLUMN contraindication_acknowledged INTEGER",
    "ALTER TABLE assignments ADD COLUMN chain_seq INTEGER",
    "ALTER TABLE assignments ADD COLUMN prev_hash TEXT",
    "ALTER TABLE assignments ADD COLUMN row_hash TEXT",
    "ALTER TABLE events ADD COLUMN regimen_id TEXT",
    "ALTER TABLE events ADD COLUMN contraindication_acknowledged INTEGER",
    "ALTER TABLE events ADD COLUMN chain_seq INTEGER",
    "ALTER TABLE events ADD COLUMN prev_hash TEXT",
    "ALTER TABLE events ADD COLUMN row_hash TEXT",
    # Re-created below with the new columns; dropped first so the existing rows can be chained.
    "DROP TRIGGER assignments_frozen",
    "DROP TRIGGER assignments_decided_once",
    "DROP TRIGGER events_no_update",
)
_V2_AFTER: tuple[str, ...] = (
    "CREATE INDEX assignments_chain ON assignments (chain_seq)",
    "CREATE INDEX events_chain ON events (chain_seq)",
    f"""CREATE TRIGGER assignments_frozen BEFORE UPDATE OF {_V2_FROZEN} ON assignments
    BEGIN SELECT RAISE(ABORT, 'the cohort record is append-only: no version is rewritten');
    END""",
    f"""CREATE TRIGGER assignments_decided_once BEFORE UPDATE OF {_V2_DECISION} ON assignments
    WHEN OLD.decided_at IS NOT NULL
    BEGIN SELECT RAISE(ABORT, 'a tumour-board decision is recorded once'); END""",
    """CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END""",
    # INSERT OR REPLACE would delete the row it collides with without firing the DELETE
    # triggers: only the next row (new id, new patient version, next chain place) gets in.
    f"""CREATE TRIGGER assignments_append_only BEFORE INSERT ON assignments
    WHEN NEW.id IS NULL OR NEW.id <= (SELECT coalesce(max(id), 0) FROM assignments)
        OR EXISTS (SELECT 1 FROM assignments
                   WHERE patient_id = NEW.patient_id AND version = NEW.version)
        OR NEW.chain_seq IS NOT {_NEXT_IN_CHAIN}
        OR length(NEW.prev_hash) IS NOT 64 OR length(NEW.row_hash) IS NOT 64
    BEGIN SELECT RAISE(ABORT, 'the cohort record is append-only: a version is never replaced');
    END""",
    f"""CREATE TRIGGER events_append_only BEFORE INSERT ON events
    WHEN NEW.id IS NULL OR NEW.id <= (SELECT coalesce(max(id), 0) FROM events)
        OR NOT EXISTS (SELECT 1 FROM assignments WHERE id = NEW.assignment_id)
        OR NEW.chain_seq IS NOT {_NEXT_IN_CHAIN}
        OR length(NEW.prev_hash) IS NOT 64 OR length(NEW.row_hash) IS NOT 64
    BEGIN SELECT RAISE(ABORT, 'the event log is append-only: an event is never replaced'); END""",
    """CREATE TRIGGER meta_no_delete BEFORE DELETE ON meta
    BEGIN SELECT RAISE(ABORT, 'the cohort record keeps its schema version'); END""",
)


def _migration_2(conn: sqlite3.Connection) -> None:
    """Schema 2: the hash chain over the rows already there, in the order they were written."""
    for statement in _V2_BEFORE:
        conn.execute(statement)
    conn.execute(
        "UPDATE events SET regimen_id = (SELECT decision_regimen_id FROM assignments "
        "WHERE assignments.id = events.assignment_id) WHERE event IN ('confirmed', 'overridden')"
    )
    assignments = _dicts(conn, "SELECT * FROM assignments ORDER BY id")
    events = _dicts(conn, "SELECT * FROM events ORDER BY id")
    prev = chain.GENESIS
    for seq, (table, row) in enumerate(chain.chain_order(assignments, events), start=1):
        chained = {**row, "chain_seq": seq, "prev_hash": prev}
        chained["row_hash"] = chain.row_hash(table, chained, prev)
        conn.execute(
            f"UPDATE {table} SET chain_seq = ?, prev_hash = ?, row_hash = ? WHERE id = ?",
            (seq, prev, chained["row_hash"], row["id"]),
        )
        prev = chained["row_hash"]
    if assignments or events:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('chain_started', ?)",
            (
                f"{_utc_now()}: chained {len(assignments)} versions and {len(events)} events "
                "written under schema 1",
            ),
        )
    for statement in _V2_AFTER:
        conn.execute(statement)


# MIGRATIONS[n] takes a file from schema version n to n + 1; append, never edit.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_migration_1, _migration_2)
SCHEMA_VERSION = len(MIGRATIONS)
