"""Synthetic, seeded inputs for the haicgx benchmark (bench/run.py).

Writes, under one scratch folder:

* ``genome.fa`` (+ ``.fai``): 23 contigs named chr1..chr22, chrX, each 1/15 of its GRCh38 length
  (about 206 Mb in all), random sequence with designed coding sequences;
* ``genes.gff3``: an Ensembl-style GFF3 (gene / mRNA / exon / CDS / UTR, ``ID=gene:``,
  ``ID=transcript:``, ``biotype``, ``tag=basic,Ensembl_canonical``) with 1,600 genes and 2,000
  transcripts (400 genes carry a second transcript that skips an exon in frame), which
  ``bcftools csq`` accepts without a warning. Every CDS starts with ATG, has no internal stop and
  ends with a stop codon. Some gene symbols are the knowledge table's genes (BRCA2, ATM, MLH1...),
  so truncating calls in them produce real knowledge matches;
* ``genes_full.gff3`` (with ``--full-gff3``): the same 1,600 designed genes among filler genes
  to Ensembl's size (62,000 genes, about 250,000 transcripts, 1.6 million exon lines, 0.9 million
  CDS lines; protein-coding genes with several coding and non-coding transcripts, MANE Select and
  canonical tags, lncRNA genes), placed anywhere, overlapping each other and the designed genes as
  real genes do. Their CDS are in frame (phases right, length a multiple of 3) but their sequence
  is the random genome's: they exist to make reading the GFF3 cost what Ensembl's does, and to
  give calls the transcripts of other genes to consider;
* tumour-only Mutect2-style VCFs (one sample TUMOR, ``##tumor_sample=TUMOR``, FORMAT
  ``GT:AD:AF:DP``, INFO ``DP;ECNT;TLOD;POPAF``, about 75% PASS, the rest weak_evidence, germline,
  strand_bias or clustered_events), with SNVs (85%), deletions (7%), insertions (6%) and
  multi-allelic SNVs (2%). REF is always the genome's base(s).

Everything depends only on the seed and the sizes, so two runs write identical files. The VCF text
is written directly (no pysam record objects) and bgzipped with ``pysam.tabix_compress``, so the
5,000,000-record WGS file takes well under a minute.

SYNTHETIC: the genome, the genes and the calls are invented; never use them for anything else.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from pathlib import Path

import pysam

from haicgx.builds import PRIMARY_CONTIGS

SEED = 20261125
VERSION = 2  # bump when the output changes, so cached inputs are regenerated

SCALE = 15  # contig length = GRCh38 length / SCALE
GRCH38 = {name: n for name, n in PRIMARY_CONTIGS["GRCh38"].items() if name not in ("chrY", "chrM")}
CONTIGS = {name: length // SCALE for name, length in GRCH38.items()}

N_GENES = 1600
N_SECOND_TRANSCRIPTS = 400  # genes with a second, exon-skipping transcript: 2,000 transcripts
# Genes of the bundled knowledge table and other common panel genes, used as real symbols.
REAL_SYMBOLS = (
    "BRCA1",
    "BRCA2",
    "PALB2",
    "ATM",
    "MLH1",
    "MSH2",
    "MSH6",
    "PMS2",
    "KRAS",
    "GSTP1",
    "ACYP2",
    "TP53",
    "APC",
    "PIK3CA",
    "SMAD4",
    "BRAF",
    "ERBB2",
    "NRAS",
    "CDKN2A",
    "ARID1A",
    "FGFR2",
    "IDH1",
    "IDH2",
    "CTNNB1",
    "TERT",
    "KMT2D",
    "PTEN",
    "RB1",
    "NF1",
    "BAP1",
)

STOPS = {"TAA", "TAG", "TGA"}
CODONS = sorted(a + b + c for a in "ACGT" for b in "ACGT" for c in "ACGT" if a + b + c not in STOPS)
COMPLEMENT = bytes.maketrans(b"ACGT", b"TGCA")
TO_BASES = bytes.maketrans(bytes(range(256)), b"ACGT" * 64)

FILTERS = (
    ("PASS", 75),
    ("weak_evidence", 12),
    ("germline", 6),
    ("strand_bias", 4),
    ("clustered_events", 3),
)

VCF_HEADER = """##fileformat=VCFv4.2
##source=Mutect2 (SYNTHETIC: haicgx bench/generate.py)
##FILTER=<ID=PASS,Description="All filters passed">
##FILTER=<ID=weak_evidence,Description="Mutation does not meet likelihood threshold">
##FILTER=<ID=germline,Description="Evidence indicates this site is germline, not somatic">
##FILTER=<ID=strand_bias,Description="Evidence indicates this site is strand biased">
##FILTER=<ID=clustered_events,Description="Clustered events observed in the tumor">
##INFO=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth">
##INFO=<ID=ECNT,Number=1,Type=Integer,Description="Number of events in this haplotype">
##INFO=<ID=TLOD,Number=A,Type=Float,Description="Log 10 likelihood ratio score of variant existing versus not existing">
##INFO=<ID=POPAF,Number=A,Type=Float,Description="negative log 10 population allele frequencies of alt alleles">
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths for the ref and alt alleles in the order listed">
##FORMAT=<ID=AF,Number=A,Type=Float,Description="Allele fractions of alternate alleles in the tumor">
##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth (reads with MQ=255 or with bad mates are filtered)">
##tumor_sample=TUMOR
"""  # noqa: E501


@dataclass
class Transcript:
    tid: str
    exons: list[tuple[int, int]]  # transcript order
    cds: list[tuple[int, int]]  # transcript order, genomic (start, end) of each CDS part
    utr5: list[tuple[int, int]]
    utr3: list[tuple[int, int]]
    canonical: bool


@dataclass
class Gene:
    gid: str
    symbol: str
    chrom: str
    strand: str
    start: int
    end: int
    transcripts: list[Transcript]


# -- genome and genes ---------------------------------------------------------------------------


def random_sequence(rng: random.Random, length: int) -> bytearray:
    return bytearray(rng.randbytes(length).translate(TO_BASES))


def _gene_layout(rng: random.Random, start: int) -> tuple[list[tuple[int, int]], list[int]]:
    """Exons in genomic order (1-based, inclusive) and the coding length of each, in codons."""
    n_exons = rng.randint(3, 12)
    exons, coding = [], []
    pos = start
    for _ in range(n_exons):
        codons = rng.randint(20, 70)
        exons.append([pos, pos + 3 * codons - 1])
        coding.append(codons)
        pos += 3 * codons + rng.randint(300, 5000)
    return exons, coding


def build(rng: random.Random) -> tuple[dict[str, bytearray], list[Gene]]:
    genome = {name: random_sequence(rng, length) for name, length in CONTIGS.items()}
    total = sum(CONTIGS.values())
    symbols = list(REAL_SYMBOLS) + [f"SYN{i:04d}" for i in range(N_GENES - len(REAL_SYMBOLS))]
    rng.shuffle(symbols)
    second = set(rng.sample(range(N_GENES), N_SECOND_TRANSCRIPTS))
    genes: list[Gene] = []
    index = 0
    for chrom, length in CONTIGS.items():
        count = round(N_GENES * length / total) if chrom != "chrX" else N_GENES - index
        slot = length // max(count, 1)
        for k in range(count):
            gene = _make_gene(
                rng, genome[chrom], chrom, k * slot + 1000, index, symbols[index], index in second
            )
            genes.append(gene)
            index += 1
    return genome, genes


def _make_gene(
    rng: random.Random, seq: bytearray, chrom: str, start: int, index: int, symbol: str, two: bool
) -> Gene:
    strand = rng.choice("+-")
    exons, coding = _gene_layout(rng, start + rng.randint(0, 20000))
    n = len(exons)
    # UTRs: extend the first and last exons (transcript order) with non-coding sequence.
    u5, u3 = rng.randint(30, 150), rng.randint(60, 400)
    cds_parts = [tuple(e) for e in exons]
    if strand == "+":
        exons[0][0] -= u5
        exons[-1][1] += u3
    else:
        exons[-1][1] += u5
        exons[0][0] -= u3
    # The coding sequence: ATG, random sense codons, a stop; written onto the strand.
    total_codons = sum(coding)
    body = [rng.choice(CODONS) for _ in range(total_codons - 2)]
    cds = ["ATG", *body, rng.choice(sorted(STOPS))]
    cds_text = "".join(cds).encode()
    genomic = cds_text if strand == "+" else cds_text.translate(COMPLEMENT)[::-1]
    at = 0
    for s, e in cds_parts:  # genomic order
        seq[s - 1 : e] = genomic[at : at + (e - s + 1)]
        at += e - s + 1
    order = list(range(n)) if strand == "+" else list(range(n - 1, -1, -1))
    gid = f"ENSGSYN{index:07d}"

    def transcript(tid: str, keep: list[int], canonical: bool) -> Transcript:
        ex = [tuple(exons[i]) for i in keep]
        cd = [cds_parts[i] for i in keep]
        first, last = keep[0], keep[-1]
        if strand == "+":
            utr5 = [(exons[first][0], cds_parts[first][0] - 1)]
            utr3 = [(cds_parts[last][1] + 1, exons[last][1])]
        else:
            utr5 = [(cds_parts[first][1] + 1, exons[first][1])]
            utr3 = [(exons[last][0], cds_parts[last][0] - 1)]
        return Transcript(tid, ex, cd, utr5, utr3, canonical)

    transcripts = [transcript(f"ENSTSYN{index:07d}", order, True)]
    if two and n >= 4:
        transcripts.append(transcript(f"ENSTSYN{index:07d}2", order[:1] + order[2:], False))
    elif two:  # too few exons to skip one: a second transcript identical but not canonical
        transcripts.append(transcript(f"ENSTSYN{index:07d}2", order, False))
    lo = min(s for s, _ in exons)
    hi = max(e for _, e in exons)
    return Gene(gid, symbol, chrom, strand, lo, hi, transcripts)


def write_fasta(genome: dict[str, bytearray], path: Path) -> None:
    with path.open("wb") as out:
        for name, seq in genome.items():
            out.write(f">{name}\n".encode())
            view = bytes(seq)
            out.write(b"\n".join(view[i : i + 60] for i in range(0, len(view), 60)))
            out.write(b"\n")
    pysam.faidx(str(path))


KIND_ORDER = {"exon": 0, "five_prime_UTR": 1, "CDS": 2, "three_prime_UTR": 3}


def write_gff3(
    genes: list[Gene], path: Path, filler: list[tuple[str, int, int]] | None = None
) -> None:
    """The designed genes' GFF3; with `filler` genes (`filler_genes`), merged in by position."""
    lines = [
        "##gff-version 3",
        "#!genome-build SYNTHETIC (haicgx bench/generate.py)",
        *(f"##sequence-region   {c} 1 {n}" for c, n in CONTIGS.items()),
    ]
    order = {c: i for i, c in enumerate(CONTIGS)}
    blocks = sorted(
        [(order[g.chrom], g.start, 0, g) for g in genes]
        + [(order[c], s, 1, (c, s, i)) for c, s, i in (filler or [])],
        key=lambda b: b[:3],
    )
    with path.open("w", encoding="ascii") as out:
        out.write("\n".join(lines) + "\n")
        for *_, block in blocks:
            out.write(filler_block(*block) if isinstance(block, tuple) else _gene_block(block))


