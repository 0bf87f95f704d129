"""The cohort report: patients by cohort with their rank-1 regimen and pharmacogenomic flags, a
bar chart of rank-1 regimens, the failures, and the record's state (reviews, places, its check)."""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from haicgx.atomic import write_atomically
from haicgx.errors import InputError
from haicgx.pgx.genes import DPYD, UGT1A1
from haicgx.report.formats import format_number, status_class
from haicgx.report.inputs import RECOMMENDATION_FILE, read_recommendation
from haicgx.report.pharmacogenes import DPYD_CONTRAINDICATED_AT_MOST, DPYD_NORMAL_ACTIVITY
from haicgx.report.render import environment, stylesheet

log = logging.getLogger(__name__)

COHORT_TEMPLATE = "cohort_report.html.j2"

# Geometry of the cohort bar chart.
BAR_WIDTH = 520
BAR_LABEL_HEIGHT = 16
BAR_HEIGHT = 20
BAR_GAP = 8


def _pgx_flags(recommendation: Mapping[str, Any]) -> list[str]:
    """Pharmacogenomic flags worth the board's attention for one patient.

    >>> _pgx_flags({"pgx": {"DPYD": {"status": "assessed", "activity_score": 1.0,
    ...   "phenotype": "Intermediate Metabolizer"}, "UGT1A1": {"status": "not_assessed",
    ...   "diplotype": None, "phenotype": "not assessed"}}})
    ['DPYD activity score 1 (Intermediate Metabolizer)', 'UGT1A1 not assessed']
    """
    pgx = recommendation.get("pgx") or {}
    dpyd, ugt = pgx.get(DPYD) or {}, pgx.get(UGT1A1) or {}
    flags = []
    score = dpyd.get("activity_score")
    if dpyd.get("status") == "indeterminate" and score is not None:
        # its phenotype gives the score the alleles found allow at most
        flags.append(f"DPYD {dpyd.get('phenotype') or 'indeterminate'}")
    elif dpyd.get("status") != "assessed":
        flags.append(f"DPYD {str(dpyd.get('status', 'not_assessed')).replace('_', ' ')}")
    elif score is not None and score < DPYD_NORMAL_ACTIVITY:
        flags.append(f"DPYD activity score {format_number(score)} ({dpyd.get('phenotype', '')})")
    if ugt.get("status") != "assessed":
        flags.append(f"UGT1A1 {str(ugt.get('status', 'not_assessed')).replace('_', ' ')}")
    if "poor" in str(ugt.get("phenotype", "")).lower():
        flags.append(f"UGT1A1 {ugt.get('phenotype')} ({ugt.get('diplotype') or '?'})")
    return flags


def _pgx_alert(recommendation: Mapping[str, Any]) -> bool:
    """Whether the patient's report has the red DPYD banner: activity score 0 or 0.5 (also as
    the most an indeterminate call allows).

    >>> _pgx_alert({"pgx": {"DPYD": {"status": "indeterminate", "activity_score": 0}}})
    True
    >>> _pgx_alert({"pgx": {"DPYD": {"status": "assessed", "activity_score": 1.0}}})
    False
    """
    score = ((recommendation.get("pgx") or {}).get(DPYD) or {}).get("activity_score")
    return score is not None and score <= DPYD_CONTRAINDICATED_AT_MOST


def _assignment_text(assignment: Mapping[str, Any] | None) -> str:
    """A patient's assignment in a few words: status, queue place or the pending review.

    >>> _assignment_text({"status": "waitlisted", "waitlist_position": 2, "needs_review": False,
    ...   "withdrawn": False, "version": 1})
    'waitlisted (#2 in the queue), version 1'
    """
    if not assignment:
        return ""
    if assignment["withdrawn"]:
        return f"released (version {assignment['version']})"
    text = str(assignment["status"])
    if assignment.get("waitlist_position"):
        text += f" (#{assignment['waitlist_position']} in the queue)"
    text += f", version {assignment['version']}"
    if assignment["needs_review"]:
        text = f"needs review: {text}, new proposal version {assignment['pending_version']}"
    return text


