"""Who is analysed, in which cohort and on which regimen, from which start date.

Two ways to join SDTM subjects to the trial's groups:

From the cohort assignment record (``--db``)
    A subject is the record's patient whose ``patient_id`` equals ``DM.USUBJID`` (else
    ``DM.SUBJID``). The record is opened read-only and read with plain SELECTs of its documented
    columns. A patient's current assignment follows docs/record.md: the live decided version
    (``confirmed`` or ``overridden``) if any, else the latest live version. Decided patients are
    grouped by the decision's regimen (``decision_regimen_id``); a patient whose assignment is
    only ``proposed`` is counted in its cohort and in a separate regimen group labelled
    "proposed, not confirmed", so the per-regimen results of board decisions are never mixed
    with unconfirmed proposals. ``waitlisted`` and released (withdrawn) patients are not
    analysed, and said. The start (enrolment) date is the date of the decision (``decided_at``),
    or of the proposal (``created_at``) for a proposed-only patient.

From ``DM.ARM`` (data from elsewhere, no ``--db``)
    The cohort and the regimen are the planned arm (``ARMCD``/``ARM``), intention to treat; the
    start date is ``DM.RFSTDTC``. Subjects without a start date (screen failures) are not
    analysed, and said.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from haicgx.endpoints.dates import parse_dtc
from haicgx.endpoints.sdtm import Domain
from haicgx.errors import HaicgxError

DECIDED = ("confirmed", "overridden")
PROPOSED_LABEL = "proposed, not confirmed"


@dataclass(frozen=True)
class Assignment:
    """A patient's current assignment in the record."""

    patient_id: str
    version: int
    status: str  # confirmed, overridden, proposed, waitlisted, or withdrawn (released)
    cohort_id: str | None
    regimen_id: str | None
    assigned_on: date | None


@dataclass(frozen=True)
class Subject:
    """An analysed subject: its groups and its start date."""

    usubjid: str
    cohort_id: str
    cohort_name: str
    regimen_id: str
    regimen_name: str
    regimen_group: str  # the per-regimen group key: the regimen id, or "id (proposed...)"
    basis: str  # record:confirmed, record:overridden, record:proposed, or DM.ARM
    start: date
    start_source: str


@dataclass(frozen=True)
class Population:
    subjects: tuple[Subject, ...]
    excluded: tuple[tuple[str, str], ...]  # (subject or patient id, why it is not analysed)
    grouping: str  # "record" or "DM.ARM"
    notes: tuple[str, ...] = ()


def read_record(db_path: Path) -> dict[str, Assignment]:
    """Each patient's current assignment, from the record opened read-only."""
    db_path = Path(db_path)
    if not db_path.is_file():
        raise HaicgxError(f"{db_path}: cohort record not found")
    if db_path.stat().st_size == 0:
        raise HaicgxError(f"{db_path}: empty file (0 bytes), not a cohort record")
    try:
        conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise HaicgxError(f"{db_path}: cannot open the cohort record: {exc}") from None
    try:
        rows = conn.execute(
            "SELECT patient_id, version, status, cohort_id, regimen_id, decision_regimen_id, "
            "decided_at, created_at FROM assignments ORDER BY patient_id, version"
        ).fetchall()
    except sqlite3.Error as exc:
        raise HaicgxError(f"{db_path}: not a cohort record ({exc})") from None
    finally:
        conn.close()
    by_patient: dict[str, list[tuple]] = {}
    for row in rows:
        by_patient.setdefault(row[0], []).append(row)
    return {pid: _current(pid, versions, db_path) for pid, versions in by_patient.items()}


def _current(patient_id: str, versions: list[tuple], db_path: Path) -> Assignment:
    """The current version as docs/record.md defines it."""
    live = [v for v in versions if v[2] != "superseded"]
    decided = [v for v in live if v[2] in DECIDED]
    if decided:
        row = decided[-1]
        regimen, when = row[5] or row[4], row[6]
    elif live:
        row = live[-1]
        regimen, when = row[4], row[7]
    else:
        row = versions[-1]
        return Assignment(patient_id, row[1], "withdrawn", row[3], row[4], None)
    return Assignment(patient_id, row[1], row[2], row[3], regimen, _record_date(when, db_path))


