"""Read depth, alt reads and VAF from the fields each somatic caller writes; the QC filters.

The caller is recognised from the header (`SupportReader.caller`, `qc.caller` in
recommendation.json); the fields are then read by what they are, so a file merged from several
callers is read record by record. docs/callers.md gives the fields per caller. In short:

- alt reads: the ALT's count in FORMAT AD (one count per allele: Mutect2, MuTect1, MuSE, RADIA,
  Pindel, VarDict), else VarScan's AD beside RD, Strelka's tier-1 TIR (indels) or AU/CU/GU/TU
  (SNVs), SomaticSniper's BCOUNT for the ALT base (else DP4's non-reference reads), VarDict's VD;
- depth: the caller's FORMAT DP where it writes one, else the reads the counts cover (Strelka: the
  tier-1 counts, as its DP also counts filtered basecalls);
- VAF: the caller's own fraction (FORMAT AF; MuTect1 FA; VarScan FREQ), else alt reads / depth;
- INFO TVAF/TDP (PCGR) where FORMAT gives nothing.

A value no field carries is unknown (None), never zero, and no threshold is applied to it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pysam

from haicgx.annotate import ORIGINAL_RECORD
from haicgx.consequence import AlleleOrigin

# VAF windows that fit a germline genotype in a tumour sample (loss of heterozygosity and copy
# number shift them, so the windows are generous; outside them the call needs confirmation).
GERMLINE_HET = (0.30, 0.70)
GERMLINE_HOM_MIN = 0.85


class ReadSupport(NamedTuple):  # a tuple: one is made per allele, and cheaply
    """One allele's read support in one sample: what qc reads, match tests and the outputs show."""

    depth: int | None
    alt_reads: int | None
    vaf: float | None
    source: str  # which fields gave the values

    def cells(self) -> dict[str, str]:
        """Its cells of variants.tsv, by column name (haicgx.vocab.VARIANT_COLUMNS)."""
        return {
            "vaf": "" if self.vaf is None else f"{self.vaf:.4g}",
            "depth": "" if self.depth is None else str(self.depth),
            "alt_reads": "" if self.alt_reads is None else str(self.alt_reads),
        }


# Callers recognised by their own header lines (never by bcftools' command lines, which may name
# the input file). The name is what qc.caller says; `CALLER_FIELDS` what its read support is in.
_CALLER_LINES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "Mutect2",
        re.compile(
            r"^##(GATKCommandLine[.\w]*=<ID=MuTect2\b|source=(Mutect2|FilterMutectCalls)\b"
            r"|MutectVersion=2)",
            re.IGNORECASE,
        ),
    ),
    (
        "MuTect1",
        re.compile(
            r"^##(MuTect=|GATKCommandLine[.\w]*=<ID=MuTect,|FILTER=<ID=REJECT,Description="
            r'"Rejected as a confident somatic mutation")'
        ),
    ),
    ("MuSE", re.compile(r"^##MuSE_version=")),
    ("Strelka", re.compile(r"^##source=strelka\b", re.IGNORECASE)),
    ("VarScan 2", re.compile(r"^##source=varscan", re.IGNORECASE)),
    (
        "SomaticSniper",
        re.compile(r"^##(source=\S*somatic-?sniper|vcfProcessLog=.*bam-somaticsniper)", re.I),
    ),
    ("RADIA", re.compile(r'^##(source="?RADIA\b|vcfGenerator=<.*algorithm=<RADIA>)')),
    ("Pindel", re.compile(r'^##(source=pindel|vcfProcessLog=.*InputVCFSource="?pindel)', re.I)),
    ("VarDict", re.compile(r"^##source=VarDict", re.IGNORECASE)),
)

