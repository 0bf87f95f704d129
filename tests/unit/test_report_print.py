"""The PDF print edition of the patient report: compact, yet every reason is still stated.

The PDF is rendered from its own template (patient_report_print.html.j2); report.html stays the
full document, which tests/unit/test_report.py covers. The fixtures are that file's patient.
"""

from __future__ import annotations

import copy
import html as html_lib
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from test_report import (
    DPWG_OR_AVOID,
    HOSTILE_ESCAPED,
    _assert_self_contained,
    _reason,
    _visible_text,
    bundled_kb,
    hostile_recommendation,
    sample_matches,
    sample_recommendation,
    sample_variants,
    write_patient_dir,
)

from haicgx import report
from haicgx.record import recommendation_digest
from haicgx.report import render
from haicgx.report.pdf import refusing_fetcher
from haicgx.report.print_edition import print_regimens

PRINT_CSS = Path(render.__file__).parent.parent / "templates" / render.PRINT_STYLESHEET

FLUOROURACIL_50 = "DPYD activity score 1 (Intermediate Metabolizer), fluorouracil: start at 50%."
PRIOR_OXALIPLATIN = "The disease progressed on oxaliplatin."
NO_CRCL = "Creatinine clearance not given: check renal function before oxaliplatin."


def shared_recommendation() -> dict[str, Any]:
    """The sample patient with reasons repeated across regimens, as real outputs have them.

    Ranks 2 and 3 share a dose adjustment, ranks 2-4 a prior failure, ranks 1 and 4 a renal
    caution; rank 4 becomes contraindicated. Rank 3 no longer cites KRAS-FUDR.
    """
    recommendation = copy.deepcopy(sample_recommendation())
    regimens = recommendation["regimens"]
    dose = _reason(
        "dose_adjustment", FLUOROURACIL_50, "DPYD-AS1_1P5-FLUOROURACIL", "DPYD-RS3918290"
    )
    prior = _reason("prior_failure", PRIOR_OXALIPLATIN)
    renal = _reason("renal", NO_CRCL, "OXALIPLATIN-CRCL-LT30")
    regimens[0]["reasons"].append(copy.deepcopy(renal))
    regimens[1]["reasons"] = [copy.deepcopy(dose), regimens[1]["reasons"][1], copy.deepcopy(prior)]
    regimens[2]["reasons"] = [copy.deepcopy(dose), copy.deepcopy(prior)]
    regimens[3]["reasons"] += [copy.deepcopy(prior), copy.deepcopy(renal)]
    regimens[3]["status"] = "contraindicated"
    return recommendation


def _text(markup: str) -> str:
    # the dose cells keep "400 mg/m2" on one line with invisible joiners (report.unbroken_units)
    return html_lib.unescape(_visible_text(markup)).replace("\u2060", "").replace("\xa0", " ")


def _rows(print_html: str) -> list[str]:
    """The visible text of each regimen block of the print edition, in rank order."""
    body = print_html.split("<h2>Regimens: evidence", 1)[1].split("<h2>Matched variants", 1)[0]
    body = body.split("<h3>", 1)[0]
    return [_text(chunk) for chunk in re.split(r'(?=<div class="rg )', body)[1:]]


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = write_patient_dir(tmp_path_factory.mktemp("print") / "PT-007", shared_recommendation())
    html_path, pdf_path = folder / "report.html", folder / "report.pdf"
    report.write_patient_report(folder, html_path=html_path, pdf_path=pdf_path, kb=bundled_kb())
    return {
        "dir": folder,
        "print": report.render_print_html(folder, kb=bundled_kb()),
        "html": html_path.read_text(encoding="utf-8"),
        "pdf": pdf_path,
    }


def test_every_reason_is_stated_at_least_once(printed: dict[str, Any]) -> None:
    text = _text(printed["print"])
    for regimen in shared_recommendation()["regimens"]:
        for reason in regimen["reasons"]:
            line = f" — {reason['text']}"
            if reason["kb_ids"]:
                line += f" [{', '.join(reason['kb_ids'])}]"
            kind = re.escape(reason["kind"].replace("_", " ").upper())
            assert re.search(rf"{kind}( \([a-z ,]+\))?{re.escape(line)}", text), line


def test_shared_reasons_are_printed_once_with_their_ranks(printed: dict[str, Any]) -> None:
    text = _text(printed["print"])
    assert "Reasons that apply to several regimens" in text
    assert text.count(FLUOROURACIL_50) == 1
    assert text.count(PRIOR_OXALIPLATIN) <= 4  # once in the block, recalled short on its rows
    assert text.count(NO_CRCL) == 1
    assert f"{FLUOROURACIL_50} [DPYD-AS1_1P5-FLUOROURACIL, DPYD-RS3918290] — ranks 2, 3" in text
    assert "PRIOR FAILURE — The disease progressed on oxaliplatin. — ranks 2, 3, 4" in text
    assert "ranks 1, 4" in text
    # A reason on one regimen only stays on its row, in full.
    assert text.count("Raltitrexed is not a DPD substrate.") == 1


