"""Per-visit overall responses of each subject: from lesion measurements (TU + TR), else from RS.

From measurements
    TU (``TUTESTCD = TUMIDENT``) names each lesion (``TULNKID``), its role (``TUSTRESC``: TARGET,
    NON-TARGET, NEW) and its site (``TULOC``; a site naming a lymph node makes it nodal). TR holds
    the measurements per visit: ``LDIAM`` (longest diameter) for non-nodal target lesions, the
    short axis for nodal ones (``SAXIS``, else ``LPERP``, the longest perpendicular), and
    ``TUMSTATE`` for non-target and new lesions. A visit is ``VISITNUM`` (else ``VISIT``, else the
    date); its date is the earliest of its rows. The baseline is the visit flagged by
    ``TRLOBXFL``/``TRBLFL``, else the last visit on or before the start date; visits after it and
    on or after the start date are assessed with ``haicgx.endpoints.recist``.

From RS
    When a subject has no measurements, the site's own overall responses (``RSTESTCD =
    OVRLRESP``) are the per-visit responses. When it has both, the responses are derived from
    the measurements and every visit (same date, else same VISIT label) where RS says otherwise
    is reported as a disagreement.

Evaluator
    The trial's endpoints are investigator-assessed: of rows with several evaluators
    (``--EVAL``), those of the chosen one (``INVESTIGATOR`` by default) are used; a subject with
    none of those uses its accepted rows (``--ACPTFL = Y``); rows without an evaluator are used
    as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from haicgx.endpoints import recist
from haicgx.endpoints.sdtm import Domain, Row

# TR tests giving a target lesion's diameter, in order of preference.
NODE_TESTS: tuple[str, ...] = ("SAXIS", "LPERP")
NON_NODE_TESTS: tuple[str, ...] = ("LDIAM",)
STATE_TEST = "TUMSTATE"
# TUMSTATE values and what they mean for RECIST (section 4.3.3-4.3.5); anything else is an error.
STATES: dict[str, str | None] = {
    "ABSENT": recist.ABSENT,
    "NON-PATHOLOGICAL": recist.ABSENT,
    "PRESENT": recist.PRESENT,
    "EQUIVOCAL": recist.PRESENT,
    "EQUIVOCAL PROGRESSION": recist.PRESENT,
    "UNEQUIVOCAL PROGRESSION": recist.PROGRESSION,
    "UNEQUIVOCAL PD": recist.PROGRESSION,
    "PROGRESSION": recist.PROGRESSION,
    "PD": recist.PROGRESSION,
    "NOT EVALUABLE": None,
    "NOT ASSESSED": None,
    "NOT DONE": None,
    "NE": None,
}
# TRSTRESC of a target lesion without a number (RECIST 1.1 section 4.3.2).
TOO_SMALL = frozenset({"TOO SMALL TO MEASURE", "TOO SMALL"})
UNITS_MM: dict[str, Decimal] = {"MM": Decimal(1), "CM": Decimal(10)}
# RS overall responses as sites write them.
RS_RESPONSES: dict[str, str] = {
    "CR": recist.CR,
    "PR": recist.PR,
    "SD": recist.SD,
    "PD": recist.PD,
    "NE": recist.NE,
    "NON-CR/NON-PD": recist.NON_CR_NON_PD,
    "NON CR/NON PD": recist.NON_CR_NON_PD,
    "NON-CR/NON PD": recist.NON_CR_NON_PD,
}


@dataclass(frozen=True)
class VisitResponse:
    """One post-baseline time point of a subject (an ADRS ``OVR`` row)."""

    date: date
    date_flag: str
    visit: str
    visitnum: str
    response: str
    source: str  # TR (derived from measurements) or RS
    target: str | None = None
    non_target: str | None = None
    new_lesion: bool | None = None
    total: Decimal | None = None
    baseline: Decimal | None = None
    nadir: Decimal | None = None

    @property
    def pchg(self) -> float | None:
        """Percent change of the sum of diameters from baseline."""
        if self.total is None or not self.baseline:
            return None
        return float((self.total - self.baseline) * 100 / self.baseline)


@dataclass
class SubjectResponses:
    """A subject's time points and what was said about them."""

    points: list[VisitResponse] = field(default_factory=list)
    source: str = "none"  # TR, RS or none
    non_target_only: bool = False
    baseline_sum: Decimal | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Disagreement:
    usubjid: str
    visit: str
    date: date
    derived: str
    recorded: str