CALLER_FIELDS = {
    "Mutect2": "FORMAT AD, DP, AF",
    "MuTect1": "FORMAT AD, DP, FA",
    "MuSE": "FORMAT AD, DP",
    "Strelka": "FORMAT AU/CU/GU/TU (SNVs), TAR/TIR (indels)",
    "VarScan 2": "FORMAT RD, AD, DP, FREQ",
    "SomaticSniper": "FORMAT BCOUNT, DP4, DP",
    "RADIA": "FORMAT AD, DP, AF (per allele, REF first)",
    "Pindel": "FORMAT AD, DP",
    "VarDict": "FORMAT AD, VD, DP, AF",
}
ALL_FIELDS = (
    "FORMAT AD, DP, AF, FA; VarScan RD/FREQ; Strelka AU/CU/GU/TU and TAR/TIR; SomaticSniper "
    "BCOUNT/DP4; VarDict VD; INFO TVAF/TDP"
)


def recognise_callers(header_lines: list[str]) -> list[str]:
    """The callers whose own header lines the file carries, in the order of `_CALLER_LINES`.

    >>> recognise_callers(["##source=VarScan2", "##source=strelka"])
    ['Strelka', 'VarScan 2']
    >>> recognise_callers(["##bcftools_viewCommand=view test_pindel.vcf"])
    []
    """
    found = []
    for name, pattern in _CALLER_LINES:
        if any(pattern.match(line) for line in header_lines):
            found.append(name)
    return found


_NO_SAMPLE = object()  # `SupportReader.read` was not handed the record's sample


def _first(value: Any) -> Any:
    if isinstance(value, tuple):
        return value[0] if value else None
    return value


def _int(value: Any) -> int | None:
    value = _first(value)
    return int(value) if isinstance(value, int | float) else None


def _items(value: Any) -> tuple[Any, ...]:
    """A FORMAT value's items, whether declared numeric (a tuple or one value) or, when the input
    header left the key undeclared and haicgx declared it a String, as text ('12,14')."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(value.split(","))
    return value if isinstance(value, tuple) else (value,)


def _ints(value: Any) -> tuple[int | None, ...]:
    return tuple(_to_int(v) for v in _items(value))


def _to_int(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _floats(value: Any) -> tuple[float | None, ...]:
    return tuple(_float(v) for v in _items(value))


class _Allele(NamedTuple):
    """This (split) allele's place in the record as the input wrote it."""

    nth: int  # 1-based index of the ALT
    alleles: int  # alleles of that record, REF included


def _counts_per_allele(values: tuple, number: Any, allele: _Allele) -> tuple[Any, Any] | None:
    """REF's and this ALT's values of a field holding one value per allele, REF first.

    Number=R is split by bcftools norm (two values left); Number=. or 2 (MuSE, RADIA, Pindel,
    Strelka2 germline) is not, and holds every allele of the input's record."""
    if len(values) == 2 and (number == "R" or allele.alleles == 2):
        return values[0], values[1]
    if len(values) == allele.alleles and allele.alleles > 2:
        return values[0], values[allele.nth]
    return None


def _fraction(values: tuple, number: Any, allele: _Allele) -> float | None:
    """This ALT's value of an allele-fraction field (AF, FA), by its declared Number: A (split by
    norm), 1 (a biallelic record only), R (REF first), or '.' (RADIA writes one per allele, REF
    first; others one per ALT: told apart by the count)."""
    if number == "A" and len(values) == 1:
        return values[0]
    if number in (1, "1"):
        return values[0] if allele.alleles == 2 and values else None
    if number == "R":
        return values[1] if len(values) == 2 else None
    if len(values) == allele.alleles:
        return values[allele.nth]
    if len(values) == allele.alleles - 1:
        return values[allele.nth - 1]
    return None


_BASES = {"A": 0, "C": 1, "G": 2, "T": 3}


