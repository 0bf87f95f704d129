"""Property tests, one per rule of docs/ranking.md, over random patients and the bundled knowledge.

Each test states the rule as the board reads it and checks it from outside the scorer: by
re-deriving the term from the knowledge files, or by changing one thing about the patient (or the
knowledge) and checking that only what the rule allows moves."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from random_patients import TUMOUR_EVENTS, allele_keys, order, patients, rank

from haicgx import vocab
from haicgx.knowledge import SITE_EVIDENCE_LEVELS
from haicgx.pgx import DPYD, UGT1A1
from haicgx.rank import COUNTED_LEVELS
from haicgx.vocab import USABLE_STATUSES

RANDOM = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def usable(ranked) -> set[str]:
    return {r.regimen.regimen_id for r in ranked if r.status in USABLE_STATUSES}


@RANDOM
@given(st.data())
def test_site_evidence_is_the_regimens_own_and_orders_first(bundled_kb, data):
    """Term 1: the evidence comes from regimens.yaml for the site, whatever the patient; among
    usable regimens a stronger level always ranks higher; a regimen without data is a caution."""
    p = data.draw(patients(bundled_kb))
    _, ranked = rank(bundled_kb, p)
    strength = []
    for item in ranked:
        assert item.site_evidence == item.regimen.evidence_in(p.site)
        if item.status in USABLE_STATUSES:
            strength.append(SITE_EVIDENCE_LEVELS.index(item.site_evidence))
            if item.site_evidence == "none":
                assert item.status == "caution"
    assert strength == sorted(strength)
    statuses = [item.status in USABLE_STATUSES for item in ranked]
    assert statuses == sorted(statuses, reverse=True)  # usable first, then contraindicated


def failure_unit(drug: str) -> str:
    return "fluoropyrimidine" if vocab.DRUGS[drug] == "fluoropyrimidine" else drug


@RANDOM
@given(st.data())
def test_failed_drug_classes_order_within_an_evidence_level(bundled_kb, data):
    """Term 2: the count of the regimen's active drug classes the disease progressed on (the
    fluoropyrimidines one class), fewer first among usable regimens of equal evidence."""
    p = data.draw(patients(bundled_kb))
    _, ranked = rank(bundled_kb, p)
    failed_units = {failure_unit(d) for d in p.prior}
    for item in ranked:
        active = {
            failure_unit(d)
            for d in item.regimen.drugs
            if vocab.DRUGS[d] not in vocab.SUPPORTIVE_CLASSES
        }
        assert item.failed_classes == len(active & failed_units)
    keys = [
        (SITE_EVIDENCE_LEVELS.index(r.site_evidence), r.failed_classes)
        for r in ranked
        if r.status in USABLE_STATUSES
    ]
    assert keys == sorted(keys)


@RANDOM
@given(st.data())
def test_a_prior_failure_is_a_re_challenge_never_an_exclusion(bundled_kb, data):
    """Failure never makes a regimen contraindicated: the same regimens are usable with and
    without the history, each failed drug named in a prior_failure reason."""
    p = data.draw(patients(bundled_kb))
    _, with_history = rank(bundled_kb, p)
    _, without = rank(bundled_kb, p.but(prior=()))
    assert usable(with_history) == usable(without)


def without_rows(kb, drop):
    rows = [r for r in kb.rows if not drop(r)]
    return replace(kb, rows=rows), len(kb.rows) - len(rows)


@RANDOM
@given(st.data())
def test_markers_below_the_counted_grades_never_change_the_order(bundled_kb, data):
    """Term 3: only guideline, trial and cohort rows count; inference, case-report and
    preclinical marker rows are listed and never move a regimen."""
    kb, removed = without_rows(
        bundled_kb,
        lambda r: (
            r.effect in ("sensitivity", "resistance") and r.evidence_level not in COUNTED_LEVELS
        ),
    )
    assert removed >= 3  # the bundled table has such rows
    p = data.draw(patients(bundled_kb))
    _, ranked = rank(bundled_kb, p)
    _, plain = rank(kb, p)
    assert order(ranked) == order(plain)


@RANDOM
@given(st.data())
def test_marker_rows_of_another_site_never_change_the_order(bundled_kb, data):
    """Term 3: a row counts only in a tumour context that fits the patient."""
    p = data.draw(patients(bundled_kb))
    kb, _ = without_rows(
        bundled_kb,
        lambda r: (
            r.effect in ("sensitivity", "resistance")
            and "any" not in r.tumour_context
            and p.site not in r.tumour_context
        ),
    )
    _, ranked = rank(bundled_kb, p)
    _, plain = rank(kb, p)
    assert order(ranked) == order(plain)


@RANDOM
@given(st.data())
def test_no_marker_leaves_the_order_to_evidence_failure_tolerability_and_base(bundled_kb, data):
    """Without tumour variants the marker term is zero for every regimen."""
    p = data.draw(patients(bundled_kb)).but(events=())
    _, ranked = rank(bundled_kb, p)
    assert all(r.markers == 0 for r in ranked)


@RANDOM
@given(st.data(), st.sampled_from(["BRCA2 p.K3326*", "BRCA2 p.E3309*"]))
def test_benign_and_decay_escaping_truncations_count_as_nothing(bundled_kb, data, label):
    """Known benign truncations and stops in a last exon are not loss of function: adding one
    never changes the order or the marker term."""
    p = data.draw(patients(bundled_kb))
    plain = tuple(e for e in p.events if f"{e[0]} {e[1]}" != label)
    added = plain + tuple(e for e in TUMOUR_EVENTS if f"{e[0]} {e[1]}" == label)
    _, before = rank(bundled_kb, p.but(events=plain))
    _, after = rank(bundled_kb, p.but(events=added))
    assert order(before) == order(after)
    assert [r.markers for r in before] == [r.markers for r in after]


def normal_pgx(p):
    return p.but(dpyd=(), ugt=(), assessed=True)


@RANDOM
@given(st.data())
def test_a_dose_adjustment_never_moves_a_regimen(bundled_kb, data):
    """A guideline dose change (DPYD activity 1-1.5, UGT1A1 poor metabolizer, a renal or hepatic
    dose band) makes a regimen a caution with its dose, never a worse place: among regimens usable
    either way, the order is the order of the same patient with normal pharmacogenes and no
    renal or hepatic values."""
    p = data.draw(patients(bundled_kb))
    _, ranked = rank(bundled_kb, p)
    _, plain = rank(bundled_kb, normal_pgx(p).but(crcl=None, bilirubin=None, child_pugh=None))
    both = usable(ranked) & usable(plain)
    assert order(ranked, both) == order(plain, both)
    for item in ranked:
        if any(r.kind == "dose_adjustment" for r in item.reasons):
            assert item.status != "recommended"


@RANDOM
@given(st.data())
def test_a_dpyd_decreased_function_allele_gives_a_caution_with_its_dose(bundled_kb, data):
    """One decreased-function DPYD allele (activity score 1 or 1.5): the fluoropyrimidine
    regimens of the guideline drugs stay usable, each with a 50% dose reason, in their place."""
    p = data.draw(patients(bundled_kb)).but(dpyd=(), crcl=None, bilirubin=None, child_pugh=None)
    keys = allele_keys(bundled_kb, DPYD)
    rows = {r.kb_id: r for r in bundled_kb.allele_rows(DPYD, "GRCh38")}
    decreased = [
        k
        for k, row in zip(keys, rows.values(), strict=True)
        if row.activity_value is not None and 0 < row.activity_value < 1
    ]
    key = data.draw(st.sampled_from(decreased))
    rec, ranked = rank(bundled_kb, p.but(dpyd=((key, (0, 1)),), assessed=True))
    # c.1236G>A alone is HapB3's proxy, read with its causal intronic allele
    assume(rec["pgx"]["DPYD"]["activity_score"] in (1.0, 1.5))
    _, plain = rank(bundled_kb, p.but(dpyd=(), assessed=True))
    assert order(ranked) == order(plain)
    for item in ranked:
        if set(item.regimen.drugs) & {"fluorouracil", "capecitabine", "tegafur"}:
            assert item.status == "caution"
            assert any(r.kind == "dose_adjustment" and "50%" in r.text for r in item.reasons)


@RANDOM
@given(st.data())
def test_a_missing_renal_or_hepatic_value_is_said_never_assumed_normal(bundled_kb, data):
    """Every drug rule that would read a value not given yields an advisory reason naming it."""
    p = data.draw(patients(bundled_kb)).but(crcl=None, bilirubin=None, child_pugh=None)
    _, ranked = rank(bundled_kb, p)
    for item in ranked:
        drugs = set(item.regimen.drugs)
        for rule in bundled_kb.drug_rules:
            if (rule.drug == "any" or rule.drug in drugs) and (
                not rule.sites or p.site in rule.sites
            ):
                assert any(
                    rule.kb_id in r.kb_ids and "not given" in r.text for r in item.reasons
                ), f"{item.regimen.regimen_id}: {rule.kb_id} silent without its value"


@RANDOM
@given(st.data())
def test_a_contraindicating_band_makes_the_regimen_contraindicated(bundled_kb, data):
    p = data.draw(patients(bundled_kb))
    _, ranked = rank(bundled_kb, p)
    values = {"crcl_ml_min": p.crcl, "bilirubin_x_uln": p.bilirubin, "child_pugh": p.child_pugh}
    for item in ranked:
        drugs = set(item.regimen.drugs)
        for rule in bundled_kb.drug_rules:
            value = values[rule.parameter]
            if (
                rule.action == "contraindication"
                and value is not None
                and (rule.drug == "any" or rule.drug in drugs)
                and (not rule.sites or p.site in rule.sites)
                and rule.applies(value)
            ):
                assert item.status == "contraindicated", (item.regimen.regimen_id, rule.kb_id)


@RANDOM
@given(st.data())
def test_ties_are_stated_both_ways_and_only_between_equals(bundled_kb, data):
    """Regimens equal on terms 1-4 (same status group) are tied, each naming the other; they
    sit next to each other, in the site's base order."""
    rec, ranked = rank(bundled_kb, data.draw(patients(bundled_kb)))
    by_id = {r["regimen_id"]: r for r in rec["regimens"]}
    for item in rec["regimens"]:
        for other_id in item.get("tied_with", []):
            other = by_id[other_id]
            assert item["regimen_id"] in other.get("tied_with", [])
            for key in ("site_evidence", "failed_classes", "score"):
                assert item[key] == other[key]
            assert (item["status"] in USABLE_STATUSES) == (other["status"] in USABLE_STATUSES)
        group = sorted([item["rank"], *(by_id[i]["rank"] for i in item.get("tied_with", []))])
        assert group == list(range(group[0], group[0] + len(group)))  # adjacent
    for a, b in pairwise(ranked):
        same_group = (a.status in USABLE_STATUSES) == (b.status in USABLE_STATUSES)
        if same_group and a.order_terms == b.order_terms:
            assert a.base_index <= b.base_index


@RANDOM
@given(st.data())
def test_a_ugt1a1_poor_metabolizer_keeps_irinotecan_in_place_with_its_dose(bundled_kb, data):
    p = data.draw(patients(bundled_kb)).but(crcl=None, bilirubin=None, child_pugh=None)
    star28 = [
        k
        for k, row in zip(
            allele_keys(bundled_kb, UGT1A1), bundled_kb.allele_rows(UGT1A1, "GRCh38"), strict=True
        )
        if "*28" in row.allele_name
    ]
    if not star28:
        raise AssertionError("the bundled table has no UGT1A1*28 row")
    rec, ranked = rank(bundled_kb, p.but(ugt=((star28[0], (1, 1)),), assessed=True))
    assert "Poor Metabolizer" in rec["pgx"]["UGT1A1"]["phenotype"]
    _, plain = rank(bundled_kb, p.but(ugt=(), assessed=True))
    assert order(ranked) == order(plain)
    for item in ranked:
        if "irinotecan" in item.regimen.drugs and item.regimen.regimen_id in usable(plain):
            assert item.status == "caution"
            assert any(r.kind == "dose_adjustment" for r in item.reasons)
