"""Adapter for rule report: the tumour-board report (HTML and PDF) of one patient."""

from haicgx.jobs import report_job, run_job

run_job(
    report_job,
    log_path=snakemake.log[0],
    recommendation=snakemake.input.recommendation,
    html=snakemake.output.html,
    pdf=snakemake.output.pdf,
)
