# The tumour-board report of each patient (HTML and PDF).


rule report:
    input:
        variants="results/patients/{patient}/variants.tsv",
        matches="results/patients/{patient}/matches.tsv",
        recommendation="results/patients/{patient}/recommendation.json",
    output:
        html=report(
            "results/patients/{patient}/report.html",
            caption="../workflow/report/patient_report.rst",
            category="Patients",
            labels={"patient": "{patient}", "file": "HTML report"},
        ),
        pdf=report(
            "results/patients/{patient}/report.pdf",
            caption="../workflow/report/patient_report.rst",
            category="Patients",
            labels={"patient": "{patient}", "file": "PDF report"},
        ),
    log:
        "logs/report/{patient}.log",
    benchmark:
        "benchmarks/report/{patient}.tsv"
    conda:
        "../workflow/envs/haicgx.yaml"
    threads: 1
    resources:
        mem_mb=memory(1000),
        runtime=20,
    script:
        "../scripts/report.py"
