"""The `haicgx` command: one sub-command group per concern, each registered by its own module."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from haicgx import __version__, cli_endpoints, cli_explain, cli_kb, cli_record, cli_run
from haicgx.errors import HaicgxError

# Modules that add sub-commands; each exposes `register(subparsers)`.
COMMAND_MODULES = (cli_run, cli_kb, cli_explain, cli_record, cli_endpoints)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="haicgx",
        description="Explained ranking of HAIC chemotherapy regimens from a tumour VCF.",
    )
    parser.add_argument("--version", action="version", version=f"haicgx {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["run"] and not {"-h", "--help"} & set(argv[1:2]):
        return _guarded(lambda: cli_run.run_workflow(argv[1:]))
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    return _guarded(lambda: args.handler(args))


def _guarded(handler: Callable[[], int | None]) -> int:
    """A command's exit status; a HaicgxError as one line on stderr."""
    try:
        return int(handler() or 0)
    except HaicgxError as exc:
        print(f"haicgx: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