def _cohort_patient(
    recommendation: dict[str, Any], link: str, assignment: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """One patient's line in the cohort report."""
    regimens = sorted(recommendation.get("regimens") or [], key=lambda item: item.get("rank", 0))
    top = regimens[0] if regimens else {}
    return {
        "patient_id": recommendation.get("patient_id", ""),
        "primary_site": recommendation.get("primary_site", ""),
        "cohort": recommendation.get("cohort"),
        "top_name": top.get("name", "—"),
        "top_status": top.get("status", ""),
        "top_status_class": status_class(top.get("status", "")),
        "flags": _pgx_flags(recommendation),
        "alert": _pgx_alert(recommendation),
        "generated_at": (recommendation.get("provenance") or {}).get("generated_at", ""),
        "assignment": _assignment_text(assignment),
        "needs_review": bool(assignment and assignment["needs_review"]),
        "link": link,
    }


def _record_context(record: Mapping[str, Any] | None) -> dict[str, Any]:
    """The record's part of the cohort report: reviews, places and waitlists, its check."""
    if record is None:
        return {"record": None, "review": [], "places": []}
    review = [a for a in record["assignments"] if a["needs_review"]]
    places = []
    for cohort_id, cohort in sorted(record["cohorts"].items()):
        limit = cohort["max_patients"]
        full = limit is not None and cohort["taken"] >= limit
        places.append({"cohort_id": cohort_id, **cohort, "full": full})
    verification = record["verification"]
    return {
        "record": {
            "intact": verification.intact,
            "summary": verification.summary(),
            "problems": list(verification.problems),
            "head": verification.head,
            "source": record.get("source", ""),
        },
        "review": review,
        "places": places,
    }


def _bar_chart(counts: Counter[str]) -> dict[str, Any]:
    """Bars of rank-1 regimen counts, most frequent first (ties by name).

    Each label sits above its bar, so long regimen names are never clipped.
    """
    most = max(counts.values(), default=0)
    row = BAR_LABEL_HEIGHT + BAR_HEIGHT + BAR_GAP
    bars = []
    for index, (name, count) in enumerate(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))):
        top = index * row
        length = BAR_WIDTH * count / most if most else 0
        bars.append(
            {
                "name": name,
                "count": count,
                "label_y": top + BAR_LABEL_HEIGHT - 4,
                "y": top + BAR_LABEL_HEIGHT,
                "length": round(length, 1),
            }
        )
    return {
        "bars": bars,
        "left": 0,
        "bar_height": BAR_HEIGHT,
        "width": BAR_WIDTH + 40,
        "height": max(len(bars), 1) * row,
    }


def _relative_link(target: Path, html_path: Path) -> str:
    """A relative URL from the cohort report to a patient report (a link, never a load)."""
    from urllib.parse import quote

    return quote(os.path.relpath(target, html_path.parent).replace(os.sep, "/"))


def build_cohort_context(
    results_dir: Path,
    html_path: Path,
    failures: Mapping[str, str],
    record: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Patients by cohort, rank-1 regimens, PGx flags, failures and the record's state (needs
    review, cohort places and waitlists, its verification), for the cohort template.

    ``record``: ``assignments`` (haicgx.record.current_assignments), ``cohorts``
    (haicgx.record.cohort_places) and ``verification`` (haicgx.record.verify), or None when
    there is no record yet. A patient listed in ``failures`` is shown only as failed, even if
    an older recommendation.json is still on disk. An unreadable recommendation.json counts
    as a failure.
    """
    failed = dict(failures)
    assignments = {a["patient_id"]: a for a in (record or {}).get("assignments", [])}
    patients = []
    for path in sorted((results_dir / "patients").glob(f"*/{RECOMMENDATION_FILE}")):
        if path.parent.name in failed:
            continue
        try:
            recommendation = read_recommendation(path)
        except InputError as exc:
            failed[path.parent.name] = str(exc)
            continue
        link = _relative_link(path.parent / "report.html", html_path)
        assignment = assignments.get(path.parent.name)
        patients.append(_cohort_patient(recommendation, link, assignment))
    by_cohort: dict[str, list[dict[str, Any]]] = {}
    for patient in patients:
        by_cohort.setdefault(patient["cohort"] or "", []).append(patient)
    # Named cohorts alphabetically, patients without a cohort last.
    cohorts = sorted(by_cohort.items(), key=lambda kv: (kv[0] == "", kv[0]))
    times = [p["generated_at"] for p in patients if p["generated_at"]]
    return {
        "patients": patients,
        "cohorts": cohorts,
        "chart": _bar_chart(Counter(p["top_name"] for p in patients)),
        "flagged": [p for p in patients if p["flags"]],
        "failures": sorted(failed.items()),
        "newest": max(times, default=""),
        **_record_context(record),
    }


def render_cohort_report(
    results_dir: Path,
    *,
    html_path: Path,
    failures: Mapping[str, str],
    record: Mapping[str, Any] | None = None,
) -> str:
    """The cohort overview HTML (see ``build_cohort_context``)."""
    context = build_cohort_context(Path(results_dir), Path(html_path), failures, record)
    template = environment().get_template(COHORT_TEMPLATE)
    return template.render(css=stylesheet(), **context)


def write_cohort_report(
    results_dir: Path,
    *,
    html_path: Path,
    failures: Mapping[str, str],
    record: Mapping[str, Any] | None = None,
) -> None:
    """Write the cohort overview HTML from every ``results_dir/patients/*/recommendation.json``
    and, when given, the record's state (haicgx.cohort_views gathers it).

    ``failures`` maps a patient id to the one-line reason its run failed; they are listed even
    when no patient succeeded.
    """
    html = render_cohort_report(results_dir, html_path=html_path, failures=failures, record=record)
    write_atomically({Path(html_path): html.encode("utf-8")})
    log.info("wrote %s", html_path)
