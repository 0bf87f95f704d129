"""Adapter for rule annotate: check, normalise and annotate one patient's VCF."""

from haicgx.jobs import annotate_job, run_job

run_job(
    annotate_job,
    log_path=snakemake.log[0],
    patient=snakemake.params.patient,
    config=snakemake.config,
    root=snakemake.params.root,
    bcf=snakemake.output.bcf,
    meta=snakemake.output.meta,
)
