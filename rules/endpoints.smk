# The trial endpoints (docs/endpoints.md): RECIST 1.1 responses, PFS, OS and adverse events per
# cohort and regimen from the SDTM follow-up named by the config's `endpoints.sdtm`. Only when
# that key is set does `rule all` ask for them. Joined through the cohort record, the job runs
# after rule cohort has recorded the run's patients.
from dataclasses import asdict

if ENDPOINTS:

    rule endpoints:
        input:
            sdtm=[str(path) for path in ENDPOINTS.files],
            record="results/cohort_record.tsv" if ENDPOINTS.record else [],
        output:
            adrs="results/endpoints/adrs.tsv",
            adtte="results/endpoints/adtte.tsv",
            adae="results/endpoints/adae.tsv",
            summary="results/endpoints/endpoints.json",
            html=report(
                "results/endpoints/endpoints.html",
                caption="../workflow/report/endpoints_report.rst",
                category="Endpoints",
            ),
        log:
            "logs/endpoints.log",
        conda:
            "../workflow/envs/haicgx.yaml"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=15,
        params:
            sdtm=sdtm_folder,
            record=str(ENDPOINTS.record) if ENDPOINTS.record else None,
            chosen=ENDPOINTS.chosen,
            options=asdict(ENDPOINTS.options),
        script:
            "../scripts/endpoints.py"
