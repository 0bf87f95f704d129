"""Generate the demo cohort: a mini GRCh38 reference, synthetic gene models and ten patient VCFs.

Run from anywhere with ``.venv/bin/python resources/demo/make_demo.py``. Every output is
byte-identical on every run (fixed seed, fixed write order), so the results are committed.

Everything written here is SYNTHETIC and for demonstrating and testing haicgx only:

* the FASTA has the real GRCh38 contig names and lengths, but it is N everywhere except small
  windows of seeded random sequence around the modelled genes and the demo variants;
* inside those windows the bases at every demo variant (and at every PharmCAT DPYD/UGT1A1
  position) are the real GRCh38 REF alleles, so real-world VCF records pass a REF check;
* the gene models put each demo variant at its real c. position with the real reference and
  variant residue, so ``bcftools csq`` reproduces the real consequence and protein change.
  DPYD, UGT1A1 and KRAS use their real exon coordinates; the other genes have invented exon
  layouts around real anchor positions. The rest of every protein is random.

Never use these files for a real patient.
"""

from __future__ import annotations

import itertools
import os
import random
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import pysam
import pysam.bcftools

from haicgx.builds import PRIMARY_CONTIGS

SEED = 20261125
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
REF_DIR = HERE / "reference"
VCF_DIR = HERE / "vcf"
FASTA = REF_DIR / "demo_grch38.fa.gz"
GFF3 = REF_DIR / "demo_grch38.gff3"
SHEET = ROOT / "config" / "demo_patients.tsv"

LINE = 60  # FASTA line length
EXON_FLANK = 40  # random bases kept on each side of an exon (splice sites and region)
SITE_FLANK = 25  # random bases kept on each side of a lone variant position
INTRON = 150  # intron length between invented exons

# GRCh38 primary assembly (names and lengths as in the GRCh38 analysis sets). Every VCF declares
# all of them, like real callers do; the FASTA carries only the contigs the demo needs.
GRCH38 = PRIMARY_CONTIGS["GRCh38"]  # real GRCh38 names and lengths, in karyotype order
FASTA_CONTIGS = ("chr1", "chr2", "chr3", "chr7", "chr12", "chr13", "chr17")

BASES = "ACGT"
COMPLEMENT = str.maketrans("ACGTN", "TGCAN")
CODE = dict(
    zip(
        (a + b + c for a in "TCAG" for b in "TCAG" for c in "TCAG"),
        "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG",
        strict=True,
    )
)
CODONS = sorted(CODE)  # sorted so that seeded choices never depend on dict order

# --------------------------------------------------------------------------------------------
# Real GRCh38 facts the models must reproduce
# --------------------------------------------------------------------------------------------

# Every DPYD position PharmCAT genotypes (definitions/DPYD_translation.json, GRCh38.p14), with
# its CPIC c. name (NM_000110) and the protein change PyPGx lists (variant-table.csv). The REF
# goes into the FASTA; the c. name checks the exon layout; the protein change fixes the codon.
# "=" marks a synonymous change, "-" a change with no single-residue effect; for a frameshift
# only the reference residue is used. PharmCAT's DPYD test VCFs spell c.1898delC as
# chr1:97450066 GG>G, which also fixes chr1:97450067 (the first C of the Pro633 codon).
DPYD_SITES = """
97078987 G T c.3067C>A P1023T
97078993 C G c.3061G>C V1021L
97079005 C T c.3049G>A V1017I
97079071 C A c.2983G>T V995F
97079076 A C c.2978T>G L993R
97079077 G A c.2977C>T L993F
97079121 T C c.2933A>G H978R
97079133 T A c.2921A>T D974V
97079139 T C c.2915A>G Q972R
97082365 T C c.2872A>G K958E
97082391 T A c.2846A>T D949V
97098598 C T c.2657G>A R886H
97098599 G A c.2656C>T R886C
97098616 C A c.2639G>T G880V
97098632 T G c.2623A>C K875Q
97193109 T C c.2582A>G K861R
97193209 C T c.2482G>A E828K
97234958 G T c.2336C>A T779N
97234991 G T c.2303C>A T768K
97305279 G A c.2279C>T T760I
97305363 A C c.2195T>G V732G
97305364 C T c.2194G>A V732I
97305372 G A c.2186C>T A729V
97306195 C T c.2161G>A A721T
97373598 C T c.2021G>A G674D
97373629 C A c.1990G>T A664S
97382461 T G c.1906A>C I636L
97450058 C T c.1905+1G>A -
97450059 G C c.1905C>G N635K
97450065 TG T c.1898delC P633fs
97450068 A G c.1896T>C F632=
97450168 A G c.1796T>C M599T
97450187 C T c.1777G>A G593R
97450189 C T c.1775G>A R592Q
97450190 G A c.1774C>T R592W
97515784 C A c.1682G>T R561L
97515787 A C c.1679T>G I560S
97515839 T C c.1627A>G I543V
97515851 C T c.1615G>A G539R
97515865 C T c.1601G>A S534N
97515889 G C c.1577C>G T526S
97515923 C T c.1543G>A V515I
97549565 C T c.1519G>A V507I
97549600 T C c.1484A>G D495G
97549609 G A c.1475C>T S492L
97549681 G T c.1403C>A T468N
97549713 G A c.1371C>T =
97549726 G C c.1358C>G P453R
97549735 G A c.1349C>T A450V
97573785 A C c.1314T>G F438L
97573805 C T c.1294G>A D432N
97573821 C A c.1278G>T M426I
97573839 A T c.1260T>A N420K
97573863 C T c.1236G>A E412=
97573881 C T c.1218G>A M406I
97573918 C A c.1181G>T R394L
97573919 G A c.1180C>T R394W
97573943 C A c.1156G>T E386*
97579893 G C c.1129-5923C>G -
97593238 T C c.1108A>G I370V
97593289 G A c.1057C>T R353C
97593322 C T c.1024G>A D342N
97593343 C A c.1003G>T V335L
97593379 C T c.967G>A A323T
97595083 G A c.934C>T L312F
97595088 A G c.929T>C L310S
97595149 T C c.868A>G K290E
97679170 T C c.775A>G K259E
97691776 G A c.703C>T R235W
97699399 T C c.632A>G Y211C
97699430 T G c.601A>C S201R
97699474 T C c.557A>G Y186C
97699506 C T c.525G>A =
97699533 C T c.498G>A M166I
97699535 T C c.496A>G M166V
97721542 T C c.451A>G N151D
97721650 T C c.343A>G M115V
97740400 C T c.313G>A A105T
97740410 GATGA G c.295_298delTCAT F100fs
97883329 A G c.85T>C C29R
97883352 C T c.62G>A R21Q
97883353 G A c.61C>T R21*
97883368 G C c.46C>G L16V
"""

