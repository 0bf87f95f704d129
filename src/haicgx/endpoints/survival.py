"""Progression-free and overall survival: each subject's event or censoring, and Kaplan-Meier.

Times are days from the start date (``AVAL = ADT - STARTDT``); months are 365.25 / 12 days.

PFS (start to the first documented progression or death, whichever comes first)
    Event: the first PD among the subject's time points (RECIST 1.1 from measurements or RS),
    or death (DM.DTHDTC, else a DS death record) if earlier or without PD. Censored otherwise at
    the last adequate assessment (a time point other than NE), or at the start date (AVAL 0)
    when there is none. No censoring for new anti-cancer therapy or missed visits is applied.

OS (start to death)
    Event: death. Censored at the last date the subject was known alive: the latest date the
    data give for it (DM reference and participation dates, DS disposition dates, tumour
    assessments, adverse events, exposure), never before the start date.

Kaplan-Meier by lifelines (``KaplanMeierFitter``): the survival function with its 95%
interval (lifelines' default, the log(-log) "exponential Greenwood" interval), the median with
the 95% interval where the interval's bounds cross 0.5 (``median_survival_times`` of the
confidence bands), rates at 6, 12 and 24 months (none past the longest follow-up), and the
numbers at risk (subjects whose time is at least t).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times

from haicgx.endpoints import recist
from haicgx.endpoints.responses import VisitResponse
from haicgx.endpoints.sdtm import Domain

MONTH_DAYS = 365.25 / 12
RATE_MONTHS: tuple[int, ...] = (6, 12, 24)
AT_RISK_MONTHS: tuple[int, ...] = (0, 3, 6, 9, 12, 15, 18, 21, 24)

# Dates that show a subject alive, per domain (a death record is not among them).
ALIVE_DATES: dict[str, tuple[str, ...]] = {
    "DM": ("RFSTDTC", "RFENDTC", "RFXSTDTC", "RFXENDTC", "RFPENDTC"),
    "DS": ("DSSTDTC",),
    "TU": ("TUDTC",),
    "TR": ("TRDTC",),
    "RS": ("RSDTC",),
    "AE": ("AESTDTC", "AEENDTC"),
    "EX": ("EXSTDTC", "EXENDTC"),
}


@dataclass(frozen=True)
class Death:
    date: date
    flag: str  # ADTF of the death date, or "L" when only the last alive date is known
    source: str


@dataclass(frozen=True)
class TimeToEvent:
    """One ADTTE row."""

    paramcd: str
    start: date
    end: date
    end_flag: str
    censored: bool
    event: str  # EVNTDESC
    censoring: str  # CNSDTDSC
    source: str

    @property
    def days(self) -> int:
        return max((self.end - self.start).days, 0)


def last_known_alive(domains: Mapping[str, Domain]) -> dict[str, date]:
    """Per subject, the latest date the data give for it (partial dates at their earliest)."""
    latest: dict[str, date] = {}
    for code, columns in ALIVE_DATES.items():
        domain = domains.get(code)
        if domain is None:
            continue
        for row in domain.rows:
            if code == "DS" and row.get("DSDECOD") == "DEATH":
                continue
            for column in columns:
                moment = domain.date(row, column)
                if moment is not None:
                    day = moment.first_day()
                    if day > latest.get(row.subject, date.min):
                        latest[row.subject] = day
    return latest


def deaths(dm: Domain, ds: Domain | None, alive: Mapping[str, date]) -> dict[str, Death]:
    """Per subject, its death: DM.DTHDTC, else a DS record with DSDECOD DEATH, else DTHFL = Y
    (dated at the last known alive date). A partial date is not put before that date."""
    out: dict[str, Death] = {}
    for row in dm.rows:
        moment = dm.date(row, "DTHDTC")
        if moment is not None:
            day = moment.impute(not_before=alive.get(row.subject))
            out[row.subject] = Death(day, moment.flag, "DM.DTHDTC")
    if ds is not None:
        for row in ds.rows:
            if row.get("DSDECOD") != "DEATH" or row.subject in out:
                continue
            moment = ds.date(row, "DSSTDTC") or ds.date(row, "DSDTC")
            if moment is not None:
                day = moment.impute(not_before=alive.get(row.subject))
                out[row.subject] = Death(day, moment.flag, "DS.DSSTDTC")
    for row in dm.rows:
        if row.get("DTHFL") == "Y" and row.subject not in out and row.subject in alive:
            out[row.subject] = Death(alive[row.subject], "L", "DM.DTHFL (no date)")
    return out


def progression_free_survival(
    start: date, points: Sequence[VisitResponse], death: Death | None
) -> TimeToEvent:
    """PFS of one subject (see the module docstring)."""
    counted = recist.until_first_progression(points)
    progression = next((p for p in counted if p.response == recist.PD), None)
    if progression is not None and (death is None or progression.date <= death.date):
        return TimeToEvent(
            "PFS", start, progression.date, progression.date_flag, False,
            "DISEASE PROGRESSION", "", progression.source,
        )  # fmt: skip
    if death is not None:
        return TimeToEvent("PFS", start, death.date, death.flag, False, "DEATH", "", death.source)
    adequate = [p for p in counted if p.response != recist.NE]
    if adequate:
        last = adequate[-1]
        return TimeToEvent(
            "PFS", start, last.date, last.date_flag, True, "",
            "LAST ADEQUATE ASSESSMENT", last.source,
        )  # fmt: skip
    return TimeToEvent(
        "PFS", start, start, "", True, "", "NO ADEQUATE POST-BASELINE ASSESSMENT", "START"
    )


def overall_survival(start: date, death: Death | None, alive: date | None) -> TimeToEvent:
    """OS of one subject (see the module docstring)."""
    if death is not None:
        return TimeToEvent("OS", start, death.date, death.flag, False, "DEATH", "", death.source)
    last = max(alive or start, start)
    return TimeToEvent("OS", start, last, "", True, "", "LAST KNOWN ALIVE", "ALL DOMAINS")


# ----------------------------------------------------------------------------- Kaplan-Meier


def _number(value: Any, digits: int = 4) -> float | None:
    """A finite float rounded for the outputs, or None (NaN, infinity: not estimable)."""
    if value is None:
        return None
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        return None
    return round(value, digits)


def numbers_at_risk(days: Iterable[int], months: Iterable[int] = AT_RISK_MONTHS) -> list[dict]:
    """Subjects still at risk (time at least t) at each month mark.

    >>> numbers_at_risk([10, 200, 400], (0, 6, 12))
    [{'months': 0, 'n': 3}, {'months': 6, 'n': 2}, {'months': 12, 'n': 1}]
    """
    values = list(days)
    return [{"months": m, "n": sum(1 for d in values if d >= m * MONTH_DAYS)} for m in months]


def kaplan_meier(rows: Sequence[TimeToEvent]) -> dict[str, Any] | None:
    """Kaplan-Meier summary of one group's PFS or OS (see the module docstring); None if empty."""
    if not rows:
        return None
    days = [row.days for row in rows]
    observed = [not row.censored for row in rows]
    fitter = KaplanMeierFitter(alpha=0.05).fit(days, event_observed=observed)
    bands = fitter.confidence_interval_
    median_ci = median_survival_times(bands)
    longest = max(days)
    rates: list[dict[str, float | None]] = []
    for months in RATE_MONTHS:
        t = months * MONTH_DAYS
        if t > longest:
            rates.append({"months": months, "rate": None, "low": None, "high": None})
            continue
        at = bands.loc[:t].iloc[-1]
        rates.append(
            {
                "months": months,
                "rate": _number(fitter.survival_function_at_times(t).iloc[0]),
                "low": _number(at.iloc[0]),
                "high": _number(at.iloc[1]),
            }
        )
    median = _number(fitter.median_survival_time_, 1)
    low, high = (_number(v, 1) for v in median_ci.iloc[0])
    curve = fitter.survival_function_.iloc[:, 0]
    return {
        "n": len(rows),
        "events": sum(observed),
        "censored": len(rows) - sum(observed),
        "median_days": median,
        "median_low_days": low,
        "median_high_days": high,
        "median_months": _months(median),
        "median_low_months": _months(low),
        "median_high_months": _months(high),
        "rates": rates,
        "at_risk": numbers_at_risk(days),
        "steps": [{"days": _number(t, 1), "survival": _number(s)} for t, s in curve.items()],
        "censored_days": sorted(row.days for row in rows if row.censored),
    }


def _months(days: float | None) -> float | None:
    return None if days is None else round(days / MONTH_DAYS, 2)
