"""The tumour-board reports: one HTML + PDF per patient, one HTML for the cohort.

The patient report is rendered from the three per-patient outputs (``recommendation.json``,
``variants.tsv``, ``matches.tsv``) and the knowledge set the recommendation was made with (the
regimens' doses, schedules and trials, the findings' sources) through autoescaped Jinja2
templates. The HTML is the full report, self-contained (inline CSS and SVG, nothing to load). The
PDF is its print edition: the same data through a second, compact template
(``patient_report_print.html.j2``), because WeasyPrint's time grows with every box and line it
lays out. It states every reason at least once (reasons shared by several regimens once, in their
own block), prints the pharmacist section in full, cites the evidence as a list and leaves out the
plot, the variant table and the folded details. WeasyPrint runs with a URL fetcher that refuses
everything. Both files are written atomically. docs/outputs.md describes every section.

Python only shapes the data (joins, numbers, plot coordinates, the structured doses of
regimens.yaml through haicgx.doses); the template does all markup, so every input-derived string
passes through Jinja's autoescaping. The templates and stylesheets are package data in
``haicgx/templates``.

Modules, in the order a patient report is built:

- ``inputs``: reading the three per-patient outputs;
- ``patient``: the patient report's context, from the section modules below;
- ``evidence`` (what the report cites, the findings), ``regimens`` (the ranked table, ties),
  ``cards`` (a regimen's evidence card), ``reasons`` (short recalls of a reason),
  ``pharmacogenes`` (the PGx section, red banners), ``dosing`` (the pharmacist's dosing table),
  ``variants`` (one pass over variants.tsv, matched variants), ``vaf_plot`` (the plot geometry);
- ``print_edition``: what the PDF states compactly;
- ``render`` (Jinja2 environment, stylesheets, the report writer) and ``pdf`` (WeasyPrint);
- ``place``: the waitlist place a report shows;
- ``cohort``: the cohort report;
- ``formats``: the templates' filters and TSV cell parsing.
"""

from __future__ import annotations

from haicgx.report.cohort import build_cohort_context, render_cohort_report, write_cohort_report
from haicgx.report.formats import unbroken_units
from haicgx.report.patient import build_patient_context
from haicgx.report.pdf import render_pdf
from haicgx.report.place import place_key, place_text, shown_place_key, waiting_place
from haicgx.report.print_edition import build_print_context
from haicgx.report.render import render_patient_html, render_print_html, write_patient_report

__all__ = [
    "build_cohort_context",
    "build_patient_context",
    "build_print_context",
    "place_key",
    "place_text",
    "render_cohort_report",
    "render_patient_html",
    "render_pdf",
    "render_print_html",
    "shown_place_key",
    "unbroken_units",
    "waiting_place",
    "write_cohort_report",
    "write_patient_report",
]
