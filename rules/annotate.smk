# Check, normalise (bcftools norm) and annotate (bcftools csq, or the file's own VEP/SnpEff).


rule annotate:
    input:
        vcf=patient_vcf,
        reference=reference_files,
    output:
        bcf=temp("results/work/{patient}/annotated.bcf"),
        meta=temp("results/work/{patient}/annotated.json"),
    params:
        patient=patient_of,
        root=ROOT,
    log:
        "logs/annotate/{patient}.log",
    benchmark:
        "benchmarks/annotate/{patient}.tsv"
    threads: 1
    resources:
        mem_mb=memory(1000),
        runtime=30,
    script:
        "../scripts/annotate.py"