def test_vetoes_dose_changes_and_prior_failures_show_on_their_rows(printed: dict[str, Any]) -> None:
    rows = _rows(printed["print"])
    assert [row.split(".", 1)[0] for row in rows] == ["1", "2", "3", "4"]
    assert "HAIC-FOLFOX · ! CAUTION" in rows[1]
    dose_head = (
        "DOSE ADJUSTMENT (guideline) — DPYD activity score 1 (Intermediate Metabolizer), "
        "fluorouracil"
    )
    for row in rows[1:3]:
        assert dose_head in row
        assert "PRIOR FAILURE — The disease progressed on oxaliplatin. → see" in row
    irinotecan = rows[3]
    assert "HAI irinotecan · ✕ CONTRAINDICATED" in irinotecan
    assert "PRIOR FAILURE" in irinotecan
    assert "RENAL — Creatinine clearance not given → see" in irinotecan
    assert "start irinotecan at 70%" in irinotecan  # its own dose adjustment, in full
    assert "haic_irinotecan" in irinotecan and "· irinotecan ·" in irinotecan
    assert "score -1.00" in irinotecan
    # A contraindicated regimen's block leaves out its schedule and trial; a usable one has them.
    assert "Schedule" not in irinotecan and "Evidence in colorectal" not in irinotecan
    assert "Schedule (partly not verified): 46-hour version" in rows[1]
    assert "key study: Feng et al." in rows[1] and "ORR 26.1% vs 22.4%" in rows[1]
    assert "Tied with HAIC-RALOX: only the base order separates them, not their status" in rows[1]


