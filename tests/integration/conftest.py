"""Fixtures of the integration tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from demo_workflow import run_demo


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Path:
    """A working directory where the whole demo cohort has run once."""
    return run_demo(tmp_path_factory.mktemp("demo"))
