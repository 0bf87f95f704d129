"""Adapter for rule analyse: annotate, rank and report a group of patients in one process."""

from haicgx.jobs import analyse_job, run_job

run_job(
    analyse_job,
    log_path=snakemake.log[0],
    patients=snakemake.params.patients,
    config=snakemake.config,
    root=snakemake.params.root,
    out_dir=snakemake.output[0],
)
