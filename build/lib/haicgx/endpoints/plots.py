"""Geometry of the endpoint report's plots, drawn as inline SVG by the template.

Python computes coordinates only; every label reaches the page through the autoescaping template.
Coordinates are SVG user units (CSS px), rounded to 0.1 so that the same data give the same page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from haicgx.endpoints import recist
from haicgx.endpoints.survival import MONTH_DAYS

# Colour of each group (in group order) and of each response.
PALETTE: tuple[str, ...] = (
    "#1f4e79", "#c0504d", "#4f8a3c", "#8064a2", "#d98c1f", "#2c9aa0", "#7f7f7f", "#b5527f",
)  # fmt: skip
RESPONSE_COLOURS: dict[str, str] = {
    recist.CR: "#1a7f37",
    recist.PR: "#6cc24a",
    recist.SD: "#d4a72c",
    recist.NON_CR_NON_PD: "#8fb9d8",
    recist.PD: "#cf222e",
    recist.NE: "#8c959f",
}

KM_WIDTH, KM_HEIGHT = 640, 280
KM_LEFT, KM_TOP, KM_RIGHT, KM_BOTTOM = 48, 12, 16, 40
WATERFALL_HEIGHT = 260
WATERFALL_BAR = 18
SWIM_LANE = 10
SWIM_LEFT = 120
SWIM_WIDTH = 560


def _r(value: float) -> float:
    return round(value, 1)


def axis_months(longest_days: float) -> int:
    """The x-axis end: the longest time rounded up to a multiple of 3 months (at least 3).

    >>> axis_months(400), axis_months(0)
    (15, 3)
    """
    return max(3, 3 * math.ceil(longest_days / MONTH_DAYS / 3))


def _month_ticks(end: int) -> list[int]:
    step = 3 if end <= 36 else 6
    return list(range(0, end + 1, step))


def km_figure(curves: Sequence[tuple[str, dict[str, Any] | None]]) -> dict[str, Any] | None:
    """Kaplan-Meier step curves of several groups on one pair of axes, with censoring ticks."""
    present = [(label, km) for label, km in curves if km]
    if not present:
        return None
    longest = max(
        max([s["days"] for s in km["steps"]] + km["censored_days"] + [0]) for _, km in present
    )
    end = axis_months(longest)
    plot_w = KM_WIDTH - KM_LEFT - KM_RIGHT
    plot_h = KM_HEIGHT - KM_TOP - KM_BOTTOM

    def x(days: float) -> float:
        return _r(KM_LEFT + plot_w * (days / MONTH_DAYS) / end)

    def y(survival: float) -> float:
        return _r(KM_TOP + plot_h * (1 - survival))

    lines = []
    for index, (label, km) in enumerate(present):
        steps = sorted((s["days"], s["survival"]) for s in km["steps"])
        last = max([d for d, _ in steps] + km["censored_days"])
        path = [f"M{x(0)},{y(1)}"]
        for days, survival in steps:
            path.append(f"H{x(days)}V{y(survival)}")
        path.append(f"H{x(last)}")
        ticks = [{"x": x(days), "y": y(_survival_at(steps, days))} for days in km["censored_days"]]
        lines.append(
            {
                "label": label,
                "n": km["n"],
                "events": km["events"],
                "colour": PALETTE[index % len(PALETTE)],
                "path": "".join(path),
                "ticks": ticks,
            }
        )
    return {
        "width": KM_WIDTH,
        "height": KM_HEIGHT,
        "left": KM_LEFT,
        "top": KM_TOP,
        "right": KM_WIDTH - KM_RIGHT,
        "bottom": KM_HEIGHT - KM_BOTTOM,
        "x_ticks": [{"x": x(m * MONTH_DAYS), "label": m} for m in _month_ticks(end)],
        "y_ticks": [{"y": y(v), "label": f"{round(v * 100)}%"} for v in (0, 0.25, 0.5, 0.75, 1)],
        "lines": lines,
    }


def _survival_at(steps: Sequence[tuple[float, float]], days: float) -> float:
    value = 1.0
    for time, survival in steps:
        if time > days:
            break
        value = survival
    return value


def waterfall(bars: Sequence[tuple[str, float, str]]) -> dict[str, Any] | None:
    """Bars of the best percent change of the sum of diameters, largest increase first.

    ``bars``: (subject, best percent change, confirmed best response). Reference lines at +20%
    (progression) and -30% (partial response), RECIST 1.1 section 4.3.1.
    """
    if not bars:
        return None
    ordered = sorted(bars, key=lambda b: (-b[1], b[0]))
    top = max(50.0, max(b[1] for b in ordered))
    bottom = -100.0
    height = WATERFALL_HEIGHT
    left = 48

    def y(pct: float) -> float:
        return _r(10 + (height - 20) * (top - pct) / (top - bottom))

    width = left + len(ordered) * WATERFALL_BAR + 20
    out = []
    for index, (subject, pct, response) in enumerate(ordered):
        x = left + index * WATERFALL_BAR + 2
        y0, y1 = sorted((y(0), y(pct)))
        out.append(
            {
                "subject": subject,
                "pct": round(pct, 1),
                "response": response,
                "colour": RESPONSE_COLOURS.get(response, "#8c959f"),
                "x": x,
                "y": y0,
                "w": WATERFALL_BAR - 4,
                "h": _r(max(y1 - y0, 1)),
            }
        )
    ticks = [v for v in (-100, -50, -30, 0, 20, 50, 100, 200) if bottom <= v <= top]
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": width - 10,
        "zero": y(0),
        "pd_line": y(20),
        "pr_line": y(-30),
        "ticks": [{"y": y(v), "label": f"{v:+d}%" if v else "0%"} for v in ticks],
        "bars": out,
        "legend": _legend({b[2] for b in ordered}),
    }


def swimmer(lanes: Sequence[dict[str, Any]], groups: Sequence[str]) -> dict[str, Any] | None:
    """One lane per subject: follow-up from the start, the first response, progression and
    death. ``lanes``: dicts with subject, group, days, response_days, pd_days, died, best."""
    if not lanes:
        return None
    end = axis_months(max(lane["days"] for lane in lanes))
    colour = {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(groups)}

    def x(days: float | None) -> float | None:
        return None if days is None else _r(SWIM_LEFT + SWIM_WIDTH * (days / MONTH_DAYS) / end)

    rows = []
    ordered = sorted(lanes, key=lambda ln: (groups.index(ln["group"]), -ln["days"], ln["subject"]))
    for index, lane in enumerate(ordered):
        top = 8 + index * SWIM_LANE
        rows.append(
            {
                **lane,
                "y": top,
                "mid": top + SWIM_LANE / 2 - 0.5,
                "x_end": x(lane["days"]),
                "x_response": x(lane["response_days"]),
                "x_pd": x(lane["pd_days"]),
                "colour": colour[lane["group"]],
                "best_colour": RESPONSE_COLOURS.get(lane["best"], "#8c959f"),
            }
        )
    height = 8 + len(rows) * SWIM_LANE + 34
    return {
        "width": SWIM_LEFT + SWIM_WIDTH + 20,
        "height": height,
        "left": SWIM_LEFT,
        "axis_y": height - 30,
        "lane": SWIM_LANE - 3,
        "x_ticks": [{"x": x(m * MONTH_DAYS), "label": m} for m in _month_ticks(end)],
        "rows": rows,
        "groups": [{"name": g, "colour": colour[g]} for g in groups],
    }


def _legend(responses: set[str]) -> list[dict[str, str]]:
    return [
        {"response": r, "colour": RESPONSE_COLOURS[r]} for r in recist.RESPONSES if r in responses
    ]
