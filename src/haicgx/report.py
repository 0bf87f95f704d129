"""The tumour-board reports: one HTML + PDF per patient, one HTML for the cohort.

The patient report is rendered from the three per-patient outputs (``recommendation.json``,
``variants.tsv``, ``matches.tsv``) and the knowledge set the recommendation was made with (the
regimens' doses, schedules and trials, the findings' sources) through autoescaped Jinja2
templates. The HTML is the full report, self-contained (inline CSS and SVG, nothing to load). The
PDF is its print edition: the same data through a second, compact template
(``patient_report_print.html.j2``), because WeasyPrint's time grows with every box and line it
lays out. It states every reason at least once (reasons shared by several regimens once, in their
own block), prints the pharmacist section in full, cites the evidence as a list and leaves out the
plot, the variant table and the folded details. WeasyPrint runs with a URL fetcher that refuses
everything. Both files are written atomically. docs/outputs.md describes every section.

Python only shapes the data (joins, numbers, plot coordinates, the structured doses of
regimens.yaml through haicgx.doses); the template does all markup, so every input-derived string
passes through Jinja's autoescaping.
"""

from __future__ import annotations

import csv
import html as html_lib
import json
import logging
import os
import re
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

from haicgx.atomic import write_atomically
from haicgx.doses import dose_text, first_sentence, rule_percent, says_not_verified
from haicgx.errors import InputError
from haicgx.record import recommendation_digest
from haicgx.vocab import (
    MATCH_COLUMNS,
    REASON_KINDS,
    REGIMEN_STATUSES,
    SITE_COLUMN_PREFIX,
    USABLE_STATUSES,
    VARIANT_COLUMNS,
)

if TYPE_CHECKING:
    from haicgx.knowledge import KnowledgeBase, Regimen

log = logging.getLogger(__name__)

RECOMMENDATION_FILE = "recommendation.json"
VARIANTS_FILE = "variants.tsv"
MATCHES_FILE = "matches.tsv"
PATIENT_TEMPLATE = "patient_report.html.j2"
PRINT_TEMPLATE = "patient_report_print.html.j2"
COHORT_TEMPLATE = "cohort_report.html.j2"
STYLESHEET = "report.css"
PRINT_STYLESHEET = "report_print.css"

# Pharmacogenes whose rules drive dose guidance in the report's PGx section, with their drugs.
PGX_GENES: tuple[str, ...] = ("DPYD", "UGT1A1")
PGX_GENE_DRUGS: dict[str, str] = {
    "DPYD": "fluorouracil, capecitabine, tegafur; floxuridine by inference",
    "UGT1A1": "irinotecan",
}
# CPIC: an activity score below 2 means reduced DPD activity.
DPYD_NORMAL_ACTIVITY = 2.0
# CPIC and DPWG: at activity score 0 or 0.5 avoid fluoropyrimidines; the report shows a red banner.
DPYD_CONTRAINDICATED_AT_MOST = 0.5
# A tie names the other regimens up to this many; beyond, it gives their ranks.
TIE_NAMES_MAX = 3
# The findings section, in this order (recommendation.schema.json `findings[].kind`).
FINDING_KINDS: tuple[tuple[str, str], ...] = (
    ("targetable", "Targetable alterations"),
    ("germline_referral", "Germline referral"),
    ("msi_dmmr", "Possible MSI-H / dMMR"),
    ("resistance_marker", "Resistance markers"),
    ("other", "Other notes (e.g. known benign alleles)"),
)
# The HTML table of passing variants shows at most this many rows (an exome has tens of thousands;
# the rest are counted, and variants.tsv has them all); it is open when there are at most
# VARIANT_TABLE_OPEN_UP_TO variants, else folded (a <details>, no script).
VARIANT_TABLE_MAX_ROWS = 500
VARIANT_TABLE_OPEN_UP_TO = 40

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

# Geometry of the cohort bar chart.
BAR_WIDTH = 520
BAR_LABEL_HEIGHT = 16
BAR_HEIGHT = 20
BAR_GAP = 8


# --------------------------------------------------------------------------- small helpers


def _float_or_none(text: str | None) -> float | None:
    """Parse a TSV cell; an empty cell means unknown, never zero.

    >>> _float_or_none("0.48"), _float_or_none(""), _float_or_none(None)
    (0.48, None, None)
    """
    if text is None or not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _int_or_none(text: str | None) -> int | None:
    """Parse an integer TSV cell (``"120"`` or ``"120.0"``); empty or malformed gives None.

    >>> _int_or_none("120"), _int_or_none(""), _int_or_none("x")
    (120, None, None)
    """
    value = _float_or_none(text)
    return None if value is None else int(value)


def format_number(value: Any, digits: int = 2) -> str:
    """Show a number without noise: integers plainly, others rounded; None as an em dash.

    >>> format_number(1.0), format_number(1.5), format_number(0.4), format_number(None)
    ('1', '1.5', '0.4', '—')
    """
    if value is None or value == "" or isinstance(value, jinja2.Undefined):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        if float(value).is_integer():
            return str(int(value))
        return f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return str(value)


def format_vaf(value: float | None) -> str:
    """VAF with two decimals, or an em dash when unknown.

    >>> format_vaf(0.5), format_vaf(None)
    ('0.50', '—')
    """
    if value is None or isinstance(value, jinja2.Undefined):
        return "—"
    return f"{value:.2f}"


def format_score(value: Any) -> str:
    """Regimen scores with two decimals, so the column lines up.

    >>> format_score(0.4), format_score(-1), format_score(None)
    ('0.40', '-1.00', '—')
    """
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "—"
    return f"{value:.2f}"


def report_date(generated_at: str | None) -> str:
    """The calendar date of an ISO 8601 timestamp (``Z`` allowed); the raw text if unparsable.

    >>> report_date("2026-11-25T10:00:00Z")
    '2026-11-25'
    """
    if not generated_at:
        return "—"
    try:
        return datetime.fromisoformat(generated_at.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        return generated_at[:10]


_UNIT_BREAK = re.compile(r"(\d) (mg/m2|mg/kg|mg)\b")


def unbroken_units(text: str) -> str:
    """A dose text whose amounts never wrap inside "400 mg/m2" in a narrow printed cell: a
    no-break space before the unit and a word joiner after its slash (both invisible).

    >>> unbroken_units("400 mg/m2 bolus") == "400\u00a0mg/\u2060m2 bolus"
    True
    """

    def join(found: re.Match[str]) -> str:
        return found[1] + "\u00a0" + found[2].replace("/", "/\u2060")

    return _UNIT_BREAK.sub(join, text)


def status_class(status: str) -> str:
    """A CSS class for a regimen status; unknown statuses get a neutral class.

    Only vocabulary values become class names, so input text never reaches an attribute
    unescaped or unexpected.

    >>> status_class("caution"), status_class("<x>")
    ('status-caution', 'status-unknown')
    """
    return f"status-{status}" if status in REGIMEN_STATUSES else "status-unknown"


def kind_class(kind: str) -> str:
    """A CSS class for a reason kind, from the vocabulary only.

    >>> kind_class("dose_adjustment"), kind_class('" onclick="x')
    ('kind-dose_adjustment', 'kind-other')
    """
    return f"kind-{kind}" if kind in REASON_KINDS else "kind-other"


def _variant_key(row: Mapping[str, str]) -> tuple[str, str, str, str]:
    """Join key of an allele between variants.tsv and matches.tsv."""
    return (row["chrom"].strip(), row["pos"].strip(), row["ref"].strip(), row["alt"].strip())


# --------------------------------------------------------------------------- reading inputs


def _iter_tsv(path: Path, columns: Iterable[str], patient_id: str) -> Iterator[dict[str, str]]:
    """Stream a per-patient TSV, checking that every expected column is there."""
    if not path.is_file():
        raise InputError(patient_id, str(path), "file is missing")
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle, delimiter="\t")
            missing = [name for name in columns if name not in (reader.fieldnames or [])]
            if missing:
                raise InputError(patient_id, str(path), f"missing column(s): {', '.join(missing)}")
            for row in reader:
                yield {key: value or "" for key, value in row.items()}
    except UnicodeDecodeError as exc:
        raise InputError(patient_id, str(path), f"not UTF-8 text: {exc.reason}") from None


