"""`haicgx explain RESULTS_DIR/patients/ID`: the ranking and its reasons in the terminal."""

from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path

from haicgx.errors import HaicgxError
from haicgx.pgx.genes import DPYD, PHARMACOGENES


def register(subparsers: argparse._SubParsersAction) -> None:
    explain = subparsers.add_parser("explain", help="print a patient's ranking with its reasons")
    explain.add_argument(
        "patient_dir", type=Path, help="results/patients/ID (or its recommendation.json)"
    )
    explain.set_defaults(handler=_explain)


def explain_text(recommendation: dict, width: int = 100) -> str:
    """The ranking as plain text, every reason with its knowledge rows."""
    r = recommendation
    pgx = r["pgx"]
    lines = [
        f"Patient {r['patient_id']} ({r['primary_site']}, cohort {r.get('cohort') or 'none'})",
        *(pgx_line(gene, pgx[gene]) for gene in PHARMACOGENES),
    ]
    rule = pgx[DPYD].get("reading_rule")
    if rule:
        lines += textwrap.wrap(f"Genotype reading: {rule}.", width=width, subsequent_indent="  ")
    if r.get("summary"):
        lines += textwrap.wrap(r["summary"], width=width)
    lines.append("")
    for regimen in r["regimens"]:
        lines.append(
            f"{regimen['rank']:>2}. {regimen['name']} [{regimen['status']}]"
            f" score {regimen['score']:g}"
            f" ({', '.join(regimen['drugs'])})"
        )
        evidence = str(regimen.get("site_evidence", "none")).replace("_", " ")
        tied = regimen.get("tied_with") or []
        detail = f"site evidence: {evidence}" + (
            f"; tied with {', '.join(tied)} (only the site's base order separates them)"
            if tied
            else ""
        )
        lines += textwrap.wrap(
            detail, width=width, initial_indent="      ", subsequent_indent="      "
        )
        for reason in regimen["reasons"]:
            ids = f" [{', '.join(reason['kb_ids'])}]" if reason["kb_ids"] else ""
            body = f"{reason['kind']}: {reason['text']}{ids}"
            lines += textwrap.wrap(
                body, width=width, initial_indent="      - ", subsequent_indent="        "
            )
    return "\n".join(lines)


def pgx_line(gene: str, call: dict) -> str:
    r"""One pharmacogene: status, call, where the genotype was read and how far it reaches.

    >>> print(pgx_line("DPYD", {"status": "indeterminate", "phenotype": "Indeterminate",
    ...     "activity_score": None, "genotype_source": "tumour", "positions_called": 3,
    ...     "positions_missing": 31}).replace("; ", ";\n"))
    DPYD [indeterminate]: Indeterminate;
    activity score not determined;
    genotype from the tumour sample;
    3 allele positions called, 31 missing
    """
    what = (
        f"activity score {_number(call.get('activity_score'))}"
        if gene == DPYD
        else f"diplotype {call.get('diplotype') or 'not determined'}"
    )
    source = call.get("genotype_source")
    read = f"genotype from the {source} sample" if source else "no genotype read"
    reach = (
        f"{call.get('positions_called', 0)} allele positions called, "
        f"{call.get('positions_missing', 0)} missing"
    )
    return f"{gene} [{call['status']}]: {call['phenotype']}; {what}; {read}; {reach}"


def _number(value: float | None) -> str:
    return "not determined" if value is None else f"{value:g}"


def _explain(args: argparse.Namespace) -> int:
    path = args.patient_dir
    if path.is_dir():
        path = path / "recommendation.json"
    if not path.exists():
        raise HaicgxError(
            f"{path}: no recommendation.json (has the workflow run for this patient?)"
        )
    try:
        recommendation = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise HaicgxError(f"{path}: not valid JSON ({exc})") from None
    print(explain_text(recommendation))
    return 0
