"""RECIST 1.1, one rule per function.

Every rule cites the paper it comes from: Eisenhauer EA, Therasse P, Bogaerts J, et al. New
response evaluation criteria in solid tumours: revised RECIST guideline (version 1.1). Eur J
Cancer 2009;45:228-247, by section and table ("RECIST 1.1 section 4.3.1").

Diameters are ``Decimal`` millimetres, so that the thresholds (30% below baseline, 20% and 5 mm
above the nadir) are compared exactly: 35 mm after a 50 mm baseline is a partial response, not a
rounding accident. The functions are pure: reading SDTM rows into lesions and visits is
``haicgx.endpoints.responses``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Generic, Protocol, TypeVar

# Time point and best overall responses (RECIST 1.1 tables 1-3).
CR = "CR"
PR = "PR"
SD = "SD"
NON_CR_NON_PD = "NON-CR/NON-PD"
PD = "PD"
NE = "NE"
RESPONSES: tuple[str, ...] = (CR, PR, SD, NON_CR_NON_PD, PD, NE)

# States of a non-target lesion at a time point (SDTM TR TUMSTATE, normalised).
ABSENT = "ABSENT"
PRESENT = "PRESENT"
PROGRESSION = "UNEQUIVOCAL PROGRESSION"

# RECIST 1.1 section 3.1.1 and 4.2: measurable size and the lymph-node thresholds (short axis).
MEASURABLE_MM = Decimal(10)
NODE_TARGET_MM = Decimal(15)
NODE_NORMAL_MM = Decimal(10)
# RECIST 1.1 section 4.2: at most five target lesions in all, two per organ.
MAX_TARGETS = 5
MAX_TARGETS_PER_ORGAN = 2
# RECIST 1.1 section 4.3.2: a lesion too small to measure counts as 5 mm.
TOO_SMALL_MM = Decimal(5)
# RECIST 1.1 section 4.3.1: PR at least 30% below baseline; PD at least 20% and 5 mm above nadir.
PR_DECREASE = Decimal("0.30")
PD_INCREASE = Decimal("0.20")
PD_ABSOLUTE_MM = Decimal(5)
# RECIST 1.1 section 4.6.1: confirmation no less than 4 weeks after the response was first met.
CONFIRM_DAYS = 28
# RECIST 1.1 section 4.6.1: SD must be met once at a protocol-set minimum after entry (6-8 weeks).
SD_MIN_DAYS = 42
# How many NE time points may lie between a response and its confirmation.
MAX_NE_BETWEEN = 1


class TimePoint(Protocol):
    """What the best-response rules need of a time point."""

    @property
    def date(self) -> date: ...

    @property
    def response(self) -> str: ...


# The rules return the caller's own time points (with whatever else they carry).
P = TypeVar("P", bound=TimePoint)


# ------------------------------------------------------------------------- baseline lesions


def is_lymph_node(location: str | None) -> bool:
    """A lesion is nodal when its site names a lymph node (SDTM TULOC).

    >>> is_lymph_node("LYMPH NODE"), is_lymph_node("Axillary lymph node"), is_lymph_node("LIVER")
    (True, True, False)
    """
    text = (location or "").upper()
    return "LYMPH" in text or "NODE" in text


def target_measurability(diameter: Decimal, *, nodal: bool) -> str | None:
    """Why a baseline lesion cannot be a target lesion, or None when it can.

    RECIST 1.1 section 3.1.1: a non-nodal lesion is measurable at 10 mm or more (longest
    diameter); a lymph node is a measurable target at 15 mm or more in short axis. Section 3.1.2:
    a node of 10 to under 15 mm is pathological but non-measurable (non-target); under 10 mm it
    is normal.

    >>> target_measurability(Decimal(10), nodal=False) is None
    True
    >>> target_measurability(Decimal("14.9"), nodal=True)
    'pathological lymph node under 15 mm in short axis: non-measurable, followed as non-target'
    """
    if nodal:
        if diameter >= NODE_TARGET_MM:
            return None
        if diameter >= NODE_NORMAL_MM:
            return (
                "pathological lymph node under 15 mm in short axis: non-measurable, "
                "followed as non-target"
            )
        return "lymph node under 10 mm in short axis is normal: followed as non-target"
    if diameter >= MEASURABLE_MM:
        return None
    return "lesion under 10 mm is non-measurable: followed as non-target"


@dataclass(frozen=True)
class BaselineLesion:
    lesion_id: str
    organ: str
    nodal: bool
    diameter: Decimal  # longest diameter, or short axis for a node


def select_target_lesions(
    declared: Sequence[BaselineLesion],
) -> tuple[list[BaselineLesion], list[tuple[BaselineLesion, str]]]:
    """The target lesions among those the site declared, and the others with the reason.

    RECIST 1.1 section 4.2: at most five target lesions in all and two per organ, chosen by size
    among measurable lesions (section 3.1.1); the others are followed as non-target. Declared
    targets that break a rule are moved to non-target, the largest kept first.

    >>> lesions = [BaselineLesion(f"T{i}", "LIVER", False, Decimal(10 + i)) for i in range(3)]
    >>> kept, moved = select_target_lesions(lesions)
    >>> [t.lesion_id for t in kept], [(m.lesion_id, why) for m, why in moved]
    (['T2', 'T1'], [('T0', 'a third target lesion in LIVER: at most two per organ')])
    """
    kept: list[BaselineLesion] = []
    moved: list[tuple[BaselineLesion, str]] = []
    per_organ: dict[str, int] = {}
    for lesion in sorted(declared, key=lambda x: (-x.diameter, x.lesion_id)):
        reason = target_measurability(lesion.diameter, nodal=lesion.nodal)
        if reason is None and per_organ.get(lesion.organ, 0) >= MAX_TARGETS_PER_ORGAN:
            reason = f"a third target lesion in {lesion.organ}: at most two per organ"
        if reason is None and len(kept) >= MAX_TARGETS:
            reason = "more than five target lesions: at most five"
        if reason is None:
            kept.append(lesion)
            per_organ[lesion.organ] = per_organ.get(lesion.organ, 0) + 1
        else:
            moved.append((lesion, reason))
    return kept, moved


def sum_of_diameters(diameters: Iterable[Decimal]) -> Decimal:
    """RECIST 1.1 section 4.2: the sum of the longest diameters of non-nodal target lesions and
    the short axes of nodal ones.

    >>> sum_of_diameters([Decimal("21"), Decimal("32.32")])
    Decimal('53.32')
    """
    return sum(diameters, Decimal(0))


# ------------------------------------------------------------------------ target lesions


def is_target_complete_response(diameters: Mapping[str, Decimal], nodal: set[str]) -> bool:
    """RECIST 1.1 section 4.3.1: CR is the disappearance of all target lesions, and every target
    lymph node back under 10 mm in short axis (section 4.3.2: a node's short axis is recorded even
    then, so the sum need not be zero at CR).

    >>> is_target_complete_response({"T1": Decimal(0), "N1": Decimal("9.9")}, {"N1"})
    True
    >>> is_target_complete_response({"T1": Decimal(0), "N1": Decimal(10)}, {"N1"})
    False
    """
    return all(
        value < NODE_NORMAL_MM if lesion in nodal else value == 0
        for lesion, value in diameters.items()
    )


def meets_partial_response(total: Decimal, baseline: Decimal) -> bool:
    """RECIST 1.1 section 4.3.1: PR is a decrease of at least 30% of the sum from baseline.

    >>> meets_partial_response(Decimal(35), Decimal(50))
    True
    >>> meets_partial_response(Decimal("35.01"), Decimal(50))
    False
    """
    return baseline > 0 and baseline - total >= PR_DECREASE * baseline


def meets_progression(total: Decimal, nadir: Decimal) -> bool:
    """RECIST 1.1 section 4.3.1: PD is an increase of at least 20% over the smallest sum on study
    (the nadir, baseline included) that is also at least 5 mm.

    >>> meets_progression(Decimal(60), Decimal(50)), meets_progression(Decimal(24), Decimal(20))
    (True, False)
    """
    increase = total - nadir
    return increase >= PD_ABSOLUTE_MM and increase >= PD_INCREASE * nadir


def target_response(
    diameters: Mapping[str, Decimal | None],
    nodal: set[str],
    *,
    baseline: Decimal,
    nadir: Decimal,
) -> str:
    """The target-lesion response at one time point: CR, PR, SD, PD, or NE.

    RECIST 1.1 section 4.3.1 for CR, PR, PD and SD; CR is judged first, since nodes under 10 mm
    are normal (section 4.3.2) and their growth within the normal range is no progression. Section
    4.4.2: when a target lesion was not assessed the time point is NE, unless the lesions that
    were measured already make progression (their sum alone is 20% and 5 mm above the nadir).

    >>> fifty = Decimal(50)
    >>> target_response({"T1": Decimal(80), "T2": None}, set(), baseline=fifty, nadir=fifty)
    'PD'
    >>> target_response({"T1": Decimal(30), "T2": None}, set(), baseline=fifty, nadir=fifty)
    'NE'
    """
    measured = {lesion: value for lesion, value in diameters.items() if value is not None}
    total = sum_of_diameters(measured.values())
    if len(measured) < len(diameters):
        return PD if meets_progression(total, nadir) else NE
    if is_target_complete_response(measured, nodal):
        return CR
    if meets_progression(total, nadir):
        return PD
    if meets_partial_response(total, baseline):
        return PR
    return SD


# ---------------------------------------------------------------------- non-target lesions


def non_target_response(states: Mapping[str, str | None]) -> str | None:
    """The non-target response at one time point: CR, NON-CR/NON-PD, PD, NE, or None when the
    subject has no non-target lesion.

    RECIST 1.1 section 4.3.3: CR is the disappearance of every non-target lesion (nodes
    non-pathological, under 10 mm); the persistence of one or more is non-CR/non-PD; unequivocal
    progression of existing non-target lesions is PD (section 4.3.4). A lesion not assessed makes
    the time point "not all evaluated" (NE) unless another one already shows progression.

    >>> non_target_response({"NT1": "ABSENT", "NT2": "PRESENT"})
    'NON-CR/NON-PD'
    >>> non_target_response({"NT1": "ABSENT", "NT2": None})
    'NE'
    """
    if not states:
        return None
    values = list(states.values())
    if PROGRESSION in values:
        return PD
    if None in values:
        return NE
    if all(value == ABSENT for value in values):
        return CR
    return NON_CR_NON_PD


# --------------------------------------------------------------------- time point response


def time_point_response(target: str, non_target: str | None, new_lesion: bool) -> str:
    """RECIST 1.1 table 1 (subjects with target lesions, with or without non-target ones).

    ================== ============================ ============ ========
    target lesions     non-target lesions           new lesions  overall
    ================== ============================ ============ ========
    CR                 CR (or none)                 no           CR
    CR                 non-CR/non-PD                no           PR
    CR                 not evaluated                no           PR
    PR                 non-PD or not all evaluated  no           PR
    SD                 non-PD or not all evaluated  no           SD
    not all evaluated  non-PD                       no           NE
    PD                 any                          yes or no    PD
    any                PD                           yes or no    PD
    any                any                          yes          PD
    ================== ============================ ============ ========

    >>> time_point_response("CR", "NE", False), time_point_response("SD", "PD", False)
    ('PR', 'PD')
    """
    if target == PD or non_target == PD or new_lesion:
        return PD
    if target == NE:
        return NE
    if target == CR:
        return CR if non_target in (None, CR) else PR
    return target


def time_point_response_non_target_only(non_target: str | None, new_lesion: bool) -> str:
    """RECIST 1.1 table 2 (subjects with non-target lesions only).

    ================== ============ ==============
    non-target lesions new lesions  overall
    ================== ============ ==============
    CR                 no           CR
    non-CR/non-PD      no           non-CR/non-PD
    not all evaluated  no           NE
    unequivocal PD     yes or no    PD
    any                yes          PD
    ================== ============ ==============

    A subject with no disease at all at baseline is NE until a new lesion (PD).

    >>> time_point_response_non_target_only("NON-CR/NON-PD", False)
    'NON-CR/NON-PD'
    """
    if non_target == PD or new_lesion:
        return PD
    if non_target in (CR, NON_CR_NON_PD):
        return non_target
    return NE


@dataclass(frozen=True)
class Measured:
    """What one time point's measurements give (the input of ``assess_time_points``)."""

    diameters: Mapping[str, Decimal | None]
    states: Mapping[str, str | None]
    new_lesion: bool


