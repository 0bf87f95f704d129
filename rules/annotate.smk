# Check, normalise (bcftools norm) and annotate (bcftools csq, or the file's own VEP/SnpEff).


rule annotate:
    input:
        vcf=patient_vcf,
        reference=reference_files,
    output:
        bcf=temp("results/work/{patient}/annotated.bcf"),
        meta=temp("results/work/{patient}/annotated.json"),
    log:
        "logs/annotate/{patient}.log",
    benchmark:
        "benchmarks/annotate/{patient}.tsv"
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
        "../scripts/annotate.py"
