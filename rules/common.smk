# Configuration, patient sheet and knowledge, validated before any job; input functions.
import re
import sys
from pathlib import Path

# The package is importable from the source tree even when haicgx is not installed.
sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from haicgx.errors import HaicgxError
from haicgx.jobs import finish_after_error, load_run, patient_params

ROOT = str(Path(workflow.basedir))

CONFIG_FILES = ", ".join(str(f) for f in workflow.configfiles) or "config"

try:
    RUN = load_run(config, workdir=Path.cwd(), root=Path(ROOT), source=CONFIG_FILES)
except HaicgxError as error:
    sys.exit(f"haicgx: {error}")

PATIENTS = list(RUN.patients)
SETTINGS = RUN.settings


wildcard_constraints:
    patient="|".join(re.escape(p) for p in PATIENTS),


def patient_vcf(wildcards):
    return str(RUN.patients[wildcards.patient].vcf)


def patient_of(wildcards):
    return patient_params(RUN.patients[wildcards.patient])


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
