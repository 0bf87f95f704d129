"""`haicgx endpoints`: the trial endpoints from SDTM follow-up data (docs/endpoints.md)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from haicgx.endpoints import DEFAULT_OUT, recist
from haicgx.endpoints.sdtm import DOMAINS
from haicgx.errors import HaicgxError


def register(subparsers: Any) -> None:
    """Add `endpoints` to the `haicgx` parser."""
    parser = subparsers.add_parser(
        "endpoints",
        help="RECIST 1.1 response, PFS, OS and adverse events per cohort and regimen",
        description=(
            "Read SDTM follow-up data (one file per domain: dm, ds, tu, tr, rs, ae, ex; CSV or "
            "TSV) and write ADRS, ADTTE, ADAE (TSV), endpoints.json and endpoints.html."
        ),
    )
    parser.add_argument("--sdtm", required=True, type=Path, metavar="DIR", help="SDTM folder")
    parser.add_argument(
        "--db",
        type=Path,
        metavar="RECORD",
        help="the cohort assignment record: cohorts, regimens and start dates from it "
        "(default: from DM.ARM and DM.RFSTDTC)",
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, metavar="DIR", help=f"default: {DEFAULT_OUT}"
    )
    parser.add_argument(
        "--domain",
        action="append",
        default=[],
        metavar="CODE=FILE",
        help="take FILE (a name in DIR, else a path) as the domain CODE; repeatable",
    )
    parser.add_argument(
        "--evaluator",
        default="INVESTIGATOR",
        metavar="NAME",
        help="whose assessments (--EVAL) to use when there are several (default: INVESTIGATOR)",
    )
    parser.add_argument(
        "--sd-min-weeks",
        type=float,
        default=recist.SD_MIN_DAYS / 7,
        metavar="W",
        help="minimum time from the start for stable disease (default: 6)",
    )
    parser.add_argument(
        "--confirm-weeks",
        type=float,
        default=recist.CONFIRM_DAYS / 7,
        metavar="W",
        help="minimum time to confirm a CR or PR (default: 4)",
    )
    parser.add_argument(
        "--teae-window-days",
        type=int,
        metavar="D",
        help="an AE is treatment-emergent only up to D days after the last dose "
        "(default: no limit)",
    )
    parser.add_argument("--cohorts", type=Path, metavar="PATH", help="cohort names (with --db)")
    parser.add_argument("--regimens", type=Path, metavar="PATH", help="regimen names (with --db)")
    parser.set_defaults(handler=_endpoints)


def parse_domains(values: list[str]) -> dict[str, Path]:
    """``["TU=tu_onco_recist.csv"]`` -> ``{"TU": Path("tu_onco_recist.csv")}``.

    >>> parse_domains(["tu=a.csv"])
    {'TU': PosixPath('a.csv')}
    """
    chosen: dict[str, Path] = {}
    for value in values:
        code, sep, file = value.partition("=")
        code = code.strip().upper()
        if not sep or not file.strip():
            raise HaicgxError(f"--domain {value}: expected CODE=FILE, e.g. TU=tu_onco_recist.csv")
        if code not in DOMAINS:
            raise HaicgxError(f"--domain {value}: unknown domain (known: {', '.join(DOMAINS)})")
        chosen[code] = Path(file.strip())
    return chosen


def _days(weeks: float, option: str) -> int:
    if weeks < 0:
        raise HaicgxError(f"{option}: must not be negative")
    return round(weeks * 7)


def _non_negative(days: int | None, option: str) -> int | None:
    if days is not None and days < 0:
        raise HaicgxError(f"{option}: must not be negative")
    return days


def _endpoints(args: argparse.Namespace) -> int:
    # Imported here: pandas and lifelines take seconds to load, which every other `haicgx`
    # command (record, explain, kb) would otherwise pay.
    from haicgx.endpoints.run import Options, run_endpoints

    options = Options(
        evaluator=args.evaluator,
        sd_min_days=_days(args.sd_min_weeks, "--sd-min-weeks"),
        confirm_days=_days(args.confirm_weeks, "--confirm-weeks"),
        teae_window_days=_non_negative(args.teae_window_days, "--teae-window-days"),
    )
    lines = run_endpoints(
        args.sdtm,
        out_dir=args.out,
        db=args.db,
        chosen=parse_domains(args.domain),
        options=options,
        cohorts_path=args.cohorts,
        regimens_path=args.regimens,
    )
    for line in lines:
        print(line)
    return 0