def _shared_heads(texts: list[str], kb_ids: list[str]) -> tuple[list[Any], list[str]]:
    """Give ranks 1+2 and 3+4 one toxicity reason each; return the shared blocks and row heads."""
    recommendation = copy.deepcopy(sample_recommendation())
    for index, regimen in enumerate(recommendation["regimens"]):
        regimen["reasons"] = [_reason("toxicity", texts[index // 2], kb_ids[index // 2])]
    context = report.build_patient_context(
        recommendation, sample_variants(), sample_matches(sample_variants())
    )
    rows, shared = print_regimens(context["ranked"])
    return shared, [reason["head"] for row in rows for reason in row["reasons"]]


def test_shared_reasons_with_one_head_are_told_apart_on_their_rows() -> None:
    first = "DPYD not assessed: confirm DPD status before fluorouracil."
    second = "DPYD not assessed: confirm DPD status before floxuridine."
    shared, heads = _shared_heads([first, second], ["K0", "K1"])
    assert [block["ranks"] for block in shared] == [[1, 2], [3, 4]]
    assert [block["kb_ids"] for block in shared] == [["K0"], ["K1"]]
    assert (
        heads
        == ["DPYD not assessed … before fluorouracil."] * 2
        + ["DPYD not assessed … before floxuridine."] * 2
    )
    # The same text citing other rows: two blocks, and no head could tell them apart.
    shared, heads = _shared_heads([first, first], ["K0", "K1"])
    assert len(shared) == 2 and heads == [""] * 4


def test_header_glance_and_the_rest(printed: dict[str, Any]) -> None:
    text = _text(printed["print"])
    for fact in ("PT-007", "colorectal", "CRLM", "2026-11-25", "irinotecan", "48 mL/min",
                 "haicgx 0.1.0", "Knowledge: 2026.11.0"):  # fmt: skip
        assert fact in text, fact
    assert "Rank 1 of 4: HAIC-RALOX · ✓ RECOMMENDED · score 0.62" in text
    assert (
        "score 0.62 Tied with HAIC-FOLFOX: only the base order separates them, not their status: "
        "HAIC-FOLFOX is a caution, this regimen is recommended." in text
    )
    assert "HAIC-RALOX ranks first: raltitrexed is not a DPD substrate." in text
    assert "DPYD (assessed): Intermediate Metabolizer, activity score 1" in text
    assert "UGT1A1 (assessed): Poor Metabolizer, diplotype *28/*28" in text
    assert "Genotypes called from tumour sequencing (no matched normal)" in text
    assert "Ranking 1. HAIC-RALOX · ✓ RECOMMENDED · randomised evidence in colorectal" in text
    assert "4. HAI irinotecan · ✕ CONTRAINDICATED · case series evidence in colorectal" in text
    # Matched alleles once each, with all their knowledge rows.
    assert "KRAS p.G12D · VAF 0.31 [KRAS-G12D-OXA, KRAS-FUDR]" in text
    assert "DPYD chr1:97450058 C>T · VAF 0.48 [DPYD-RS3918290]" in text
    # Only cited rows in the evidence list, with level and source.
    evidence = text.split("Evidence cited", 1)[1].split("Quality control", 1)[0]
    assert "KRAS-G12D-OXA · case report · PMID:1" in evidence
    assert "DPYD-RS3918290 · guideline · CPIC 2017; DPWG 2020" in evidence
    # Rows without a source are listed together, referred to the knowledge table.
    assert (
        "RALTITREXED-DPD, OXALIPLATIN-CRCL-LT30 · — · not a variant match; see knowledge table "
        "2026.11.0"
    ) in evidence
    # Rule rows and findings with their own sources, from recommendation.json and the findings.
    assert "DPYD-AS1_1P5-FLOXURIDINE · inference · Inference." in evidence
    assert "FIND-PIK3CA-HOTSPOT-E545 · guideline · Andre et al." in evidence
    assert "KRAS-FUDR" not in evidence  # matched, but cited by no reason
    assert "12 records read, 7 passing" in text and "low depth 2" in text
    assert "Warning: 2 records on contigs absent from the reference were skipped" in text
    assert "Tumour-board sign-off" in text and "Accept rank 1: HAIC-RALOX" in text
    assert "Oncologist (tumour-board chair): name, date, signature:" in text
    assert "Pharmacist (pharmacogenomics and starting doses): name, date, signature:" in text
    assert "The tumour board decides the treatment" in text
    digest = recommendation_digest(shared_recommendation())
    assert f"Recommendation sha256 {digest}" in text


def test_the_pharmacist_section_in_print(printed: dict[str, Any]) -> None:
    text = _text(printed["print"])
    pgx = text.split("Pharmacogenomics and starting doses", 1)[1].split("Findings for", 1)[0]
    assert "activity score 1 (CPIC: the two lowest-function alleles, presumed in trans)" in pgx
    assert "genotype source: tumour (no matched normal: confirm in germline DNA)" in pgx
    assert "allele-defining positions: 34 called, 0 missing" in pgx
    assert "Allele: c.1905+1G>A (*2A) [DPYD-RS3918290] · chr1:97450058 C>T · tumour sample" in pgx
    assert "GT 1/1, 2 copies (other reading: 1)" in pgx and "! confirm germline" in pgx
    assert "Reading rule: GT and allele fraction both read" in pgx
    assert "strength: guideline — Start fluorouracil at 50%" in pgx and DPWG_OR_AVOID in pgx
    assert "Source: CPIC DPYD 2017 update, PMID 29152729" in pgx
    assert "VERIFY BEFORE PRESCRIBING" in pgx
    assert (
        "2. HAIC-FOLFOX · ! CAUTION fluorouracil 400 mg/m2 bolus, then 2400 mg/m2 over 46 hours; "
        "hepatic-arterial; every 3 weeks (schedule partly not verified) 200 mg/m2 bolus, then "
        "1200 mg/m2 over 46 hours; hepatic-arterial; every 3 weeks (50% of "
        "the standard starting dose) DPYD-AS1_1P5-FLUOROURACIL"
    ) in pgx
    assert "floxuridine standard dose: per centre protocol (not in the knowledge set)" in pgx
    assert "Pharmacist (genotype, rules and starting doses checked): name, date" in pgx
    findings = text.split("Findings for the board", 1)[1].split("Regimens: evidence", 1)[0]
    assert "TARGETABLE ALTERATIONS — PIK3CA : PIK3CA helical-domain hotspot" in findings
    assert "[FIND-PIK3CA-HOTSPOT-E545, guideline; Andre et al." in findings
    assert "GERMLINE REFERRAL — APC" in findings


def _font_sizes_pt(css: str) -> list[float]:
    """Every font size the print stylesheet sets outside @page (the page footer), in pt."""
    body = re.sub(r"@page\s*\{(?:[^{}]|\{[^{}]*\})*\}", "", css)
    sizes = re.findall(r"font-size:\s*([0-9.]+)(pt|px|em|rem|%)", body)
    sizes += re.findall(r"font:\s*(?:bold\s+)?([0-9.]+)(pt|px|em|rem|%)", body)
    assert all(unit == "pt" for _, unit in sizes), sizes  # one unit, so the check is exact
    return [float(value) for value, _ in sizes]


def test_print_text_is_at_least_9pt() -> None:
    sizes = _font_sizes_pt(PRINT_CSS.read_text(encoding="utf-8"))
    assert len(sizes) >= 5 and min(sizes) >= 9, sizes
    assert re.search(r"body \{[^}]*font: 9pt", PRINT_CSS.read_text(encoding="utf-8"))
    # The check itself finds a smaller size.
    assert min(_font_sizes_pt(".x { font-size: 6.5pt; } body { font: 9pt/1.3 x; }")) == 6.5


def test_print_edition_is_compact_and_self_contained(printed: dict[str, Any]) -> None:
    import weasyprint

    markup = printed["print"]
    _assert_self_contained(markup)
    assert "<svg" not in markup and markup.count("<table") == 1  # the starting doses only
    document = weasyprint.HTML(string=markup, url_fetcher=refusing_fetcher()).render()
    assert 1 <= len(document.pages) <= 4
    # The HTML report keeps everything (VAF plot, provenance table, allele details).
    assert '<section id="vaf">' in printed["html"] and "<svg" in printed["html"]


def test_pdf_text_holds_the_key_facts(printed: dict[str, Any], tmp_path: Path) -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not on PATH: PDF text not checked")

    def pdf_text(path: Path) -> str:
        out = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True)
        return " ".join(out.stdout.decode("utf-8").split())

    flat = pdf_text(printed["pdf"])
    facts = ["PT-007", "HAIC-RALOX", "Intermediate Metabolizer", "Poor Metabolizer"]
    facts += ["Reasons that apply to several regimens", "CONTRAINDICATED", DPWG_OR_AVOID]
    facts += ["VERIFY BEFORE PRESCRIBING"]  # table cells wrap, so pdftotext mixes their lines
    for fact in facts:
        assert fact in flat, fact
    # Every page's footer: the page count and the recommendation's sha256.
    pages = int(re.search(r"page 1 of (\d+)", flat).group(1))
    assert pages >= 2 and all(f"page {n} of {pages}" in flat for n in range(1, pages + 1))
    digest = recommendation_digest(shared_recommendation())
    assert flat.count(f"recommendation sha256 {digest}") == pages
    # A second patient rendered by the same process (font set-up is reused) prints its own text.
    other = copy.deepcopy(sample_recommendation())
    other.update(patient_id="PT-008")
    other["regimens"][0]["name"] = "ZZ-UNIQUE-REGIMEN"
    folder = write_patient_dir(tmp_path / "PT-008", other)
    report.write_patient_report(
        folder, html_path=folder / "report.html", pdf_path=folder / "report.pdf", kb=bundled_kb()
    )
    second = pdf_text(folder / "report.pdf")
    assert "PT-008" in second and "ZZ-UNIQUE-REGIMEN" in second and "PT-007" not in second


def test_input_text_is_escaped_in_the_print_edition(tmp_path: Path) -> None:
    variants = sample_variants()
    variants[0]["gene"] = '<script>alert(1)</script> "quotes" A & B'
    matches = sample_matches(variants)
    matches[0]["source"] = variants[0]["gene"]
    write_patient_dir(tmp_path, hostile_recommendation(), variants, matches)
    markup = report.render_print_html(tmp_path, kb=bundled_kb())
    assert "<script>" not in markup and '"quotes"' not in markup and "A & B" not in markup
    assert markup.count(HOSTILE_ESCAPED) >= 20
    _assert_self_contained(markup)


def test_no_usable_regimen_and_no_annotation_are_said(tmp_path: Path) -> None:
    recommendation = sample_recommendation()
    for regimen in recommendation["regimens"]:
        regimen["status"] = "contraindicated"
    recommendation["qc"]["annotation"] = "none"
    recommendation["cohort"] = None
    recommendation["crcl_ml_min"] = None
    write_patient_dir(tmp_path, recommendation)
    text = _text(report.render_print_html(tmp_path))
    assert "No regimen is usable for this patient" in text
    assert "only genomic-allele rules were evaluated" in text
    assert "Cohort: —" in text and "CrCl: not given" in text


def test_a_patient_without_regimens_still_prints(tmp_path: Path) -> None:
    recommendation = sample_recommendation()
    recommendation["regimens"] = []
    recommendation["findings"] = []
    for call in recommendation["pgx"].values():
        call["rules"] = []
    write_patient_dir(tmp_path, recommendation, matches=[])
    report.write_patient_report(
        tmp_path, html_path=tmp_path / "report.html", pdf_path=tmp_path / "report.pdf"
    )
    text = _text(report.render_print_html(tmp_path))
    assert "No reason cites a knowledge row." in text and "Accept rank 1: —" in text
    assert "No pharmacogene rule or renal band changes a starting dose." in text
