"""The patient report's evidence cards, pharmacist section, starting doses, findings, variant
table and banners (issue 19), on the hand-written patient of test_report.py and on three demo
patients analysed as an analysis job does it (which also proves the job hands the report the
knowledge set)."""

from __future__ import annotations

import dataclasses
import html as html_lib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from support import demo_config
from test_report import (
    DPWG_OR_AVOID,
    _visible_text,
    bundled_kb,
    sample_recommendation,
    section,
    write_patient_dir,
)

from haicgx import report
from haicgx.errors import InputError
from haicgx.report import variants as report_variants

REPO = Path(__file__).resolve().parents[2]


def _text(markup: str) -> str:
    return html_lib.unescape(_visible_text(markup))


def _render(tmp_path: Path, recommendation: dict[str, Any] | None = None, **kwargs: Any) -> str:
    write_patient_dir(tmp_path, recommendation or sample_recommendation(), **kwargs)
    return report.render_patient_html(tmp_path, kb=bundled_kb())


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _render(tmp_path_factory.mktemp("cards"))


def _card(html: str, rank: int) -> str:
    return _text(html.split(f'id="regimen-{rank}"', 1)[1].split("</article>", 1)[0])


# --------------------------------------------------------------------------- evidence cards


def test_a_card_gives_doses_schedule_site_evidence_and_the_key_trial(page: str) -> None:
    folfox = _card(page, 2)
    assert "oxaliplatin 85 mg/m2" in folfox
    assert (
        "fluorouracil 400 mg/m2 bolus, then 2400 mg/m2 over 46 hours; hepatic-arterial; "
        "every 3 weeks" in folfox
    )
    assert "Schedule (regimens.yaml): 46-hour version (Sun Yat-sen)" in folfox
    assert "partly not verified" in folfox  # the 24-hour version was not verified
    assert "Evidence in colorectal randomised · n=113" in folfox
    assert "Key study: Feng et al., Front Oncol 2022" in folfox
    assert "(randomised phase 2, n=113)" in folfox
    assert "ORR 26.1% vs 22.4% (vs HAI TOMOX)" in folfox
    assert "PFS median PFS 5.8 vs 4.6 months" in folfox and "OS median OS 17.6" in folfox
    assert (
        "Tied with HAIC-RALOX: only the base order separates them, not their status: "
        "HAIC-RALOX is recommended, this regimen is a caution." in folfox
    )


def test_a_card_states_what_the_curation_could_not_verify(page: str) -> None:
    fudr = _card(page, 3)
    assert "floxuridine not in the knowledge set: per centre protocol" in fudr
    assert "was re-verified in this curation" in fudr and "partly not verified" in fudr
    assert "Other studies (2)" in fudr  # CALGB 9481 first, two more behind a <details>


def test_card_reasons_carry_their_grade_and_their_sources(page: str) -> None:
    folfox = page.split('id="regimen-2"', 1)[1].split("</article>", 1)[0]
    grades = re.findall(r'<span class="grade">(.*?)</span>', folfox)
    assert any("DPYD-AS1_1P5-FLUOROURACIL" in g and "guideline" in g for g in grades)
    assert "<summary>Sources</summary>" in folfox
    assert "PMID 29152729" in folfox  # the rule's source
    fudr = _card(page, 3)
    # An inference rule keeps its grade: the allele rows it cites (guideline) do not lend theirs.
    assert "toxicity DPYD activity score 1: floxuridine" in fudr
    assert "DPYD-AS1_1P5-FLOXURIDINE · inference" in fudr


def test_a_regimen_without_data_in_the_site_says_where_it_was_studied(tmp_path: Path) -> None:
    recommendation = sample_recommendation()
    recommendation["primary_site"] = "gastric"
    card = _card(_render(tmp_path, recommendation), 2)
    assert "no published hepatic-arterial data in gastric" in card
    assert "Studied in: hcc (randomised, n=262); colorectal (randomised, n=113)" in card


def test_failed_classes_are_said_on_the_card(page: str) -> None:
    assert "The disease progressed on 1 of this regimen's drug classes." in _card(page, 4)
    assert "progressed on" not in _card(page, 1)


def test_without_the_knowledge_set_the_report_says_what_it_cannot_show(tmp_path: Path) -> None:
    write_patient_dir(tmp_path)
    text = _text(report.render_patient_html(tmp_path))
    assert "written without the knowledge set: doses, schedules and trials are not shown" in text
    assert "not shown: no knowledge set given" in text  # the dose table keeps the rule's side
    assert "Key study" not in text
    printed = _text(report.render_print_html(tmp_path))
    assert "Written without the knowledge set" in printed