# UGT1A1 positions PharmCAT genotypes, with PyPGx protein changes. rs887829 (*80) is upstream;
# rs4124874 (the former *60 position, REF from PharmCAT's UGT1A1 test VCFs) has no c. name here.
UGT1A1_SITES = """
233757013 T G . -
233759924 C T c.-364C>T -
233760498 G A c.211G>A G71R
233760973 C A c.686C>A P229Q
"""

# The UGT1A1 promoter TATA box: the base before the repeat, then A(TA)7 (CPIC/PharmCAT count:
# g.233760235TA[7]; conventionally "(TA)6", i.e. A(TA)6TAA), then AG. An extra TA (*28) written
# anywhere in the tract left-aligns to chr2:233760233 C>CAT, which is what normalisers produce.
UGT1A1_TATA = (233760233, "CATATATATATATATAAG")

# --------------------------------------------------------------------------------------------
# Gene models
# --------------------------------------------------------------------------------------------


@dataclass
class Gene:
    """One protein-coding gene with its canonical transcript.

    ``exons`` are 1-based inclusive genomic intervals in transcript order; ``cds_start`` is the
    genomic position of c.1 and ``cds_len`` counts the stop codon. ``sites`` are real variants
    (pos, ref, alt, c. name, protein change) that fix bases and codons of the model.
    """

    symbol: str
    gene_id: str
    transcript_id: str
    chrom: str
    strand: str
    exons: list[tuple[int, int]]
    cds_start: int
    cds_len: int
    sites: list[tuple[int, str, str, str, str]] = field(default_factory=list)


def parse_sites(table: str) -> list[tuple[int, str, str, str, str]]:
    """Read a whitespace table of ``pos ref alt c.name protein`` rows."""
    rows = []
    for line in table.strip().splitlines():
        pos, ref, alt, hgvs, protein = line.split()
        rows.append((int(pos), ref, alt, hgvs, protein))
    return rows


def from_ucsc(starts: str, ends: str, strand: str) -> list[tuple[int, int]]:
    """Exons from UCSC-style 0-based starts and 1-based ends, returned in transcript order."""
    exons = [
        (int(s) + 1, int(e))
        for s, e in zip(starts.strip(",").split(","), ends.strip(",").split(","), strict=True)
    ]
    return sorted(exons, reverse=strand == "-")


def invented_exons(
    strand: str,
    bounds: list[int],
    cds_len: int,
    anchors: dict[int, tuple[int, int]],
    utr5: int = 60,
    utr3: int = 150,
) -> tuple[list[tuple[int, int]], int]:
    """Lay out exons so that each anchor (c. position -> genomic position) holds.

    ``bounds`` are the c. positions where exons 2, 3, ... begin; ``anchors`` maps an exon index
    to one (c., genomic) pair inside it. Exons without an anchor sit INTRON bases from their
    neighbour. The first exon carries a 5' UTR and the last a 3' UTR. Returns the exons in
    transcript order and the genomic position of c.1.
    """
    step = 1 if strand == "+" else -1
    starts = [1, *bounds]
    ends = [b - 1 for b in bounds] + [cds_len]
    starts[0] -= utr5  # c. positions <= 0 are the 5' UTR, > cds_len the 3' UTR
    ends[-1] += utr3
    first_g: dict[int, int] = {}  # exon index -> genomic position of its first transcript base
    for i, (c, g) in anchors.items():
        assert starts[i] <= c <= ends[i], (i, c)
        first_g[i] = g - step * (c - starts[i])
    n = len(starts)
    for i in range(min(first_g) + 1, n):  # downstream of the first anchor
        if i not in first_g:
            last = first_g[i - 1] + step * (ends[i - 1] - starts[i - 1])
            first_g[i] = last + step * (INTRON + 1)
    for i in range(min(first_g) - 1, -1, -1):  # upstream of it
        last = first_g[i + 1] - step * (INTRON + 1)
        first_g[i] = last - step * (ends[i] - starts[i])
    exons = []
    for i in range(n):
        a, b = first_g[i], first_g[i] + step * (ends[i] - starts[i])
        exons.append((min(a, b), max(a, b)))
    for (s1, e1), (s2, e2) in itertools.pairwise(exons):
        gap = s2 - e1 if strand == "+" else s1 - e2
        assert gap > 2 * EXON_FLANK, f"exons overlap or touch: {exons}"
    c1 = first_g[0] + step * (1 - starts[0])
    return exons, c1


