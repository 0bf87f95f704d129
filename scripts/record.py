"""Adapter for rule record: add one patient's recommendation to the cohort record."""

from haicgx.jobs import record_job, run_job

run_job(
    record_job,
    log_path=snakemake.log[0],
    config=snakemake.config,
    root=snakemake.params.root,
    recommendation=snakemake.input.recommendation,
    vcf=snakemake.input.vcf,
    out=snakemake.output[0],
)
