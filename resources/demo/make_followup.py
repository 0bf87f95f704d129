"""Write the demo cohort's synthetic SDTM follow-up (SYNTHETIC: see haicgx.endpoints.demo).

    python resources/demo/make_followup.py --record results/cohort_record.sqlite --out followup
    haicgx endpoints --sdtm followup --db results/cohort_record.sqlite

The patients, their regimens and start dates come from the record (run the demo and confirm some
patients first: `haicgx record confirm DEMO01 --by NAME`); each course starts at the patient's
assignment date. The same record and seed give the same files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from haicgx.endpoints.demo import demo_followup, enrolments_from_record, write_followup
from haicgx.errors import HaicgxError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", type=Path, required=True, help="the cohort record (SQLite)")
    parser.add_argument("--out", type=Path, required=True, help="folder for dm.tsv, tu.tsv ...")
    parser.add_argument("--seed", type=int, default=20)
    args = parser.parse_args(argv)
    try:
        enrolments = enrolments_from_record(args.record)
        if not enrolments:
            raise HaicgxError(f"{args.record}: no patient with a place in a cohort")
        paths = write_followup(args.out, demo_followup(enrolments, seed=args.seed))
    except HaicgxError as exc:
        print(f"make_followup: error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {len(paths)} files for {len(enrolments)} patients in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
