"""Rendering the patient report: the autoescaped Jinja2 environment and the inlined stylesheets
(package data in haicgx/templates), the HTML and its print edition, and the writer of
report.html with report.pdf (both or neither)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

from haicgx.atomic import write_atomically
from haicgx.report.formats import (
    format_number,
    format_score,
    format_vaf,
    kind_class,
    status_class,
    unbroken_units,
)
from haicgx.report.inputs import (
    MATCHES_FILE,
    RECOMMENDATION_FILE,
    VARIANTS_FILE,
    iter_tsv,
    read_recommendation,
    read_tsv,
)
from haicgx.report.patient import build_patient_context
from haicgx.report.pdf import render_pdf
from haicgx.report.print_edition import build_print_context
from haicgx.vocab import MATCH_COLUMNS, VARIANT_COLUMNS

if TYPE_CHECKING:
    from haicgx.knowledge import KnowledgeBase

log = logging.getLogger(__name__)

PATIENT_TEMPLATE = "patient_report.html.j2"
PRINT_TEMPLATE = "patient_report_print.html.j2"
STYLESHEET = "report.css"
PRINT_STYLESHEET = "report_print.css"


@cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment: templates from the package, autoescaping always on."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("haicgx", "templates"),
        autoescape=True,  # every template, whatever its extension
        # Optional JSON fields may be absent: they render as "—" through the `value` macro.
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = format_number
    env.filters["vaf"] = format_vaf
    env.filters["score"] = format_score
    env.filters["status_class"] = status_class
    env.filters["unbroken"] = unbroken_units
    env.filters["kind_class"] = kind_class
    return env


@cache
def stylesheet(name: str = STYLESHEET) -> Markup:
    """A report stylesheet, trusted package data inlined into ``<style>``.

    Markup (not escaping) because CSS child selectors and quoted ``content`` would be mangled by
    HTML escaping; the file is ours, never input-derived.
    """
    css = files("haicgx").joinpath("templates", name).read_text(encoding="utf-8")
    if "</" in css:  # a closing tag inside <style> would end the element early
        raise ValueError(f"{name} must not contain '</'")
    return Markup(css)


def patient_context(
    patient_dir: Path, kb: KnowledgeBase | None, place: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Read the three per-patient outputs in ``patient_dir`` and shape them for the templates."""
    recommendation = read_recommendation(patient_dir / RECOMMENDATION_FILE)
    patient_id = str(recommendation.get("patient_id", patient_dir.name))
    matches = read_tsv(patient_dir / MATCHES_FILE, MATCH_COLUMNS, patient_id)
    variants = iter_tsv(patient_dir / VARIANTS_FILE, VARIANT_COLUMNS, patient_id)
    return build_patient_context(recommendation, variants, matches, kb=kb, place=place)


def report_html(context: Mapping[str, Any]) -> str:
    """The report HTML of a patient context (build_patient_context)."""
    template = environment().get_template(PATIENT_TEMPLATE)
    return template.render(css=stylesheet(), **context)


def print_html(context: Mapping[str, Any]) -> str:
    """The print edition's HTML (what becomes report.pdf) of a patient context."""
    template = environment().get_template(PRINT_TEMPLATE)
    return template.render(css=stylesheet(PRINT_STYLESHEET), **build_print_context(context))


def render_patient_html(patient_dir: Path, *, kb: KnowledgeBase | None = None) -> str:
    """Render the patient report HTML from the three per-patient outputs in ``patient_dir``
    (``kb``: see build_patient_context)."""
    return report_html(patient_context(Path(patient_dir), kb))


def render_print_html(patient_dir: Path, *, kb: KnowledgeBase | None = None) -> str:
    """Render the print edition (the HTML that becomes report.pdf) of one patient's report."""
    return print_html(patient_context(Path(patient_dir), kb))


def write_patient_report(
    patient_dir: Path,
    *,
    html_path: Path,
    pdf_path: Path,
    kb: KnowledgeBase | None = None,
    place: Mapping[str, Any] | None = None,
) -> None:
    """Write the tumour-board report of one patient as self-contained HTML and as PDF.

    Reads ``recommendation.json``, ``variants.tsv`` and ``matches.tsv`` from ``patient_dir``
    once. The HTML is the full report; the PDF is its print edition (same data, compact layout,
    every reason stated at least once). Both outputs appear together or not at all. ``kb``: the
    knowledge set the recommendation was made with, for the regimens' doses, schedules and
    trials and the findings' sources (see build_patient_context); the analysis job passes it.
    ``place``: the patient's place on its cohort's waitlist (``waiting_place``); the cohort
    views rewrite the report with it once the record has one (haicgx.cohort_views).
    """
    patient_dir, html_path, pdf_path = Path(patient_dir), Path(html_path), Path(pdf_path)
    context = patient_context(patient_dir, kb, place)
    html = report_html(context)
    pdf = render_pdf(print_html(context))
    write_atomically({html_path: html.encode("utf-8"), pdf_path: pdf})
    log.info("wrote %s and %s", html_path, pdf_path)
