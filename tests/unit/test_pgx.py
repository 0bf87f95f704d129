"""DPYD activity score and UGT1A1 diplotype from calls, with property tests of the CPIC rules."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from haicgx.pgx import DPYD, UGT1A1, PgxCollector

# (chrom, pos, ref, alt) of the test table's alleles, with their activity values
DPYD_ALLELES = {
    "2A": (("chr1", 97450058, "C", "T"), 0.0),
    "13": (("chr1", 97515787, "A", "C"), 0.0),
    "2846": (("chr1", 97082391, "T", "A"), 0.5),
    "HAPB3": (("chr1", 97579893, "G", "C"), 0.5),
    "9A": (("chr1", 97883329, "A", "G"), 1.0),
    "5": (("chr1", 97515839, "T", "C"), 1.0),
}
HAPB3_PROXY = ("chr1", 97573863, "C", "T")
UGT = {
    "*28": ("chr2", 233760233, "C", "CAT"),
    "*36": ("chr2", 233760233, "CAT", "C"),
    "*6": ("chr2", 233760498, "G", "A"),
    "*80": ("chr2", 233759924, "C", "T"),
}


def collect(kb, calls, *, phased=False, phase_set=None, vaf=0.5):
    collector = PgxCollector(kb, "GRCh38")
    for (chrom, pos, ref, alt), gt in calls:
        collector.offer(
            chrom=chrom,
            pos=pos,
            ref=ref,
            alt=alt,
            gt=gt,
            phased=phased,
            phase_set=phase_set,
            vaf=vaf,
            depth=100,
            filters=["PASS"],
        )
    return collector.call()


def test_no_call_in_gene_is_not_assessed(mini_kb):
    calls = collect(mini_kb, [(("chr12", 25245350, "C", "T"), (0, 1))])
    assert calls[DPYD].status == "not_assessed"
    assert calls[DPYD].activity_score is None
    assert calls[DPYD].phenotype == "Not assessed"
    assert calls[UGT1A1].status == "not_assessed"


def test_reference_call_assesses_normal(mini_kb):
    calls = collect(mini_kb, [(DPYD_ALLELES["2A"][0], (0, 0))])
    assert calls[DPYD].status == "assessed"
    assert calls[DPYD].activity_score == 2.0
    assert calls[DPYD].phenotype == "Normal Metabolizer"


def test_star2a_heterozygous_is_score_1(mini_kb):
    call = collect(mini_kb, [(DPYD_ALLELES["2A"][0], (0, 1))])[DPYD]
    assert call.activity_score == 1.0
    assert call.phenotype == "Intermediate Metabolizer"
    assert [r.kb_id for r in call.rules] == ["T-DPYD-IM-FU", "T-DPYD-FUDR"]


def test_two_unphased_lowest_alleles_presumed_in_trans(mini_kb):
    call = collect(mini_kb, [(DPYD_ALLELES["2A"][0], (0, 1)), (DPYD_ALLELES["2846"][0], (0, 1))])[
        DPYD
    ]
    assert call.activity_score == 0.5
    assert call.phenotype == "Poor Metabolizer"
    assert any("presumed in trans" in n for n in call.notes)


def test_phased_cis_alleles_leave_one_normal_copy(mini_kb):
    cis = [(DPYD_ALLELES["2A"][0], (1, 0)), (DPYD_ALLELES["2846"][0], (1, 0))]
    assert collect(mini_kb, cis, phased=True, phase_set=7)[DPYD].activity_score == 1.0
    trans = [(DPYD_ALLELES["2A"][0], (1, 0)), (DPYD_ALLELES["2846"][0], (0, 1))]
    assert collect(mini_kb, trans, phased=True, phase_set=7)[DPYD].activity_score == 0.5


def test_homozygous_no_function_is_zero(mini_kb):
    assert collect(mini_kb, [(DPYD_ALLELES["2A"][0], (1, 1))], vaf=1.0)[DPYD].activity_score == 0.0


def test_hapb3_proxy_counts_with_warning_and_not_twice(mini_kb):
    proxy_only = collect(mini_kb, [(HAPB3_PROXY, (0, 1))])[DPYD]
    assert proxy_only.activity_score == 1.5
    assert any("proxy" in n for n in proxy_only.notes)
    both = collect(mini_kb, [(HAPB3_PROXY, (0, 1)), (DPYD_ALLELES["HAPB3"][0], (0, 1))])[DPYD]
    assert both.activity_score == 1.5
    assert not any("proxy" in n for n in both.notes)


def test_hapb3_proxy_ignored_when_causal_is_reference(mini_kb):
    call = collect(mini_kb, [(HAPB3_PROXY, (0, 1)), (DPYD_ALLELES["HAPB3"][0], (0, 0))])[DPYD]
    assert call.activity_score == 2.0
    assert any("called reference" in n for n in call.notes)


def test_vaf_far_from_germline_is_flagged(mini_kb):
    call = collect(mini_kb, [(DPYD_ALLELES["2A"][0], (0, 1))], vaf=0.12)[DPYD]
    assert call.as_dict()["alleles"][0]["germline_check"] == "confirm"
    assert any("confirm in germline DNA" in n for n in call.notes)


genotypes = st.sampled_from([(0, 1), (1, 1), (0, 0)])
allele_names = st.sampled_from(sorted(DPYD_ALLELES))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(allele_names, genotypes, max_size=6))
def test_activity_score_is_sum_of_two_lowest_copies(mini_kb, called):
    calls = [(DPYD_ALLELES[name][0], gt) for name, gt in called.items()]
    call = collect(mini_kb, calls or [(DPYD_ALLELES["9A"][0], (0, 0))])[DPYD]
    values = sorted(v for name, gt in called.items() for v in [DPYD_ALLELES[name][1]] * sum(gt))
    expected = sum(([*values, 1.0, 1.0])[:2])
    assert call.activity_score == expected
    assert 0.0 <= call.activity_score <= 2.0


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(allele_names, genotypes, max_size=6), st.sampled_from(["9A", "5"]), genotypes
)
def test_normal_function_alleles_never_lower_the_score(mini_kb, called, normal, gt):
    base = [(DPYD_ALLELES[n][0], g) for n, g in called.items() if n != normal]
    before = collect(mini_kb, base or [(DPYD_ALLELES["9A"][0], (0, 0))])[DPYD].activity_score
    after = collect(mini_kb, [*base, (DPYD_ALLELES[normal][0], gt)])[DPYD].activity_score
    assert after == before


def test_ugt1a1_diplotypes(mini_kb):
    def diplotype(*calls):
        c = collect(mini_kb, list(calls))[UGT1A1]
        return c.diplotype, c.phenotype

    assert diplotype((UGT["*28"], (1, 1))) == ("*28/*28", "Poor Metabolizer")
    assert diplotype((UGT["*28"], (0, 1))) == ("*1/*28", "Intermediate Metabolizer")
    assert diplotype((UGT["*6"], (0, 1)), (UGT["*28"], (0, 1))) == ("*6/*28", "Poor Metabolizer")
    assert diplotype((UGT["*6"], (1, 1))) == ("*6/*6", "Poor Metabolizer")
    assert diplotype((UGT["*36"], (0, 1))) == ("*1/*36", "Normal Metabolizer")
    assert diplotype((UGT["*80"], (0, 1))) == ("*1/*80", "Indeterminate")
    assert diplotype((UGT["*80"], (0, 1)), (UGT["*28"], (0, 1))) == (
        "*1/*28",
        "Intermediate Metabolizer",
    )
    assert diplotype((UGT["*6"], (0, 0))) == ("*1/*1", "Normal Metabolizer")


def test_ugt1a1_poor_metabolizer_rule(mini_kb):
    call = collect(mini_kb, [(UGT["*28"], (1, 1))], vaf=1.0)[UGT1A1]
    assert [r.kb_id for r in call.rules] == ["T-UGT-PM-IRI"]