def _gene_block(g: Gene) -> str:
    lines = []
    col = f"{g.chrom}\thaicgx_bench"
    lines.append(
        f"{col}\tgene\t{g.start}\t{g.end}\t.\t{g.strand}\t.\tID=gene:{g.gid};Name={g.symbol};"
        f"biotype=protein_coding;gene_id={g.gid}"
    )
    for t in g.transcripts:
        tag = "basic,Ensembl_canonical" if t.canonical else "basic"
        lo, hi = min(s for s, _ in t.exons), max(e for _, e in t.exons)
        lines.append(
            f"{col}\tmRNA\t{lo}\t{hi}\t.\t{g.strand}\t.\tID=transcript:{t.tid};"
            f"Parent=gene:{g.gid};biotype=protein_coding;tag={tag};transcript_id={t.tid}"
        )
        rows = []
        done = 0
        for rank, ((s, e), (cs, ce)) in enumerate(zip(t.exons, t.cds, strict=True), 1):
            rows.append(("exon", s, e, ".", f"Parent=transcript:{t.tid};rank={rank}"))
            rows.append(("CDS", cs, ce, str((3 - done % 3) % 3), f"Parent=transcript:{t.tid}"))
            done += ce - cs + 1
        for kind, parts in (("five_prime_UTR", t.utr5), ("three_prime_UTR", t.utr3)):
            parent = f"Parent=transcript:{t.tid}"
            rows += [(kind, s, e, ".", parent) for s, e in parts if e >= s]
        for kind, s, e, phase, attrs in sorted(rows, key=lambda r: (r[1], KIND_ORDER[r[0]])):
            lines.append(f"{col}\t{kind}\t{s}\t{e}\t.\t{g.strand}\t{phase}\t{attrs}")
    lines.append("###")
    return "\n".join(lines) + "\n"


