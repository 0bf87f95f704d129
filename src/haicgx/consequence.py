"""Consequences of one allele, read from bcftools BCSQ, VEP CSQ (key CSQ or ANN) or SnpEff ANN.

Each reader returns `Annotation`s, one per gene (its chosen transcript), with the consequence in
Sequence Ontology terms and the protein change in short HGVS form (`p.G12D`, `p.Q23*`, `p.K150fs`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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

_THREE_TO_ONE = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E",
    "Gly": "G", "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F",
    "Pro": "P", "Ser": "S", "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V", "Ter": "*",
    "Sec": "U", "Pyl": "O", "Xaa": "X",
}  # fmt: skip


@dataclass(frozen=True)
class Annotation:
    gene: str
    consequence: str  # SO terms joined by '&', most severe first
    transcript: str
    protein_change: str
    exon: int | None = None
    biotype: str = ""

    @property
    def terms(self) -> tuple[str, ...]:
        return tuple(self.consequence.split("&")) if self.consequence else ()

    @property
    def severity(self) -> int:
        return min((_RANK.get(t, len(SEVERITY)) for t in self.terms), default=len(SEVERITY))

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


def order_terms(terms: list[str]) -> str:
    """Join SO terms, most severe first.

    >>> order_terms(["splice_region_variant", "missense_variant"])
    'missense_variant&splice_region_variant'
    """
    unique = list(dict.fromkeys(terms))
    return "&".join(sorted(unique, key=lambda t: _RANK.get(t, len(SEVERITY))))


def most_severe(annotations: list[Annotation]) -> Annotation | None:
    return min(annotations, key=lambda a: (a.severity, a.gene), default=None)


def protein_from_hgvsp(hgvsp: str) -> str:
    """Short one-letter HGVS from a VEP/SnpEff HGVSp.

    >>> protein_from_hgvsp("ENSP00000256078.4:p.Gly12Asp")
    'p.G12D'
    >>> protein_from_hgvsp("p.Gln23Ter")
    'p.Q23*'
    >>> protein_from_hgvsp("p.Lys150AsnfsTer5")
    'p.K150fs'
    >>> protein_from_hgvsp("p.Arg175His")
    'p.R175H'
    >>> protein_from_hgvsp("ENSP01:p.Leu5%3D")
    'p.L5='
    """
    text = hgvsp.split(":", 1)[-1].replace("%3D", "=")
    if not text.startswith("p."):
        return ""
    body = text[2:].strip("()")
    for three, one in _THREE_TO_ONE.items():
        body = body.replace(three, one)
    if m := re.match(r"^([A-Z*])(\d+)[A-Z*]*fs", body):
        return f"p.{m[1]}{m[2]}fs"
    if m := re.match(r"^([A-Z*])(\d+)([A-Z*=])$", body):
        return f"p.{m[1]}{m[2]}{m[3]}"
    return f"p.{body}"


def protein_from_bcsq(aa_change: str) -> str:
    """Short HGVS from the amino-acid field of a BCSQ entry.

    >>> protein_from_bcsq("12G>12D")
    'p.G12D'
    >>> protein_from_bcsq("132EE>132D*")
    'p.E133*'
    >>> protein_from_bcsq("157SSHLMCVLT>157SSHLMSLCF")
    'p.C162fs'
    >>> protein_from_bcsq("1Y")
    'p.Y1='
    >>> protein_from_bcsq("508VA>508A")
    'p.V508del'
    >>> protein_from_bcsq("89K>89KKKEKG")
    'p.K89_90insKKEKG'
    """
    m = re.match(r"^(\d+)([A-Z*]+)(?:>(\d+)([A-Z*]*))?$", aa_change)
    if not m:
        return ""
    start, ref = int(m[1]), m[2]
    if m[3] is None:
        return f"p.{ref[0]}{start}="
    alt = m[4]
    i = 0
    while i < min(len(ref), len(alt)) and ref[i] == alt[i]:
        i += 1
    if "*" in alt and "*" not in ref:
        stop = alt.index("*")
        return f"p.{ref[min(stop, len(ref) - 1)]}{start + min(stop, len(ref) - 1)}*"
    if len(ref) == len(alt) and i < len(ref) and ref[i + 1 :] == alt[i + 1 :]:
        return f"p.{ref[i]}{start + i}{alt[i]}"
    if len(ref) > len(alt) and ref.startswith(alt):
        # deletion at the 3' end: bcftools keeps the leading residues
        gone = ref[len(alt) :]
        first = start + len(alt)
        if len(gone) == 1:
            return f"p.{gone}{first}del"
        return f"p.{gone[0]}{first}_{gone[-1]}{first + len(gone) - 1}del"
    if len(ref) > len(alt) and ref.endswith(alt):
        gone = ref[: len(ref) - len(alt)]
        if len(gone) == 1:
            return f"p.{gone}{start}del"
        return f"p.{gone[0]}{start}_{gone[-1]}{start + len(gone) - 1}del"
    if len(alt) > len(ref) and alt.startswith(ref):
        last = start + len(ref) - 1
        return f"p.{ref[-1]}{last}_{last + 1}ins{alt[len(ref) :]}"
    if i < len(ref):
        return f"p.{ref[i]}{start + i}fs"
    return f"p.{ref[0]}{start}delins{alt}"


def parse_bcsq(entries: list[str]) -> list[Annotation]:
    """BCSQ entries of one (split) record; `@POS` back-references carry nothing new."""
    out = []
    for entry in entries:
        if not entry or entry.startswith("@"):
            continue
        parts = entry.split("|")
        kind = parts[0].lstrip("*")  # '*' marks a consequence downstream of a stop
        terms = [_CSQ_TO_SO.get(t, t) for t in kind.split("&")]
        gene = parts[1] if len(parts) > 1 else ""
        transcript = parts[2] if len(parts) > 2 else ""
        biotype = parts[3] if len(parts) > 3 else ""
        protein = protein_from_bcsq(parts[5]) if len(parts) > 5 and parts[5] else ""
        if gene == "" and "intergenic_variant" not in terms:
            continue
        out.append(Annotation(gene, order_terms(terms), transcript, protein, None, biotype))
    return out


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


def is_snpeff(description: str) -> bool:
    return "Functional annotations" in description and "Annotation_Impact" in description


def vep_allele(ref: str, alt: str) -> set[str]:
    """The spellings VEP may use for an allele (it drops a shared first base: '-' for none)."""
    spellings = {alt}
    if len(ref) != len(alt) and ref[0] == alt[0]:
        spellings.add(alt[1:] or "-")
    return spellings


def _exon_number(text: str) -> int | None:
    m = re.match(r"^(\d+)(?:-\d+)?/\d+$", text or "")
    return int(m[1]) if m else None


def parse_vep(entries: list[str], fields: list[str], ref: str, alt: str) -> list[Annotation]:
    """One annotation per gene from VEP entries of this allele: PICK, then MANE, then CANONICAL."""
    spellings = vep_allele(ref, alt)
    per_gene: dict[str, tuple[tuple[int, ...], Annotation]] = {}
    for entry in entries:
        values = dict(zip(fields, entry.split("|"), strict=False))
        if values.get("Allele") not in spellings:
            continue
        gene = values.get("SYMBOL") or values.get("Gene") or ""
        if not gene:
            continue
        terms = (values.get("Consequence") or "").split("&")
        protein = protein_from_hgvsp(values.get("HGVSp", ""))
        if not protein and values.get("Protein_position") and values.get("Amino_acids"):
            protein = _protein_from_positions(values["Protein_position"], values["Amino_acids"])
        ann = Annotation(
            gene=gene,
            consequence=order_terms([t for t in terms if t]),
            transcript=values.get("Feature", ""),
            protein_change=protein,
            exon=_exon_number(values.get("EXON", "")),
            biotype=values.get("BIOTYPE", ""),
        )
        preference = (
            0 if values.get("PICK") == "1" else 1,
            0 if values.get("MANE_SELECT") or values.get("MANE") else 1,
            0 if values.get("CANONICAL") == "YES" else 1,
            0 if values.get("BIOTYPE") == "protein_coding" else 1,
            ann.severity,
        )
        if gene not in per_gene or preference < per_gene[gene][0]:
            per_gene[gene] = (preference, ann)
    return [ann for _, ann in per_gene.values()]


def _protein_from_positions(position: str, amino_acids: str) -> str:
    start = position.split("-")[0]
    if "/" in amino_acids:
        ref, alt = amino_acids.split("/", 1)
        if len(ref) == 1 and len(alt) == 1 and start.isdigit():
            return f"p.{ref}{start}{alt}"
    elif start.isdigit() and len(amino_acids) == 1:
        return f"p.{amino_acids}{start}="
    return ""


def parse_snpeff(entries: list[str], alt: str) -> list[Annotation]:
    """One annotation per gene from SnpEff ANN entries of this allele (SnpEff lists the most
    severe effect first, so the first transcript seen for a gene is kept)."""
    per_gene: dict[str, Annotation] = {}
    for entry in entries:
        parts = entry.split("|")
        if len(parts) < 11 or parts[0] != alt:
            continue
        gene = parts[3]
        if not gene or gene in per_gene:
            continue
        per_gene[gene] = Annotation(
            gene=gene,
            consequence=order_terms([t for t in parts[1].split("&") if t]),
            transcript=parts[6],
            protein_change=protein_from_hgvsp(parts[10]),
            exon=_exon_number(parts[8]),
            biotype=parts[7],
        )
    return list(per_gene.values())
