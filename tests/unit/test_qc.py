"""Read support from the fields real callers write, and the QC filters (haicgx.qc).

Each caller gets a tiny VCF in its own dialect, read through pysam after the annotate stage's
split (bcftools norm -m -any), as the rank job reads it. Unknown values stay unknown (None), are
never zero, and QC counts how it treated them.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pysam
import pytest
from support import REPO, analyse, annotate_vcf, demo_config

from haicgx.qc import QcTally, ReadSupport, SupportReader, qc_reason, recognise_callers
from haicgx.settings import Patient, load_settings

THRESHOLDS = {"pass_only": True, "min_depth": 20, "min_alt_reads": 4, "min_vaf": 0.05}


def vcf(
    tmp_path: Path,
    formats: list[str],
    records: list[str],
    *,
    info=(),
    samples=("TUMOR",),
    extra: tuple[str, ...] = (),
):
    lines = ["##fileformat=VCFv4.2", *extra, "##contig=<ID=chr12,length=133275309>"]
    lines += ['##FILTER=<ID=PASS,Description="All filters passed">']
    lines += ['##FILTER=<ID=LowQual,Description="Low quality">']
    lines += [f"##FORMAT=<ID={f}>" for f in formats] + [f"##INFO=<ID={i}>" for i in info]
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples))
    path = tmp_path / "calls.vcf"
    path.write_text("\n".join(lines + records) + "\n", encoding="utf-8")
    return path


def fmt(key: str, number: str, kind: str) -> str:
    return f'{key},Number={number},Type={kind},Description="{key}"'


def support(path: Path, tmp_path: Path, sample: str = "TUMOR") -> list[ReadSupport]:
    """Split and subset like the annotate stage (no reference), then read each allele."""
    prepared = annotate_vcf(
        path, tmp_path / "out.bcf", patient="QC", tumour_sample=sample, annotation_mode="none"
    )
    with pysam.VariantFile(str(prepared.path)) as handle:
        reader = SupportReader(handle.header)
        return [reader.read(record) for record in handle]


MUTECT2 = [fmt("GT", "1", "String"), fmt("AD", "R", "Integer"), fmt("DP", "1", "Integer")]
MUTECT2 += [fmt("AF", "A", "Float")]


def test_mutect2_ad_dp_af(tmp_path):
    path = vcf(
        tmp_path,
        MUTECT2,
        ["chr12\t25245350\t.\tC\tT\t.\tPASS\t.\tGT:AD:DP:AF\t0/1:70,30:104:0.297"],
    )
    (got,) = support(path, tmp_path)
    # DP (every read at the site) is the depth; AD gives the alt reads; AF the VAF as called
    assert got == ReadSupport(104, 30, 0.297, "FORMAT AD, FORMAT DP, FORMAT AF")


AD_DP_AF_SHAPES = [
    "0/1:70,30:104:0.297",
    "0/1:70,30:.:0.297",
    "0/1:70,30:104:.",
    "0/1:70,30:.:.",
    "0/1:.:104:0.297",
    "0/1:.:104:.",
    "0/1:.:.:0.2",
    "0/1:.:.:.",
    "0/1:70,.:104:.",
    "0/1:.,21:54:.",
    "0/1:0,0:0:.",
    "0/1:0,0:.:.",
    "0/1:70,30",
    "0/1",
]


def test_the_mutect2_shortcut_reads_what_the_general_reader_reads(tmp_path):
    """SupportReader takes a written-out path for files with AD, DP and AF only; every shape of
    present and missing values must read as the general path reads it."""
    records = [
        f"chr12\t{25245350 + i}\t.\tC\tT\t.\tPASS\t.\tGT:AD:DP:AF\t{value}"
        for i, value in enumerate(AD_DP_AF_SHAPES)
    ]
    path = vcf(tmp_path, MUTECT2, records)
    shortcut = support(path, tmp_path)
    with pysam.VariantFile(str(tmp_path / "out.bcf")) as handle:
        reader = SupportReader(handle.header)
        assert reader.ad_dp_af_only
        reader.ad_dp_af_only = False
        general = [reader.read(record) for record in handle]
    assert shortcut == general
    assert shortcut[1] == ReadSupport(100, 30, 0.297, "FORMAT AD, FORMAT AF")
    assert shortcut[7] == ReadSupport(None, None, None, "none")


def test_mutect2_multiallelic_is_read_per_allele(tmp_path):
    path = vcf(
        tmp_path,
        MUTECT2,
        ["chr12\t25245350\t.\tC\tT,A\t.\tPASS\t.\tGT:AD:DP:AF\t0/1/2:60,30,10:100:0.3,0.1"],
    )
    first, second = support(path, tmp_path)
    assert (first.alt_reads, first.vaf, first.depth) == (30, 0.3, 100)
    assert (second.alt_reads, second.vaf, second.depth) == (10, 0.1, 100)


def test_missing_ad_is_unknown_not_zero(tmp_path):
    path = vcf(tmp_path, MUTECT2, ["chr12\t25245350\t.\tC\tT\t.\tPASS\t.\tGT:AD:DP:AF\t0/1:.:.:."])
    (got,) = support(path, tmp_path)
    assert (got.depth, got.alt_reads, got.vaf) == (None, None, None)


def test_a_missing_ref_count_leaves_the_alt_reads_known(tmp_path):
    """vcf2maf's test_b38.vcf writes AD '.,21' with DP 54 (AD, DP, no AF): 21 alt reads."""
    formats = [fmt("GT", "1", "String"), fmt("AD", "R", "Integer"), fmt("DP", "1", "Integer")]
    record = "chr12\t25245350\t.\tA\tC\t.\tPASS\t.\tGT:AD:DP\t0/1:.,21:54"
    (got,) = support(vcf(tmp_path, formats, [record]), tmp_path)
    assert (got.depth, got.alt_reads, got.vaf) == (54, 21, 0.3889)


