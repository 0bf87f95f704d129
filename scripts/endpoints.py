"""Adapter for rule endpoints: the trial endpoints from the SDTM follow-up (docs/endpoints.md)."""

from pathlib import Path

from haicgx.endpoints.run import endpoints_job
from haicgx.jobs import run_job

run_job(
    endpoints_job,
    log_path=snakemake.log[0],
    sdtm=snakemake.params.sdtm,
    out_dir=str(Path(snakemake.output.adrs).parent),
    record=snakemake.params.record,
    chosen=snakemake.params.chosen,
    options=snakemake.params.options,
)
