"""The geometry of the VAF strip plot: one row per matched gene, one for the other variants
(a histogram beyond VAF_PLOT_MAX_DOTS of them). Numbers and raw labels only; the template
draws the SVG and escapes the labels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from haicgx.report.formats import float_or_none

if TYPE_CHECKING:
    from haicgx.report.variants import VariantDigest

# Geometry of the VAF strip plot (SVG user units = CSS px).
VAF_PLOT_LABEL_WIDTH = 120
VAF_PLOT_WIDTH = 520
VAF_PLOT_ROW_HEIGHT = 26
VAF_PLOT_TOP = 10
VAF_PLOT_AXIS_HEIGHT = 34
VAF_PLOT_RIGHT_PAD = 16
# Vertical offsets that spread dots of one row so overlapping VAFs stay visible.
VAF_PLOT_JITTER: tuple[int, ...] = (0, -5, 5, -9, 9)
# Beyond this many unmatched variants (an exome or a genome), the grey row becomes a histogram:
# thousands of SVG dots would slow every browser and the PDF renderer without telling more.
VAF_PLOT_MAX_DOTS = 200
VAF_PLOT_BINS = 50


def strip_plot(digest: VariantDigest) -> dict[str, Any]:
    """Coordinates of a strip plot: one row per matched gene, then one for the other variants.

    Returns numbers and raw labels only; the template draws the SVG and escapes the labels.
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    without_vaf = digest.without_vaf
    for variant in digest.matched.values():
        vaf = float_or_none(variant.get("vaf"))
        if vaf is None:
            without_vaf += 1
            continue
        label = variant["protein_change"] or f"{variant['chrom']}:{variant['pos']}"
        groups.setdefault(variant["gene"] or "?", []).append(
            {"vaf": vaf, "gene": variant["gene"], "label": label}
        )
    rows = [(gene, groups[gene], True) for gene in sorted(groups)]
    if digest.other_count:
        rows.append((f"other ({digest.other_count})", digest.others, False))
    return _plot_geometry(rows, without_vaf, digest)


def _plot_geometry(
    rows: list[tuple[str, list[dict[str, Any]], bool]], without_vaf: int, digest: VariantDigest
) -> dict[str, Any]:
    """Lay out the strip-plot rows; x is VAF from 0 to 1 across the plot width."""
    left = VAF_PLOT_LABEL_WIDTH
    laid_out: list[dict[str, Any]] = []
    for index, (label, points, matched) in enumerate(rows):
        y = VAF_PLOT_TOP + index * VAF_PLOT_ROW_HEIGHT + VAF_PLOT_ROW_HEIGHT / 2
        if not matched and digest.other_count > VAF_PLOT_MAX_DOTS:
            laid_out.append(
                {
                    "label": label,
                    "y": y,
                    "matched": False,
                    "dots": [],
                    "bins": _bins(digest.bins, y),
                }
            )
            continue
        dots = [
            {
                **point,
                "cx": round(left + min(max(point["vaf"], 0.0), 1.0) * VAF_PLOT_WIDTH, 1),
                "cy": y + VAF_PLOT_JITTER[n % len(VAF_PLOT_JITTER)],
            }
            for n, point in enumerate(sorted(points, key=lambda p: p["vaf"]))
        ]
        laid_out.append({"label": label, "y": y, "matched": matched, "dots": dots, "bins": []})
    plot_bottom = VAF_PLOT_TOP + max(len(rows), 1) * VAF_PLOT_ROW_HEIGHT
    ticks = [
        {"x": left + fraction * VAF_PLOT_WIDTH, "label": f"{fraction:g}"}
        for fraction in (0, 0.25, 0.5, 0.75, 1)
    ]
    return {
        "rows": laid_out,
        "ticks": ticks,
        "left": left,
        "right": left + VAF_PLOT_WIDTH,
        "top": VAF_PLOT_TOP,
        "bottom": plot_bottom,
        "width": left + VAF_PLOT_WIDTH + VAF_PLOT_RIGHT_PAD,
        "height": plot_bottom + VAF_PLOT_AXIS_HEIGHT,
        "germline_x": [left + 0.5 * VAF_PLOT_WIDTH, left + VAF_PLOT_WIDTH],
        "without_vaf": without_vaf,
        "plotted": sum(len(row["dots"]) for row in laid_out),
        "binned": sum(b["count"] for row in laid_out for b in row["bins"]),
    }


def _bins(counts: list[int], y: float) -> list[dict[str, Any]]:
    """A histogram of VAFs drawn inside one plot row (bar height grows with the count)."""
    tallest = max(counts)
    width = VAF_PLOT_WIDTH / VAF_PLOT_BINS
    half = VAF_PLOT_ROW_HEIGHT / 2 - 2
    bars = []
    for index, count in enumerate(counts):
        if count:
            height = round(max(1.0, 2 * half * count / tallest), 1)
            bars.append(
                {
                    "x": round(VAF_PLOT_LABEL_WIDTH + index * width, 1),
                    "width": round(width - 1, 1),
                    "y": round(y + half - height, 1),
                    "height": height,
                    "count": count,
                    "low": index / VAF_PLOT_BINS,
                    "high": (index + 1) / VAF_PLOT_BINS,
                }
            )
    return bars
