"""`haicgx kb validate [FILE]` and `haicgx kb show GENE`."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from haicgx.knowledge import load_knowledge, parse_biomarkers
from haicgx.paths import KNOWLEDGE_DIR

DEFAULT_BIOMARKERS = KNOWLEDGE_DIR / "biomarkers.tsv"
DEFAULT_REGIMENS = KNOWLEDGE_DIR / "regimens.yaml"


def register(subparsers: argparse._SubParsersAction) -> None:
    kb = subparsers.add_parser("kb", help="check and browse the knowledge table")
    commands = kb.add_subparsers(dest="kb_command", metavar="SUBCOMMAND", required=True)

    validate = commands.add_parser("validate", help="validate a knowledge table (and regimens)")
    validate.add_argument("file", nargs="?", type=Path, default=DEFAULT_BIOMARKERS)
    validate.add_argument("--regimens", type=Path, default=DEFAULT_REGIMENS)
    validate.set_defaults(handler=_validate)

    show = commands.add_parser("show", help="the rows of one gene")
    show.add_argument("gene")
    show.add_argument("--file", type=Path, default=DEFAULT_BIOMARKERS)
    show.set_defaults(handler=_show)


def _validate(args: argparse.Namespace) -> int:
    kb = load_knowledge(args.file, args.regimens)
    effects = Counter(r.effect for r in kb.rows)
    print(
        f"{args.file}: valid, version {kb.version}, {len(kb.rows)} rows "
        f"({', '.join(f'{n} {e}' for e, n in sorted(effects.items()))}); "
        f"{len(kb.regimens)} regimens; sha256 {kb.sha256}"
    )
    return 0


def _show(args: argparse.Namespace) -> int:
    rows, version = parse_biomarkers(args.file)
    gene = args.gene.upper()
    selected = [r for r in rows if r.gene.upper() == gene]
    if not selected:
        known = sorted({r.gene for r in rows})
        print(f"no rows for {args.gene} (genes: {', '.join(known)})")
        return 1
    print(f"{gene}: {len(selected)} rows (knowledge version {version})")
    for r in selected:
        function = (
            f" {r.allele_function} (value {r.activity_value:g})"
            if r.activity_value is not None
            else (f" {r.allele_function}" if r.allele_function else "")
        )
        print(
            f"{r.kb_id}\t{r.alteration_text}\t{r.allele_name or '-'}\t{';'.join(r.drugs)}\t"
            f"{r.effect}{function}\t{r.evidence_level}\t{';'.join(r.tumour_context)}\t{r.source}"
        )
    return 0
