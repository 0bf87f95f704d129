"""The tumour board's decisions and the coordinator's moves: confirm or override a proposal (checked
against the recommendation it was recorded from), release a patient, promote one from the
waitlist."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from haicgx.cohorts import Cohorts
from haicgx.errors import HaicgxError
from haicgx.record.append import _add_event, _set_status
from haicgx.record.inputs import (
    _optional_text,
    _read_recommendation,
    _required_text,
    _utc_now,
    recommendation_digest,
)
from haicgx.record.state import _current, _decided, _existing_rows, _live
from haicgx.record.store import _transaction
from haicgx.record.versions import RecordOutcome, _places_taken


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
    if not pending and decided is not None:  # live is not empty: its one row is the decision
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
