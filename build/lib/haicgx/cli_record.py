"""`haicgx record ...`: read the cohort assignment record and enter tumour-board decisions.

Every command that changes the record then rewrites cohort_record.tsv and cohort_report.html in
the results folder (``--results``, default: the record's folder). Everything printed goes
through ``haicgx.terminal.printable``: text from the record cannot drive the terminal.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from haicgx import record
from haicgx.cohort_views import results_folder, write_cohort_views
from haicgx.cohorts import load_cohorts
from haicgx.errors import HaicgxError
from haicgx.terminal import printable

HISTORY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("patient", "patient_id"),
    ("version", "version"),
    ("current", "current"),
    ("status", "status"),
    ("review", "needs_review"),
    ("cohort", "cohort_id"),
    ("regimen", "regimen_id"),
    ("decision", "decision_regimen_id"),
    ("contraindication", "contraindication_acknowledged"),
    ("by", "decided_by"),
    ("decided_at", "decided_at"),
    ("created_at", "created_at"),
    ("pipeline", "pipeline_version"),
    ("note", "decision_note"),
)
EVENT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("at", "at"),
    ("patient", "patient_id"),
    ("version", "version"),
    ("event", "event"),
    ("status", "status"),
    ("by", "actor"),
    ("note", "note"),
)


def register(subparsers: Any) -> None:
    """Add `record` and its sub-commands to the `haicgx` parser."""
    parser = subparsers.add_parser(
        "record",
        help="show or update the cohort assignment record",
        description="The cohort assignment record (docs/record.md).",
    )
    commands = parser.add_subparsers(dest="record_command", metavar="SUBCOMMAND", required=True)

    show = _command(commands, "show", "every version of every patient (or one), with its status")
    show.add_argument("patient", nargs="?", metavar="PATIENT")
    show.set_defaults(handler=_show)

    conf = _command(commands, "confirm", "confirm a patient's proposal (a tumour-board decision)")
    conf.add_argument("patient", metavar="PATIENT")
    conf.add_argument("--by", required=True, metavar="NAME", help="who decided")
    conf.add_argument("--regimen", metavar="ID", help="regimen chosen (default: the recommended)")
    conf.add_argument("--note", metavar="TEXT", help="why; required when --regimen overrides")
    conf.add_argument(
        "--acknowledge-contraindication",
        action="store_true",
        help="required to choose a regimen the recommendation calls contraindicated",
    )
    _results_option(conf)
    conf.set_defaults(handler=_confirm)

    export = _command(commands, "export", "write the current assignments as TSV")
    export.add_argument("file", type=Path, metavar="FILE")
    export.set_defaults(handler=_export)

    rel = _command(commands, "release", "withdraw a patient and free its place in the cohort")
    rel.add_argument("patient", metavar="PATIENT")
    rel.add_argument("--by", required=True, metavar="NAME", help="who decided")
    rel.add_argument("--note", required=True, metavar="TEXT", help="why")
    _results_option(rel)
    rel.set_defaults(handler=_release)

    prom = _command(commands, "promote", "give a waitlisted patient a free place")
    prom.add_argument("patient", metavar="PATIENT")
    prom.add_argument("--by", required=True, metavar="NAME", help="who decided")
    prom.add_argument("--note", metavar="TEXT", help="why")
    prom.add_argument(
        "--cohorts",
        type=Path,
        metavar="PATH",
        help="cohort definitions for the capacity (default: as recorded with the latest version)",
    )
    _results_option(prom)
    prom.set_defaults(handler=_promote)

    check = _command(
        commands, "verify", "check that the record's history is intact (hash chain, guards)"
    )
    check.set_defaults(handler=_verify)


def _command(commands: Any, name: str, text: str) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
    parser.add_argument(
        "--db",
        type=Path,
        default=record.DEFAULT_DB,
        metavar="PATH",
        help=f"the record file (default: {record.DEFAULT_DB})",
    )
    return parser


def _results_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--results",
        type=Path,
        metavar="DIR",
        help="the run's results folder: patients/*/recommendation.json are read there, "
        "cohort_record.tsv and cohort_report.html rewritten there (default: the folder the "
        "last run noted in the record, else the --db folder)",
    )


def _inert_errors(handler: Callable[[argparse.Namespace], int]) -> Callable[..., int]:
    """Errors quote record text and arguments: print them inert too."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except HaicgxError as exc:
            raise HaicgxError(printable(str(exc))) from exc

    return run


