"""Read depth, alt reads and VAF from the fields real callers write, and apply the QC filters.

Sources, in order: FORMAT AD (Number=R, GATK Mutect2; or Number=. with one value per allele) with
DP and AF; Strelka2 indel TAR/TIR and SNV tier-1 counts (AU/CU/GU/TU); VarScan RD/AD (AD
Number=1) and FREQ; INFO TVAF/TDP (PCGR). A value no field carries is unknown (None), never zero,
and no threshold is applied to it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pysam

# VAF windows that fit a germline genotype in a tumour sample (loss of heterozygosity and copy
# number shift them, so the windows are generous; outside them the call needs confirmation).
GERMLINE_HET = (0.30, 0.70)
GERMLINE_HOM_MIN = 0.85


class ReadSupport(NamedTuple):  # a tuple: one is made per allele, and cheaply
    depth: int | None
    alt_reads: int | None
    vaf: float | None
    source: str  # which fields gave the values


_NO_SAMPLE = object()  # `SupportReader.read` was not handed the record's sample


def _first(value: Any) -> Any:
    if isinstance(value, tuple):
        return value[0] if value else None
    return value


def _int(value: Any) -> int | None:
    value = _first(value)
    return int(value) if isinstance(value, int | float) else None


def _tier1(sample, key: str) -> int | None:
    """Tier-1 count of a Strelka2 `Number=2` field (tiers 1,2)."""
    value = sample.get(key)
    return _int(value) if value is not None else None


class SupportReader:
    """Picks, once per file, which fields hold read support, then reads them per record.

    Records are read after `bcftools norm -m -any`, so each carries one ALT and Number=R/A fields
    hold one value per allele of that record.
    """

    def __init__(self, header: pysam.VariantHeader) -> None:
        fmt = header.formats
        info = header.info
        ad_number = fmt["AD"].number if "AD" in fmt else None
        self.has_ad = ad_number in ("R", ".")
        self.varscan = "RD" in fmt and ad_number in (1, "1")
        self.has_freq = "FREQ" in fmt
        self.strelka_snv = all(k in fmt for k in ("AU", "CU", "GU", "TU"))
        self.strelka_indel = "TAR" in fmt and "TIR" in fmt
        self.has_dp = "DP" in fmt
        self.has_af = "AF" in fmt and not self.varscan
        self.info_tvaf = "TVAF" in info
        self.info_tdp = "TDP" in info
        # GATK Mutect2's FORMAT AD, DP and AF and nothing else to look at: most tumour VCFs.
        self.ad_dp_af_only = (
            self.has_ad
            and self.has_dp
            and self.has_af
            and not (self.info_tvaf or self.info_tdp or self.has_freq)
        )

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

    def _from_format(
        self, record: pysam.VariantRecord, sample
    ) -> tuple[int | None, int | None, float | None, list[str]]:
        counted = None
        if self.has_ad:
            counted = _allelic_depths(sample)
        elif self.varscan:
            counted = _varscan(sample)
        if counted is None and (self.strelka_indel or self.strelka_snv):
            ref, alt_allele = record.ref, record.alts[0]
            if self.strelka_indel and len(ref) != len(alt_allele):
                counted = _strelka_indel(sample)
            if counted is None and self.strelka_snv and len(ref) == len(alt_allele) == 1:
                counted = _strelka_snv(sample, ref, alt_allele)
        depth, alt, vaf, source = counted or (None, None, None, "")
        used = [source] if source else []
        if self.has_dp and source in ("", "FORMAT AD"):
            # GATK's DP counts every read at the site, AD only the informative ones
            dp = _int(sample.get("DP"))
            if dp is not None:
                depth = dp
                used.append("FORMAT DP")
        af = _float(sample.get("AF")) if self.has_af else None
        if af is not None:
            vaf = af
            used.append("FORMAT AF")
        if vaf is None and self.has_freq:
            vaf = _percent(sample.get("FREQ"))
            used += ["FORMAT FREQ"] if vaf is not None else []
        return depth, alt, vaf, used


_Counted = tuple[int | None, int | None, float | None, str]


def _ad_dp_af(sample) -> ReadSupport:
    """`SupportReader.read` for a file with FORMAT AD (Number=R), DP and AF and no other source,
    written out: it runs once per allele. DP and AF win over what AD gives, as there."""
    ad, dp, af = sample.get("AD"), sample.get("DP"), sample.get("AF")
    depth = alt = None
    counted = type(ad) is tuple and len(ad) == 2 and None not in ad
    if counted:
        depth, alt = int(ad[0] + ad[1]), int(ad[1])
    dp = dp if type(dp) is int else _int(dp)
    if dp is not None:
        depth = dp
    vaf = af_value = _float(af)
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


def _allelic_depths(sample) -> _Counted | None:
    """FORMAT AD: REF and ALT read counts. Number=. AD (Strelka2 germline) is used only when it
    holds exactly the two values of a biallelic record: after a split it may hold them all."""
    ad = sample.get("AD")
    if not isinstance(ad, tuple) or len(ad) != 2 or None in ad:
        return None
    return int(sum(ad)), int(ad[1]), None, "FORMAT AD"


def _varscan(sample) -> _Counted | None:
    rd, ad = _int(sample.get("RD")), _int(sample.get("AD"))
    if rd is None or ad is None:
        return None
    return rd + ad, ad, None, "FORMAT RD/AD (VarScan)"


def _strelka_indel(sample) -> _Counted | None:
    """Strelka2 somatic indels: tier-1 TAR (reference) and TIR (indel) reads; VAF TIR/(TAR+TIR)."""
    tar, tir = _tier1(sample, "TAR"), _tier1(sample, "TIR")
    if tar is None or tir is None:
        return None
    depth = tar + tir
    return depth, tir, (tir / depth if depth else None), "FORMAT TAR/TIR (Strelka2)"


def _strelka_snv(sample, ref: str, alt: str) -> _Counted | None:
    """Strelka2 somatic SNVs: tier-1 counts per base. Depth is every base counted at the site;
    VAF is ALT/(REF+ALT), as Strelka's documentation computes it."""
    counts = {base: _tier1(sample, f"{base}U") for base in "ACGT"}
    if ref not in counts or alt not in counts or any(c is None for c in counts.values()):
        return None
    ref_n, alt_n = counts[ref], counts[alt]
    assert ref_n is not None and alt_n is not None  # checked above, for the type checker
    vaf = alt_n / (ref_n + alt_n) if ref_n + alt_n else None
    depth = sum(c for c in counts.values() if c is not None)
    return depth, alt_n, vaf, "FORMAT AU/CU/GU/TU (Strelka2)"


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


def qc_reason(
    *, filters: list[str], support: ReadSupport, thresholds: dict[str, Any], tally: QcTally
) -> str | None:
    """The first reason an allele fails QC, or None; unknown values are counted, not failed."""
    if thresholds["pass_only"] and filters and filters != ["PASS"]:
        return "filter_not_pass"
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
