# The cohort assignment record. Every write runs on the submitting host (localrules), so the
# SQLite file never depends on a network filesystem's locking.


localrules:
    record,
    cohort,


rule record:
    input:
        recommendation="results/patients/{patient}/recommendation.json",
        html="results/patients/{patient}/report.html",
        pdf="results/patients/{patient}/report.pdf",
        vcf=patient_vcf,
    output:
        "results/record/{patient}.json",
    log:
        "logs/record/{patient}.log",
    conda:
        "../workflow/envs/haicgx.yaml"
    threads: 1
    resources:
        mem_mb=300,
        runtime=5,
    params:
        root=ROOT,
    script:
        "../scripts/record.py"


rule cohort:
    input:
        expand("results/record/{patient}.json", patient=PATIENTS),
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
