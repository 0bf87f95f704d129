"""Read support of real somatic-caller VCFs (vcf2maf's tests: one file per caller), every allele.

Each file goes through the annotate stage as the pipeline runs it (tumour and matched normal
subset, `bcftools norm -m -any`), then through `haicgx.qc.SupportReader`, as the rank job reads
it. The truth is the caller's own FORMAT fields of the same record, parsed here from the raw
text, independently of pysam and of the reader: no expected MAF ships with these caller files
(../shared/testdata/vcf2maf-tests/SOURCES.md), so the callers' counts are compared directly.
Every allele of every record is checked, in the tumour and in the normal column.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from pathlib import Path

import pysam
import pytest
from support import REPO, analyse, annotate_vcf, demo_config
from support import testdata as shared_data

from haicgx.annotate import ORIGINAL_RECORD
from haicgx.consequence import AlleleOrigin
from haicgx.qc import SupportReader
from haicgx.settings import Patient, load_settings

Truth = tuple[int | None, int | None, float | None]  # depth, alt reads, VAF


def _n(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _f(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _ratio(alt: int | None, depth: int | None) -> float | None:
    return round(alt / depth, 4) if alt is not None and depth else None


# One function per caller: (FORMAT of the column as a dict, REF, ALTs, ALT index) -> truth.


def mutect1(f: dict, ref: str, alts: list[str], i: int) -> Truth:
    """MuTect 1: DP; AD per allele; FA, the ALT's fraction."""
    ad = f["AD"].split(",")
    fa = f["FA"].split(",")
    return _n(f["DP"]), _n(ad[i]), _f(fa[i - 1])


def muse(f: dict, ref: str, alts: list[str], i: int) -> Truth:
    """MuSE: DP; AD per allele; no fraction field: AD/DP."""
    alt = _n(f["AD"].split(",")[i])
    return _n(f["DP"]), alt, _ratio(alt, _n(f["DP"]))


def strelka(f: dict, ref: str, alts: list[str], i: int) -> Truth:
    """Strelka 1 somatic: tier-1 counts. SNVs: AU/CU/GU/TU, depth their sum, VAF ALT/(REF+ALT);
    indels: TAR (reference) and TIR (indel) reads, depth TAR+TIR."""
    alt = alts[i - 1]
    if len(ref) == len(alt) == 1:
        tier1 = {b: int(f[f"{b}U"].split(",")[0]) for b in "ACGT"}
        return sum(tier1.values()), tier1[alt], _ratio(tier1[alt], tier1[ref] + tier1[alt])
    tar, tir = int(f["TAR"].split(",")[0]), int(f["TIR"].split(",")[0])
    return tar + tir, tir, _ratio(tir, tar + tir)


def varscan(f: dict, ref: str, alts: list[str], i: int) -> Truth:
    """VarScan 2: DP; RD reference and AD variant reads; FREQ, a percentage."""
    freq = _f(f["FREQ"].rstrip("%"))
    return _n(f["DP"]), _n(f["AD"]), None if freq is None else round(freq / 100, 4)


def somaticsniper(f: dict, ref: str, alts: list[str], i: int) -> Truth:
    """SomaticSniper: DP; BCOUNT, reads per base A,C,G,T (DP4's alt pools every non-reference
    base, so the ALT base's own count is the alt reads); VAF alt/DP."""
    bcount = dict(zip("ACGT", (int(c) for c in f["BCOUNT"].split(",")), strict=True))
    alt = bcount[alts[i - 1]]
    return _n(f["DP"]), alt, _ratio(alt, _n(f["DP"]))


def radia(f: dict, ref: str, alts: list[str], i: int) -> Truth:
    """RADIA: DP; AD and AF one value per allele, REF first (Number=.): the ALT's is at its
    allele index, not the first."""
    if f.get("DP", ".") == ".":
        return None, None, None
    return _n(f["DP"]), _n(f["AD"].split(",")[i]), _f(f["AF"].split(",")[i])


def pindel(f: dict, ref: str, alts: list[str], i: int) -> Truth:
    """Pindel: DP; AD per allele (its tumour GT is 0/0 on somatic calls); VAF AD/DP. One record
    of the file (10:8111432) is VarScan's, in VarScan's fields (RD, AD, FREQ): read as such."""
    if "RD" in f:
        return varscan(f, ref, alts, i)
    alt = _n(f["AD"].split(",")[i])
    return _n(f["DP"]), alt, _ratio(alt, _n(f["DP"]))