def test_alt_reads_are_derived_from_vaf_and_depth_only_when_both_are_known(tmp_path):
    path = vcf(tmp_path, MUTECT2, ["chr12\t25245350\t.\tC\tT\t.\tPASS\t.\tGT:DP:AF\t0/1:80:0.25"])
    (got,) = support(path, tmp_path)
    assert (got.depth, got.alt_reads, got.vaf) == (80, 20, 0.25)


STRELKA_SNV = [fmt(k, "1", "Integer") for k in ("DP", "FDP")]
STRELKA_SNV += [fmt(f"{b}U", "2", "Integer") for b in "ACGT"]


def test_strelka2_snv_tier1_counts(tmp_path):
    """Strelka2 somatic SNV: no GT, no AD; tier-1 base counts. VAF = ALT/(REF+ALT), Strelka's
    recipe, while the depth counts every base."""
    path = vcf(
        tmp_path,
        STRELKA_SNV,
        [
            "chr12\t25245350\t.\tC\tT\t.\tPASS\t.\tDP:FDP:AU:CU:GU:TU"
            "\t60:0:0,0:60,61:0,0:0,0\t102:1:2,2:70,72:0,0:30,31"
        ],
        samples=("NORMAL", "TUMOR"),
    )
    (got,) = support(path, tmp_path)
    assert got == ReadSupport(102, 30, 0.3, "FORMAT AU/CU/GU/TU (Strelka)")


def test_strelka2_indel_tar_tir(tmp_path):
    formats = [fmt("DP", "1", "Integer")] + [fmt(k, "2", "Integer") for k in ("TAR", "TIR", "TOR")]
    path = vcf(
        tmp_path,
        formats,
        [
            "chr12\t25245350\t.\tCA\tC\t.\tPASS\t.\tDP:TAR:TIR:TOR\t40:35,36:0,0:5,5\t90:48,50:32,33:10,10"
        ],
        samples=("NORMAL", "TUMOR"),
    )
    (got,) = support(path, tmp_path)
    assert got == ReadSupport(80, 32, 0.4, "FORMAT TAR/TIR (Strelka)")


