"""The workflow's jobs as plain functions, called by the thin adapters in scripts/.

`load_run` validates everything before any job starts (the Snakefile calls it); each job function
takes keyword arguments from the rule and writes its outputs, and `run_job` turns a failure into
one clear line on stderr and in the job's log instead of a traceback.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from haicgx import __version__
from haicgx.cohorts import Cohorts, cohort_for_site, load_cohorts
from haicgx.currency import STAMPS, current
from haicgx.errors import HaicgxError
from haicgx.knowledge import KnowledgeBase, load_knowledge
from haicgx.outcome import OUTCOME, Outcome, read_outcome, write_outcome
from haicgx.paths import PROJECT_ROOT
from haicgx.settings import Patient, Settings, analysis_batches, load_patients, load_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Run:
    settings: Settings
    patients: dict[str, Patient]
    knowledge: KnowledgeBase
    cohorts: Cohorts


def load_run(
    config: dict[str, Any], *, workdir: Path, root: Path = PROJECT_ROOT, source: str = "config"
) -> Run:
    """Validate the config, the sheet, the knowledge set and the cohorts; raise one ConfigError."""
    if not config:
        raise HaicgxError("no configuration: pass --configfile config/config.yaml (and your own)")
    settings = load_settings(config, workdir=workdir, root=root, source=source)
    patients = load_patients(settings.patients_file)
    knowledge = load_knowledge(settings.biomarkers, settings.regimens, settings.findings)
    cohorts = load_cohorts(settings.cohorts)
    return Run(settings, {p.patient_id: p for p in patients}, knowledge, cohorts)


def patient_params(patient: Patient) -> dict[str, Any]:
    """A patient as plain values, for a rule's params."""
    data = asdict(patient)
    data["vcf"] = str(patient.vcf)
    data["prior_drugs"] = list(patient.prior_drugs)
    return data


def _patient(params: dict[str, Any]) -> Patient:
    data = dict(params)
    data["vcf"] = Path(data["vcf"])
    data["prior_drugs"] = tuple(data["prior_drugs"])
    return Patient(**data)


