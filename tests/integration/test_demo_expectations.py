"""What a tumour board should see for each demo patient, with the reasoning beside it.

These are the expected results of the bundled knowledge set and the ranking model of
docs/ranking.md on the demo cohort (resources/demo/README.md lists each patient's variants): site
evidence first, then failed drug classes, then tumour markers of sufficient grade, then
tolerability, then the site's base order. When the knowledge or the model changes on purpose,
update the expectation and its reasoning together.
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


def regimen(rec, regimen_id):
    return next(r for r in rec["regimens"] if r["regimen_id"] == regimen_id)


def reasons(rec, regimen_id, kind):
    return [r for r in regimen(rec, regimen_id)["reasons"] if r["kind"] == kind]


def finding_kinds(rec):
    return {(f["kind"], f["gene"]) for f in rec["findings"]}


def order(rec):
    return [r["regimen_id"] for r in rec["regimens"]]


FLUOROURACIL_REGIMENS = {
    "haic_folfox",
    "hai_oxaliplatin_lv5fu2",
    "haic_cisplatin_fluorouracil",
    "hai_floxuridine_systemic",
    "hai_fluorouracil_epirubicin",
    "hai_fluorouracil_doxorubicin_mitomycin",
}
FLOXURIDINE_REGIMENS = {
    "hai_floxuridine",
    "hai_floxuridine_systemic",
    "hai_floxuridine_capecitabine",
    "hai_floxuridine_modern_systemic",
    "hai_floxuridine_gemox",
    "hai_oxaliplatin_floxuridine_s1",
}


def test_demo01_kras_g12d_colorectal(demo):
    # Colorectal: HAIC-FOLFOX and TOMOX-HAI have randomised data (one trial against each other)
    # and nothing against them: tied, the base order puts HAIC-FOLFOX first. The HAI floxuridine
    # regimens also have randomised data but carry the bevacizumab biliary-toxicity caution (every
    # arm of this trial gives bevacizumab), so they follow; KRAS G12D adds a cohort-grade
    # resistance reason to them. DPYD c.85T>C is normal function: every position was called, a
    # normal metabolizer; UGT1A1 *1/*28 needs no irinotecan change (DPWG).
    rec = recommendation(demo, "DEMO01")
    top = rec["regimens"][0]
    assert (top["regimen_id"], top["status"], top["site_evidence"]) == (
        "haic_folfox",
        "recommended",
        "randomised",
    )
    assert top["tied_with"] == ["haic_raltitrexed_oxaliplatin"]
    assert rec["pgx"]["DPYD"]["status"] == "assessed"
    assert rec["pgx"]["DPYD"]["phenotype"] == "Normal Metabolizer"
    assert rec["pgx"]["UGT1A1"]["diplotype"] == "*1/*28"
    assert reasons(rec, "hai_floxuridine", "resistance")
    for regimen_id in FLOXURIDINE_REGIMENS:
        assert any(
            "FUDR-HAI-BEVACIZUMAB-BILIARY" in r["kb_ids"]
            for r in reasons(rec, regimen_id, "toxicity")
        )
    assert order(rec).index("haic_folfox") < order(rec).index("hai_floxuridine")


def test_demo02_hapb3_heterozygous(demo):
    # Tumour/normal file: the germline genotype is read from the normal sample. HapB3
    # heterozygous (causal intronic and exonic proxy both present, counted once): score 1.5, every
    # PharmCAT position called. A dose adjustment is not a worse regimen: HAIC-FOLFOX stays first
    # (a caution, fluorouracil at 50%), tied with TOMOX-HAI (raltitrexed is not a DPD substrate:
    # recommended). The tegafur (S-1) regimen is a caution (DPWG: avoid tegafur or start low).
    rec = recommendation(demo, "DEMO02")
    assert ("targetable", "BRAF") in finding_kinds(rec)  # BRAF V600E: BEACON, ranks nothing
    dpyd = rec["pgx"]["DPYD"]
    assert (dpyd["status"], dpyd["activity_score"], dpyd["genotype_source"]) == (
        "assessed",
        1.5,
        "normal",
    )
    assert dpyd["positions_missing"] == 0
    assert order(rec)[:2] == ["haic_folfox", "haic_raltitrexed_oxaliplatin"]
    st = statuses(rec)
    assert st["haic_folfox"] == "caution"
    assert st["haic_raltitrexed_oxaliplatin"] == "recommended"
    assert st["hai_oxaliplatin_floxuridine_s1"] == "caution"
    assert reasons(rec, "hai_oxaliplatin_floxuridine_s1", "dose_adjustment")
    for regimen_id in FLUOROURACIL_REGIMENS:
        assert st[regimen_id] == "caution"
        assert any("50%" in r["text"] for r in reasons(rec, regimen_id, "dose_adjustment"))


def test_demo03_brca2_pancreatic(demo):
    # Pancreatic: only HAI floxuridine has published hepatic-arterial data (a retrospective
    # propensity-matched series), so it leads, a caution for the bevacizumab biliary toxicity.
    # BRCA2 E1593* makes platinum the sensitive class (cohort grade, pancreatic): it raises the
    # platinum regimens among those without pancreatic data, never above the one with data.
    # Gemcitabine failed before. The PGx positions come as gVCF <NON_REF> blocks: trimmed, and
    # they count as reference calls.
    rec = recommendation(demo, "DEMO03")
    top = rec["regimens"][0]
    assert (top["regimen_id"], top["site_evidence"]) == ("hai_floxuridine", "retrospective")
    folfox = regimen(rec, "haic_folfox")
    assert folfox["site_evidence"] == "none" and folfox["score"] > 0
    assert any("BRCA2" in r["text"] for r in reasons(rec, "haic_folfox", "sensitivity"))
    assert statuses(rec)["haic_gemox"] == "caution"
    assert reasons(rec, "haic_gemox", "prior_failure")
    assert rec["pgx"]["DPYD"]["status"] == "assessed"
    assert any("<NON_REF>" in w for w in rec["qc"]["warnings"])
    # E1593* at allele fraction 0.42, as a germline allele would show: a referral, not a rank
    assert ("germline_referral", "BRCA2") in finding_kinds(rec)


def test_demo04_dpyd_star2a_heterozygous_gastric(demo):
    # DPYD *2A heterozygous in the normal sample, lost in the tumour (1p loss): the germline call
    # is the normal's, activity score 1, and the loss is noted. Read from the tumour alone this
    # patient would look like a normal metabolizer. Gastric: the HAI oxaliplatin + FUDR + S-1
    # series (retrospective) leads although oxaliplatin failed before (a hepatic-arterial
    # re-challenge, stated); S-1 needs a low start (DPWG), FUDR a DPD caution (inference).
    rec = recommendation(demo, "DEMO04")
    dpyd = rec["pgx"]["DPYD"]
    assert (dpyd["activity_score"], dpyd["phenotype"]) == (1.0, "Intermediate Metabolizer")
    assert dpyd["genotype_source"] == "normal"
    assert any("loss of heterozygosity" in n for n in dpyd["notes"])
    top = rec["regimens"][0]
    assert (top["regimen_id"], top["status"]) == ("hai_oxaliplatin_floxuridine_s1", "caution")
    assert top["failed_classes"] == 1
    assert reasons(rec, "hai_oxaliplatin_floxuridine_s1", "dose_adjustment")
    assert reasons(rec, "hai_oxaliplatin_floxuridine_s1", "prior_failure")
    assert statuses(rec)["haic_folfox"] == "caution"
    assert any("50%" in r["text"] for r in reasons(rec, "haic_folfox", "dose_adjustment"))


def test_demo05_dpyd_poor_metabolizer_biliary(demo):
    # *2A + *13, both no function, in a variant-only file: 2 of the DPYD allele positions were
    # called, so the call is indeterminate, but what was found already gives activity score 0.
    # Every fluorouracil, capecitabine or tegafur regimen is contraindicated; the floxuridine
    # regimens are cautions (an inference, never a guideline rule), and HAI floxuridine with
    # systemic GEMOX, the regimen with the strongest biliary data (phase 2, n=38), leads.
    # GEMOX-HAIC has no published schedule: a caution, after every regimen with data.
    rec = recommendation(demo, "DEMO05")
    assert rec["pgx"]["DPYD"]["status"] == "indeterminate"
    assert rec["pgx"]["DPYD"]["activity_score"] == 0.0
    top = rec["regimens"][0]
    assert (top["regimen_id"], top["site_evidence"]) == ("hai_floxuridine_gemox", "prospective")
    st = statuses(rec)
    for regimen_id in FLUOROURACIL_REGIMENS | {"hai_oxaliplatin_floxuridine_s1"}:
        assert st[regimen_id] == "contraindicated"
    assert st["hai_floxuridine"] == "caution" and st["hai_floxuridine_gemox"] == "caution"
    assert st["haic_gemox"] == "caution"
    assert st["haic_raltitrexed_oxaliplatin"] != "contraindicated"


def test_demo06_ugt1a1_poor_metabolizer_hcc(demo):
    # *28 written as a right-shifted insertion in the TA repeat with Mutect2's placeholder GT 0/1
    # at allele fraction 0.98: the lower-activity reading is homozygous, *28/*28, a poor
    # metabolizer, and a note gives the heterozygous alternative. Irinotecan becomes a caution
    # with a reduced starting dose. HCC: HAIC-FOLFOX, HAIC cisplatin-fluorouracil and HAIC cisplatin
    # all have randomised data and nothing against them: tied, in the base order.
    rec = recommendation(demo, "DEMO06")
    ugt = rec["pgx"]["UGT1A1"]
    assert (ugt["status"], ugt["diplotype"]) == ("assessed", "*28/*28")
    assert any("lower-activity reading" in n and "*1/*28" in n for n in ugt["notes"])
    assert order(rec)[:3] == ["haic_folfox", "haic_cisplatin_fluorouracil", "haic_cisplatin"]
    assert rec["regimens"][0]["tied_with"] == ["haic_cisplatin_fluorouracil", "haic_cisplatin"]
    assert statuses(rec)["haic_irinotecan"] == "caution"
    assert reasons(rec, "haic_irinotecan", "dose_adjustment")
    assert rec["pgx"]["DPYD"]["status"] == "assessed"


def test_demo07_breast_multiallelic_prior_paclitaxel(demo):
    # PIK3CA E545K/E545Q come from one multi-allelic record; no HAIC drug has a PIK3CA row. The
    # breast regimens lead by their breast data. A variant-only file with nothing at the DPYD
    # positions: DPYD not assessed, so every fluoropyrimidine regimen is at most a caution, with
    # DPD testing before the first dose. HAI paclitaxel, on which the disease progressed, is a
    # caution with a failed class.
    rec = recommendation(demo, "DEMO07")
    assert order(rec)[:3] == [
        "hai_fluorouracil_doxorubicin_mitomycin",
        "hai_fluorouracil_epirubicin",
        "hai_paclitaxel",
    ]
    assert rec["pgx"]["DPYD"]["status"] == "not_assessed"
    assert ("targetable", "PIK3CA") in finding_kinds(rec)  # SOLAR-1 (breast)
    assert statuses(rec)["hai_fluorouracil_doxorubicin_mitomycin"] == "caution"
    assert "test DPYD" in rec["summary"]
    assert regimen(rec, "hai_paclitaxel")["failed_classes"] == 1


def test_demo08_progressed_on_oxaliplatin_and_fluorouracil(demo):
    # Oxaliplatin and fluorouracil failed: every regimen containing either is a caution with a
    # prior_failure reason. Among the randomised colorectal regimens TOMOX-HAI re-challenges one
    # failed class (oxaliplatin; HEARTO enrolled exactly such refractory patients) and leads, with
    # the Tomudex label's caution after fluorouracil failure and a 50% renal dose at CrCl 48. The
    # HAI floxuridine regimens re-challenge the fluoropyrimidine class; HAIC-FOLFOX, both classes,
    # follows them.
    rec = recommendation(demo, "DEMO08")
    top = rec["regimens"][0]
    assert (top["regimen_id"], top["failed_classes"]) == ("haic_raltitrexed_oxaliplatin", 1)
    assert any("Tomudex SmPC" in r["text"] for r in top["reasons"])
    assert any(
        r["kb_ids"] == ["RALTITREXED-CRCL-25_54"]
        for r in reasons(rec, "haic_raltitrexed_oxaliplatin", "renal")
    )
    assert regimen(rec, "haic_folfox")["failed_classes"] == 2
    assert order(rec).index("hai_floxuridine") < order(rec).index("haic_folfox")
    with_failed = [
        (item, {"oxaliplatin", "fluorouracil"} & set(item["drugs"])) for item in rec["regimens"]
    ]
    with_failed = [(item, failed) for item, failed in with_failed if failed]
    assert len(with_failed) >= 2  # haic_raltitrexed_oxaliplatin and haic_folfox at least
    for item, failed in with_failed:
        assert item["status"] in ("caution", "contraindicated")
        texts = " ".join(r["text"] for r in item["reasons"] if r["kind"] == "prior_failure")
        assert all(drug in texts for drug in failed)


def test_demo09_nothing_actionable(demo):
    # The BRAF and KRAS hotspots fail QC (FILTER weak_evidence; depth 12 < 20), DPYD c.1627A>G is
    # normal function with every position called. "Other" primaries have no published
    # hepatic-arterial data for any regimen: every regimen is a caution, all tied, in the base
    # order; nothing genetic changes it.
    rec = recommendation(demo, "DEMO09")
    assert rec["regimens"][0]["regimen_id"] == "haic_folfox"
    assert {r["site_evidence"] for r in rec["regimens"]} == {"none"}
    assert set(statuses(rec).values()) == {"caution"}
    assert rec["pgx"]["DPYD"]["activity_score"] == 2.0
    assert rec["qc"]["filtered"].get("filter_not_pass", 0) >= 1
    assert rec["qc"]["filtered"].get("low_depth", 0) >= 1
    assert "no genetic finding" in rec["summary"]


def test_demo10_ugt1a1_star6_star28_from_bcf(demo):
    # The *27 position has no call in this variant-only BCF: the UGT1A1 call is indeterminate, and
    # what was found already makes a poor metabolizer. DPYD has no call at its positions: not
    # assessed, so HAIC-FOLFOX (first, tied with TOMOX-HAI) needs DPD testing before the first
    # dose, and the summary says so.
    rec = recommendation(demo, "DEMO10")
    ugt = rec["pgx"]["UGT1A1"]
    assert (ugt["status"], ugt["diplotype"]) == ("indeterminate", "*6/*28")
    assert ugt["phenotype"] == "Indeterminate (at least Poor Metabolizer)"
    assert statuses(rec)["haic_irinotecan"] == "caution"
    assert reasons(rec, "haic_irinotecan", "dose_adjustment")
    assert rec["regimens"][0]["regimen_id"] == "haic_folfox"
    assert "test DPYD" in rec["summary"]