# caller as recognised -> file, tumour column, normal column, truth, alleles checked
CALLERS = {
    "MuTect1": ("test_mutect.vcf", "TUMOR", "NORMAL", mutect1, 500),
    "MuSE": ("test_muse.vcf", "TUMOR", "NORMAL", muse, 434),
    "Strelka": ("test_strelka.vcf", "TUMOR", "NORMAL", strelka, 240),
    "VarScan 2": ("test_varscan.vcf", "TUMOR", "NORMAL", varscan, 499),
    "SomaticSniper": ("test_sniper.vcf", "TUMOR", "NORMAL", somaticsniper, 171),
    "RADIA": ("test_radia.vcf", "DNA_TUMOR", "DNA_NORMAL", radia, 95),
    "Pindel": ("test_pindel.vcf", "TUMOR", "NORMAL", pindel, 32),
}

VARSCAN_BAD_RECORD = ("2", 106715342, "G", "A/T")  # its ALT is written 'A/T': not a VCF allele


def raw_truth(path: Path, samples: tuple[str, ...], truth) -> dict:
    """(chrom, pos, REF, ALT) -> the truth of each sample column, from the text of the file."""
    out = {}
    columns: list[str] = []
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        text = handle.read()
    for line in text.splitlines():
        if line.startswith("#CHROM"):
            columns = line.split("\t")
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        keys = fields[8].split(":")
        alts = fields[4].split(",")
        per_sample = {}
        for name in samples:
            values = fields[columns.index(name)].split(":")
            values += ["."] * (len(keys) - len(values))  # trailing fields may be dropped
            per_sample[name] = dict(zip(keys, values, strict=True))
        for i, alt in enumerate(alts, start=1):
            out[(fields[0], int(fields[1]), fields[3], alt)] = tuple(
                four_places(truth(per_sample[name], fields[3], alts, i)) for name in samples
            )
    return out


def same(got: Truth, truth: Truth) -> bool:
    """Depth and alt reads exactly; the VAF to 0.0001: BCF keeps the callers' fractions as 32-bit
    floats (MuTect1's FA 0.00885 reads back as 0.0088499...)."""
    if got[:2] != truth[:2] or (got[2] is None) != (truth[2] is None):
        return False
    return got[2] is None or abs(got[2] - truth[2]) <= 1e-4 + 1e-9


def four_places(truth: Truth) -> Truth:
    """The reader gives VAFs to four decimals (MuTect1 writes FA to six)."""
    depth, alt, vaf = truth
    return depth, alt, None if vaf is None else round(vaf, 4)


def read_samples(prepared) -> tuple[dict, str | None]:
    """(chrom, pos, REF, ALT as the input wrote them) -> read support of each sample (the tumour
    first, then the matched normal), and the caller named."""
    out = {}
    with pysam.VariantFile(str(prepared.path)) as handle:
        reader = SupportReader(handle.header)
        caller = reader.caller
        for rec in handle:
            origin = AlleleOrigin(rec.pos, rec.ref, (rec.alts[0],))
            if ORIGINAL_RECORD in rec.info:
                value = rec.info[ORIGINAL_RECORD]
                origin = AlleleOrigin.parse(value if isinstance(value, str) else ",".join(value))
            key = (rec.chrom, origin.pos, origin.ref, origin.alt)
            out[key] = tuple(reader.read(rec, sample) for sample in rec.samples.values())
    return out, caller


def prepare(vcf: Path, work: Path, tumour: str, normal: str | None, build: str = "GRCh37"):
    """The records the analysis reads (support.annotate_vcf), kept in prepared.bcf."""
    return annotate_vcf(
        vcf,
        work / "prepared.bcf",
        patient="CALLER",
        tumour_sample=tumour,
        normal_sample=normal,
        build=build,
        annotation_mode="none",
    )


