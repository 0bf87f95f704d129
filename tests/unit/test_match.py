"""Matching variants to knowledge rows at every level of the grammar: genomic (build-aware, any
contig naming, padded records), protein, codon, exon, gene-level classes; the zygosity filter; the
fit of a row's tumour context; a variant in two genes; each row once per variant."""

from __future__ import annotations

from pathlib import Path

import pytest

from haicgx import vocab
from haicgx.consequence import Annotation
from haicgx.knowledge import KnowledgeBase, load_knowledge
from haicgx.match import Match, Variant, match_variant
from haicgx.qc import ReadSupport

MINI = Path(__file__).resolve().parents[1] / "data" / "knowledge"

# Extra rows over the test table, one per case the test table lacks (columns by name).
EXTRA_ROWS = [
    # BRAF V600E on GRCh37 (chr7:140453136 A>T): must not match a GRCh38 run, and vice versa.
    {"kb_id": "X-BRAF-V600E-37", "gene": "BRAF", "alteration": "GRCh37:7:140453136:A:T"},
    {"kb_id": "X-BRAF-V600E-38", "gene": "BRAF", "alteration": "GRCh38:chr7:140753336:A:T"},
    {"kb_id": "X-EGFR-EX20-INS", "gene": "EGFR", "alteration": "exon20:insertion"},
    {"kb_id": "X-EGFR-EX21-MIS", "gene": "EGFR", "alteration": "exon21:missense"},
    {"kb_id": "X-BRCA2-EX11-TR", "gene": "BRCA2", "alteration": "exon11:truncating"},
    {"kb_id": "X-TP53-EX5-ANY", "gene": "TP53", "alteration": "exon5:any"},
    {"kb_id": "X-TP53-ANY", "gene": "TP53", "alteration": "any"},
    {"kb_id": "X-KIT-INFRAME", "gene": "KIT", "alteration": "inframe"},
    {"kb_id": "X-KRAS-G12V-CRC", "gene": "KRAS", "alteration": "p.G12V",
     "tumour_context": "colorectal;gastric"},
    {"kb_id": "X-KRAS-G12V-ANY", "gene": "KRAS", "alteration": "p.G12V"},
    {"kb_id": "X-DPYD-HET", "gene": "DPYD", "alteration": "GRCh38:chr1:97450058:C:T",
     "zygosity": "heterozygous"},
    {"kb_id": "X-UGT-28-ANY", "gene": "UGT1A1", "alteration": "GRCh38:chr2:233760233:C:CAT"},
]  # fmt: skip