def _record_date(text: str | None, db_path: Path) -> date | None:
    if not text:
        return None
    try:
        return parse_dtc(text[:10]).first_day()
    except ValueError:
        raise HaicgxError(f"{db_path}: unreadable date {text!r} in the record") from None


def from_record(
    dm: Domain,
    assignments: dict[str, Assignment],
    *,
    cohort_names: dict[str, str],
    regimen_names: dict[str, str],
) -> Population:
    """Subjects joined to the record; see the module docstring."""
    subjects: list[Subject] = []
    excluded: list[tuple[str, str]] = []
    notes: list[str] = []
    matched: set[str] = set()
    differing_start = 0
    for row in dm.rows:
        usubjid = row.subject
        key = usubjid if usubjid in assignments else row.get("SUBJID")
        assignment = assignments.get(key or "")
        if assignment is None:
            excluded.append((usubjid, "not in the cohort record"))
            continue
        matched.add(assignment.patient_id)
        if assignment.status in ("waitlisted", "withdrawn"):
            excluded.append((usubjid, f"{assignment.status} in the cohort record"))
            continue
        if assignment.assigned_on is None:
            excluded.append((usubjid, "the record has no date for the assignment"))
            continue
        decided = assignment.status in DECIDED
        regimen = assignment.regimen_id or ""
        cohort = assignment.cohort_id or "(no cohort)"
        rfstdtc = dm.date(row, "RFSTDTC")
        if rfstdtc is not None and rfstdtc.first_day() != assignment.assigned_on:
            differing_start += 1
        source = "record decided_at" if decided else "record created_at"
        subjects.append(
            Subject(
                usubjid=usubjid,
                cohort_id=cohort,
                cohort_name=cohort_names.get(cohort, cohort),
                regimen_id=regimen,
                regimen_name=regimen_names.get(regimen, regimen),
                regimen_group=regimen if decided else f"{regimen} ({PROPOSED_LABEL})",
                basis=f"record:{assignment.status}",
                start=assignment.assigned_on,
                start_source=source,
            )
        )
    for patient_id in sorted(set(assignments) - matched):
        status = assignments[patient_id].status
        where = (
            f"{status} in the cohort record"
            if status in ("waitlisted", "withdrawn")
            else ("in the cohort record")
        )
        excluded.append((patient_id, f"{where}, not in DM (no follow-up data)"))
    if differing_start:
        notes.append(
            f"{differing_start} subject(s) have a DM.RFSTDTC other than their assignment date in "
            "the record; the record's date is the start date"
        )
    return Population(tuple(subjects), tuple(excluded), "record", tuple(notes))


def from_arm(dm: Domain) -> Population:
    """Subjects grouped by their planned arm, from DM.RFSTDTC; see the module docstring."""
    if not dm.has_column("ARM") and not dm.has_column("ARMCD"):
        raise HaicgxError(
            f"{dm.file}: no ARM or ARMCD column: without a cohort record (--db) the cohorts and "
            "regimens come from DM.ARM"
        )
    subjects: list[Subject] = []
    excluded: list[tuple[str, str]] = []
    for row in dm.rows:
        start = dm.date(row, "RFSTDTC")
        if start is None:
            excluded.append((row.subject, "no start date (DM.RFSTDTC empty)"))
            continue
        if not start.complete:
            excluded.append((row.subject, "partial start date (DM.RFSTDTC): not imputed"))
            continue
        arm_cd = row.get("ARMCD") or row.get("ARM") or "(no arm)"
        arm = row.get("ARM") or arm_cd
        subjects.append(
            Subject(
                usubjid=row.subject,
                cohort_id=arm_cd,
                cohort_name=arm,
                regimen_id=arm_cd,
                regimen_name=arm,
                regimen_group=arm_cd,
                basis="DM.ARM",
                start=start.first_day(),
                start_source="DM.RFSTDTC",
            )
        )
    return Population(tuple(subjects), tuple(excluded), "DM.ARM")


def check_unique_subjects(dm: Domain) -> None:
    """DM has one row per subject."""
    first: dict[str, int] = {}
    for row in dm.rows:
        if row.subject in first:
            raise dm.error(
                row,
                "USUBJID",
                f"duplicate subject {row.subject!r} (first on line {first[row.subject]})",
            )
        first[row.subject] = row.line