def build_genes() -> list[Gene]:
    genes = []
    # DPYD: real exons of NM_000110 (PyPGx gene-table.csv, GRCh38); c.1 follows from c.61 at
    # chr1:97883353 in exon 2. 1025 aa.
    dpyd_exons = from_ucsc(
        "97077742,97082329,97098488,97193068,97234851,97305258,97306176,97373560,97382392,"
        "97450058,97515725,97549559,97573759,97593217,97595058,97679094,97691716,97699350,"
        "97721509,97740391,97828113,97883263,97920883",
        "97079146,97082470,97098632,97193248,97234994,97305378,97306297,97373644,97382461,"
        "97450223,97515941,97549744,97573970,97593387,97595166,97679182,97691798,97699547,"
        "97721671,97740479,97828196,97883374,97921034",
        "-",
    )
    genes.append(
        Gene(
            "DPYD",
            "ENSG00000188641",
            "ENST00000370192",
            "chr1",
            "-",
            dpyd_exons,
            97920922,
            3078,
            parse_sites(DPYD_SITES),
        )
    )
    # UGT1A1: real exons of NM_000463 (PyPGx); c.1 is chr2:233760288. 533 aa.
    ugt_exons = from_ucsc(
        "233760269,233767033,233767848,233768219,233772261",
        "233761151,233767165,233767936,233768439,233773300",
        "+",
    )
    genes.append(
        Gene(
            "UGT1A1",
            "ENSG00000241635",
            "ENST00000305208",
            "chr2",
            "+",
            ugt_exons,
            233760288,
            1602,
            parse_sites(UGT1A1_SITES),
        )
    )
    # KRAS: real exons of ENST00000311936 (Ensembl, as listed by crisprDesignData); CDS
    # chr12:25209795-25245384, 188 aa. Codons 12 and 13 sit at 25245349-25245351 / -346-348.
    kras_sites = [
        (25245350, "C", "T", "c.35G>A", "G12D"),
        (25245350, "C", "A", "c.35G>T", "G12V"),
        (25245347, "C", "T", "c.38G>A", "G13D"),
    ]
    genes.append(
        Gene(
            "KRAS",
            "ENSG00000133703",
            "ENST00000311936",
            "chr12",
            "-",
            [
                (25250751, 25250929),
                (25245274, 25245395),
                (25227234, 25227412),
                (25225614, 25225773),
                (25205246, 25209911),
            ],
            25245384,
            567,
            kras_sites,
        )
    )
    # BRAF: exon 15 (c.1742-1860) at its real place, chr7:140753275-140753393; other exons
    # invented. 766 aa.
    exons, c1 = invented_exons("-", [1742, 1861], 2301, {1: (1799, 140753336)})
    genes.append(
        Gene(
            "BRAF",
            "ENSG00000157764",
            "ENST00000646891",
            "chr7",
            "-",
            exons,
            c1,
            2301,
            [(140753336, "A", "T", "c.1799T>A", "V600E")],
        )
    )
    # TP53: real c. exon boundaries; exons 5, 7 and 8 placed by their hotspots, the others
    # invented. 393 aa. c.814G>A is the TCGA-A2-A04W call of the PCGR example (chr17:7673806).
    exons, c1 = invented_exons(
        "-",
        [75, 97, 376, 560, 673, 783, 920, 994, 1101],
        1182,
        {3: (524, 7675088), 5: (747, 7674216), 6: (818, 7673802)},
    )
    genes.append(
        Gene(
            "TP53",
            "ENSG00000141510",
            "ENST00000269305",
            "chr17",
            "-",
            exons,
            c1,
            1182,
            [
                (7675088, "C", "T", "c.524G>A", "R175H"),
                (7674216, "C", "A", "c.747G>T", "R249S"),
                (7673806, "C", "T", "c.814G>A", "V272M"),
                (7673802, "C", "T", "c.818G>A", "R273H"),
            ],
        )
    )
    # PIK3CA: invented exons around c.1633 (chr3:179218303) and c.3140 (chr3:179234297).
    # 1068 aa.
    exons, c1 = invented_exons(
        "+", [1570, 1761, 3076], 3207, {1: (1633, 179218303), 3: (3140, 179234297)}
    )
    genes.append(
        Gene(
            "PIK3CA",
            "ENSG00000121879",
            "ENST00000263967",
            "chr3",
            "+",
            exons,
            c1,
            3207,
            [
                (179218303, "G", "A", "c.1633G>A", "E545K"),
                (179218303, "G", "C", "c.1633G>C", "E545Q"),
                (179234297, "A", "G", "c.3140A>G", "H1047R"),
            ],
        )
    )
    # BRCA2: invented exons around c.4777 (chr13:32339132), the HCC1395 stop-gain (VEP 95:
    # exon 11/27, p.E1593*, codon Gaa/Taa). 3418 aa.
    exons, c1 = invented_exons("+", [1910, 6842], 10257, {1: (4777, 32339132)})
    genes.append(
        Gene(
            "BRCA2",
            "ENSG00000139618",
            "ENST00000380152",
            "chr13",
            "+",
            exons,
            c1,
            10257,
            [(32339132, "G", "T", "c.4777G>T", "E1593*")],
        )
    )
    return genes


# --------------------------------------------------------------------------------------------
# Demo variants and patients
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    chrom: str
    pos: int
    ref: str
    alt: str  # comma-separated for a multi-allelic record
    rsid: str = "."


# Named demo variants. Somatic hotspots and PGx alleles are real GRCh38 records.
V = {
    "KRAS_G12D": Variant("chr12", 25245350, "C", "T"),
    "KRAS_G12V": Variant("chr12", 25245350, "C", "A"),
    "KRAS_G13D": Variant("chr12", 25245347, "C", "T"),
    "BRAF_V600E": Variant("chr7", 140753336, "A", "T"),
    "TP53_R175H": Variant("chr17", 7675088, "C", "T"),
    "TP53_R249S": Variant("chr17", 7674216, "C", "A"),
    "TP53_V272M": Variant("chr17", 7673806, "C", "T"),
    "TP53_R273H": Variant("chr17", 7673802, "C", "T"),
    "PIK3CA_E545KQ": Variant("chr3", 179218303, "G", "A,C"),
    "PIK3CA_H1047R": Variant("chr3", 179234297, "A", "G"),
    "BRCA2_E1593X": Variant("chr13", 32339132, "G", "T"),
    "DPYD_c85TC": Variant("chr1", 97883329, "A", "G", "rs1801265"),
    "DPYD_c1627AG": Variant("chr1", 97515839, "T", "C", "rs1801159"),
    "DPYD_c1679TG": Variant("chr1", 97515787, "A", "C", "rs55886062"),
    "DPYD_c1896TC": Variant("chr1", 97450068, "A", "G", "rs17376848"),
    "DPYD_c1905p1GA": Variant("chr1", 97450058, "C", "T", "rs3918290"),
    "DPYD_HapB3_intron": Variant("chr1", 97579893, "G", "C", "rs75017182"),
    "DPYD_HapB3_c1236GA": Variant("chr1", 97573863, "C", "T", "rs56038477"),
    "UGT1A1_6": Variant("chr2", 233760498, "G", "A", "rs4148323"),
    # *28 in three spellings: PharmCAT's, the minimal left-aligned one, and right-shifted.
    "UGT1A1_28_pharmcat": Variant("chr2", 233760233, "CAT", "CATAT", "rs3064744"),
    "UGT1A1_28": Variant("chr2", 233760233, "C", "CAT", "rs3064744"),
    "UGT1A1_28_shifted": Variant("chr2", 233760248, "A", "ATA", "rs3064744"),
}

