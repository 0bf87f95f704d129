# Analyse the patients: check, normalise and annotate each VCF, match it against the knowledge
# table, rank the HAIC regimens and write the report. The path of one VCF: scripts/analyse.py ->
# haicgx.jobs.analyse_job -> haicgx.analysis.analyse_vcf, whose docstring names its four stages,
# then haicgx.report.write_patient_report. Patients are analysed `patients_per_job` to
# a job (config), so start-up is paid once per job. The job writes each patient's outcome.json
# (haicgx.outcome); rule publish reads it and publishes that patient's outputs or fails that
# patient alone, so one bad input fails only its own patient.


rule analyse:
    input:
        # The VCFs through the patients' stamps (their sha256), not one by one: the scheduler
        # looks up every input of every ready job in each round (haicgx.currency).
        stamp=batch_stamp,
        reference=reference_files,
        knowledge=knowledge_files,
    output:
        temp(directory("results/work/{batch}")),
    log:
        "logs/analyse/{batch}.log",
    benchmark:
        "benchmarks/analyse/{batch}.tsv"
    conda:
        "../workflow/envs/haicgx.yaml"
    threads: 1
    resources:
        mem_mb=memory(1500),
        runtime=batch_runtime,
    params:
        patients=batch_patients,
        root=ROOT,
    script:
        "../scripts/analyse.py"


rule publish:
    # A shell command, not a run: block, which Snakemake would run in a new Snakemake process
    # parsing the whole Snakefile again for each patient (haicgx/outcome.py).
    input:
        analysed=batch_folder,
        stamp=patient_stamp,
    output:
        variants="results/patients/{patient}/variants.tsv",
        matches="results/patients/{patient}/matches.tsv",
        recommendation="results/patients/{patient}/recommendation.json",
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
        "logs/publish/{patient}.log",
    # Before any analysis job waiting: each job's patients are out as soon as it ends, and the
    # scheduler, whose every round costs in the number of ready jobs, never holds thousands.
    priority: 10
    conda:
        "../workflow/envs/haicgx.yaml"
    threads: 1
    resources:
        mem_mb=100,
        runtime=5,
    params:
        # Snakemake's own interpreter and the package beside this file: the module needs only
        # the standard library, so this holds in a conda environment too.
        python=PYTHON,
        src=SOURCE,
    shell:
        "PYTHONPATH={params.src:q} {params.python:q} -m haicgx.outcome"
        " {input.analysed:q}/{wildcards.patient} {log:q} {output:q}"
