"""Starting doses for the report's dosing table, from the structured doses of the knowledge set.

regimens.yaml gives each regimen's standard starting doses as structured `doses` (drug, amount,
unit, route, how, days, cycle), each written in the curated `schedule` sentence that cites its
source (the loader checks it), and the guideline rules of biomarkers.tsv give a dose change as a
sentence of their `note` ("Start fluorouracil at 50% of the standard starting dose..."). The
report puts the two side by side for a pharmacist to check, so this module never invents a dose:

- `Dose` and `dose_text` give a drug's standard starting dose from its parts, and at a
  percentage of the amounts (never of times, days or cycles);
- `rule_percent` finds "at N% of the standard" in a rule's note (None when the rule gives no
  percentage, e.g. DPWG's "start tegafur low, or avoid it").

Every dose the report shows this way is marked "verify before prescribing".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_PERCENT = re.compile(r"\bat (\d{1,3})% of the standard\b", re.IGNORECASE)
_NOT_VERIFIED = re.compile(
    r"\bnot (?:re-?)?verified\b|\bneither\b[^.]*\b(?:re-?)?verified\b|\bunverified\b", re.IGNORECASE
)


def _number(value: float) -> str:
    """A dose amount without noise: 200, 1.35, 49.

    >>> _number(200.0), _number(1.35), _number(0.126)
    ('200', '1.35', '0.13')
    """
    return f"{value:.2f}".rstrip("0").rstrip(".")


def rule_percent(note: str) -> int | None:
    """The starting-dose percentage a guideline rule states ("at 50% of the standard ...").

    >>> rule_percent("Start irinotecan at 70% of the standard dose and raise it if tolerated.")
    70
    >>> rule_percent("Start tegafur (S-1) low, or avoid it.") is None
    True
    """
    found = _PERCENT.search(note)
    return int(found.group(1)) if found else None


def says_not_verified(text: str) -> bool:
    """Whether a curated schedule says some of it could not be verified.

    >>> says_not_verified("Doses and cycle number were not verified in this curation.")
    True
    >>> says_not_verified("Neither the label dose nor the formula was re-verified.")
    True
    >>> says_not_verified("Raltitrexed 3 mg/m2 over 1 h, every 3 weeks (HEARTO).")
    False
    """
    return bool(_NOT_VERIFIED.search(text))


def first_sentence(text: str) -> str:
    """The first sentence of a curated note (a decimal point or "1.5)" does not end it).

    >>> first_sentence("Start at 50% (CPIC 2018; 25-50% at 1.5). DPWG: start at 50% or avoid.")
    'Start at 50% (CPIC 2018; 25-50% at 1.5).'
    >>> first_sentence("No full stop")
    'No full stop'
    """
    found = re.match(r"(.+?[.!?])(?=\s+[A-Z*(]|$)", text.strip(), flags=re.S)
    return found.group(1) if found else text.strip()


# -- structured doses (regimens.yaml `doses`) ---------------------------------------------------


@dataclass(frozen=True)
class Dose:
    """One part of a drug's standard starting dose in a regimen (regimens.yaml ``doses``)."""

    drug: str
    low: float
    high: float | None  # a range's upper end, else None
    unit: str
    route: str
    how: str = ""
    days: str = ""
    per: str = ""

    @classmethod
    def of(cls, item: dict[str, Any]) -> Dose:
        amount = item["amount"]
        low, high = (amount[0], amount[1]) if isinstance(amount, list) else (amount, None)
        return cls(
            drug=item["drug"],
            low=float(low),
            high=float(high) if high is not None else None,
            unit=item["unit"],
            route=item["route"],
            how=item.get("how", ""),
            days=item.get("days", ""),
            per=item.get("per", ""),
        )

    def amount(self, percent: int = 100) -> str:
        """'85 mg/m2', '70-80 mg/m2'; at ``percent`` % of it when given.

        >>> Dose("oxaliplatin", 70, 80, "mg/m2", "hepatic-arterial").amount(70)
        '49-56 mg/m2'
        """
        low = _number(self.low * percent / 100)
        if self.high is None:
            return f"{low} {self.unit}"
        return f"{low}-{_number(self.high * percent / 100)} {self.unit}"

    def written_in(self, schedule: str) -> bool:
        """Whether the schedule sentence gives this amount with its unit ("70-80 mg/m2").

        >>> dose = Dose("cisplatin", 65, None, "mg/m2", "hepatic-arterial")
        >>> dose.written_in("Cisplatin 65 mg/m2 on day 1"), dose.written_in("Cisplatin 165 mg/m2")
        (True, False)
        """
        high = rf"\s*-\s*{re.escape(_number(self.high))}" if self.high is not None else ""
        unit = re.escape(self.unit).replace("2", "[2²]")
        pattern = rf"(?<![\d.]){re.escape(_number(self.low))}{high}\s*{unit}"
        return re.search(pattern, schedule) is not None


def dose_text(parts: list[Dose], percent: int = 100) -> str:
    """A drug's standard starting dose from its parts, at ``percent`` % of the amounts
    (never of times, days or cycles).

    >>> bolus = Dose("fluorouracil", 400, None, "mg/m2", "intravenous", "bolus", "1 and 2",
    ...              "2 weeks")
    >>> infusion = Dose("fluorouracil", 600, None, "mg/m2", "intravenous", "over 22 hours",
    ...                 "1 and 2", "2 weeks")
    >>> dose_text([bolus, infusion])
    '400 mg/m2 bolus, then 600 mg/m2 over 22 hours; intravenous; days 1 and 2; every 2 weeks'
    >>> dose_text([bolus, infusion], 50)
    '200 mg/m2 bolus, then 300 mg/m2 over 22 hours; intravenous; days 1 and 2; every 2 weeks'
    >>> dose_text([Dose("cisplatin", 65, None, "mg/m2", "hepatic-arterial", days="1")])
    '65 mg/m2; hepatic-arterial; day 1'
    """
    shared = {(p.route, p.days, p.per) for p in parts}
    if len(shared) > 1:  # parts given differently: each in full
        return "; then ".join(dose_text([p], percent) for p in parts)
    amounts = ", then ".join(" ".join(filter(None, [p.amount(percent), p.how])) for p in parts)
    route, days, per = shared.pop()
    when = ""
    if days:
        when = f"{'day' if days.isdigit() else 'days'} {days}"
    return "; ".join(filter(None, [amounts, route, when, f"every {per}" if per else ""]))
