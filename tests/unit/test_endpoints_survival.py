"""Kaplan-Meier figures against a hand computation, exact intervals against known values, and the
PFS/OS event and censoring rules."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest

from haicgx.endpoints import recist
from haicgx.endpoints.responses import VisitResponse
from haicgx.endpoints.stats import clopper_pearson
from haicgx.endpoints.survival import (
    MONTH_DAYS,
    Death,
    TimeToEvent,
    kaplan_meier,
    overall_survival,
    progression_free_survival,
)

START = date(2024, 1, 1)
Z = 1.959963984540054  # the 97.5% normal quantile

# Eight subjects, times in units of 30 days; 1 = event, 0 = censored.
TIMES = [1, 2, 3, 4, 5, 6, 7, 8]
EVENTS = [1, 1, 0, 1, 1, 0, 1, 0]


def rows(times, events) -> list[TimeToEvent]:
    return [
        TimeToEvent("OS", START, START + timedelta(days=30 * t), "", not e, "", "", "TEST")
        for t, e in zip(times, events, strict=True)
    ]


def loglog_band(survival: float, greenwood: float) -> tuple[float, float]:
    """The log(-log) interval by hand: S ** exp(+-z * sqrt(G) / |log S|)."""
    spread = Z * math.sqrt(greenwood) / abs(math.log(survival))
    return survival ** math.exp(spread), survival ** math.exp(-spread)


def test_kaplan_meier_against_a_hand_computation():
    km = kaplan_meier(rows(TIMES, EVENTS))
    # Product-limit by hand: at risk 8, 7, (3 censored), 5, 4, (6 censored), 2.
    expected = {30: 7 / 8, 60: 7 / 8 * 6 / 7, 120: 0.75 * 4 / 5, 150: 0.6 * 3 / 4, 210: 0.45 / 2}
    steps = {s["days"]: s["survival"] for s in km["steps"]}
    for day, value in expected.items():
        assert steps[day] == pytest.approx(value, abs=1e-4)
    assert km["n"] == 8 and km["events"] == 5 and km["censored"] == 3
    assert km["censored_days"] == [90, 180, 240]
    # Median: the first time S <= 0.5 is day 150 (S = 0.45).
    assert km["median_days"] == 150
    assert km["median_months"] == pytest.approx(150 / MONTH_DAYS, abs=0.01)
    # Its interval: the lower band first reaches 0.5 at day 30; the upper band never: NR.
    low_30, _ = loglog_band(7 / 8, 1 / (8 * 7))
    assert low_30 < 0.5
    assert km["median_low_days"] == 30
    greenwood_210 = 1 / 56 + 1 / 42 + 1 / 20 + 1 / 12 + 1 / 2
    _, high_210 = loglog_band(0.225, greenwood_210)
    assert high_210 > 0.5  # so the upper band never crosses 0.5
    assert km["median_high_days"] is None and km["median_high_months"] is None


def test_rates_and_their_intervals_at_month_marks():
    km = kaplan_meier(rows(TIMES, EVENTS))
    six, twelve, twenty_four = km["rates"]
    # Six months = 182.6 days: events at 30, 60, 120, 150 -> S = 0.45.
    assert six["rate"] == pytest.approx(0.45, abs=1e-4)
    greenwood = 1 / (8 * 7) + 1 / (7 * 6) + 1 / (5 * 4) + 1 / (4 * 3)
    low, high = loglog_band(0.45, greenwood)
    assert six["low"] == pytest.approx(low, abs=1e-4)
    assert six["high"] == pytest.approx(high, abs=1e-4)
    assert six["low"] == pytest.approx(0.1076, abs=1e-4)  # the figure worked on paper
    # The longest follow-up is 240 days: no rate at 12 or 24 months.
    assert twelve["rate"] is None and twenty_four["rate"] is None


def test_numbers_at_risk():
    km = kaplan_meier(rows(TIMES, EVENTS))
    at_risk = {a["months"]: a["n"] for a in km["at_risk"]}
    # 3 months = 91.3 days: times 120..240 remain; 6 months = 182.6 days: 210 and 240.
    assert at_risk[0] == 8 and at_risk[3] == 5 and at_risk[6] == 2 and at_risk[9] == 0


def test_all_censored_and_empty_groups():
    km = kaplan_meier(rows([1, 2], [0, 0]))
    assert km["events"] == 0 and km["median_days"] is None
    assert km["rates"][0]["rate"] is None  # 182.6 days is past the longest time (60)
    assert kaplan_meier([]) is None


@pytest.mark.parametrize(
    ("count", "n", "low", "high"),
    [
        (5, 10, 0.187086, 0.812914),  # binom.test(5, 10) in R
        (1, 20, 0.001265, 0.248733),
        (0, 10, 0.0, 0.308497),  # 1 - 0.025 ** (1 / 10)
        (10, 10, 0.691503, 1.0),  # 0.025 ** (1 / 10)
        (3, 12, 0.054861, 0.571858),
    ],
)
def test_clopper_pearson_known_values(count, n, low, high):
    p = clopper_pearson(count, n)
    assert p.rate == pytest.approx(count / n)
    assert p.low == pytest.approx(low, abs=1e-6)
    assert p.high == pytest.approx(high, abs=1e-6)


def test_clopper_pearson_closed_forms_at_the_edges():
    for n in (1, 3, 7, 25):
        assert clopper_pearson(0, n).high == pytest.approx(1 - 0.025 ** (1 / n))
        assert clopper_pearson(n, n).low == pytest.approx(0.025 ** (1 / n))
    empty = clopper_pearson(0, 0)
    assert empty.rate is None and empty.low is None and empty.high is None
    with pytest.raises(ValueError):
        clopper_pearson(3, 2)


# ------------------------------------------------------------------------- PFS and OS


def visit(day: int, response: str) -> VisitResponse:
    return VisitResponse(START + timedelta(days=day), "", f"D{day}", "", response, "TR")


def test_pfs_event_at_the_first_progression():
    pfs = progression_free_survival(
        START, [visit(42, recist.SD), visit(84, recist.PD), visit(126, recist.PD)], None
    )
    assert (pfs.days, pfs.censored, pfs.event) == (84, False, "DISEASE PROGRESSION")


def test_pfs_death_before_progression_is_the_event():
    death = Death(START + timedelta(days=60), "", "DM.DTHDTC")
    pfs = progression_free_survival(START, [visit(42, recist.SD), visit(84, recist.PD)], death)
    assert (pfs.days, pfs.censored, pfs.event) == (60, False, "DEATH")


def test_pfs_censored_at_the_last_adequate_assessment():
    pfs = progression_free_survival(
        START, [visit(42, recist.SD), visit(84, recist.PR), visit(126, recist.NE)], None
    )
    assert (pfs.days, pfs.censored, pfs.censoring) == (84, True, "LAST ADEQUATE ASSESSMENT")


def test_pfs_without_an_adequate_assessment_is_censored_at_the_start():
    pfs = progression_free_survival(START, [visit(42, recist.NE)], None)
    assert (pfs.days, pfs.censored) == (0, True)
    assert pfs.censoring == "NO ADEQUATE POST-BASELINE ASSESSMENT"


def test_os_death_or_last_known_alive():
    death = Death(START + timedelta(days=300), "D", "DM.DTHDTC")
    os_ = overall_survival(START, death, START + timedelta(days=200))
    assert (os_.days, os_.censored, os_.end_flag) == (300, False, "D")
    alive = overall_survival(START, None, START + timedelta(days=200))
    assert (alive.days, alive.censored, alive.censoring) == (200, True, "LAST KNOWN ALIVE")
    before = overall_survival(START, None, START - timedelta(days=5))
    assert before.days == 0
