"""Tumour-board reports: content, self-containment, escaping, PDF and cohort overview."""

from __future__ import annotations

import copy
import csv
import functools
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from haicgx import report
from haicgx.errors import InputError
from haicgx.knowledge import KnowledgeBase, load_knowledge
from haicgx.paths import load_schema
from haicgx.record import recommendation_digest
from haicgx.report import render
from haicgx.vocab import MATCH_COLUMNS, VARIANT_COLUMNS

REPO = Path(__file__).resolve().parents[2]
HOSTILE = '<script>alert(1)</script> "quotes" A & B'
HOSTILE_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt; &#34;quotes&#34; A &amp; B"
SHA_VCF = "a" * 64
# The DPWG clause the report must print in full (a rule's note beyond its first sentence).
DPWG_OR_AVOID = "DPWG: start at 50% or avoid."


@functools.cache
def bundled_kb() -> KnowledgeBase:
    """The curated knowledge set the sample patient's recommendation was "made with"."""
    knowledge = REPO / "src" / "haicgx" / "data" / "knowledge"
    return load_knowledge(knowledge / "biomarkers.tsv", knowledge / "regimens.yaml")


def _reason(kind: str, text: str, *kb_ids: str) -> dict[str, Any]:
    return {"kind": kind, "text": text, "kb_ids": list(kb_ids)}


def _rule(kb_id: str, drug: str, effect: str, level: str, note: str, source: str) -> dict[str, Any]:
    """One row of recommendation.json's ``evidence`` (a rule row with its full note)."""
    gene = kb_id.split("-", 1)[0]
    return {
        "kb_id": kb_id,
        "gene": gene if gene in ("DPYD", "UGT1A1") else "",
        "alteration": "rule",
        "drugs": [drug],
        "effect": effect,
        "evidence_level": level,
        "source": source,
        "note": note,
    }


def sample_evidence() -> list[dict[str, Any]]:
    return [
        _rule("DPYD-AS1_1P5-FLUOROURACIL", "fluorouracil", "dose_adjustment", "guideline",
              f"Start fluorouracil at 50% of the standard starting dose, then titrate on toxicity "
              f"(CPIC as amended Nov 2018 for both 1 and 1.5). {DPWG_OR_AVOID} Applies to the "
              "hepatic-arterial and the systemic 5-FU of a regimen.",
              "CPIC DPYD 2017 update, PMID 29152729; DPWG DPYD guideline, PMID 31745289"),
        _rule("DPYD-AS1_1P5-FLOXURIDINE", "floxuridine", "toxicity", "inference",
              "Caution with hepatic-arterial floxuridine: monitor closely for systemic toxicity "
              "(inference; no guideline covers it). Any FUDR dose change is a clinical decision.",
              "Inference. Scope: CPIC 2017 and DPWG 2019 cover fluorouracil only"),
        _rule("UGT1A1-PM-IRINOTECAN", "irinotecan", "dose_adjustment", "guideline",
              "Start irinotecan at 70% of the standard dose and raise it if tolerated (DPWG). "
              "Confirm germline genotype.",
              "DPWG UGT1A1-irinotecan guideline, PMID 36443464"),
        _rule("RALTITREXED-CRCL-25_54", "raltitrexed", "dose_adjustment", "guideline",
              "Creatinine clearance 25-54 mL/min: give 50% of the 3 mg/m2 dose, every 4 weeks "
              "instead of every 3 (Tomudex SmPC). A North American monograph scales the dose.",
              "Tomudex (raltitrexed) SmPC section 4.2"),
    ]  # fmt: skip