@dataclass(frozen=True)
class Assessed:
    """One time point assessed: the three components, the overall response and the sums."""

    target: str | None
    non_target: str | None
    new_lesion: bool
    response: str
    total: Decimal | None  # the sum of diameters, when every target lesion was measured
    nadir: Decimal | None  # the smallest complete sum before this time point, baseline included


def assess_time_points(
    baseline: Mapping[str, Decimal], nodal: set[str], points: Sequence[Measured]
) -> list[Assessed]:
    """The overall response at each time point, in date order, tracking the nadir.

    RECIST 1.1 section 4.3.1: progression is judged against the smallest sum on study, the
    baseline included; only time points with every target lesion measured give a sum that can
    become the nadir. Table 1 when there are target lesions, table 2 otherwise.
    """
    baseline_sum = sum_of_diameters(baseline.values())
    nadir = baseline_sum
    out: list[Assessed] = []
    for point in points:
        non_target = non_target_response(point.states)
        if baseline:
            target = target_response(point.diameters, nodal, baseline=baseline_sum, nadir=nadir)
            overall = time_point_response(target, non_target, point.new_lesion)
        else:
            target = None
            overall = time_point_response_non_target_only(non_target, point.new_lesion)
        values = list(point.diameters.values())
        complete = bool(baseline) and all(value is not None for value in values)
        total = sum_of_diameters(v for v in values if v is not None) if complete else None
        out.append(
            Assessed(
                target, non_target, point.new_lesion, overall, total, nadir if baseline else None
            )
        )
        if total is not None:
            nadir = min(nadir, total)
    return out


