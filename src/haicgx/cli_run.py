"""`haicgx run SNAKEMAKE-ARGS...`: the workflow, after its config files are checked one by one.

Snakemake reads `--configfile` files itself, before the Snakefile runs, and stops at a YAML
syntax error without naming the file or the line. This command checks each named file first
(`haicgx.settings.check_config_files`: syntax with file, line and column; keys given twice;
unknown keys and wrong types with file, line and key), then hands every argument, unchanged, to
Snakemake (`-s` added when not given: the workflow of this haicgx folder).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from haicgx.errors import HaicgxError
from haicgx.paths import PROJECT_ROOT
from haicgx.settings import check_config_files

_CONFIG_OPTIONS = ("--configfile", "--configfiles")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="check the config files (file and line), then run the workflow with Snakemake",
        description=(
            "Check every --configfile file on its own (YAML syntax, keys, types), then run "
            "snakemake with the same arguments, e.g. haicgx run --workflow-profile "
            "workflow/profiles/default --configfile config/config.yaml site.yaml --cores 8"
        ),
    )
    # Only for the help text: `haicgx.cli.main` hands everything after `run` to `run_workflow`
    # untouched, since argparse cannot take arguments that start with '-' as a remainder.
    parser.add_argument("snakemake_args", nargs="*", metavar="SNAKEMAKE-ARGS")


def config_files(args: list[str]) -> list[str]:
    """The files given to --configfile (space-separated values, or `--configfile=FILE`).

    >>> config_files(["--configfile", "a.yaml", "b.yaml", "--cores", "2", "--configfile=c.yaml"])
    ['a.yaml', 'b.yaml', 'c.yaml']
    """
    files: list[str] = []
    taking = False
    for arg in args:
        option, eq, value = arg.partition("=")
        if option in _CONFIG_OPTIONS:
            taking = not eq
            files += [value] if eq else []
        elif arg.startswith("-"):
            taking = False
        elif taking:
            files.append(arg)
    return files


def snakemake_command(args: list[str]) -> list[str]:
    """Snakemake beside this Python (the project's .venv), else on PATH, with -s when not given."""
    beside = Path(sys.executable).parent / "snakemake"
    found = str(beside) if beside.exists() else shutil.which("snakemake")
    if found is None:
        raise HaicgxError("snakemake is not installed: pip install 'haicgx[workflow]'")
    given = any(a in ("-s", "--snakefile") or a.startswith("--snakefile=") for a in args)
    snakefile = PROJECT_ROOT / "Snakefile"
    if not given and not snakefile.is_file():
        raise HaicgxError(f"no Snakefile at {snakefile}: pass -s with the haicgx workflow's")
    return [found, *([] if given else ["-s", str(snakefile)]), *args]


def run_workflow(args: list[str]) -> int:
    """Check the config files, then replace this process with Snakemake."""
    passed = [a for a in args if a != "--"]
    files = config_files(passed)
    if not files:
        raise HaicgxError("no --configfile given: name config/config.yaml and your site's file")
    for name in files:
        if not Path(name).is_file():
            raise HaicgxError(f"{name}: config file not found")
    check_config_files(files)
    command = snakemake_command(passed)
    sys.stdout.flush()
    os.execv(command[0], command)  # Snakemake's own exit status is the command's
    return 0  # pragma: no cover