def sample_recommendation() -> dict[str, Any]:
    """A colorectal patient: DPYD *2A heterozygous (score 1), UGT1A1 *28/*28, KRAS G12D,
    CrCl 48 mL/min; regimen ids of the bundled knowledge set (doses, trials)."""
    dpyd_50 = "DPYD activity score 1 (intermediate metabolizer): start fluorouracil at 50% of the"
    return {
        "schema_version": "2",
        "patient_id": "PT-007",
        "primary_site": "colorectal",
        "cohort": "CRLM",
        "prior_drugs": ["irinotecan"],
        "crcl_ml_min": 48.0,
        "summary": "HAIC-RALOX ranks first: raltitrexed is not a DPD substrate.",
        "regimens": [
            {
                "rank": 1,
                "regimen_id": "haic_raltitrexed_oxaliplatin",
                "name": "HAIC-RALOX",
                "drugs": ["raltitrexed", "oxaliplatin"],
                "status": "recommended",
                "score": 0.62,
                "site_evidence": "randomised",
                "failed_classes": 0,
                "tied_with": ["haic_folfox"],
                "reasons": [
                    _reason("context", "Raltitrexed is not a DPD substrate.", "RALTITREXED-DPD"),
                    _reason(
                        "renal",
                        "CrCl 48 mL/min: give raltitrexed at 50% of dose.",
                        "RALTITREXED-CRCL-25_54",
                    ),
                ],
            },
            {
                "rank": 2,
                "regimen_id": "haic_folfox",
                "name": "HAIC-FOLFOX",
                "drugs": ["oxaliplatin", "fluorouracil", "folinic acid"],
                "status": "caution",
                "score": 0.4,
                "site_evidence": "randomised",
                "failed_classes": 0,
                "tied_with": ["haic_raltitrexed_oxaliplatin"],
                "reasons": [
                    _reason(
                        "dose_adjustment",
                        f"{dpyd_50} standard dose, then titrate (CPIC, DPWG).",
                        "DPYD-AS1_1P5-FLUOROURACIL",
                        "DPYD-RS3918290",
                    ),
                    _reason("sensitivity", "KRAS p.G12D: oxaliplatin HAI data.", "KRAS-G12D-OXA"),
                ],
            },
            {
                "rank": 3,
                "regimen_id": "hai_floxuridine",
                "name": "HAI-FUDR",
                "drugs": ["floxuridine"],
                "status": "caution",
                "score": 0.2,
                "site_evidence": "randomised",
                "failed_classes": 0,
                "reasons": [
                    _reason(
                        "toxicity",
                        "DPYD activity score 1: floxuridine is a DPD substrate, flag only.",
                        "DPYD-AS1_1P5-FLOXURIDINE",
                        "DPYD-RS3918290",
                    ),
                    _reason(
                        "resistance", "KRAS mutation: weaker response to HAI FUDR.", "KRAS-FUDR"
                    ),
                ],
            },
            {
                "rank": 4,
                "regimen_id": "haic_irinotecan",
                "name": "HAI irinotecan",
                "drugs": ["irinotecan"],
                "status": "excluded",
                "score": -1.0,
                "site_evidence": "case_series",
                "failed_classes": 1,
                "reasons": [
                    _reason("prior_failure", "Disease progressed on irinotecan."),
                    _reason(
                        "dose_adjustment",
                        "UGT1A1 *28/*28 poor metabolizer: start irinotecan at 70% (DPWG).",
                        "UGT1A1-PM-IRINOTECAN",
                        "UGT1A1-28",
                    ),
                ],
            },
        ],
        "pgx": {
            "DPYD": {
                "status": "assessed",
                "activity_score": 1.0,
                "genotype_source": "tumour",
                "positions_called": 34,
                "positions_missing": 0,
                "missing_positions": [],
                "reading_rule": "GT and allele fraction both read; the lower-activity reading",
                "phenotype": "Intermediate Metabolizer",
                "alleles": [
                    {
                        "kb_id": "DPYD-RS3918290",
                        "allele_name": "c.1905+1G>A (*2A)",
                        "chrom": "chr1",
                        "pos": 97450058,
                        "ref": "C",
                        "alt": "T",
                        "sample": "tumour",
                        "genotype": "0/1",
                        "copies": 1,
                        "other_reading_copies": None,
                        "allele_function": "no_function",
                        "activity_value": 0.0,
                        "vaf": 0.48,
                        "depth": 120,
                        "germline_check": "consistent",
                    }
                ],
                "rules": ["DPYD-AS1_1P5-FLUOROURACIL", "DPYD-AS1_1P5-FLOXURIDINE"],
                "notes": ["Tumour-only data: confirm germline DPYD status before dosing."],
            },
            "UGT1A1": {
                "status": "assessed",
                "genotype_source": "tumour",
                "positions_called": 4,
                "positions_missing": 0,
                "missing_positions": [],
                "diplotype": "*28/*28",
                "phenotype": "Poor Metabolizer",
                "alleles": [
                    {
                        "kb_id": "UGT1A1-28",
                        "allele_name": "*28 (TA)7",
                        "chrom": "chr2",
                        "pos": 233760233,
                        "ref": "CAT",
                        "alt": "CATAT",
                        "sample": "tumour",
                        "genotype": "1/1",
                        "copies": 2,
                        "other_reading_copies": 1,
                        "allele_function": "decreased_function",
                        "activity_value": None,
                        "vaf": 0.71,
                        "depth": 40,
                        "germline_check": "confirm",
                    }
                ],
                "rules": ["UGT1A1-PM-IRINOTECAN"],
                "notes": [],
            },
        },
        "evidence": sample_evidence(),
        "findings": [
            {
                "gene": "PIK3CA",
                "kind": "targetable",
                "text": "PIK3CA helical-domain hotspot: alpelisib with fulvestrant (SOLAR-1).",
                "kb_ids": ["FIND-PIK3CA-HOTSPOT-E545"],
            },
            {
                "gene": "APC",
                "kind": "germline_referral",
                "text": "APC p.R1450* is truncating: refer for germline testing.",
                "kb_ids": ["FIND-GERMLINE-REFERRAL"],
            },
        ],
        "qc": {
            "records_read": 12,
            "records_passing": 7,
            "filtered": {"filter_not_pass": 2, "low_depth": 2, "low_vaf": 1},
            "tumour_sample": "TUMOR",
            "annotation": "csq",
            "ref_checked": True,
            "build_check": "contig lengths match GRCh38 (reference FASTA index)",
            "warnings": ["2 records on contigs absent from the reference were skipped"],
        },
        "provenance": {
            "pipeline_version": "0.1.0",
            "knowledge_version": "2026.11.0",
            "knowledge_sha256": bundled_kb().sha256,
            "vcf": "resources/demo/vcf/PT-007.vcf",
            "vcf_sha256": SHA_VCF,
            "reference_build": "GRCh38",
            "reference_fasta": "resources/demo/reference/demo_grch38.fa.gz",
            "annotation": "csq",
            "tools": {"pysam": "0.24.1", "htslib": "1.22", "bcftools": "1.22"},
            "config": {
                "filters": {"pass_only": True, "min_depth": 20, "min_alt_reads": 4, "min_vaf": 0.05}
            },
            "generated_at": "2026-11-25T10:00:00Z",
        },
    }


