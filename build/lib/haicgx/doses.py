"""Starting doses for the report's dosing table, read from the curated text of the knowledge set.

regimens.yaml gives each regimen's doses as one curated sentence (`schedule`), and the guideline
rules of biomarkers.tsv give a dose change as a sentence of their `note` ("Start fluorouracil at
50% of the standard starting dose..."). The report puts the two side by side for a pharmacist to
check, so this module only reads what the curators wrote; it never invents a dose:

- `drug_dose` finds the first "<drug> <number> <unit> ..." phrase of a schedule (None when the
  schedule gives no dose for that drug, e.g. "doses not verified: follow the centre protocol");
- `rule_percent` finds "at N% of the standard" in a rule's note (None when the rule gives no
  percentage, e.g. DPWG's "start tegafur low, or avoid it");
- `scale_dose` applies that percentage to each amount of the phrase (not to times or days).

Every dose the report shows this way is marked "verify before prescribing".
"""

from __future__ import annotations

import re

# An amount with a dose unit: "85 mg/m2", "70-80 mg/m2", "2.7 mg/m2", "400 mg" (not "46 hours").
_UNIT = r"\s*(?:mg/m2|mg/m²|mg/kg|g/m2|mg)\b"
_AMOUNT = rf"\d+(?:\.\d+)?(?:\s*-\s*\d+(?:\.\d+)?)?{_UNIT}"
# A dose phrase ends at a comma, semicolon, bracket, the end of a sentence, or " and"/" with"
# that starts another drug (" and 600 mg/m2", " and 15" continue the same drug's phrase).
_PHRASE_END = r"(?=\s*(?:[,;()]|\.\s|\.$|$)|\s+and\s+(?!\d)|\s+with\s)"
_SCALABLE = re.compile(rf"(\d+(?:\.\d+)?)(?:(\s*-\s*)(\d+(?:\.\d+)?))?({_UNIT})")
_PERCENT = re.compile(r"\bat (\d{1,3})% of the standard\b", re.IGNORECASE)
_NOT_VERIFIED = re.compile(
    r"\bnot (?:re-?)?verified\b|\bneither\b[^.]*\b(?:re-?)?verified\b|\bunverified\b", re.IGNORECASE
)


def drug_dose(schedule: str, drug: str) -> str | None:
    """The first dose phrase given for `drug` (an INN, any case) in a schedule sentence.

    >>> s = ("oxaliplatin 85 mg/m2 and folinic acid 400 mg/m2 intra-arterially, fluorouracil "
    ...      "400 mg/m2 bolus then 2400 mg/m2 over 46 hours, every 3 weeks.")
    >>> drug_dose(s, "oxaliplatin"), drug_dose(s, "folinic acid")
    ('85 mg/m2', '400 mg/m2 intra-arterially')
    >>> drug_dose(s, "fluorouracil")
    '400 mg/m2 bolus then 2400 mg/m2 over 46 hours'
    >>> drug_dose("HAI oxaliplatin 70-80 mg/m2 over 2 hours on days 1 and 15 through a port.",
    ...           "oxaliplatin")
    '70-80 mg/m2 over 2 hours on days 1 and 15 through a port'
    >>> print(drug_dose("The floxuridine and capecitabine doses were not verified.", "floxuridine"))
    None
    """
    pattern = re.compile(
        rf"(?<![\w-]){re.escape(drug)}\s+(?P<dose>{_AMOUNT}.*?){_PHRASE_END}", re.IGNORECASE
    )
    found = pattern.search(schedule)
    return " ".join(found.group("dose").split()) if found else None


def _number(value: float) -> str:
    """A dose amount without noise: 200, 1.35, 49.

    >>> _number(200.0), _number(1.35), _number(0.126)
    ('200', '1.35', '0.13')
    """
    return f"{value:.2f}".rstrip("0").rstrip(".")


def scale_dose(dose: str, percent: int) -> str:
    """`dose` with each amount (not times, days or cycles) taken at `percent` %.

    >>> scale_dose("400 mg/m2 bolus then 2400 mg/m2 over 46 hours", 50)
    '200 mg/m2 bolus then 1200 mg/m2 over 46 hours'
    >>> scale_dose("70-80 mg/m2 over 2 hours on days 1 and 15", 70)
    '49-56 mg/m2 over 2 hours on days 1 and 15'
    """

    def scaled(found: re.Match[str]) -> str:
        low = _number(float(found.group(1)) * percent / 100)
        if found.group(3) is None:
            return f"{low}{found.group(4)}"
        high = _number(float(found.group(3)) * percent / 100)
        return f"{low}{found.group(2)}{high}{found.group(4)}"

    return _SCALABLE.sub(scaled, dose)


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