def test_a_knowledge_set_other_than_the_recommendations_is_refused(tmp_path: Path) -> None:
    recommendation = sample_recommendation()
    recommendation["provenance"]["knowledge_sha256"] = "c" * 64
    write_patient_dir(tmp_path, recommendation)
    with pytest.raises(InputError, match=r"patient PT-007: .*knowledge set sha256 c{64}"):
        report.render_patient_html(tmp_path, kb=bundled_kb())


# --------------------------------------------------------------------------- pharmacist section


def test_each_rule_applied_is_printed_in_full_with_strength_and_source(page: str) -> None:
    pgx = _text(section(page, "pgx"))
    assert DPWG_OR_AVOID in pgx  # beyond the rule's first sentence
    assert "DPYD-AS1_1P5-FLUOROURACIL · fluorouracil · dose adjustment · strength: guideline" in pgx
    assert "Source: CPIC DPYD 2017 update, PMID 29152729" in pgx
    assert "DPYD-AS1_1P5-FLOXURIDINE · floxuridine · toxicity · strength: inference" in pgx
    assert "UGT1A1-PM-IRINOTECAN · irinotecan · dose adjustment · strength: guideline" in pgx
    assert "Genotype source tumour (no matched normal: confirm in germline DNA)" in pgx
    assert "Reading rule GT and allele fraction both read" in pgx
    assert "Allele-defining positions 34 called, 0 missing" in pgx


def _dose_rows(html: str) -> list[str]:
    table = html.split('<table class="dose-table">', 1)[1].split("</table>", 1)[0]
    return [_text(row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, flags=re.S)[1:]]


def test_standard_and_adjusted_starting_doses_side_by_side(page: str) -> None:
    rows = _dose_rows(page)
    assert len(rows) == 4  # raltitrexed (renal), fluorouracil, floxuridine, irinotecan
    ralox, folfox, fudr, irinotecan = rows
    assert (
        "1 · HAIC-RALOX" in ralox and "raltitrexed 3 mg/m2 over 1 hour; hepatic-arterial" in ralox
    )
    assert "Creatinine clearance 25-54 mL/min: give 50% of the 3 mg/m2 dose" in ralox
    assert "RALTITREXED-CRCL-25_54 CrCl 48 mL/min" in ralox
    assert (
        "fluorouracil 400 mg/m2 bolus, then 2400 mg/m2 over 46 hours; hepatic-arterial; "
        "every 3 weeks" in folfox
    )
    assert (
        "200 mg/m2 bolus, then 1200 mg/m2 over 46 hours; hepatic-arterial; every 3 weeks "
        "(50% of the standard" in folfox
    )
    assert (
        "Rules applied on: DPYD activity score 1 (Intermediate Metabolizer); UGT1A1 *28/*28 "
        in (_text(section(page, "pgx")))
    )
    assert "standard dose: per centre protocol (not in the knowledge set)" in fudr
    assert "Caution with hepatic-arterial floxuridine: no guideline percentage" in fudr
    assert "200 mg/m2 over 30 minutes; hepatic-arterial; every 3 weeks" in irinotecan
    assert "140 mg/m2 over 30 minutes; hepatic-arterial; every 3 weeks (70%" in irinotecan
    assert all("verify before prescribing" in row for row in rows)
    assert "CrCl 48 mL/min" not in folfox  # the basis of a pharmacogene row is said above


def test_a_contraindicating_rule_says_do_not_give(tmp_path: Path) -> None:
    recommendation = sample_recommendation()
    recommendation["pgx"]["DPYD"].update(activity_score=0.5, phenotype="Poor Metabolizer")
    recommendation["pgx"]["DPYD"]["rules"] = ["DPYD-AS0_0P5-FLUOROURACIL"]
    recommendation["evidence"].append(
        {
            "kb_id": "DPYD-AS0_0P5-FLUOROURACIL",
            "gene": "DPYD",
            "alteration": "activity_score:0-0.5",
            "drugs": ["fluorouracil"],
            "effect": "contraindication",
            "evidence_level": "guideline",
            "source": "CPIC 2017",
            "note": "CPIC: avoid fluorouracil at activity score 0.5.",
        }
    )
    html = _render(tmp_path, recommendation)
    folfox = next(row for row in _dose_rows(html) if "fluorouracil" in row)
    assert "Do not give: contraindicated by the rule" in folfox
    assert "verify before prescribing" not in folfox  # nothing to prescribe
    assert "fluorouracil 400 mg/m2 bolus" in folfox  # the standard dose stays beside it
    banners = re.findall(r'<p class="banner" role="alert">(.*?)</p>', html)
    assert banners == [
        "DPYD activity score 0.5: Poor Metabolizer. Contraindicated by guideline: fluorouracil. "
        "Do not start a fluoropyrimidine before the pharmacist&#39;s review."
    ]


def test_no_banner_for_a_partial_dpd_deficiency_and_a_top_regimen_without_tests(
    page: str,
) -> None:
    assert 'class="banner"' not in page


