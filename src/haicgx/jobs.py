"""The workflow's jobs as plain functions, called by the thin adapters in scripts/.

`load_run` validates everything before any job starts (the Snakefile calls it); each job function
takes keyword arguments from the rule and writes its outputs, and `run_job` turns a failure into
one clear line on stderr and in the job's log instead of a traceback.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from haicgx import __version__
from haicgx.cohorts import Cohorts, cohort_for_site, load_cohorts
from haicgx.errors import HaicgxError
from haicgx.knowledge import KnowledgeBase, load_knowledge
from haicgx.paths import PROJECT_ROOT
from haicgx.settings import Patient, Settings, load_patients, load_settings

log = logging.getLogger(__name__)

ERROR_PREFIX = "HAICGX-ERROR "  # marks the one-line failure message in a job's log


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
    knowledge = load_knowledge(settings.biomarkers, settings.regimens)
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
    handler.stream.write(f"{ERROR_PREFIX}{message}\n")
    handler.flush()
    print(f"haicgx: {message}", file=sys.stderr)
    sys.exit(1)


def _run_from(config: dict[str, Any], root: str) -> tuple[Settings, KnowledgeBase]:
    settings = load_settings(config, workdir=Path.cwd(), root=Path(root))
    return settings, load_knowledge(settings.biomarkers, settings.regimens)


# -- jobs ---------------------------------------------------------------------------------------


def annotate_job(
    *, patient: dict[str, Any], config: dict[str, Any], root: str, bcf: str, meta: str
) -> None:
    """Check, normalise and annotate one patient's VCF."""
    from haicgx.annotate import prepare_vcf
    from haicgx.evaluate import prepared_to_json

    settings = load_settings(config, workdir=Path.cwd(), root=Path(root))
    p = _patient(patient)
    prepared = prepare_vcf(
        patient=p.patient_id,
        vcf=p.vcf,
        out_bcf=Path(bcf),
        tumour_sample=p.tumour_sample,
        build=settings.build,
        annotation_mode=settings.annotation,
        fasta=settings.fasta,
        gff3=settings.gff3,
    )
    Path(meta).write_text(json.dumps(prepared_to_json(prepared), indent=2) + "\n", encoding="utf-8")


def rank_job(
    *,
    patient: dict[str, Any],
    config: dict[str, Any],
    root: str,
    meta: str,
    variants: str,
    matches: str,
    recommendation: str,
) -> None:
    """Match, call pharmacogenes and rank the regimens for one patient."""
    from haicgx.evaluate import evaluate_patient, prepared_from_json

    settings, kb = _run_from(config, root)
    p = _patient(patient)
    cohorts = load_cohorts(settings.cohorts)
    prepared = prepared_from_json(json.loads(Path(meta).read_text(encoding="utf-8")))
    evaluate_patient(
        patient=p,
        prepared=prepared,
        settings=settings,
        kb=kb,
        cohort=cohort_for_site(cohorts, p.primary_site),
        variants_path=Path(variants),
        matches_path=Path(matches),
        recommendation_path=Path(recommendation),
    )


def report_job(*, recommendation: str, html: str, pdf: str) -> None:
    """Write the tumour-board report of one patient (from the files beside recommendation.json)."""
    from haicgx.report import write_patient_report

    write_patient_report(Path(recommendation).parent, html_path=Path(html), pdf_path=Path(pdf))


def record_job(
    *, config: dict[str, Any], root: str, recommendation: str, vcf: str, out: str
) -> None:
    """Add one patient's recommendation to the cohort record (a local job: one host writes)."""
    from haicgx.evaluate import sha256_file
    from haicgx.record import recommendation_digest, record_recommendation

    settings = load_settings(config, workdir=Path.cwd(), root=Path(root))
    data = json.loads(Path(recommendation).read_text(encoding="utf-8"))
    outcome = record_recommendation(
        settings.record,
        recommendation=data,
        vcf_sha256=sha256_file(Path(vcf)),
        recommendation_sha256=recommendation_digest(data),
        knowledge_sha256=data["provenance"]["knowledge_sha256"],
        pipeline_version=__version__,
        cohorts=load_cohorts(settings.cohorts),
    )
    Path(out).write_text(json.dumps(asdict(outcome), indent=2) + "\n", encoding="utf-8")


def failed_patients(patient_ids: list[str], results: Path, logs: Path) -> dict[str, str]:
    """Patients without a recommendation, with the one-line message their job logs hold."""
    failures = {}
    for pid in patient_ids:
        if (results / "patients" / pid / "recommendation.json").exists() and (
            results / "patients" / pid / "report.pdf"
        ).exists():
            continue
        message = "did not complete (see logs/)"
        for stage in ("annotate", "rank", "report", "record"):
            log_file = logs / stage / f"{pid}.log"
            if not log_file.exists():
                continue
            lines = log_file.read_text(encoding="utf-8", errors="replace").splitlines()
            errors = [ln[len(ERROR_PREFIX) :] for ln in lines if ln.startswith(ERROR_PREFIX)]
            if errors:
                message = errors[-1]
        failures[pid] = message
    return failures


def finish_run(*, config: dict[str, Any], root: str, patient_ids: list[str]) -> dict[str, str]:
    """Write results/cohort_record.tsv and results/cohort_report.html; return the failures.

    Called at the end of every run, successful or not, so both exist even when patients failed.
    """
    from haicgx.record import export_tsv
    from haicgx.report import write_cohort_report

    settings = load_settings(config, workdir=Path.cwd(), root=Path(root))
    results = Path("results")
    results.mkdir(exist_ok=True)
    failures = failed_patients(patient_ids, results, Path("logs"))
    if settings.record.exists():
        export_tsv(settings.record, results / "cohort_record.tsv")
    else:
        from haicgx.record import RECORD_EXPORT_COLUMNS

        (results / "cohort_record.tsv").write_text("\t".join(RECORD_EXPORT_COLUMNS) + "\n")
    write_cohort_report(results, html_path=results / "cohort_report.html", failures=failures)
    for pid, message in failures.items():
        print(f"haicgx: {pid} failed: {message}", file=sys.stderr)
    return failures


def finish_after_error(*, config: dict[str, Any], root: str, patient_ids: list[str]) -> None:
    """`finish_run` for Snakemake's onerror: never raises, so the real error stays visible."""
    try:
        finish_run(config=config, root=root, patient_ids=patient_ids)
    except Exception as exc:
        print(
            f"haicgx: could not write the cohort summary after the failure: {exc}", file=sys.stderr
        )