# -- filler genes to Ensembl's size -------------------------------------------------------------

FULL_GENES = 62_000  # Ensembl GRCh38 release 110: about 62,700 genes, 252,000 transcripts
CODING_GENES = 0.535  # a share of the filler genes; the rest are lncRNA genes


def filler_genes(rng: random.Random, count: int) -> list[tuple[str, int, int]]:
    """(chrom, start, seed) of `count` filler genes, anywhere in the genome; the seed makes
    each gene's text on demand (`filler_block`), so the ~300 MB file is never held whole."""
    names, weights = list(CONTIGS), list(CONTIGS.values())
    out = []
    for i, chrom in enumerate(rng.choices(names, weights=weights, k=count)):
        out.append((chrom, rng.randint(1000, CONTIGS[chrom] - 10_000), i))
    return out


def filler_block(chrom: str, start: int, index: int) -> str:
    """One filler gene: a protein-coding gene (2-9 transcripts, the first MANE Select and
    canonical, the others coding or not) or a lncRNA gene (1-4 transcripts), each transcript a
    sorted choice among the gene's exon slots."""
    rng = random.Random(SEED * 7 + index)
    strand = rng.choice("+-")
    slots, pos = [], start
    for _ in range(rng.randint(12, 18)):
        length = rng.randint(40, 200)
        slots.append((pos, pos + length - 1))
        pos += length + rng.randint(40, 250)
    gid = f"ENSGFIL{index:07d}"
    coding_gene = rng.random() < CODING_GENES
    biotype = "protein_coding" if coding_gene else "lncRNA"
    col = f"{chrom}\thaicgx_bench"
    kind = "gene" if coding_gene else "ncRNA_gene"
    lines = [
        f"{col}\t{kind}\t{slots[0][0]}\t{slots[-1][1]}\t.\t{strand}\t.\tID=gene:{gid};"
        f"Name=FIL{index:05d};biotype={biotype};gene_id={gid}"
    ]
    n_tx = rng.randint(2, 9) if coding_gene else rng.randint(1, 4)
    for t in range(n_tx):
        tid = f"ENSTFIL{index:07d}{t}"
        coding = coding_gene and (t == 0 or rng.random() < 0.5)
        n = min(len(slots), rng.randint(4, 15) if coding else rng.randint(2, 6))
        exons = sorted(rng.sample(slots, n))  # genomic order
        tags = ["basic"]
        if t == 0:
            tags += ["Ensembl_canonical"] + (["MANE_Select"] if coding else [])
        elif coding and rng.random() < 0.05:
            tags.append(rng.choice(("cds_start_NF", "cds_end_NF")))
        kind, tbio = ("mRNA", "protein_coding") if coding else ("lnc_RNA", "lncRNA")
        if coding_gene and not coding:
            kind, tbio = "transcript", "retained_intron"
        lines.append(
            f"{col}\t{kind}\t{exons[0][0]}\t{exons[-1][1]}\t.\t{strand}\t.\t"
            f"ID=transcript:{tid};Parent=gene:{gid};biotype={tbio};tag={','.join(tags)};"
            f"transcript_id={tid}"
        )
        parent = f"Parent=transcript:{tid}"
        ranks = range(1, n + 1) if strand == "+" else range(n, 0, -1)
        rows = [
            ("exon", s, e, ".", f"{parent};rank={r}")
            for r, (s, e) in zip(ranks, exons, strict=True)
        ]
        if coding:
            rows += _filler_cds(rng, exons, strand, parent)
        for k, s, e, phase, attrs in sorted(rows, key=lambda r: (r[1], KIND_ORDER[r[0]])):
            lines.append(f"{col}\t{k}\t{s}\t{e}\t.\t{strand}\t{phase}\t{attrs}")
    lines.append("###")
    return "\n".join(lines) + "\n"