def test_varscan_rd_ad_freq(tmp_path):
    formats = [fmt("GT", "1", "String"), fmt("DP", "1", "Integer"), fmt("RD", "1", "Integer")]
    formats += [fmt("AD", "1", "Integer"), fmt("FREQ", "1", "String")]
    path = vcf(
        tmp_path,
        formats,
        [
            "chr12\t25245350\t.\tC\tT\t.\tPASS\t.\tGT:DP:RD:AD:FREQ\t0/0:50:50:0:0%\t0/1:80:60:20:25%"
        ],
        samples=("NORMAL", "TUMOR"),
    )
    (got,) = support(path, tmp_path)
    assert got == ReadSupport(80, 20, 0.25, "FORMAT RD/AD (VarScan), FORMAT DP, FORMAT FREQ")


def test_pcgr_info_tvaf_tdp(tmp_path):
    """PCGR's example VCFs keep tumour support in INFO; FORMAT holds strings it cannot use."""
    path = vcf(
        tmp_path,
        [fmt("GT", "1", "String"), fmt("ADT", ".", "String")],
        ["chr12\t25245350\t.\tC\tT\t.\tPASS\tTVAF=0.222222;TDP=144\tGT:ADT\t0/1:112,32"],
        info=(fmt("TVAF", ".", "Float"), fmt("TDP", ".", "Integer")),
    )
    (got,) = support(path, tmp_path)
    assert got == ReadSupport(144, 32, 0.2222, "INFO TVAF, INFO TDP")


def test_ad_without_number_r_is_read_by_the_allele_index_norm_kept(tmp_path):
    """Strelka2 germline (and MuSE, RADIA, Pindel) write AD with Number=.: bcftools norm does not
    split it, so a split record still holds every allele's count; the index that norm's
    --old-rec-tag kept says which is this ALT's. A count that fits no allele is unknown."""
    formats = [fmt("GT", "1", "String"), fmt("AD", ".", "Integer"), fmt("DP", "1", "Integer")]
    path = vcf(
        tmp_path,
        formats,
        [
            "chr12\t25245350\t.\tC\tT\t.\tPASS\t.\tGT:AD:DP\t0/1:28,33:61",
            "chr12\t25245360\t.\tG\tA,T\t.\tPASS\t.\tGT:AD:DP\t1/2:2,30,28:60",
            "chr12\t25245370\t.\tG\tA,T\t.\tPASS\t.\tGT:AD:DP\t1/2:2,30:60",
        ],
    )
    biallelic, split_a, split_t, short_a, short_t = support(path, tmp_path)
    assert (biallelic.depth, biallelic.alt_reads) == (61, 33)
    assert (split_a.depth, split_a.alt_reads, split_a.vaf) == (60, 30, 0.5)
    assert (split_t.depth, split_t.alt_reads, split_t.vaf) == (60, 28, 0.4667)
    assert (short_a.alt_reads, short_a.vaf) == (short_t.alt_reads, short_t.vaf) == (None, None)


def test_zero_depth_gives_no_vaf(tmp_path):
    path = vcf(tmp_path, MUTECT2, ["chr12\t25245350\t.\tC\tT\t.\tPASS\t.\tGT:AD\t0/1:0,0"])
    (got,) = support(path, tmp_path)
    assert (got.depth, got.alt_reads, got.vaf) == (0, 0, None)


# -- filters ----------------------------------------------------------------------------------


def test_qc_reason_thresholds_and_unknown_values():
    tally = QcTally()
    check = lambda s, filters=(), **kw: qc_reason(  # noqa: E731
        filters=list(filters), support=s, thresholds=THRESHOLDS | kw, tally=tally
    )
    assert check(ReadSupport(100, 30, 0.3, "x")) is None
    assert check(ReadSupport(100, 30, 0.3, "x"), ["LowQual"]) == "filter_not_pass"
    assert check(ReadSupport(100, 30, 0.3, "x"), ["LowQual"], pass_only=False) is None
    assert check(ReadSupport(100, 30, 0.3, "x"), ["PASS"]) is None
    assert check(ReadSupport(10, 9, 0.9, "x")) == "low_depth"
    assert check(ReadSupport(100, 3, 0.3, "x")) == "low_alt_reads"
    assert check(ReadSupport(100, 30, 0.03, "x")) == "low_vaf"
    assert sum(tally.unknown.values()) == 0
    assert check(ReadSupport(None, None, None, "none")) is None  # unknown is kept, not failed
    assert check(ReadSupport(100, None, None, "x")) is None
    assert tally.unknown == {"depth": 1, "alt_reads": 2, "vaf": 2}


