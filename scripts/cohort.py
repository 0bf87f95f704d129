"""Adapter for rule cohort: the cohort record TSV and the cohort report."""

from haicgx.jobs import finish_run, run_job

run_job(
    finish_run,
    log_path=snakemake.log[0],
    config=snakemake.config,
    root=snakemake.params.root,
    patient_ids=snakemake.params.patients,
)
