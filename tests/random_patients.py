"""Random patients for the property tests: pharmacogenomic calls, tumour variants, histories,
renal and hepatic values and primary sites, ranked with a knowledge base through the same calls
the evaluation makes (`match_variant`, `PgxCollector`, `rank_regimens`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from hypothesis import strategies as st

from haicgx import vocab
from haicgx.consequence import Annotation
from haicgx.genotype import SampleCall
from haicgx.match import Variant, match_variant
from haicgx.pgx import DPYD, UGT1A1, PgxCollector
from haicgx.qc import ReadSupport
from haicgx.rank import PatientContext, RankedRegimen, rank_regimens
from haicgx.settings import ranking_weights

WEIGHTS = ranking_weights()
GENOTYPES = [(0, 1), (1, 1), (1, 0)]
# (gene, protein change, consequence, exon, exon count) of a tumour variant
TUMOUR_EVENTS = [
    ("KRAS", "p.G12D", "missense_variant", None, None),
    ("KRAS", "p.G13D", "missense_variant", None, None),
    ("KRAS", "p.Q61H", "missense_variant", None, None),
    ("BRCA2", "p.E1593*", "stop_gained", 10, 27),
    ("BRCA2", "p.K3326*", "stop_gained", 27, 27),  # curated benign
    ("BRCA2", "p.E3309*", "stop_gained", 27, 27),  # last exon: escapes decay
    ("BRCA1", "p.Q1756fs", "frameshift_variant", 16, 23),
    ("PALB2", "p.R414*", "stop_gained", 4, 13),
    ("ATM", "p.R35*", "stop_gained", 3, 63),
    ("MLH1", "p.R226*", "stop_gained", 8, 19),
    ("TP53", "p.R175H", "missense_variant", 5, 11),
    ("BRAF", "p.V600E", "missense_variant", 15, 18),
]
# Germline variants of the variant-level toxicity rows (genomic match), with their genotype.
GENOMIC_EVENTS = [
    ("chr11", 67585218, "A", "G", "1/1", 2, 0.97),  # GSTP1 rs1695, homozygous
    ("chr11", 67585218, "A", "G", "0/1", 1, 0.5),
    ("chr2", 54168122, "G", "A", "0/1", 1, 0.5),  # ACYP2 rs1872328
]
TREATMENT_DRUGS = sorted(d for d in vocab.DRUGS if vocab.DRUGS[d] not in vocab.SUPPORTIVE_CLASSES)
CHILD_PUGH = ["A5", "A6", "B7", "B8", "B9", "C10", "C15"]


@dataclass(frozen=True)
class RandomPatient:
    dpyd: tuple = ()
    ugt: tuple = ()
    assessed: bool = True  # reference calls at every pharmacogene position
    events: tuple = ()
    genomic: tuple = ()
    prior: tuple[str, ...] = ()
    crcl: float | None = None
    bilirubin: float | None = None
    child_pugh: str | None = None
    site: str = "colorectal"

    def but(self, **changes: Any) -> RandomPatient:
        return replace(self, **changes)


def allele_keys(kb, gene):
    return [
        (f"chr{r.alteration.chrom}", r.alteration.pos, r.alteration.ref, r.alteration.alt)
        for r in kb.allele_rows(gene, "GRCh38")
    ]


@st.composite
def patients(draw, kb) -> RandomPatient:
    def pgx_calls(gene):
        keys = st.sampled_from(allele_keys(kb, gene))
        return tuple(draw(st.lists(st.tuples(keys, st.sampled_from(GENOTYPES)), max_size=3)))

    return RandomPatient(
        dpyd=pgx_calls(DPYD),
        ugt=pgx_calls(UGT1A1),
        assessed=draw(st.booleans()),
        events=tuple(draw(st.lists(st.sampled_from(TUMOUR_EVENTS), max_size=4, unique=True))),
        genomic=tuple(draw(st.lists(st.sampled_from(GENOMIC_EVENTS), max_size=2, unique=True))),
        prior=tuple(sorted(draw(st.sets(st.sampled_from(TREATMENT_DRUGS))))),
        crcl=draw(st.one_of(st.none(), st.floats(min_value=10, max_value=150))),
        bilirubin=draw(st.one_of(st.none(), st.floats(min_value=0.2, max_value=6))),
        child_pugh=draw(st.one_of(st.none(), st.sampled_from(CHILD_PUGH))),
        site=draw(st.sampled_from(vocab.PRIMARY_SITES)),
    )


def tumour_variants(p: RandomPatient) -> list[Variant]:
    out = [
        Variant(
            "chr1",
            1000 + i,
            "C",
            "T",
            (Annotation(gene, consequence, "ENST", protein, exon, "", total),),
            "0/1",
            1,
            ReadSupport(100, 30, 0.3, ""),
        )
        for i, (gene, protein, consequence, exon, total) in enumerate(p.events)
    ]
    for chrom, pos, ref, alt, gt, copies, vaf in p.genomic:
        out.append(
            Variant(
                chrom, pos, ref, alt, (), gt, copies, ReadSupport(100, round(vaf * 100), vaf, "")
            )
        )
    return out


def rank(kb, p: RandomPatient) -> tuple[dict[str, Any], list[RankedRegimen]]:
    """The patient's ranked regimens, and the parts of recommendation.json the invariants read."""
    collector = PgxCollector(kb, "GRCh38")
    if p.assessed:
        for chrom, pos in collector.position_names:
            collector.mark_read(chrom, pos, SampleCall((0, 0), depth=40))
    for (chrom, pos, ref, alt), gt in (*p.dpyd, *p.ugt):
        collector.offer(chrom=chrom, pos=pos, ref=ref, alt=alt, filters=[],
                        germline=SampleCall(gt, vaf=0.5 * sum(gt), depth=80))  # fmt: skip
    pgx = collector.call()
    matches = []
    for variant in tumour_variants(p):
        matches += match_variant(variant, kb, build="GRCh38", primary_site=p.site)
    context = PatientContext(p.site, p.prior, p.crcl, p.bilirubin, p.child_pugh)
    ranked = rank_regimens(kb, patient=context, matches=matches, pgx=pgx, weights=WEIGHTS)
    rec = {
        "regimens": [r.as_dict() for r in ranked],
        "pgx": {gene: call.as_dict() for gene, call in pgx.items()},
        "prior_drugs": list(p.prior),
    }
    return rec, ranked


def order(ranked: list[RankedRegimen], among: set[str] | None = None) -> list[str]:
    """Regimen ids in rank order (only those in `among`, if given)."""
    return [r.regimen.regimen_id for r in ranked if among is None or r.regimen.regimen_id in among]
