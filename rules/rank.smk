# Match the variants, call DPYD and UGT1A1, and rank the HAIC regimens.


rule rank:
    input:
        bcf="results/work/{patient}/annotated.bcf",
        meta="results/work/{patient}/annotated.json",
        knowledge=knowledge_files,
    output:
        variants="results/patients/{patient}/variants.tsv",
        matches="results/patients/{patient}/matches.tsv",
        recommendation="results/patients/{patient}/recommendation.json",
    log:
        "logs/rank/{patient}.log",
    benchmark:
        "benchmarks/rank/{patient}.tsv"
    conda:
        "../workflow/envs/haicgx.yaml"
    threads: 1
    resources:
        mem_mb=memory(1000),
        runtime=30,
    params:
        patient=patient_of,
        root=ROOT,
    script:
        "../scripts/rank.py"