# ------------------------------------------------------------------------------ evaluator


def choose_evaluator(
    domain: Domain, rows: list[Row], prefix: str, wanted: str
) -> tuple[list[Row], str]:
    """The rows of one subject to use, and which evaluator they are (see the module docstring)."""
    eval_col, accept_col = f"{prefix}EVAL", f"{prefix}ACPTFL"
    evaluators = sorted({e for r in rows if (e := r.get(eval_col))})
    if not evaluators:
        return rows, "no evaluator recorded"
    chosen = [r for r in rows if (r.get(eval_col) or "").upper() == wanted.upper()]
    if chosen:
        return chosen, wanted.upper()
    accepted = [r for r in rows if r.get(accept_col) == "Y"]
    if accepted:
        return accepted, f"accepted rows ({accept_col} = Y)"
    if len(evaluators) == 1:
        return rows, evaluators[0]
    raise domain.error(
        rows[0],
        eval_col,
        f"several evaluators ({', '.join(evaluators)}), none is {wanted} and none accepted "
        f"({accept_col}): choose one with --evaluator",
    )


# ----------------------------------------------------------------------- from measurements


@dataclass(frozen=True)
class Lesion:
    lesion_id: str
    role: str  # TARGET, NON-TARGET, NEW
    organ: str
    nodal: bool


@dataclass
class _Visit:
    key: str
    visit: str
    visitnum: str
    dates: list[tuple[date, str]] = field(default_factory=list)
    values: dict[str, tuple[Decimal | None, Row]] = field(default_factory=dict)
    states: dict[str, tuple[str | None, Row]] = field(default_factory=dict)
    new_lesion: bool = False
    new_seen: set[str] = field(default_factory=set)  # NEW lesions seen, unequivocal
    new_equivocal: set[str] = field(default_factory=set)  # NEW lesions seen, equivocal
    flagged_baseline: bool = False

    @property
    def date(self) -> date:
        return min(d for d, _ in self.dates)

    @property
    def date_flag(self) -> str:
        return min(self.dates)[1]


def lesions_of(tu: Domain, rows: list[Row]) -> dict[str, Lesion]:
    """The lesions a subject's TU rows identify."""
    lesions: dict[str, Lesion] = {}
    for row in rows:
        if row.get("TUTESTCD") != "TUMIDENT":
            continue
        role = row.get("TUSTRESC") or row.get("TUORRES")
        if role not in ("TARGET", "NON-TARGET", "NEW"):
            raise tu.error(row, "TUSTRESC", "no lesion role (TARGET, NON-TARGET or NEW)")
        lesion_id = row.values["TULNKID"]
        location = row.get("TULOC") or ""
        lesion = Lesion(lesion_id, role, location.upper(), recist.is_lymph_node(location))
        known = lesions.get(lesion_id)
        if known is not None and known.role != role:
            raise tu.error(row, "TUSTRESC", f"lesion {lesion_id} is also {known.role}")
        lesions.setdefault(lesion_id, lesion)
    return lesions


def _visits(
    tr: Domain, rows: list[Row], lesions: dict[str, Lesion], start: date
) -> dict[str, _Visit]:
    visits: dict[str, _Visit] = {}
    for row in rows:
        test = row.get("TRTESTCD") or ""
        if test not in (*NODE_TESTS, *NON_NODE_TESTS, STATE_TEST):
            continue
        lesion_id = row.get("TRLNKID")
        if not lesion_id:
            raise tr.error(row, "TRLNKID", "a lesion measurement needs the lesion's TRLNKID")
        lesion = lesions.get(lesion_id)
        if lesion is None:
            raise tr.error(row, "TRLNKID", f"lesion {lesion_id} is not identified in TU")
        moment = tr.date(row, "TRDTC")
        if moment is None:
            raise tr.error(row, "TRDTC", "a measurement needs its date")
        key = row.get("VISITNUM") or row.get("VISIT") or moment.first_day().isoformat()
        visit = visits.setdefault(
            key, _Visit(key, row.get("VISIT") or "", row.get("VISITNUM") or "")
        )
        visit.dates.append((moment.impute(not_before=start), moment.flag))
        if (row.get("TRLOBXFL") or row.get("TRBLFL")) == "Y":
            visit.flagged_baseline = True
        _add_result(tr, row, test, lesion, visit)
    return visits