def _say(text: str, *, file: Any = None) -> None:
    print(printable(text), file=file or sys.stdout)


@_inert_errors
def _show(args: argparse.Namespace) -> int:
    check = record.verify(args.db)
    if not check.intact:
        warning = f"WARNING: {check.summary()}; run haicgx record verify --db {args.db}"
        _say(f"haicgx: warning: {check.summary()}", file=sys.stderr)
        _say(warning)
        print()
    rows = record.history(args.db, args.patient)
    print(format_table(rows, HISTORY_COLUMNS))
    log = record.events(args.db, args.patient)
    decisions = [e for e in log if e["event"] != "recorded"]
    if decisions:
        print()
        print(format_table(decisions, EVENT_COLUMNS))
    return 0


@_inert_errors
def _verify(args: argparse.Namespace) -> int:
    check = record.verify(args.db)
    if check.intact:
        _say(check.summary())
        return 0
    for problem in check.problems:
        _say(problem)
    raise HaicgxError(check.summary())


@_inert_errors
def _confirm(args: argparse.Namespace) -> int:
    outcome = record.confirm(
        args.db,
        args.patient,
        by=args.by,
        regimen_id=args.regimen,
        note=args.note,
        acknowledge_contraindication=args.acknowledge_contraindication,
        results_dir=results_folder(args.db, args.results),
    )
    return _changed(args, outcome)


@_inert_errors
def _export(args: argparse.Namespace) -> int:
    count = record.export_tsv(args.db, args.file)
    _say(f"wrote {count} current assignments to {args.file}")
    return 0


@_inert_errors
def _release(args: argparse.Namespace) -> int:
    outcome = record.release(args.db, args.patient, by=args.by, note=args.note)
    return _changed(args, outcome)


@_inert_errors
def _promote(args: argparse.Namespace) -> int:
    cohorts = load_cohorts(args.cohorts) if args.cohorts else None
    outcome = record.promote(args.db, args.patient, by=args.by, note=args.note, cohorts=cohorts)
    return _changed(args, outcome)


def _changed(args: argparse.Namespace, outcome: record.RecordOutcome) -> int:
    """Say what changed, then rewrite the coordinator's views so they are never stale."""
    _say(outcome.message())
    results = results_folder(args.db, args.results)
    try:
        written = write_cohort_views(args.db, results)
    except HaicgxError as exc:
        raise HaicgxError(
            f"the record was changed ({outcome.message()}), but the views in {results} were "
            f"not rewritten: {exc}"
        ) from exc
    _say("rewrote " + " and ".join(str(path) for path in written))
    return 0


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    """An aligned plain-text table; booleans as yes or blank, None as blank, control and
    bidirectional override characters escaped (``haicgx.terminal.printable``).

    >>> print(format_table([{"a": "x", "b": True}], [("A", "a"), ("flag", "b")]))
    A  flag
    x  yes
    """
    header = [title for title, _ in columns]
    body = [[_text(row.get(key)) for _, key in columns] for row in rows]
    widths = [max(len(cell) for cell in column) for column in zip(header, *body, strict=True)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in [header, *body]
    ]
    return "\n".join(line.rstrip() for line in lines)


def _text(value: Any) -> str:
    if value is None or value is False:
        return ""
    if value is True:
        return "yes"
    return printable(" ".join(str(value).split()))
