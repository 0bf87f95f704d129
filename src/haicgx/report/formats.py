"""Small text helpers of the reports: TSV cells parsed, numbers and dates shown, CSS classes.

The ``format_*``, ``unbroken_units`` and ``*_class`` functions are the templates' Jinja filters
(haicgx.report.render registers them); class names come from the vocabulary only, so input text
never reaches an attribute.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import jinja2

from haicgx.vocab import REASON_KINDS, REGIMEN_STATUSES


def float_or_none(text: str | None) -> float | None:
    """Parse a TSV cell; an empty cell means unknown, never zero.

    >>> float_or_none("0.48"), float_or_none(""), float_or_none(None)
    (0.48, None, None)
    """
    if text is None or not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        return None


def int_or_none(text: str | None) -> int | None:
    """Parse an integer TSV cell (``"120"`` or ``"120.0"``); empty or malformed gives None.

    >>> int_or_none("120"), int_or_none(""), int_or_none("x")
    (120, None, None)
    """
    value = float_or_none(text)
    return None if value is None else int(value)


def format_number(value: Any, digits: int = 2) -> str:
    """Show a number without noise: integers plainly, others rounded; None as an em dash.

    >>> format_number(1.0), format_number(1.5), format_number(0.4), format_number(None)
    ('1', '1.5', '0.4', '—')
    """
    if value is None or value == "" or isinstance(value, jinja2.Undefined):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        if float(value).is_integer():
            return str(int(value))
        return f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return str(value)


def format_vaf(value: float | None) -> str:
    """VAF with two decimals, or an em dash when unknown.

    >>> format_vaf(0.5), format_vaf(None)
    ('0.50', '—')
    """
    if value is None or isinstance(value, jinja2.Undefined):
        return "—"
    return f"{value:.2f}"


def format_score(value: Any) -> str:
    """Regimen scores with two decimals, so the column lines up.

    >>> format_score(0.4), format_score(-1), format_score(None)
    ('0.40', '-1.00', '—')
    """
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "—"
    return f"{value:.2f}"


def report_date(generated_at: str | None) -> str:
    """The calendar date of an ISO 8601 timestamp (``Z`` allowed); the raw text if unparsable.

    >>> report_date("2026-11-25T10:00:00Z")
    '2026-11-25'
    """
    if not generated_at:
        return "—"
    try:
        return datetime.fromisoformat(generated_at.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        return generated_at[:10]


_UNIT_BREAK = re.compile(r"(\d) (mg/m2|mg/kg|mg)\b")


def unbroken_units(text: str) -> str:
    """A dose text whose amounts never wrap inside "400 mg/m2" in a narrow printed cell: a
    no-break space before the unit and a word joiner after its slash (both invisible).

    >>> unbroken_units("400 mg/m2 bolus") == "400\u00a0mg/\u2060m2 bolus"
    True
    """

    def join(found: re.Match[str]) -> str:
        return found[1] + "\u00a0" + found[2].replace("/", "/\u2060")

    return _UNIT_BREAK.sub(join, text)


def status_class(status: str) -> str:
    """A CSS class for a regimen status; unknown statuses get a neutral class.

    Only vocabulary values become class names, so input text never reaches an attribute
    unescaped or unexpected.

    >>> status_class("caution"), status_class("<x>")
    ('status-caution', 'status-unknown')
    """
    return f"status-{status}" if status in REGIMEN_STATUSES else "status-unknown"


def kind_class(kind: str) -> str:
    """A CSS class for a reason kind, from the vocabulary only.

    >>> kind_class("dose_adjustment"), kind_class('" onclick="x')
    ('kind-dose_adjustment', 'kind-other')
    """
    return f"kind-{kind}" if kind in REASON_KINDS else "kind-other"