# Passengers: real somatic calls of the HCC1395 cell line (pVACtools test data, GRCh38, REF as
# called), none in a modelled gene. Their real consequence (VEP 95) is in the README; csq
# leaves them unannotated here because the mini reference has no model for those genes.
P = {
    "PDIA6_intron": Variant("chr2", 10797605, "C", "A"),
    "SCRN1_intron": Variant("chr7", 29947395, "T", "C"),
    "DOCK9_syn": Variant("chr13", 98831468, "G", "C"),
    "CDV3_intron": Variant("chr3", 133586953, "T", "C"),
    "ATN1_syn": Variant("chr12", 6938930, "C", "T"),
    "GAS7_intron": Variant("chr17", 9959188, "C", "G"),
    "intergenic_chr2": Variant("chr2", 94202171, "T", "G"),
    "ATP12A_intron": Variant("chr13", 24709336, "T", "C"),
    "MAP7D1_syn": Variant("chr1", 36179727, "G", "A"),
    "RHBDD2_intron": Variant("chr7", 75881386, "G", "A"),
    "UROC1_syn": Variant("chr3", 126498142, "G", "A"),
    "KNTC1_intron": Variant("chr12", 122591322, "C", "T"),
    "CLYBL_intron": Variant("chr13", 99643225, "C", "T"),
    "CPO_intron": Variant("chr2", 206960746, "G", "A"),
    "RAP1GAP2_intron": Variant("chr17", 2905426, "C", "T"),
    "TRIM24_syn": Variant("chr7", 138583927, "C", "T"),
    "BARHL2_syn": Variant("chr1", 90714575, "G", "C"),
    "EHHADH_intron": Variant("chr3", 185245893, "G", "T"),
    "upstream_chr12": Variant("chr12", 40446404, "A", "G"),
    "FAM83G_intron": Variant("chr17", 18988513, "C", "T"),
    "KIF1A_intron": Variant("chr2", 240745596, "G", "A"),
    "AMZ1_syn": Variant("chr7", 2712473, "G", "T"),
    "A2ML1_intron": Variant("chr12", 8841254, "T", "A"),
    "NEK10_intron": Variant("chr3", 27162329, "C", "T"),
    "GNAI3_downstream": Variant("chr1", 109621023, "C", "A"),
    "AMER2_syn": Variant("chr13", 25169964, "C", "T"),
}
ALL_VARIANTS = {**V, **P}


@dataclass(frozen=True)
class Sample:
    """One sample's call: genotype and allelic depths (ref first)."""

    gt: str
    ad: tuple[int, ...]


@dataclass(frozen=True)
class Call:
    key: str
    tumour: Sample
    normal: Sample | None = None
    filter: str = "PASS"


def somatic(key: str, dp: int, vaf: float, filt: str = "PASS", normal_dp: int = 0) -> Call:
    """A somatic SNV/indel: heterozygous in the tumour, absent from the normal if there is one."""
    alt = round(dp * vaf)
    normal = Sample("0/0", (normal_dp, 0)) if normal_dp else None
    return Call(key, Sample("0/1", (dp - alt, alt)), normal, filt)


def germline(
    key: str,
    dp: int,
    vaf: float,
    normal: tuple[int, float] | None = None,
    gt: str | None = None,
) -> Call:
    """A germline call: 0/1 near VAF 0.5, 1/1 near 1.0, seen in the normal too if given.
    `gt` overrides the genotype (Mutect2 writes 0/1 whatever the VAF)."""
    gt = gt or ("1/1" if vaf > 0.9 else "0/1")
    alt = round(dp * vaf)
    norm_sample = None
    if normal:
        ndp, nvaf = normal
        nalt = round(ndp * nvaf)
        norm_sample = Sample(gt, (ndp - nalt, nalt))
    return Call(key, Sample(gt, (dp - alt, alt)), norm_sample)


def lost_in_tumour(key: str, dp: int, normal: tuple[int, float]) -> Call:
    """A germline heterozygote the tumour lost (loss of heterozygosity): 0/1 in the normal, 0/0
    with a stray read in the tumour."""
    ndp, nvaf = normal
    nalt = round(ndp * nvaf)
    return Call(key, Sample("0/0", (dp - 1, 1)), Sample("0/1", (ndp - nalt, nalt)))


@dataclass(frozen=True)
class Patient:
    patient_id: str
    primary_site: str
    file_format: str  # vcf, vcf.gz or bcf
    calls: tuple[Call, ...]
    tumour_sample: str = ""
    prior_drugs: str = ""
    crcl_ml_min: str = ""
    # How the DPYD/UGT1A1 allele positions without a variant appear: "" not at all (a
    # variant-only file), "reference" as 0/0 records (forced genotyping at PharmCAT's
    # positions), "gvcf" as one-base <NON_REF> reference blocks.
    pgx_positions: str = ""


