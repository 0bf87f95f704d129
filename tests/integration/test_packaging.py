"""The package carries what it finds through itself (CONTRACT section 1): a wheel built from the
repository holds the schemas, templates, bundled knowledge and ranking weights, and every path
haicgx.paths names inside the package is in it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

import pytest
from support import REPO

from haicgx.paths import DATA_DIR, PACKAGE_DIR, SCHEMA_DIR

pytestmark = pytest.mark.slow


def test_the_wheel_carries_the_package_data(tmp_path):
    # A copy without build leftovers: setuptools reads a stale egg-info's file list and would
    # pass files that pyproject.toml no longer declares.
    source = tmp_path / "source"
    shutil.copytree(
        REPO,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "*.egg-info", "build", "results", "logs", ".snakemake", "__pycache__"
        ),
    )
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("haicgx-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = [
        path.relative_to(PACKAGE_DIR.parent).as_posix()
        for folder in (SCHEMA_DIR, DATA_DIR, PACKAGE_DIR / "templates")
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    ]
    assert wanted and not [name for name in wanted if name not in names]