class SupportReader:
    """Learns, once per file, which caller wrote it and which fields hold read support; then reads
    them per record.

    Records are read after `bcftools norm -m -any`, so each carries one ALT; Number=R/A fields hold
    that allele's values, Number=. fields still those of every allele of the input's record.
    """

    def __init__(self, header: pysam.VariantHeader) -> None:
        fmt = header.formats
        info = header.info
        self.callers = recognise_callers(str(header).splitlines())
        self.caller = ", ".join(self.callers) or None  # qc.caller
        number = {key: fmt[key].number for key in fmt}
        self.numbers = number
        ad_number = number.get("AD")
        self.has_ad = ad_number is not None
        # VarScan 2's AD is the ALT's reads alone (Number=1), its RD the reference's. Merged files
        # carry such records beside others (Pindel's test file has one): also told per record.
        self.has_rd = "RD" in fmt
        self.varscan = self.has_rd and ad_number in (1, "1")
        self.has_freq = "FREQ" in fmt
        self.strelka_snv = all(k in fmt for k in ("AU", "CU", "GU", "TU"))
        self.strelka_indel = "TAR" in fmt and "TIR" in fmt
        self.has_bcount = "BCOUNT" in fmt
        self.has_dp4 = "DP4" in fmt
        self.has_vd = "VD" in fmt
        self.has_dp = "DP" in fmt
        self.has_af = "AF" in fmt and not self.varscan
        self.has_fa = "FA" in fmt
        self.info_tvaf = "TVAF" in info
        self.info_tdp = "TDP" in info
        self.has_origin = ORIGINAL_RECORD in info
        # GATK Mutect2's FORMAT AD (Number=R), DP and AF (Number=A) and nothing else to look at:
        # most tumour VCFs. RADIA's AD and AF (Number=.) take the general path.
        other_sources = (
            self.varscan,
            self.has_freq,
            self.has_fa,
            self.strelka_snv,
            self.strelka_indel,
            self.has_bcount,
            self.has_dp4,
            self.has_vd,
            self.info_tvaf,
            self.info_tdp,
        )
        self.ad_dp_af_only = (
            ad_number == "R" and self.has_dp and number.get("AF") == "A" and not any(other_sources)
        )

    @property
    def fields_looked_for(self) -> str:
        """Where this file's read support should be, for the QC warning when it was not there."""
        named = [f"{c}: {CALLER_FIELDS[c]}" for c in self.callers]
        return "; ".join(named) if named else ALL_FIELDS

    def read(self, record: pysam.VariantRecord, sample: Any = _NO_SAMPLE) -> ReadSupport:
        """The record's support; `sample` is its first sample when the caller already has it."""
        if sample is _NO_SAMPLE:
            sample = record.samples[0] if len(record.samples) else None
        if sample is not None and self.ad_dp_af_only:
            return _ad_dp_af(sample)
        if sample is not None:
            depth, alt, vaf, used = self._from_format(record, sample)
        else:
            depth, alt, vaf, used = None, None, None, []
        if vaf is None and self.info_tvaf:
            vaf = _float(record.info.get("TVAF"))
            used += ["INFO TVAF"] if vaf is not None else []
        if depth is None and self.info_tdp:
            depth = _int(record.info.get("TDP"))
            used += ["INFO TDP"] if depth is not None else []
        if vaf is None and depth and alt is not None:
            vaf = alt / depth
        if alt is None and vaf is not None and depth is not None:
            alt = round(vaf * depth)
        return ReadSupport(
            depth, alt, None if vaf is None else round(vaf, 4), ", ".join(used) or "none"
        )

    def _allele(self, record: pysam.VariantRecord) -> _Allele:
        if self.has_origin:
            value = record.info.get(ORIGINAL_RECORD)
            if value is not None:
                origin = AlleleOrigin.parse(value if isinstance(value, str) else ",".join(value))
                if origin is not None:
                    return _Allele(origin.index, len(origin.alts) + 1)
        return _Allele(1, 1 + len(record.alts or ()))

    def _from_format(
        self, record: pysam.VariantRecord, sample
    ) -> tuple[int | None, int | None, float | None, list[str]]:
        allele = self._allele(record)
        ref, alt_allele = record.ref or "", (record.alts or ("",))[0]  # one ALT, after norm -m
        counted: ReadSupport | None = None
        if self.has_ad:
            counted = self._allelic_depths(sample, allele)
        if counted is None and self.strelka_indel and len(ref) != len(alt_allele):
            counted = _strelka_indel(sample)
        if counted is None and self.strelka_snv and len(ref) == len(alt_allele) == 1:
            counted = _strelka_snv(sample, ref, alt_allele)
        if counted is None and self.has_bcount and len(ref) == len(alt_allele) == 1:
            counted = _bcount(sample, ref, alt_allele)
        if counted is None and self.has_dp4 and allele.alleles == 2:
            counted = _dp4(sample)
        if counted is None and self.has_vd:
            vd = _int(sample.get("VD"))
            counted = ReadSupport(None, vd, None, "FORMAT VD") if vd is not None else None
        depth, alt, vaf, source = counted or (None, None, None, "")
        used = [source] if source else []
        if self.has_dp and not source.startswith("FORMAT AU") and "TAR/TIR" not in source:
            # The caller's own depth at the site: GATK's DP counts every read there, AD only the
            # informative ones. Strelka's DP also counts filtered basecalls: its counts are kept.
            dp = _int(sample.get("DP"))
            if dp is not None:
                depth = dp
                used.append("FORMAT DP")
        fraction = None
        if self.has_af:
            fraction = _fraction(_floats(sample.get("AF")), self.numbers["AF"], allele)
            used += ["FORMAT AF"] if fraction is not None else []
        if fraction is None and self.has_fa:
            fraction = _fraction(_floats(sample.get("FA")), self.numbers["FA"], allele)
            used += ["FORMAT FA"] if fraction is not None else []
        if fraction is None and self.has_freq:
            fraction = _percent(sample.get("FREQ"))
            used += ["FORMAT FREQ"] if fraction is not None else []
        return depth, alt, fraction if fraction is not None else vaf, used

    def _allelic_depths(self, sample, allele: _Allele) -> ReadSupport | None:
        """FORMAT AD: REF and ALT read counts, one per allele; or VarScan's AD (the ALT's reads)
        with RD (the reference's). A single AD without RD is not read: merged files have written
        the reference count there."""
        ad = _ints(sample.get("AD"))
        if len(ad) == 1 and self.has_rd:
            rd = _ints(sample.get("RD"))
            if len(rd) != 1 or rd[0] is None or ad[0] is None or allele.alleles != 2:
                return None
            return ReadSupport(rd[0] + ad[0], ad[0], None, "FORMAT RD/AD (VarScan)")
        pair = _counts_per_allele(ad, self.numbers["AD"], allele)
        if pair is None or pair[1] is None:
            return None
        ref_n, alt_n = pair
        # A missing REF count ('.,21' in vcf2maf's b38 file) leaves the ALT's reads known.
        return ReadSupport(None if ref_n is None else ref_n + alt_n, alt_n, None, "FORMAT AD")