@pytest.fixture(scope="module")
def kb(tmp_path_factory) -> KnowledgeBase:
    folder = tmp_path_factory.mktemp("kb")
    lines = [(MINI / "biomarkers.tsv").read_text(encoding="utf-8").rstrip("\n")]
    for extra in EXTRA_ROWS:
        row = {c: "" for c in vocab.KNOWLEDGE_COLUMNS}
        row.update(
            zygosity="any",
            drug="irinotecan",
            effect="sensitivity",
            evidence_level="preclinical",
            tumour_context="any",
            source="PMID 12345678",
            curated_on="2026-11-25",
        )
        row.update(extra)
        lines.append("\t".join(row[c] for c in vocab.KNOWLEDGE_COLUMNS))
    (folder / "biomarkers.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_knowledge(folder / "biomarkers.tsv", MINI / "regimens.yaml")


def variant(
    chrom: str = "chr12",
    pos: int = 25245350,
    ref: str = "C",
    alt: str = "T",
    *annotations: Annotation,
    genotype: str = "0/1",
    copies: int | None = 1,
    vaf: float | None = 0.3,
) -> Variant:
    return Variant(
        chrom, pos, ref, alt, annotations, genotype, copies, ReadSupport(100, 30, vaf, "")
    )


def ann(gene: str, consequence: str, protein: str = "", exon: int | None = None) -> Annotation:
    return Annotation(gene, consequence, f"ENST-{gene}", protein, exon, "protein_coding")


def matched(
    v: Variant, kb: KnowledgeBase, *, build="GRCh38", site="colorectal"
) -> dict[str, Match]:
    found = match_variant(v, kb, build=build, primary_site=site)
    ids = [m.row.kb_id for m in found]
    assert len(ids) == len(set(ids)), "a row matched twice for one variant"
    return {m.row.kb_id: m for m in found}


def levels(v: Variant, kb: KnowledgeBase, **kw) -> dict[str, str]:
    return {k: m.level for k, m in matched(v, kb, **kw).items()}


# -- genomic ----------------------------------------------------------------------------------

BRAF_V600E = ann("BRAF", "missense_variant", "p.V600E", 15)


@pytest.mark.parametrize("chrom", ["chr7", "7"])
def test_genomic_row_matches_either_contig_naming(kb, chrom):
    found = levels(variant(chrom, 140753336, "A", "T", BRAF_V600E), kb)
    assert found["X-BRAF-V600E-38"] == "genomic"
    assert "X-BRAF-V600E-37" not in found  # a GRCh37 row never matches a GRCh38 run
    assert found["T-BRAF-MISS"] == "gene"  # and the gene-level row too, separately


def test_grch37_row_matches_only_a_grch37_run(kb):
    v = variant("7", 140453136, "A", "T", BRAF_V600E)
    assert levels(v, kb, build="GRCh37")["X-BRAF-V600E-37"] == "genomic"
    assert "X-BRAF-V600E-37" not in levels(v, kb, build="GRCh38")
    # the GRCh38 coordinates under a GRCh37 run match no genomic row either
    v38 = variant("chr7", 140753336, "A", "T", BRAF_V600E)
    assert "X-BRAF-V600E-38" not in levels(v38, kb, build="GRCh37")


def test_genomic_row_needs_the_same_alleles(kb):
    assert "X-BRAF-V600E-38" not in levels(variant("chr7", 140753336, "A", "C"), kb)
    assert "X-BRAF-V600E-38" not in levels(variant("chr7", 140753337, "A", "T"), kb)


def test_padded_record_matches_the_trimmed_row(kb):
    # PharmCAT writes UGT1A1*28 as CAT>CATAT; the row is the trimmed C>CAT.
    padded = variant("chr2", 233760233, "CAT", "CATAT", genotype="0/1", copies=1)
    assert levels(padded, kb)["X-UGT-28-ANY"] == "genomic"
    assert levels(variant("chr2", 233760233, "C", "CAT"), kb)["T-UGT-28"] == "genomic"


def test_genomic_match_carries_the_gene_annotation(kb):
    dpyd = ann("DPYD", "splice_donor_variant")
    m = matched(variant("chr1", 97450058, "C", "T", dpyd), kb)["T-DPYD-2A"]
    assert m.annotation == dpyd
    assert matched(variant("chr1", 97450058, "C", "T"), kb)["T-DPYD-2A"].annotation is None


# -- protein and codon ------------------------------------------------------------------------


def test_protein_and_codon_levels(kb):
    g12d = levels(
        variant("chr12", 25245350, "C", "T", ann("KRAS", "missense_variant", "p.G12D")), kb
    )
    assert g12d == {"T-KRAS-G12D": "protein", "T-KRAS-G12": "codon"}
    g12v = levels(
        variant("chr12", 25245350, "C", "A", ann("KRAS", "missense_variant", "p.G12V")), kb
    )
    assert g12v["T-KRAS-G12"] == "codon"
    assert "T-KRAS-G12D" not in g12v
    g13d = levels(
        variant("chr12", 25245347, "C", "T", ann("KRAS", "missense_variant", "p.G13D")), kb
    )
    assert g13d == {}


def test_codon_row_needs_a_protein_change(kb):
    synonymous = variant("chr12", 25245348, "C", "T", ann("KRAS", "synonymous_variant", "p.G12="))
    assert levels(synonymous, kb) == {}


def test_frameshift_matches_its_codon(kb):
    fs = ann("KRAS", "frameshift_variant", "p.G12fs")
    assert levels(variant("chr12", 25245350, "CA", "C", fs), kb) == {"T-KRAS-G12": "codon"}


# -- exon -------------------------------------------------------------------------------------


TRUNC = "T-BRCA2-TRUNC"
EX19_DEL = "GGAATTAAGAGAAGCA"  # 15 bases deleted after the anchor


@pytest.mark.parametrize(
    ("ref", "alt", "annotation", "expected"),
    [
        (EX19_DEL, "G", ann("EGFR", "inframe_deletion", "p.E746_A750del", 19), {"T-EGFR-EX19"}),
        ("C", "T", ann("EGFR", "missense_variant", "p.L747P", 19), set()),  # not a deletion
        (EX19_DEL, "G", ann("EGFR", "inframe_deletion", "p.E746_A750del", 18), set()),
        ("C", "CGGT", ann("EGFR", "inframe_insertion", "p.D770_N771insG", 20), {"X-EGFR-EX20-INS"}),
        ("C", "T", ann("EGFR", "synonymous_variant", "p.D770=", 20), set()),  # no protein change
        ("T", "G", ann("EGFR", "missense_variant", "p.L858R", 21), {"X-EGFR-EX21-MIS"}),
        ("T", "G", ann("EGFR", "missense_variant", "p.L858R", 20), set()),
        ("G", "T", ann("BRCA2", "stop_gained", "p.E1593*", 11), {"X-BRCA2-EX11-TR", TRUNC}),
        ("G", "A", ann("BRCA2", "missense_variant", "p.E1593K", 11), set()),
        ("C", "T", ann("TP53", "missense_variant", "p.R175H", 5), {"X-TP53-EX5-ANY", "X-TP53-ANY"}),
        ("C", "T", ann("TP53", "missense_variant", "p.R248W", 7), {"X-TP53-ANY"}),
        ("C", "T", ann("TP53", "intron_variant", "", 5), set()),  # no protein effect
    ],
)  # fmt: skip
def test_exon_levels(kb, ref, alt, annotation, expected):
    found = levels(variant("chr7", 1000, ref, alt, annotation), kb)
    assert set(found) == expected
    for kb_id in expected:
        assert found[kb_id] == ("exon" if kb.by_id[kb_id].alteration.level == "exon" else "gene")


# -- gene-level classes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        (ann("BRCA2", "stop_gained", "p.E1593*"), {"T-BRCA2-TRUNC"}),
        (ann("BRCA2", "frameshift_variant", "p.K150fs"), {"T-BRCA2-TRUNC"}),
        (ann("BRCA2", "splice_acceptor_variant"), {"T-BRCA2-TRUNC"}),
        (ann("BRCA2", "missense_variant", "p.K150E"), set()),
        (ann("BRAF", "missense_variant", "p.G469A"), {"T-BRAF-MISS"}),
        (ann("BRAF", "stop_gained", "p.Q201*"), set()),
        (ann("KIT", "inframe_deletion", "p.W557_K558del"), {"X-KIT-INFRAME"}),
        (ann("KIT", "missense_variant", "p.D816V"), set()),
        (ann("TP53", "stop_gained", "p.R196*"), {"X-TP53-ANY"}),
        (ann("TP53", "inframe_insertion", "p.K120_S121insA"), {"X-TP53-ANY"}),
        (ann("TP53", "synonymous_variant", "p.R213="), set()),
        (ann("TP53", "splice_region_variant&intron_variant"), set()),
    ],
)
def test_gene_level_classes(kb, annotation, expected):
    found = levels(variant("chr13", 2000, "G", "T", annotation), kb)
    assert set(found) == expected
    assert set(found.values()) <= {"gene"}


