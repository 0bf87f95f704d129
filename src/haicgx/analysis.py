"""One patient's VCF, from the file the sheet names to its recommendation.json.

rules/analyse.smk runs `haicgx.jobs.analyse_job` on a batch of patients; for each one
`haicgx.jobs.analyse_patient` calls `analyse_vcf`, which takes the file through four stages, one
function each, always in this order:

1. `annotate.check_and_plan`: every check of the file, in this process and to its last line; a
   bad file stops here with its one-line `InputError`, before any bcftools step. Then the plan:
   which bcftools steps, and which annotation (the file's own, or a fresh `bcftools csq`).
2. `annotate.stream`: one forked child runs the bcftools steps (view, norm, csq), its last step
   writing into a pipe that this process reads while the child still works; on leaving, the
   child is joined and its error raised.
3. `evaluate.evaluate_records`: each record as it arrives: QC, variants.tsv, the knowledge
   matches, the pharmacogene collector.
4. `evaluate.write_outputs`: the pharmacogene calls, the ranking, matches.tsv and
   recommendation.json, moved into the patient's folder together once all went well.

The one addition: an analysis job's small files (panels) share one csq run
(`group_consequences`), which the job computes before the patients' own analyses. csq reads the
whole GFF3 each time it starts (seconds for a full Ensembl GFF3), far more than it spends on a
panel's few hundred records. A patient with the group's consequences goes through the same four
stages, its stream stopping before csq and each allele's consequences looked up instead. The
group only ever adds consequences: a file that fails in it is left out and analysed on its own,
where its failure is reported for it alone.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

from pysam import bcftools

from haicgx.annotate import BCSQ, AnnotationPlan, check_and_plan, csq_args, produce, stream
from haicgx.errors import HaicgxError
from haicgx.evaluate import evaluate_records, write_outputs
from haicgx.forks import Child
from haicgx.knowledge import KnowledgeBase
from haicgx.settings import Patient, Settings
from haicgx.vcf import fasta_contigs, open_quietly

log = logging.getLogger(__name__)

# BCSQ by allele (CHROM, POS, REF, ALT), from the csq run of an analysis job's group of files.
Consequences = Mapping[tuple[str, int, str, str], Any]


def analyse_vcf(
    *,
    patient: Patient,
    settings: Settings,
    kb: KnowledgeBase,
    cohort: str | None,
    folder: Path,
    consequences: Consequences | None = None,
    timings: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Write variants.tsv, matches.tsv and recommendation.json of one patient into `folder`;
    return the recommendation. `consequences`: the group's csq run covered this patient's file
    (`group_consequences`). `timings`, when given, receives the seconds of each stage."""
    times = timings if timings is not None else {}
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="annotate-", dir=folder) as tmp:
        work = Path(tmp)
        start = time.perf_counter()
        plan = _check_and_plan(patient, settings, work)
        times["check"] = time.perf_counter() - start
        start = time.perf_counter()
        with stream(plan, work, csq=consequences is None) as records:
            evaluation = evaluate_records(
                records,
                plan=plan,
                patient=patient,
                settings=settings,
                kb=kb,
                variants_path=work / "variants.tsv",
                consequences=consequences,
            )
        times["annotate_evaluate"] = time.perf_counter() - start
        start = time.perf_counter()
        recommendation = write_outputs(
            evaluation,
            plan=plan,
            patient=patient,
            settings=settings,
            kb=kb,
            cohort=cohort,
            work=work,
            folder=folder,
        )
        times["outputs"] = time.perf_counter() - start
    return recommendation


def _check_and_plan(patient: Patient, settings: Settings, work: Path) -> AnnotationPlan:
    return check_and_plan(
        patient=patient.patient_id,
        vcf=patient.vcf,
        work=work,
        tumour_sample=patient.tumour_sample,
        normal_sample=patient.normal_sample,
        build=settings.build,
        annotation_mode=settings.annotation,
        fasta=settings.fasta,
        gff3=settings.gff3,
    )


