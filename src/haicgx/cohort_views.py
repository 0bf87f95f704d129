"""The coordinator's views of the cohort record, rewritten after every change so none is stale.

``cohort_record.tsv`` (the current assignment of every patient), ``cohort_report.html`` (the
cohort overview) and ``failed_patients.json`` (the patients whose last run failed, with the
reason, so the overview can still list them when a record command rewrites it) sit in the run's
results folder. The end of every run (haicgx.jobs.finish_run) writes them there and notes that
folder in the record; every record command that changes the record rewrites them in that folder
(``results_folder``).

A waitlisted patient's own report (report.html and report.pdf) says where the patient waits: it
is rewritten whenever that place changes (and once the patient stops waiting), with the
knowledge set the recommendation was made with (the files the last run noted in
``report_knowledge.json``, else the bundled set).

The views are written together, atomically, under an exclusive lock on the results folder, and
each writer reads the record only once it holds the lock: whichever writer comes last read the
record last, so the files always end on the newest state.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from haicgx import record
from haicgx.atomic import write_atomically
from haicgx.errors import HaicgxError

log = logging.getLogger(__name__)

RECORD_TSV = "cohort_record.tsv"
COHORT_REPORT = "cohort_report.html"
FAILURES_FILE = "failed_patients.json"
KNOWLEDGE_NOTE = "report_knowledge.json"


def results_folder(db_path: str | Path, results_dir: str | Path | None = None) -> Path:
    """The folder holding the views and patients/: ``results_dir`` when given, else the one
    the last run noted in the record (when it still exists), else the record's own folder."""
    if results_dir is not None:
        return Path(results_dir)
    noted = record.noted_results_folder(db_path)
    return noted if noted is not None and noted.is_dir() else Path(db_path).parent


def state_exists(db_path: Path) -> bool:
    """True when a record file (or a link named like one) is there; 0 bytes included, so
    that reading it reports the cut file instead of starting over."""
    return os.path.lexists(db_path)


def record_state(db_path: str | Path) -> dict[str, Any] | None:
    """What the views show of the record; None when there is no record yet.

    A record file that exists but cannot be read (cut to 0 bytes, not a record) is an error.
    """
    db = Path(db_path)
    if not state_exists(db):
        return None
    state = record.cohort_state(db)
    state["verification"] = record.verify(db)
    state["source"] = str(db)
    return state


def write_cohort_views(
    db_path: str | Path,
    results_dir: str | Path,
    *,
    failures: Mapping[str, str] | None = None,
    knowledge_files: Mapping[str, str | Path] | None = None,
) -> list[Path]:
    """Rewrite cohort_record.tsv and cohort_report.html in ``results_dir``, and the reports of
    the patients whose waitlist place changed; return the paths written.

    ``failures`` (patient id -> one-line reason) replaces failed_patients.json; None keeps the
    failures the last run wrote there. ``knowledge_files`` (the run's ``biomarkers``,
    ``regimens`` and ``findings``) are noted for the record commands' later rewrites. Refuses
    to write over the record itself.
    """
    from haicgx.report import render_cohort_report  # Jinja2 only where a view is written

    db, results = Path(db_path), Path(results_dir)
    if not results.is_dir():
        raise HaicgxError(f"cannot rewrite the cohort views: the folder {results} does not exist")
    if state_exists(db):
        record.note_results_folder(db, results)
    tsv_path, html_path = results / RECORD_TSV, results / COHORT_REPORT
    failures_path = results / FAILURES_FILE
    with _locked(results):
        known = dict(failures) if failures is not None else read_failures(failures_path)
        state = record_state(db)
        outputs = {
            tsv_path: record.assignments_tsv(state["assignments"] if state else []).encode(),
            html_path: render_cohort_report(
                results, html_path=html_path, failures=known, record=state
            ).encode("utf-8"),
        }
        if failures is not None:
            text = json.dumps(dict(sorted(known.items())), indent=2, ensure_ascii=False) + "\n"
            outputs[failures_path] = text.encode("utf-8")
        if knowledge_files is not None:
            noted = {k: str(Path(v).resolve()) for k, v in sorted(knowledge_files.items())}
            outputs[results / KNOWLEDGE_NOTE] = (json.dumps(noted, indent=2) + "\n").encode()
        for path in outputs:
            record.check_output_path(path, db)
        write_atomically(outputs)
        log.info("wrote %s and %s", tsv_path, html_path)
        places = state["places"] if state else {}
        reports = refresh_waitlist_reports(results, places, known)
    return [tsv_path, html_path, *reports]


def refresh_waitlist_reports(
    results: Path, places: Mapping[str, Any], failures: Mapping[str, str]
) -> list[Path]:
    """Rewrite report.html and report.pdf of each patient whose waitlist place (as the record
    has it now) differs from the one its report shows; return the files written.

    A report whose knowledge set cannot be found is left as it is, with a warning: the cohort
    report still shows the place.
    """
    from haicgx.report import place_key, shown_place_key, waiting_place, write_patient_report

    written: list[Path] = []
    knowledge = _KnowledgeSets(results)
    for html in sorted((results / "patients").glob("*/report.html")):
        folder, pdf = html.parent, html.parent / "report.pdf"
        if folder.name in failures:
            continue
        place = waiting_place(places.get(folder.name))
        shown = shown_place_key(html)
        if shown == place_key(place) or (shown is None and place is None):
            continue
        kb = knowledge.matching(folder / "recommendation.json")
        if kb is None:
            log.warning(
                "%s: the report's waitlist place is out of date, and the knowledge set of its "
                "recommendation was not found to rewrite it; re-run the workflow",
                folder.name,
            )
            continue
        write_patient_report(folder, html_path=html, pdf_path=pdf, kb=kb, place=place)
        written += [html, pdf]
    return written


class _KnowledgeSets:
    """The knowledge sets a report may have been made with, loaded once each when first needed:
    the files the last run noted, then the bundled set."""

    def __init__(self, results: Path) -> None:
        self.results = results
        self.loaded: list[Any] | None = None

    def _load(self) -> list[Any]:
        from haicgx.knowledge import load_knowledge
        from haicgx.paths import KNOWLEDGE_DIR

        candidates = []
        try:
            noted = json.loads((self.results / KNOWLEDGE_NOTE).read_text(encoding="utf-8"))
            candidates.append(tuple(Path(noted[k]) for k in ("biomarkers", "regimens", "findings")))
        except (OSError, ValueError, KeyError, TypeError):
            pass
        bundled = tuple(
            KNOWLEDGE_DIR / n for n in ("biomarkers.tsv", "regimens.yaml", "findings.yaml")
        )
        candidates.append(bundled)
        sets = []
        for paths in dict.fromkeys(candidates):
            try:
                sets.append(load_knowledge(*paths))
            except (HaicgxError, OSError) as exc:
                log.warning("cannot load the knowledge set %s: %s", paths[1], exc)
        return sets

    def matching(self, recommendation_path: Path) -> Any:
        """The loaded knowledge set whose sha256 the recommendation names, or None."""
        try:
            data = json.loads(recommendation_path.read_text(encoding="utf-8"))
            wanted = data["provenance"]["knowledge_sha256"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if self.loaded is None:
            self.loaded = self._load()
        return next((kb for kb in self.loaded if kb.sha256 == wanted), None)


def read_failures(path: Path) -> dict[str, str]:
    """The failures the last run wrote (patient id -> reason); none when there is no file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise HaicgxError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise HaicgxError(f"{path} is not an object of patient ids and reasons")
    return {str(patient): str(reason) for patient, reason in data.items()}


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on the folder itself (no lock file to leave behind)."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # closing releases the lock