PATIENTS = (
    Patient(
        "DEMO01",
        "colorectal",
        "vcf",
        (
            somatic("KRAS_G12D", 212, 0.34),
            germline("DPYD_c85TC", 96, 0.48),
            germline("UGT1A1_28_pharmcat", 58, 0.45),
            somatic("PDIA6_intron", 143, 0.22),
            somatic("SCRN1_intron", 98, 0.18),
            somatic("DOCK9_syn", 64, 0.0625, filt="weak_evidence"),
        ),
        crcl_ml_min="92",
        pgx_positions="reference",
    ),
    Patient(
        "DEMO02",
        "colorectal",
        "vcf",
        (
            somatic("BRAF_V600E", 188, 0.37, normal_dp=74),
            germline("DPYD_HapB3_intron", 120, 0.47, normal=(70, 0.51)),
            germline("DPYD_HapB3_c1236GA", 134, 0.52, normal=(81, 0.49)),
            somatic("CDV3_intron", 110, 0.29, normal_dp=66),
            somatic("ATN1_syn", 156, 0.21, normal_dp=83),
            Call(
                "GAS7_intron",
                Sample("0/1", (76, 14)),
                Sample("0/0", (57, 3)),
                "normal_artifact",
            ),
        ),
        crcl_ml_min="88",
        pgx_positions="reference",
    ),
    Patient(
        "DEMO03",
        "pancreatic",
        "vcf.gz",
        (
            somatic("BRCA2_E1593X", 176, 0.42),
            somatic("TP53_R175H", 204, 0.38),
            somatic("KRAS_G12V", 167, 0.27),
            somatic("intergenic_chr2", 121, 0.19),
            somatic("ATP12A_intron", 88, 0.24),
            somatic("MAP7D1_syn", 11, 0.36),  # low depth
        ),
        prior_drugs="gemcitabine",
        crcl_ml_min="76",
        pgx_positions="gvcf",
    ),
    Patient(
        "DEMO04",
        "gastric",
        "vcf",
        (
            # *2A in the normal, lost in the tumour (1p loss): the genotype is the normal's.
            lost_in_tumour("DPYD_c1905p1GA", 142, normal=(77, 0.48)),
            somatic("TP53_R175H", 166, 0.31, normal_dp=71),
            somatic("RHBDD2_intron", 132, 0.26, normal_dp=64),
            somatic("UROC1_syn", 101, 0.17, normal_dp=58),
        ),
        prior_drugs="oxaliplatin",
        crcl_ml_min="80",
        pgx_positions="reference",
    ),
    Patient(
        "DEMO05",
        "biliary",
        "vcf",
        (
            germline("DPYD_c1679TG", 104, 0.47),
            germline("DPYD_c1905p1GA", 118, 0.51),
            somatic("KNTC1_intron", 95, 0.21),
            somatic("CLYBL_intron", 77, 0.33),
            somatic("CPO_intron", 200, 0.03),  # low VAF
        ),
        tumour_sample="TUMOR",
        crcl_ml_min="95",
    ),
    Patient(
        "DEMO06",
        "hcc",
        "vcf",
        (
            # Mutect2's placeholder 0/1 at a homozygous allele fraction
            germline("UGT1A1_28_shifted", 64, 0.984, gt="0/1"),
            somatic("TP53_R249S", 143, 0.36),
            somatic("RAP1GAP2_intron", 88, 0.23),
            somatic("TRIM24_syn", 134, 0.19),
        ),
        crcl_ml_min="71",
        pgx_positions="reference",
    ),
    Patient(
        "DEMO07",
        "breast",
        "vcf",
        (
            # Mutect2 writes multi-allelic tumour calls with a 0/1/2 genotype.
            Call("PIK3CA_E545KQ", Sample("0/1/2", (88, 41, 19))),
            somatic("PIK3CA_H1047R", 171, 0.41),
            somatic("TP53_V272M", 94, 0.35),
            somatic("BARHL2_syn", 115, 0.28),
            somatic("EHHADH_intron", 102, 0.22),
            somatic("upstream_chr12", 220, 0.032),  # low VAF
        ),
        prior_drugs="paclitaxel",
        crcl_ml_min="105",
    ),
    Patient(
        "DEMO08",
        "colorectal",
        "vcf",
        (
            somatic("KRAS_G13D", 187, 0.29),
            germline("DPYD_c1896TC", 112, 0.5),
            somatic("FAM83G_intron", 97, 0.26),
            somatic("KIF1A_intron", 126, 0.2),
        ),
        prior_drugs="oxaliplatin;fluorouracil",
        crcl_ml_min="48",
    ),
    Patient(
        "DEMO09",
        "other",
        "vcf",
        (
            germline("DPYD_c1627AG", 131, 0.46),
            # Actionable-looking calls that QC must drop: nothing actionable should remain.
            somatic("BRAF_V600E", 58, 0.069, filt="weak_evidence"),
            somatic("KRAS_G12D", 12, 0.25),  # low depth
            somatic("AMZ1_syn", 144, 0.31),
            somatic("A2ML1_intron", 139, 0.18),
            somatic("NEK10_intron", 49, 0.25),
        ),
        pgx_positions="reference",
    ),
    Patient(
        "DEMO10",
        "colorectal",
        "bcf",
        (
            somatic("TP53_R273H", 158, 0.33),
            germline("UGT1A1_6", 87, 0.49),
            germline("UGT1A1_28", 52, 0.44),
            somatic("GNAI3_downstream", 135, 0.27),
            somatic("AMER2_syn", 128, 0.24),
        ),
    ),
)

# --------------------------------------------------------------------------------------------
# Sequence
# --------------------------------------------------------------------------------------------


class Genome:
    """The non-N bases of the mini reference, kept per contig as {position: base}."""

    def __init__(self) -> None:
        self.bases: dict[str, dict[int, str]] = {c: {} for c in FASTA_CONTIGS}
        self.fixed: dict[str, dict[int, str]] = {c: {} for c in FASTA_CONTIGS}

    def fix(self, chrom: str, pos: int, seq: str, why: str) -> None:
        """Record real reference bases; two sources that disagree stop the run."""
        for i, base in enumerate(seq):
            old = self.fixed[chrom].get(pos + i)
            if old is not None and old != base:
                raise ValueError(f"{chrom}:{pos + i} is {old}, but {why} needs {base}")
            self.fixed[chrom][pos + i] = base
            self.bases[chrom][pos + i] = base

    def put(self, chrom: str, pos: int, base: str, why: str) -> None:
        """Place a model base; it must agree with any real base already fixed there."""
        old = self.fixed[chrom].get(pos)
        if old is not None and old != base:
            raise ValueError(f"{chrom}:{pos} is the real {old}; {why} wants {base}")
        self.bases[chrom][pos] = base

    def fill(self, chrom: str, start: int, end: int, rng: random.Random) -> None:
        """Random bases over [start, end] wherever nothing is placed yet."""
        seen = self.bases[chrom]
        for pos in range(start, end + 1):
            if pos not in seen:
                seen[pos] = rng.choice(BASES)


def transcript_positions(gene: Gene) -> list[int]:
    """Genomic position of every transcript base, 5' to 3'."""
    out: list[int] = []
    for start, end in gene.exons:
        span = range(start, end + 1)
        out.extend(span if gene.strand == "+" else reversed(span))
    return out


def hgvs_c_to_genomic(gene: Gene, tx: list[int], offset: int, name: str) -> int:
    """Genomic position of the first base named by ``c.N``, ``c.N+k``, ``c.N-k`` or ``c.-N``."""
    m = re.match(r"c\.(-?\d+)([+-]\d+)?", name)
    assert m, name
    c, intronic = int(m.group(1)), int(m.group(2) or 0)
    index = offset + c - (1 if c > 0 else 0)
    step = 1 if gene.strand == "+" else -1
    if 0 <= index < len(tx):
        return tx[index] + step * intronic
    # upstream of the transcript (e.g. UGT1A1 *80, c.-364)
    return tx[0] - step * (-index)


def solve_codon(
    aa: str | None,
    fixed: dict[int, str],
    changes: list[tuple[int, str, str]],
    rng: random.Random,
    where: str,
) -> str:
    """Pick a codon for residue ``aa`` (any sense codon if None) that has the ``fixed`` bases
    and turns each (offset, base) change into the stated residue ("=" for synonymous)."""
    options = []
    for codon in CODONS:
        own = CODE[codon]
        if (aa is None and own == "*") or (aa is not None and own != aa):
            continue
        if any(codon[i] != b for i, b in fixed.items()):
            continue
        ok = True
        for i, b, want in changes:
            new = CODE[codon[:i] + b + codon[i + 1 :]]
            if new != (own if want == "=" else want):
                ok = False
        if ok:
            options.append(codon)
    if not options:
        raise ValueError(f"no codon fits {where}: aa={aa} fixed={fixed} changes={changes}")
    return rng.choice(options)


