# haicgx: an explained ranking of HAIC regimens from each patient's tumour VCF.
# Entry point only; the stages live in rules/, their logic in src/haicgx/.
from snakemake.utils import min_version

min_version("9.0")


include: "rules/common.smk"
include: "rules/analyse.smk"
include: "rules/record.smk"
include: "rules/endpoints.smk"


rule all:
    default_target: True
    input:
        expand("results/patients/{patient}/report.pdf", patient=PATIENTS),
        "results/cohort_record.tsv",
        "results/cohort_report.html",
        ENDPOINT_FILES,


onerror:
    finish_after_error(config=config, root=ROOT, patient_ids=PATIENTS)