def _filler_cds(
    rng: random.Random, exons: list[tuple[int, int]], strand: str, parent: str
) -> list[tuple[str, int, int, str, str]]:
    """CDS and UTR rows of a coding transcript: the first and last exons (transcript order)
    non-coding half the time, the CDS trimmed at its 3' end to whole codons, phases in frame."""
    order = exons if strand == "+" else exons[::-1]  # transcript order
    lo = 1 if len(order) > 2 and rng.random() < 0.5 else 0
    hi = len(order) - (1 if len(order) - lo > 2 and rng.random() < 0.5 else 0)
    coding = [list(e) for e in order[lo:hi]]
    extra = sum(e - s + 1 for s, e in coding) % 3
    rows = []
    if extra:  # trim the 3' end
        if strand == "+":
            rows.append(("three_prime_UTR", coding[-1][1] - extra + 1, coding[-1][1], ".", parent))
            coding[-1][1] -= extra
        else:
            rows.append(("three_prime_UTR", coding[-1][0], coding[-1][0] + extra - 1, ".", parent))
            coding[-1][0] += extra
    done = 0
    for s, e in coding:
        rows.append(("CDS", s, e, str((3 - done % 3) % 3), parent))
        done += e - s + 1
    rows += [("five_prime_UTR", s, e, ".", parent) for s, e in order[:lo]]
    rows += [("three_prime_UTR", s, e, ".", parent) for s, e in order[hi:]]
    return rows