def test_a_renal_band_is_left_out_when_no_creatinine_clearance_was_given(tmp_path: Path) -> None:
    recommendation = sample_recommendation()
    recommendation["crcl_ml_min"] = None
    rows = _dose_rows(_render(tmp_path, recommendation))
    assert not any("raltitrexed" in row for row in rows) and len(rows) == 3


# --------------------------------------------------------------------------- findings, variants


def test_findings_have_their_own_section_with_sources(page: str) -> None:
    findings = _text(section(page, "findings"))
    assert "Targetable alterations PIK3CA : PIK3CA helical-domain hotspot" in findings
    assert "FIND-PIK3CA-HOTSPOT-E545 · guideline" in findings
    assert "Source: Andre et al., N Engl J Med 2019;380:1929" in findings
    assert "Germline referral APC : APC p.R1450* is truncating" in findings
    assert findings.index("Targetable") < findings.index("Germline referral")
    glance = _text(section(page, "glance"))
    assert "Targetable alterations : PIK3CA" in glance and "Germline referral : APC" in glance


def test_no_finding_is_said(tmp_path: Path) -> None:
    recommendation = sample_recommendation()
    recommendation["findings"] = []
    findings = _text(section(_render(tmp_path, recommendation), "findings"))
    assert "No targetable alteration, germline referral or MSI/dMMR finding" in findings


def test_every_passing_variant_is_in_the_table(page: str) -> None:
    variants = section(page, "variants")
    table = variants.split('<details class="all-variants" open>', 1)[1]
    assert "All 7 passing variants</summary>" in table
    rows = re.findall(r"<tr class=\"(matched)?\">", table)
    assert len(rows) == 7 and rows.count("matched") == 3  # KRAS, DPYD, UGT1A1
    assert "p.R1450*" in table and "stop gained" in table and "chr8:1000 A&gt;G" in table


def test_a_long_variant_table_is_capped_and_folded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_variants, "VARIANT_TABLE_MAX_ROWS", 3)
    monkeypatch.setattr(report_variants, "VARIANT_TABLE_OPEN_UP_TO", 2)
    variants = section(_render(tmp_path), "variants")
    assert '<details class="all-variants">' in variants  # folded, not open
    assert "All 7 passing variants (the first 3 shown; 4 more in variants.tsv)" in variants
    assert variants.split("<details", 1)[1].count("<tr class=") == 3


def test_sheet_identifiers_are_shown_in_both_editions(tmp_path: Path) -> None:
    recommendation = sample_recommendation()
    recommendation["identifiers"] = {"specimen_id": "SP-2026-0042", "assay": "TSO500 v2"}
    html = _render(tmp_path, recommendation)
    header = _text(html.split("<nav", 1)[0])
    assert "Specimen ID SP-2026-0042" in header and "Assay TSO500 v2" in header
    printed = _text(report.render_print_html(tmp_path, kb=bundled_kb()))
    assert "Specimen ID: SP-2026-0042 · Assay: TSO500 v2" in printed


def test_without_identifiers_the_header_has_none(page: str) -> None:
    assert "specimen" not in page.split("<nav", 1)[0].lower()


# --------------------------------------------------------------------------- demo patients


DEMO07_IDENTIFIERS = (("specimen_id", "SP-07"), ("assay", "TSO500 v2"), ("site_mrn", "H-0007"))


@pytest.fixture(scope="module")
def demo_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """DEMO02 (tumour/normal, HapB3), DEMO05 (DPYD score 0, indeterminate) and DEMO07 (breast,
    PIK3CA), analysed and reported by jobs.analyse_patient as an analysis job runs it."""
    from haicgx import jobs

    config = demo_config()
    run = jobs.load_run(config, workdir=REPO, root=REPO)
    out = tmp_path_factory.mktemp("demo")
    reports = {}
    for pid in ("DEMO02", "DEMO05", "DEMO07"):
        folder = out / pid
        patient = run.patients[pid]
        if pid == "DEMO07":  # as a sheet with specimen_id, assay and a site column gives them
            patient = dataclasses.replace(patient, identifiers=DEMO07_IDENTIFIERS)
        jobs.analyse_patient(
            patient,
            settings=run.settings,
            kb=run.knowledge,
            cohorts=run.cohorts,
            folder=folder,
        )
        reports[pid] = {
            "json": (folder / "recommendation.json").read_text(encoding="utf-8"),
            "html": (folder / "report.html").read_text(encoding="utf-8"),
            "print": report.render_print_html(folder, kb=run.knowledge),
        }
    return reports


