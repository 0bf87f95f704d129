"""``endpoints.json``: every endpoint per cohort, per regimen and overall, machine-readable.

Valid against ``src/haicgx/schemas/endpoints.schema.json``, checked before it is written. Each rate
carries its count and its denominator (``count``/``n``), so a phase I cohort of three is never
shown as a bare percentage. The same inputs give the same file except ``generated_at``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

import jsonschema

from haicgx import __version__
from haicgx.endpoints import adverse, recist
from haicgx.endpoints.population import PROPOSED_LABEL
from haicgx.endpoints.sdtm import DOMAINS
from haicgx.endpoints.stats import clopper_pearson
from haicgx.endpoints.survival import AT_RISK_MONTHS, MONTH_DAYS, RATE_MONTHS, kaplan_meier
from haicgx.errors import HaicgxError
from haicgx.paths import load_schema

if TYPE_CHECKING:
    from haicgx.endpoints.run import Endpoints, SubjectResult

SCHEMA_VERSION = "1"
RESPONDERS = frozenset({recist.CR, recist.PR})
DISEASE_CONTROL = frozenset({recist.CR, recist.PR, recist.SD, recist.NON_CR_NON_PD})


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _proportion(count: int, n: int) -> dict[str, Any]:
    p = clopper_pearson(count, n)
    return {
        "count": count,
        "n": n,
        "rate": _rounded(p.rate),
        "low": _rounded(p.low),
        "high": _rounded(p.high),
    }


def _response(members: Sequence[SubjectResult]) -> dict[str, Any]:
    n = len(members)
    bor = Counter(m.bor.response for m in members)
    cbor = Counter(m.cbor.response for m in members)
    sources = Counter(m.responses.source for m in members)
    return {
        "sources": {key: sources.get(key, 0) for key in ("TR", "RS", "none")},
        "bor": {key: bor.get(key, 0) for key in recist.RESPONSES},
        "cbor": {key: cbor.get(key, 0) for key in recist.RESPONSES},
        "orr": _proportion(sum(cbor[k] for k in RESPONDERS), n),
        "dcr": _proportion(sum(cbor[k] for k in DISEASE_CONTROL), n),
        "orr_unconfirmed": _proportion(sum(bor[k] for k in RESPONDERS), n),
    }


def _group(
    result: Endpoints, key: str, name: str, members: list[SubjectResult], decided: bool | None
) -> dict[str, Any]:
    has_response = "response" not in result.skipped
    safety = [m for m in members if m.dosed]
    group: dict[str, Any] = {
        "id": key,
        "name": name,
        "decided": decided,
        "n": len(members),
        "subjects": sorted(m.subject.usubjid for m in members),
        "response": _response(members) if has_response else None,
        "pfs": kaplan_meier([m.pfs for m in members if m.pfs]) if has_response else None,
        "os": kaplan_meier([m.os for m in members]),
        "safety": None,
    }
    if result.events is not None:
        ids = {m.subject.usubjid for m in safety}
        group["safety"] = {"n": len(ids), **adverse.summary(result.events, ids)}
    return group


def _groups(
    result: Endpoints, key: Callable[[SubjectResult], str], name: Callable[[SubjectResult], str],
    decided: Callable[[SubjectResult], bool | None],
) -> list[dict[str, Any]]:  # fmt: skip
    by_key: dict[str, list[SubjectResult]] = {}
    for item in result.results:
        by_key.setdefault(key(item), []).append(item)
    return [
        _group(result, k, name(members[0]), members, decided(members[0]))
        for k, members in sorted(by_key.items())
    ]


def _decided(item: SubjectResult) -> bool | None:
    basis = item.subject.basis
    if not basis.startswith("record:"):
        return None
    return basis != "record:proposed"


def _regimen_name(item: SubjectResult) -> str:
    name = item.subject.regimen_name
    return name if _decided(item) is not False else f"{name} ({PROPOSED_LABEL})"


def _ae_tables(result: Endpoints, groups: list[dict[str, Any]]) -> dict[str, Any]:
    """The SOC/term table over the safety population of each group."""
    dosed = {m.subject.usubjid for m in result.results if m.dosed}
    members = {g["id"]: set(g["subjects"]) & dosed for g in groups}
    return {
        "groups": [g["id"] for g in groups],
        "n": {k: len(v) for k, v in members.items()},
        "rows": adverse.table(result.events or [], members),
    }


def build(result: Endpoints, *, generated_at: str) -> dict[str, Any]:
    """The endpoints.json content."""
    population = result.population
    options = result.options
    cohorts = _groups(
        result, lambda m: m.subject.cohort_id, lambda m: m.subject.cohort_name, lambda m: None
    )
    regimens = _groups(result, lambda m: m.subject.regimen_group, _regimen_name, _decided)
    overall = _group(result, "ALL", "All analysed subjects", list(result.results), None)
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "generated_at": generated_at,
        "haicgx_version": __version__,
        "study": result.study,
        "parameters": {
            "evaluator": options.evaluator.upper(),
            "sd_min_days": options.sd_min_days,
            "confirm_days": options.confirm_days,
            "max_ne_between": options.max_ne,
            "teae_window_days": options.teae_window_days,
            "month_days": round(MONTH_DAYS, 4),
            "rate_months": list(RATE_MONTHS),
            "at_risk_months": list(AT_RISK_MONTHS),
            "confidence_level": 0.95,
        },
        "inputs": {
            "sdtm_dir": str(result.sdtm_dir),
            "files": [
                {
                    "domain": code,
                    "file": result.located.files[code].name,
                    "rows": len(result.domains[code].rows),
                    "note": result.located.notes[code],
                }
                for code in DOMAINS
                if code in result.domains
            ],
            "absent": list(result.located.absent),
            "record": str(result.record) if result.record else None,
            "evaluators": result.evaluators,
        },
        "grouping": population.grouping,
        "subjects": {
            "in_dm": len(result.domains["DM"].rows),
            "analysed": len(population.subjects),
            "excluded": [{"id": i, "reason": why} for i, why in sorted(population.excluded)],
        },
        "cohorts": cohorts,
        "regimens": regimens,
        "overall": overall,
        "adverse_events": None,
        "disagreements": [
            {
                "usubjid": d.usubjid,
                "visit": d.visit,
                "date": d.date.isoformat(),
                "derived": d.derived,
                "recorded": d.recorded,
            }
            for d in sorted(result.disagreements, key=lambda d: (d.usubjid, d.date))
        ],
        "skipped": dict(sorted(result.skipped.items())),
        "notes": list(result.notes),
    }
    if result.events is not None:
        data["adverse_events"] = {
            "grading": result.grading,
            "high_grade": "grade 3 or higher" if result.grading == "CTCAE" else "severe",
            "events": len(result.events),
            "emergent_events": sum(1 for e in result.events if e.emergent),
            "by_cohort": _ae_tables(result, cohorts),
            "by_regimen": _ae_tables(result, regimens),
        }
    return data


@cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = load_schema("endpoints.schema.json")
    return jsonschema.Draft202012Validator(schema)


def validate(data: dict[str, Any]) -> None:
    """Raise HaicgxError when the summary breaks its schema (a bug, never the user's input)."""
    error = jsonschema.exceptions.best_match(_validator().iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "top level"
        raise HaicgxError(f"endpoints.json would break its schema at {where}: {error.message}")


def to_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
