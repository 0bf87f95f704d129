"""The reports in a real browser: headless Chromium loads them without errors or any request.

Each report is served from a local HTTP server that records every path asked for, then opened
by Chromium (``--screenshot`` and ``--dump-dom``). Console messages come from Chromium's log on
stderr. A canary page with a deliberate error and an image first proves the harness sees both.
Install the browser with ``.ci/install-browser``.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest
from record_helpers import put

from haicgx import report
from haicgx.cohort_views import write_cohort_views

CHROMIUM = Path("/usr/bin/chromium")
WINDOW = (1400, 2000)
TIMEOUT_S = 120
# Chromium logs every page console message (log, warning, error, CSP violation) as CONSOLE.
CONSOLE_LINE = re.compile(r"CONSOLE|Uncaught")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent; run .ci/install-browser"
    ),
]


def _unit_fixtures() -> ModuleType:
    """The hand-written patient of tests/unit/test_report.py, so both suites test one patient."""
    path = Path(__file__).resolve().parents[1] / "unit" / "test_report.py"
    spec = importlib.util.spec_from_file_location("_report_fixtures", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _RecordingHandler(SimpleHTTPRequestHandler):
    """Serves a folder and records each requested path on the server."""

    def do_GET(self) -> None:
        self.server.requested.append(self.path)  # type: ignore[attr-defined]
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        pass


@contextmanager
def _serve(folder: Path) -> Iterator[tuple[str, list[str]]]:
    """Serve ``folder`` on 127.0.0.1 (a free port); yield the base URL and the request log."""
    handler = functools.partial(_RecordingHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.requested = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.requested  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _chromium(url: str, profile: Path, *mode: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium once on ``url`` with networking extras switched off."""
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        *mode,
        url,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)


def _console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if CONSOLE_LINE.search(line)]


def _open(folder: Path, page: str, tmp_path: Path) -> dict[str, object]:
    """Screenshot and DOM of ``folder/page`` served over HTTP, with requests and console lines."""
    screenshot = tmp_path / f"{Path(page).stem}.png"
    with _serve(folder) as (base, requested):
        shot = _chromium(f"{base}/{page}", tmp_path / "profile", f"--screenshot={screenshot}")
        dom = _chromium(f"{base}/{page}", tmp_path / "profile", "--dump-dom")
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert dom.returncode == 0, dom.stderr[-2000:]
    return {
        "png": screenshot,
        "dom": dom.stdout,
        "requested": list(requested),
        "console": _console_lines(shot.stderr) + _console_lines(dom.stderr),
    }


