"""What the checks learn about a VCF and carry to the later stages: `VcfFacts`, the records
left out (structural, unusable), and `fail`, the one shape of an input error."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from haicgx.errors import InputError

# gVCF and bcftools placeholders for "any other allele": not variants, trimmed before evaluation.
UNSEEN_ALLELES = ("<*>", "<NON_REF>")
# Records with a symbolic structural allele (<DEL>, <DUP:TANDEM>, <CN0>...) or a breakend are
# valid VCF that haicgx does not evaluate: left out by `bcftools view -e` with this expression,
# which tests each allele (so <*> and <NON_REF> are spared), and counted.
STRUCTURAL_EXCLUDE = 'ALT~"<[A-MO-Z]" || ALT~"<N[^O]" || ALT~"<NO[^N]" || ALT~"[][]"'
MAX_STRUCTURAL_KEPT = 10_000  # structural records remembered (for the pharmacogene check)
_END = re.compile(r"(?:^|;)END=(\d+)")


def is_structural(allele: str) -> bool:
    """A symbolic allele other than the unseen-allele placeholders, or a breakend.

    >>> [is_structural(a) for a in ("<DEL>", "<*>", "<NON_REF>", "C[chr17:7675088[", "T")]
    [True, False, False, True, False]
    """
    return (
        (allele.startswith("<") and allele not in UNSEEN_ALLELES) or "[" in allele or "]" in allele
    )


@dataclass(frozen=True)
class Unusable:
    """A record left out because its alleles cannot be evaluated.

    `ref` and `alt` are what identifies it for `bcftools view -e`: its REF and, when an ALT is
    the problem, that ALT. Any record matching both has the same problem."""

    chrom: str
    pos: int
    ref: str
    alt: str | None
    reason: str

    @property
    def where(self) -> str:
        return f"{self.chrom}:{self.pos}"

    def expression(self, chrom: str) -> str:
        """The bcftools filter expression matching this record (under its renamed contig)."""
        alt = f' && ALT="{self.alt}"' if self.alt is not None else ""
        return f'(CHROM="{chrom}" && POS={self.pos} && REF="{self.ref}"{alt})'


@dataclass(frozen=True)
class Structural:
    """A structural-variant record left out of the evaluation."""

    chrom: str
    pos: int
    end: int
    alt: str


@dataclass
class VcfFacts:
    """What the checks learned about a file, carried into the outputs."""

    tumour_sample: str
    samples: list[str]
    normal_sample: str | None = None  # the matched normal, whose genotypes the PGx calls read
    contig_names: dict[str, str] = field(default_factory=dict)  # file name -> reference name
    build_check: str = ""
    records_read: int = 0
    warnings: list[str] = field(default_factory=list)
    build_confirmed: bool = True  # False: no contig lengths, the build rests on REF checks alone
    header_additions: list[str] = field(default_factory=list)  # declarations the header lacked
    excluded_contigs: list[str] = field(default_factory=list)  # non-primary, not in the reference
    unseen_alleles: bool = False  # records carry <*> or <NON_REF>, to be trimmed
    structural_records: int = 0  # symbolic or breakend records, left out
    structural: list[Structural] = field(default_factory=list)  # the first MAX_STRUCTURAL_KEPT
    unusable: list[Unusable] = field(default_factory=list)  # records left out, with the reason

    @property
    def kept_samples(self) -> list[str]:
        """The samples the annotated file keeps, the tumour first."""
        return [self.tumour_sample] + ([self.normal_sample] if self.normal_sample else [])

    def exclude_expression(self) -> str | None:
        """The `bcftools view -e` expression leaving out the structural and unusable records
        (applied after contigs are renamed), or None when there are none."""
        parts = [STRUCTURAL_EXCLUDE] if self.structural_records else []
        parts += [u.expression(self.contig_names.get(u.chrom, u.chrom)) for u in self.unusable]
        return " || ".join(parts) or None


def fail(patient: str, path: Path, problem: str, record: str | None = None) -> InputError:
    """The error every check raises: the patient, the file, what is wrong, the record if known."""
    return InputError(patient, str(path), problem, record=record)


@dataclass
class TextScan:
    """What a line-by-line pass over a text VCF learned."""

    header: list[str]
    records: int
    contigs: set[str]  # contigs the records use
    header_additions: list[str]  # declarations the header lacks, for bcftools annotate -h
    unseen_alleles: bool = False  # some record carries <*> or <NON_REF>
    structural_records: int = 0
    structural: list[Structural] = field(default_factory=list)
    unusable: list[Unusable] = field(default_factory=list)

    def note_structural(self, chrom: str, pos: int, ref: str, info: str, alts: list[str]) -> None:
        self.structural_records += 1
        if len(self.structural) < MAX_STRUCTURAL_KEPT:
            m = _END.search(info)
            end = int(m[1]) if m else pos + len(ref) - 1
            self.structural.append(Structural(chrom, pos, max(end, pos), ",".join(alts)))
