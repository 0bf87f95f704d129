"""Adapter for rule report: the tumour-board report (HTML and PDF) of one patient."""

from haicgx.jobs import report_job, run_job

run_job(
    report_job,
    log_path=snakemake.log[0],
    patient_dir=snakemake.params.patient_dir,
    html=snakemake.output.html,
    pdf=snakemake.output.pdf,
)