# -- zygosity -----------------------------------------------------------------------------------

GSTP1 = ("chr11", 67585218, "A", "G")


@pytest.mark.parametrize(
    ("genotype", "copies", "vaf", "fits"),
    [
        ("1/1", 2, 0.98, True),
        ("0/1", 1, 0.5, False),
        ("0/1", 1, 0.95, True),  # Mutect2 0/1 at a homozygous fraction: either reading fits
        ("./.", None, 0.93, True),  # no genotype: read from the VAF
        ("./.", None, 0.45, False),
        ("", None, None, False),  # neither: unknown, only `any` rows match
        ("1", 1, 0.97, True),  # haploid: read from the VAF
        ("1", 1, 0.5, False),
    ],
)
def test_homozygous_row(kb, genotype, copies, vaf, fits):
    v = variant(*GSTP1, genotype=genotype, copies=copies, vaf=vaf)
    assert ("T-GSTP1" in levels(v, kb)) is fits


@pytest.mark.parametrize(
    ("genotype", "copies", "vaf", "fits"),
    [
        ("0/1", 1, 0.5, True),
        ("1/1", 2, 1.0, False),
        ("./.", None, 0.5, True),
        ("", None, None, False),
    ],
)
def test_heterozygous_row_and_any_row(kb, genotype, copies, vaf, fits):
    v = variant("chr1", 97450058, "C", "T", genotype=genotype, copies=copies, vaf=vaf)
    found = levels(v, kb)
    assert ("X-DPYD-HET" in found) is fits
    assert "T-DPYD-2A" in found  # zygosity `any` always fits