def test_sheet_identifiers_go_through_the_analysis_to_both_editions(
    demo_reports: dict[str, dict[str, str]],
) -> None:
    given = json.loads(demo_reports["DEMO07"]["json"])
    assert given["identifiers"] == dict(DEMO07_IDENTIFIERS)
    assert "identifiers" not in json.loads(demo_reports["DEMO02"]["json"])  # digest unchanged
    header = _text(demo_reports["DEMO07"]["html"].split("<nav", 1)[0])
    assert "Specimen ID SP-07" in header and "mrn (site) H-0007" in header
    printed = _text(demo_reports["DEMO07"]["print"])
    assert "Specimen ID: SP-07 · Assay: TSO500 v2 · mrn (site): H-0007" in printed


def test_demo02_hapb3_from_the_normal_with_its_halved_fluorouracil(
    demo_reports: dict[str, dict[str, str]],
) -> None:
    html = demo_reports["DEMO02"]["html"]
    pgx = _text(section(html, "pgx"))
    assert "Activity score 1.5 · Intermediate Metabolizer" in pgx
    assert "c.1129-5923C>G (HapB3 causal intronic variant)" in pgx
    assert "Genotype source normal (matched normal sample)" in pgx
    assert "36 called, 0 missing" in pgx
    assert DPWG_OR_AVOID in pgx
    rows = _dose_rows(html)
    assert any(
        "HAIC-FOLFOX" in row and "200 mg/m2 bolus, then 1200 mg/m2 over 46 hours" in row
        for row in rows
    )
    assert "Tied with HAI raltitrexed plus oxaliplatin (TOMOX-HAI)" in _card(html, 1)
    assert "BRAF V600E" in _text(section(html, "findings"))
    assert 'class="banner"' not in html


def test_demo05_dpyd_score_0_indeterminate_gets_the_red_banners(
    demo_reports: dict[str, dict[str, str]],
) -> None:
    html = demo_reports["DEMO05"]["html"]
    banners = [_text(b) for b in re.findall(r'<p class="banner"[^>]*>(.*?)</p>', html)]
    assert banners[0].startswith(
        "DPYD activity score 0 from the alleles found (the call is indeterminate: positions "
        "without a call can only lower it)."
    )
    assert "Contraindicated by guideline: fluorouracil, capecitabine, tegafur" in banners[0]
    assert any(b.startswith("Rank 1, ") and "test DPYD" in b for b in banners)
    pgx = _text(section(html, "pgx"))
    assert "34 missing" in pgx and "1:97082391 (DPYD c.2846A>T, p.D949V)" in pgx
    assert "Do not give: contraindicated by the rule" in pgx
    assert banners[0] in _text(demo_reports["DEMO05"]["print"])


def test_demo07_breast_pik3ca_findings_and_untested_genes(
    demo_reports: dict[str, dict[str, str]],
) -> None:
    html = demo_reports["DEMO07"]["html"]
    findings = _text(section(html, "findings"))
    assert findings.count("PIK3CA :") == 2 and "SOLAR-1" in findings
    pgx = _text(section(html, "pgx"))
    assert "None applied: DPYD was not assessed" in pgx
    assert "Test DPYD before the first dose of" in pgx
    assert "DPYD and UGT1A1 were not assessed or indeterminate without a rule to apply" in pgx
    assert "No other pharmacogene rule or renal band changes a starting dose." in pgx
    printed = _text(demo_reports["DEMO07"]["print"])
    assert "TARGETABLE ALTERATIONS — PIK3CA" in printed


def test_the_demo_reports_escape_nothing_twice(demo_reports: dict[str, dict[str, str]]) -> None:
    for edition in demo_reports.values():
        for markup in edition.values():
            assert "&amp;gt;" not in markup and "&amp;lt;" not in markup
            assert "&amp;#" not in markup


def test_the_print_edition_keeps_the_cards_compact(
    demo_reports: dict[str, dict[str, str]],
) -> None:
    printed = demo_reports["DEMO02"]["print"]
    body = printed.split("<h2>Regimens: evidence", 1)[1]
    blocks = re.split(r'(?=<div class="rg )', body)[1:]
    assert len(blocks) == 18
    usable = [b for b in blocks if "status-contraindicated" not in b.split(">", 1)[0]]
    assert all("Schedule" in b and "Evidence in colorectal" in b for b in usable)


def test_a_tie_with_many_regimens_names_their_ranks(tmp_path: Path) -> None:
    recommendation = sample_recommendation()
    ids = [r["regimen_id"] for r in recommendation["regimens"]]
    for regimen in recommendation["regimens"]:
        regimen["tied_with"] = [i for i in ids if i != regimen["regimen_id"]]
    recommendation["regimens"][0]["tied_with"].append("hai_paclitaxel")  # not ranked here
    html = _render(tmp_path, recommendation)
    expected = "Tied with 4 regimens (ranks 2, 3, 4 and hai_paclitaxel): only the base order"
    assert expected in _card(html, 1)
    assert "Tied with HAIC-RALOX, HAIC-FOLFOX and HAI-FUDR: only the base order" in _card(html, 4)
