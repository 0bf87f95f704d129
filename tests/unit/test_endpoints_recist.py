"""RECIST 1.1 rules, worked by hand from the paper (Eisenhauer et al., EJC 2009;45:228-247).

Every row of tables 1-3, confirmation, nadir-based progression, new lesions, missing
assessments, lymph nodes under 10 mm, target lesion selection and the SD minimum.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from haicgx.endpoints import recist
from haicgx.endpoints.recist import (
    CR,
    NE,
    NON_CR_NON_PD,
    PD,
    PR,
    SD,
    BaselineLesion,
    Measured,
)

START = date(2024, 1, 1)


@dataclass(frozen=True)
class Point:
    date: date
    response: str


def points(*items: tuple[int, str]) -> list[Point]:
    """Time points at the given days after START."""
    return [Point(START + timedelta(days=day), response) for day, response in items]


# ------------------------------------------------------------------------------ table 1

TABLE_1 = [
    # target, non-target (None: no non-target lesion), new lesion, overall
    (CR, CR, False, CR),
    (CR, None, False, CR),
    (CR, NON_CR_NON_PD, False, PR),
    (CR, NE, False, PR),  # non-target not evaluated
    (PR, NON_CR_NON_PD, False, PR),
    (PR, NE, False, PR),  # non-PD or not all evaluated
    (PR, CR, False, PR),
    (PR, None, False, PR),
    (SD, NON_CR_NON_PD, False, SD),
    (SD, NE, False, SD),
    (SD, None, False, SD),
    (NE, NON_CR_NON_PD, False, NE),  # target not all evaluated
    (NE, CR, False, NE),
    (NE, None, False, NE),
    (PD, CR, False, PD),
    (PD, NON_CR_NON_PD, True, PD),
    (PD, NE, False, PD),
    (CR, PD, False, PD),
    (PR, PD, False, PD),
    (SD, PD, True, PD),
    (NE, PD, False, PD),
    (CR, CR, True, PD),
    (PR, NON_CR_NON_PD, True, PD),
    (SD, None, True, PD),
    (NE, NE, True, PD),
]


@pytest.mark.parametrize(("target", "non_target", "new", "overall"), TABLE_1)
def test_table_1_time_point_response(target, non_target, new, overall):
    assert recist.time_point_response(target, non_target, new) == overall


# ------------------------------------------------------------------------------ table 2

TABLE_2 = [
    (CR, False, CR),
    (NON_CR_NON_PD, False, NON_CR_NON_PD),
    (NE, False, NE),  # not all evaluated
    (None, False, NE),  # no disease at baseline: nothing to evaluate
    (PD, False, PD),
    (PD, True, PD),
    (CR, True, PD),
    (NON_CR_NON_PD, True, PD),
    (NE, True, PD),
]


@pytest.mark.parametrize(("non_target", "new", "overall"), TABLE_2)
def test_table_2_non_target_only(non_target, new, overall):
    assert recist.time_point_response_non_target_only(non_target, new) == overall


# ------------------------------------------------------------------ non-target response


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ({}, None),
        ({"NT1": "ABSENT", "NT2": "ABSENT"}, CR),
        ({"NT1": "ABSENT", "NT2": "PRESENT"}, NON_CR_NON_PD),
        ({"NT1": "PRESENT", "NT2": None}, NE),
        ({"NT1": "ABSENT", "NT2": None}, NE),
        ({"NT1": "UNEQUIVOCAL PROGRESSION", "NT2": None}, PD),
        ({"NT1": "UNEQUIVOCAL PROGRESSION", "NT2": "ABSENT"}, PD),
    ],
)
def test_non_target_response(states, expected):
    assert recist.non_target_response(states) == expected


# --------------------------------------------------------------------- target lesions


def target(values: dict[str, D | None], *, baseline: int, nadir: int, nodal=()) -> str:
    return recist.target_response(values, set(nodal), baseline=D(baseline), nadir=D(nadir))


def test_complete_response_needs_every_non_nodal_lesion_gone():
    assert target({"T1": D(0), "T2": D(0)}, baseline=50, nadir=50) == CR
    assert target({"T1": D(0), "T2": D(1)}, baseline=50, nadir=50) == PR


def test_lymph_nodes_under_10_mm_make_cr_with_a_sum_above_zero():
    # Section 4.3.2: the node's short axis is still recorded (sum 9.9, not 0) and it is a CR.
    assert target({"T1": D(0), "N1": D("9.9")}, baseline=50, nadir=50, nodal={"N1"}) == CR
    # A node at 10 mm is pathological: 10/50 = 80% below baseline is a PR, not a CR.
    assert target({"T1": D(0), "N1": D(10)}, baseline=50, nadir=50, nodal={"N1"}) == PR


def test_partial_response_at_exactly_30_percent():
    assert target({"T1": D(35)}, baseline=50, nadir=50) == PR
    assert target({"T1": D("35.1")}, baseline=50, nadir=50) == SD
    # 42 after 60 is exactly -30% (hundredths never round it away).
    assert target({"T1": D(15), "T2": D(14), "T3": D(13)}, baseline=60, nadir=60) == PR


def test_progression_is_judged_against_the_nadir_not_the_baseline():
    # Baseline 100, nadir 50: 60 is still 40% below baseline, but 20% and 10 mm above nadir.
    assert target({"T1": D(60)}, baseline=100, nadir=50) == PD
    assert target({"T1": D(59)}, baseline=100, nadir=50) == PR  # 18% above nadir


def test_progression_needs_5_mm_as_well_as_20_percent():
    assert target({"T1": D(14)}, baseline=10, nadir=10) == SD  # +40%, but only 4 mm
    assert target({"T1": D(15)}, baseline=10, nadir=10) == PD  # +50% and 5 mm
    # From a nadir of 0 (all gone), 5 mm of regrowth is progression.
    assert target({"T1": D(5), "T2": D(0)}, baseline=60, nadir=0) == PD
    assert target({"T1": D(4), "T2": D(0)}, baseline=60, nadir=0) == PR


def test_missing_target_lesion_is_ne_unless_the_rest_already_progress():
    # Section 4.4.2's example: baseline 50 mm, two of three lesions give 80 mm: PD.
    assert target({"T1": D(50), "T2": D(30), "T3": None}, baseline=50, nadir=50) == PD
    assert target({"T1": D(20), "T2": D(10), "T3": None}, baseline=50, nadir=50) == NE
    # Even a missing lesion that could only lower the sum leaves the time point NE.
    assert target({"T1": D(0), "T2": None}, baseline=50, nadir=50) == NE


def test_nadir_is_tracked_over_complete_sums_only():
    baseline = {"T1": D(30), "T2": D(30)}
    visits = [
        Measured({"T1": D(20), "T2": D(20)}, {}, False),  # 40: PR? no, -33% -> PR
        Measured({"T1": D(5), "T2": None}, {}, False),  # incomplete: NE, nadir stays 40
        Measured({"T1": D(25), "T2": D(22)}, {}, False),  # 47: +7 mm, 17.5% over 40 -> SD
        Measured({"T1": D(26), "T2": D(23)}, {}, False),  # 49: 22.5% and 9 mm over 40 -> PD
    ]
    assessed = recist.assess_time_points(baseline, set(), visits)
    assert [a.response for a in assessed] == [PR, NE, SD, PD]
    assert [a.nadir for a in assessed] == [D(60), D(40), D(40), D(40)]
    assert [a.total for a in assessed] == [D(40), None, D(47), D(49)]


def test_new_lesion_is_progression_whatever_the_sums():
    assessed = recist.assess_time_points({"T1": D(30)}, set(), [Measured({"T1": D(10)}, {}, True)])
    assert assessed[0].target == PR
    assert assessed[0].response == PD


def test_non_target_only_subject_follows_table_2():
    visits = [
        Measured({}, {"NT1": "PRESENT"}, False),
        Measured({}, {"NT1": "ABSENT"}, False),
        Measured({}, {"NT1": None}, False),
    ]
    assessed = recist.assess_time_points({}, set(), visits)
    assert [a.response for a in assessed] == [NON_CR_NON_PD, CR, NE]
    assert all(a.target is None and a.total is None for a in assessed)


# -------------------------------------------------------------- baseline lesion selection


def test_target_lesion_measurability_thresholds():
    assert recist.target_measurability(D(10), nodal=False) is None
    assert "non-measurable" in recist.target_measurability(D("9.9"), nodal=False)
    assert recist.target_measurability(D(15), nodal=True) is None
    assert "pathological" in recist.target_measurability(D("14.9"), nodal=True)
    assert "normal" in recist.target_measurability(D("9.9"), nodal=True)


def test_at_most_five_targets_and_two_per_organ_largest_kept():
    lesions = [
        BaselineLesion("L1", "LIVER", False, D(40)),
        BaselineLesion("L2", "LIVER", False, D(30)),
        BaselineLesion("L3", "LIVER", False, D(50)),
        BaselineLesion("P1", "LUNG", False, D(12)),
        BaselineLesion("P2", "LUNG", False, D(11)),
        BaselineLesion("N1", "LYMPH NODE", True, D(16)),
        BaselineLesion("N2", "LYMPH NODE", True, D(14)),
        BaselineLesion("B1", "BONE", False, D(20)),
    ]
    kept, moved = recist.select_target_lesions(lesions)
    assert [k.lesion_id for k in kept] == ["L3", "L1", "B1", "N1", "P1"]
    why = {lesion.lesion_id: reason for lesion, reason in moved}
    assert set(why) == {"L2", "N2", "P2"}
    assert "two per organ" in why["L2"]
    assert "pathological" in why["N2"]
    assert "at most five" in why["P2"]


def test_lymph_node_sites():
    assert recist.is_lymph_node("LYMPH NODE")
    assert recist.is_lymph_node("Lymph node, para-aortic")
    assert not recist.is_lymph_node("LIVER")
    assert not recist.is_lymph_node(None)


# --------------------------------------------------------------------------- table 3


def cbor(*items: tuple[int, str], **kwargs) -> str:
    return recist.confirmed_best_overall_response(points(*items), START, **kwargs).response


TABLE_3 = [
    # first time point, subsequent time point (28 days later), best overall response
    ((56, CR), (84, CR), CR),
    ((56, CR), (84, PR), PR),  # the note's reading: the first "CR" was a PR
    ((56, CR), (84, SD), SD),  # SD minimum met (day 56 >= 42)
    ((21, CR), (49, SD), SD),  # the SD time point itself meets the minimum
    ((56, CR), (84, PD), SD),
    ((21, CR), (35, PD), PD),  # SD minimum not met: PD
    ((56, CR), (84, NE), SD),
    ((21, CR), (35, NE), NE),  # SD minimum not met: NE
    ((56, PR), (84, CR), PR),
    ((56, PR), (84, PR), PR),
    ((56, PR), (84, SD), SD),
    ((56, PR), (84, PD), SD),
    ((21, PR), (35, PD), PD),
    ((56, PR), (84, NE), SD),
    ((21, PR), (35, NE), NE),
    ((56, NE), (84, NE), NE),
]


@pytest.mark.parametrize(("first", "second", "best"), TABLE_3)
def test_table_3_best_response_with_confirmation(first, second, best):
    assert cbor(first, second) == best


def test_confirmation_needs_four_weeks():
    assert cbor((42, CR), (70, CR)) == CR  # 28 days
    assert cbor((42, CR), (69, CR)) == SD  # 27 days: not confirmed, SD at day 42
    assert cbor((42, PR), (69, PR), (84, PR)) == PR  # confirmed by the third
    assert cbor((42, CR), (56, CR), (77, CR)) == CR  # 35 days after the first


def test_confirmation_tolerates_one_ne_between_but_not_two_or_a_worse_response():
    assert cbor((42, PR), (63, NE), (84, PR)) == PR
    assert cbor((42, PR), (56, NE), (70, NE), (84, PR)) == SD
    assert cbor((42, PR), (56, SD), (84, PR)) == SD
    assert cbor((42, CR), (56, PR), (84, CR)) == PR  # CR not confirmed by CR, PR is


def test_best_response_stops_at_the_first_progression():
    assert cbor((42, PD), (84, CR), (126, CR)) == PD
    bor = recist.best_overall_response(points((42, PD), (84, CR)), START)
    assert bor.response == PD


def test_stable_disease_minimum_from_the_start():
    assert cbor((41, SD)) == NE  # too early, nothing after it
    assert cbor((42, SD)) == SD
    assert cbor((21, SD), (35, PD)) == PD  # early SD then PD: PD
    assert cbor((21, SD), (63, SD)) == SD
    assert cbor((56, SD), sd_min_days=63) == NE  # the protocol's minimum is a parameter
    assert cbor((21, NON_CR_NON_PD), (63, NON_CR_NON_PD), non_target_only=True) == NON_CR_NON_PD


def test_no_assessment_is_ne_and_the_supporting_time_point_is_given():
    empty = recist.confirmed_best_overall_response([], START)
    assert empty.response == NE and empty.point is None
    best = recist.confirmed_best_overall_response(points((42, PR), (84, CR)), START)
    assert best.response == PR and best.point.date == START + timedelta(days=42)


def test_unconfirmed_best_response():
    def bor(*items):
        return recist.best_overall_response(points(*items), START).response

    assert bor((42, CR)) == CR
    assert bor((21, PR), (35, PD)) == PR
    assert bor((21, SD)) == NE
    assert bor((21, SD), (35, PD)) == PD
    assert bor((42, NE), (63, SD)) == SD
