"""ISO 8601 dates of SDTM ``--DTC`` columns, partial ones included, and how they are imputed.

SDTM keeps what was collected: ``2014-02-12``, ``2014-02`` (day unknown), ``2014`` (month unknown),
with an optional time (``2014-07-02T11:45``), which the endpoints do not use. A partial date is
imputed to the **first possible day** of its period, except that it is never put before a known
anchor lying inside that period (the start date for assessments and adverse events, the last
known alive date for a death). That choice is the conservative one for every endpoint here: a
progression or death dated earlier shortens PFS and OS, and an adverse event in the month
treatment started counts as treatment-emergent. ``ADTF`` says what was imputed (``D`` day,
``M`` month and day), as ADaM does.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

_DTC = re.compile(
    r"^(?P<year>[0-9]{4})(-(?P<month>[0-9]{2})(-(?P<day>[0-9]{2})"
    r"(T[0-9]{2}(:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?)?)?)?$"
)


@dataclass(frozen=True)
class PartialDate:
    """A date of which the month and the day may be unknown."""

    year: int
    month: int | None = None
    day: int | None = None

    @property
    def complete(self) -> bool:
        return self.day is not None

    @property
    def flag(self) -> str:
        """ADaM's date imputation flag: '' complete, 'D' day imputed, 'M' month and day."""
        if self.month is None:
            return "M"
        return "" if self.day is not None else "D"

    def first_day(self) -> date:
        return date(self.year, self.month or 1, self.day or 1)

    def last_day(self) -> date:
        month = self.month or 12
        day = self.day or calendar.monthrange(self.year, month)[1]
        return date(self.year, month, day)

    def impute(self, *, not_before: date | None = None) -> date:
        """The first possible day, or ``not_before`` when it lies inside the period.

        >>> PartialDate(2014, 2).impute()
        datetime.date(2014, 2, 1)
        >>> PartialDate(2014, 2).impute(not_before=date(2014, 2, 10))
        datetime.date(2014, 2, 10)
        >>> PartialDate(2014, 2).impute(not_before=date(2014, 5, 10))
        datetime.date(2014, 2, 1)
        >>> PartialDate(2014, 2, 3).impute(not_before=date(2014, 2, 10))
        datetime.date(2014, 2, 3)
        """
        first = self.first_day()
        if self.complete or not_before is None:
            return first
        return not_before if first <= not_before <= self.last_day() else first


def parse_dtc(text: str) -> PartialDate:
    """Parse an SDTM date; raise ValueError saying why it is not one.

    >>> parse_dtc("2014-07-02T11:45")
    PartialDate(year=2014, month=7, day=2)
    >>> parse_dtc("2014-02")
    PartialDate(year=2014, month=2, day=None)
    >>> parse_dtc("2014-02-30")
    Traceback (most recent call last):
    ...
    ValueError: '2014-02-30' is not a calendar date
    """
    match = _DTC.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not an ISO 8601 date (YYYY, YYYY-MM or YYYY-MM-DD)")
    year = int(match["year"])
    month = int(match["month"]) if match["month"] else None
    day = int(match["day"]) if match["day"] else None
    try:
        date(year, month or 1, day or 1)
    except ValueError:
        raise ValueError(f"{text!r} is not a calendar date") from None
    return PartialDate(year, month, day)


def iso(value: date | None) -> str:
    """A date as YYYY-MM-DD, or '' when unknown."""
    return value.isoformat() if value else ""
