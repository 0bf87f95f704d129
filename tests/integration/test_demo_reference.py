"""The synthetic demo reference gives every demo variant its real consequence.

resources/demo/reference holds a mini GRCh38 (N-padded, random sequence, real REF alleles at the
demo positions) and invented gene models (resources/demo/make_demo.py). These tests normalise each
demo VCF against it and annotate it with bcftools csq, as the pipeline does, and compare every
record with the real gene, consequence and protein change. A wrong REF base, exon boundary, phase
or codon in the reference makes them fail.
"""

from __future__ import annotations

from pathlib import Path

import pysam
import pysam.bcftools as bcftools
import pytest

from haicgx.builds import KNOWN_CONTIG_LENGTHS

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "resources" / "demo"
FASTA = DEMO / "reference" / "demo_grch38.fa.gz"
GFF3 = DEMO / "reference" / "demo_grch38.gff3"
SHEET = REPO / "config" / "demo_patients.tsv"
PHARMCAT = REPO.parent / "shared" / "testdata" / "pharmcat"

DPYD = "DPYD|ENST00000370192|protein_coding|-"
KRAS = "KRAS|ENST00000311936|protein_coding|-"
TP53 = "TP53|ENST00000269305|protein_coding|-"
PIK3CA = "PIK3CA|ENST00000263967|protein_coding|+"

# Every record of each demo VCF after `bcftools norm -m -any`, with its expected BCSQ (None: no
# consequence, because the record lies outside the modelled genes, like UGT1A1*28 upstream).
EXPECTED: dict[str, dict[tuple[str, int, str, str], str | None]] = {
    "DEMO01": {
        ("chr1", 97883329, "A", "G"): f"missense|{DPYD}|29C>29R|97883329A>G",  # c.85T>C
        ("chr2", 10797605, "C", "A"): None,
        ("chr2", 233760233, "C", "CAT"): None,  # UGT1A1*28, written CAT>CATAT in the file
        ("chr7", 29947395, "T", "C"): None,
        ("chr12", 25245350, "C", "T"): f"missense|{KRAS}|12G>12D|25245350C>T",
        ("chr13", 98831468, "G", "C"): None,
    },
    "DEMO02": {
        ("chr1", 97573863, "C", "T"): f"synonymous|{DPYD}|412E|97573863C>T",  # HapB3 c.1236G>A
        ("chr1", 97579893, "G", "C"): "intron|DPYD||protein_coding",  # HapB3 c.1129-5923C>G
        ("chr3", 133586953, "T", "C"): None,
        ("chr7", 140753336, "A", "T"): (
            "missense|BRAF|ENST00000646891|protein_coding|-|600V>600E|140753336A>T"
        ),
        ("chr12", 6938930, "C", "T"): None,
        ("chr17", 9959188, "C", "G"): None,
    },
    "DEMO03": {
        ("chr1", 36179727, "G", "A"): None,
        ("chr2", 94202171, "T", "G"): None,
        ("chr12", 25245350, "C", "A"): f"missense|{KRAS}|12G>12V|25245350C>A",
        ("chr13", 24709336, "T", "C"): None,
        ("chr13", 32339132, "G", "T"): (
            "stop_gained|BRCA2|ENST00000380152|protein_coding|+|1593E>1593*|32339132G>T"
        ),
        ("chr17", 7675088, "C", "T"): f"missense|{TP53}|175R>175H|7675088C>T",
    },
    "DEMO04": {
        ("chr1", 97450058, "C", "T"): f"splice_donor|{DPYD.rsplit('|', 1)[0]}",  # c.1905+1G>A
        ("chr3", 126498142, "G", "A"): None,
        ("chr7", 75881386, "G", "A"): None,
        ("chr17", 7675088, "C", "T"): f"missense|{TP53}|175R>175H|7675088C>T",
    },
    "DEMO05": {
        ("chr1", 97450058, "C", "T"): f"splice_donor|{DPYD.rsplit('|', 1)[0]}",
        ("chr1", 97515787, "A", "C"): f"missense|{DPYD}|560I>560S|97515787A>C",  # c.1679T>G
        ("chr2", 206960746, "G", "A"): None,
        ("chr12", 122591322, "C", "T"): None,
        ("chr13", 99643225, "C", "T"): None,
    },
    "DEMO06": {
        ("chr2", 233760233, "C", "CAT"): None,  # written right-shifted as 233760248 A>ATA
        ("chr7", 138583927, "C", "T"): None,
        ("chr17", 2905426, "C", "T"): None,
        ("chr17", 7674216, "C", "A"): f"missense|{TP53}|249R>249S|7674216C>A",
    },
    "DEMO07": {
        ("chr1", 90714575, "G", "C"): None,
        ("chr3", 179218303, "G", "A"): f"missense|{PIK3CA}|545E>545K|179218303G>A",
        ("chr3", 179218303, "G", "C"): f"missense|{PIK3CA}|545E>545Q|179218303G>C",
        ("chr3", 179234297, "A", "G"): f"missense|{PIK3CA}|1047H>1047R|179234297A>G",
        ("chr3", 185245893, "G", "T"): None,
        ("chr12", 40446404, "A", "G"): None,
        ("chr17", 7673806, "C", "T"): f"missense|{TP53}|272V>272M|7673806C>T",
    },
    "DEMO08": {
        ("chr1", 97450068, "A", "G"): f"synonymous|{DPYD}|632F|97450068A>G",  # c.1896T>C
        ("chr2", 240745596, "G", "A"): None,
        ("chr12", 25245347, "C", "T"): f"missense|{KRAS}|13G>13D|25245347C>T",
        ("chr17", 18988513, "C", "T"): None,
    },
    "DEMO09": {
        ("chr1", 97515839, "T", "C"): f"missense|{DPYD}|543I>543V|97515839T>C",  # c.1627A>G
        ("chr3", 27162329, "C", "T"): None,
        ("chr7", 2712473, "G", "T"): None,
        ("chr7", 140753336, "A", "T"): (  # FILTER weak_evidence: QC must drop it
            "missense|BRAF|ENST00000646891|protein_coding|-|600V>600E|140753336A>T"
        ),
        ("chr12", 8841254, "T", "A"): None,
        ("chr12", 25245350, "C", "T"): f"missense|{KRAS}|12G>12D|25245350C>T",  # DP 12
    },
    "DEMO10": {
        ("chr1", 109621023, "C", "A"): None,
        ("chr2", 233760233, "C", "CAT"): None,
        ("chr2", 233760498, "G", "A"): (
            "missense|UGT1A1|ENST00000305208|protein_coding|+|71G>71R|233760498G>A"  # *6
        ),
        ("chr13", 25169964, "C", "T"): None,
        ("chr17", 7673802, "C", "T"): f"missense|{TP53}|273R>273H|7673802C>T",
    },
}