@pytest.mark.parametrize("name", list(CALLERS))
def test_read_support_is_the_callers_own_counts_for_every_allele(name, tmp_path):
    """Compared: depth, alt reads and VAF of every allele, tumour and normal, with the caller's
    own FORMAT fields of the same record in vcf2maf-tests/test_<caller>.vcf (the fields each
    truth function above names). The caller is named from the header."""
    folder = shared_data("vcf2maf-tests")
    _, tumour, normal, truth, alleles = CALLERS[name]
    vcf = folder / CALLERS[name][0]  # read in place: VarScan's 'A/T' record is left out (below)
    expected = raw_truth(vcf, (tumour, normal), truth)
    expected.pop(VARSCAN_BAD_RECORD, None)
    found, caller = read_samples(prepare(vcf, tmp_path, tumour, normal))
    assert caller == name
    assert len(found) == len(expected) == alleles
    wrong = {}
    for key, (tumour_truth, normal_truth) in expected.items():
        got = tuple((s.depth, s.alt_reads, s.vaf) for s in found[key])
        if not all(map(same, got, (tumour_truth, normal_truth))):
            wrong[key] = (got, (tumour_truth, normal_truth))
    assert wrong == {}
    # Not vacuous: the tumour column of every file carries counts.
    assert sum(t.alt_reads is not None for t, _ in found.values()) == alleles


def mutect2(f: dict, ref: str, alts: list[str], i: int) -> Truth:
    """Mutect2: AD (REF, ALT); DP where written (GATK 3.6's file below writes none: the depth is
    then AD's sum); AF, the ALT's fraction (Number=1 in GATK 3)."""
    ad = [_n(x) for x in f["AD"].split(",")]
    depth = _n(f.get("DP", "."))
    if depth is None and None not in ad:
        depth = sum(ad)
    return depth, ad[i], _f(f["AF"].split(",")[i - 1])


def strelka2_germline(f: dict, ref: str, alts: list[str], i: int) -> Truth:
    """Strelka2 germline: DP; AD per allele (Number=.); no fraction field: AD/DP."""
    alt = _n(f["AD"].split(",")[i])
    return _n(f["DP"]), alt, _ratio(alt, _n(f["DP"]))


# caller -> shared folder, file, tumour column, truth, alleles read (of alleles in the file)
SINGLE_SAMPLE = {
    "Mutect2": (
        "pvactools-hcc1395",
        "HCC1395.somatic.grch38.vep95.vcf.gz",
        "H_NJ-HCC1395-HCC1395",
        mutect2,
        2732,  # of 2734: two records on chr16_KI270728v1_random, a contig left out (warned)
    ),
    "Strelka": ("vembrane", "snpeff43t_hg38_strelka.ann.vcf", "TUMOR", strelka2_germline, 8),
}


@pytest.mark.parametrize("name", list(SINGLE_SAMPLE))
def test_read_support_of_mutect2_and_strelka2_files(name, tmp_path):
    """Compared as above, every allele read: HCC1395's GATK 3.6 MuTect2 calls (pvactools; FORMAT
    AD and AF, no DP) and Strelka 2.9.10 germline-format calls (vembrane; FORMAT AD, DP)."""
    folder_name, file_name, tumour, truth, alleles = SINGLE_SAMPLE[name]
    vcf = shared_data(folder_name) / file_name
    expected = raw_truth(vcf, (tumour,), truth)
    found, caller = read_samples(prepare(vcf, tmp_path, tumour, None, build="GRCh38"))
    assert caller == name
    assert len(found) == alleles and set(found) <= set(expected)
    wrong = {
        key: (got, expected[key])
        for key, got in found.items()
        if not same((got[0].depth, got[0].alt_reads, got[0].vaf), expected[key][0])
    }
    assert wrong == {}
    assert all(t.alt_reads is not None and t.depth for (t,) in found.values())


def test_varscan_record_with_a_slash_in_alt_is_left_out_with_a_warning(tmp_path):
    """The one 'A/T' ALT of VarScan's 500 records cannot be evaluated: that record alone is left
    out (before bcftools), counted and named in a QC warning; the 499 others are read."""
    vcf = shared_data("vcf2maf-tests") / "test_varscan.vcf"
    prepared = prepare(vcf, tmp_path, "TUMOR", "NORMAL")
    assert [(u.chrom, u.pos, u.ref, u.alt) for u in prepared.facts.unusable] == [VARSCAN_BAD_RECORD]
    warning = next(w for w in prepared.warnings if "cannot be evaluated" in w)
    assert warning.startswith("1 record(s) whose alleles cannot be evaluated were left out")
    assert "2:106715342 ALT 'A/T' has characters other than A, C, G, T, N" in warning
    found, _ = read_samples(prepared)
    assert len(found) == 499 and not any(key[:2] == ("2", 106715342) for key in found)