def _add_result(tr: Domain, row: Row, test: str, lesion: Lesion, visit: _Visit) -> None:
    if lesion.role == "NEW":
        state = _state(tr, row) if test == STATE_TEST else recist.PRESENT
        if state in (recist.PRESENT, recist.PROGRESSION):
            seen = visit.new_seen if _new_is_unequivocal(row) else visit.new_equivocal
            seen.add(lesion.lesion_id)
        return
    if test == STATE_TEST:
        state = _state(tr, row)
        known = visit.states.get(lesion.lesion_id)
        if known is not None and known[0] != state:
            _duplicate(tr, row, lesion, known[1])
        visit.states.setdefault(lesion.lesion_id, (state, row))
        return
    wanted = NODE_TESTS if lesion.nodal else NON_NODE_TESTS
    if test not in wanted:
        return
    slot = f"{lesion.lesion_id}\t{test}"
    value = _diameter(tr, row)
    known_value = visit.values.get(slot)
    if known_value is not None and known_value[0] != value:
        _duplicate(tr, row, lesion, known_value[1])
    visit.values.setdefault(slot, (value, row))


def date_back_new_lesions(ordered: Sequence[_Visit]) -> None:
    """Mark each visit that shows a new lesion, dating an equivocal one back once confirmed.

    RECIST 1.1 section 4.3.5: an equivocal new lesion is not progression; if a later scan
    confirms it, progression is dated at the scan where it was first seen.
    """
    confirmed = set().union(*(v.new_seen for v in ordered)) if ordered else set()
    first_seen: set[str] = set()
    for visit in ordered:
        if visit.new_seen:
            visit.new_lesion = True
        for lesion_id in (visit.new_seen | visit.new_equivocal) & confirmed - first_seen:
            visit.new_lesion = True
            first_seen.add(lesion_id)


def _new_is_unequivocal(row: Row) -> bool:
    """RECIST 1.1 section 4.3.5: an equivocal new lesion is not progression (yet)."""
    return "EQUIVOCAL" not in (row.get("TRSTRESC") or "").upper().replace("UNEQUIVOCAL", "")


def _duplicate(tr: Domain, row: Row, lesion: Lesion, first: Row) -> None:
    raise tr.error(
        row,
        "TRTESTCD",
        f"lesion {lesion.lesion_id} has two different results for {row.get('TRTESTCD')} at one "
        f"visit (first on line {first.line})",
    )


def _state(tr: Domain, row: Row) -> str | None:
    if row.get("TRSTAT") == "NOT DONE":
        return None
    text = (row.get("TRSTRESC") or "").upper()
    if not text:
        return None
    if text not in STATES:
        raise tr.error(
            row, "TRSTRESC", f"unknown lesion state {text!r} (known: {', '.join(STATES)})"
        )
    return STATES[text]


def _diameter(tr: Domain, row: Row) -> Decimal | None:
    """A diameter in mm; RECIST 1.1 section 4.3.2 for lesions too small to measure (5 mm)."""
    if row.get("TRSTAT") == "NOT DONE":
        return None
    number = row.get("TRSTRESN")
    text = (row.get("TRSTRESC") or "").upper()
    if number is None:
        if text in TOO_SMALL:
            return recist.TOO_SMALL_MM
        if text in ("ABSENT", "0"):
            return Decimal(0)
        if text:
            try:
                number = str(Decimal(text))
            except InvalidOperation:
                raise tr.error(row, "TRSTRESC", f"{text!r} is not a diameter") from None
        else:
            return None
    unit = (row.get("TRSTRESU") or "mm").upper()
    if unit not in UNITS_MM:
        raise tr.error(row, "TRSTRESU", f"unit {unit!r}: diameters in mm or cm")
    value = Decimal(number) * UNITS_MM[unit]
    if value < 0:
        raise tr.error(row, "TRSTRESN", "a diameter cannot be negative")
    return value


