# The cohort assignment record: rule cohort records every patient from one process on the
# submitting host (localrules), so the SQLite file never depends on a network filesystem's
# locking; when patients fail, the Snakefile's onerror does the same for those that completed.
# Rule publish is local too: it only copies files.


localrules:
    publish,
    cohort,


rule cohort:
    input:
        expand("results/patients/{patient}/recommendation.json", patient=PATIENTS),
    output:
        record=report(
            "results/cohort_record.tsv",
            caption="../workflow/report/cohort_record.rst",
            category="Cohort",
        ),
        html=report(
            "results/cohort_report.html",
            caption="../workflow/report/cohort_report.rst",
            category="Cohort",
        ),
    log:
        "logs/cohort.log",
    benchmark:
        "benchmarks/cohort.tsv"
    conda:
        "../workflow/envs/haicgx.yaml"
    threads: 1
    resources:
        mem_mb=300,
        runtime=5,
    params:
        root=ROOT,
        patients=PATIENTS,
    script:
        "../scripts/cohort.py"