def _ad_dp_af(sample) -> ReadSupport:
    """`SupportReader.read` for a file with FORMAT AD (Number=R), DP and AF (Number=A) and no
    other source, written out: it runs once per allele. DP and AF win over what AD gives, as
    there."""
    ad, dp, af = sample.get("AD"), sample.get("DP"), sample.get("AF")
    depth = alt = None
    counted = type(ad) is tuple and len(ad) == 2 and ad[1] is not None
    if counted:
        depth, alt = None if ad[0] is None else int(ad[0] + ad[1]), int(ad[1])
    dp = dp if type(dp) is int else _int(dp)
    if dp is not None:
        depth = dp
    vaf = af_value = _float(af) if type(af) is not tuple or len(af) == 1 else None
    if vaf is None and depth and alt is not None:
        vaf = alt / depth
    if alt is None and vaf is not None and depth is not None:
        alt = round(vaf * depth)
    return ReadSupport(
        depth,
        alt,
        None if vaf is None else round(vaf, 4),
        _AD_DP_AF_SOURCES[counted, dp is not None, af_value is not None],
    )


_AD_DP_AF_SOURCES = {
    (ad, dp, af): ", ".join(
        name for name, used in (("FORMAT AD", ad), ("FORMAT DP", dp), ("FORMAT AF", af)) if used
    )
    or "none"
    for ad in (True, False)
    for dp in (True, False)
    for af in (True, False)
}


