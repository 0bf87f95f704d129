"""Read depth, alt reads and VAF from the fields real callers write, and apply the QC filters.

Sources, in order: FORMAT AD (Number=R, GATK) with DP and AF; Strelka2 SNV tier-1 counts
(AU/CU/GU/TU) and indel TAR/TIR; VarScan RD/AD (AD Number=1) and FREQ; INFO TVAF/TDP (PCGR).
A value no field carries is unknown (None), never zero, and no threshold is applied to it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pysam

# VAF windows that fit a germline genotype in a tumour sample (loss of heterozygosity and copy
# number shift them, so the windows are generous; outside them the call needs confirmation).
GERMLINE_HET = (0.30, 0.70)
GERMLINE_HOM_MIN = 0.85


@dataclass(frozen=True)
class ReadSupport:
    depth: int | None
    alt_reads: int | None
    vaf: float | None
    source: str  # which fields gave the values


def _first(value: Any) -> Any:
    if isinstance(value, tuple):
        return value[0] if value else None
    return value


def _int(value: Any) -> int | None:
    value = _first(value)
    return int(value) if isinstance(value, int | float) else None


class SupportReader:
    """Picks, once per file, which fields hold read support, then reads them per record."""

    def __init__(self, header: pysam.VariantHeader) -> None:
        fmt = header.formats
        info = header.info
        self.has_ad_r = "AD" in fmt and fmt["AD"].number == "R"
        self.varscan = "RD" in fmt and "AD" in fmt and fmt["AD"].number in (1, "1")
        self.has_freq = "FREQ" in fmt
        self.strelka_snv = all(k in fmt for k in ("AU", "CU", "GU", "TU"))
        self.strelka_indel = "TAR" in fmt and "TIR" in fmt
        self.has_dp = "DP" in fmt
        self.has_af = "AF" in fmt
        self.info_tvaf = "TVAF" in info
        self.info_tdp = "TDP" in info

    def read(self, record: pysam.VariantRecord) -> ReadSupport:
        sample = record.samples[0] if len(record.samples) else None
        depth = alt = None
        vaf: float | None = None
        source = "none"
        if sample is not None:
            depth, alt, vaf, source = self._from_format(record, sample)
        if vaf is None and self.info_tvaf:
            vaf = _float(record.info.get("TVAF"))
            source = "INFO TVAF" if vaf is not None else source
        if depth is None and self.info_tdp:
            depth = _int(record.info.get("TDP"))
        if vaf is None and depth and alt is not None:
            vaf = alt / depth
        if alt is None and vaf is not None and depth is not None:
            alt = round(vaf * depth)
        return ReadSupport(depth, alt, None if vaf is None else round(vaf, 4), source)

    def _from_format(self, record, sample) -> tuple[int | None, int | None, float | None, str]:
        depth = alt = None
        vaf = None
        source = "none"
        if self.has_ad_r:
            ad = sample.get("AD")
            if ad and None not in ad and len(ad) >= 2:
                alt, depth, source = int(ad[1]), int(sum(ad)), "FORMAT AD"
        elif self.varscan:
            rd, ad = _int(sample.get("RD")), _int(sample.get("AD"))
            if rd is not None and ad is not None:
                alt, depth, source = ad, rd + ad, "FORMAT RD/AD (VarScan)"
        if alt is None and self.strelka_indel and len(record.ref) != len(record.alts[0]):
            tar, tir = sample.get("TAR"), sample.get("TIR")
            if tar and tir and tar[0] is not None and tir[0] is not None:
                alt, depth, source = int(tir[0]), int(tar[0] + tir[0]), "FORMAT TAR/TIR (Strelka2)"
        if alt is None and self.strelka_snv and len(record.ref) == 1 and len(record.alts[0]) == 1:
            counts = {b: sample.get(f"{b}U") for b in "ACGT"}
            alt_base = record.alts[0]
            if all(c and c[0] is not None for c in counts.values()):
                alt = int(counts[alt_base][0])  # type: ignore[index]
                depth = int(sum(c[0] for c in counts.values()))  # type: ignore[index]
                source = "FORMAT AU/CU/GU/TU (Strelka2)"
        if self.has_dp and source in ("none", "FORMAT AD"):
            dp = _int(sample.get("DP"))
            depth = dp if dp is not None else depth
        if self.has_af and not self.varscan:
            vaf = _float(sample.get("AF"))
        if vaf is None and self.has_freq:
            freq = sample.get("FREQ")
            if isinstance(freq, str) and freq.rstrip("%"):
                try:
                    vaf = float(freq.rstrip("%")) / 100
                except ValueError:
                    vaf = None
        return depth, alt, vaf, source


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


@dataclass
class QcTally:
    """Counts of alleles kept and dropped, by reason, and how unknown values were treated."""

    alleles_seen: int = 0
    passing: int = 0
    filtered: Counter = field(default_factory=Counter)
    unknown: Counter = field(default_factory=Counter)


def qc_reason(
    *, filters: list[str], support: ReadSupport, thresholds: dict[str, Any], tally: QcTally
) -> str | None:
    """The first reason an allele fails QC, or None; unknown values are counted, not failed."""
    if thresholds["pass_only"] and filters and filters != ["PASS"]:
        return "filter_not_pass"
    checks = (
        ("depth", support.depth, thresholds["min_depth"], "low_depth"),
        ("alt_reads", support.alt_reads, thresholds["min_alt_reads"], "low_alt_reads"),
        ("vaf", support.vaf, thresholds["min_vaf"], "low_vaf"),
    )
    for name, value, minimum, reason in checks:
        if value is None:
            tally.unknown[name] += 1
        elif value < minimum:
            return reason
    return None