def _variant(chrom, pos, ref, alt, gene, protein, vaf, depth, consequence="missense_variant"):
    """One variants.tsv row; an empty ``vaf`` gives empty depth fields (unknown, not zero)."""
    row = {name: "" for name in VARIANT_COLUMNS}
    row.update(chrom=chrom, pos=str(pos), ref=ref, alt=alt, gene=gene, consequence=consequence)
    row.update(transcript="ENST0001", protein_change=protein, genotype="0/1", filter="PASS")
    if vaf != "":
        row.update(vaf=str(vaf), depth=str(depth), alt_reads=str(round(vaf * depth)))
    return row


def sample_variants() -> list[dict[str, str]]:
    return [
        _variant("chr12", 25245350, "C", "T", "KRAS", "p.G12D", 0.31, 240),
        _variant("chr17", 7675088, "C", "T", "TP53", "p.R175H", 0.62, 180),
        _variant("chr5", 112839942, "C", "T", "APC", "p.R1450*", 0.27, 150, "stop_gained"),
        _variant("chr3", 179218303, "G", "A", "PIK3CA", "p.E545K", 0.12, 90),
        _variant("chr1", 97450058, "C", "T", "DPYD", "", 0.48, 120, "splice_donor_variant"),
        _variant("chr2", 233760233, "CAT", "CATAT", "UGT1A1", "", 0.71, 40, "upstream"),
        _variant("chr8", 1000, "A", "G", "", "", "", "", "intergenic_variant"),
    ]


def _match(kb_id, variant, level, drug, effect, evidence, source, alteration=""):
    cells = {name: "" for name in MATCH_COLUMNS}
    cells.update({key: variant[key] for key in ("gene", "chrom", "pos", "ref", "alt")})
    cells.update(
        kb_id=kb_id,
        alteration=alteration or variant["protein_change"],
        protein_change=variant["protein_change"],
        match_level=level,
        drug=drug,
        effect=effect,
        evidence_level=evidence,
        tumour_context_fit="any",
        source=source,
    )
    return cells