def _tier1(sample, key: str) -> int | None:
    """Tier-1 count of a Strelka `Number=2` field (tiers 1,2); Strelka 1 files may leave TAR/TIR
    undeclared, which haicgx then declares as String: '12,14' is read as numbers too."""
    values = _ints(sample.get(key))
    return values[0] if values else None


def _strelka_indel(sample) -> ReadSupport | None:
    """Strelka somatic indels: tier-1 TAR (reference) and TIR (indel) reads; VAF TIR/(TAR+TIR)."""
    tar, tir = _tier1(sample, "TAR"), _tier1(sample, "TIR")
    if tar is None or tir is None:
        return None
    depth = tar + tir
    return ReadSupport(depth, tir, (tir / depth if depth else None), "FORMAT TAR/TIR (Strelka)")


def _strelka_snv(sample, ref: str, alt: str) -> ReadSupport | None:
    """Strelka somatic SNVs: tier-1 counts per base. Depth is every base counted at the site;
    VAF is ALT/(REF+ALT), as Strelka's documentation computes it."""
    counts = {base: _tier1(sample, f"{base}U") for base in "ACGT"}
    if ref not in counts or alt not in counts or any(c is None for c in counts.values()):
        return None
    ref_n, alt_n = counts[ref], counts[alt]
    assert ref_n is not None and alt_n is not None  # checked above, for the type checker
    vaf = alt_n / (ref_n + alt_n) if ref_n + alt_n else None
    depth = sum(c for c in counts.values() if c is not None)
    return ReadSupport(depth, alt_n, vaf, "FORMAT AU/CU/GU/TU (Strelka)")


def _bcount(sample, ref: str, alt: str) -> ReadSupport | None:
    """SomaticSniper SNVs: BCOUNT, the reads per base (A,C,G,T): this ALT's own count. Depth is
    every base counted (DP, when written, replaces it)."""
    counts = _ints(sample.get("BCOUNT"))
    if len(counts) != 4 or None in counts or ref not in _BASES or alt not in _BASES:
        return None
    total = sum(c for c in counts if c is not None)
    return ReadSupport(total, counts[_BASES[alt]], None, "FORMAT BCOUNT")


def _dp4(sample) -> ReadSupport | None:
    """DP4: high-quality reference forward/reverse and non-reference forward/reverse reads. Its
    'alt' pools every non-reference base, so it is read for a biallelic record only, and only
    where BCOUNT (the count of the ALT base itself) is absent."""
    counts = _ints(sample.get("DP4"))
    if len(counts) != 4 or None in counts:
        return None
    ref_f, ref_r, alt_f, alt_r = (c or 0 for c in counts)
    return ReadSupport(ref_f + ref_r + alt_f + alt_r, alt_f + alt_r, None, "FORMAT DP4")


def _percent(value: Any) -> float | None:
    """VarScan FREQ: '25.5%' -> 0.255."""
    value = _first(value)
    if not isinstance(value, str) or not value.rstrip("%"):
        return None
    try:
        return float(value.rstrip("%")) / 100
    except ValueError:
        return None