@pytest.fixture(scope="module")
def settings():
    config = demo_config()
    return load_settings(config, workdir=REPO)


def test_recommendation_counts_and_says_how_unknown_values_were_treated(
    tmp_path, settings, mini_kb
):
    records = [
        "chr12\t25245350\t.\tC\tT\t.\tPASS\t.\tGT:AD:DP:AF\t0/1:70,30:100:0.3",  # passes
        "chr12\t25245360\t.\tG\tA\t.\tLowQual\t.\tGT:AD:DP:AF\t0/1:70,30:100:0.3",  # FILTER
        "chr12\t25245370\t.\tG\tA,T\t.\tPASS\t.\tGT:AD:DP:AF\t1/2:5,10,1:16:0.6,0.06",  # 2 low
        "chr12\t25245380\t.\tA\tG\t.\tPASS\t.\tGT\t0/1",  # nothing known: kept
    ]
    path = vcf(tmp_path, MUTECT2, records)
    qc, _ = evaluate(path, tmp_path, settings, mini_kb)
    assert qc["records_read"] == 4
    assert qc["alleles_after_split"] == 5
    assert qc["records_passing"] == 2
    assert qc["filtered"] == {"filter_not_pass": 1, "low_depth": 2}
    assert qc["unknown_values_kept"] == {"alt_reads": 1, "depth": 1, "vaf": 1}
    assert qc["ref_checked"] is False
    assert any("without alt_reads, depth, vaf values were kept" in w for w in qc["warnings"])
    assert qc["caller"] is None  # nothing in the header names one
    assert (
        "read support could not be read for 1 allele(s) (caller not recognised; fields looked "
        "for: FORMAT AD, DP, AF, FA;" in " ".join(qc["warnings"])
    )
    rows = (tmp_path / "out" / "variants.tsv").read_text(encoding="utf-8").splitlines()
    header = rows[0].split("\t")
    unknown = dict(zip(header, rows[-1].split("\t"), strict=True))
    assert (unknown["pos"], unknown["depth"], unknown["alt_reads"], unknown["vaf"]) == (
        "25245380",
        "",
        "",
        "",
    )


def test_values_a_field_cannot_hold_are_left_out_and_counted():
    from haicgx.qc import QcTally, ReadSupport, checked

    tally = QcTally()
    out = checked(ReadSupport(-100, -5, 7.5, "FORMAT AD"), tally, "chr12:1")
    assert (out.depth, out.alt_reads, out.vaf) == (None, None, None)
    out = checked(ReadSupport(100, 30, float("inf"), "FORMAT AF"), tally, "chr12:2")
    assert out.vaf is None and out.depth == 100
    assert tally.invalid == {"allele fraction": 2, "depth": 1, "alt reads": 1}
    assert tally.invalid_first["allele fraction"] == "chr12:1 (7.5)"
    good = ReadSupport(100, 30, 0.3, "FORMAT AF")
    assert checked(good, tally, "chr12:3") is good


# -- callers beyond Mutect2 (their real files: tests/integration/test_callers.py) ---------------

SNIPER = [fmt("GT", "1", "String"), fmt("DP", "1", "Integer"), fmt("DP4", "4", "Integer")]