def model_gene(gene: Gene, genome: Genome, rng: random.Random) -> str:
    """Write the gene's exons (and splice sites) into the genome; return its coding sequence."""
    tx = transcript_positions(gene)
    index = {g: i for i, g in enumerate(tx)}
    offset = index[gene.cds_start]  # transcript index of c.1
    assert offset + gene.cds_len <= len(tx), gene.symbol

    def flip(base: str) -> str:
        """Plus-strand base <-> transcript-strand base (its own inverse)."""
        return base if gene.strand == "+" else base.translate(COMPLEMENT)

    # 1. Check every site's c. name against the layout and collect codon rules.
    n_codons = gene.cds_len // 3
    residues: dict[int, str] = {1: "M", n_codons: "*"}
    fixed_c: dict[int, str] = {}
    changes: dict[int, list[tuple[int, str, str]]] = {}
    for pos, ref, alt, name, protein in gene.sites:
        fs = re.fullmatch(r"([A-Z])(\d+)fs", protein)
        if fs:  # a frameshift deletion: keep the reference residue; the bases are real REF
            residues[int(fs.group(2))] = fs.group(1)
            continue
        if name == ".":
            continue
        assert hgvs_c_to_genomic(gene, tx, offset, name) == pos, (gene.symbol, name, pos)
        if pos not in index or not (0 <= index[pos] - offset < gene.cds_len):
            continue
        c = index[pos] - offset + 1
        m = re.fullmatch(r"c\.\d+([ACGT])>([ACGT])", name)
        assert m and m.group(1) == flip(ref) and m.group(2) == flip(alt), name
        codon_no, at = (c - 1) // 3 + 1, (c - 1) % 3
        fixed_c[c] = flip(ref)
        if protein == "-":
            continue
        if protein != "=":
            p = re.fullmatch(r"([A-Z*])(\d+)([A-Z*=])", protein)
            assert p and int(p.group(2)) == codon_no, (gene.symbol, name, protein, codon_no)
            ref_aa, alt_aa = p.group(1), p.group(3)
            assert residues.get(codon_no, ref_aa) == ref_aa, (gene.symbol, protein)
            residues[codon_no] = ref_aa
        else:
            alt_aa = "="
        changes.setdefault(codon_no, []).append((at, flip(alt), alt_aa))
    if gene.symbol == "DPYD":
        # CPIC's c.295_298delTCAT sits in a TCAT repeat: the VCF (left-aligned on the plus
        # strand) deletes c.299_302, so c.295-302 must read TCATTCAT for both names to agree.
        # That also makes codon 100 TTC, the Phe of p.F100fs.
        for i, base in enumerate("TCAT"):
            fixed_c[295 + i] = base
    fixed_c.update({1: "A", 2: "T", 3: "G"})
    real = genome.fixed[gene.chrom]  # every real base in the CDS (site REFs, deleted bases...)
    for c in range(1, gene.cds_len + 1):
        g = tx[offset + c - 1]
        if g in real:
            assert fixed_c.setdefault(c, flip(real[g])) == flip(real[g]), (gene, c)

    # 2. Coding sequence, codon by codon; then UTRs at random (keeping real bases).
    cds = []
    for k in range(1, n_codons + 1):
        first = 3 * (k - 1) + 1
        fixed = {i: fixed_c[first + i] for i in range(3) if first + i in fixed_c}
        cds.append(
            solve_codon(residues.get(k), fixed, changes.get(k, []), rng, f"{gene.symbol} codon {k}")
        )
    cds_seq = "".join(cds)
    for i, g in enumerate(tx):
        c = i - offset + 1
        if 1 <= c <= gene.cds_len:
            base = cds_seq[c - 1]
        else:
            known = real.get(g)
            base = flip(known) if known else rng.choice(BASES)
        genome.put(gene.chrom, g, flip(base), f"{gene.symbol} exon")

    # 3. Canonical GT...AG introns, on the transcript strand.
    step = 1 if gene.strand == "+" else -1
    for (s1, e1), (s2, e2) in itertools.pairwise(gene.exons):
        last = e1 if gene.strand == "+" else s1  # last base of the upstream exon
        first = s2 if gene.strand == "+" else e2  # first base of the downstream exon
        for i, b in enumerate("GT"):
            g = last + step * (i + 1)
            genome.put(gene.chrom, g, flip(b), f"{gene.symbol} donor")
        for i, b in enumerate("AG"):
            g = first - step * (2 - i)
            genome.put(gene.chrom, g, flip(b), f"{gene.symbol} acceptor")
    return cds_seq


def translate(seq: str) -> str:
    return "".join(CODE[seq[i : i + 3]] for i in range(0, len(seq) - 2, 3))


def build_genome(genes: list[Gene], rng: random.Random) -> tuple[Genome, dict[str, str]]:
    genome = Genome()
    # Real bases first: the demo records, the PharmCAT positions, the UGT1A1 TATA box.
    for key, v in sorted(ALL_VARIANTS.items()):
        genome.fix(v.chrom, v.pos, v.ref, key)
    for gene in genes:
        for pos, ref, _alt, name, _protein in gene.sites:
            genome.fix(gene.chrom, pos, ref, f"{gene.symbol} {name}")
    genome.fix("chr2", *UGT1A1_TATA, "UGT1A1 TATA box")

    cds = {g.symbol: model_gene(g, genome, rng) for g in genes}

    # Random sequence around exons and lone sites, in a fixed order.
    windows: dict[str, list[tuple[int, int]]] = {c: [] for c in FASTA_CONTIGS}
    for gene in genes:
        for s, e in gene.exons:
            windows[gene.chrom].append((s - EXON_FLANK, e + EXON_FLANK))
    for chrom, fixed in genome.fixed.items():
        for pos in fixed:
            windows[chrom].append((pos - SITE_FLANK, pos + SITE_FLANK))
    for chrom in FASTA_CONTIGS:
        for s, e in sorted(windows[chrom]):
            genome.fill(chrom, s, e, rng)
    return genome, cds


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------


