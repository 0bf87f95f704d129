"""Adapter for rule rank: match, call pharmacogenes and rank the regimens of one patient."""

from haicgx.jobs import rank_job, run_job

run_job(
    rank_job,
    log_path=snakemake.log[0],
    patient=snakemake.params.patient,
    config=snakemake.config,
    root=snakemake.params.root,
    meta=snakemake.input.meta,
    variants=snakemake.output.variants,
    matches=snakemake.output.matches,
    recommendation=snakemake.output.recommendation,
)
