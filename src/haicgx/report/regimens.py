"""The ranked regimens as the patient report shows them: reasons with their grades and
citations, ties in words, and each regimen's evidence card."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from haicgx.report.cards import regimen_card
from haicgx.report.evidence import cites
from haicgx.report.formats import status_class
from haicgx.report.reasons import reason_summary
from haicgx.vocab import USABLE_STATUSES

if TYPE_CHECKING:
    from haicgx.knowledge import Regimen

# A tie names the other regimens up to this many; beyond, it gives their ranks.
TIE_NAMES_MAX = 3


def regimen_rows(
    regimens: list[dict[str, Any]],
    known: Mapping[str, Mapping[str, Any]],
    anchors: Mapping[str, str],
    definitions: Mapping[str, Regimen] | None,
    site: str,
) -> list[dict[str, Any]]:
    """The ranked regimens, sorted by rank: reasons with their grades and sources, ties by name,
    and the regimen's definition (``card``: None without a knowledge set)."""
    names = {r.get("regimen_id"): r.get("name") for r in regimens}
    ranks = {r.get("regimen_id"): r.get("rank") for r in regimens}
    statuses = {r.get("regimen_id"): r.get("status") for r in regimens}
    rows = []
    for regimen in sorted(regimens, key=lambda item: item.get("rank", 0)):
        reasons = []
        for reason in regimen.get("reasons") or []:
            kb_ids = reason.get("kb_ids") or []
            cited = cites(kb_ids, known, anchors)
            # The grade of a reason is its rule's (an allele-definition row only names an allele).
            ruling = [c for c in cited if c["effect"] != "allele_function"] or cited
            grades = list(dict.fromkeys(c["evidence_level"] for c in ruling if c["evidence_level"]))
            reasons.append(
                {
                    "kind": reason.get("kind", ""),
                    "text": reason.get("text", ""),
                    "summary": reason_summary(reason.get("text", "")),
                    "test_first": bool(reason.get("test_first")),
                    "cites": [(kb_id, anchors.get(kb_id)) for kb_id in kb_ids],
                    "cited": cited,
                    "grades": grades,
                }
            )
        status = regimen.get("status", "")
        definition = None
        if definitions is not None:
            definition = regimen_card(definitions.get(regimen.get("regimen_id", "")), site)
        rows.append(
            {
                **regimen,
                "reasons": reasons,
                "status_class": status_class(status),
                "usable": status in USABLE_STATUSES,
                # a pharmacogene to test before the first dose (CONTRACT section 4)
                "tests_first": [r["text"] for r in reasons if r["test_first"]],
                "tied_names": [names.get(i) or i for i in regimen.get("tied_with") or []],
                "tie": tie_text(regimen.get("tied_with") or [], names, ranks, statuses, status),
                "card": definition,
            }
        )
    return rows


def tie_text(
    tied_with: list[str],
    names: Mapping[Any, Any],
    ranks: Mapping[Any, Any],
    statuses: Mapping[Any, Any] | None = None,
    status: str = "",
) -> str:
    """What a regimen's tie says: the others by name, or by rank when there are many; and, when
    a tied regimen's status differs from this one's (``status``), both statuses, since the base
    order ranks a caution before a recommended regimen it ties with (docs/ranking.md).

    >>> names, ranks = {"a": "A", "b": "B", "c": "C", "d": "D"}, {"a": 1, "b": 2, "c": 3, "d": 4}
    >>> tie_text(["b"], names, ranks)
    'Tied with B: only the base order separates them.'
    >>> tie_text(["d", "b", "c", "x"], names, ranks)
    'Tied with 4 regimens (ranks 2, 3, 4 and x): only the base order separates them.'
    >>> tie_text(["b"], names, ranks, {"b": "recommended"}, "caution").split("status: ")[1]
    'B is recommended, this regimen is a caution.'
    """
    if not tied_with:
        return ""
    ordered = sorted(tied_with, key=lambda i: (ranks.get(i) is None, ranks.get(i) or 0, i))
    if len(ordered) <= TIE_NAMES_MAX:
        who = _and([str(names.get(i) or i) for i in ordered])
    else:
        who = f"{len(ordered)} regimens (ranks {_and([str(ranks.get(i) or i) for i in ordered])})"
    text = f"Tied with {who}: only the base order separates them"
    known = statuses or {}  # without statuses, none differs
    others = [i for i in ordered if status and known.get(i, status) != status]
    if not others:
        return f"{text}."
    differ = _and([f"{names.get(i) or i} is {_a(str(known.get(i)))}" for i in others])
    return f"{text}, not their status: {differ}, this regimen is {_a(status)}."


def _a(status: str) -> str:
    """'a caution', 'recommended', 'contraindicated'."""
    return f"a {status}" if status == "caution" else status


def _and(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
