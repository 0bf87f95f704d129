"""The endpoint report in headless Chromium: it loads nothing, logs no error, shows every section.

Uses the harness of test_report_browser.py (local HTTP server, request log, console lines) on
the hand-written SDTM folder of tests/unit/test_endpoints_run.py and, when the shared test data
is there, on the CDISC pilot oncology data.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from haicgx.endpoints.run import run_endpoints

TESTS = Path(__file__).resolve().parents[1]
PILOT = TESTS.parent.parent / "shared" / "testdata" / "pharmaversesdtm-onco"
SECTIONS = (
    "inputs", "response", "waterfall", "swimmer", "pfs", "os", "safety", "disagreements",
    "methods", "notes",
)  # fmt: skip


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HARNESS = _load(TESTS / "browser" / "test_report_browser.py", "_browser_harness")
MINI = _load(TESTS / "unit" / "test_endpoints_run.py", "_endpoints_mini")

pytestmark = HARNESS.pytestmark


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("endpoint_reports")
    run_endpoints(MINI.write_sdtm(root / "sdtm"), out_dir=root / "mini")
    if PILOT.is_dir():
        run_endpoints(PILOT, out_dir=root / "pilot")
    return root


@pytest.mark.parametrize("which", ["mini", "pilot"])
def test_endpoint_report_loads_nothing_and_logs_no_error(
    reports: Path, tmp_path: Path, which: str
) -> None:
    if not (reports / which).is_dir():
        pytest.skip(f"{PILOT} is absent: the shared public test data is not beside the project")
    page = f"{which}/endpoints.html"
    seen = HARNESS._open(reports, page, tmp_path)
    assert seen["requested"] == [f"/{page}", f"/{page}"]
    assert seen["console"] == []
    dom = str(seen["dom"])
    for section in SECTIONS:
        assert f'id="{section}"' in dom, section
    assert dom.count("<svg") >= 4
    assert "<script" not in dom
    if which == "mini":
        assert "Arm &lt;A&gt;" in dom  # input text stays text
    HARNESS._assert_non_trivial_png(Path(str(seen["png"])))
