"""Adverse events: treatment-emergent events, their grade, seriousness and relation, and the
tables by system organ class and preferred term, counting patients (not events).

Treatment-emergent
    An event starting on or after the start date; with ``--teae-window-days D``, also no later
    than D days after the last dose (the last EX date, else DM.RFXENDTC). No upper limit by
    default: late immune-related events of an anti-PD-1 backbone count, and the CDISC pilot's
    own flag (SUPPAE AETRTEM) is derived that way. A partial start date is imputed to its first
    day but not before the start date (haicgx.endpoints.dates), so an event in the month
    treatment started counts; an event without a start date counts too (the conservative side).

Grade
    The CTCAE grade ``AETOXGR`` (1-5). When the AE domain carries no grade at all, the severity
    ``AESEV`` (mild, moderate, severe) is used instead and every output says so: "severe" then
    stands where "grade 3 or higher" would. An event of unknown grade counts in "any grade" only.

Relation to the study drugs
    ``AEREL``: related unless the term says otherwise (NOT RELATED, UNLIKELY, UNRELATED, NONE,
    REMOTE, N); a missing relation counts as related, the usual conservative rule.

Serious: ``AESER = Y``. Fatal: grade 5, ``AESDTH = Y`` or ``AEOUT = FATAL``.

The denominator of each group is its safety population: the analysed subjects with at least one
EX record when EX is given, else all analysed subjects. Term: ``AEDECOD`` (else ``AETERM``);
class: ``AEBODSYS`` (else ``AESOC``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from haicgx.endpoints.sdtm import Domain, Row

NOT_RELATED = frozenset(
    {"NOT RELATED", "UNRELATED", "UNLIKELY", "UNLIKELY RELATED", "NONE", "REMOTE", "N", "NO"}
)
SEVERITY_RANK: dict[str, int] = {"MILD": 1, "MODERATE": 2, "SEVERE": 3}
HIGH_GRADE = 3
# The patient counts of each table row, in order.
MEASURES: tuple[str, ...] = ("any", "high_grade", "serious", "related")


@dataclass(frozen=True)
class AdverseEvent:
    """One ADAE row."""

    usubjid: str
    seq: str
    term: str
    decod: str
    soc: str
    start: date | None
    start_flag: str
    end: date | None
    emergent: bool
    grade: int | None  # CTCAE grade, or the severity rank when grading is "severity"
    severity: str
    serious: bool
    related: bool
    relation: str
    fatal: bool
    line: int


def grading(ae: Domain) -> str:
    """``CTCAE`` when any event carries AETOXGR, else ``severity``."""
    return "CTCAE" if any(row.get("AETOXGR") for row in ae.rows) else "severity"


def adverse_events(
    ae: Domain,
    starts: Mapping[str, date],
    last_doses: Mapping[str, date] | None = None,
    *,
    window_days: int | None = None,
) -> list[AdverseEvent]:
    """The ADAE rows of the analysed subjects (those in ``starts``), in file order."""
    mode = grading(ae)
    events = []
    for row in ae.rows:
        start = starts.get(row.subject)
        if start is None:
            continue
        last = (last_doses or {}).get(row.subject)
        until = last + timedelta(days=window_days) if last and window_days is not None else None
        events.append(_event(ae, row, start, until, mode))
    return events


def _event(ae: Domain, row: Row, start: date, until: date | None, mode: str) -> AdverseEvent:
    onset = ae.date(row, "AESTDTC")
    begins = onset.impute(not_before=start) if onset else None
    finish = ae.date(row, "AEENDTC")
    severity = row.get("AESEV") or ""
    if mode == "CTCAE":
        grade = int(row.values["AETOXGR"]) if row.get("AETOXGR") else None
    else:
        grade = SEVERITY_RANK.get(severity)
    relation = (row.get("AEREL") or "").upper()
    fatal = grade == 5 and mode == "CTCAE"
    fatal = fatal or row.get("AESDTH") == "Y" or (row.get("AEOUT") or "").upper() == "FATAL"
    return AdverseEvent(
        usubjid=row.subject,
        seq=row.get("AESEQ") or "",
        term=row.values["AETERM"],
        decod=row.get("AEDECOD") or row.values["AETERM"],
        soc=row.get("AEBODSYS") or row.get("AESOC") or "(no system organ class)",
        start=begins,
        start_flag=onset.flag if onset else "",
        end=finish.first_day() if finish else None,
        emergent=begins is None or (begins >= start and (until is None or begins <= until)),
        grade=grade,
        severity=severity,
        serious=row.get("AESER") == "Y",
        related=relation not in NOT_RELATED,
        relation=relation,
        fatal=fatal,
        line=row.line,
    )


def last_doses(dm: Domain, ex: Domain | None) -> dict[str, date]:
    """Per subject, the last dose: the latest EX start or end date, else DM.RFXENDTC."""
    out: dict[str, date] = {}
    if ex is not None:
        for row in ex.rows:
            for column in ("EXSTDTC", "EXENDTC"):
                moment = ex.date(row, column)
                if moment is not None and moment.first_day() > out.get(row.subject, date.min):
                    out[row.subject] = moment.first_day()
    for row in dm.rows:
        moment = dm.date(row, "RFXENDTC")
        if row.subject not in out and moment is not None:
            out[row.subject] = moment.first_day()
    return out


def _flags(event: AdverseEvent) -> dict[str, bool]:
    return {
        "any": True,
        "high_grade": event.grade is not None and event.grade >= HIGH_GRADE,
        "serious": event.serious,
        "related": event.related,
    }


def _count(events: Iterable[AdverseEvent], members: set[str]) -> dict[str, int]:
    """Patients (not events) with at least one event of each kind."""
    patients: dict[str, set[str]] = {measure: set() for measure in MEASURES}
    for event in events:
        if event.usubjid not in members:
            continue
        for measure, hit in _flags(event).items():
            if hit:
                patients[measure].add(event.usubjid)
    return {measure: len(ids) for measure, ids in patients.items()}


def summary(events: Sequence[AdverseEvent], members: set[str]) -> dict[str, int]:
    """Patients with any TEAE, grade >= 3, serious, related (TRAE), related grade >= 3, related
    serious, and fatal events."""
    emergent = [e for e in events if e.emergent and e.usubjid in members]
    related = [e for e in emergent if e.related]
    counts = _count(emergent, members)
    related_counts = _count(related, members)
    return {
        "teae": counts["any"],
        "teae_high_grade": counts["high_grade"],
        "serious": counts["serious"],
        "related": counts["related"],
        "related_high_grade": related_counts["high_grade"],
        "related_serious": related_counts["serious"],
        "fatal": len({e.usubjid for e in emergent if e.fatal}),
    }


def table(events: Sequence[AdverseEvent], groups: Mapping[str, set[str]]) -> list[dict[str, Any]]:
    """Rows by system organ class, each followed by its preferred terms, with the patients of
    each group per measure. Classes and terms by the number of patients (all groups), then name.
    """
    emergent = [e for e in events if e.emergent]
    everyone = set().union(*groups.values()) if groups else set()
    socs: dict[str, list[AdverseEvent]] = {}
    for event in emergent:
        if event.usubjid in everyone:
            socs.setdefault(event.soc, []).append(event)
    rows: list[dict[str, Any]] = []
    for soc, soc_events in _ranked(socs, everyone):
        rows.append(_row("soc", soc, soc, soc_events, groups))
        terms: dict[str, list[AdverseEvent]] = {}
        for event in soc_events:
            terms.setdefault(event.decod, []).append(event)
        for term, term_events in _ranked(terms, everyone):
            rows.append(_row("term", soc, term, term_events, groups))
    return rows


def _ranked(
    items: dict[str, list[AdverseEvent]], everyone: set[str]
) -> list[tuple[str, list[AdverseEvent]]]:
    def patients(events: list[AdverseEvent]) -> int:
        return len({e.usubjid for e in events if e.usubjid in everyone})

    return sorted(items.items(), key=lambda kv: (-patients(kv[1]), kv[0]))


def _row(
    level: str, soc: str, name: str, events: list[AdverseEvent], groups: Mapping[str, set[str]]
) -> dict[str, Any]:
    return {
        "level": level,
        "soc": soc,
        "name": name,
        "groups": {key: _count(events, members) for key, members in groups.items()},
    }
