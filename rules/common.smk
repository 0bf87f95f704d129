# Configuration, patient sheet and knowledge, validated before any job; input functions.
import sys
from pathlib import Path

# The package is importable from the source tree even when haicgx is not installed; so is it in
# rule publish's Python, the interpreter running Snakemake.
SOURCE = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SOURCE)
PYTHON = sys.executable

from haicgx.endpoints.run import OUTPUT_FILES, workflow_endpoints
from haicgx.currency import (
    RUN_LOCK,
    STAMPS,
    batch_stamp_path,
    hold_run_lock,
    left_over,
    stamp_path,
    write_batch_stamps,
    write_stamps,
)
from haicgx.errors import ConfigError, HaicgxError
from haicgx.jobs import finish_after_error, load_run, patient_params
from haicgx.settings import (
    BATCH_PATTERN,
    analysis_batches,
    check_config_files,
    locate_config_error,
    patient_id_pattern,
)

ROOT = str(Path(workflow.basedir))

CONFIG_FILES = ", ".join(str(f) for f in workflow.configfiles) or "config"

# Each config file on its own first (file, line and key), then the merged config, the sheet, the
# knowledge and the cohorts. A YAML syntax error never gets here: Snakemake reads --configfile
# files itself and stops with its own message (config/README.md).
try:
    check_config_files(workflow.configfiles)
    RUN = load_run(config, workdir=Path.cwd(), root=Path(ROOT), source=CONFIG_FILES)
except ConfigError as error:
    sys.exit(f"haicgx: {locate_config_error(error, workflow.configfiles)}")
except HaicgxError as error:
    sys.exit(f"haicgx: {error}")

# The trial endpoints (rules/endpoints.smk) only when the config names the SDTM follow-up; its
# domain files are found now, so an ambiguous folder stops the run before any job.
ENDPOINTS = None
ENDPOINT_FILES = []
if config.get("endpoints"):
    try:
        ENDPOINTS = workflow_endpoints(
            config["endpoints"],
            record=RUN.settings.record,
            cwd=Path.cwd(),
            root=Path(ROOT),
        )
    except HaicgxError as error:
        sys.exit(f"haicgx: {error}")
    ENDPOINT_FILES = [f"results/endpoints/{name}" for name in OUTPUT_FILES]

PATIENTS = list(RUN.patients)
SETTINGS = RUN.settings
BATCHES = analysis_batches(PATIENTS, SETTINGS.patients_per_job)
BATCH_OF = {pid: batch for batch, ids in BATCHES.items() for pid in ids}

# Each patient's input stamp (haicgx.currency), rewritten before any job when its inputs change
# or an earlier run left its analysis folder: an input of rule publish, and through its analysis
# job's stamp of rule analyse, so a rerun redoes whatever a failed or killed job owed. Only in
# the run's main process, which holds the folder's run lock first: a second run started in the
# same folder at the same moment stops here, before it can touch the first one's stamps or
# analysis folders. A cluster job reads this file again while the run's own folders exist.
if workflow.is_main_process:
    try:
        if hold_run_lock():
            write_stamps(
                (patient_params(p) for p in RUN.patients.values()),
                RUN.settings,
                redo=left_over(STAMPS.parent, BATCHES),
            )
            write_batch_stamps(BATCHES)
        else:
            # A dry run too: the parse cannot tell one, and the plan changes under a live run.
            sys.exit(
                f"haicgx: another run is working in {Path.cwd()} (it holds {RUN_LOCK});"
                " wait for it to end"
            )
    except OSError as error:
        sys.exit(f"haicgx: cannot write the input stamps in {STAMPS}: {error}")


# Patterns, not the list of every patient: Snakemake copies a constraint into each file pattern
# and scans that pattern for every job, so a list made the scheduling grow with the square of
# the cohort (docs/performance.md, 2026-12-06).
wildcard_constraints:
    patient=patient_id_pattern(),
    batch=BATCH_PATTERN,


def batch_patients(wildcards):
    """The patients of one analysis job, as plain values for its params."""
    return [patient_params(RUN.patients[pid]) for pid in BATCHES[wildcards.batch]]


def batch_stamp(wildcards):
    """The job's stamp: its patients' stamps, which hold their VCFs' sha256 (so a VCF whose
    path has a brace, which Snakemake would read as a wildcard, needs no input of its own).
    """
    return str(batch_stamp_path(wildcards.batch))


def patient_stamp(wildcards):
    return str(stamp_path(wildcards.patient))


def batch_folder(wildcards):
    return f"results/work/{BATCH_OF[wildcards.patient]}"


def batch_runtime(wildcards, attempt):
    """Minutes for one analysis job: a WGS-size patient takes about 3 (docs/performance.md)."""
    return (10 + 5 * len(BATCHES[wildcards.batch])) * attempt


def reference_files(wildcards):
    """The reference files a csq run reads, so that changing them reruns annotation."""
    files = [SETTINGS.fasta, SETTINGS.gff3]
    return [str(f) for f in files if f is not None]


def knowledge_files(wildcards):
    return [str(SETTINGS.biomarkers), str(SETTINGS.regimens), str(SETTINGS.cohorts)]


def memory(base_mb):
    """mem_mb that grows with each retry of a job."""

    def mem_mb(wildcards, attempt):
        return base_mb * attempt

    return mem_mb


def sdtm_folder(wildcards):
    """The SDTM folder, where the domain files not chosen by hand are found."""
    return str(ENDPOINTS.sdtm)