# -- calls --------------------------------------------------------------------------------------


def exon_windows(genes: list[Gene], flank: int = 30) -> list[tuple[str, int, int]]:
    """Exon intervals with flanks: where a capture (exome, panel) puts its calls."""
    windows = []
    for g in genes:
        for s, e in g.transcripts[0].exons:
            windows.append((g.chrom, max(1, s - flank), e + flank))
    return windows


def _positions(
    rng: random.Random, n: int, windows: list[tuple[str, int, int]] | None, in_windows: float
) -> list[tuple[str, int]]:
    """n distinct sorted positions: a share in the windows, the rest anywhere in the genome."""
    order = {c: i for i, c in enumerate(CONTIGS)}
    chosen: set[tuple[str, int]] = set()
    names = list(CONTIGS)
    weights = list(CONTIGS.values())
    n_win = round(n * in_windows) if windows else 0
    if windows:
        wweights = [e - s + 1 for _, s, e in windows]
        while len(chosen) < n_win:
            for chrom, s, e in rng.choices(windows, weights=wweights, k=n_win - len(chosen)):
                chosen.add((chrom, rng.randint(s, e - 10)))
    while len(chosen) < n:
        for chrom in rng.choices(names, weights=weights, k=n - len(chosen)):
            chosen.add((chrom, rng.randint(10, CONTIGS[chrom] - 20)))
    return sorted(chosen, key=lambda cp: (order[cp[0]], cp[1]))


def _records(
    rng: random.Random,
    genome: dict[str, bytearray],
    positions: list[tuple[str, int]],
    depth: tuple[int, int],
) -> list[str]:
    lines = []
    filters = [f for f, _ in FILTERS]
    fweights = [w for _, w in FILTERS]
    rand = rng.random
    randint = rng.randint
    choice = rng.choice
    for chrom, pos in positions:
        seq = genome[chrom]
        ref_base = chr(seq[pos - 1])
        kind = rand()
        others = [b for b in "ACGT" if b != ref_base]
        if kind < 0.85:
            ref, alts = ref_base, [choice(others)]
        elif kind < 0.92:
            k = randint(1, 6)
            ref, alts = seq[pos - 1 : pos + k].decode(), [ref_base]
        elif kind < 0.98:
            k = randint(1, 6)
            ref, alts = ref_base, [ref_base + "".join(choice("ACGT") for _ in range(k))]
        else:
            ref, alts = ref_base, rng.sample(others, 2)
        dp = randint(*depth)
        filt = rng.choices(filters, fweights)[0]
        if filt == "germline" or rand() < 0.3:  # germline-like: VAF near 0.5 or 1
            vaf = 0.5 + (rand() - 0.5) * 0.2 if rand() < 0.85 else 0.97
        else:
            vaf = 0.02 + rand() ** 2 * 0.6
        if len(alts) == 1:
            alt_reads = max(1, min(dp, round(dp * vaf)))
            ad = [dp - alt_reads, alt_reads]
            gt = "1/1" if vaf > 0.9 else "0/1"
        else:
            a1 = max(1, round(dp * vaf / 2))
            a2 = max(1, round(dp * vaf / 3))
            ad = [max(0, dp - a1 - a2), a1, a2]
            gt = "1/2"
        af = ",".join(f"{a / dp:.3f}" for a in ad[1:])
        tlod = ",".join(f"{a * 0.9 + 3:.2f}" for a in ad[1:])
        popaf = ",".join("6.00" for _ in alts)
        lines.append(
            f"{chrom}\t{pos}\t.\t{ref}\t{','.join(alts)}\t.\t{filt}\t"
            f"DP={dp};ECNT={randint(1, 3)};TLOD={tlod};POPAF={popaf}\tGT:AD:AF:DP\t"
            f"{gt}:{','.join(map(str, ad))}:{af}:{dp}\n"
        )
    return lines