def sample_matches(variants: list[dict[str, str]]) -> list[dict[str, str]]:
    kras, dpyd, ugt = variants[0], variants[4], variants[5]
    return [
        _match("KRAS-G12D-OXA", kras, "protein", "oxaliplatin", "sensitivity", "case_report",
               "PMID:1"),
        _match("KRAS-FUDR", kras, "gene", "floxuridine", "resistance", "clinical_cohort", "PMID:2"),
        _match("DPYD-RS3918290", dpyd, "genomic", "fluorouracil", "allele_function", "guideline",
               "CPIC 2017; DPWG 2020", alteration="GRCh38:chr1:97450058:C:T"),
        _match("UGT1A1-28", ugt, "genomic", "irinotecan", "allele_function", "guideline",
               "DPWG 2023", alteration="GRCh38:chr2:233760233:CAT:CATAT"),
    ]  # fmt: skip


def _write_tsv(path: Path, columns: tuple[str, ...], rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def write_patient_dir(
    folder: Path,
    recommendation: dict[str, Any] | None = None,
    variants: list[dict[str, str]] | None = None,
    matches: list[dict[str, str]] | None = None,
) -> Path:
    """Write the three per-patient outputs into ``folder`` (created) and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    recommendation = recommendation or sample_recommendation()
    variants = sample_variants() if variants is None else variants
    matches = sample_matches(variants) if matches is None else matches
    (folder / "recommendation.json").write_text(json.dumps(recommendation), encoding="utf-8")
    _write_tsv(folder / "variants.tsv", VARIANT_COLUMNS, variants)
    _write_tsv(folder / "matches.tsv", MATCH_COLUMNS, matches)
    return folder


def _visible_text(html: str) -> str:
    """The HTML without tags and with whitespace collapsed, for phrase checks."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One patient report (HTML + PDF) rendered once for the content tests."""
    folder = tmp_path_factory.mktemp("report")
    patient_dir = write_patient_dir(folder / "patients" / "PT-007")
    html_path, pdf_path = patient_dir / "report.html", patient_dir / "report.pdf"
    report.write_patient_report(
        patient_dir, html_path=html_path, pdf_path=pdf_path, kb=bundled_kb()
    )
    return {"dir": patient_dir, "html": html_path.read_text(encoding="utf-8"), "pdf": pdf_path}


def section(html: str, name: str) -> str:
    """The markup of one ``<section id=name>`` of a report."""
    return html.split(f'<section id="{name}">', 1)[1].split("</section>", 1)[0]


# --------------------------------------------------------------------------- the fixture itself


def test_fixture_recommendation_is_valid_against_the_contract_schema() -> None:
    # the package's copy, which test_vocab_schemas holds equal to the contract's
    jsonschema.validate(sample_recommendation(), load_schema("recommendation.schema.json"))


# --------------------------------------------------------------------------- content

SECTIONS = ("glance", "ranking", "pgx", "findings", "cards", "variants", "vaf", "evidence", "qc",
            "provenance", "signoff")  # fmt: skip


def test_report_shows_the_top_regimen_and_the_sections(rendered: dict[str, Any]) -> None:
    html = rendered["html"]
    text = _visible_text(html)
    assert "HAIC-RALOX" in text
    assert "Recommendation at a glance" in text
    for name in SECTIONS:
        assert f'<section id="{name}">' in html, name
        assert f'href="#{name}"' in html, name  # in the table of contents
    assert "the tumour board decides the treatment" in text
    assert "Report date 2026-11-25" in text
    assert "CRLM" in text and "colorectal" in text and "2026.11.0" in text


def test_report_ranks_every_regimen_and_sets_back_the_unusable(rendered: dict[str, Any]) -> None:
    html = rendered["html"]
    names = ["HAIC-RALOX", "HAIC-FOLFOX", "HAI-FUDR", "HAI irinotecan"]
    table = html.split('<table class="ranked">', 1)[1].split("</table>", 1)[0]
    positions = [table.index(f"<b>{name}</b>") for name in names]
    assert positions == sorted(positions)
    rows = re.findall(r"<tr class=\"([^\"]*)\">", table)
    assert rows == ["top", "", "", " unusable"]
    assert "✓ RECOMMENDED" in table and "! CAUTION" in table and "– EXCLUDED" in table
    # Each row links to its evidence card and recalls its reasons in short.
    for rank in range(1, 5):
        assert f'href="#regimen-{rank}"' in table and f'id="regimen-{rank}"' in html
    assert "Creatinine clearance" not in table and "CrCl 48 mL/min" in _visible_text(table)
    assert _visible_text(table).count("tied (base order)") == 2


def test_reasons_link_to_the_evidence_section(rendered: dict[str, Any]) -> None:
    html = rendered["html"]
    links = set(re.findall(r'href="#(ev-\d+)"', html))
    anchors = set(re.findall(r'<tr id="(ev-\d+)"', html))
    assert links and links == anchors
    evidence = section(html, "evidence")
    assert "CPIC 2017; DPWG 2020" in evidence  # source as given in matches.tsv
    assert "DPYD-AS1_1P5-FLUOROURACIL" in evidence  # a rule row without a variant match
    assert "PMID 29152729" in evidence  # ... with its source from recommendation.json
    assert "not a variant match; see knowledge table 2026.11.0" in evidence  # RALTITREXED-DPD
    assert "Andre et al., N Engl J Med 2019" in evidence  # a finding's row, from the findings
    assert "finding (PIK3CA)" in evidence and "pharmacogenomics (UGT1A1)" in evidence


def test_pharmacogenomics_section_summary(rendered: dict[str, Any]) -> None:
    text = _visible_text(section(rendered["html"], "pgx"))
    assert "Activity score 1 · Intermediate Metabolizer" in text
    assert "c.1905+1G&gt;A (*2A)" in text and "no function" in text and "0.48" in text
    assert "Diplotype *28/*28 · Poor Metabolizer" in text
    assert "! confirm" in text  # UGT1A1 VAF 0.71 does not fit a germline genotype
    assert "Germline confirmation needed" in text
    assert "2 copies; other reading 1" in text
    assert "Raltitrexed is not a DPD substrate" not in text


def test_not_assessed_is_shown_plainly(tmp_path: Path) -> None:
    recommendation = sample_recommendation()
    recommendation["pgx"]["UGT1A1"] = {
        "status": "not_assessed",
        "diplotype": None,
        "phenotype": "Not assessed",
        "genotype_source": None,
        "positions_called": 0,
        "positions_missing": 4,
        "missing_positions": ["2:233760233 (UGT1A1*28 (rs3064744))"],
        "reading_rule": "GT and allele fraction both read",
        "rules": [],
    }
    write_patient_dir(tmp_path, recommendation)
    text = _visible_text(report.render_patient_html(tmp_path, kb=bundled_kb()))
    assert "UGT1A1 (not assessed): Not assessed" in text
    assert "Not assessed : no diplotype could be derived" in text
    assert "Allele-defining positions 0 called, 4 missing" in text
    assert "Missing positions 2:233760233 (UGT1A1*28 (rs3064744))" in text
    assert "None applied: UGT1A1 was not assessed" in text


def test_indeterminate_and_genotype_evidence_are_shown(tmp_path: Path) -> None:
    recommendation = sample_recommendation()
    recommendation["pgx"]["DPYD"].update(
        status="indeterminate",
        activity_score=1.0,
        phenotype="Indeterminate (at most activity score 1: Intermediate Metabolizer)",
        genotype_source="normal",
        positions_called=2,
        positions_missing=33,
        missing_positions=["1:97450065 (DPYD c.1898delC (*3))", "1:97082391 (DPYD c.2846A>T)"],
        reading_rule="GT and allele fraction both read; where they disagree, the lower",
    )
    top = recommendation["regimens"][0]
    top["reasons"].append(
        {"kind": "toxicity", "text": "test DPYD first", "kb_ids": [], "test_first": True}
    )
    write_patient_dir(tmp_path, recommendation)
    html = report.render_patient_html(tmp_path, kb=bundled_kb())
    text = _visible_text(html)
    assert "DPYD (indeterminate)" in text
    assert "Genotype source normal (matched normal sample)" in text
    assert "2 called, 33 missing" in text
    assert "1:97450065 (DPYD c.1898delC (*3)) 1:97082391 (DPYD c.2846A&gt;T)" in text
    assert "Reading rule GT and allele fraction both read" in text
    assert '<p class="banner" role="alert">Rank 1, HAIC-RALOX: test DPYD first</p>' in html
    printed = _visible_text(report.render_print_html(tmp_path, kb=bundled_kb()))
    assert "DPYD (indeterminate)" in printed and "Rank 1, HAIC-RALOX: test DPYD first" in printed
    assert (
        "DPYD (fluorouracil, capecitabine, tegafur; floxuridine by inference): INDETERMINATE · "
        "activity score 1 at most"
    ) in printed
    assert "2 called, 33 missing" in printed
    assert "Missing positions (2): 1:97450065 (DPYD c.1898delC (*3)); 1:97082391" in printed


def test_matched_variants_join_vaf_and_depth(rendered: dict[str, Any]) -> None:
    matched = section(rendered["html"], "variants").split("<details", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", matched, flags=re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S) for row in rows]
    cells = [row for row in cells if row]  # drop the header row
    kras = next(c for c in cells if "KRAS" in c[0] and "sensitivity" in c[6])
    assert kras[1:6] == ["p.G12D", "0.31", "240", "protein", "oxaliplatin"]
    assert "case report" in kras[7] and "PMID:1" in kras[8]


def test_vaf_plot_has_one_dot_per_variant_with_a_vaf(rendered: dict[str, Any]) -> None:
    svg = rendered["html"].split('<section id="vaf">', 1)[1].split("</svg>", 1)[0]
    assert svg.count("<circle") == 6  # 7 passing variants, one without VAF
    for gene in ("KRAS", "DPYD", "UGT1A1", "other (3)"):
        assert f">{gene}</text>" in svg
    assert "1 variant without a VAF is not plotted" in rendered["html"]


def test_qc_and_provenance(rendered: dict[str, Any]) -> None:
    text = _visible_text(rendered["html"])
    assert "Records read 12" in text and "Records passing 7" in text
    assert "filter not pass: 2; low depth: 2; low vaf: 1" in text
    assert "REF checked against reference yes" in text
    assert SHA_VCF in text and bundled_kb().sha256 in text
    assert f"Recommendation sha256 {recommendation_digest(sample_recommendation())}" in text
    assert "resources/demo/vcf/PT-007.vcf" in text
    assert "bcftools 1.22; htslib 1.22; pysam 0.24.1" in text
    assert "min_depth = 20" in text and "pass_only = yes" in text
    assert "2026-11-25T10:00:00Z" in text


def test_sign_off_asks_the_oncologist_and_the_pharmacist(rendered: dict[str, Any]) -> None:
    signoff = _visible_text(section(rendered["html"], "signoff"))
    assert "Oncologist (tumour-board chair): name" in signoff
    assert "Pharmacist (pharmacogenomics and starting doses): name" in signoff
    assert "Accept the rank-1 regimen: HAIC-RALOX" in signoff
    assert "Pharmacist: genotype, rules and doses checked" in _visible_text(
        section(rendered["html"], "pgx")
    )


def test_annotation_none_is_said(tmp_path: Path) -> None:
    recommendation = sample_recommendation()
    recommendation["qc"]["annotation"] = "none"
    write_patient_dir(tmp_path, recommendation)
    assert "only genomic-allele rules were evaluated" in report.render_patient_html(tmp_path)


def test_no_usable_regimen_is_flagged(tmp_path: Path) -> None:
    recommendation = sample_recommendation()
    for regimen in recommendation["regimens"]:
        regimen["status"] = "contraindicated"
    write_patient_dir(tmp_path, recommendation)
    assert "No regimen is usable for this patient" in report.render_patient_html(tmp_path)


# --------------------------------------------------------------------------- self-contained


def _assert_self_contained(html: str) -> None:
    lowered = html.lower()
    assert "<script" not in lowered
    assert "<link" not in lowered
    assert "<img" not in lowered and "<iframe" not in lowered and "<object" not in lowered
    assert "@import" not in lowered and "url(" not in lowered
    for attribute in re.findall(r"\b(?:src|href|srcset|action|xlink:href)\s*=\s*[\"']?([^\"'\s>]*)",
                                lowered):  # fmt: skip
        assert not re.match(r"(https?:)?//", attribute), attribute
        assert attribute.startswith(("#", "../", "patients/")) or attribute == "", attribute


def test_patient_report_is_self_contained(rendered: dict[str, Any]) -> None:
    _assert_self_contained(rendered["html"])


def test_pdf_is_written_and_holds_the_key_facts(rendered: dict[str, Any]) -> None:
    pdf = rendered["pdf"]
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not on PATH: PDF text not checked")
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    flat = " ".join(text.split())
    assert "HAIC-RALOX" in flat
    assert "Intermediate Metabolizer" in flat
    assert "Poor Metabolizer" in flat


def test_weasyprint_never_fetches_a_url() -> None:
    html = '<html><body><img src="http://127.0.0.1:9/x.png"><p>x</p></body></html>'
    from weasyprint.urls import FatalURLFetchingError

    with pytest.raises(FatalURLFetchingError, match="refused"):
        report.render_pdf(html)


def test_a_failure_leaves_no_partial_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_patient_dir(tmp_path)

    def broken(html: str) -> bytes:
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(render, "render_pdf", broken)  # where the writer looks it up
    with pytest.raises(RuntimeError):
        report.write_patient_report(
            tmp_path,
            html_path=tmp_path / "report.html",
            pdf_path=tmp_path / "report.pdf",
            kb=bundled_kb(),
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "matches.tsv",
        "recommendation.json",
        "variants.tsv",
    ]


def test_missing_table_names_patient_and_file(tmp_path: Path) -> None:
    write_patient_dir(tmp_path)
    (tmp_path / "matches.tsv").unlink()
    with pytest.raises(InputError, match=r"patient PT-007: .*matches\.tsv.*missing"):
        report.render_patient_html(tmp_path)


# --------------------------------------------------------------------------- escaping


def hostile_recommendation() -> dict[str, Any]:
    """Input-derived text everywhere a string can come from (not schema-valid on purpose)."""
    recommendation = copy.deepcopy(sample_recommendation())
    recommendation["patient_id"] = HOSTILE
    recommendation["cohort"] = HOSTILE
    recommendation["prior_drugs"] = [HOSTILE]
    recommendation["summary"] = HOSTILE
    recommendation["regimens"][0]["name"] = HOSTILE
    recommendation["regimens"][0]["reasons"].append(_reason("context", HOSTILE, HOSTILE))
    recommendation["regimens"][1]["reasons"][0]["kind"] = HOSTILE
    recommendation["pgx"]["DPYD"]["alleles"][0]["allele_name"] = HOSTILE
    recommendation["pgx"]["DPYD"]["notes"] = [HOSTILE]
    recommendation["qc"]["tumour_sample"] = HOSTILE
    recommendation["qc"]["warnings"] = [HOSTILE]
    recommendation["provenance"]["vcf"] = HOSTILE
    recommendation["provenance"]["tools"] = {HOSTILE: HOSTILE}
    recommendation["pgx"]["DPYD"]["reading_rule"] = HOSTILE
    recommendation["pgx"]["DPYD"]["missing_positions"] = [HOSTILE]
    recommendation["pgx"]["UGT1A1"]["rules"].append(HOSTILE)
    recommendation["evidence"][0]["note"] = HOSTILE
    recommendation["evidence"][0]["source"] = HOSTILE
    recommendation["findings"][0].update(gene=HOSTILE, text=HOSTILE, kind=HOSTILE)
    recommendation["regimens"][1]["tied_with"] = [HOSTILE]
    recommendation["identifiers"] = {HOSTILE: HOSTILE}
    return recommendation


def test_input_text_is_escaped_in_the_patient_report(tmp_path: Path) -> None:
    variants = sample_variants()
    variants[0]["gene"] = HOSTILE
    variants[2]["protein_change"] = HOSTILE
    matches = sample_matches(variants)
    matches[0]["source"] = HOSTILE
    matches[0]["drug"] = HOSTILE
    write_patient_dir(tmp_path, hostile_recommendation(), variants, matches)
    html_path, pdf_path = tmp_path / "report.html", tmp_path / "report.pdf"
    report.write_patient_report(tmp_path, html_path=html_path, pdf_path=pdf_path, kb=bundled_kb())
    html = html_path.read_text(encoding="utf-8")
    assert "<script>" not in html and '"quotes"' not in html and "A & B" not in html
    assert html.count(HOSTILE_ESCAPED) >= 30
    assert "<title>HAIC regimen report · " + HOSTILE_ESCAPED + "</title>" in html
    _assert_self_contained(html)
    assert pdf_path.read_bytes().startswith(b"%PDF")


# --------------------------------------------------------------------------- cohort report


def _cohort_results(root: Path) -> Path:
    first = write_patient_dir(root / "patients" / "PT-007")
    second = sample_recommendation()
    second.update(patient_id="PT-008", primary_site="gastric", cohort="UGI")
    second["pgx"]["DPYD"].update(activity_score=2.0, phenotype="Normal Metabolizer", alleles=[])
    second["pgx"]["UGT1A1"].update(diplotype="*1/*1", phenotype="Normal Metabolizer", alleles=[])
    write_patient_dir(root / "patients" / "PT-008", second)
    third = sample_recommendation()
    third.update(patient_id="PT-009", primary_site="hcc", cohort=None)
    third["pgx"]["DPYD"] = {"status": "not_assessed", "activity_score": None, "phenotype": "n/a"}
    write_patient_dir(root / "patients" / "PT-009", third)
    assert first.is_dir()
    return root


def test_cohort_report_lists_cohorts_flags_and_failures(tmp_path: Path) -> None:
    results = _cohort_results(tmp_path)
    html_path = results / "cohort_report.html"
    failures = {"PT-010": "patient PT-010: p10.vcf: record chr1:5: REF mismatch <A & B>"}
    report.write_cohort_report(results, html_path=html_path, failures=failures)
    html = html_path.read_text(encoding="utf-8")
    text = _visible_text(html)
    assert "CRLM (1)" in text and "UGI (1)" in text and "No cohort assigned (1)" in text
    assert "DPYD activity score 1 (Intermediate Metabolizer)" in text
    assert "UGT1A1 Poor Metabolizer (*28/*28)" in text
    assert "DPYD not assessed" in text
    assert "PT-010" in text
    assert "REF mismatch &lt;A &amp; B&gt;" in html and "<A & B>" not in html
    svg = html.split('<section id="top">', 1)[1].split("</svg>", 1)[0]
    assert svg.count("<rect") == 1 and ">HAIC-RALOX</text>" in svg and ">3</text>" in svg
    assert 'href="patients/PT-007/report.html"' in html
    _assert_self_contained(html)


def test_cohort_report_puts_a_dpyd_score_of_0_in_red_once(tmp_path: Path) -> None:
    rec = sample_recommendation()
    rec["pgx"]["DPYD"].update(
        status="indeterminate",
        activity_score=0.0,
        phenotype="Indeterminate (activity score 0: Poor Metabolizer)",
    )
    write_patient_dir(tmp_path / "patients" / "PT-007", rec)
    write_patient_dir(tmp_path / "patients" / "PT-008")  # activity score 1: not red
    html_path = tmp_path / "cohort_report.html"
    report.write_cohort_report(tmp_path, html_path=html_path, failures={})
    html = html_path.read_text(encoding="utf-8")
    members = html.split('<section id="cohorts">', 1)[1].split("</section>", 1)[0]
    red = re.findall(r'<td class="flag-alert">([^<]*)', members)
    dpyd = "DPYD Indeterminate (activity score 0: Poor Metabolizer)"
    assert red == [f"✕ {dpyd}; UGT1A1 Poor Metabolizer (*28/*28)"]
    assert members.count("flag-alert") == 1


def test_cohort_report_renders_when_every_patient_failed(tmp_path: Path) -> None:
    html_path = tmp_path / "cohort_report.html"
    failures = {"P1": HOSTILE, "P2": "empty VCF"}
    report.write_cohort_report(tmp_path, html_path=html_path, failures=failures)
    html = html_path.read_text(encoding="utf-8")
    assert "every run failed" in html
    assert HOSTILE_ESCAPED in html and "<script>" not in html
    assert "empty VCF" in html


def test_cohort_report_escapes_patient_text_and_counts_bad_json(tmp_path: Path) -> None:
    hostile = hostile_recommendation()
    hostile["cohort"] = "A & B"
    write_patient_dir(tmp_path / "patients" / "PX", hostile)
    broken = tmp_path / "patients" / "PY"
    broken.mkdir(parents=True)
    (broken / "recommendation.json").write_text("{not json", encoding="utf-8")
    html_path = tmp_path / "cohort.html"
    report.write_cohort_report(tmp_path, html_path=html_path, failures={})
    html = html_path.read_text(encoding="utf-8")
    assert "<script>" not in html and HOSTILE_ESCAPED in html
    assert "<h3>A &amp; B <span" in html
    assert "PY" in html and "not valid JSON" in html