# ------------------------------------------------------------------- best overall response


def until_first_progression(points: Sequence[P]) -> list[P]:
    """The time points that count for the best response: up to and including the first PD.

    RECIST 1.1 section 4.4.3: the best overall response is the best recorded from the start of
    treatment until disease progression.
    """
    out: list[P] = []
    for point in points:
        out.append(point)
        if point.response == PD:
            break
    return out


def meets_stable_minimum(point: TimePoint, start: date, sd_min_days: int) -> bool:
    """RECIST 1.1 section 4.6.1: SD (or better) counts only when met at least once after study
    entry at the protocol's minimum interval (6-8 weeks in general)."""
    return (point.date - start).days >= sd_min_days


def is_confirmed(
    points: Sequence[TimePoint],
    index: int,
    *,
    confirmers: frozenset[str],
    confirm_days: int = CONFIRM_DAYS,
    max_ne: int = MAX_NE_BETWEEN,
) -> bool:
    """Whether the response at ``points[index]`` is confirmed by a later one.

    RECIST 1.1 section 4.6.1: a CR or PR is confirmed by a repeat assessment no less than 4 weeks
    after the criteria were first met. Here the confirming time point is the first at least
    ``confirm_days`` later with a response in ``confirmers``; every time point in between must
    itself be in ``confirmers``, except at most ``max_ne`` NE (a missed scan does not undo a
    response; a worse one does).
    """
    first = points[index]
    missed = 0
    for later in points[index + 1 :]:
        if later.response == NE:
            missed += 1
            if missed > max_ne:
                return False
            continue
        if later.response not in confirmers:
            return False
        if (later.date - first.date).days >= confirm_days:
            return True
    return False


