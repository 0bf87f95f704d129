"""Regimen ranking on the test knowledge set: statuses, reasons, order, invariants."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from test_pgx import DPYD_ALLELES, UGT, collect

from haicgx.consequence import Annotation
from haicgx.match import Variant, match_variant
from haicgx.qc import ReadSupport
from haicgx.rank import PatientContext, rank_regimens
from haicgx.settings import ranking_weights

WEIGHTS = ranking_weights()


def variant(
    gene, protein, consequence="missense_variant", chrom="chr12", pos=25245350, ref="C", alt="T"
):
    ann = Annotation(gene, consequence, "ENST1", protein)
    return Variant(chrom, pos, ref, alt, (ann,), "0/1", 1, ReadSupport(100, 30, 0.3, ""))


def ranked(
    kb,
    *,
    site="colorectal",
    variants=(),
    pgx_calls=(),
    prior=(),
    crcl=None,
    bilirubin=None,
    child_pugh=None,
):
    matches = [m for v in variants for m in match_variant(v, kb, build="GRCh38", primary_site=site)]
    pgx = collect(kb, list(pgx_calls) or [(DPYD_ALLELES["9A"][0], (0, 0)), (UGT["*6"], (0, 0))])
    out = rank_regimens(
        kb,
        patient=PatientContext(site, tuple(prior), crcl, bilirubin, child_pugh),
        matches=matches,
        pgx=pgx,
        weights=WEIGHTS,
    )
    return {r.regimen.regimen_id: r for r in out}, out


def test_site_evidence_orders_first_and_ties_are_said(mini_kb):
    by_id, ordered = ranked(mini_kb)
    # randomised: folfox and tomox (tied: only the base order separates them), then fudr, whose
    # bevacizumab biliary caution (clinical trial) costs tolerability; then case series; then none
    assert [r.regimen.regimen_id for r in ordered] == [
        "folfox",
        "tomox",
        "fudr",
        "irinotecan",
        "capox",
        "cisplatin",
    ]
    assert by_id["folfox"].tied_with == ["tomox"] and by_id["tomox"].tied_with == ["folfox"]
    assert by_id["irinotecan"].tied_with == ["capox"]
    assert by_id["folfox"].as_dict()["site_evidence"] == "randomised"
    assert by_id["fudr"].status == "caution"  # its regimen caution
    assert any(r.kb_ids == ["T-FUDR-BEV"] for r in by_id["fudr"].reasons)
    cisplatin = by_id["cisplatin"]  # no data in colorectal: at most a caution, said why
    assert (cisplatin.status, cisplatin.site_evidence) == ("caution", "none")
    assert any(r.kind == "context" and "hcc, pancreatic" in r.text for r in cisplatin.reasons)
    assert [r.rank for r in ordered] == list(range(1, len(ordered) + 1))


def test_a_dose_adjustment_is_a_caution_not_a_worse_place(mini_kb):
    _, plain = ranked(mini_kb)
    by_id, adjusted = ranked(mini_kb, pgx_calls=[(DPYD_ALLELES["2A"][0], (0, 1))])
    assert by_id["folfox"].status == "caution"
    assert [r.regimen.regimen_id for r in adjusted] == [r.regimen.regimen_id for r in plain]


def test_dpyd_poor_metabolizer_contraindicates_fluoropyrimidines_not_raltitrexed(mini_kb):
    calls = [(DPYD_ALLELES["2A"][0], (0, 1)), (DPYD_ALLELES["13"][0], (0, 1))]
    by_id, ordered = ranked(mini_kb, pgx_calls=calls)
    assert by_id["folfox"].status == "contraindicated"
    assert by_id["capox"].status == "contraindicated"
    assert by_id["fudr"].status == "caution"
    assert by_id["tomox"].status == "recommended"
    assert ordered[0].regimen.regimen_id == "tomox"
    reason = next(r for r in by_id["folfox"].reasons if r.kind == "toxicity")
    assert {"T-DPYD-PM-FU", "T-DPYD-2A", "T-DPYD-13"} <= set(reason.kb_ids)


def test_dpyd_intermediate_gives_50_percent_dose_adjustment(mini_kb):
    by_id, _ = ranked(mini_kb, pgx_calls=[(DPYD_ALLELES["2A"][0], (0, 1))])
    folfox = by_id["folfox"]
    assert folfox.status == "caution"
    dose = [r for r in folfox.reasons if r.kind == "dose_adjustment"]
    assert dose and "50%" in dose[0].text and "T-DPYD-IM-FU" in dose[0].kb_ids


def test_ugt1a1_poor_metabolizer_irinotecan_caution(mini_kb):
    by_id, _ = ranked(mini_kb, pgx_calls=[(UGT["*28"], (1, 1)), (DPYD_ALLELES["9A"][0], (0, 0))])
    assert by_id["irinotecan"].status == "caution"
    assert any(r.kind == "dose_adjustment" and "70%" in r.text for r in by_id["irinotecan"].reasons)


def test_prior_failure_is_stated_and_lowers_within_the_evidence_level(mini_kb):
    by_id, ordered = ranked(mini_kb, prior=["oxaliplatin"])
    folfox = by_id["folfox"]
    assert folfox.status == "caution" and folfox.failed_classes == 1
    assert any(r.kind == "prior_failure" and "oxaliplatin" in r.text for r in folfox.reasons)
    assert ordered[0].regimen.regimen_id == "fudr"  # randomised, nothing failed


def test_prior_failure_is_by_class(mini_kb):
    by_id, _ = ranked(mini_kb, prior=["capecitabine"])
    assert by_id["folfox"].failed_classes == 1  # fluorouracil: the fluoropyrimidine class failed
    assert any(
        r.kind == "prior_failure" and "capecitabine" in r.text and "fluoropyrimidine" in r.text
        for r in by_id["folfox"].reasons
    )
    assert any("Tomudex SmPC" in r.text for r in by_id["tomox"].reasons)  # label caution


def test_a_regimen_whose_active_drugs_all_failed_is_a_stated_rechallenge(mini_kb):
    by_id, _ = ranked(mini_kb, prior=["oxaliplatin", "fluorouracil"])
    folfox = by_id["folfox"]  # folinic acid is supportive, not active
    assert folfox.status == "caution"
    assert folfox.failed_classes == 2
    assert any("Every active drug class" in r.text for r in folfox.reasons)
    assert by_id["tomox"].status == "caution"


def test_sensitivity_evidence_raises_a_regimen(mini_kb):
    brca2 = variant(
        "BRCA2", "p.Q23*", consequence="stop_gained", chrom="chr13", pos=1, ref="C", alt="T"
    )
    by_id, ordered = ranked(mini_kb, site="pancreatic", variants=[brca2])
    assert ordered[0].regimen.regimen_id == "folfox"
    assert by_id["cisplatin"].score > 0
    # the same row from another site is listed, not counted
    elsewhere, _ = ranked(mini_kb, site="colorectal", variants=[brca2])
    assert elsewhere["folfox"].score == 0
    assert any(
        "not counted in the order: another site" in r.text for r in elsewhere["folfox"].reasons
    )
    reason = next(r for r in by_id["cisplatin"].reasons if r.kind == "sensitivity")
    assert reason.kb_ids == ["T-BRCA2-TRUNC"] and "gene match" in reason.text


def test_kras_resistance_to_floxuridine(mini_kb):
    by_id, _ = ranked(mini_kb, variants=[variant("KRAS", "p.G12D")])
    fudr = by_id["fudr"]
    # the cohort row counts (-0.5); the case-report row is listed only
    assert fudr.markers == -WEIGHTS["evidence_level"]["clinical_cohort"]
    assert {tuple(r.kb_ids) for r in fudr.reasons if r.kind == "resistance"} == {
        ("T-KRAS-G12",),
        ("T-KRAS-G12D",),
    }
    assert any("case report grade" in r.text for r in fudr.reasons)


def test_renal_rules(mini_kb):
    by_id, _ = ranked(mini_kb, crcl=20)
    assert by_id["tomox"].status == "contraindicated"
    by_id, _ = ranked(mini_kb, crcl=40)
    assert by_id["tomox"].status == "caution"
    assert any(
        r.kind == "renal" and r.kb_ids == ["T-RENAL-RALTI-55"] for r in by_id["tomox"].reasons
    )
    by_id, _ = ranked(mini_kb, crcl=None)
    assert any(r.kind == "renal" and "not given" in r.text for r in by_id["tomox"].reasons)
    # the 55-65 mL/min band includes 65 (Tomudex SmPC): full dose only above it
    at_65, _ = ranked(mini_kb, crcl=65)
    assert any(r.kb_ids == ["T-RENAL-RALTI-65"] for r in at_65["tomox"].reasons)
    above, _ = ranked(mini_kb, crcl=65.5)
    assert not any(r.kind == "renal" and not r.advisory for r in above["tomox"].reasons)


def test_hepatic_rules_and_child_pugh(mini_kb):
    by_id, _ = ranked(mini_kb, bilirubin=2.0)
    iri = by_id["irinotecan"]
    assert iri.status == "caution"
    assert any(r.kind == "dose_adjustment" and r.kb_ids == ["T-BILI-IRI-1P5"] for r in iri.reasons)
    by_id, _ = ranked(mini_kb, bilirubin=3.5)  # the most severe band that applies
    assert by_id["irinotecan"].status == "contraindicated"
    by_id, _ = ranked(mini_kb, bilirubin=None)
    assert any("Total bilirubin not given" in r.text for r in by_id["irinotecan"].reasons)
    by_id, _ = ranked(mini_kb, site="pancreatic", child_pugh="B7")
    assert not any("Child-Pugh" in r.text for r in by_id["folfox"].reasons)  # hcc only
    hcc, _ = ranked(mini_kb, site="hcc", child_pugh="B7")
    assert hcc["folfox"].status == "caution"
    assert any("Child-Pugh class B7" in r.text for r in hcc["folfox"].reasons)


DRUGS = [
    "oxaliplatin",
    "fluorouracil",
    "floxuridine",
    "raltitrexed",
    "cisplatin",
    "irinotecan",
    "capecitabine",
]
PGX = st.lists(
    st.tuples(st.sampled_from(sorted(DPYD_ALLELES)), st.sampled_from([(0, 1), (1, 1)])), max_size=3
)


@settings(max_examples=150, deadline=None)
@given(
    st.sets(st.sampled_from(DRUGS)),
    st.sampled_from(DRUGS),
    PGX,
    st.sampled_from(["colorectal", "pancreatic"]),
)
def test_a_prior_drug_never_raises_a_rank(mini_kb, prior, added, calls, site):
    pgx_calls = [(DPYD_ALLELES[n][0], gt) for n, gt in calls]
    before, _ = ranked(mini_kb, site=site, prior=sorted(prior), pgx_calls=pgx_calls)
    after, ordered = ranked(mini_kb, site=site, prior=sorted(prior | {added}), pgx_calls=pgx_calls)
    usable = [r for r in ordered if r.status in ("recommended", "caution")]
    unusable = [r for r in ordered if r.status not in ("recommended", "caution")]
    assert all(u.rank > v.rank for u in unusable for v in usable)
    for rid, item in after.items():
        if added in item.regimen.drugs:
            assert item.rank >= before[rid].rank
            assert any(r.kind == "prior_failure" and added in r.text for r in item.reasons)