def _read_tsv(path: Path, columns: Iterable[str], patient_id: str) -> list[dict[str, str]]:
    return list(_iter_tsv(path, columns, patient_id))


def _read_recommendation(path: Path) -> dict[str, Any]:
    """Load one recommendation.json; the patient id is taken from the folder for messages."""
    try:
        with path.open(encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise InputError(path.parent.name, str(path), "file is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(path.parent.name, str(path), f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(path.parent.name, str(path), "top level is not a JSON object")
    return data


# --------------------------------------------------------------------------- patient context


def _known_rows(
    cited: list[dict[str, Any]] | None,
    matches: list[dict[str, str]],
    kb: KnowledgeBase | None,
) -> dict[str, dict[str, Any]]:
    """Every knowledge row the report can cite, by kb_id: gene, drugs, effect, grade, source, note.

    recommendation.json's own ``evidence`` (rule rows, renal bands, regimen cautions, with the
    full note) wins over matches.tsv, which wins over the findings file of the knowledge set.
    """
    rows: dict[str, dict[str, Any]] = {}
    if kb is not None and kb.findings is not None:
        for entry_id, entry in kb.findings.by_id().items():
            gene = getattr(entry, "gene", "") or ", ".join(sorted(getattr(entry, "genes", ())))
            rows[entry_id] = {
                "kb_id": entry_id,
                "gene": gene,
                "drugs": [],
                "effect": "finding",
                "evidence_level": entry.evidence_level,
                "source": entry.source,
                "note": entry.text,
            }
    for match in matches:
        if match["kb_id"]:
            rows[match["kb_id"]] = {
                "kb_id": match["kb_id"],
                "gene": match["gene"],
                "drugs": [d for d in match["drug"].split(";") if d],
                "effect": match["effect"],
                "evidence_level": match["evidence_level"],
                "source": match["source"],
                "note": "",
            }
    for item in cited or []:
        rows[item["kb_id"]] = {"note": "", **item, "drugs": list(item.get("drugs") or [])}
    return rows


def _evidence(
    regimens: list[dict[str, Any]],
    known: Mapping[str, Mapping[str, Any]],
    pgx: Mapping[str, Any],
    findings: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Every knowledge row the report cites, in order of first citation, with its anchor id.

    Cited by the regimens' reasons (in rank order), the pharmacogene rules applied, and the
    findings. Anchors are ``ev-N`` rather than the kb_id itself, so an id with odd characters
    can never break the HTML ``id`` attribute.
    """
    cited_by: dict[str, list[str]] = {}

    def cite(kb_id: str, by: str) -> None:
        names = cited_by.setdefault(kb_id, [])
        if by not in names:
            names.append(by)

    for regimen in sorted(regimens, key=lambda item: item.get("rank", 0)):
        for reason in regimen.get("reasons") or []:
            for kb_id in reason.get("kb_ids") or []:
                cite(kb_id, str(regimen.get("name", "")))
    for gene in PGX_GENES:
        for kb_id in (pgx.get(gene) or {}).get("rules") or []:
            cite(kb_id, f"pharmacogenomics ({gene})")
    for finding in findings:
        for kb_id in finding.get("kb_ids") or []:
            cite(kb_id, f"finding ({finding.get('gene') or 'no gene'})")
    anchors = {kb_id: f"ev-{number}" for number, kb_id in enumerate(cited_by, start=1)}
    rows = []
    for kb_id, anchor in anchors.items():
        row = known.get(kb_id, {})
        rows.append(
            {
                "kb_id": kb_id,
                "anchor": anchor,
                "gene": row.get("gene", ""),
                "drug": ";".join(row.get("drugs") or []),
                "effect": row.get("effect", ""),
                "evidence_level": row.get("evidence_level", ""),
                "source": row.get("source", ""),
                "cited_by": cited_by[kb_id],
            }
        )
    return rows, anchors


def _cites(
    kb_ids: Iterable[str], known: Mapping[str, Mapping[str, Any]], anchors: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The knowledge rows a reason or finding cites, each with its anchor, grade and source."""
    out = []
    for kb_id in kb_ids:
        row = known.get(kb_id, {})
        out.append(
            {
                "kb_id": kb_id,
                "anchor": anchors.get(kb_id),
                "evidence_level": row.get("evidence_level", ""),
                "effect": row.get("effect", ""),
                "source": row.get("source", ""),
            }
        )
    return out


@dataclass
class VariantDigest:
    """What the report needs of variants.tsv, gathered in one pass with bounded memory.

    Matched variants are kept whole; of the others only the first VAF_PLOT_MAX_DOTS points and a
    VAF histogram are kept, and the table of passing variants keeps its first
    VARIANT_TABLE_MAX_ROWS rows, so a genome-size variants.tsv never has to fit in memory.
    """

    total: int = 0
    matched: dict[tuple[str, str, str, str], dict[str, str]] = field(default_factory=dict)
    others: list[dict[str, Any]] = field(default_factory=list)
    other_count: int = 0
    bins: list[int] = field(default_factory=lambda: [0] * VAF_PLOT_BINS)
    without_vaf: int = 0
    table: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(
        cls, variants: Iterable[Mapping[str, str]], matches: list[dict[str, str]]
    ) -> VariantDigest:
        digest = cls()
        matched_keys = {_variant_key(row) for row in matches}
        for variant in variants:
            digest.total += 1
            key = _variant_key(variant)
            if len(digest.table) < VARIANT_TABLE_MAX_ROWS:
                digest.table.append(_table_variant(variant, key in matched_keys))
            if key in matched_keys:
                digest.matched[key] = dict(variant)
                continue
            vaf = _float_or_none(variant.get("vaf"))
            if vaf is None:
                digest.without_vaf += 1
                continue
            digest.other_count += 1
            index = int(min(max(vaf, 0.0), 1.0) * VAF_PLOT_BINS)
            digest.bins[min(index, VAF_PLOT_BINS - 1)] += 1
            if len(digest.others) < VAF_PLOT_MAX_DOTS:
                label = variant.get("protein_change") or f"{variant['chrom']}:{variant['pos']}"
                digest.others.append({"vaf": vaf, "gene": variant.get("gene", ""), "label": label})
        return digest


def _table_variant(variant: Mapping[str, str], matched: bool) -> dict[str, Any]:
    """One row of the passing-variant table (variants.tsv text, numbers parsed)."""
    return {
        "genomic": f"{variant['chrom']}:{variant['pos']} {variant['ref']}>{variant['alt']}",
        "gene": variant.get("gene", ""),
        "protein_change": variant.get("protein_change", ""),
        "consequence": variant.get("consequence", ""),
        "transcript": variant.get("transcript", ""),
        "exon": variant.get("exon", ""),
        "vaf": _float_or_none(variant.get("vaf")),
        "depth": _int_or_none(variant.get("depth")),
        "alt_reads": _int_or_none(variant.get("alt_reads")),
        "genotype": variant.get("genotype", ""),
        "germline_check": variant.get("germline_check", ""),
        "matched": matched,
    }


def _matched_variants(
    digest: VariantDigest, matches: list[dict[str, str]], anchors: Mapping[str, str]
) -> list[dict[str, Any]]:
    """matches.tsv joined with variants.tsv for VAF and depth, in matches.tsv order."""
    by_key = digest.matched
    rows = []
    for match in matches:
        variant = by_key.get(_variant_key(match), {})
        rows.append(
            {
                "kb_id": match["kb_id"],
                "anchor": anchors.get(match["kb_id"]),
                "gene": match["gene"] or variant.get("gene", ""),
                "protein_change": match["protein_change"] or variant.get("protein_change", ""),
                "genomic": f"{match['chrom']}:{match['pos']} {match['ref']}>{match['alt']}",
                "vaf": _float_or_none(variant.get("vaf")),
                "depth": _int_or_none(variant.get("depth")),
                "match_level": match["match_level"],
                "drug": match["drug"],
                "effect": match["effect"],
                "evidence_level": match["evidence_level"],
                "tumour_context_fit": match["tumour_context_fit"],
                "source": match["source"],
            }
        )
    return rows


def _study(regimen: Regimen, key: str) -> dict[str, Any]:
    """One source of a regimen (regimens.yaml `sources`), as the evidence card shows it."""
    source = regimen.source(key)
    return {
        "key": key,
        "citation": source.get("source", ""),
        "design": source.get("design", ""),
        "n": source.get("n"),
        "finding": source.get("finding", ""),
        "verified_at": source.get("verified_at", ""),
        "unverified": list(source.get("unverified") or []),
    }


def _definition(regimen: Regimen | None, site: str) -> dict[str, Any] | None:
    """What regimens.yaml says of a regimen: doses and schedule, evidence in the patient's site.

    None when the report was given no knowledge set or the regimen is not in it.
    """
    if regimen is None:
        return None
    evidence = regimen.evidence_for(site)
    here = None
    if evidence is not None:
        key = _study(regimen, evidence.sources[0])
        here = {
            "level": evidence.level,
            "n": evidence.n,
            "orr": evidence.orr,
            "pfs": evidence.pfs,
            "os": evidence.os,
            "note": evidence.note,
            "unverified": list(evidence.unverified),
            "key": key,
            # what the curators could not verify, of the site entry or of its key study
            "not_verified": list(dict.fromkeys([*key["unverified"], *evidence.unverified])),
            "others": [_study(regimen, key) for key in evidence.sources[1:]],
        }
    return {
        "schedule": regimen.schedule,
        "schedule_not_verified": says_not_verified(regimen.schedule),
        "doses": [
            {"drug": d, "dose": dose_text(regimen.doses_of(d)) if regimen.doses_of(d) else None}
            for d in regimen.drugs
        ],
        "dose_parts": {d: regimen.doses_of(d) for d in regimen.drugs},
        "site": site,
        "evidence": here,
        "elsewhere": [
            {"site": other, "level": e.level, "n": e.n}
            for other, e in regimen.site_evidence.items()
            if other != site
        ],
        "notes": regimen.notes,
    }


def _regimen_rows(
    regimens: list[dict[str, Any]],
    known: Mapping[str, Mapping[str, Any]],
    anchors: Mapping[str, str],
    definitions: Mapping[str, Regimen] | None,
    site: str,
) -> list[dict[str, Any]]:
    """The ranked regimens, sorted by rank: reasons with their grades and sources, ties by name,
    and the regimen's definition (``card``: None without a knowledge set)."""
    names = {r.get("regimen_id"): r.get("name") for r in regimens}
    ranks = {r.get("regimen_id"): r.get("rank") for r in regimens}
    statuses = {r.get("regimen_id"): r.get("status") for r in regimens}
    rows = []
    for regimen in sorted(regimens, key=lambda item: item.get("rank", 0)):
        reasons = []
        for reason in regimen.get("reasons") or []:
            kb_ids = reason.get("kb_ids") or []
            cited = _cites(kb_ids, known, anchors)
            # The grade of a reason is its rule's (an allele-definition row only names an allele).
            ruling = [c for c in cited if c["effect"] != "allele_function"] or cited
            grades = list(dict.fromkeys(c["evidence_level"] for c in ruling if c["evidence_level"]))
            reasons.append(
                {
                    "kind": reason.get("kind", ""),
                    "text": reason.get("text", ""),
                    "summary": reason_summary(reason.get("text", "")),
                    "test_first": bool(reason.get("test_first")),
                    "cites": [(kb_id, anchors.get(kb_id)) for kb_id in kb_ids],
                    "cited": cited,
                    "grades": grades,
                }
            )
        status = regimen.get("status", "")
        definition = None
        if definitions is not None:
            definition = _definition(definitions.get(regimen.get("regimen_id", "")), site)
        rows.append(
            {
                **regimen,
                "reasons": reasons,
                "status_class": status_class(status),
                "usable": status in USABLE_STATUSES,
                # a pharmacogene to test before the first dose (CONTRACT section 4)
                "tests_first": [r["text"] for r in reasons if r["test_first"]],
                "tied_names": [names.get(i) or i for i in regimen.get("tied_with") or []],
                "tie": tie_text(regimen.get("tied_with") or [], names, ranks, statuses, status),
                "card": definition,
            }
        )
    return rows


def tie_text(
    tied_with: list[str],
    names: Mapping[Any, Any],
    ranks: Mapping[Any, Any],
    statuses: Mapping[Any, Any] | None = None,
    status: str = "",
) -> str:
    """What a regimen's tie says: the others by name, or by rank when there are many; and, when
    a tied regimen's status differs from this one's (``status``), both statuses, since the base
    order ranks a caution before a recommended regimen it ties with (docs/ranking.md).

    >>> names, ranks = {"a": "A", "b": "B", "c": "C", "d": "D"}, {"a": 1, "b": 2, "c": 3, "d": 4}
    >>> tie_text(["b"], names, ranks)
    'Tied with B: only the base order separates them.'
    >>> tie_text(["d", "b", "c", "x"], names, ranks)
    'Tied with 4 regimens (ranks 2, 3, 4 and x): only the base order separates them.'
    >>> tie_text(["b"], names, ranks, {"b": "recommended"}, "caution").split("status: ")[1]
    'B is recommended, this regimen is a caution.'
    """
    if not tied_with:
        return ""
    ordered = sorted(tied_with, key=lambda i: (ranks.get(i) is None, ranks.get(i) or 0, i))
    if len(ordered) <= TIE_NAMES_MAX:
        who = _and([str(names.get(i) or i) for i in ordered])
    else:
        who = f"{len(ordered)} regimens (ranks {_and([str(ranks.get(i) or i) for i in ordered])})"
    text = f"Tied with {who}: only the base order separates them"
    others = [i for i in ordered if statuses and status and statuses.get(i, status) != status]
    if not others:
        return f"{text}."
    differ = _and([f"{names.get(i) or i} is {_a(str(statuses.get(i)))}" for i in others])  # type: ignore[union-attr]
    return f"{text}, not their status: {differ}, this regimen is {_a(status)}."


def _a(status: str) -> str:
    """'a caution', 'recommended', 'contraindicated'."""
    return f"a {status}" if status == "caution" else status


def _and(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _reason_gene(reason: Mapping[str, Any]) -> str | None:
    """The pharmacogene a reason is about: by its knowledge rows' ids, else by its first word."""
    for gene in PGX_GENES:
        if any(kb_id.upper().startswith(f"{gene}-") for kb_id, _ in reason["cites"]):
            return gene
    first = str(reason["text"]).split(" ", 1)[0]
    return first if first in PGX_GENES else None


def _pgx_basis(gene: str, call: Mapping[str, Any]) -> str:
    """What a pharmacogene rule was applied on, in a few words.

    >>> _pgx_basis("DPYD", {"activity_score": 1.5, "phenotype": "Intermediate Metabolizer"})
    'DPYD activity score 1.5 (Intermediate Metabolizer)'
    >>> _pgx_basis("UGT1A1", {"diplotype": "*28/*28", "phenotype": "Poor Metabolizer"})
    'UGT1A1 *28/*28 (Poor Metabolizer)'
    """
    phenotype = call.get("phenotype", "")
    if call.get("activity_score") is not None:
        return f"{gene} activity score {format_number(call['activity_score'])} ({phenotype})"
    return f"{gene} {call.get('diplotype') or 'no diplotype'} ({phenotype})"


def _pgx_genes(
    pgx: Mapping[str, Any],
    known: Mapping[str, Mapping[str, Any]],
    anchors: Mapping[str, str],
    ranked: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Per pharmacogene: the call, its alleles, the full text of each rule applied and the
    regimens that need the gene tested before the first dose."""
    genes = []
    for gene in PGX_GENES:
        call = pgx.get(gene) or {"status": "not_assessed", "phenotype": "not reported"}
        rules = []
        for kb_id in call.get("rules") or []:
            row = known.get(kb_id, {})
            rules.append(
                {
                    "kb_id": kb_id,
                    "anchor": anchors.get(kb_id),
                    "drugs": list(row.get("drugs") or []),
                    "effect": row.get("effect", ""),
                    "evidence_level": row.get("evidence_level", ""),
                    "source": row.get("source", ""),
                    "note": row.get("note", ""),
                }
            )
        tests = [
            {"rank": row.get("rank"), "name": row.get("name"), "text": reason["text"]}
            for row in ranked
            for reason in row["reasons"]
            if reason["test_first"] and _reason_gene(reason) == gene
        ]
        genes.append(
            {
                "gene": gene,
                "drugs": PGX_GENE_DRUGS[gene],
                "call": call,
                "basis": _pgx_basis(gene, call),
                "rules": rules,
                "tests_first": tests,
            }
        )
    return genes


def _dose_row(
    regimen: Mapping[str, Any],
    drug: str,
    rule: Mapping[str, Any],
    anchor: str | None,
    basis: str,
    *,
    renal: bool = False,
) -> dict[str, Any]:
    """One line of the dosing table: a drug of a regimen, its standard and adjusted start.

    The adjusted start: the rule's percentage of the standard dose when both are known; the
    band's text for a renal band; else the rule's own words in short (its text is shown in full
    above the table).
    """
    card = regimen.get("card")
    parts = card["dose_parts"].get(drug) if card else None
    standard = dose_text(parts) if parts else None
    note = str(rule.get("note") or rule.get("text") or "")
    effect = rule.get("effect", "")
    percent = rule_percent(note) if effect == "dose_adjustment" else None
    if effect == "contraindication":
        adjusted = "Do not give: contraindicated by the rule"
    elif percent is not None and parts:
        adjusted = f"{dose_text(parts, percent)} ({percent}% of the standard starting dose)"
    elif percent is not None:
        adjusted = f"{percent}% of the centre's standard starting dose"
    elif renal:
        adjusted = first_sentence(note)  # the band's own text
    else:
        head = first_sentence(note).split(": ", 1)[0]
        adjusted = f"{head}: no guideline percentage (see the rule's text)"
    return {
        "rank": regimen.get("rank"),
        "name": regimen.get("name"),
        "status": regimen.get("status", ""),
        "status_class": regimen["status_class"],
        "drug": drug,
        "standard": standard,
        "known": card is not None,
        "schedule_not_verified": bool(card and card["schedule_not_verified"]),
        "adjusted": adjusted,
        "avoid": effect == "contraindication",
        "renal": renal,
        "kb_id": rule.get("kb_id", ""),
        "anchor": anchor,
        "basis": basis,
    }


def _dose_table(
    ranked: list[dict[str, Any]],
    pgx_genes: list[dict[str, Any]],
    known: Mapping[str, Mapping[str, Any]],
    crcl: float | None,
) -> list[dict[str, Any]]:
    """The dosing table: per regimen (rank order), each drug a pharmacogene rule or a renal band
    applies to, with the standard start (regimens.yaml) beside the adjusted one (the rule).

    One group per regimen (its rows under ``doses``), so the regimen is named once.
    """
    groups = []
    for regimen in ranked:
        rows: list[dict[str, Any]] = []
        for gene in pgx_genes:
            for rule in gene["rules"]:
                for drug in rule["drugs"]:
                    if drug in regimen.get("drugs", []):
                        rows.append(_dose_row(regimen, drug, rule, rule["anchor"], gene["basis"]))
        for reason in regimen["reasons"]:
            if reason["kind"] != "renal" or crcl is None:
                continue  # without a CrCl no band applies: the reasons ask for it
            for kb_id, anchor in reason["cites"]:
                rule = {"kb_id": kb_id, **known.get(kb_id, {})}
                for drug in rule.get("drugs") or []:
                    if drug in regimen.get("drugs", []):
                        basis = f"CrCl {format_number(crcl)} mL/min"
                        rows.append(_dose_row(regimen, drug, rule, anchor, basis, renal=True))
        if rows:
            groups.append({**rows[0], "doses": rows})
    return groups


def _banners(
    dpyd: Mapping[str, Any], pgx_genes: list[dict[str, Any]], top: Mapping[str, Any] | None
) -> list[str]:
    """Red banners: DPYD activity score 0 to 0.5, and a rank-1 regimen that needs a test first."""
    banners = []
    score = dpyd.get("activity_score")
    if isinstance(score, int | float) and score <= DPYD_CONTRAINDICATED_AT_MOST:
        rules = next(g["rules"] for g in pgx_genes if g["gene"] == "DPYD")
        avoid = [d for r in rules if r["effect"] == "contraindication" for d in r["drugs"]]
        if dpyd.get("status") == "assessed":
            text = f"DPYD activity score {format_number(score)}: {dpyd.get('phenotype', '')}."
        else:  # the missing positions can only lower the score the alleles found give
            text = (
                f"DPYD activity score {format_number(score)} from the alleles found (the call is "
                f"{str(dpyd.get('status', '')).replace('_', ' ')}: positions without a call can "
                "only lower it)."
            )
        if avoid:
            text += f" Contraindicated by guideline: {', '.join(dict.fromkeys(avoid))}."
        banners.append(text + " Do not start a fluoropyrimidine before the pharmacist's review.")
    for text in (top or {}).get("tests_first") or []:
        banners.append(f"Rank 1, {top['name']}: {text}")  # type: ignore[index]
    return banners


def _findings(
    findings: list[dict[str, Any]],
    known: Mapping[str, Mapping[str, Any]],
    anchors: Mapping[str, str],
) -> list[dict[str, Any]]:
    """The findings grouped by kind (FINDING_KINDS order; unknown kinds last, under their code)."""
    labels = dict(FINDING_KINDS)
    groups: dict[str, list[dict[str, Any]]] = {}
    for finding in findings:
        kind = str(finding.get("kind", ""))
        groups.setdefault(kind, []).append(
            {
                "gene": finding.get("gene", ""),
                "text": finding.get("text", ""),
                "cited": _cites(finding.get("kb_ids") or [], known, anchors),
            }
        )
    order = [kind for kind, _ in FINDING_KINDS] + sorted(set(groups) - set(labels))
    return [
        {"kind": kind, "label": labels.get(kind, kind.replace("_", " ")), "entries": groups[kind]}
        for kind in order
        if kind in groups
    ]


IDENTIFIER_LABELS = {"specimen_id": "Specimen ID", "assay": "Assay"}


def _identifiers(recommendation: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The sheet's identifiers (``identifiers``: column to text) as (label, text), in their
    order: specimen_id and assay, then the site's own site_* columns; empty when there are none.

    >>> _identifiers({"identifiers": {"specimen_id": "S1", "site_mrn": "H2", "x_y": "3"}})
    [('Specimen ID', 'S1'), ('mrn (site)', 'H2'), ('x y', '3')]
    """
    identifiers = recommendation.get("identifiers")
    if not isinstance(identifiers, Mapping):
        return []
    return [
        (_identifier_label(str(k)), str(v))
        for k, v in identifiers.items()
        if v is not None and str(v) != ""
    ]


def _identifier_label(column: str) -> str:
    if column in IDENTIFIER_LABELS:
        return IDENTIFIER_LABELS[column]
    if column.startswith(SITE_COLUMN_PREFIX):
        return f"{column.removeprefix(SITE_COLUMN_PREFIX).replace('_', ' ')} (site)"
    return column.replace("_", " ")


def _vaf_plot(digest: VariantDigest) -> dict[str, Any]:
    """Coordinates of a strip plot: one row per matched gene, then one for the other variants.

    Returns numbers and raw labels only; the template draws the SVG and escapes the labels.
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    without_vaf = digest.without_vaf
    for variant in digest.matched.values():
        vaf = _float_or_none(variant.get("vaf"))
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
    laid_out = []
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


def build_patient_context(
    recommendation: dict[str, Any],
    variants: Iterable[Mapping[str, str]],
    matches: list[dict[str, str]],
    *,
    kb: KnowledgeBase | None = None,
    place: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything the patient template needs, computed from the three per-patient outputs.

    ``place``: the patient's place on its cohort's waitlist (``waiting_place``), or None.

    ``variants`` is read once, as it streams (see VariantDigest). ``kb``: the knowledge set the
    recommendation was made with (its sha256 must be the one in the provenance), for the
    regimens' doses, schedules and trials and the findings' sources; without it the report says
    that those are not shown.
    """
    provenance = recommendation.get("provenance") or {}
    patient_id = str(recommendation.get("patient_id", ""))
    expected = provenance.get("knowledge_sha256")
    if kb is not None and expected and kb.sha256 != expected:
        raise InputError(
            patient_id,
            RECOMMENDATION_FILE,
            f"made with the knowledge set sha256 {expected}, but the report was given "
            f"{kb.sha256} ({kb.paths.get('regimens', 'unknown files')}): the doses and trials "
            "shown would not be those the ranking used; report with the same knowledge set",
        )
    digest = VariantDigest.of(variants, matches)
    regimens = recommendation.get("regimens") or []
    pgx = recommendation.get("pgx") or {}
    findings = recommendation.get("findings") or []
    known = _known_rows(recommendation.get("evidence"), matches, kb)
    evidence, anchors = _evidence(regimens, known, pgx, findings)
    site = str(recommendation.get("primary_site", ""))
    definitions = kb.regimens_by_id if kb is not None else None
    ranked = _regimen_rows(regimens, known, anchors, definitions, site)
    top = ranked[0] if ranked else None
    dpyd = pgx.get("DPYD") or {"status": "not_assessed", "phenotype": "not reported"}
    pgx_genes = _pgx_genes(pgx, known, anchors, ranked)
    crcl = recommendation.get("crcl_ml_min")
    return {
        "rec": recommendation,
        "identifiers": _identifiers(recommendation),
        "place": place_text(place) if place else None,
        "place_as_of": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC") if place else "",
        "place_key": place_key(place),
        "recommendation_sha256": recommendation_digest(recommendation),
        "knowledge_given": kb is not None,
        "top": top,
        "ranked": ranked,
        "any_usable": any(row["usable"] for row in ranked),
        "dpyd": dpyd,
        "ugt1a1": pgx.get("UGT1A1") or {"status": "not_assessed", "phenotype": "not reported"},
        "pgx_genes": pgx_genes,
        "dose_groups": _dose_table(ranked, pgx_genes, known, crcl),
        "untested_genes": [g["gene"] for g in pgx_genes if g["call"].get("status") != "assessed"],
        "banners": _banners(dpyd, pgx_genes, top),
        "findings": _findings(findings, known, anchors),
        "finding_count": len(findings),
        "matched": _matched_variants(digest, matches, anchors),
        "variant_table": digest.table,
        "variant_table_open": digest.total <= VARIANT_TABLE_OPEN_UP_TO,
        "evidence": evidence,
        "plot": _vaf_plot(digest),
        "variant_count": digest.total,
        "qc": recommendation.get("qc") or {},
        "prov": provenance,
        "report_date": report_date(provenance.get("generated_at")),
    }


# --------------------------------------------------------------------------- PDF print edition

# A shared reason is recalled on each of its rows by a short head: the text before its first
# ": " when that is at most this long, else the whole text when that is, else the kind alone.
REASON_HEAD_MAX = 72
# A reason without such a head is recalled in the HTML's ranked table by its first words.
REASON_SUMMARY_WORDS = 12


def reason_head(text: str) -> str:
    """A short recall of a reason's text for a row that points to the shared block.

    >>> reason_head("Creatinine clearance not given: check renal function before oxaliplatin.")
    'Creatinine clearance not given'
    >>> reason_head("The disease progressed on oxaliplatin.")
    'The disease progressed on oxaliplatin.'
    >>> reason_head("x" * 100)
    ''
    >>> reason_head("DPYD indeterminate (Indeterminate (activity score 0: Poor)): test DPYD.")
    'DPYD indeterminate (Indeterminate (activity score 0: Poor))'
    """
    head = _head_of(text)
    if head != text and len(head) <= REASON_HEAD_MAX:
        return head
    return text if len(text) <= REASON_HEAD_MAX else ""


def _head_of(text: str) -> str:
    """The text before its first ": " outside brackets (the whole text if there is none)."""
    depth = 0
    for index, char in enumerate(text):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth = max(depth - 1, 0)
        elif char == ":" and depth == 0 and text[index + 1 : index + 2] == " ":
            return text[:index]
    return text


def reason_summary(text: str) -> str:
    """A reason in short for the HTML's ranked table (in full on the regimen's card): its head
    (see reason_head), else its first REASON_SUMMARY_WORDS words.

    >>> reason_summary("Creatinine clearance not given: check renal function before oxaliplatin.")
    'Creatinine clearance not given'
    >>> reason_summary("Bevacizumab, given in every arm of this trial, increased the biliary "
    ...                "toxicity of HAI floxuridine with dexamethasone in a randomised phase 2.")
    'Bevacizumab, given in every arm of this trial, increased the biliary toxicity …'
    """
    head = reason_head(text)
    if head:
        return head
    words = text.split()
    more = " …" if len(words) > REASON_SUMMARY_WORDS else ""
    return " ".join(words[:REASON_SUMMARY_WORDS]) + more


def distinct_heads(head: str, texts: list[str]) -> list[str]:
    """Heads that tell apart reasons whose plain head is the same (one per text, in order).

    Each head is followed by the fewest words, from just before where the texts start to
    differ, that no other text has there; if a text needs more than REASON_HEAD_MAX characters
    for that (or another text is equal to it), its head is left empty.

    >>> distinct_heads("DPYD not assessed", ["DPYD not assessed: test before fluorouracil.",
    ...                                      "DPYD not assessed: test before floxuridine."])
    ['DPYD not assessed … before fluorouracil.', 'DPYD not assessed … before floxuridine.']
    >>> distinct_heads("A", ["A: to x, cohort in y (1).", "A: to z, trial", "A: to z, cohort"])
    ['A … to x, …', 'A … to z, trial', 'A … to z, cohort']
    >>> distinct_heads("A", ["A: same", "A: same"])
    ['', '']
    """
    words = [text.split() for text in texts]
    common = 0
    while all(len(w) > common for w in words) and len({w[common] for w in words}) == 1:
        common += 1
    start = max(common - 1, len(head.split()))
    heads = []
    for index, own in enumerate(words):
        others = [w for other, w in enumerate(words) if other != index]
        new = ""
        for end in range(start + 1, len(own) + 1):
            if all(w[start:end] != own[start:end] for w in others):
                tail = " ".join(own[start:end]) + (" …" if end < len(own) else "")
                new = f"{head} … {tail}" if len(tail) <= REASON_HEAD_MAX else ""
                break
        heads.append(new)
    return heads


def _print_regimens(
    ranked: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ranked rows of the PDF with reasons shared by several regimens moved to one block.

    A reason is shared when its kind, text and kb_ids are identical on two or more regimens.
    Each row keeps its own reasons in full and, for a shared one, its kind, a short head and a
    reference (``A1``, ``A2``…) to the block, which states the text and the kb_ids once with the
    ranks it applies to. So a veto, a dose adjustment or a prior failure is still named on the
    row it concerns. Shared reasons of one kind with the same head get heads that tell them
    apart (see distinct_heads).
    """

    def key(reason: Mapping[str, Any]) -> tuple[str, str, tuple[str, ...]]:
        return (reason["kind"], reason["text"], tuple(kb_id for kb_id, _ in reason["cites"]))

    counts: Counter[tuple[str, str, tuple[str, ...]]] = Counter()
    for row in ranked:
        counts.update({key(reason) for reason in row["reasons"]})
    shared: dict[tuple[str, str, tuple[str, ...]], dict[str, Any]] = {}
    rows = []
    for row in ranked:
        reasons = []
        for reason in row["reasons"]:
            kind, text, kb_ids = key(reason)
            item = {
                "kind": kind,
                "text": text,
                "kb_ids": list(kb_ids),
                "grades": reason["grades"],
                "ref": None,
            }
            if counts[(kind, text, kb_ids)] > 1:
                block = shared.setdefault(
                    (kind, text, kb_ids),
                    {
                        "ref": f"A{len(shared) + 1}",
                        "kind": kind,
                        "text": text,
                        "kb_ids": list(kb_ids),
                        "grades": reason["grades"],
                        "head": reason_head(text),
                        "ranks": [],
                    },
                )
                if row.get("rank") not in block["ranks"]:
                    block["ranks"].append(row.get("rank"))
                item["ref"] = block["ref"]
            reasons.append(item)
        rows.append({**row, "reasons": reasons})
    blocks = list(shared.values())
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for block in blocks:
        groups.setdefault((block["kind"], block["head"]), []).append(block)
    head_of = {}
    for (_, head), group in groups.items():
        if len(group) == 1:
            heads = [head]
        elif head:
            heads = distinct_heads(head, [block["text"] for block in group])
        else:  # no short head to start from: the kind and the reference say enough
            heads = [""] * len(group)
        head_of.update({block["ref"]: new for block, new in zip(group, heads, strict=True)})
    for row in rows:
        for item in row["reasons"]:
            if item["ref"]:
                item["head"] = head_of[item["ref"]]
    return rows, blocks


def _print_variants(matched: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per matched allele (matches.tsv has one row per knowledge row), in file order."""
    alleles: dict[str, dict[str, Any]] = {}
    for row in matched:
        allele = alleles.setdefault(
            row["genomic"],
            {
                "gene": row["gene"],
                "protein_change": row["protein_change"],
                "genomic": row["genomic"],
                "vaf": row["vaf"],
                "kb_ids": [],
            },
        )
        if row["kb_id"] and row["kb_id"] not in allele["kb_ids"]:
            allele["kb_ids"].append(row["kb_id"])
    return list(alleles.values())


def _print_evidence(evidence: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cited knowledge rows as (kb_ids, evidence level, source), in order of first citation.

    Rows with the same evidence level and the same source share one entry, so a source cited
    for several drugs or activity-score bands is printed once (and rows without a source, which
    the template refers to the knowledge table, are listed together).
    """
    entries: dict[tuple[str, str], dict[str, Any]] = {}
    for row in evidence:
        source, level = row["source"], row["evidence_level"]
        entry = entries.setdefault(
            (level, source), {"kb_ids": [], "evidence_level": level, "source": source}
        )
        entry["kb_ids"].append(row["kb_id"])
    return list(entries.values())


def build_print_context(context: Mapping[str, Any]) -> dict[str, Any]:
    """What the PDF template needs on top of the HTML report's context.

    The PDF is a print edition: the same facts as the HTML, stated compactly (see
    _print_regimens, _print_variants and _print_evidence).
    """
    rows, shared = _print_regimens(context["ranked"])
    return {
        **context,
        "rows": rows,
        "shared": shared,
        "alleles": _print_variants(context["matched"]),
        "cited": _print_evidence(context["evidence"]),
    }


# --------------------------------------------------------------------------- rendering


@cache
def _environment() -> jinja2.Environment:
    """The Jinja2 environment: templates from the package, autoescaping always on."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("haicgx", "templates"),
        autoescape=True,  # every template, whatever its extension
        # Optional JSON fields may be absent: they render as "—" through the `value` macro.
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = format_number
    env.filters["vaf"] = format_vaf
    env.filters["score"] = format_score
    env.filters["status_class"] = status_class
    env.filters["unbroken"] = unbroken_units
    env.filters["kind_class"] = kind_class
    return env


@cache
def _stylesheet(name: str = STYLESHEET) -> Markup:
    """A report stylesheet, trusted package data inlined into ``<style>``.

    Markup (not escaping) because CSS child selectors and quoted ``content`` would be mangled by
    HTML escaping; the file is ours, never input-derived.
    """
    css = files("haicgx").joinpath("templates", name).read_text(encoding="utf-8")
    if "</" in css:  # a closing tag inside <style> would end the element early
        raise ValueError(f"{name} must not contain '</'")
    return Markup(css)


def _patient_context(
    patient_dir: Path, kb: KnowledgeBase | None, place: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Read the three per-patient outputs in ``patient_dir`` and shape them for the templates."""
    recommendation = _read_recommendation(patient_dir / RECOMMENDATION_FILE)
    patient_id = str(recommendation.get("patient_id", patient_dir.name))
    matches = _read_tsv(patient_dir / MATCHES_FILE, MATCH_COLUMNS, patient_id)
    variants = _iter_tsv(patient_dir / VARIANTS_FILE, VARIANT_COLUMNS, patient_id)
    return build_patient_context(recommendation, variants, matches, kb=kb, place=place)


def _render_html(context: Mapping[str, Any]) -> str:
    template = _environment().get_template(PATIENT_TEMPLATE)
    return template.render(css=_stylesheet(), **context)


def _render_print_html(context: Mapping[str, Any]) -> str:
    template = _environment().get_template(PRINT_TEMPLATE)
    return template.render(css=_stylesheet(PRINT_STYLESHEET), **build_print_context(context))


def render_patient_html(patient_dir: Path, *, kb: KnowledgeBase | None = None) -> str:
    """Render the patient report HTML from the three per-patient outputs in ``patient_dir``
    (``kb``: see build_patient_context)."""
    return _render_html(_patient_context(Path(patient_dir), kb))


def render_print_html(patient_dir: Path, *, kb: KnowledgeBase | None = None) -> str:
    """Render the print edition (the HTML that becomes report.pdf) of one patient's report."""
    return _render_print_html(_patient_context(Path(patient_dir), kb))


def _refusing_fetcher() -> Any:
    """A WeasyPrint URL fetcher that refuses every URL and stops the rendering.

    The report is self-contained by design, so any fetch means the HTML is wrong: fail loudly
    rather than print a PDF that differs from the HTML.
    """
    from weasyprint.urls import FatalURLFetchingError, URLFetcher

    class RefusingFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            raise FatalURLFetchingError(f"report must be self-contained; refused to fetch {url!r}")

    return RefusingFetcher(allowed_protocols=())


_FONTS = threading.local()


def _font_config() -> Any:
    """One WeasyPrint font configuration per thread, reused by every PDF the thread renders.

    Building it (fontconfig and Pango set-up) is a fixed cost of every render otherwise; the
    reports declare no @font-face, so nothing document-specific is ever added to it.
    """
    config = getattr(_FONTS, "config", None)
    if config is None:
        from weasyprint.text.fonts import FontConfiguration

        config = _FONTS.config = FontConfiguration()
    return config


def render_pdf(html: str) -> bytes:
    """The PDF of a report HTML, without fetching anything."""
    # Imported here: WeasyPrint loads Pango at import time, which the HTML-only path never needs.
    import weasyprint

    document = weasyprint.HTML(string=html, base_url=None, url_fetcher=_refusing_fetcher())
    return document.write_pdf(font_config=_font_config())


def write_patient_report(
    patient_dir: Path,
    *,
    html_path: Path,
    pdf_path: Path,
    kb: KnowledgeBase | None = None,
    place: Mapping[str, Any] | None = None,
) -> None:
    """Write the tumour-board report of one patient as self-contained HTML and as PDF.

    Reads ``recommendation.json``, ``variants.tsv`` and ``matches.tsv`` from ``patient_dir``
    once. The HTML is the full report; the PDF is its print edition (same data, compact layout,
    every reason stated at least once). Both outputs appear together or not at all. ``kb``: the
    knowledge set the recommendation was made with, for the regimens' doses, schedules and
    trials and the findings' sources (see build_patient_context); the analysis job passes it.
    ``place``: the patient's place on its cohort's waitlist (``waiting_place``); the cohort
    views rewrite the report with it once the record has one (haicgx.cohort_views).
    """
    patient_dir, html_path, pdf_path = Path(patient_dir), Path(html_path), Path(pdf_path)
    context = _patient_context(patient_dir, kb, place)
    html = _render_html(context)
    pdf = render_pdf(_render_print_html(context))
    write_atomically({html_path: html.encode("utf-8"), pdf_path: pdf})
    log.info("wrote %s and %s", html_path, pdf_path)


# --------------------------------------------------------------------------- waitlist place

# The report.html marker of the waitlist place the report shows, read back to decide whether the
# record's place has moved on since (haicgx.cohort_views rewrites the report then).
PLACE_META = "haicgx-waitlist-place"
_PLACE_META = re.compile(rf'<meta name="{PLACE_META}" content="([^"]*)">')


def waiting_place(place: Any) -> dict[str, Any] | None:
    """What the patient's report states of a record place (haicgx.record.Place): the cohort,
    the queue position and length, the places taken and the limit; None when the patient is
    not waiting. Only a waiting patient's report says it, so the reports of the others never
    go stale as places are taken.

    >>> from haicgx.record import Place
    >>> waiting_place(Place("P3", "CRC", "waitlisted", 1, 2, 3, 3))
    {'cohort_id': 'CRC', 'position': 1, 'waiting': 2, 'taken': 3, 'max_patients': 3}
    >>> print(waiting_place(Place("P1", "CRC", "confirmed", None, 2, 3, 3)))
    None
    """
    if place is None or place.status != "waitlisted" or place.waitlist_position is None:
        return None
    return {
        "cohort_id": place.cohort_id,
        "position": place.waitlist_position,
        "waiting": place.waitlist_length,
        "taken": place.places_taken,
        "max_patients": place.max_patients,
    }


def place_text(place: Mapping[str, Any]) -> tuple[str, str]:
    """The report's two sentences on a waiting place: where the patient waits, then the
    cohort's places and what gives the patient one.

    >>> full = {"cohort_id": "CRC", "position": 1, "waiting": 2, "taken": 3, "max_patients": 3}
    >>> place_text(full)[1].split(":")[0]
    'The cohort is full (3 of 3 places taken)'
    >>> place_text({**full, "taken": 2})[1].split(":")[0]
    'A place is free (2 of 3 places taken)'
    """
    head = (
        f"Waitlisted for cohort {place['cohort_id']}: number {place['position']} of "
        f"{place['waiting']} in its queue."
    )
    limit = place["max_patients"]
    if limit is not None and place["taken"] >= limit:
        detail = (
            f"The cohort is full ({place['taken']} of {limit} places taken): the patient gets a "
            "place only when one is freed (haicgx record release) and the coordinator promotes "
            "them (haicgx record promote)."
        )
    else:
        of = f" of {limit}" if limit is not None else ", no limit"
        detail = (
            f"A place is free ({place['taken']}{of} places taken): the coordinator can promote "
            "the patient now (haicgx record promote)."
        )
    return head, detail


def place_key(place: Mapping[str, Any] | None) -> str:
    """The marker text of a waiting place ('' when not waiting): canonical JSON."""
    return json.dumps(dict(place), sort_keys=True) if place else ""


def shown_place_key(html_path: Path) -> str | None:
    """The waiting place a written report.html shows (its marker), or None when it has no
    marker (a report from before markers) or cannot be read."""
    try:
        with open(html_path, encoding="utf-8") as handle:
            head = handle.read(4096)
    except (OSError, UnicodeDecodeError):
        return None
    found = _PLACE_META.search(head)
    return html_lib.unescape(found.group(1)) if found else None


# --------------------------------------------------------------------------- cohort report


def _pgx_flags(recommendation: Mapping[str, Any]) -> list[str]:
    """Pharmacogenomic flags worth the board's attention for one patient.

    >>> _pgx_flags({"pgx": {"DPYD": {"status": "assessed", "activity_score": 1.0,
    ...   "phenotype": "Intermediate Metabolizer"}, "UGT1A1": {"status": "not_assessed",
    ...   "diplotype": None, "phenotype": "not assessed"}}})
    ['DPYD activity score 1 (Intermediate Metabolizer)', 'UGT1A1 not assessed']
    """
    pgx = recommendation.get("pgx") or {}
    dpyd, ugt = pgx.get("DPYD") or {}, pgx.get("UGT1A1") or {}
    flags = []
    score = dpyd.get("activity_score")
    if dpyd.get("status") == "indeterminate" and score is not None:
        # its phenotype gives the score the alleles found allow at most
        flags.append(f"DPYD {dpyd.get('phenotype') or 'indeterminate'}")
    elif dpyd.get("status") != "assessed":
        flags.append(f"DPYD {str(dpyd.get('status', 'not_assessed')).replace('_', ' ')}")
    elif score is not None and score < DPYD_NORMAL_ACTIVITY:
        flags.append(f"DPYD activity score {format_number(score)} ({dpyd.get('phenotype', '')})")
    if ugt.get("status") != "assessed":
        flags.append(f"UGT1A1 {str(ugt.get('status', 'not_assessed')).replace('_', ' ')}")
    if "poor" in str(ugt.get("phenotype", "")).lower():
        flags.append(f"UGT1A1 {ugt.get('phenotype')} ({ugt.get('diplotype') or '?'})")
    return flags


def _pgx_alert(recommendation: Mapping[str, Any]) -> bool:
    """Whether the patient's report has the red DPYD banner: activity score 0 or 0.5 (also as
    the most an indeterminate call allows).

    >>> _pgx_alert({"pgx": {"DPYD": {"status": "indeterminate", "activity_score": 0}}})
    True
    >>> _pgx_alert({"pgx": {"DPYD": {"status": "assessed", "activity_score": 1.0}}})
    False
    """
    score = ((recommendation.get("pgx") or {}).get("DPYD") or {}).get("activity_score")
    return score is not None and score <= DPYD_CONTRAINDICATED_AT_MOST


def _assignment_text(assignment: Mapping[str, Any] | None) -> str:
    """A patient's assignment in a few words: status, queue place or the pending review.

    >>> _assignment_text({"status": "waitlisted", "waitlist_position": 2, "needs_review": False,
    ...   "withdrawn": False, "version": 1})
    'waitlisted (#2 in the queue), version 1'
    """
    if not assignment:
        return ""
    if assignment["withdrawn"]:
        return f"released (version {assignment['version']})"
    text = str(assignment["status"])
    if assignment.get("waitlist_position"):
        text += f" (#{assignment['waitlist_position']} in the queue)"
    text += f", version {assignment['version']}"
    if assignment["needs_review"]:
        text = f"needs review: {text}, new proposal version {assignment['pending_version']}"
    return text


def _cohort_patient(
    recommendation: dict[str, Any], link: str, assignment: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """One patient's line in the cohort report."""
    regimens = sorted(recommendation.get("regimens") or [], key=lambda item: item.get("rank", 0))
    top = regimens[0] if regimens else {}
    return {
        "patient_id": recommendation.get("patient_id", ""),
        "primary_site": recommendation.get("primary_site", ""),
        "cohort": recommendation.get("cohort"),
        "top_name": top.get("name", "—"),
        "top_status": top.get("status", ""),
        "top_status_class": status_class(top.get("status", "")),
        "flags": _pgx_flags(recommendation),
        "alert": _pgx_alert(recommendation),
        "generated_at": (recommendation.get("provenance") or {}).get("generated_at", ""),
        "assignment": _assignment_text(assignment),
        "needs_review": bool(assignment and assignment["needs_review"]),
        "link": link,
    }


def _record_context(record: Mapping[str, Any] | None) -> dict[str, Any]:
    """The record's part of the cohort report: reviews, places and waitlists, its check."""
    if record is None:
        return {"record": None, "review": [], "places": []}
    review = [a for a in record["assignments"] if a["needs_review"]]
    places = []
    for cohort_id, cohort in sorted(record["cohorts"].items()):
        limit = cohort["max_patients"]
        full = limit is not None and cohort["taken"] >= limit
        places.append({"cohort_id": cohort_id, **cohort, "full": full})
    verification = record["verification"]
    return {
        "record": {
            "intact": verification.intact,
            "summary": verification.summary(),
            "problems": list(verification.problems),
            "head": verification.head,
            "source": record.get("source", ""),
        },
        "review": review,
        "places": places,
    }


def _bar_chart(counts: Counter[str]) -> dict[str, Any]:
    """Bars of rank-1 regimen counts, most frequent first (ties by name).

    Each label sits above its bar, so long regimen names are never clipped.
    """
    most = max(counts.values(), default=0)
    row = BAR_LABEL_HEIGHT + BAR_HEIGHT + BAR_GAP
    bars = []
    for index, (name, count) in enumerate(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))):
        top = index * row
        length = BAR_WIDTH * count / most if most else 0
        bars.append(
            {
                "name": name,
                "count": count,
                "label_y": top + BAR_LABEL_HEIGHT - 4,
                "y": top + BAR_LABEL_HEIGHT,
                "length": round(length, 1),
            }
        )
    return {
        "bars": bars,
        "left": 0,
        "bar_height": BAR_HEIGHT,
        "width": BAR_WIDTH + 40,
        "height": max(len(bars), 1) * row,
    }


def _relative_link(target: Path, html_path: Path) -> str:
    """A relative URL from the cohort report to a patient report (a link, never a load)."""
    from urllib.parse import quote

    return quote(os.path.relpath(target, html_path.parent).replace(os.sep, "/"))


def build_cohort_context(
    results_dir: Path,
    html_path: Path,
    failures: Mapping[str, str],
    record: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Patients by cohort, rank-1 regimens, PGx flags, failures and the record's state (needs
    review, cohort places and waitlists, its verification), for the cohort template.

    ``record``: ``assignments`` (haicgx.record.current_assignments), ``cohorts``
    (haicgx.record.cohort_places) and ``verification`` (haicgx.record.verify), or None when
    there is no record yet. A patient listed in ``failures`` is shown only as failed, even if
    an older recommendation.json is still on disk. An unreadable recommendation.json counts
    as a failure.
    """
    failed = dict(failures)
    assignments = {a["patient_id"]: a for a in (record or {}).get("assignments", [])}
    patients = []
    for path in sorted((results_dir / "patients").glob(f"*/{RECOMMENDATION_FILE}")):
        if path.parent.name in failed:
            continue
        try:
            recommendation = _read_recommendation(path)
        except InputError as exc:
            failed[path.parent.name] = str(exc)
            continue
        link = _relative_link(path.parent / "report.html", html_path)
        assignment = assignments.get(path.parent.name)
        patients.append(_cohort_patient(recommendation, link, assignment))
    by_cohort: dict[str, list[dict[str, Any]]] = {}
    for patient in patients:
        by_cohort.setdefault(patient["cohort"] or "", []).append(patient)
    # Named cohorts alphabetically, patients without a cohort last.
    cohorts = sorted(by_cohort.items(), key=lambda kv: (kv[0] == "", kv[0]))
    times = [p["generated_at"] for p in patients if p["generated_at"]]
    return {
        "patients": patients,
        "cohorts": cohorts,
        "chart": _bar_chart(Counter(p["top_name"] for p in patients)),
        "flagged": [p for p in patients if p["flags"]],
        "failures": sorted(failed.items()),
        "newest": max(times, default=""),
        **_record_context(record),
    }


def render_cohort_report(
    results_dir: Path,
    *,
    html_path: Path,
    failures: Mapping[str, str],
    record: Mapping[str, Any] | None = None,
) -> str:
    """The cohort overview HTML (see ``build_cohort_context``)."""
    context = build_cohort_context(Path(results_dir), Path(html_path), failures, record)
    template = _environment().get_template(COHORT_TEMPLATE)
    return template.render(css=_stylesheet(), **context)


def write_cohort_report(
    results_dir: Path,
    *,
    html_path: Path,
    failures: Mapping[str, str],
    record: Mapping[str, Any] | None = None,
) -> None:
    """Write the cohort overview HTML from every ``results_dir/patients/*/recommendation.json``
    and, when given, the record's state (haicgx.cohort_views gathers it).

    ``failures`` maps a patient id to the one-line reason its run failed; they are listed even
    when no patient succeeded.
    """
    html = render_cohort_report(results_dir, html_path=html_path, failures=failures, record=record)
    write_atomically({Path(html_path): html.encode("utf-8")})
    log.info("wrote %s", html_path)