def _assert_non_trivial_png(path: Path) -> None:
    """The screenshot exists, has the window's size and is not one flat colour."""
    from PIL import Image  # Pillow comes with WeasyPrint

    assert path.is_file() and path.stat().st_size > 20_000
    with Image.open(path) as image:
        assert image.size == WINDOW
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
        assert colours is None or len(colours) > 50  # None: more colours than counted


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A results folder with one patient report (HTML + PDF) and the cohort report."""
    fixtures = _unit_fixtures()
    root = tmp_path_factory.mktemp("browser_results")
    kb = fixtures.bundled_kb()
    patient_dir = fixtures.write_patient_dir(root / "patients" / "PT-007")
    report.write_patient_report(
        patient_dir,
        html_path=patient_dir / "report.html",
        pdf_path=patient_dir / "report.pdf",
        kb=kb,
    )
    # A second patient with every banner: DPYD activity score 0.5, a rank 1 to test first.
    poor = fixtures.sample_recommendation()
    poor["patient_id"] = "PT-011"
    poor["pgx"]["DPYD"].update(activity_score=0.5, phenotype="Poor Metabolizer")
    poor["regimens"][0]["reasons"].append(
        {"kind": "toxicity", "text": "test UGT1A1 first", "kb_ids": [], "test_first": True}
    )
    # ... with the sheet's identifiers, and waiting for a place in a full cohort.
    poor["identifiers"] = {"specimen_id": "SP-11", "assay": "TSO500 v2", "site_mrn": "H-11"}
    poor_dir = fixtures.write_patient_dir(root / "patients" / "PT-011", poor)
    # The cohort report from a record: CRC's 2 places taken by A and B, C waiting.
    db = root / "cohort_record.sqlite"
    for patient in ("A", "B", "C"):
        put(db, patient)
    failures = {"PT-010": 'patient PT-010: bad.vcf: <script>alert("x")</script> & more'}
    write_cohort_views(db, root, failures=failures)
    # PT-011's report as the views write it for a waiting patient (this record does not hold
    # PT-011: rewriting the views now would clear the place again).
    report.write_patient_report(
        poor_dir,
        html_path=poor_dir / "report.html",
        pdf_path=poor_dir / "report.pdf",
        kb=kb,
        place=WAITING,
    )
    return root


WAITING = {"cohort_id": "CRLM", "position": 2, "waiting": 3, "taken": 12, "max_patients": 12}


def test_harness_sees_console_errors_and_requests(tmp_path: Path) -> None:
    """Canary: a page with a failing script and an image must show up in both logs."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "canary.html").write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>canary</title></head><body>'
        '<img src="probe.png"><script>throw new Error("canary-uncaught")</script></body></html>',
        encoding="utf-8",
    )
    seen = _open(tmp_path / "site", "canary.html", tmp_path)
    assert "/probe.png" in seen["requested"]
    assert any("canary-uncaught" in line for line in seen["console"])


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("patients/PT-007/report.html", ("HAIC-RALOX", "Intermediate Metabolizer")),
        ("patients/PT-011/report.html", ("DPYD activity score 0.5", "test UGT1A1 first")),
        ("cohort_report.html", ("HAIC-RALOX", "PT-010", "2 / 2 (full)", "waitlisted (#1")),
    ],
)
def test_report_loads_nothing_and_logs_no_error(
    results: Path, tmp_path: Path, page: str, expected: tuple[str, ...]
) -> None:
    seen = _open(results, page, tmp_path)
    assert seen["requested"] == [f"/{page}", f"/{page}"]  # one per Chromium run, nothing else
    assert seen["console"] == []
    dom = str(seen["dom"])
    for text in expected:
        assert text in dom
    assert "<script>" not in dom.split("<body", 1)[1]
    _assert_non_trivial_png(Path(str(seen["png"])))


# The sections of a patient report, in page order, and what each must show in the browser.
PATIENT_SECTIONS = {
    "glance": "Recommendation at a glance",
    "ranking": "Ranked regimens",
    "pgx": "Pharmacogenomics and starting doses",
    "findings": "Findings for the board",
    "cards": "Regimen evidence cards",
    "variants": "Variants",
    "vaf": "Variant allele fractions",
    "evidence": "Evidence cited",
    "qc": "Quality control",
    "provenance": "Provenance",
    "signoff": "Tumour-board sign-off",
}


@pytest.mark.parametrize("patient", ["PT-007", "PT-011"])
def test_every_section_of_the_patient_report_is_in_the_page(
    results: Path, tmp_path: Path, patient: str
) -> None:
    seen = _open(results, f"patients/{patient}/report.html", tmp_path)
    assert seen["console"] == []
    dom = str(seen["dom"])
    positions = []
    for name, heading in PATIENT_SECTIONS.items():
        opening = f'<section id="{name}">'
        assert dom.count(opening) == 1, name
        body = dom.split(opening, 1)[1].split("</section>", 1)[0]
        assert heading in body, name
        positions.append(dom.index(opening))
    assert positions == sorted(positions)
    # Four evidence cards, the starting-dose table and the table of passing variants.
    assert len(re.findall(r'<article class="card [^"]*" id="regimen-\d"', dom)) == 4
    assert '<table class="dose-table">' in dom and '<details class="all-variants" open="">' in dom
    banners = re.findall(r'<p class="banner" role="alert">(.*?)</p>', dom)
    place = re.findall(r'<p class="place" id="waitlist" role="status">(.*?)</p>', dom)
    header = dom.split("<nav", 1)[0]
    if patient == "PT-011":
        assert len(banners) == 2 and banners[0].startswith("DPYD activity score 0.5")
        assert len(place) == 1 and "Waitlisted for cohort CRLM: number 2 of 3" in place[0]
        assert dom.index('id="waitlist"') < dom.index('<section id="glance">')
        assert "Specimen ID" in header and "SP-11" in header and "mrn (site)" in header
    else:
        assert banners == [] and place == [] and "Specimen ID" not in header