def sheet() -> dict[str, Path]:
    rows = SHEET.read_text(encoding="utf-8").splitlines()
    header = rows[0].split("\t")
    out = {}
    for row in rows[1:]:
        cells = dict(zip(header, row.split("\t"), strict=True))
        out[cells["patient_id"]] = (SHEET.parent / cells["vcf"]).resolve()
    return out


def annotate(vcf: Path, tmp_path: Path, *mode: str) -> dict[tuple, tuple[str | None, list[str]]]:
    """norm (REF check, split) then csq; returns record -> (first BCSQ or None, genotypes)."""
    normalised = tmp_path / f"{vcf.name}.norm.vcf"
    bcftools.norm(
        "-f", str(FASTA), "-c", "e", "-m", "-any", "-Ov", "-o", str(normalised), str(vcf),
        catch_stdout=False,
    )  # fmt: skip
    text = bcftools.csq("-f", str(FASTA), "-g", str(GFF3), *mode, str(normalised))
    out = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        f = line.split("\t")
        if f[4] in (".", "<NON_REF>"):
            continue  # a reference call at a PharmCAT position (the forced-genotyped demo files)
        info = dict(kv.split("=", 1) for kv in f[7].split(";") if "=" in kv)
        bcsq = info["BCSQ"].split(",")[0] if "BCSQ" in info else None
        out[(f[0], int(f[1]), f[3], f[4])] = (bcsq, [s.split(":")[0] for s in f[9:]])
    return out


@pytest.mark.parametrize("patient", sorted(EXPECTED))
def test_local_csq_gives_the_real_consequences(patient: str, tmp_path: Path) -> None:
    result = annotate(sheet()[patient], tmp_path, "--local-csq")
    assert {key: bcsq for key, (bcsq, _) in result.items()} == EXPECTED[patient]


@pytest.mark.parametrize("patient", sorted(EXPECTED))
def test_phased_csq_agrees_on_diploid_genotypes(patient: str, tmp_path: Path) -> None:
    # csq -p a leaves records whose genotypes are not diploid unannotated (Mutect2 writes 0/1/2
    # for a multi-allelic tumour call; DEMO07): annotation must not rely on it for those.
    result = annotate(sheet()[patient], tmp_path, "--phase", "a")
    for key, (bcsq, genotypes) in result.items():
        if all(len(gt.replace("|", "/").split("/")) <= 2 for gt in genotypes):
            assert bcsq == EXPECTED[patient][key], key


def test_sheet_lists_every_demo_vcf() -> None:
    files = {p for p in (DEMO / "vcf").glob("DEMO*") if p.suffix in {".vcf", ".gz", ".bcf"}}
    assert set(sheet().values()) == files
    assert set(sheet()) == set(EXPECTED)


def test_reference_has_real_grch38_contigs() -> None:
    known = KNOWN_CONTIG_LENGTHS["GRCh38"]
    with pysam.FastaFile(str(FASTA)) as fasta:
        assert {c: fasta.get_reference_length(c) for c in fasta.references} == {
            c: known[c] for c in fasta.references
        }
    for vcf in sheet().values():
        with pysam.VariantFile(str(vcf)) as records:
            contigs = records.header.contigs
            assert {c: contigs[c].length for c in contigs} == {c: known[c] for c in contigs}


def pharmcat_records() -> list[tuple[str, int, str]]:
    files = [
        PHARMCAT / "pharmcat_positions.vcf",
        *sorted((PHARMCAT / "test-vcf").glob("*/*.vcf")),
    ]
    out = set()
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("#"):
                continue
            chrom, pos, _id, ref = line.split("\t")[:4]
            if chrom in {"chr1", "chr2"} and (
                97_000_000 < int(pos) < 98_000_000 or 233_700_000 < int(pos) < 233_800_000
            ):
                out.add((chrom, int(pos), ref))
    return sorted(out)


@pytest.mark.skipif(not PHARMCAT.is_dir(), reason="../shared/testdata/pharmcat is not there")
def test_reference_agrees_with_pharmcat_dpyd_and_ugt1a1_alleles() -> None:
    records = pharmcat_records()
    assert len(records) > 80
    with pysam.FastaFile(str(FASTA)) as fasta:
        wrong = [
            (chrom, pos, ref, fasta.fetch(chrom, pos - 1, pos - 1 + len(ref)))
            for chrom, pos, ref in records
            if fasta.fetch(chrom, pos - 1, pos - 1 + len(ref)) != ref
        ]
    assert wrong == []
