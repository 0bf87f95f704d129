"""DPYD activity score and UGT1A1 diplotype from calls: CPIC rules, genotype edge cases of tumour
VCFs, TA-repeat spellings, germline flags, and property tests on the test and the bundled tables."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from haicgx.genotype import SampleCall, read_genotype
from haicgx.knowledge import KnowledgeBase, trim_allele
from haicgx.pgx import DPYD, UGT1A1, PgxCall, PgxCollector
from haicgx.qc import GERMLINE_HET, GERMLINE_HOM_MIN, germline_check

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


def offer(collector: PgxCollector, key: tuple, gt, **kw) -> None:
    chrom, pos, ref, alt = key
    alt_copies = sum(a == 1 for a in gt or ()) if gt and len(gt) == 2 else None
    vaf = {0: 0.0, 1: 0.5, 2: 1.0}.get(alt_copies, 0.5)  # reads that agree with the GT
    args = {"phased": False, "phase_set": None, "vaf": vaf, "depth": 100}
    args.update(kw)
    filters = args.pop("filters", ["PASS"])
    left_aligned = args.pop("left_aligned", False)
    call = SampleCall(gt, args["phased"], args["phase_set"], args["vaf"], args["depth"])
    collector.offer(
        chrom=chrom,
        pos=pos,
        ref=ref,
        alt=alt,
        germline=call,
        filters=filters,
        left_aligned=left_aligned,
    )


def genotype_panel(collector: PgxCollector, skip: set[tuple[str, int]]) -> None:
    """Reference calls at every allele position but `skip`: a file that genotyped them all."""
    for chrom, pos in collector.position_names:
        if (chrom, pos) not in skip:
            collector.mark_read(chrom, pos, SampleCall((0, 0), depth=30))


def collect(kb, calls, *, genotyped: bool = True, **kw) -> dict[str, PgxCall]:
    """Offer (key, gt) calls with shared keyword arguments; a third item overrides them.
    `genotyped`: every other allele position was called reference (a PharmCAT-style file)."""
    collector = PgxCollector(kb, "GRCh38")
    if genotyped:
        skip = set()
        for key, *_ in calls:
            pos, _, _ = trim_allele(key[1], key[2], key[3])
            skip |= {(key[0].removeprefix("chr"), key[1]), (key[0].removeprefix("chr"), pos)}
        genotype_panel(collector, skip)
    for call in calls:
        key, gt, *own = call
        offer(collector, key, gt, **{**kw, **(own[0] if own else {})})
    return collector.call()


def test_no_call_in_gene_is_not_assessed(mini_kb):
    calls = collect(mini_kb, [(("chr12", 25245350, "C", "T"), (0, 1))], genotyped=False)
    assert calls[DPYD].status == "not_assessed"
    assert calls[DPYD].activity_score is None
    assert calls[DPYD].phenotype == "Not assessed"
    assert calls[UGT1A1].status == "not_assessed"


def test_reference_call_assesses_normal(mini_kb):
    calls = collect(mini_kb, [(DPYD_ALLELES["2A"][0], (0, 0))])
    assert calls[DPYD].status == "assessed"
    assert calls[DPYD].activity_score == 2.0
    assert calls[DPYD].phenotype == "Normal Metabolizer"


def test_somatic_call_in_the_gene_is_no_genotyping(mini_kb):
    # A passenger inside DPYD, no record at any allele position: nothing was genotyped.
    call = collect(mini_kb, [(("chr1", 97500000, "G", "A"), (0, 1))], genotyped=False)[DPYD]
    assert (call.status, call.activity_score, call.phenotype) == (
        "not_assessed",
        None,
        "Not assessed",
    )
    assert any("allele-defining positions has a call" in n for n in call.notes)
    assert call.as_dict()["positions_called"] == 0


def test_partly_genotyped_gene_is_indeterminate(mini_kb):
    call = collect(mini_kb, [(DPYD_ALLELES["2A"][0], (0, 0))], genotyped=False)[DPYD]
    assert call.status == "indeterminate"
    assert call.activity_score is None
    assert call.phenotype == "Indeterminate"
    d = call.as_dict()
    assert d["positions_called"] == 1 and d["positions_missing"] >= 3
    # what was found is applied as a bound: a heterozygous *2A is at most activity score 1
    het = collect(mini_kb, [(DPYD_ALLELES["2A"][0], (0, 1))], genotyped=False)[DPYD]
    assert (het.status, het.activity_score) == ("indeterminate", 1.0)
    assert het.phenotype == "Indeterminate (at most activity score 1: Intermediate Metabolizer)"
    assert [r.kb_id for r in het.rules] == ["T-DPYD-IM-FU", "T-DPYD-FUDR"]


def test_normal_function_positions_missing_still_assessed(mini_kb):
    collector = PgxCollector(mini_kb, "GRCh38")
    skip = {("1", DPYD_ALLELES[n][0][1]) for n in ("9A", "5")}
    genotype_panel(collector, skip)
    call = collector.call()[DPYD]
    assert (call.status, call.activity_score) == ("assessed", 2.0)
    assert call.as_dict()["positions_missing"] == 2


def test_star2a_heterozygous_is_score_1(mini_kb):
    call = collect(mini_kb, [(DPYD_ALLELES["2A"][0], (0, 1))])[DPYD]
    assert call.activity_score == 1.0
    assert call.phenotype == "Intermediate Metabolizer"
    assert [r.kb_id for r in call.rules] == ["T-DPYD-IM-FU", "T-DPYD-FUDR"]


def test_two_unphased_lowest_alleles_presumed_in_trans(mini_kb):
    calls = [(DPYD_ALLELES["2A"][0], (0, 1)), (DPYD_ALLELES["2846"][0], (0, 1))]
    call = collect(mini_kb, calls)[DPYD]
    assert call.activity_score == 0.5
    assert call.phenotype == "Poor Metabolizer"
    assert any("presumed in trans" in n and "without phase" in n for n in call.notes)


def test_phased_cis_alleles_leave_one_normal_copy(mini_kb):
    cis = [(DPYD_ALLELES["2A"][0], (1, 0)), (DPYD_ALLELES["2846"][0], (1, 0))]
    call = collect(mini_kb, cis, phased=True, phase_set=7)[DPYD]
    assert call.activity_score == 1.0
    assert not any("presumed in trans" in n for n in call.notes)
    trans = [(DPYD_ALLELES["2A"][0], (1, 0)), (DPYD_ALLELES["2846"][0], (0, 1))]
    assert collect(mini_kb, trans, phased=True, phase_set=7)[DPYD].activity_score == 0.5


def test_phased_without_phase_set_is_one_set(mini_kb):
    # VCF 4.2: phased genotypes without PS all belong to one phase set.
    cis = [(DPYD_ALLELES["2A"][0], (0, 1)), (DPYD_ALLELES["13"][0], (0, 1))]
    assert collect(mini_kb, cis, phased=True)[DPYD].activity_score == 1.0


def test_cis_in_different_phase_sets_is_presumed_trans(mini_kb):
    calls = [
        (DPYD_ALLELES["2A"][0], (1, 0), {"phase_set": 100}),
        (DPYD_ALLELES["2846"][0], (1, 0), {"phase_set": 900}),
    ]
    call = collect(mini_kb, calls, phased=True)[DPYD]
    assert call.activity_score == 0.5
    assert any("different phase sets" in n for n in call.notes)


def test_phased_het_with_unphased_homozygote(mini_kb):
    # A homozygote is on both copies whatever its phase, so the phased het still counts.
    calls = [
        (DPYD_ALLELES["2846"][0], (1, 1), {"phased": False, "vaf": 0.99}),
        (DPYD_ALLELES["2A"][0], (0, 1), {"phased": True}),
    ]
    call = collect(mini_kb, calls)[DPYD]
    assert call.activity_score == 0.5  # copies: 0.5 and min(0.5, 0)
    assert any("3 decreased/no-function DPYD allele copies" in n for n in call.notes)


def test_homozygous_no_function_is_zero(mini_kb):
    call = collect(mini_kb, [(DPYD_ALLELES["2A"][0], (1, 1))], vaf=1.0)[DPYD]
    assert call.activity_score == 0.0
    assert not any("presumed in trans" in n for n in call.notes)  # a homozygote is certain


def test_c2846_homozygous_notes_more_than_half_dose_cut(mini_kb):
    call = collect(mini_kb, [(DPYD_ALLELES["2846"][0], (1, 1))], vaf=0.98)[DPYD]
    assert call.activity_score == 1.0
    assert call.phenotype == "Intermediate Metabolizer"
    assert any("more than 50%" in n and "c.2846A>T" in n for n in call.notes)
    het = collect(mini_kb, [(DPYD_ALLELES["2846"][0], (0, 1))])[DPYD]
    assert not any("more than 50%" in n for n in het.notes)


def test_more_than_two_reduced_copies_counts_two_lowest_with_a_note(mini_kb):
    calls = [(DPYD_ALLELES[n][0], (0, 1)) for n in ("2846", "HAPB3", "13")]
    call = collect(mini_kb, calls)[DPYD]
    assert call.activity_score == 0.5
    assert any("3 decreased/no-function DPYD allele copies" in n for n in call.notes)


def test_hapb3_proxy_counts_with_warning_and_not_twice(mini_kb):
    proxy_only = collect(mini_kb, [(HAPB3_PROXY, (0, 1))], genotyped=False)[DPYD]
    assert proxy_only.activity_score == 1.5
    assert any("proxy" in n for n in proxy_only.notes)
    both = collect(mini_kb, [(HAPB3_PROXY, (0, 1)), (DPYD_ALLELES["HAPB3"][0], (0, 1))])[DPYD]
    assert both.activity_score == 1.5
    assert not any("proxy" in n for n in both.notes)


def test_hapb3_proxy_ignored_when_causal_is_reference(mini_kb):
    call = collect(mini_kb, [(HAPB3_PROXY, (0, 1)), (DPYD_ALLELES["HAPB3"][0], (0, 0))])[DPYD]
    assert call.activity_score == 2.0
    assert any("called reference" in n for n in call.notes)


def test_reference_call_without_alt_counts_for_hapb3(mini_kb):
    # gVCF-style `G . 0/0` at the causal SNP (evaluate.py passes it to mark_read).
    collector = PgxCollector(mini_kb, "GRCh38")
    collector.mark_read("chr1", DPYD_ALLELES["HAPB3"][0][1], SampleCall((0, 0)))
    offer(collector, HAPB3_PROXY, (0, 1))
    assert (
        collector.call()[DPYD].activity_score == 2.0
        or collector.call()[DPYD].activity_score is None
    )
    missing = PgxCollector(mini_kb, "GRCh38")
    missing.mark_read("chr1", DPYD_ALLELES["HAPB3"][0][1], SampleCall((None, None)))  # no call
    offer(missing, HAPB3_PROXY, (0, 1))
    assert missing.call()[DPYD].activity_score == 1.5


def test_gvcf_block_covers_the_positions_within(mini_kb):
    collector = PgxCollector(mini_kb, "GRCh38")
    collector.mark_read("chr1", 97000000, SampleCall((0, 0), depth=30), end=98000000)
    call = collector.call()
    assert (call[DPYD].status, call[DPYD].activity_score) == ("assessed", 2.0)
    assert call[UGT1A1].status == "not_assessed"


# -- genotypes of tumour VCFs ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("gt", "phased", "vaf", "copies", "haplotypes", "alternative", "ambiguous"),
    [
        ((0, 1), False, 0.5, 1, None, None, False),
        ((1, 0), True, 0.5, 1, (0,), None, False),
        ((1, 1), True, 0.99, 2, None, None, False),
        ((0, 1), False, 0.98, 2, None, 1, False),  # Mutect2's placeholder at a homozygous VAF
        ((0, 1), False, 0.04, 1, None, 0, False),  # GT keeps the copy the reads barely show
        ((0, 0), False, 0.45, 1, None, 0, False),  # a normal column's 0/0 with half ALT reads
        ((1, 1), False, 0.5, 2, None, 1, False),
        ((1, 0), False, 0.5, 1, None, None, False),  # `1/2` split by bcftools: one per record
        ((1,), True, 0.97, 2, None, None, False),  # haploid, VAF leaves no normal copy
        ((1,), True, 0.45, 1, None, None, False),  # haploid written for a heterozygote
        ((1,), True, None, 2, None, None, True),  # haploid, nothing to tell: the lower reading
        ((None, None), False, 0.5, 1, None, None, False),
        ((None, None), False, 0.92, 2, None, None, False),
        (None, False, None, 2, None, None, True),  # nothing to go on: the lower reading
        ((1, None), False, 0.5, 1, None, None, False),
        ((1, None), False, None, 2, None, None, True),
        ((0, 1, 1), False, 0.6, 2, None, 1, False),  # polyploid tumour call
    ],
)
def test_read_genotype(gt, phased, vaf, copies, haplotypes, alternative, ambiguous):
    g = read_genotype(SampleCall(gt, phased, None, vaf))
    assert (g.copies, g.haplotypes, g.alternative, g.ambiguous) == (
        copies,
        haplotypes,
        alternative,
        ambiguous,
    )
    assert not g.reference


def test_increased_function_allele_takes_the_fewer_copies():
    g = read_genotype(SampleCall((0, 1), vaf=0.97), lower_activity_more_copies=False)
    assert (g.copies, g.alternative) == (1, 2)


@pytest.mark.parametrize(
    ("gt", "reference"), [((0, 0), True), ((0,), True), ((0, None), False), ((0, 0, 0), True)]
)
def test_genotypes_without_alt(gt, reference):
    g = read_genotype(SampleCall(gt, vaf=0.0))
    assert g.copies == 0
    assert g.reference is reference


def test_haploid_no_function_call_with_high_vaf_scores_zero(mini_kb):
    call = collect(mini_kb, [(DPYD_ALLELES["2A"][0], (1,), {"phased": True, "vaf": 0.96})])[DPYD]
    assert call.activity_score == 0.0
    half = collect(mini_kb, [(DPYD_ALLELES["2A"][0], (1,), {"vaf": 0.5})])[DPYD]
    assert half.activity_score == 1.0
    assert any("allows 1 or 2 copies" in n for n in half.notes)
    blind = collect(mini_kb, [(DPYD_ALLELES["2A"][0], (1,), {"vaf": None})])[DPYD]
    assert (blind.status, blind.activity_score) == ("indeterminate", 0.0)


def test_missing_genotype_takes_copies_from_vaf(mini_kb):
    het = collect(mini_kb, [(DPYD_ALLELES["2A"][0], None, {"vaf": 0.48})])[DPYD]
    assert het.activity_score == 1.0
    assert het.as_dict()["alleles"][0]["genotype"] == "./."
    assert any("zygosity read from the allele fraction" in n for n in het.notes)
    hom = collect(mini_kb, [(DPYD_ALLELES["2A"][0], (None, None), {"vaf": 0.97})])[DPYD]
    assert hom.activity_score == 0.0
    blind = collect(mini_kb, [(DPYD_ALLELES["2A"][0], None, {"vaf": 0.0, "depth": None})])[DPYD]
    assert blind.activity_score == 2.0  # no GT and no ALT reads: not carried


def test_filtered_record_still_counts_with_a_note(mini_kb):
    call = collect(mini_kb, [(DPYD_ALLELES["13"][0], (0, 1), {"filters": ["weak_evidence"]})])
    assert call[DPYD].activity_score == 1.0
    assert any("filtered" in n for n in call[DPYD].notes)


def test_one_allele_written_twice_counts_once(bundled_kb):
    calls = [(("chr2", 233760233, "C", "CAT"), (0, 1)), (("chr2", 233760248, "A", "ATA"), (0, 1))]
    call = collect(bundled_kb, calls)[UGT1A1]
    assert call.diplotype == "*1/*28"
    assert len(call.observations) == 1
    assert any("written twice" in n for n in call.notes)


# -- germline flags -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vaf", "copies", "expected"),
    [
        (GERMLINE_HET[0], 1, "consistent"),
        (GERMLINE_HET[0] - 0.001, 1, "confirm"),
        (GERMLINE_HET[1], 1, "consistent"),
        (GERMLINE_HET[1] + 0.001, 1, "confirm"),
        (0.0, 1, "confirm"),
        (1.0, 1, "confirm"),  # a het call reading as homozygous (or LOH)
        (GERMLINE_HOM_MIN, 2, "consistent"),
        (GERMLINE_HOM_MIN - 0.001, 2, "confirm"),
        (0.5, 2, "confirm"),  # a homozygous call reading as heterozygous
        (None, 1, "unknown"),
        (None, 2, "unknown"),
    ],
)
def test_germline_check_windows(vaf, copies, expected):
    # Het window 0.30-0.70 is wide on purpose: tumour LOH and copy number shift a germline het.
    assert germline_check(vaf, copies) == expected


@pytest.mark.parametrize(
    ("gt", "vaf", "score", "alternative"),
    [
        # Mutect2's 0/1 at a homozygous fraction: the status follows the homozygous reading
        ((0, 1), 0.95, 0.0, "If the allele is heterozygous, the call is activity score 1"),
        (
            (0, 1),
            0.04,
            1.0,
            "If the allele is absent from germline DNA, the call is activity score 2",
        ),
        ((1, 1), 0.52, 0.0, "If the allele is heterozygous, the call is activity score 1"),
        (
            (0, 0),
            0.48,
            1.0,
            "If the allele is absent from germline DNA, the call is activity score 2",
        ),
    ],
)
def test_genotype_and_fraction_that_disagree_take_the_lower_activity(
    mini_kb, gt, vaf, score, alternative
):
    call = collect(mini_kb, [(DPYD_ALLELES["2A"][0], gt, {"vaf": vaf})])[DPYD]
    assert call.activity_score == score
    assert any(alternative in n and "lower-activity reading" in n for n in call.notes)


def test_germline_vaf_gives_no_flag(mini_kb):
    call = collect(mini_kb, [(DPYD_ALLELES["2A"][0], (0, 1), {"vaf": 0.41})])[DPYD]
    assert call.as_dict()["alleles"][0]["germline_check"] == "consistent"
    assert not any("confirm in germline DNA" in n or "if homozygous" in n for n in call.notes)


# -- UGT1A1 ---------------------------------------------------------------------------------


def ugt(kb, *calls, **kw) -> tuple[str | None, str]:
    c = collect(kb, list(calls), **kw)[UGT1A1]
    return c.diplotype, c.phenotype


def test_ugt1a1_diplotypes(mini_kb):
    assert ugt(mini_kb, (UGT["*28"], (1, 1))) == ("*28/*28", "Poor Metabolizer")
    assert ugt(mini_kb, (UGT["*28"], (0, 1))) == ("*1/*28", "Intermediate Metabolizer")
    assert ugt(mini_kb, (UGT["*6"], (0, 1)), (UGT["*28"], (0, 1))) == ("*6/*28", "Poor Metabolizer")
    assert ugt(mini_kb, (UGT["*6"], (1, 1))) == ("*6/*6", "Poor Metabolizer")
    assert ugt(mini_kb, (UGT["*36"], (0, 1))) == ("*1/*36", "Normal Metabolizer")
    assert ugt(mini_kb, (UGT["*36"], (0, 1)), (UGT["*28"], (0, 1))) == (
        "*28/*36",
        "Intermediate Metabolizer",
    )
    assert ugt(mini_kb, (UGT["*80"], (0, 1))) == ("*1/*80", "Indeterminate")
    assert ugt(mini_kb, (UGT["*6"], (0, 0))) == ("*1/*1", "Normal Metabolizer")


def test_ugt1a1_star80_with_star28(mini_kb):
    # Unphased: *80 joins *28 (PharmCAT's top candidate *1/*80+*28), noted as presumed.
    call = collect(mini_kb, [(UGT["*80"], (0, 1)), (UGT["*28"], (0, 1))])[UGT1A1]
    assert (call.diplotype, call.phenotype) == ("*1/*80+*28", "Intermediate Metabolizer")
    assert any("different copies is also possible" in n for n in call.notes)
    # Phased in cis: the same; phased in trans: *28/*80, indeterminate (*80 uncertain function).
    cis = [(UGT["*80"], (0, 1)), (UGT["*28"], (0, 1))]
    assert ugt(mini_kb, *cis, phased=True) == ("*1/*80+*28", "Intermediate Metabolizer")
    trans = [(UGT["*80"], (1, 0)), (UGT["*28"], (0, 1))]
    assert ugt(mini_kb, *trans, phased=True) == ("*28/*80", "Indeterminate")
    # Homozygous *28 with one *80: *28/*80+*28, two decreased copies.
    assert ugt(mini_kb, (UGT["*80"], (0, 1)), (UGT["*28"], (1, 1), {"vaf": 0.97})) == (
        "*28/*80+*28",
        "Poor Metabolizer",
    )
    # Homozygous *80 with one *28: *80/*80+*28.
    assert ugt(mini_kb, (UGT["*80"], (1, 1), {"vaf": 0.97}), (UGT["*28"], (0, 1))) == (
        "*80/*80+*28",
        "Indeterminate",
    )


def test_ugt1a1_star80_with_star6_and_star28_unphased(mini_kb):
    calls = [(UGT["*80"], (0, 1)), (UGT["*28"], (0, 1)), (UGT["*6"], (0, 1))]
    assert ugt(mini_kb, *calls) == ("*6/*80+*28", "Poor Metabolizer")


def test_ugt1a1_cis_combination_without_a_name(mini_kb):
    # *6 and *28 phased on one copy: no CPIC allele, no diplotype; the other copy is *1.
    cis = [(UGT["*6"], (1, 0)), (UGT["*28"], (1, 0))]
    call = collect(mini_kb, cis, phased=True)[UGT1A1]
    assert (call.diplotype, call.phenotype) == (None, "Indeterminate")
    assert call.rules == []
    assert any("poor-metabolizer rule does not apply" in n for n in call.notes)
    # Both copies carrying a decreased-function allele stay poor metabolizers without a name.
    both = [(UGT["*6"], (1, 0)), (UGT["*28"], (1, 1), {"vaf": 0.97})]
    call = collect(mini_kb, both, phased=True)[UGT1A1]
    assert (call.diplotype, call.phenotype) == (None, "Poor Metabolizer")
    assert [r.kb_id for r in call.rules] == ["T-UGT-PM-IRI"]


def test_ugt1a1_three_unphased_decreased_alleles_are_poor(bundled_kb):
    calls = [
        (("chr2", 233760498, "G", "A"), (0, 1)),
        (("chr2", 233760973, "C", "A"), (0, 1)),
        (("chr2", 233760233, "C", "CAT"), (0, 1)),
    ]
    call = collect(bundled_kb, calls)[UGT1A1]
    assert call.phenotype == "Poor Metabolizer"
    assert any("at least two share a gene copy" in n for n in call.notes)


def test_ugt1a1_star80_without_a_repeat_call_points_at_star28(mini_kb):
    call = collect(mini_kb, [(UGT["*80"], (0, 1)), (UGT["*6"], (0, 1))], genotyped=False)[UGT1A1]
    assert (call.status, call.diplotype, call.phenotype) == (
        "indeterminate",
        "*6/*80",
        "Indeterminate",
    )
    assert any("no call at the *28 promoter TA repeat" in n for n in call.notes)
    assert any("*6/*80+*28 (Poor Metabolizer)" in n for n in call.notes)
    # A reference call at the repeat settles it: no such notes.
    called = collect(
        mini_kb,
        [(UGT["*80"], (0, 1)), (UGT["*6"], (0, 1)), (("chr2", 233760233, "C", "CAT"), (0, 0))],
        genotyped=False,
    )[UGT1A1]
    assert not any("TA repeat" in n for n in called.notes)


def test_ugt1a1_poor_metabolizer_rule(mini_kb):
    call = collect(mini_kb, [(UGT["*28"], (1, 1))], vaf=1.0)[UGT1A1]
    assert [r.kb_id for r in call.rules] == ["T-UGT-PM-IRI"]


# -- TA-repeat spellings --------------------------------------------------------------------

# chr2:233760233 is C, then A(TA)7 to 233760248, then A (GRCh38; PharmCAT's REF CAT at 233760233,
# the demo reference). Each entry: a spelling of one allele and how it is recognised.
SPELLINGS = [
    ("*28", ("chr2", 233760233, "C", "CAT"), "exact"),
    ("*28", ("chr2", 233760233, "CAT", "CATAT"), "trimmed"),  # PharmCAT's padded form
    ("*28", ("chr2", 233760233, "CATATATATATATATAA", "CATATATATATATATATAA"), "trimmed"),
    ("*28", ("chr2", 233760234, "A", "ATA"), "repeat_shift"),
    ("*28", ("chr2", 233760235, "T", "TAT"), "repeat_shift"),  # CPIC's g.233760235TA[8]
    ("*28", ("chr2", 233760247, "TA", "TATA"), "repeat_shift"),
    ("*28", ("chr2", 233760248, "A", "ATA"), "repeat_shift"),  # right-aligned (DEMO06)
    ("*37", ("chr2", 233760233, "C", "CATAT"), "exact"),
    ("*37", ("chr2", 233760233, "CAT", "CATATAT"), "trimmed"),
    ("*37", ("chr2", 233760236, "A", "ATATA"), "repeat_shift"),
    ("*37", ("chr2", 233760248, "A", "ATATA"), "repeat_shift"),
    ("*36", ("chr2", 233760233, "CAT", "C"), "exact"),
    ("*36", ("chr2", 233760246, "ATA", "A"), "repeat_shift"),
    ("*36", ("chr2", 233760247, "TAT", "T"), "repeat_shift"),
]


@pytest.mark.parametrize(("star", "key", "matched_as"), SPELLINGS)
def test_ta_repeat_spellings_without_reference(bundled_kb, star, key, matched_as):
    call = collect(bundled_kb, [(key, (0, 1))])[UGT1A1]
    assert [o.row.allele_name.split()[0] for o in call.observations] == [f"UGT1A1{star}"]
    allele = call.as_dict()["alleles"][0]
    assert allele["matched_as"] == matched_as
    assert (allele["pos"], allele["ref"], allele["alt"]) == key[1:]  # the record as written
    shifted_notes = [n for n in call.notes if "right-shifted repeat spelling" in n]
    assert bool(shifted_notes) == (matched_as == "repeat_shift")


@pytest.mark.parametrize(
    "key",
    [
        ("chr2", 233760235, "A", "ATA"),  # REF A where the repeat has T: not this allele
        ("chr2", 233760233, "C", "CTA"),  # another sequence at the anchor
        ("chr2", 233760234, "A", "ATATATA"),  # (TA)10: no allele of the table
    ],
)
def test_indels_in_the_repeat_that_are_no_table_allele(bundled_kb, key):
    call = collect(bundled_kb, [(key, (0, 1))])[UGT1A1]
    assert call.observations == []
    assert any("matches no allele of the knowledge table" in n for n in call.notes)


def test_shifted_spellings_are_not_used_after_left_alignment(bundled_kb):
    # After bcftools norm -f every *28 is at 233760233; a record elsewhere is another event.
    call = collect(bundled_kb, [(("chr2", 233760248, "A", "ATA"), (0, 1))], left_aligned=True)
    assert call[UGT1A1].observations == []
    assert call[UGT1A1].diplotype == "*1/*1"


def test_shift_window_is_bounded(bundled_kb):
    # 21 bases right of the anchor is beyond ten TA units, whatever the record says.
    call = collect(bundled_kb, [(("chr2", 233760254, "T", "TAT"), (0, 1))])[UGT1A1]
    assert call.observations == []


def test_shifted_dpyd_deletion(bundled_kb):
    # DPYD *7 (c.295_298delTCAT) is GATGA>G at 97740410, in a repeat of its deleted ATGA: one
    # unit to the right the same deletion is written AATGA>A (anchor A, the unit's last base).
    row = bundled_kb.by_id["DPYD-RS72549309"].alteration
    shifted = ("chr1", row.pos + 4, "A" + row.ref[1:], "A")  # anchor A = last deleted base
    call = collect(bundled_kb, [(shifted, (0, 1))])[DPYD]
    assert call.activity_score == 1.0
    assert call.as_dict()["alleles"][0]["matched_as"] == "repeat_shift"


# -- property tests: the test table ---------------------------------------------------------

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


phased_gts = st.sampled_from([(0, 1), (1, 0), (1, 1)])


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(allele_names, phased_gts, min_size=1, max_size=6))
def test_phased_score_is_each_copy_at_its_lowest(mini_kb, called):
    calls = [(DPYD_ALLELES[name][0], gt) for name, gt in called.items()]
    call = collect(mini_kb, calls, phased=True, phase_set=5, vaf=None)[DPYD]
    copies = [
        min([1.0, *(DPYD_ALLELES[n][1] for n, gt in called.items() if gt[h] == 1)]) for h in (0, 1)
    ]
    assert call.activity_score == sum(copies)
    # Never below the unphased (presumed trans) score: phase can only reveal cis alleles.
    unphased = collect(mini_kb, calls, vaf=None)[DPYD].activity_score
    assert call.activity_score >= unphased


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(allele_names, phased_gts, min_size=1, max_size=6))
def test_separate_phase_sets_fall_back_to_presumed_trans(mini_kb, called):
    calls = [(DPYD_ALLELES[n][0], gt, {"phase_set": i}) for i, (n, gt) in enumerate(called.items())]
    phased = collect(mini_kb, calls, phased=True, vaf=None)[DPYD].activity_score
    unphased = collect(mini_kb, [c[:2] for c in calls], vaf=None)[DPYD].activity_score
    assert phased == unphased


# -- property tests: the bundled knowledge table --------------------------------------------


def dpyd_rows(kb: KnowledgeBase, function: str | None = None) -> list:
    rows = kb.allele_rows(DPYD, "GRCh38")
    return [r for r in rows if function is None or r.allele_function == function]


def key_of(row) -> tuple[str, int, str, str]:
    a = row.alteration
    return (f"chr{a.chrom}", a.pos, a.ref, a.alt)


def test_bundled_table_has_the_dpyd_classes(bundled_kb):
    values = {r.allele_function: r.activity_value for r in dpyd_rows(bundled_kb)}
    assert values == {"no_function": 0.0, "decreased_function": 0.5, "normal_function": 1.0}
    assert len(dpyd_rows(bundled_kb, "normal_function")) >= 6


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_bundled_normal_function_rows_never_lower_the_score(bundled_kb, data):
    rows = dpyd_rows(bundled_kb)
    called = data.draw(st.lists(st.sampled_from(rows), max_size=4, unique_by=lambda r: r.kb_id))
    base = [(key_of(r), data.draw(genotypes)) for r in called if r.activity_value != 1]
    anchor = [(key_of(rows[0]), (0, 0))]  # the region was read
    before = collect(bundled_kb, anchor + base)[DPYD].activity_score
    for normal in dpyd_rows(bundled_kb, "normal_function"):
        for gt in ((0, 1), (1, 1)):
            after = collect(bundled_kb, [*anchor, *base, (key_of(normal), gt)])[DPYD]
            assert after.activity_score == before, normal.kb_id


def test_bundled_no_function_rows_heterozygous_give_1(bundled_kb):
    rows = dpyd_rows(bundled_kb, "no_function")
    assert len(rows) >= 10
    for row in rows:
        call = collect(bundled_kb, [(key_of(row), (0, 1))])[DPYD]
        assert (call.activity_score, call.phenotype) == (1.0, "Intermediate Metabolizer"), row.kb_id


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_bundled_two_reduced_heterozygotes_give_the_sum(bundled_kb, data):
    reduced = [r for r in dpyd_rows(bundled_kb) if r.activity_value < 1]
    first, second = data.draw(
        st.lists(st.sampled_from(reduced), min_size=2, max_size=2, unique_by=lambda r: r.kb_id)
    )
    hapb3 = {"DPYD-RS75017182", "DPYD-RS56038477"}
    pair = [(key_of(first), (0, 1)), (key_of(second), (0, 1))]
    call = collect(bundled_kb, pair, genotyped=False)[DPYD]
    if {first.kb_id, second.kb_id} == hapb3:  # one haplotype written twice: counted once
        assert call.activity_score == 1.5
    else:
        assert call.activity_score == first.activity_value + second.activity_value
        assert any("presumed in trans" in n for n in call.notes)


# -- property tests: the matched normal ------------------------------------------------------

sample_gts = st.sampled_from([(0, 0), (0, 1), (1, 1), (None, None)])
fractions = st.one_of(st.none(), st.floats(min_value=0, max_value=1))


def paired_call(kb, calls, *, with_tumour: bool) -> PgxCall:
    collector = PgxCollector(kb, "GRCh38", has_normal=True)
    genotype_panel(collector, {("1", DPYD_ALLELES[n][0][1]) for n, *_ in calls})
    for name, normal_gt, normal_vaf, tumour_gt, tumour_vaf in calls:
        chrom, pos, ref, alt = DPYD_ALLELES[name][0]
        collector.offer(
            chrom=chrom,
            pos=pos,
            ref=ref,
            alt=alt,
            germline=SampleCall(
                normal_gt, vaf=normal_vaf, depth=None if normal_vaf is None else 50
            ),
            tumour=SampleCall(tumour_gt, vaf=tumour_vaf, depth=80) if with_tumour else None,
            filters=[],
        )
    return collector.call()[DPYD]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(allele_names, sample_gts, fractions, sample_gts, fractions),
        max_size=4,
        unique_by=lambda c: c[0],
    )
)
def test_status_never_less_safe_than_the_normal_alone(mini_kb, calls):
    both = paired_call(mini_kb, calls, with_tumour=True)
    alone = paired_call(mini_kb, calls, with_tumour=False)
    if alone.activity_score is not None:
        assert both.activity_score is not None or both.status != "assessed"
        if both.activity_score is not None:
            assert both.activity_score <= alone.activity_score
    assert both.genotype_source == "normal"
    # reading the same calls again gives the same call
    again = paired_call(mini_kb, calls, with_tumour=True)
    assert again.as_dict() == both.as_dict()


@settings(max_examples=300, deadline=None)
@given(allele_names, sample_gts, fractions)
def test_lower_activity_reading_never_raises_the_score(mini_kb, name, gt, vaf):
    # Whatever GT and allele fraction say, the status is at most the score either alone gives.
    by_both = collect(mini_kb, [(DPYD_ALLELES[name][0], gt, {"vaf": vaf})])[DPYD]
    readings = []
    if None not in gt:
        readings.append(collect(mini_kb, [(DPYD_ALLELES[name][0], gt, {"vaf": None})])[DPYD])
    if vaf is not None:
        readings.append(collect(mini_kb, [(DPYD_ALLELES[name][0], None, {"vaf": vaf})])[DPYD])
    for alone in readings:
        assert by_both.activity_score <= alone.activity_score


def test_structural_variant_over_dpyd_makes_the_call_indeterminate(mini_kb):
    collector = PgxCollector(mini_kb, "GRCh38")
    genotype_panel(collector, set())
    collector.structural("chr1", 97400000, 97600000, "<DEL>")
    call = collector.call()
    assert call[DPYD].status == "indeterminate"
    assert any("structural variant (<DEL>" in n for n in call[DPYD].notes)
    assert call[UGT1A1].status == "assessed"  # elsewhere: no effect