def test_radia_alt_fraction_is_the_alts_not_the_refs(tmp_path):
    """RADIA's AF holds REF's fraction first: the first value read as the ALT's gave 0.9 for a
    10% allele. Three-allele records read each ALT's own AD and AF after the split."""
    folder = shared_data("vcf2maf-tests")
    found, _ = read_samples(prepare(folder / "test_radia.vcf", tmp_path, "DNA_TUMOR", "DNA_NORMAL"))
    tumour = {key: support for key, (support, _) in found.items()}
    first = tumour[("1", 29651735, "C", "T")]  # AD 95,11 AF 0.9,0.1 DP 106
    assert (first.depth, first.alt_reads, first.vaf) == (106, 11, 0.1)
    three = [tumour[("1", 155294949, "G", alt)] for alt in "ACT"]  # AD 159,24,1,1
    assert [(s.alt_reads, s.vaf) for s in three] == [(24, 0.13), (1, 0.01), (1, 0.01)]


@pytest.fixture(scope="module")
def settings():
    config = demo_config()
    return replace(
        load_settings(config, workdir=REPO),
        annotation="none",
        fasta=None,
        gff3=None,
        build="GRCh37",
    )


def evaluate(vcf: Path, work: Path, tumour: str, normal: str, settings, kb) -> tuple[dict, list]:
    patient = Patient("CALLER", vcf, "colorectal", tumour, (), None, 2, normal_sample=normal)
    analyse(patient, settings, kb, work)
    qc = json.loads((work / "recommendation.json").read_text(encoding="utf-8"))["qc"]
    rows = (work / "variants.tsv").read_text(encoding="utf-8").splitlines()
    header = rows[0].split("\t")
    return qc, [dict(zip(header, row.split("\t"), strict=True)) for row in rows[1:]]


def test_pindel_somatic_calls_with_a_reference_genotype_are_kept_by_their_reads(
    tmp_path, settings, mini_kb
):
    """Pindel writes 0/0 in the tumour column of 30 of its 32 somatic calls; the reads (AD) show
    the ALT. None is `not_in_tumour`: each passes or fails on its reads, as any other call."""
    folder = shared_data("vcf2maf-tests")
    vcf = folder / "test_pindel.vcf"
    qc, rows = evaluate(vcf, tmp_path, "TUMOR", "NORMAL", settings, mini_kb)
    assert qc["caller"] == "Pindel"
    assert "not_in_tumour" not in qc["filtered"]
    expected = raw_truth(vcf, ("TUMOR", "NORMAL"), pindel)
    floor = settings.filters
    passing = {
        key
        for key, ((depth, alt, vaf), _) in expected.items()
        if depth >= floor["min_depth"] and alt >= floor["min_alt_reads"] and vaf >= floor["min_vaf"]
    }
    # 20 pass on their reads: 18 written 0/0 (all dropped as not_in_tumour before) and two 0/1
    assert qc["records_passing"] == len(rows) == len(passing) == 20
    assert sorted(r["genotype"] for r in rows) == ["0/0"] * 18 + ["0/1"] * 2  # as written
    assert sum(qc["filtered"].values()) + qc["records_passing"] == 32


def test_a_file_without_readable_support_says_so_with_its_caller(tmp_path, settings, mini_kb):
    """SomaticSniper's counts blanked out (a copy, BCOUNT and DP4 and DP set to '.'): every allele
    is kept unfiltered, and QC says which caller and which fields were looked for."""
    folder = shared_data("vcf2maf-tests")
    lines = (folder / "test_sniper.vcf").read_text(encoding="utf-8").splitlines()
    blanked = []
    for line in lines:
        if not line.startswith("#"):
            fields = line.split("\t")
            for column in (9, 10):
                values = fields[column].split(":")
                values[2:5] = [".", ".", "."]  # DP, DP4, BCOUNT of GT:IGT:DP:DP4:BCOUNT:...
                fields[column] = ":".join(values)
            line = "\t".join(fields)
        blanked.append(line)
    vcf = tmp_path / "sniper_blank.vcf"
    vcf.write_text("\n".join(blanked) + "\n", encoding="utf-8")
    qc, _ = evaluate(vcf, tmp_path, "TUMOR", "NORMAL", settings, mini_kb)
    assert qc["caller"] == "SomaticSniper"
    (warning,) = [w for w in qc["warnings"] if w.startswith("read support could not be read")]
    assert "for 107 allele(s) (caller SomaticSniper;" in warning  # the FILTER=PASS ones
    assert "FORMAT BCOUNT, DP4, DP" in warning
    assert qc["unknown_values_kept"] == {"alt_reads": 107, "depth": 107, "vaf": 107}
