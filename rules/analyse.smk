# Analyse the patients: check, normalise and annotate each VCF, match it against the knowledge
# table, rank the HAIC regimens and write the report. Patients are analysed `patients_per_job` to
# a job (config), so start-up is paid once per job; rule publish then gives each patient its own
# outcome, so one bad input fails that patient alone.


rule analyse:
    input:
        vcfs=batch_vcfs,
        reference=reference_files,
        knowledge=knowledge_files,
        stamps=batch_stamps,
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
    conda:
        "../workflow/envs/haicgx.yaml"
    threads: 1
    resources:
        mem_mb=100,
        runtime=5,
    params:
        script=f"{ROOT}/scripts/publish.sh",
        failed=FAILED,
        error_prefix=ERROR_PREFIX,
    shell:
        "bash {params.script:q} {input.analysed:q}/{wildcards.patient:q} {log:q} "
        "{params.failed:q} {params.error_prefix:q} {output:q}"
