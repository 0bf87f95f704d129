"""Matching a patient's variants against the knowledge table, at every level of the grammar.

Each match records the level it was made at (genomic, protein, codon, exon, gene) and whether the
row's tumour context fits the patient's primary site. Look-ups go through the knowledge base's
indexes: one dictionary look-up per variant for genomic rows, one per annotated gene for the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from haicgx.consequence import Annotation
from haicgx.genotype import copies_from_fraction
from haicgx.knowledge import KnowledgeBase, KnowledgeRow, normalise_chrom, trim_allele
from haicgx.qc import ReadSupport
from haicgx.tsv import inert


class Variant(NamedTuple):  # a tuple: one is made per passing allele, and cheaply
    """One tumour allele after normalisation, with its chosen annotation per gene."""

    chrom: str
    pos: int
    ref: str
    alt: str
    annotations: tuple[Annotation, ...]
    genotype: str
    copies: int | None  # copies of ALT from GT; None when the file has no genotype
    support: ReadSupport  # the tumour sample's reads
    filters: tuple[str, ...] = ()

    @property
    def depth(self) -> int | None:
        return self.support.depth

    @property
    def alt_reads(self) -> int | None:
        return self.support.alt_reads

    @property
    def vaf(self) -> float | None:
        return self.support.vaf

    @property
    def primary(self) -> Annotation | None:
        if len(self.annotations) == 1:
            return self.annotations[0]
        return min(self.annotations, key=lambda a: (a.severity, a.gene), default=None)

    def cells(self) -> dict[str, str]:
        """Its cells of variants.tsv (and the allele's of matches.tsv), by column name
        (haicgx.vocab.VARIANT_COLUMNS); text from the input file made inert, never a formula."""
        a = self.primary
        return {
            "chrom": inert(self.chrom),
            "pos": str(self.pos),
            "ref": self.ref,
            "alt": self.alt,
            "gene": inert(a.gene) if a else "",
            "consequence": inert(a.consequence) if a else "",
            "transcript": inert(a.transcript) if a else "",
            "protein_change": inert(a.protein_change) if a else "",
            "exon": "" if a is None or a.exon is None else str(a.exon),
            **self.support.cells(),
            "genotype": self.genotype,
            "filter": inert(";".join(self.filters)) or "PASS",
        }


@dataclass(frozen=True)
class Match:
    row: KnowledgeRow
    variant: Variant
    level: str
    annotation: Annotation | None
    context_fit: str  # yes, any, no

    @property
    def label(self) -> str:
        """How the variant reads to a person: gene and protein change, else the genomic allele."""
        if self.annotation is not None and self.annotation.protein_change:
            return f"{self.row.gene} {self.annotation.protein_change}"
        if self.row.allele_name:
            return f"{self.row.gene} {self.row.allele_name}"
        v = self.variant
        return f"{self.row.gene} {v.chrom}:{v.pos} {v.ref}>{v.alt}"


def _zygosity_fits(row: KnowledgeRow, variant: Variant) -> bool:
    """Whether the variant's zygosity is the row's. GT and allele fraction are both read (Mutect2
    writes 0/1 whatever the fraction): the row fits when either reading gives its zygosity, the
    safer reading for a toxicity row (docs/pharmacogenomics.md). With neither, only `any` rows."""
    if row.zygosity == "any":
        return True
    haploid = variant.genotype != "" and not any(sep in variant.genotype for sep in "/|")
    readings = set()
    if variant.copies is not None and not haploid:
        readings.add(min(variant.copies, 2))
    if variant.vaf is not None:
        readings.add(copies_from_fraction(variant.vaf) or 1)  # passing QC: present
    wanted = 2 if row.zygosity == "homozygous" else 1
    return wanted in readings


def _codon_of(protein_change: str) -> str | None:
    """`G12` of `p.G12D` (None for changes without a single first residue and position)."""
    if not protein_change.startswith("p."):
        return None
    body = protein_change[2:]
    i = 1
    while i < len(body) and body[i].isdigit():
        i += 1
    return body[:i] if i > 1 else None


def _class_fits(wanted: str | None, variant: Variant, annotation: Annotation) -> bool:
    if wanted == "any":
        return annotation.variant_class is not None
    if wanted == "deletion":
        return len(variant.ref) > len(variant.alt) and annotation.variant_class is not None
    if wanted == "insertion":
        return len(variant.alt) > len(variant.ref) and annotation.variant_class is not None
    return annotation.variant_class == wanted


def match_variant(
    variant: Variant, kb: KnowledgeBase, *, build: str, primary_site: str
) -> list[Match]:
    """All knowledge rows this variant meets, each once, at the most specific level."""
    found: dict[str, Match] = {}

    def add(row: KnowledgeRow, level: str, annotation: Annotation | None) -> None:
        if row.kb_id not in found and _zygosity_fits(row, variant):
            found[row.kb_id] = Match(row, variant, level, annotation, row.context_fit(primary_site))

    # Rows are written minimally trimmed; a record padded with shared bases is the same allele.
    pos, ref, alt = trim_allele(variant.pos, variant.ref, variant.alt)
    key = (build, normalise_chrom(variant.chrom), pos, ref, alt)
    for row in kb.genomic_index.get(key, ()):
        gene_annotation = next((a for a in variant.annotations if a.gene == row.gene), None)
        add(row, "genomic", gene_annotation)
    for annotation in variant.annotations:
        rows = kb.gene_index.get(annotation.gene)
        if not rows:
            continue
        benign = kb.findings is not None and kb.findings.benign_entry(annotation) is not None
        codon = _codon_of(annotation.protein_change)
        for row in rows:
            a = row.alteration
            if a.level == "protein" and annotation.protein_change == f"p.{a.protein}":
                add(row, "protein", annotation)
            elif a.level == "codon" and codon == a.codon and annotation.variant_class:
                add(row, "codon", annotation)
            elif (benign or annotation.escapes_nmd) and a.variant_class == "truncating":
                # A curated benign truncation (findings.yaml) or one in the last exon, which
                # escapes nonsense-mediated decay, is not read as loss of function.
                continue
            elif (
                a.level == "exon"
                and annotation.exon == a.exon
                and _class_fits(a.variant_class, variant, annotation)
            ):
                add(row, "exon", annotation)
            elif a.level == "gene" and _class_fits(a.variant_class, variant, annotation):
                add(row, "gene", annotation)
    return list(found.values())