# Files below this size (bytes on disk) share their analysis job's csq run: a panel is a few
# kilobytes, an exome tens of megabytes (whose consequences, held in memory, would be large).
GROUP_FILE_LIMIT = 256 * 1024


def group_consequences(
    patients: list[Patient], settings: Settings, work: Path
) -> dict[str, Consequences]:
    """The consequences of the small files of an analysis job, from one bcftools csq run over the
    union of their normalised alleles, by patient.

    With -l and no samples csq calls each allele on its own, so one run for the group gives every
    patient what a run of its own would. A file that fails its checks or its steps here is left
    out (its own analysis reports the failure); so is every file when the group's run fails.
    Each file's checks and norm run again in its own analysis, so that every file takes one
    path: about 14 ms of CPU for a demo panel (docs/performance.md).
    """
    members: dict[str, tuple[AnnotationPlan, Path]] = {}
    for patient in patients:
        pid = patient.patient_id
        try:
            if not patient.vcf.is_file() or patient.vcf.stat().st_size >= GROUP_FILE_LIMIT:
                continue
            folder = work / pid
            folder.mkdir(parents=True)
            plan = _check_and_plan(patient, settings, folder)
            if plan.source != "csq":
                continue
            normalised = folder / "normalised.bcf"
            produce(plan, folder, str(normalised), with_csq=False)
            members[pid] = (plan, normalised)
        except Exception as exc:  # whatever it is, it is reported by the patient's own analysis
            summary = " ".join(str(exc).split())[:200]
            log.info("%s: left out of the group's csq run (%s)", pid, summary)
    if not members:
        return {}
    shared = _group_csq(list(members.values()), work)
    return {pid: shared for pid in members} if shared is not None else {}


def _group_csq(members: list[tuple[AnnotationPlan, Path]], work: Path) -> Consequences | None:
    """BCSQ by allele for every allele of the members' normalised files; None if csq failed."""
    job, gff3 = members[0][0].job, members[0][0].gff3
    assert job.fasta is not None and gff3 is not None  # csq is planned only with both
    contigs = fasta_contigs(job.fasta)
    order = {name: i for i, name in enumerate(contigs)}
    alleles: set[tuple[str, int, str, str]] = set()
    for _, normalised in members:
        with open_quietly(normalised) as records:
            for record in records:
                if record.alts and record.alts[0] not in ("*", "."):
                    alleles.add((record.chrom, record.pos, record.ref or "", record.alts[0]))
    if any(chrom not in order for chrom, *_ in alleles):
        return None
    sites = work / "group-alleles.vcf"
    with sites.open("w", encoding="utf-8") as out:
        out.write("##fileformat=VCFv4.2\n")
        out.writelines(f"##contig=<ID={name},length={n}>\n" for name, n in contigs.items())
        out.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for chrom, pos, ref, alt in sorted(alleles, key=lambda a: (order[a[0]], *a[1:])):
            out.write(f"{chrom}\t{pos}\t.\t{ref}\t{alt}\t.\t.\t.\n")
    annotated = work / "group-alleles.bcf"
    args = csq_args(job, gff3)
    call = partial(bcftools.csq, *args, "-Ou", "-o", str(annotated), str(sites), catch_stdout=False)
    try:
        Child(call, work / "group-csq.result").wait()  # a child: csq keeps state between runs
    except HaicgxError:
        log.warning("csq over the group's alleles failed: each patient is annotated on its own")
        return None
    consequences: dict[tuple[str, int, str, str], Any] = {}
    with open_quietly(annotated) as records:
        for record in records:
            value = record.info.get(BCSQ)
            if value is not None and record.alts:  # every site written above has its ALT
                consequences[(record.chrom, record.pos, record.ref or "", record.alts[0])] = value
    log.info("csq once for %d patients: %d alleles", len(members), len(alleles))
    return consequences
