"""Running the demo workflow once per test session, for every integration test that reads it."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# The demo: a site's template, then the demo's own settings (as `make run` names them).
CONFIGS = (REPO / "config" / "config.yaml", REPO / "config" / "demo.yaml")
SCHEMA = REPO.parent / "shared" / "contract" / "recommendation.schema.json"
if not SCHEMA.exists():  # the project keeps a copy that must equal the contract's
    SCHEMA = REPO / "src" / "haicgx" / "schemas" / "recommendation.schema.json"


def demo_patients() -> list[str]:
    with (REPO / "config" / "demo_patients.tsv").open(encoding="utf-8") as handle:
        return [row["patient_id"] for row in csv.DictReader(handle, delimiter="\t")]


def run_workflow(
    workdir: Path, *extra: str, configs: tuple[Path, ...] = ()
) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    command = [
        str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "-d", str(workdir),
        "--configfile", *map(str, CONFIGS), *map(str, configs), "--cores", "2", *extra,
    ]  # fmt: skip
    return subprocess.run(
        command, cwd=workdir, capture_output=True, text=True, timeout=900, env=env
    )


def run_demo(workdir: Path) -> Path:
    result = run_workflow(workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir


def read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))