def test_somaticsniper_alt_reads_are_the_alt_base_count_not_dp4s_non_reference_reads(tmp_path):
    """From test_sniper.vcf, 1:121484945 T>C: DP4 says 9 non-reference reads, but 2 of them are
    A; BCOUNT (A,C,G,T) gives C its own 7. Without BCOUNT, DP4 is read for a biallelic record
    only."""
    record = "chr12\t{pos}\t.\tT\t{alt}\t.\tPASS\t.\tGT:DP:DP4{bc}\t0/1:39:14,16,2,7{bcv}"
    with_bcount = vcf(
        tmp_path,
        [*SNIPER, fmt("BCOUNT", "4", "Integer")],
        [record.format(pos=25245350, alt="C", bc=":BCOUNT", bcv=":2,7,0,30")],
    )
    (got,) = support(with_bcount, tmp_path)
    assert got == ReadSupport(39, 7, 0.1795, "FORMAT BCOUNT, FORMAT DP")
    dp4_only = vcf(
        tmp_path,
        SNIPER,
        [
            record.format(pos=25245350, alt="C", bc="", bcv=""),
            record.format(pos=25245360, alt="C,A", bc="", bcv=""),
        ],
    )
    biallelic, *split = support(dp4_only, tmp_path)
    assert biallelic == ReadSupport(39, 9, 0.2308, "FORMAT DP4, FORMAT DP")
    assert [(s.depth, s.alt_reads, s.vaf) for s in split] == [(39, None, None)] * 2


def test_strelka1_indel_counts_left_undeclared_are_read_as_numbers(tmp_path):
    """Strelka 1 writes TAR/TIR/TOR without declaring them; haicgx declares them as String for
    bcftools, and the reader still takes '19,19' as tier-1 19 (test_strelka.vcf 2:102626146)."""
    path = vcf(
        tmp_path,
        [fmt("DP", "1", "Integer")],  # TAR, TIR, TOR, DP2 undeclared, as in the file
        [
            "chr12\t25245350\t.\tCG\tC\t.\tPASS\t.\tDP:DP2:TAR:TIR:TOR"
            "\t91:91:87,89:0,0:3,1\t89:89:19,19:57,58:12,11"
        ],
        samples=("NORMAL", "TUMOR"),
    )
    (got,) = support(path, tmp_path)
    assert got == ReadSupport(76, 57, 0.75, "FORMAT TAR/TIR (Strelka)")


VARDICT = [fmt("GT", "1", "String"), fmt("DP", "1", "Integer"), fmt("VD", "1", "Integer")]
VARDICT += [fmt("ALD", "2", "Integer"), fmt("RD", "2", "Integer"), fmt("AD", "R", "Integer")]
VARDICT += [fmt("AF", "A", "Float")]


def test_vardict_paired_ad_vd_dp_af(tmp_path):
    """VarDict's paired output (var2vcf_paired.pl): AD is RD,VD; RD is the reference reads by
    strand (Number=2, not VarScan's RD); DP counts other alleles too. Without AD, VD is read."""
    path = vcf(
        tmp_path,
        VARDICT,
        [
            "chr12\t25245350\t.\tC\tT\t.\tPASS\t.\tGT:DP:VD:ALD:RD:AD:AF"
            "\t0/1:102:30:16,14:35,35:70,30:0.2941",
            "chr12\t25245360\t.\tC\tT\t.\tPASS\t.\tGT:DP:VD:ALD:RD:AD:AF"
            "\t0/1:102:30:16,14:35,35:.:.",
        ],
    )
    with_ad, vd_only = support(path, tmp_path)
    assert with_ad == ReadSupport(102, 30, 0.2941, "FORMAT AD, FORMAT DP, FORMAT AF")
    assert vd_only == ReadSupport(102, 30, 0.2941, "FORMAT VD, FORMAT DP")


def test_radia_af_is_per_allele_with_ref_first(tmp_path):
    """RADIA's AD and AF (Number=.) hold REF's value first; bcftools norm does not split them."""
    formats = [fmt("GT", "1", "String"), fmt("DP", "1", "Integer"), fmt("AD", ".", "Integer")]
    formats += [fmt("AF", ".", "Float")]
    path = vcf(
        tmp_path,
        formats,
        [
            "chr12\t25245350\t.\tC\tT\t.\tPASS\t.\tGT:DP:AD:AF\t0/1:106:95,11:0.9,0.1",
            "chr12\t25245360\t.\tG\tA,C,T\t.\tPASS\t.\tGT:DP:AD:AF"
            "\t0/1:185:159,24,1,1:0.86,0.13,0.01,0.01",
        ],
    )
    got = [(s.depth, s.alt_reads, s.vaf) for s in support(path, tmp_path)]
    assert got == [(106, 11, 0.1), (185, 24, 0.13), (185, 1, 0.01), (185, 1, 0.01)]