# -- tumour context ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("site", "fit"),
    [("colorectal", "yes"), ("gastric", "yes"), ("pancreatic", "no"), ("hcc", "no")],
)
def test_tumour_context_fit(kb, site, fit):
    g12v = variant("chr12", 25245350, "C", "A", ann("KRAS", "missense_variant", "p.G12V"))
    found = matched(g12v, kb, site=site)
    assert found["X-KRAS-G12V-CRC"].context_fit == fit  # listed even off-site, with its fit
    assert found["X-KRAS-G12V-ANY"].context_fit == "any"
    assert found["T-KRAS-G12"].context_fit == "any"


# -- several genes, no double counting ---------------------------------------------------------


def test_variant_in_two_genes_matches_each_genes_rows_once(kb):
    brca2 = ann("BRCA2", "stop_gained", "p.E1593*", 11)
    braf = ann("BRAF", "missense_variant", "p.V600E", 15)
    found = matched(variant("chr7", 140753336, "A", "T", brca2, braf), kb)
    assert {k: m.level for k, m in found.items()} == {
        "X-BRAF-V600E-38": "genomic",
        "T-BRAF-MISS": "gene",
        "T-BRCA2-TRUNC": "gene",
        "X-BRCA2-EX11-TR": "exon",
    }
    assert found["T-BRCA2-TRUNC"].annotation == brca2
    assert found["T-BRAF-MISS"].annotation == braf
    assert found["X-BRAF-V600E-38"].annotation == braf


def test_two_transcripts_of_one_gene_count_once(kb):
    # VEP may give one gene twice (two transcripts): each row still matches once.
    a = ann("KRAS", "missense_variant", "p.G12D")
    b = Annotation("KRAS", "missense_variant", "ENST-other", "p.G12D", None, "protein_coding")
    assert levels(variant("chr12", 25245350, "C", "T", a, b), kb) == {
        "T-KRAS-G12D": "protein",
        "T-KRAS-G12": "codon",
    }


def test_the_same_row_matches_once_per_variant(kb):
    a = variant("chr12", 25245350, "C", "T", ann("KRAS", "missense_variant", "p.G12D"))
    b = variant("chr12", 25245351, "C", "T", ann("KRAS", "missense_variant", "p.G12S"))
    rows = [
        m.row.kb_id
        for v in (a, b)
        for m in match_variant(v, kb, build="GRCh38", primary_site="colorectal")
    ]
    assert sorted(rows) == ["T-KRAS-G12", "T-KRAS-G12", "T-KRAS-G12D"]


def test_label_reads_like_a_person_would_write_it(kb):
    g12d = matched(
        variant("chr12", 25245350, "C", "T", ann("KRAS", "missense_variant", "p.G12D")), kb
    )
    assert g12d["T-KRAS-G12D"].label == "KRAS p.G12D"
    assert (
        matched(variant("chr1", 97450058, "C", "T"), kb)["T-DPYD-2A"].label
        == "DPYD c.1905+1G>A (*2A)"
    )


def test_variant_cells_from_the_input_are_never_spreadsheet_formulas():
    from haicgx.evaluate import _variant_cells
    from haicgx.vocab import VARIANT_COLUMNS

    ann = Annotation("=HYPERLINK(1)", "@SUM(A1)", "+ENST", "-p.X")
    v = Variant("chr1", 10, "A", "T", (ann,), "0/1", 1, ReadSupport(50, 10, -0.0, ""), ("=bad",))
    cells = dict(zip(VARIANT_COLUMNS, _variant_cells(v), strict=True))
    assert cells["gene"] == "'=HYPERLINK(1)" and cells["consequence"] == "'@SUM(A1)"
    assert cells["transcript"] == "'+ENST" and cells["protein_change"] == "'-p.X"
    assert cells["filter"] == "'=bad"
    assert cells["vaf"] == "-0"  # a number stays a number