def _float(value: Any) -> float | None:
    value = _first(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def germline_check(vaf: float | None, copies: int) -> str:
    """Whether a VAF fits the germline genotype it is read as.

    >>> [germline_check(v, n) for v, n in ((0.48, 1), (0.12, 1), (0.97, 2), (None, 1))]
    ['consistent', 'confirm', 'consistent', 'unknown']
    """
    if vaf is None:
        return "unknown"
    if copies >= 2:
        return "consistent" if vaf >= GERMLINE_HOM_MIN else "confirm"
    low, high = GERMLINE_HET
    return "consistent" if low <= vaf <= high else "confirm"


def checked(support: ReadSupport, tally: QcTally, where: str) -> ReadSupport:
    """The support with values its fields cannot hold left out (an allele fraction outside 0-1 or
    not finite, a negative depth or read count), each counted with the first record it was seen
    at: a VAF of 7.5 or `inf` must not pass a threshold or reach a report."""
    vaf, depth, alt = support.vaf, support.depth, support.alt_reads
    if vaf is not None and not 0.0 <= vaf <= 1.0:  # NaN fails both comparisons
        tally.invalid_value("allele fraction", vaf, where)
        vaf = None
    if depth is not None and depth < 0:
        tally.invalid_value("depth", depth, where)
        depth = None
    if alt is not None and alt < 0:
        tally.invalid_value("alt reads", alt, where)
        alt = None
    if (vaf, depth, alt) == (support.vaf, support.depth, support.alt_reads):
        return support
    return ReadSupport(depth, alt, vaf, support.source)


@dataclass
class QcTally:
    """Counts of alleles kept and dropped, by reason, and how unknown values were treated."""

    alleles_seen: int = 0
    passing: int = 0
    invalid: Counter = field(default_factory=Counter)  # values left out, by field
    invalid_first: dict[str, str] = field(default_factory=dict)  # field -> first record, value

    def invalid_value(self, name: str, value: object, where: str) -> None:
        self.invalid[name] += 1
        self.invalid_first.setdefault(name, f"{where} ({value!r})")

    germline_kept: int = 0  # records filtered as germline, kept for the HR/MMR marker rows
    filtered: Counter = field(default_factory=Counter)
    unknown: Counter = field(default_factory=Counter)
    unreadable: int = 0  # alleles of which no field gave depth, alt reads or VAF


def qc_reason(
    *, filters: list[str], support: ReadSupport, thresholds: dict[str, Any], tally: QcTally
) -> str | None:
    """The first reason an allele fails QC, or None; unknown values are counted, not failed."""
    if thresholds["pass_only"] and filters and filters != ["PASS"]:
        return "filter_not_pass"
    if support.source == "none":
        tally.unreadable += 1
    # In this order: the first threshold missed is the reason. Written out, as it runs per allele.
    if support.depth is None:
        tally.unknown["depth"] += 1
    elif support.depth < thresholds["min_depth"]:
        return "low_depth"
    if support.alt_reads is None:
        tally.unknown["alt_reads"] += 1
    elif support.alt_reads < thresholds["min_alt_reads"]:
        return "low_alt_reads"
    if support.vaf is None:
        tally.unknown["vaf"] += 1
    elif support.vaf < thresholds["min_vaf"]:
        return "low_vaf"
    return None


def reads_show_alt(support: ReadSupport, thresholds: dict[str, Any]) -> bool:
    """Whether the tumour's reads show the ALT above the noise floor: at least `min_alt_reads`
    reads (and at least one) and a VAF of at least `min_vaf` (and above zero), where known.

    A genotype without an ALT copy is no evidence of absence on its own: Pindel writes 0/0 in the
    tumour column of its somatic calls. An allele is `not_in_tumour` only when its genotype has no
    ALT copy and the reads do not show it either, or the file gives no reads to look at.

    >>> floor = {"min_alt_reads": 4, "min_vaf": 0.05}
    >>> [reads_show_alt(ReadSupport(*v, "x"), floor) for v in ((47, 4, 0.085), (47, 0, 0.0))]
    [True, False]
    >>> reads_show_alt(ReadSupport(None, None, None, "none"), floor)
    False
    """
    alt, vaf = support.alt_reads, support.vaf
    if alt is None and vaf is None:
        return False
    if alt is not None and alt < max(1, thresholds["min_alt_reads"]):
        return False
    return vaf is None or (vaf > 0 and vaf >= thresholds["min_vaf"])


def unread_support_warning(reader: SupportReader, tally: QcTally) -> str | None:
    """The QC warning for alleles of which no read support could be read, naming the caller and
    the fields looked for; None when every allele gave some."""
    if not tally.unreadable:
        return None
    caller = f"caller {reader.caller}" if reader.caller else "caller not recognised"
    return (
        f"read support could not be read for {tally.unreadable} allele(s) ({caller}; fields "
        f"looked for: {reader.fields_looked_for}): depth, alt-read and VAF thresholds were not "
        "applied to them"
    )