@pytest.mark.parametrize(
    ("lines", "callers"),
    [
        (['##GATKCommandLine=<ID=Mutect2,CommandLine="Mutect2 -R ref.fa">'], ["Mutect2"]),
        (["##source=FilterMutectCalls"], ["Mutect2"]),
        (['##GATKCommandLine.MuTect2=<ID=MuTect2,Version=3.6-0-gf185a75,Date="x">'], ["Mutect2"]),
        (['##MuTect="analysis_type=MuTect input_file=[t.bam]"'], ["MuTect1"]),
        (["##source=strelka", "##source_version=2.9.10"], ["Strelka"]),
        (["##source=VarDict_v1.8.2"], ["VarDict"]),
        (["##source=SomaticSniper"], ["SomaticSniper"]),
        (['##source="RADIA pipeline v1.1.5"'], ["RADIA"]),
        (["##source=pindel"], ["Pindel"]),
        (["##source=VarscanSomatic", "##source=Strelka"], ["Strelka", "VarScan 2"]),
        (["##bcftools_annotateCommand=annotate -h x /data/pindel_and_varscan.vcf"], []),
        (["##source=HaplotypeCaller"], []),
    ],
)
def test_callers_are_recognised_by_their_own_header_lines(lines, callers):
    assert recognise_callers(lines) == callers


# -- not_in_tumour: the genotype and the reads ------------------------------------------------


def test_reference_genotype_is_absence_only_when_the_reads_agree(tmp_path, settings, mini_kb):
    """Pindel-style records (tumour GT 0/0, reads in AD): kept when the reads show the ALT above
    the QC floor; `not_in_tumour` when the reads show none, or when the GT is all there is."""
    formats = [fmt("GT", "1", "String"), fmt("AD", ".", "Integer"), fmt("DP", "1", "Integer")]
    records = [
        "chr12\t25245350\t.\tC\tT\t.\tPASS\t.\tGT:AD:DP\t0/0:43,4:47",  # reads show it: kept
        "chr12\t25245360\t.\tG\tA\t.\tPASS\t.\tGT:AD:DP\t0/0:47,0:47",  # no ALT read
        "chr12\t25245370\t.\tG\tA\t.\tPASS\t.\tGT\t0/0",  # the GT only
    ]
    path = vcf(tmp_path, formats, records, extra=("##source=pindel",))
    lenient = settings.filters | {"min_alt_reads": 0, "min_vaf": 0.0}
    qc, rows = evaluate(path, tmp_path, replace(settings, filters=lenient), mini_kb)
    assert qc["filtered"] == {"not_in_tumour": 2}
    assert [(r["pos"], r["genotype"], r["alt_reads"]) for r in rows] == [("25245350", "0/0", "4")]
    qc, rows = evaluate(path, tmp_path, settings, mini_kb)  # min_alt_reads 4 decides first
    assert qc["filtered"] == {"low_alt_reads": 1, "not_in_tumour": 1}
    assert [r["pos"] for r in rows] == ["25245350"]


def evaluate(path: Path, tmp_path: Path, settings, kb) -> tuple[dict, list[dict]]:
    """The rank job on one file: its QC section and variants.tsv rows."""
    patient = Patient("QC", path, "colorectal", None, (), None, 2)
    folder = tmp_path / "out"
    analyse(patient, settings, kb, folder, annotation="none", fasta=None, gff3=None, build="GRCh38")
    qc = json.loads((folder / "recommendation.json").read_text(encoding="utf-8"))["qc"]
    rows = (folder / "variants.tsv").read_text(encoding="utf-8").splitlines()
    header = rows[0].split("\t")
    return qc, [dict(zip(header, row.split("\t"), strict=True)) for row in rows[1:]]