def _lesion_value(visit: _Visit, lesion: Lesion) -> Decimal | None:
    tests = NODE_TESTS if lesion.nodal else NON_NODE_TESTS
    for test in tests:
        slot = visit.values.get(f"{lesion.lesion_id}\t{test}")
        if slot is not None:
            return slot[0]
    state = visit.states.get(lesion.lesion_id)
    if state is not None and state[0] == recist.ABSENT:
        return Decimal(0)  # RECIST 1.1 section 4.3.2: a lesion that disappeared counts 0 mm
    return None


def _non_target_state(visit: _Visit, lesion: Lesion) -> str | None:
    """A non-target lesion's state; a lesion demoted from target has only diameters."""
    state = visit.states.get(lesion.lesion_id)
    if state is not None:
        return state[0]
    value = _lesion_value(visit, lesion)
    if value is None:
        return None
    if lesion.nodal:
        return recist.ABSENT if value < recist.NODE_NORMAL_MM else recist.PRESENT
    return recist.ABSENT if value == 0 else recist.PRESENT


def from_measurements(
    tu: Domain,
    tr: Domain,
    tu_rows: list[Row],
    tr_rows: list[Row],
    new_rows: list[Row],
    start: date,
) -> SubjectResponses:
    """A subject's time points from its lesions and measurements (see the module docstring)."""
    out = SubjectResponses(source="TR")
    lesions = lesions_of(tu, tu_rows)
    visits = _visits(tr, tr_rows, lesions, start)
    _add_new_lesions(tu, new_rows, lesions, visits, start)
    if not visits:
        out.notes.append("no lesion measurement")
        return out
    ordered = sorted(visits.values(), key=lambda v: (v.date, v.key))
    date_back_new_lesions(ordered)
    baseline = _baseline_visit(ordered, start)
    if baseline is None:
        out.notes.append("no baseline measurement on or before the start date")
        return out
    targets, non_targets = _baseline_lesions(lesions, baseline, out)
    nodal = {lesion.lesion_id for lesion in targets if lesion.nodal}
    baseline_values = {t.lesion_id: _lesion_value(baseline, t) for t in targets}
    base = {k: v for k, v in baseline_values.items() if v is not None}
    after = [v for v in ordered if v is not baseline and v.date > baseline.date]
    early = [v for v in after if v.date < start]
    if early:
        out.notes.append(f"{len(early)} visit(s) before the start date not assessed")
    after = [v for v in after if v.date >= start]
    measured = [
        recist.Measured(
            diameters={t.lesion_id: _lesion_value(v, t) for t in targets},
            states={n.lesion_id: _non_target_state(v, n) for n in non_targets},
            new_lesion=v.new_lesion,
        )
        for v in after
    ]
    assessed = recist.assess_time_points(base, nodal, measured)
    out.baseline_sum = recist.sum_of_diameters(base.values()) if base else None
    out.non_target_only = not base
    for visit, result in zip(after, assessed, strict=True):
        out.points.append(
            VisitResponse(
                date=visit.date,
                date_flag=visit.date_flag,
                visit=visit.visit,
                visitnum=visit.visitnum,
                response=result.response,
                source="TR",
                target=result.target,
                non_target=result.non_target,
                new_lesion=result.new_lesion,
                total=result.total,
                baseline=out.baseline_sum,
                nadir=result.nadir,
            )
        )
    return out


def _add_new_lesions(
    tu: Domain, rows: list[Row], lesions: dict[str, Lesion], visits: dict[str, _Visit], start: date
) -> None:
    """TU rows identifying a NEW lesion put a new lesion on their visit (RECIST section 4.3.5),
    unless TR follows that lesion: then TR's states say whether and when it is unequivocal."""
    in_tr = set().union(*(v.new_seen | v.new_equivocal for v in visits.values()))
    for row in rows:
        if row.get("TUTESTCD") != "TUMIDENT":
            continue
        if (row.get("TUSTRESC") or row.get("TUORRES")) != "NEW" or row.get("TULNKID") in in_tr:
            continue
        moment = tu.date(row, "TUDTC")
        key = row.get("VISITNUM") or row.get("VISIT") or (moment and moment.first_day().isoformat())
        if not key:
            raise tu.error(row, "TUDTC", "a new lesion needs its date or visit")
        visit = visits.get(key)
        if visit is None:
            if moment is None:
                raise tu.error(
                    row, "TUDTC", "a new lesion at a visit without measurements needs its date"
                )
            visit = visits.setdefault(
                key, _Visit(key, row.get("VISIT") or "", row.get("VISITNUM") or "")
            )
        if moment is not None:
            visit.dates.append((moment.impute(not_before=start), moment.flag))
        visit.new_lesion = True


