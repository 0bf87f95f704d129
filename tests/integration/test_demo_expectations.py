"""What a tumour board should see for each demo patient, with the reasoning beside it.

These are the expected results of the bundled knowledge set and scoring model on the demo cohort
(resources/demo/README.md lists each patient's variants). When the knowledge or the weights change
on purpose, update the expectation and its reasoning together.
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def recommendation(demo, patient):
    path = demo / "results" / "patients" / patient / "recommendation.json"
    return json.loads(path.read_text(encoding="utf-8"))


def statuses(rec):
    return {r["regimen_id"]: r["status"] for r in rec["regimens"]}


def reasons(rec, regimen_id, kind):
    regimen = next(r for r in rec["regimens"] if r["regimen_id"] == regimen_id)
    return [r for r in regimen["reasons"] if r["kind"] == kind]


FLUOROURACIL_REGIMENS = {
    "haic_folfox",
    "hai_oxaliplatin_lv5fu2",
    "haic_cisplatin_fluorouracil",
    "hai_floxuridine_systemic",
    "hai_fluorouracil_epirubicin",
    "hai_fluorouracil_doxorubicin_mitomycin",
}


def test_demo01_kras_g12d_colorectal(demo):
    # KRAS G12D lowers HAI floxuridine (retrospective n=25, weaker response in KRAS-mutant CRC),
    # so the colorectal default (FUDR + systemic 5-FU) gives way to HAIC-FOLFOX. DPYD c.85T>C is a
    # normal-function allele (score stays 2) and UGT1A1 *1/*28 needs no irinotecan change (DPWG).
    rec = recommendation(demo, "DEMO01")
    assert rec["regimens"][0]["regimen_id"] == "haic_folfox"
    assert rec["regimens"][0]["status"] == "recommended"
    assert rec["pgx"]["DPYD"] == {
        **rec["pgx"]["DPYD"],
        "activity_score": 2.0,
        "phenotype": "Normal Metabolizer",
    }
    assert rec["pgx"]["UGT1A1"]["diplotype"] == "*1/*28"
    assert reasons(rec, "hai_floxuridine_systemic", "resistance")
    assert set(statuses(rec).values()) == {"recommended"}


def test_demo02_hapb3_heterozygous(demo):
    # Tumour/normal file: the germline genotype is read from the normal sample. HapB3
    # heterozygous (causal intronic and exonic proxy both present, counted once): score 1.5, every
    # PharmCAT position called. Every fluorouracil regimen is a caution with the 50% starting dose;
    # the tegafur (S-1) regimen is a caution too (DPWG: avoid tegafur or start low, no
    # percentage); raltitrexed, not a DPD substrate, leads.
    rec = recommendation(demo, "DEMO02")
    dpyd = rec["pgx"]["DPYD"]
    assert (dpyd["status"], dpyd["activity_score"], dpyd["genotype_source"]) == (
        "assessed",
        1.5,
        "normal",
    )
    assert dpyd["positions_missing"] == 0
    assert rec["regimens"][0]["regimen_id"] == "haic_raltitrexed_oxaliplatin"
    st = statuses(rec)
    assert st["hai_oxaliplatin_floxuridine_s1"] == "caution"
    assert reasons(rec, "hai_oxaliplatin_floxuridine_s1", "dose_adjustment")
    for regimen_id in FLUOROURACIL_REGIMENS:
        assert st[regimen_id] == "caution"
        assert any("50%" in r["text"] for r in reasons(rec, regimen_id, "dose_adjustment"))


def test_demo03_brca2_pancreatic(demo):
    # BRCA2 E1593* (truncating) makes platinum the sensitive class in pancreatic cancer: the
    # platinum regimens rise above the pancreatic default (HAI FUDR), HAIC-FOLFOX first by the
    # pancreatic base order. Gemcitabine failed before, so the gemcitabine regimens are cautions.
    # The PGx positions come as gVCF <NON_REF> reference blocks: trimmed, and they count as calls.
    rec = recommendation(demo, "DEMO03")
    assert rec["pgx"]["DPYD"]["status"] == "assessed"
    assert any("<NON_REF>" in w for w in rec["qc"]["warnings"])
    top = rec["regimens"][0]
    assert top["regimen_id"] == "haic_folfox"
    assert any("BRCA2" in r["text"] for r in top["reasons"] if r["kind"] == "sensitivity")
    st = statuses(rec)
    assert st["haic_gemox"] == "caution" and st["hai_floxuridine_gemox"] == "caution"
    assert reasons(rec, "haic_gemox", "prior_failure")


def test_demo04_dpyd_star2a_heterozygous_gastric(demo):
    # DPYD *2A heterozygous in the normal sample, lost in the tumour (1p loss): the germline call
    # is the normal's, activity score 1 (intermediate metabolizer), and the loss is noted. Read
    # from the tumour alone this patient would look like a normal metabolizer. Fluorouracil
    # regimens become cautions at a 50% starting dose, the S-1 regimen a caution with a low
    # start; oxaliplatin failed before. HAIC cisplatin leads.
    rec = recommendation(demo, "DEMO04")
    dpyd = rec["pgx"]["DPYD"]
    assert (dpyd["activity_score"], dpyd["phenotype"]) == (1.0, "Intermediate Metabolizer")
    assert dpyd["genotype_source"] == "normal"
    assert any("loss of heterozygosity" in n for n in dpyd["notes"])
    assert rec["regimens"][0]["regimen_id"] == "haic_cisplatin"
    st = statuses(rec)
    assert st["hai_oxaliplatin_floxuridine_s1"] == "caution"
    assert st["haic_folfox"] == "caution"
    assert reasons(rec, "haic_folfox", "prior_failure")
    assert any("50%" in r["text"] for r in reasons(rec, "haic_folfox", "dose_adjustment"))


def test_demo05_dpyd_poor_metabolizer_biliary(demo):
    # *2A + *13, both no function: activity score 0. Every fluorouracil, capecitabine or tegafur
    # regimen is contraindicated; floxuridine regimens are cautions only (inference, no guideline);
    # GEMOX-HAIC, free of fluoropyrimidines, leads.
    # The file reports variants only: 2 of the DPYD allele positions were called, so the call is
    # indeterminate, but what was found already gives the lowest score.
    rec = recommendation(demo, "DEMO05")
    assert rec["pgx"]["DPYD"]["status"] == "indeterminate"
    assert rec["pgx"]["DPYD"]["activity_score"] == 0.0
    assert rec["regimens"][0]["regimen_id"] == "haic_gemox"
    st = statuses(rec)
    for regimen_id in FLUOROURACIL_REGIMENS | {"hai_oxaliplatin_floxuridine_s1"}:
        assert st[regimen_id] == "contraindicated"
    assert st["hai_floxuridine"] == "caution" and st["hai_floxuridine_gemox"] == "caution"
    assert st["haic_raltitrexed_oxaliplatin"] == "recommended"


def test_demo06_ugt1a1_poor_metabolizer_hcc(demo):
    # *28 written as a right-shifted insertion in the TA repeat with Mutect2's placeholder GT 0/1
    # at allele fraction 0.98: the lower-activity reading is homozygous, *28/*28, a poor
    # metabolizer, and a note gives the heterozygous alternative. Irinotecan becomes a caution
    # with a reduced starting dose; the HCC order (HAIC-FOLFOX first: three phase 3 trials) is
    # otherwise unchanged. Every PharmCAT position was called: DPYD is a normal metabolizer.
    rec = recommendation(demo, "DEMO06")
    ugt = rec["pgx"]["UGT1A1"]
    assert (ugt["status"], ugt["diplotype"]) == ("assessed", "*28/*28")
    assert any("lower-activity reading" in n and "*1/*28" in n for n in ugt["notes"])
    assert rec["regimens"][0]["regimen_id"] == "haic_folfox"
    assert statuses(rec)["haic_irinotecan"] == "caution"
    assert reasons(rec, "haic_irinotecan", "dose_adjustment")
    assert rec["pgx"]["DPYD"]["status"] == "assessed"


def test_demo07_breast_multiallelic_prior_paclitaxel(demo):
    # PIK3CA E545K/E545Q come from one multi-allelic record; no HAIC drug has a PIK3CA row. The
    # breast regimens lead; HAI paclitaxel, on which the disease progressed, is a caution.
    # A variant-only file with nothing at the DPYD positions: DPYD not assessed, so every
    # fluoropyrimidine regimen is at most a caution, with DPD testing before the first dose.
    rec = recommendation(demo, "DEMO07")
    assert rec["regimens"][0]["regimen_id"] == "hai_fluorouracil_doxorubicin_mitomycin"
    assert rec["pgx"]["DPYD"]["status"] == "not_assessed"
    assert statuses(rec)["hai_fluorouracil_doxorubicin_mitomycin"] == "caution"
    assert "test DPYD" in rec["summary"]
    assert statuses(rec)["hai_paclitaxel"] == "caution"


def test_demo08_progressed_on_oxaliplatin_and_fluorouracil(demo):
    # Oxaliplatin and fluorouracil failed: every regimen containing either is a caution with a
    # prior_failure reason and a penalty per failed drug. KRAS G13D lowers HAI FUDR. HAI irinotecan
    # leads; raltitrexed also needs a 50% dose at CrCl 48 mL/min.
    rec = recommendation(demo, "DEMO08")
    assert rec["regimens"][0]["regimen_id"] == "haic_irinotecan"
    for regimen in rec["regimens"]:
        failed = {"oxaliplatin", "fluorouracil"} & set(regimen["drugs"])
        if failed:
            assert regimen["status"] == "caution"
            texts = " ".join(r["text"] for r in regimen["reasons"] if r["kind"] == "prior_failure")
            assert all(drug in texts for drug in failed)
    assert any(
        r["kb_ids"] == ["RALTITREXED-CRCL-25_54"]
        for r in reasons(rec, "haic_raltitrexed_oxaliplatin", "renal")
    )


def test_demo09_nothing_actionable(demo):
    # The BRAF and KRAS hotspots fail QC (FILTER weak_evidence; depth 12 < 20), DPYD c.1627A>G is
    # normal function: nothing changes the default order for "other" primaries.
    rec = recommendation(demo, "DEMO09")
    assert rec["regimens"][0]["regimen_id"] == "haic_folfox"
    assert set(statuses(rec).values()) == {"recommended"}
    assert rec["pgx"]["DPYD"]["activity_score"] == 2.0
    assert rec["qc"]["filtered"].get("filter_not_pass", 0) >= 1
    assert rec["qc"]["filtered"].get("low_depth", 0) >= 1
    assert "no genetic finding" in rec["summary"]


def test_demo10_ugt1a1_star6_star28_from_bcf(demo):
    # A BCF input; UGT1A1 *6/*28 (two decreased-function alleles) is a poor metabolizer.
    # The *27 position has no call in this variant-only file: the call is indeterminate, and what
    # was found already makes a poor metabolizer.
    rec = recommendation(demo, "DEMO10")
    ugt = rec["pgx"]["UGT1A1"]
    assert (ugt["status"], ugt["diplotype"]) == ("indeterminate", "*6/*28")
    assert ugt["phenotype"] == "Indeterminate (at least Poor Metabolizer)"
    assert statuses(rec)["haic_irinotecan"] == "caution"
    assert reasons(rec, "haic_irinotecan", "dose_adjustment")