def run_job(function: Callable[..., Any], *, log_path: str, **kwargs: Any) -> None:
    """Run one job function with logging to its log file; exit 1 with one line on failure."""
    handler = logging.FileHandler(log_path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("weasyprint").setLevel(logging.WARNING)  # its progress steps are noise
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    try:
        function(**kwargs)
    except HaicgxError as exc:
        _fail(handler, str(exc))
    except Exception as exc:  # an unforeseen failure: full detail in the log, one line out
        log.error("internal error\n%s", traceback.format_exc())
        _fail(handler, f"internal error ({type(exc).__name__}: {exc}); details in {log_path}")
    finally:
        handler.close()


def _fail(handler: logging.Handler, message: str) -> None:
    log.error("%s", message)
    handler.flush()
    print(f"haicgx: {message}", file=sys.stderr)
    sys.exit(1)


def _run_from(config: dict[str, Any], root: str) -> tuple[Settings, KnowledgeBase]:
    settings = load_settings(config, workdir=Path.cwd(), root=Path(root))
    return settings, load_knowledge(settings.biomarkers, settings.regimens, settings.findings)


# -- jobs ---------------------------------------------------------------------------------------

# The files a completed patient has in results/patients/{patient_id}/, in the order they are made.
PATIENT_FILES = ("variants.tsv", "matches.tsv", "recommendation.json", "report.html", "report.pdf")


def analyse_job(
    *, patients: list[dict[str, Any]], config: dict[str, Any], root: str, out_dir: str
) -> None:
    """Analyse several patients in one process, each into `out_dir/{patient_id}/`.

    Start-up (interpreter, imports, knowledge, the GFF3's transcript index, WeasyPrint) is paid
    once per job instead of once per patient, and the small files share one csq run
    (`haicgx.analysis.group_consequences`). Each patient's folder gets its outcome.json
    (haicgx.outcome); a patient whose input is bad does not stop the others: its folder holds
    only outcome.json, with the one-line message, and rule publish fails that patient alone.
    """
    from haicgx.analysis import group_consequences

    settings, kb = _run_from(config, root)
    cohorts = load_cohorts(settings.cohorts)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    group = [_patient(params) for params in patients]
    with tempfile.TemporaryDirectory(prefix=".group-", dir=out) as work:
        shared = group_consequences(group, settings, Path(work))
        failed = sum(
            _analyse_member(patient, number, len(group), settings, kb, cohorts, out, shared)
            for number, patient in enumerate(group, start=1)
        )
    log.info("%d of %d patients analysed, %d failed", len(patients) - failed, len(patients), failed)


def _analyse_member(
    patient: Patient,
    number: int,
    total: int,
    settings: Settings,
    kb: KnowledgeBase,
    cohorts: Cohorts,
    out: Path,
    shared: dict[str, Any],
) -> bool:
    """One patient of an analysis job, its outcome.json written; True if it failed (its folder
    then holds outcome.json only)."""
    folder = out / patient.patient_id
    start = time.perf_counter()
    timings: dict[str, float] = {}
    why = ""
    try:
        analyse_patient(
            patient,
            settings=settings,
            kb=kb,
            cohorts=cohorts,
            folder=folder,
            timings=timings,
            consequences=shared.get(patient.patient_id),
        )
    except HaicgxError as exc:
        why = str(exc)
    except Exception as exc:  # unforeseen: detail in the log, the other patients go on
        log.error("%s: internal error\n%s", patient.patient_id, traceback.format_exc())
        why = (
            f"patient {patient.patient_id}: internal error ({type(exc).__name__}: {exc}); "
            "details in the analysis job's log"
        )
    if why:
        log.error("%s", why)
        shutil.rmtree(folder, ignore_errors=True)  # no partial output of a failed patient
        folder.mkdir(parents=True)
    elapsed = time.perf_counter() - start
    write_outcome(folder, Outcome("failed" if why else "ok", why, timings))
    status = "failed" if why else "done"
    log.info("%s: %s in %.2f s (%d of %d)", patient.patient_id, status, elapsed, number, total)
    # one line per patient on the console, so a long job shows its progress
    progress = f"haicgx: {patient.patient_id} {status} ({number} of {total} in this job"
    print(
        f"{progress}, {elapsed:.1f} s)" + (f": {' '.join(why.split())}" if why else ""),
        file=sys.stderr,
        flush=True,
    )
    return bool(why)


def analyse_patient(
    patient: Patient,
    *,
    settings: Settings,
    kb: KnowledgeBase,
    cohorts: Cohorts,
    folder: Path,
    report: bool = True,
    timings: dict[str, float] | None = None,
    consequences: Any = None,
) -> None:
    """Check, normalise, annotate, match, rank and report one patient into `folder`.

    `timings`, when given, receives the seconds spent in each stage (the benchmark reads them):
    those of `haicgx.analysis.analyse_vcf`, their sum (`analyse`) and the report's.
    `consequences`: the group's csq run covered the patient's file
    (`haicgx.analysis.group_consequences`).
    """
    from haicgx.analysis import analyse_vcf

    times = timings if timings is not None else {}
    start = time.perf_counter()
    analyse_vcf(
        patient=patient,
        settings=settings,
        kb=kb,
        cohort=cohort_for_site(cohorts, patient.primary_site),
        folder=folder,
        consequences=consequences,
        timings=times,
    )
    times["analyse"] = time.perf_counter() - start
    if report:
        from haicgx.report import write_patient_report

        start = time.perf_counter()
        write_patient_report(
            folder, html_path=folder / "report.html", pdf_path=folder / "report.pdf", kb=kb
        )
        times["report"] = time.perf_counter() - start


def completed_patients(patient_ids: list[str], results: Path) -> list[str]:
    """Patients whose every output is in results/patients/ (rule publish copies them last) and
    was made from their current inputs (haicgx.currency): an old output is never recorded."""
    return [
        pid
        for pid in patient_ids
        if current(
            pid,
            [results / "patients" / pid / name for name in PATIENT_FILES],
            results / STAMPS.relative_to("results"),
        )
    ]


def record_patients(settings: Settings, patient_ids: list[str], results: Path) -> int:
    """Add each completed patient's recommendation to the cohort record; return how many changed.

    A patient already recorded with the same inputs adds nothing, so calling this again (at the
    end of every run, successful or not) is safe.
    """
    from haicgx.record import recommendation_digest, record_recommendation

    cohorts = load_cohorts(settings.cohorts)
    changed = 0
    for pid in completed_patients(patient_ids, results):
        path = results / "patients" / pid / "recommendation.json"
        data = json.loads(path.read_text(encoding="utf-8"))
        outcome = record_recommendation(
            settings.record,
            recommendation=data,
            vcf_sha256=data["provenance"]["vcf_sha256"],
            recommendation_sha256=recommendation_digest(data),
            knowledge_sha256=data["provenance"]["knowledge_sha256"],
            pipeline_version=__version__,
            cohorts=cohorts,
        )
        changed += outcome.action != "unchanged"
    return changed


def failed_patients(
    patient_ids: list[str], results: Path, logs: Path, patients_per_job: int
) -> dict[str, str]:
    """Patients without all their outputs, with the one-line message of their outcome.json.

    A patient whose analysis job itself stopped (killed, out of memory) has no outcome of its
    own: it is pointed to that job's log.
    """
    done = set(completed_patients(patient_ids, results))
    batch_of = {
        pid: batch
        for batch, ids in analysis_batches(patient_ids, patients_per_job).items()
        for pid in ids
    }
    failures = {}
    for pid in patient_ids:
        if pid in done:
            continue
        outcome = read_outcome(results / "work" / batch_of[pid] / pid)
        if outcome is not None and not outcome.ok:
            failures[pid] = outcome.message
        else:
            failures[pid] = f"did not complete (see {logs / 'analyse' / batch_of[pid]}.log)"
    return failures


def finish_run(*, config: dict[str, Any], root: str, patient_ids: list[str]) -> dict[str, str]:
    """Record every completed patient, then write results/cohort_record.tsv,
    results/cohort_report.html and results/failed_patients.json; return the failures.

    Called at the end of every run, successful or not (rule cohort, and Snakemake's onerror), so
    every patient that completed is recorded even when others failed, from one process and one
    host. A record file cut to 0 bytes stops this step with one line (haicgx.record).
    """
    from haicgx.cohort_views import write_cohort_views

    settings = load_settings(config, workdir=Path.cwd(), root=Path(root))
    results = Path("results")
    results.mkdir(exist_ok=True)
    changed = record_patients(settings, patient_ids, results)
    log.info("cohort record %s: %d assignments added or changed", settings.record, changed)
    failures = failed_patients(patient_ids, results, Path("logs"), settings.patients_per_job)
    knowledge = {"biomarkers": settings.biomarkers, "regimens": settings.regimens}
    knowledge["findings"] = settings.findings  # noted for the waitlisted patients' reports
    write_cohort_views(settings.record, results, failures=failures, knowledge_files=knowledge)
    for pid, message in failures.items():
        print(f"haicgx: {pid} failed: {message}", file=sys.stderr)
    completed = len(patient_ids) - len(failures)
    print(
        f"haicgx: {completed} of {len(patient_ids)} patients completed, {len(failures)} failed; "
        f"reports in {results / 'patients'}/, the cohort in {results / 'cohort_report.html'} "
        f"and {results / 'cohort_record.tsv'}",
        file=sys.stderr,
    )
    return failures


def finish_after_error(*, config: dict[str, Any], root: str, patient_ids: list[str]) -> None:
    """`finish_run` for Snakemake's onerror: never raises, so the real error stays visible.

    Then the analysis folders that hold a patient's failure are removed: a failure marker never
    outlives the run that wrote it, so the next run analyses those patients again (a full disk
    freed, a file fixed) instead of publishing the old failure."""
    try:
        finish_run(config=config, root=root, patient_ids=patient_ids)
    except Exception as exc:
        print(
            f"haicgx: could not record the completed patients or write the cohort summary "
            f"after the failure: {exc}",
            file=sys.stderr,
        )
    clear_failures(Path("results") / "work")


def clear_failures(work: Path) -> list[Path]:
    """Remove every analysis job's folder under `work` with a failed patient; return them."""
    cleared = sorted(
        {path.parents[1] for path in work.glob(f"*/*/{OUTCOME}") if not _ok(path.parent)}
    )
    for folder in cleared:
        shutil.rmtree(folder, ignore_errors=True)
    return cleared


def _ok(folder: Path) -> bool:
    outcome = read_outcome(folder)
    return outcome is not None and outcome.ok