def vcf_header() -> str:
    contigs = "".join(f"##contig=<ID={c},length={n}>\n" for c, n in CONTIGS.items())
    columns = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tTUMOR\n"
    return VCF_HEADER + contigs + columns


def write_vcf(
    path: Path,
    rng: random.Random,
    genome: dict[str, bytearray],
    n: int,
    windows: list[tuple[str, int, int]] | None,
    in_windows: float,
    depth: tuple[int, int],
) -> None:
    """Write n records (plain text, then bgzip when path ends in .gz) in chunks."""
    positions = _positions(rng, n, windows, in_windows)
    plain = path.with_suffix("") if path.suffix == ".gz" else path
    with plain.open("w", encoding="ascii") as out:
        out.write(vcf_header())
        chunk = 200_000
        for i in range(0, len(positions), chunk):
            out.writelines(_records(rng, genome, positions[i : i + chunk], depth))
    if path.suffix == ".gz":
        pysam.tabix_compress(str(plain), str(path), force=True)
        pysam.tabix_index(str(path), preset="vcf", force=True)
        plain.unlink()


# -- the input sets -----------------------------------------------------------------------------


def generate(
    out: Path,
    *,
    wes: int,
    wgs: int,
    panel_patients: int,
    panel_records: int,
    full_gff3: bool = False,
) -> dict:
    """Write the inputs the benchmark needs under `out`; files already there are kept.

    Returns their paths. The genome is rebuilt in memory every time (a few seconds, the same bytes
    from the same seed); each file is written only when missing, under a name that carries its size.
    """
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    genome, genes = build(rng)
    paths: dict = {"fasta": out / "genome.fa", "gff3": out / "genes.gff3"}
    stamp = out / f"reference.v{VERSION}"
    if not stamp.exists():
        write_fasta(genome, paths["fasta"])
        write_gff3(genes, paths["gff3"])
        stamp.write_text(f"seed {SEED}\n")
    if full_gff3:
        paths["gff3_full"] = out / f"genes_full.v{VERSION}.gff3"
        if not paths["gff3_full"].exists():
            partial = paths["gff3_full"].with_suffix(".partial")
            filler = filler_genes(random.Random(SEED + 4), FULL_GENES - len(genes))
            write_gff3(genes, partial, filler)
            partial.rename(paths["gff3_full"])  # a run stopped midway leaves no full-looking file
    windows = exon_windows(genes)
    if wes:
        paths["wes"] = out / f"wes_{wes}.v{VERSION}.vcf.gz"
        if not paths["wes"].exists():
            write_vcf(paths["wes"], random.Random(SEED + 1), genome, wes, windows, 0.85, (15, 300))
    if wgs:
        paths["wgs"] = out / f"wgs_{wgs}.v{VERSION}.vcf.gz"
        if not paths["wgs"].exists():
            write_vcf(paths["wgs"], random.Random(SEED + 2), genome, wgs, None, 0.0, (10, 80))
    if panel_patients:
        # A panel: 300 genes (the knowledge genes always among them), captured exons only.
        panel_dir = out / f"panel_{panel_records}.v{VERSION}"
        panel_dir.mkdir(exist_ok=True)
        prng = random.Random(SEED + 3)
        real = [g for g in genes if g.symbol in REAL_SYMBOLS]
        rest = [g for g in genes if g.symbol not in REAL_SYMBOLS]
        panel_windows = exon_windows(real + prng.sample(rest, 300 - len(real)))
        paths["panel"] = []
        for i in range(panel_patients):
            vcf = panel_dir / f"P{i:04d}.vcf"
            paths["panel"].append(vcf)
            if not vcf.exists():
                write_vcf(
                    vcf,
                    random.Random(SEED + 1000 + i),
                    genome,
                    panel_records,
                    panel_windows,
                    1.0,
                    (40, 800),
                )
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--wes", type=int, default=50_000)
    parser.add_argument("--wgs", type=int, default=5_000_000)
    parser.add_argument("--panel-patients", type=int, default=1000)
    parser.add_argument("--panel-records", type=int, default=300)
    parser.add_argument("--full-gff3", action="store_true", help="also the Ensembl-size GFF3")
    args = parser.parse_args()
    paths = generate(
        args.out,
        wes=args.wes,
        wgs=args.wgs,
        panel_patients=args.panel_patients,
        panel_records=args.panel_records,
        full_gff3=args.full_gff3,
    )
    print(
        json.dumps(
            {k: [str(p) for p in v] if isinstance(v, list) else str(v) for k, v in paths.items()}
        )
    )


if __name__ == "__main__":
    main()
