"""`haicgx explain RESULTS_DIR/patients/ID`: the ranking and its reasons in the terminal."""

from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path

from haicgx.errors import HaicgxError


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
    dpyd, ugt = pgx["DPYD"], pgx["UGT1A1"]
    lines = [
        f"Patient {r['patient_id']} ({r['primary_site']}, cohort {r.get('cohort') or 'none'})",
        f"DPYD: {dpyd['phenotype']} (activity score {dpyd.get('activity_score')}); "
        f"UGT1A1: {ugt['phenotype']} ({ugt.get('diplotype') or 'no diplotype'})",
    ]
    if r.get("summary"):
        lines.append(r["summary"])
    lines.append("")
    for regimen in r["regimens"]:
        lines.append(
            f"{regimen['rank']:>2}. {regimen['name']} [{regimen['status']}]"
            f" score {regimen['score']:g}"
            f" ({', '.join(regimen['drugs'])})"
        )
        for reason in regimen["reasons"]:
            ids = f" [{', '.join(reason['kb_ids'])}]" if reason["kb_ids"] else ""
            body = f"{reason['kind']}: {reason['text']}{ids}"
            lines += textwrap.wrap(
                body, width=width, initial_indent="      - ", subsequent_indent="        "
            )
    return "\n".join(lines)


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