def _baseline_visit(ordered: list[_Visit], start: date) -> _Visit | None:
    flagged = [v for v in ordered if v.flagged_baseline]
    if flagged:
        return flagged[-1]
    before = [v for v in ordered if v.date <= start]
    return before[-1] if before else None


def _baseline_lesions(
    lesions: dict[str, Lesion], baseline: _Visit, out: SubjectResponses
) -> tuple[list[Lesion], list[Lesion]]:
    """Target lesions checked against RECIST 1.1 section 4.2; the rest are non-target."""
    declared: list[recist.BaselineLesion] = []
    non_targets = [lesion for lesion in lesions.values() if lesion.role == "NON-TARGET"]
    by_id = {}
    for lesion in lesions.values():
        if lesion.role != "TARGET":
            continue
        value = _lesion_value(baseline, lesion)
        if value is None:
            out.notes.append(
                f"target lesion {lesion.lesion_id} not measured at baseline: non-target"
            )
            non_targets.append(lesion)
            continue
        by_id[lesion.lesion_id] = lesion
        declared.append(recist.BaselineLesion(lesion.lesion_id, lesion.organ, lesion.nodal, value))
    kept, moved = recist.select_target_lesions(declared)
    for item, reason in moved:
        out.notes.append(f"target lesion {item.lesion_id}: {reason}")
        non_targets.append(by_id[item.lesion_id])
    targets = sorted((by_id[item.lesion_id] for item in kept), key=lambda x: x.lesion_id)
    return targets, sorted(non_targets, key=lambda x: x.lesion_id)


# -------------------------------------------------------------------------------- from RS


def from_rs(rs: Domain, rows: list[Row], start: date) -> SubjectResponses:
    """A subject's time points from its RS overall responses after the start date."""
    out = SubjectResponses(source="RS")
    seen: dict[date, Row] = {}
    for row in rows:
        if row.get("RSTESTCD") != "OVRLRESP":
            continue
        moment = rs.date(row, "RSDTC")
        if moment is None:
            raise rs.error(row, "RSDTC", "an overall response needs its date")
        when = moment.impute(not_before=start)
        if when <= start:
            continue
        if when in seen:
            raise rs.error(
                row, "RSDTC", f"two overall responses on {when} (first on line {seen[when].line})"
            )
        seen[when] = row
        response = _rs_response(row, out)
        out.points.append(
            VisitResponse(
                date=when,
                date_flag=moment.flag,
                visit=row.get("VISIT") or "",
                visitnum=row.get("VISITNUM") or "",
                response=response,
                source="RS",
            )
        )
    out.points.sort(key=lambda p: p.date)
    informative = {p.response for p in out.points} - {recist.NE, recist.PD}
    out.non_target_only = (
        bool(informative)
        and informative <= {recist.CR, recist.NON_CR_NON_PD}
        and (recist.NON_CR_NON_PD in informative)
    )
    if not out.points:
        out.source = "none"
    return out


def _rs_response(row: Row, out: SubjectResponses) -> str:
    if row.get("RSSTAT") == "NOT DONE":
        return recist.NE
    text = (row.get("RSSTRESC") or row.get("RSORRES") or "").upper()
    response = RS_RESPONSES.get(text)
    if response is None:
        # A response under query ("CHECK") or any other term is not an assessment yet: NE.
        out.notes.append(f"RS line {row.line}: overall response {text or '(empty)'!r} taken as NE")
        return recist.NE
    return response


def disagreements(
    usubjid: str, derived: Sequence[VisitResponse], recorded: Sequence[VisitResponse]
) -> list[Disagreement]:
    """Visits where the site's RS response differs from the one derived from measurements.

    An RS time point is matched to the derived one of the same date, else of the same VISIT
    label (two files of one study may number visits differently, not name them so).
    """
    by_date = {p.date: p for p in derived}
    by_visit = {p.visit: p for p in derived if p.visit}
    out = []
    for point in recorded:
        mine = by_date.get(point.date) or by_visit.get(point.visit)
        if mine is not None and mine.response != point.response:
            out.append(Disagreement(usubjid, mine.visit, mine.date, mine.response, point.response))
    return out
