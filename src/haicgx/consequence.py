"""Consequences of one allele, read from bcftools BCSQ, VEP CSQ (key CSQ or ANN) or SnpEff ANN.

Each reader returns `Annotation`s, one per gene (its chosen transcript), with the consequence in
Sequence Ontology terms and the protein change in short HGVS form (`p.G12D`, `p.Q23*`, `p.K150fs`).

One transcript per gene, by one policy for every source (`transcript_rank`; docs/outputs.md):
entries the source says were made on a faulty transcript are left out (SnpEff's
WARNING_TRANSCRIPT_INCOMPLETE, _NO_START_CODON, _NO_STOP_CODON, _MULTIPLE_STOP_CODONS and any
ERROR_); then MANE Select, then canonical, then a complete CDS, then the longest CDS, each where the
source says it (VEP's MANE_SELECT, CANONICAL, FLAGS and CDS_position length; SnpEff's CDS.length;
the GFF3's tags and CDS lines for bcftools csq); then the most severe consequence; then the smaller
transcript id. An intergenic allele is named `intergenic_variant`, with no gene. Of the genes, the
variants.tsv row shows the most severe (`haicgx.match.Variant.primary`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

# Sequence Ontology terms from most to least severe (the order VEP uses).
SEVERITY: tuple[str, ...] = (
    "transcript_ablation",
    "splice_acceptor_variant",
    "splice_donor_variant",
    "stop_gained",
    "frameshift_variant",
    "stop_lost",
    "start_lost",
    "transcript_amplification",
    "inframe_insertion",
    "inframe_deletion",
    "missense_variant",
    "protein_altering_variant",
    "splice_donor_5th_base_variant",
    "splice_region_variant",
    "splice_donor_region_variant",
    "splice_polypyrimidine_tract_variant",
    "incomplete_terminal_codon_variant",
    "start_retained_variant",
    "stop_retained_variant",
    "synonymous_variant",
    "coding_sequence_variant",
    "mature_miRNA_variant",
    "5_prime_UTR_variant",
    "3_prime_UTR_variant",
    "non_coding_transcript_exon_variant",
    "intron_variant",
    "NMD_transcript_variant",
    "non_coding_transcript_variant",
    "upstream_gene_variant",
    "downstream_gene_variant",
    "intergenic_variant",
)
_RANK = {term: i for i, term in enumerate(SEVERITY)}

TRUNCATING = frozenset(
    {
        "stop_gained",
        "frameshift_variant",
        "splice_acceptor_variant",
        "splice_donor_variant",
        "start_lost",
        "transcript_ablation",
    }
)
MISSENSE = frozenset({"missense_variant"})
INFRAME = frozenset({"inframe_insertion", "inframe_deletion", "protein_altering_variant"})

# bcftools csq names -> Sequence Ontology terms
_CSQ_TO_SO = {
    "missense": "missense_variant",
    "synonymous": "synonymous_variant",
    "stop_gained": "stop_gained",
    "stop_lost": "stop_lost",
    "stop_retained": "stop_retained_variant",
    "start_lost": "start_lost",
    "start_retained": "start_retained_variant",
    "frameshift": "frameshift_variant",
    "inframe_deletion": "inframe_deletion",
    "inframe_insertion": "inframe_insertion",
    "inframe_altering": "protein_altering_variant",
    "splice_donor": "splice_donor_variant",
    "splice_acceptor": "splice_acceptor_variant",
    "splice_region": "splice_region_variant",
    "5_prime_utr": "5_prime_UTR_variant",
    "3_prime_utr": "3_prime_UTR_variant",
    "intron": "intron_variant",
    "non_coding": "non_coding_transcript_exon_variant",
    "coding_sequence": "coding_sequence_variant",
    "feature_elongation": "feature_elongation",
    "NMD_transcript": "NMD_transcript_variant",
    "intergenic": "intergenic_variant",
}

# SnpEff's own effect names -> Sequence Ontology terms (the others it writes are SO terms already)
_SNPEFF_TO_SO = {
    "intergenic_region": "intergenic_variant",
    "conservative_inframe_insertion": "inframe_insertion",
    "disruptive_inframe_insertion": "inframe_insertion",
    "conservative_inframe_deletion": "inframe_deletion",
    "disruptive_inframe_deletion": "inframe_deletion",
    "initiator_codon_variant": "start_retained_variant",
    "non_coding_exon_variant": "non_coding_transcript_exon_variant",
}

# SnpEff entries computed on a transcript it found faulty: their consequence cannot be trusted (a
# synonymous change read in the wrong frame comes out as missense), so they are left out.
SNPEFF_FAULTY_TRANSCRIPT = frozenset(
    {
        "WARNING_TRANSCRIPT_INCOMPLETE",
        "WARNING_TRANSCRIPT_NO_START_CODON",
        "WARNING_TRANSCRIPT_NO_STOP_CODON",
        "WARNING_TRANSCRIPT_MULTIPLE_STOP_CODONS",
    }
)

_THREE_TO_ONE = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E",
    "Gly": "G", "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F",
    "Pro": "P", "Ser": "S", "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V", "Ter": "*",
    "Sec": "U", "Pyl": "O", "Xaa": "X",
}  # fmt: skip


class Annotation(NamedTuple):  # a tuple: several are made per allele, and cheaply
    gene: str
    consequence: str  # SO terms joined by '&', most severe first
    transcript: str
    protein_change: str
    exon: int | None = None
    biotype: str = ""
    exon_total: int | None = None  # the transcript's exon count, where the source gives it

    @property
    def terms(self) -> tuple[str, ...]:
        return tuple(self.consequence.split("&")) if self.consequence else ()

    @property
    def severity(self) -> int:
        return severity_of(self.consequence)

    @property
    def variant_class(self) -> str | None:
        """`truncating`, `missense` or `inframe` for the gene-level grammar, else None."""
        terms = set(self.terms)
        if terms & TRUNCATING:
            return "truncating"
        if terms & MISSENSE:
            return "missense"
        if terms & INFRAME:
            return "inframe"
        return None

    @property
    def escapes_nmd(self) -> bool:
        """A stop or frameshift in the transcript's last exon: no exon junction lies downstream,
        so nonsense-mediated decay does not remove the message and a truncated protein may be
        made (Abou Tayoun et al., Hum Mutat 2018;39:1517, PMID 30192042). It is then not read as
        loss of function (docs/ranking.md, "Truncations"). Unknown exon numbers count as not
        escaping: the rule applies only where the annotation says where the change lies."""
        terms = set(self.terms)
        return (
            self.exon is not None
            and self.exon == self.exon_total
            and bool(terms & NMD_ESCAPE_TERMS)
            and not terms & (TRUNCATING - NMD_ESCAPE_TERMS)
        )


# The truncations whose fate depends on where the new stop lies (a splice-site change or a lost
# start codon is not judged by its exon).
NMD_ESCAPE_TERMS = frozenset({"stop_gained", "frameshift_variant"})


@lru_cache(maxsize=4096)
def severity_of(consequence: str) -> int:
    """The rank of the most severe term of `&`-joined SO terms (smaller is more severe).

    Cached: a VCF has a few dozen distinct consequence strings and each variant asks.
    """
    terms = consequence.split("&") if consequence else ()
    return min((_RANK.get(t, len(SEVERITY)) for t in terms), default=len(SEVERITY))


@lru_cache(maxsize=4096)
def _bcsq_terms(kind: str) -> str:
    """A BCSQ consequence field as SO terms, most severe first ('*' marks one past a stop)."""
    return order_terms([_CSQ_TO_SO.get(t, t) for t in kind.lstrip("*").split("&")])


def order_terms(terms: list[str]) -> str:
    """Join SO terms, most severe first.

    >>> order_terms(["splice_region_variant", "missense_variant"])
    'missense_variant&splice_region_variant'
    """
    unique = list(dict.fromkeys(terms))
    return "&".join(sorted(unique, key=lambda t: _RANK.get(t, len(SEVERITY))))


def protein_from_hgvsp(hgvsp: str) -> str:
    """Short one-letter HGVS from a VEP/SnpEff HGVSp.

    >>> protein_from_hgvsp("ENSP00000256078.4:p.Gly12Asp")
    'p.G12D'
    >>> protein_from_hgvsp("p.Gln23Ter")
    'p.Q23*'
    >>> protein_from_hgvsp("p.Lys150AsnfsTer5")
    'p.K150fs'
    >>> protein_from_hgvsp("p.(Arg175His)")
    'p.R175H'
    >>> protein_from_hgvsp("ENSP01:p.Leu5%3D")
    'p.L5='
    >>> protein_from_hgvsp("p.Ala816Ala")  # SnpEff spells synonymous changes out
    'p.A816='
    >>> protein_from_hgvsp("p.Glu746_Ala750del")
    'p.E746_A750del'
    >>> protein_from_hgvsp("p.?")
    ''
    """
    text = hgvsp.split(":", 1)[-1].replace("%3D", "=")
    if not text.startswith("p."):
        return ""
    body = text[2:].strip("()")
    for three, one in _THREE_TO_ONE.items():
        body = body.replace(three, one)
    if not re.search(r"\d", body):
        return ""
    if m := re.match(r"^([A-Z*])(\d+)[A-Z*]*fs", body):
        return f"p.{m[1]}{m[2]}fs"
    if m := re.match(r"^([A-Z*])(\d+)([A-Z*=])$", body):
        alt = "=" if m[3] == m[1] else m[3]
        return f"p.{m[1]}{m[2]}{alt}"
    return f"p.{body}"


def _span(residues: str, first: int) -> str:
    """`E746` or `E746_A750`."""
    last = first + len(residues) - 1
    return (
        f"{residues[0]}{first}" if last == first else f"{residues[0]}{first}_{residues[-1]}{last}"
    )


def describe_protein_change(start: int, ref: str, alt: str, terms: tuple[str, ...] = ()) -> str:
    """Short HGVS for residues `ref` (from position `start`) replaced by `alt`, knowing the
    consequence: a frameshift is `p.X123fs` whatever the residues look like, a start loss
    `p.M1?`, a stop loss `p.*260Cext*?`, a stop in the first changed residue `p.Q23*`.

    >>> describe_protein_change(12, "G", "D", ("missense_variant",))
    'p.G12D'
    >>> describe_protein_change(157, "SSHLMCVLT", "SSHLMSLCF", ("frameshift_variant",))
    'p.C162fs'
    >>> describe_protein_change(157, "SSHLMC", "SSHLM", ("frameshift_variant",))
    'p.C162fs'
    >>> describe_protein_change(1, "M", "V", ("start_lost", "splice_region_variant"))
    'p.M1?'
    >>> describe_protein_change(260, "*", "CL", ("stop_lost", "inframe_insertion"))
    'p.*260Cext*?'
    >>> describe_protein_change(430, "YKE", "*", ("stop_gained", "inframe_deletion"))
    'p.Y430*'
    >>> describe_protein_change(132, "EE", "D*", ("stop_gained",))
    'p.E132_E133delinsD*'
    >>> describe_protein_change(3, "GLGLW", "W", ("inframe_deletion",))
    'p.G3_L6del'
    >>> describe_protein_change(89, "K", "KKKEKG", ("inframe_insertion",))
    'p.K89_90insKKEKG'
    >>> describe_protein_change(216, "L", "EL", ("inframe_insertion",))
    'p.L216delinsEL'
    >>> describe_protein_change(685, "TS", "PP", ("missense_variant",))
    'p.T685_S686delinsPP'
    """
    if not ref:
        return ""
    if ref == alt:
        return f"p.{ref[0]}{start}="
    if (
        len(ref) == 1
        and len(alt) == 1
        and ref != "*"
        and "frameshift_variant" not in terms
        and "start_lost" not in terms
    ):  # one residue for another (most coding changes): what the general path below gives
        return f"p.{ref}{start}{alt}"
    i = 0
    while i < min(len(ref), len(alt)) and ref[i] == alt[i]:
        i += 1
    if "frameshift_variant" in terms:
        return f"p.{ref[i]}{start + i}fs" if i < len(ref) else ""
    if "start_lost" in terms and start == 1 and i == 0 and ref[0] == "M":
        return "p.M1?"
    if i < len(ref) and ref[i] == "*" and "stop_lost" in terms:
        return f"p.*{start + i}{alt[i] if i < len(alt) else ''}ext*?"
    if i < len(alt) and alt[i] == "*" and i < len(ref):
        return f"p.{ref[i]}{start + i}*"
    j = 0  # shared suffix, not overlapping the shared prefix
    while j < min(len(ref), len(alt)) - i and ref[-1 - j] == alt[-1 - j]:
        j += 1
    gone, added = ref[i : len(ref) - j], alt[i : len(alt) - j]
    first = start + i
    if len(gone) == 1 and len(added) == 1:
        return f"p.{gone}{first}{added}"
    if not added:
        return f"p.{_span(gone, first)}del"
    if not gone:
        if i == 0:  # the residue before the insertion is not in the field: say it as a delins
            return f"p.{_span(ref, start)}delins{alt}"
        return f"p.{ref[i - 1]}{first - 1}_{first}ins{added}"
    return f"p.{_span(gone, first)}delins{added}"


_BCSQ_PROTEIN = re.compile(r"^(\d+)([A-Z*]+)(?:>(\d+)([A-Z*]*))?$")


def protein_from_bcsq(aa_change: str, terms: tuple[str, ...] = ()) -> str:
    """Short HGVS from the amino-acid field of a BCSQ entry and its consequence terms.

    >>> protein_from_bcsq("12G>12D")
    'p.G12D'
    >>> protein_from_bcsq("1Y")
    'p.Y1='
    >>> protein_from_bcsq("475*")
    'p.*475='
    >>> protein_from_bcsq("508VA>508A")
    'p.V508del'
    >>> protein_from_bcsq("25EPPPK>25GASSQ", ("frameshift_variant",))
    'p.E25fs'
    """
    m = _BCSQ_PROTEIN.match(aa_change)
    if not m:
        return ""
    start, ref = int(m[1]), m[2]
    if m[3] is None:
        return f"p.{ref[0]}{start}="
    return describe_protein_change(start, ref, m[4], terms)


@dataclass(frozen=True)
class AlleleOrigin:
    """The record as the input file wrote it, and which of its ALTs a (split) allele is.

    Annotations made before haicgx split and normalised the file name alleles in that spelling.
    """

    pos: int
    ref: str
    alts: tuple[str, ...]
    index: int = 1  # 1-based, as VEP's ALLELE_NUM

    @property
    def alt(self) -> str:
        return self.alts[self.index - 1]

    @classmethod
    def parse(cls, text: str) -> AlleleOrigin | None:
        """From bcftools norm --old-rec-tag: `CHROM|POS|REF|ALT,ALT|INDEX` for a split record,
        `CHROM|POS|REF|ALT` for one that was only left-aligned or trimmed.

        >>> AlleleOrigin.parse("chr1|100|CAT|C,CATAT|2").alt
        'CATAT'
        >>> AlleleOrigin.parse("1|19026|CAGGTGGCCAG|CAGGTCAG").pos
        19026
        """
        parts = text.split("|")
        if len(parts) == 4:
            parts.append("1")
        if len(parts) != 5 or not parts[1].isdigit() or not parts[4].isdigit():
            return None
        alts = tuple(parts[3].split(","))
        index = int(parts[4])
        if not 1 <= index <= len(alts):
            return None
        return cls(int(parts[1]), parts[2], alts, index)


def vep_default_allele(origin: AlleleOrigin, index: int | None = None) -> str:
    """VEP's Allele for one ALT: for indels, when every allele shares the first base, VEP drops it
    from all of them ('-' when nothing is left); otherwise the ALT as written.

    >>> o = AlleleOrigin(100, "CAT", ("C", "CATAT"))
    >>> vep_default_allele(o, 1), vep_default_allele(o, 2)
    ('-', 'ATAT')
    >>> vep_default_allele(AlleleOrigin(100, "CAT", ("C", "TAT")), 2)  # no shared first base
    'TAT'
    >>> vep_default_allele(AlleleOrigin(100, "AC", ("GT",)))
    'GT'
    """
    alt = origin.alts[(index or origin.index) - 1]
    real = [a for a in origin.alts if a != "*"]
    is_indel = any(len(a) != len(origin.ref) for a in real)
    if is_indel and all(a[:1] == origin.ref[:1] for a in real):
        return alt[1:] or "-"
    return alt


def vep_minimal_allele(ref: str, alt: str) -> str:
    """VEP --minimal's Allele: shared suffix and prefix trimmed off ('-' when nothing is left).

    >>> vep_minimal_allele("CAT", "CATAT"), vep_minimal_allele("CAT", "TAT")
    ('AT', 'T')
    """
    while ref and alt and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while ref and alt and ref[0] == alt[0]:
        ref, alt = ref[1:], alt[1:]
    return alt or "-"


def vep_allele_spellings(origin: AlleleOrigin, ref: str, alt: str) -> list[str]:
    """Spellings the Allele column may use for this allele, to try in order.

    VEP's default spelling of the input record comes first (unique among its ALTs). The others
    (--minimal, or the split record's own spelling) are tried only when no other ALT of the input
    record could be spelled the same way, so that an entry is never given to the wrong allele.

    >>> vep_allele_spellings(AlleleOrigin(100, "A", ("AT", "T"), 1), "A", "AT")
    ['AT']
    """
    others = set()
    for j in range(1, len(origin.alts) + 1):
        if j != origin.index:
            others |= {
                vep_default_allele(origin, j),
                vep_minimal_allele(origin.ref, origin.alts[j - 1]),
                origin.alts[j - 1],
            }
    spellings = [vep_default_allele(origin)]
    for extra in (
        vep_minimal_allele(origin.ref, origin.alt),
        origin.alt,
        alt,
        vep_default_allele(AlleleOrigin(0, ref, (alt,))),
    ):
        if extra not in others and extra not in spellings:
            spellings.append(extra)
    return spellings


def parse_bcsq(
    entries: list[str],
    origin: AlleleOrigin | None = None,
    pos: int = 0,
    ref: str = "",
    alt: str = "",
) -> list[Annotation]:
    """BCSQ entries of one (split) record; `@POS` back-references carry nothing new. Given in
    transcript-id order: the reader keeps the first of equally ranked transcripts of a gene, and
    the transcript policy's last tie-break is the smaller id.

    With `origin` (a BCSQ the input file already carried, written before haicgx split it), an
    entry is kept only if its DNA change names this allele; entries without one (splice, intron,
    UTR...) cannot be attributed when the input record had several ALTs, and are dropped then.
    """
    out = []
    for entry in entries:
        if not entry or entry[0] == "@":
            continue
        parts = entry.split("|")
        if origin is not None and not _bcsq_is_this_allele(parts, origin, pos, ref, alt):
            continue
        n = len(parts)
        gene = parts[1] if n > 1 else ""
        ordered = _bcsq_terms(parts[0])
        if gene == "" and "intergenic_variant" not in ordered.split("&"):
            continue
        protein = (
            protein_from_bcsq(parts[5], tuple(ordered.split("&"))) if n > 5 and parts[5] else ""
        )
        out.append(
            Annotation(
                gene,
                ordered,
                parts[2] if n > 2 else "",
                protein,
                None,
                parts[3] if n > 3 else "",
            )
        )
    if len(out) > 1:
        out.sort(key=_by_transcript)
    return out


def _by_transcript(ann: Annotation) -> str:
    return ann.transcript


def _bcsq_is_this_allele(
    parts: list[str], origin: AlleleOrigin, pos: int, ref: str, alt: str
) -> bool:
    if len(parts) > 6 and parts[6]:
        own = {f"{origin.pos}{origin.ref}>{origin.alt}", f"{pos}{ref}>{alt}"}
        return any(change in own for change in parts[6].split("+"))
    return len(origin.alts) == 1


class TranscriptFacts(NamedTuple):
    """What an annotation source says of a transcript; False or 0 where it says nothing."""

    mane_select: bool = False
    canonical: bool = False
    incomplete: bool = False  # the CDS lacks its start or its end (cds_start_NF, cds_end_NF)
    cds_length: int = 0


NO_FACTS = TranscriptFacts()


def transcript_rank(facts: TranscriptFacts) -> tuple[int, int, int, int]:
    """The transcript policy's order of the facts (smaller is preferred): MANE Select, then
    canonical, then a complete CDS, then the longest CDS. Ties go to the most severe consequence,
    then to the smaller transcript id (`choose_per_gene`).

    >>> sorted([TranscriptFacts(cds_length=900), TranscriptFacts(True), TranscriptFacts(
    ...     canonical=True)], key=transcript_rank)[0].mane_select
    True
    """
    return (
        0 if facts.mane_select else 1,
        0 if facts.canonical else 1,
        1 if facts.incomplete else 0,
        -facts.cds_length,
    )


def choose_per_gene(candidates: Iterable[tuple[Annotation, TranscriptFacts]]) -> list[Annotation]:
    """One annotation per gene by the transcript policy, genes in the order first seen. The
    gene-less intergenic annotation stands for the allele only when no gene is annotated (SnpEff
    also writes it for an allele upstream of a gene)."""
    best: dict[str, tuple[tuple, Annotation]] = {}
    for ann, facts in candidates:
        key = (*transcript_rank(facts), ann.severity, ann.transcript)
        current = best.get(ann.gene)
        if current is None or key < current[0]:
            best[ann.gene] = (key, ann)
    if "" in best and len(best) > 1:
        del best[""]
    return [ann for _, ann in best.values()]


def _length(text: str) -> int:
    """The total of a `pos/length` field (VEP --total_length, SnpEff CDS.pos / CDS.length)."""
    if "/" in text:
        total = text.rsplit("/", 1)[1].strip()
        return int(total) if total.isdigit() else 0
    return 0


def vep_fields(description: str) -> list[str]:
    """Field names from a VEP CSQ/ANN header Description ('... Format: Allele|Consequence|...').

    >>> vep_fields("Consequence annotations from Ensembl VEP. Format: 'Allele|Consequence|SYMBOL'")
    ['Allele', 'Consequence', 'SYMBOL']
    """
    text = description.split("Format:", 1)[1].strip().strip("'\"")
    return [f.strip() for f in text.split("|")]


def snpeff_fields(description: str) -> list[str]:
    text = description.split(":", 1)[1].strip().strip("'\"")
    return [f.strip() for f in text.split("|")]


def exon_rank(text: str) -> tuple[int | None, int | None]:
    """The exon number and the transcript's exon count from VEP's EXON or SnpEff's Rank/Total.

    A change spanning exons gives its first (5') exon, as the transcript reads.

    >>> exon_rank("27/27"), exon_rank("3-4/11"), exon_rank("")
    ((27, 27), (3, 11), (None, None))
    """
    m = re.match(r"^(\d+)(?:-\d+)?/(\d+)$", text or "")
    return (int(m[1]), int(m[2])) if m else (None, None)


def parse_vep(
    entries: list[str], fields: list[str], ref: str, alt: str, origin: AlleleOrigin | None = None
) -> list[Annotation]:
    """One annotation per gene from the VEP entries of this allele, by the transcript policy.

    `origin` is the record as VEP saw it (before haicgx split and normalised it). ALLELE_NUM, when
    VEP wrote it, identifies the allele exactly; else the Allele column's spelling does.
    """
    origin = origin or AlleleOrigin(0, ref, (alt,))
    rows = [dict(zip(fields, entry.split("|"), strict=False)) for entry in entries]
    candidates = []
    for values in _vep_rows_of_allele(rows, origin, ref, alt):
        if values.get("Feature_type", "Transcript") not in ("Transcript", ""):
            continue  # regulatory and motif features
        terms = order_terms([t for t in (values.get("Consequence") or "").split("&") if t])
        gene = values.get("SYMBOL") or values.get("Gene") or ""
        if not gene and "intergenic_variant" not in terms.split("&"):
            continue
        exon, total = exon_rank(values.get("EXON", ""))
        ann = Annotation(
            gene=gene,
            consequence=terms,
            transcript=values.get("Feature", ""),
            protein_change=_vep_protein(values, tuple(terms.split("&"))),
            exon=exon,
            biotype=values.get("BIOTYPE", ""),
            exon_total=total,
        )
        candidates.append((ann, _vep_facts(values)))
    return choose_per_gene(candidates)


def _vep_rows_of_allele(
    rows: list[dict[str, str]], origin: AlleleOrigin, ref: str, alt: str
) -> list[dict[str, str]]:
    if rows and "ALLELE_NUM" in rows[0]:
        return [r for r in rows if r.get("ALLELE_NUM") == str(origin.index)]
    for spelling in vep_allele_spellings(origin, ref, alt):
        chosen = [r for r in rows if r.get("Allele") == spelling]
        if chosen:
            return chosen
    return []


def _vep_facts(values: dict[str, str]) -> TranscriptFacts:
    """MANE_SELECT (MANE in VEP 103), CANONICAL, FLAGS (cds_start_NF, cds_end_NF) and the CDS
    length of CDS_position, or of Protein_position in codons (both only with --total_length).
    VEP's own PICK, APPRIS and TSL are not used: every source follows the same policy."""
    flags = values.get("FLAGS", "")
    length = _length(values.get("CDS_position", "")) or 3 * _length(
        values.get("Protein_position", "")
    )
    return TranscriptFacts(
        mane_select=bool(values.get("MANE_SELECT") or values.get("MANE")),
        canonical=values.get("CANONICAL") == "YES",
        incomplete="cds_start_NF" in flags or "cds_end_NF" in flags,
        cds_length=length,
    )


def _vep_protein(values: dict[str, str], terms: tuple[str, ...]) -> str:
    protein = protein_from_hgvsp(values.get("HGVSp", ""))
    if protein:
        return protein
    return protein_from_positions(
        values.get("Protein_position", ""), values.get("Amino_acids", ""), terms
    )


def protein_from_positions(position: str, amino_acids: str, terms: tuple[str, ...] = ()) -> str:
    """Short HGVS from VEP's Protein_position and Amino_acids (when it ran without --hgvs).

    >>> protein_from_positions("175", "R/H", ("missense_variant",))
    'p.R175H'
    >>> protein_from_positions("1593", "E/*", ("stop_gained",))
    'p.E1593*'
    >>> protein_from_positions("150-151", "KL/X", ("frameshift_variant",))
    'p.K150fs'
    >>> protein_from_positions("746-750", "ELREA/-", ("inframe_deletion",))
    'p.E746_A750del'
    >>> protein_from_positions("5/393", "L", ("synonymous_variant",))
    'p.L5='
    """
    start = position.split("/")[0].split("-")[0]
    if not start.isdigit():
        return ""
    if "/" not in amino_acids:
        return f"p.{amino_acids}{start}=" if len(amino_acids) == 1 else ""
    ref, alt = (a.replace("-", "") for a in amino_acids.split("/", 1))
    return describe_protein_change(int(start), ref, alt, terms)


def parse_snpeff(
    entries: list[str], alt: str, origin: AlleleOrigin | None = None
) -> list[Annotation]:
    """One annotation per gene from SnpEff ANN entries of this allele, by the transcript policy
    (SnpEff's CDS.length is the only fact it gives: ANN names no MANE or canonical transcript).
    Entries made on a transcript SnpEff found faulty are left out (`SNPEFF_FAULTY_TRANSCRIPT`,
    ERROR_*). SnpEff names the allele as the input wrote it; `origin` carries that spelling for a
    split record."""
    spellings = {alt} | ({origin.alt} if origin else set())
    candidates = []
    for entry in entries:
        parts = entry.split("|")
        if len(parts) < 11 or parts[0] not in spellings:
            continue
        if len(parts) > 15 and parts[15] and _snpeff_faulty(parts[15]):
            continue
        terms = order_terms([_SNPEFF_TO_SO.get(t, t) for t in parts[1].split("&") if t])
        intergenic = parts[5] == "intergenic_region" or "intergenic_variant" in terms.split("&")
        if not intergenic and parts[5] not in ("transcript", ""):
            continue  # motifs, protein interactions, regulatory features: not a gene's transcript
        gene = "" if intergenic else parts[3]  # SnpEff names an intergenic region GENE1-GENE2
        if not gene and not intergenic:
            continue
        exon, total = exon_rank(parts[8])
        ann = Annotation(
            gene=gene,
            consequence=terms,
            transcript="" if intergenic else parts[6],
            protein_change=protein_from_hgvsp(parts[10]),
            exon=exon,
            biotype=parts[7],
            exon_total=total,
        )
        length = _length(parts[12]) if len(parts) > 12 else 0
        candidates.append((ann, TranscriptFacts(cds_length=length)))
    return choose_per_gene(candidates)


def _snpeff_faulty(messages: str) -> bool:
    """Whether SnpEff's ERRORS / WARNINGS / INFO field (`&`-joined) marks a faulty transcript.

    >>> _snpeff_faulty("WARNING_TRANSCRIPT_NO_START_CODON"), _snpeff_faulty("INFO_REALIGN_3_PRIME")
    (True, False)
    """
    return any(m in SNPEFF_FAULTY_TRANSCRIPT or m.startswith("ERROR_") for m in messages.split("&"))