class LineWriter:
    """Writes FASTA sequence LINE bases a line, in whatever pieces it arrives."""

    def __init__(self, out: TextIO) -> None:
        self.out, self.col = out, 0

    def seq(self, seq: str) -> None:
        while seq:
            take = seq[: LINE - self.col]
            self.out.write(take)
            self.col += len(take)
            seq = seq[len(take) :]
            if self.col == LINE:
                self.out.write("\n")
                self.col = 0

    def gap(self, count: int) -> None:
        """``count`` Ns; whole lines go out in big blocks (a contig is mostly N)."""
        head = min(count, (LINE - self.col) % LINE)
        self.seq("N" * head)
        lines, rest = divmod(count - head, LINE)
        while lines:
            block = min(lines, 100_000)
            self.out.write(("N" * LINE + "\n") * block)
            lines -= block
        self.seq("N" * rest)

    def end(self) -> None:
        if self.col:
            self.out.write("\n")
            self.col = 0


def write_fasta(genome: Genome, tmp: Path) -> None:
    """Stream each contig as N runs and sequence windows; bgzip it and index it (.fai, .gzi)."""
    plain = tmp / "demo_grch38.fa"
    with plain.open("w", encoding="ascii") as out:
        lines = LineWriter(out)
        for chrom in FASTA_CONTIGS:
            out.write(f">{chrom}\n")
            bases = genome.bases[chrom]
            pos = 1
            for start in sorted(bases):
                if start < pos:
                    continue
                end = start
                while end + 1 in bases:
                    end += 1
                lines.gap(start - pos)
                lines.seq("".join(bases[p] for p in range(start, end + 1)))
                pos = end + 1
            lines.gap(GRCH38[chrom] - pos + 1)
            lines.end()
    # Compress and index beside the target, then rename: a reader (or a commit) never sees a
    # half-written FASTA, and the .fai/.gzi always belong to the .fa.gz next to them.
    staged = FASTA.with_name(f".{FASTA.name}.partial")
    pysam.tabix_compress(str(plain), str(staged), force=True)
    for suffix in (".fai", ".gzi"):
        Path(f"{staged}{suffix}").unlink(missing_ok=True)
    pysam.faidx(str(staged))
    for suffix in (".fai", ".gzi", ""):
        os.replace(f"{staged}{suffix}", f"{FASTA}{suffix}")


KIND_ORDER = {"exon": 0, "five_prime_UTR": 1, "CDS": 2, "three_prime_UTR": 3}


def write_gff3(genes: list[Gene]) -> None:
    """Ensembl-style GFF3 with the fields bcftools csq reads."""
    lines = [
        "##gff-version 3",
        "#!genome-build GRCh38",
        "#! SYNTHETIC gene models for the haicgx demo (resources/demo/make_demo.py): real gene",
        "#! and transcript ids and real c. positions at the demo variants, invented sequence.",
        "#! Never use them for a real patient.",
    ]
    lines += [f"##sequence-region   {c} 1 {GRCH38[c]}" for c in FASTA_CONTIGS]
    order = {c: i for i, c in enumerate(FASTA_CONTIGS)}
    for gene in sorted(genes, key=lambda g: (order[g.chrom], min(s for s, _ in g.exons))):
        tx = transcript_positions(gene)
        offset = tx.index(gene.cds_start)
        cds_pos = set(tx[offset : offset + gene.cds_len])
        utr5 = set(tx[:offset])
        lo, hi = min(s for s, _ in gene.exons), max(e for _, e in gene.exons)
        col = (gene.chrom, "haicgx_demo")
        gid, tid = f"gene:{gene.gene_id}", f"transcript:{gene.transcript_id}"
        feats = [
            (*col, "gene", lo, hi, gene.strand, ".",
             f"ID={gid};Name={gene.symbol};biotype=protein_coding;gene_id={gene.gene_id}"),
            (*col, "mRNA", lo, hi, gene.strand, ".",
             f"ID={tid};Parent={gid};biotype=protein_coding;tag=basic,Ensembl_canonical;"
             f"transcript_id={gene.transcript_id}"),
        ]  # fmt: skip
        done = 0  # coding bases before the current exon, in transcript order: gives the phase
        rows = []
        for rank, (s, e) in enumerate(gene.exons, 1):
            rows.append(("exon", s, e, ".", f"Parent={tid};rank={rank}"))
            coding = [p for p in range(s, e + 1) if p in cds_pos]
            if coding:
                phase = (3 - done % 3) % 3
                rows.append(("CDS", coding[0], coding[-1], str(phase), f"Parent={tid}"))
                done += len(coding)
            noncoding = [p for p in range(s, e + 1) if p not in cds_pos]
            for kind, is_5prime in (("five_prime_UTR", True), ("three_prime_UTR", False)):
                part = [p for p in noncoding if (p in utr5) == is_5prime]
                if part:
                    rows.append((kind, part[0], part[-1], ".", f"Parent={tid}"))
        for kind, s, e, phase, attrs in sorted(rows, key=lambda r: (r[1], KIND_ORDER[r[0]])):
            feats.append((*col, kind, s, e, gene.strand, phase, attrs))
        for chrom, src, kind, s, e, strand, phase, attrs in feats:
            lines.append(f"{chrom}\t{src}\t{kind}\t{s}\t{e}\t.\t{strand}\t{phase}\t{attrs}")
        lines.append("###")
    GFF3.write_text("\n".join(lines) + "\n", encoding="ascii")


VCF_HEADER = """##fileformat=VCFv4.2
##FILTER=<ID=PASS,Description="All filters passed">
##FILTER=<ID=weak_evidence,Description="Mutation does not meet likelihood threshold">
##FILTER=<ID=normal_artifact,Description="Artifact in normal">
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths for the ref and alt alleles \
in the order listed">
##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth (reads with MQ=255 \
or with bad mates are filtered)">
##FORMAT=<ID=AF,Number=A,Type=Float,Description="Allele fractions of alternate alleles in the \
tumor">
"""
GVCF_HEADER = [
    '##ALT=<ID=NON_REF,Description="Any other allele at this position">',
    '##INFO=<ID=END,Number=1,Type=Integer,Description="End position of the reference block">',
]


def pgx_reference_sites() -> list[tuple[str, int, str]]:
    """(chrom, pos, REF base) of every DPYD and UGT1A1 position PharmCAT genotypes."""
    sites = [("chr1", pos, ref[0]) for pos, ref, *_ in parse_sites(DPYD_SITES)]
    sites += [("chr2", pos, ref[0]) for pos, ref, *_ in parse_sites(UGT1A1_SITES)]
    sites.append(("chr2", UGT1A1_TATA[0], UGT1A1_TATA[1][0]))
    return sorted(set(sites))


