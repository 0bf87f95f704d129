"""Property tests: every clinical invariant of CONTRACT section 4 holds with the bundled knowledge,
over random pharmacogenomic calls, tumour variants, histories, renal function and primary sites."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from invariants import invariant_violations

from haicgx import vocab
from haicgx.consequence import Annotation
from haicgx.genotype import SampleCall
from haicgx.match import Variant, match_variant
from haicgx.pgx import DPYD, UGT1A1, PgxCollector
from haicgx.rank import PatientContext, rank_regimens
from haicgx.settings import ranking_weights

WEIGHTS = ranking_weights()
GENOTYPES = [(0, 1), (1, 1), (1, 0)]
TUMOUR_EVENTS = [
    ("KRAS", "p.G12D", "missense_variant"),
    ("KRAS", "p.G13D", "missense_variant"),
    ("KRAS", "p.Q61H", "missense_variant"),
    ("BRCA2", "p.E1593*", "stop_gained"),
    ("BRCA1", "p.Q1756fs", "frameshift_variant"),
    ("PALB2", "p.R414*", "stop_gained"),
    ("ATM", "p.R35*", "stop_gained"),
    ("MLH1", "p.R226*", "stop_gained"),
    ("TP53", "p.R175H", "missense_variant"),
    ("BRAF", "p.V600E", "missense_variant"),
]


def allele_keys(kb, gene):
    return [
        (f"chr{r.alteration.chrom}", r.alteration.pos, r.alteration.ref, r.alteration.alt)
        for r in kb.allele_rows(gene, "GRCh38")
    ]


@st.composite
def patients(draw, kb):
    dpyd = draw(
        st.lists(
            st.tuples(st.sampled_from(allele_keys(kb, DPYD)), st.sampled_from(GENOTYPES)),
            max_size=3,
        )
    )
    ugt = draw(
        st.lists(
            st.tuples(st.sampled_from(allele_keys(kb, UGT1A1)), st.sampled_from(GENOTYPES)),
            max_size=3,
        )
    )
    assessed = draw(st.booleans())
    events = draw(st.lists(st.sampled_from(TUMOUR_EVENTS), max_size=4, unique=True))
    prior = draw(
        st.sets(
            st.sampled_from(
                sorted(d for d in vocab.DRUGS if d not in ("camrelizumab", "bevacizumab"))
            )
        )
    )
    crcl = draw(st.one_of(st.none(), st.floats(min_value=10, max_value=150)))
    site = draw(st.sampled_from(vocab.PRIMARY_SITES))
    liver = draw(
        st.tuples(
            st.one_of(st.none(), st.floats(min_value=0.2, max_value=6)),
            st.one_of(st.none(), st.sampled_from(["A5", "A6", "B7", "B9", "C10", "C15"])),
        )
    )
    return dpyd, ugt, assessed, events, sorted(prior), (crcl, *liver), site


def recommend(kb, dpyd, ugt, assessed, events, prior, crcl, site):
    collector = PgxCollector(kb, "GRCh38")
    calls = list(dpyd) + list(ugt)
    if assessed:  # reference calls at every allele position: a fully genotyped file
        for chrom, pos in collector.position_names:
            collector.mark_read(chrom, pos, SampleCall((0, 0), depth=40))
    for (chrom, pos, ref, alt), gt in calls:
        collector.offer(chrom=chrom, pos=pos, ref=ref, alt=alt, filters=[],
                        germline=SampleCall(gt, vaf=0.5 * sum(gt), depth=80))  # fmt: skip
    pgx = collector.call()
    matches = []
    for gene, protein, consequence in events:
        variant = Variant("chr1", 1000, "C", "T", (Annotation(gene, consequence, "ENST", protein),),
                          "0/1", 1, 100, 30, 0.3)  # fmt: skip
        matches += match_variant(variant, kb, build="GRCh38", primary_site=site)
    values = crcl if isinstance(crcl, tuple) else (crcl, None, None)
    ranked = rank_regimens(kb, patient=PatientContext(site, tuple(prior), *values), matches=matches,
                           pgx=pgx, weights=WEIGHTS)  # fmt: skip
    return {
        "regimens": [r.as_dict() for r in ranked],
        "pgx": {gene: call.as_dict() for gene, call in pgx.items()},
        "prior_drugs": prior,
    }, ranked


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_invariants_hold_for_random_patients(bundled_kb, data):
    case = data.draw(patients(bundled_kb))
    rec, ranked = recommend(bundled_kb, *case)
    assert invariant_violations(rec) == []
    regimen_ids = [r["regimen_id"] for r in rec["regimens"]]
    assert sorted(regimen_ids) == sorted(r.regimen_id for r in bundled_kb.regimens)
    known = (
        set(bundled_kb.by_id)
        | {r.kb_id for r in bundled_kb.drug_rules}
        | set(bundled_kb.cautions_by_id)
    )
    for item in ranked:
        for reason in item.reasons:
            assert set(reason.kb_ids) <= known, "a reason cites a row that does not exist"
            if reason.kind in ("sensitivity", "resistance", "dose_adjustment", "renal"):
                assert reason.kb_ids, f"a {reason.kind} reason must name its knowledge rows"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_raltitrexed_is_never_contraindicated_by_dpyd(bundled_kb, data):
    dpyd, ugt, _, events, _, _, site = data.draw(patients(bundled_kb))
    rec, _ = recommend(bundled_kb, dpyd, ugt, True, events, [], None, site)
    with_raltitrexed = [r for r in rec["regimens"] if "raltitrexed" in r["drugs"]]
    assert with_raltitrexed  # every regimen is listed, and the bundled set has raltitrexed ones
    for regimen in with_raltitrexed:
        assert regimen["status"] != "contraindicated" or (
            "oxaliplatin" in regimen["drugs"]
            and any(r["kind"] == "renal" for r in regimen["reasons"])
        )
        for reason in regimen["reasons"]:
            assert not any(i.startswith("DPYD") for i in reason["kb_ids"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.data(),
    st.sampled_from(sorted(d for d in vocab.DRUGS if d not in ("camrelizumab", "bevacizumab"))),
)
def test_a_prior_drug_never_raises_a_rank(bundled_kb, data, added):
    dpyd, ugt, assessed, events, prior, crcl, site = data.draw(patients(bundled_kb))
    _, before = recommend(
        bundled_kb, dpyd, ugt, assessed, events, [p for p in prior if p != added], crcl, site
    )
    _, after = recommend(
        bundled_kb, dpyd, ugt, assessed, events, sorted({*prior, added}), crcl, site
    )
    rank_before = {r.regimen.regimen_id: r.rank for r in before}
    for item in after:
        if added in item.regimen.drugs:
            assert item.rank >= rank_before[item.regimen.regimen_id]
            assert any(r.kind == "prior_failure" and added in r.text for r in item.reasons)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_an_inference_row_never_changes_the_order(bundled_kb, data):
    dpyd, ugt, assessed, events, prior, crcl, site = data.draw(patients(bundled_kb))
    _, ranked = recommend(bundled_kb, dpyd, ugt, assessed, events, prior, crcl, site)
    without = inference_free(bundled_kb)
    _, plain = recommend(without, dpyd, ugt, assessed, events, prior, crcl, site)
    assert [r.regimen.regimen_id for r in ranked] == [r.regimen.regimen_id for r in plain]


def inference_free(kb):
    """The bundled knowledge without its inference-grade tumour-marker and toxicity rows."""
    from dataclasses import replace

    rows = [
        r
        for r in kb.rows
        if not (r.evidence_level == "inference" and r.effect in ("sensitivity", "resistance"))
    ]
    assert len(rows) < len(kb.rows)  # the bundled table has such rows to remove
    return replace(kb, rows=rows)
