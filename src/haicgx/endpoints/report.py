"""The HTML endpoint report: self-contained (inline CSS and SVG, no script), autoescaped.

The content is ``endpoints.json`` (so the page never shows a number the JSON does not hold) plus
the per-subject results for the swimmer and waterfall plots. Python shapes numbers into text and
plot coordinates; the template does the markup, so every input-derived string is escaped.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from haicgx.endpoints import plots, recist
from haicgx.endpoints.survival import MONTH_DAYS
from haicgx.report.render import environment, stylesheet

if TYPE_CHECKING:
    from haicgx.endpoints.run import Endpoints

TEMPLATE = "endpoints_report.html.j2"
STYLESHEET = "endpoints.css"
SAE_LABELS: tuple[tuple[str, str], ...] = (
    ("teae", "Any treatment-emergent AE"),
    ("teae_high_grade", "TEAE {high}"),
    ("serious", "Serious AE"),
    ("related", "Treatment-related AE (TRAE)"),
    ("related_high_grade", "TRAE {high}"),
    ("related_serious", "Serious TRAE"),
    ("fatal", "Fatal AE"),
)


def percent(value: float | None, digits: int = 1) -> str:
    """A rate as a percentage; an unknown rate as a dash.

    >>> percent(0.3333), percent(None)
    ('33.3%', '—')
    """
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def proportion(p: dict[str, Any] | None) -> str:
    """``3/10 (30.0%; 95% CI 6.7%–65.2%)``: the count and n always beside the rate.

    >>> proportion({"count": 0, "n": 0, "rate": None, "low": None, "high": None})
    '0/0 (not estimable)'
    """
    if not p:
        return "—"
    if not p["n"]:
        return f"{p['count']}/{p['n']} (not estimable)"
    return (
        f"{p['count']}/{p['n']} ({percent(p['rate'])}; 95% CI "
        f"{percent(p['low'])}–{percent(p['high'])})"
    )


def count_of(count: int, n: int) -> str:
    """``2/7 (28.6%)``."""
    return f"{count}/{n} ({percent(count / n)})" if n else f"{count}/0"


def months(value: float | None) -> str:
    return "NR" if value is None else f"{value:.1f}"


def median_text(km: dict[str, Any] | None) -> str:
    """Median in months with its 95% CI; NR where not reached."""
    if not km:
        return "—"
    return (
        f"{months(km['median_months'])} ({months(km['median_low_months'])}–"
        f"{months(km['median_high_months'])})"
    )


def rate_text(rate: dict[str, Any]) -> str:
    if rate["rate"] is None:
        return "beyond follow-up"
    return f"{percent(rate['rate'])} ({percent(rate['low'])}–{percent(rate['high'])})"


@cache
def _css() -> Markup:
    css = files("haicgx").joinpath("templates", STYLESHEET).read_text(encoding="utf-8")
    if "</" in css:
        raise ValueError(f"{STYLESHEET} must not contain '</'")
    return Markup(css)


def _groups_with(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return [*data[key], data["overall"]]


def _survival_rows(groups: list[dict[str, Any]], endpoint: str) -> list[dict[str, Any]]:
    rows = []
    for group in groups:
        km = group[endpoint]
        rows.append(
            {
                "group": group,
                "km": km,
                "median": median_text(km),
                "rates": [rate_text(r) for r in km["rates"]] if km else [],
                "at_risk": [a["n"] for a in km["at_risk"]] if km else [],
            }
        )
    return rows


def _figures(data: dict[str, Any], key: str) -> dict[str, Any]:
    groups = data[key]
    return {
        endpoint: plots.km_figure([(g["name"], g[endpoint]) for g in groups])
        for endpoint in ("pfs", "os")
    }


def _lanes(result: Endpoints) -> tuple[list[dict[str, Any]], list[tuple[str, float, str]]]:
    lanes, bars = [], []
    for item in sorted(result.results, key=lambda i: i.subject.usubjid):
        points = recist.until_first_progression(item.responses.points)
        response = next((p for p in points if p.response in (recist.CR, recist.PR)), None)
        progression = next((p for p in points if p.response == recist.PD), None)
        start = item.subject.start
        lanes.append(
            {
                "subject": item.subject.usubjid,
                "group": item.subject.cohort_name,
                "days": item.os.days,
                "months": round(item.os.days / MONTH_DAYS, 1),
                "died": not item.os.censored,
                "response_days": (response.date - start).days if response else None,
                "pd_days": (progression.date - start).days if progression else None,
                "best": item.cbor.response,
            }
        )
        changes = [p.pchg for p in points if p.pchg is not None]
        if changes:
            bars.append((item.subject.usubjid, min(changes), item.cbor.response))
    return lanes, bars


def build_context(data: dict[str, Any], result: Endpoints) -> dict[str, Any]:
    """The template's context: the JSON content, its text forms and the plot geometry."""
    lanes, bars = _lanes(result)
    cohort_names = [g["name"] for g in data["cohorts"]]
    ae = data["adverse_events"]
    high = ae["high_grade"] if ae else "grade 3 or higher"
    return {
        "data": data,
        "css": stylesheet(),
        "extra_css": _css(),
        "responses": list(recist.RESPONSES),
        "response_groups": {
            "cohorts": _groups_with(data, "cohorts"),
            "regimens": _groups_with(data, "regimens"),
        },
        "survival": {
            key: {
                endpoint: _survival_rows(_groups_with(data, key), endpoint)
                for endpoint in ("pfs", "os")
            }
            for key in ("cohorts", "regimens")
        },
        "km": {key: _figures(data, key) for key in ("cohorts", "regimens")},
        "waterfall": plots.waterfall(bars),
        "swimmer": plots.swimmer(lanes, cohort_names),
        "response_colours": plots.RESPONSE_COLOURS,
        "sae_labels": [(key, label.format(high=high)) for key, label in SAE_LABELS],
        "rate_months": data["parameters"]["rate_months"],
        "at_risk_months": data["parameters"]["at_risk_months"],
        "fmt": {
            "proportion": proportion,
            "count_of": count_of,
            "percent": percent,
        },
        "same_grouping": [g["subjects"] for g in data["cohorts"]]
        == [g["subjects"] for g in data["regimens"]],
    }


def render(data: dict[str, Any], result: Endpoints) -> str:
    """The endpoint report as one HTML page."""
    template = environment().get_template(TEMPLATE)
    return template.render(**build_context(data, result))