def format_sample(s: Sample) -> str:
    dp = sum(s.ad)
    af = ",".join(f"{a / dp:.3f}" for a in s.ad[1:])
    return f"{s.gt}:{','.join(map(str, s.ad))}:{dp}:{af}"


def vcf_text(patient: Patient) -> str:
    paired = any(c.normal for c in patient.calls)
    head = [VCF_HEADER.rstrip("\n")]
    head += [f"##contig=<ID={c},length={n},assembly=GRCh38>" for c, n in GRCH38.items()]
    head.append("##reference=GRCh38")
    head.append(
        "##source=haicgx demo cohort (resources/demo/make_demo.py): SYNTHETIC calls, "
        "Mutect2-style FORMAT"
    )
    samples = ["TUMOR"]
    if paired:
        head += ["##normal_sample=NORMAL", "##tumor_sample=TUMOR"]
        samples = ["NORMAL", "TUMOR"]
    if patient.pgx_positions == "gvcf":
        head += GVCF_HEADER
    columns = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"]
    head.append("\t".join(columns + samples))
    order = {c: i for i, c in enumerate(GRCH38)}
    rows = []
    for call in patient.calls:
        v = ALL_VARIANTS[call.key]
        cols = [v.chrom, str(v.pos), v.rsid, v.ref, v.alt, ".", call.filter, ".", "GT:AD:DP:AF"]
        if paired:
            assert call.normal is not None, (patient.patient_id, call.key)
            cols.append(format_sample(call.normal))
        cols.append(format_sample(call.tumour))
        rows.append(((order[v.chrom], v.pos), cols))
    called = {(ALL_VARIANTS[c.key].chrom, ALL_VARIANTS[c.key].pos) for c in patient.calls}
    if patient.pgx_positions:
        for chrom, pos, ref in pgx_reference_sites():
            if (chrom, pos) in called:
                continue
            depth = 40 + pos % 37  # varied, fixed depths of a reference call
            sample = f"0/0:{depth}:{depth}:."
            if patient.pgx_positions == "gvcf":
                alt, info = "<NON_REF>", f"END={pos}"
                sample = f"0/0:{depth},0:{depth}:0.000"
            else:
                alt, info = ".", "."
            cols = [chrom, str(pos), ".", ref, alt, ".", "PASS", info, "GT:AD:DP:AF"]
            cols += [sample] * len(samples)
            rows.append(((order[chrom], pos), cols))
    body = ["\t".join(cols) for _, cols in sorted(rows, key=lambda r: r[0])]
    return "\n".join(head + body) + "\n"


def write_vcfs(tmp: Path) -> None:
    VCF_DIR.mkdir(parents=True, exist_ok=True)
    for old in VCF_DIR.glob("DEMO*"):
        old.unlink()
    for patient in PATIENTS:
        text = vcf_text(patient)
        target = VCF_DIR / f"{patient.patient_id}.{patient.file_format}"
        if patient.file_format == "vcf":
            target.write_text(text, encoding="ascii")
            continue
        plain = tmp / f"{patient.patient_id}.vcf"
        plain.write_text(text, encoding="ascii")
        if patient.file_format == "vcf.gz":
            pysam.tabix_compress(str(plain), str(target), force=True)
            pysam.tabix_index(str(target), preset="vcf", force=True)
        else:
            with (
                pysam.VariantFile(str(plain)) as src,
                pysam.VariantFile(str(target), "wb", header=src.header) as dst,
            ):
                for record in src:
                    dst.write(record)
            pysam.bcftools.index("--csi", "--force", str(target), catch_stdout=False)


def write_sheet() -> None:
    rows = ["patient_id\tvcf\tprimary_site\ttumour_sample\tprior_drugs\tcrcl_ml_min"]
    for p in PATIENTS:
        vcf = f"../resources/demo/vcf/{p.patient_id}.{p.file_format}"
        rows.append(
            f"{p.patient_id}\t{vcf}\t{p.primary_site}\t{p.tumour_sample}\t{p.prior_drugs}\t"
            f"{p.crcl_ml_min}"
        )
    SHEET.parent.mkdir(parents=True, exist_ok=True)
    SHEET.write_text("\n".join(rows) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------------
# Self-check: read the files back
# --------------------------------------------------------------------------------------------


def check(genes: list[Gene], genome: Genome, cds: dict[str, str]) -> None:
    with pysam.FastaFile(str(FASTA)) as fa:
        assert list(fa.references) == list(FASTA_CONTIGS)
        for chrom in FASTA_CONTIGS:
            assert fa.get_reference_length(chrom) == GRCH38[chrom], chrom
            for pos, base in genome.fixed[chrom].items():
                assert fa.fetch(chrom, pos - 1, pos) == base, (chrom, pos)
        for gene in genes:
            tx = transcript_positions(gene)
            offset = tx.index(gene.cds_start)
            seq = "".join(
                fa.fetch(gene.chrom, g - 1, g) for g in tx[offset : offset + gene.cds_len]
            )
            if gene.strand == "-":
                seq = seq.translate(COMPLEMENT)
            assert seq == cds[gene.symbol], gene.symbol
            protein = translate(seq)
            assert protein[0] == "M" and protein[-1] == "*" and "*" not in protein[:-1], gene
        # DPYD *7: deleting c.295_298 (CPIC's name) and c.299_302 (the VCF's) gives one sequence.
        dpyd = cds["DPYD"]
        assert dpyd[294:298] == dpyd[298:302] == "TCAT", dpyd[290:306]
        # The UGT1A1 TATA box reads as designed.
        pos, tract = UGT1A1_TATA
        assert fa.fetch("chr2", pos - 1, pos - 1 + len(tract)) == tract


def main() -> None:
    rng = random.Random(SEED)
    genes = build_genes()
    genome, cds = build_genome(genes, rng)
    REF_DIR.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="haicgx-make-demo-"))  # ~1.2 GB of plain FASTA
    try:
        write_fasta(genome, tmp)
        write_gff3(genes)
        write_vcfs(tmp)
        write_sheet()
    finally:
        shutil.rmtree(tmp)
    check(genes, genome, cds)
    size = FASTA.stat().st_size
    print(f"wrote {FASTA.relative_to(ROOT)} ({size:,} bytes), the GFF3, {len(PATIENTS)} VCFs")


if __name__ == "__main__":
    main()