@dataclass(frozen=True)
class Best(Generic[P]):
    """A best overall response and the time point it rests on (None for NE without one)."""

    response: str
    point: P | None


def stable_label(*, non_target_only: bool) -> str:
    """SD, or NON-CR/NON-PD for a subject followed on non-target lesions only (table 2's note:
    non-CR/non-PD is preferred over SD there)."""
    return NON_CR_NON_PD if non_target_only else SD


def best_overall_response(
    points: Sequence[P],
    start: date,
    *,
    sd_min_days: int = SD_MIN_DAYS,
    non_target_only: bool = False,
) -> Best[P]:
    """The best overall response without confirmation (RECIST 1.1 section 4.4.3).

    Best of CR, PR, then SD (or non-CR/non-PD) met at the minimum interval after the start
    (section 4.6.1), then PD; NE when none applies: an SD too early and nothing after it is NE
    (section 4.4.3: "the best response will depend on subsequent assessments").
    """
    counted = until_first_progression(points)
    for wanted in (CR, PR):
        hit = next((p for p in counted if p.response == wanted), None)
        if hit is not None:
            return Best(wanted, hit)
    return _without_response(counted, start, sd_min_days, non_target_only)


def confirmed_best_overall_response(
    points: Sequence[P],
    start: date,
    *,
    sd_min_days: int = SD_MIN_DAYS,
    confirm_days: int = CONFIRM_DAYS,
    max_ne: int = MAX_NE_BETWEEN,
    non_target_only: bool = False,
) -> Best[P]:
    """The best overall response when CR and PR need confirmation: RECIST 1.1 table 3.

    =========== ================ ==========================================================
    first point subsequent point best overall response
    =========== ================ ==========================================================
    CR          CR               CR
    CR          PR               SD, PD or PR (see below)
    CR          SD               SD if the SD minimum was met, otherwise PD
    CR          PD               SD if the SD minimum was met, otherwise PD
    CR          NE               SD if the SD minimum was met, otherwise NE
    PR          CR               PR
    PR          PR               PR
    PR          SD               SD
    PR          PD               SD if the SD minimum was met, otherwise PD
    PR          NE               SD if the SD minimum was met, otherwise NE
    NE          NE               NE
    =========== ================ ==========================================================

    CR then PR: the table's note allows that the first "CR" was in truth a PR when later scans
    show disease was still there; haicgx takes that reading (a PR confirmed by the later PR), as
    measurements that meet PR again rarely mean a true CR followed by regrowth. An unconfirmed CR
    or PR counts as SD when it was met at the SD minimum. A CR needs a later CR; a PR a later CR
    or PR; see ``is_confirmed``.
    """
    counted = until_first_progression(points)
    for index, point in enumerate(counted):
        if point.response == CR and is_confirmed(
            counted, index, confirmers=frozenset({CR}), confirm_days=confirm_days, max_ne=max_ne
        ):
            return Best(CR, point)
    for index, point in enumerate(counted):
        if point.response in (CR, PR) and is_confirmed(
            counted,
            index,
            confirmers=frozenset({CR, PR}),
            confirm_days=confirm_days,
            max_ne=max_ne,
        ):
            return Best(PR, point)
    return _without_response(counted, start, sd_min_days, non_target_only)


def _without_response(
    counted: Sequence[P], start: date, sd_min_days: int, non_target_only: bool
) -> Best[P]:
    """The best response when no (confirmed) CR or PR counts: stable disease reached at the SD
    minimum, else progression, else NE (tables 1 and 3 alike)."""
    stable = _first_stable(counted, start, sd_min_days)
    if stable is not None:
        return Best(stable_label(non_target_only=non_target_only), stable)
    progression = next((p for p in counted if p.response == PD), None)
    if progression is not None:
        return Best(PD, progression)
    return Best(NE, None)


def _first_stable(points: Sequence[P], start: date, sd_min_days: int) -> P | None:
    """The first time point at CR, PR, SD or non-CR/non-PD reached at the SD minimum."""
    return next(
        (
            p
            for p in points
            if p.response in (CR, PR, SD, NON_CR_NON_PD)
            and meets_stable_minimum(p, start, sd_min_days)
        ),
        None,
    )
