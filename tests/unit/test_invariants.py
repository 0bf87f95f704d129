"""Property tests: every clinical invariant of CONTRACT section 4 holds with the bundled knowledge,
over random pharmacogenomic calls, tumour variants, histories, renal function and primary sites."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from invariants import invariant_violations
from random_patients import TREATMENT_DRUGS, order, patients, rank

RANDOM = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_invariants_hold_for_random_patients(bundled_kb, data):
    rec, ranked = rank(bundled_kb, data.draw(patients(bundled_kb)))
    assert invariant_violations(rec) == []
    assert sorted(order(ranked)) == sorted(r.regimen_id for r in bundled_kb.regimens)
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


@RANDOM
@given(st.data())
def test_raltitrexed_is_never_contraindicated_by_dpyd(bundled_kb, data):
    p = data.draw(patients(bundled_kb)).but(assessed=True, prior=(), crcl=None)
    rec, _ = rank(bundled_kb, p.but(bilirubin=None, child_pugh=None))
    with_raltitrexed = [r for r in rec["regimens"] if "raltitrexed" in r["drugs"]]
    assert with_raltitrexed  # every regimen is listed, and the bundled set has raltitrexed ones
    for regimen in with_raltitrexed:
        assert regimen["status"] != "contraindicated"
        for reason in regimen["reasons"]:
            assert not any(i.startswith("DPYD") for i in reason["kb_ids"])


@RANDOM
@given(st.data(), st.sampled_from(TREATMENT_DRUGS))
def test_a_prior_drug_never_raises_a_rank(bundled_kb, data, added):
    p = data.draw(patients(bundled_kb))
    _, before = rank(bundled_kb, p.but(prior=tuple(d for d in p.prior if d != added)))
    _, after = rank(bundled_kb, p.but(prior=tuple(sorted({*p.prior, added}))))
    rank_before = {r.regimen.regimen_id: r.rank for r in before}
    for item in after:
        if added in item.regimen.drugs:
            assert item.rank >= rank_before[item.regimen.regimen_id]
            assert any(r.kind == "prior_failure" and added in r.text for r in item.reasons)
