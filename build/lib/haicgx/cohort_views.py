"""The coordinator's views of the cohort record, rewritten after every change so none is stale.

``cohort_record.tsv`` (the current assignment of every patient), ``cohort_report.html`` (the
cohort overview) and ``failed_patients.json`` (the patients whose last run failed, with the
reason, so the overview can still list them when a record command rewrites it) sit in the run's
results folder. The end of every run (haicgx.jobs.finish_run) writes them there and notes that
folder in the record; every record command that changes the record rewrites them in that folder
(``results_folder``).

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
) -> list[Path]:
    """Rewrite cohort_record.tsv and cohort_report.html in ``results_dir``; return their paths.

    ``failures`` (patient id -> one-line reason) replaces failed_patients.json; None keeps the
    failures the last run wrote there. Refuses to write over the record itself.
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
        for path in outputs:
            record.check_output_path(path, db)
        write_atomically(outputs)
    log.info("wrote %s and %s", tsv_path, html_path)
    return [tsv_path, html_path]


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
