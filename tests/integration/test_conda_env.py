"""The conda environment every rule names (workflow/envs/haicgx.yaml, for
`--software-deployment-method conda`): its paths reach the lock and the package, its Python fits
the package, and its pip section resolves as conda would run it. Conda itself is not run (it is not
part of the supported .venv setup), so the conda-forge part (python, pip, pango) is checked only
as text."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib

import pytest
import yaml
from support import REPO

ENV_FILE = REPO / "workflow" / "envs" / "haicgx.yaml"


def _env() -> dict:
    return yaml.safe_load(ENV_FILE.read_text(encoding="utf-8"))


def _pip_lines() -> list[str]:
    pip = [d for d in _env()["dependencies"] if isinstance(d, dict)]
    assert len(pip) == 1 and list(pip[0]) == ["pip"], pip
    return pip[0]["pip"]


def test_every_rule_names_the_environment_file():
    named = {}
    for smk in [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]:
        for m in re.finditer(r"^\s*conda:\s*\n\s*\"([^\"]+)\"", smk.read_text(), re.MULTILINE):
            named.setdefault((smk.parent / m[1]).resolve(), []).append(smk.name)
    assert list(named) == [ENV_FILE.resolve()], named
    # one directive per rule: analyse, publish, cohort, endpoints
    assert sum(len(v) for v in named.values()) == 4, named


def test_the_pip_section_installs_the_lock_and_the_package():
    lines = _pip_lines()
    assert lines == ["-r ../../requirements.lock", "-e ../.."]
    # conda runs pip from the environment file's folder
    assert (ENV_FILE.parent / "../../requirements.lock").resolve() == REPO / "requirements.lock"
    project = tomllib.loads((ENV_FILE.parent / "../../pyproject.toml").read_text())
    assert project["project"]["name"] == "haicgx"


def test_the_python_pin_fits_the_package():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    floor = re.fullmatch(r">=(\d+)\.(\d+)", project["project"]["requires-python"])
    assert floor is not None
    pins = [d for d in _env()["dependencies"] if isinstance(d, str) and d.startswith("python=")]
    assert len(pins) == 1
    major, minor = (int(x) for x in pins[0].removeprefix("python=").split("."))
    assert (major, minor) >= (int(floor[1]), int(floor[2]))
    assert _env()["channels"] == ["conda-forge", "nodefaults"]


@pytest.mark.slow
def test_the_pip_section_resolves_as_conda_would_run_it(tmp_path):
    """pip, from the environment file's folder and with its lines, into an empty environment
    (--ignore-installed; --dry-run: resolved, nothing installed): every lock pin and the package
    resolve together. Needs the package index pip is configured with."""
    args = [a for line in _pip_lines() for a in line.split(maxsplit=1)]
    report = tmp_path / "report.json"
    run = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
         "--report", str(report), *args],
        cwd=ENV_FILE.parent, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    installed = {
        item["metadata"]["name"].lower().replace("_", "-"): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    pinned = dict(
        line.lower().replace("_", "-").split("==")
        for line in (REPO / "requirements.lock").read_text().split()
    )
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert installed.pop("haicgx") == project["version"]
    # what the environment gets is what the lock pins, and nothing the lock leaves out
    assert set(installed) <= set(pinned), set(installed) - set(pinned)
    assert installed == {name: pinned[name] for name in installed}
