"""One patient's VCF checked, normalised, annotated and evaluated, the cheapest way for its size.

A large file (exome, genome): run one after the other, the steps leave one of the two cores idle
(the Python checks of every line, then bcftools, then the Python evaluation of every record), so
three processes share the work (`analyse_vcf`):

- a child runs the full checks (`inspect_vcf`) and hands back the file's facts or its problem;
- a child runs the bcftools steps on the facts the header gives (`inspect_header`), its last step
  writing uncompressed BCF into a pipe;
- this process reads the pipe as records arrive and evaluates them (`evaluate_patient`).

Nothing is written unless all three succeed. Errors keep the order of the sequential path: a
problem the checks find comes first, then a bcftools failure, then anything else. When the full
facts ask for more than the header said (undeclared keys to declare, off-reference contigs to
leave out), the patient is run again the sequential way with the full facts; so is a file whose
header alone cannot stand in for them.

A small file (a panel) is checked, normalised and evaluated one step after the other in this
process, where a fork would cost more than the overlap saves; an analysis job's small files share
one csq run (`prepare_group`)."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import pysam
from pysam import bcftools

from haicgx.annotate import (
    BCSQ,
    AnnotationPlan,
    PreparedVcf,
    annotation_plan,
    csq_alone,
    csq_args,
    inspect_input,
    log_facts,
    pipes_by_path,
    prepared_warnings,
    produce,
    readable_copy,
)
from haicgx.errors import HaicgxError, InputError
from haicgx.evaluate import evaluate_patient
from haicgx.forks import Child
from haicgx.knowledge import KnowledgeBase
from haicgx.settings import Patient, Settings
from haicgx.transcripts import TranscriptIndex
from haicgx.vcf import VcfFacts, fasta_contigs, inspect_header, open_quietly, same_plan

log = logging.getLogger(__name__)


def analyse_vcf(
    *,
    patient: Patient,
    settings: Settings,
    kb: KnowledgeBase,
    cohort: str | None,
    folder: Path,
    prepared: PreparedVcf | None = None,
) -> dict[str, Any]:
    """Write variants.tsv, matches.tsv and recommendation.json of one patient into `folder`;
    return the recommendation. `prepared`: the file was already checked and annotated (as
    `prepare_group` does for small files)."""
    outputs = {
        "patient": patient,
        "settings": settings,
        "kb": kb,
        "cohort": cohort,
        "variants_path": folder / "variants.tsv",
        "matches_path": folder / "matches.tsv",
        "recommendation_path": folder / "recommendation.json",
    }
    folder.mkdir(parents=True, exist_ok=True)
    if prepared is not None:
        return evaluate_patient(prepared=prepared, **outputs)
    with tempfile.TemporaryDirectory(prefix="annotate-", dir=folder) as tmp:
        work = Path(tmp)
        readable = readable_copy(patient.patient_id, patient.vcf, work)
        if _size(readable) < SMALL_FILE:  # a panel: forks would cost more than they save
            return _sequential(patient, settings, work, readable, outputs, streamed=False)
        plan = _header_plan(patient, settings, readable) if pipes_by_path() else None
        if plan is None:
            return _sequential(patient, settings, work, readable, outputs)
        return _overlapped(patient, settings, work, readable, plan, outputs)


# Below this size (bytes on disk) a VCF is analysed one step after the other, in this process:
# a 300-record panel takes about 50 ms, and each forked process costs some of that again.
SMALL_FILE = 256 * 1024


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # the checks name the problem (file not found...)


def prepare_group(
    patients: list[Patient], settings: Settings, work: Path
) -> dict[str, PreparedVcf | HaicgxError]:
    """Check and normalise the small files of an analysis job, then call their consequences in
    one bcftools csq run over the union of their alleles.

    csq reads the whole GFF3 each time it starts (about 20 ms for the benchmark's 2,000
    transcripts, seconds for a full Ensembl GFF3), far more than it spends on a panel's few hundred
    records; with -l and no samples it calls each allele on its own, so one run for the group gives
    every patient what a run of its own would. Returns, by patient, the prepared file or the
    patient's error; large files are left to `analyse_vcf`. When the group's csq run fails, each
    patient's file is annotated on its own, so that the failure is reported for its patient only.
    """
    prepared: dict[str, PreparedVcf | HaicgxError] = {}
    pending: dict[str, tuple[AnnotationPlan, Path]] = {}
    for patient in patients:
        pid = patient.patient_id
        folder = work / pid
        folder.mkdir(parents=True, exist_ok=True)
        if _size(patient.vcf) >= SMALL_FILE:
            continue  # left to `analyse_vcf`
        try:
            readable = readable_copy(pid, patient.vcf, folder)
            if _size(readable) >= SMALL_FILE:
                continue
            plan = _checked_plan(patient, settings, readable)
            if plan.source == "csq":
                pending[pid] = (plan, produce(plan, folder, streamed=False, with_csq=False))
            else:
                prepared[pid] = plan.prepared(produce(plan, folder, streamed=False))
        except HaicgxError as exc:
            prepared[pid] = exc
        except Exception as exc:  # whatever it is, it stays this patient's
            log.error("%s: internal error while preparing %s", pid, patient.vcf, exc_info=True)
            prepared[pid] = HaicgxError(
                f"patient {pid}: internal error while reading {patient.vcf} "
                f"({type(exc).__name__}: {str(exc)[:200]}); details in the analysis job's log"
            )
    if not pending:
        return prepared
    shared = _group_csq(list(pending.values()), work)
    for pid, (plan, normalised) in pending.items():
        if shared is not None:
            prepared[pid] = plan.prepared(normalised, consequences=shared)
            continue
        try:  # on its own: the failure, if it is this patient's, is reported for it alone
            prepared[pid] = plan.prepared(csq_alone(plan, normalised))
        except HaicgxError as exc:
            prepared[pid] = exc
    return prepared


def _group_csq(
    members: list[tuple[AnnotationPlan, Path]], work: Path
) -> dict[tuple[str, int, str, str], Any] | None:
    """BCSQ by allele for every allele of the members' normalised files; None if csq failed."""
    job = members[0][0].job
    contigs = fasta_contigs(job.fasta)  # type: ignore[arg-type]
    order = {name: i for i, name in enumerate(contigs)}
    alleles: set[tuple[str, int, str, str]] = set()
    for _, normalised in members:
        with open_quietly(normalised) as records:
            for record in records:
                if record.alts and record.alts[0] not in ("*", "."):
                    alleles.add((record.chrom, record.pos, record.ref, record.alts[0]))
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
    args = csq_args(job, members[0][0].gff3)  # type: ignore[arg-type]
    call = partial(bcftools.csq, *args, "-Ou", "-o", str(annotated), str(sites), catch_stdout=False)
    try:
        Child(call, work / "group-csq.result").wait()
    except HaicgxError:
        log.warning("csq over the group's alleles failed: each patient is annotated on its own")
        return None
    consequences = {}
    with open_quietly(annotated) as records:
        for record in records:
            value = record.info.get(BCSQ)
            if value is not None:
                consequences[(record.chrom, record.pos, record.ref, record.alts[0])] = value
    log.info("csq once for %d patients: %d alleles", len(members), len(alleles))
    return consequences


def _overlapped(
    patient: Patient,
    settings: Settings,
    work: Path,
    readable: Path,
    plan: AnnotationPlan,
    outputs: dict[str, Any],
) -> dict[str, Any]:
    read_end, write_end = os.pipe()
    stream = Child(
        lambda: produce(plan, work / "stream", target_fd=write_end),
        work / "stream.pickle",
        close_fds=[read_end],  # else its writers would block once this process stopped reading
        new_group=True,
    )
    os.close(write_end)
    if settings.gff3 and plan.source == "csq":
        TranscriptIndex.for_gff3(settings.gff3)  # built while bcftools works, not after
    # The checks are wanted only at the end: they run at a lower priority, so that the records
    # arriving from bcftools are evaluated first.
    scan = Child(
        lambda: _checks_then_stop(patient, settings, readable, stream.pid),
        work / "facts.pickle",
        close_fds=[read_end],
        nice=10,
    )
    facts: list[VcfFacts] = []  # the full checks' facts, once they are in
    settled: list[bool] = []

    def checked_facts() -> VcfFacts:
        """The full checks' facts (their InputError first); _Replan when bcftools ran on facts
        that were not the file's (its failure then says nothing about the file)."""
        if not facts:
            facts.append(scan.wait())
        if not same_plan(plan.facts, facts[0]):
            raise _Replan
        return facts[0]

    def settle() -> None:
        found = checked_facts()
        stream.wait()
        log_facts(patient.patient_id, found)
        prepared.facts = found
        prepared.warnings = prepared_warnings(found, settings.fasta, plan.source, plan.mode)
        settled.append(True)

    prepared = plan.prepared(Path(f"/dev/fd/{read_end}"), settle=settle)
    # A stream cut short (bcftools stopped by a failed check) is reported by the checks; htslib's
    # own complaints about it would only be noise on stderr.
    verbosity = pysam.set_verbosity(0)
    try:
        try:
            return evaluate_patient(prepared=prepared, **outputs)
        except (OSError, ValueError):
            if settled:  # after the records were read: not a problem of the input
                raise
            # Reading the pipe failed: when the checks or bcftools failed, theirs is the message.
            os.close(read_end)
            read_end = -1
            checked_facts()
            stream.wait()
            raise
    except _Replan:
        log.info(
            "%s: the records need more than the header declares; annotating again with the "
            "full checks' facts",
            patient.patient_id,
        )
        stream.stop()
        return _sequential(patient, settings, work / "again", readable, outputs, facts[0])
    finally:
        pysam.set_verbosity(verbosity)
        if read_end >= 0:
            os.close(read_end)
        scan.stop()
        stream.stop()


class _Replan(Exception):
    """The full facts differ from the header's: bcftools must run again on them."""


def _header_plan(patient: Patient, settings: Settings, readable: Path) -> AnnotationPlan | None:
    """The plan the header alone gives, or None when it cannot stand in for the full checks."""
    try:
        guess = inspect_header(
            patient.patient_id,
            readable,
            tumour_sample=patient.tumour_sample,
            normal_sample=patient.normal_sample,
            build=settings.build,
            fasta=settings.fasta,
        )
        if guess is None:
            return None
        return _plan(patient, settings, readable, guess)
    except Exception:  # whatever it is, the full checks run first and name it
        return None


def _checked_plan(
    patient: Patient, settings: Settings, readable: Path, facts: VcfFacts | None = None
) -> AnnotationPlan:
    """The plan on the full checks' facts (run here unless given), which are logged."""
    if facts is None:
        facts = _full_facts(patient, settings, readable)
    log_facts(patient.patient_id, facts)
    return _plan(patient, settings, readable, facts)


def _plan(patient: Patient, settings: Settings, readable: Path, facts: VcfFacts) -> AnnotationPlan:
    return annotation_plan(
        patient=patient.patient_id,
        vcf=patient.vcf,
        readable=readable,
        facts=facts,
        build=settings.build,
        annotation_mode=settings.annotation,
        fasta=settings.fasta,
        gff3=settings.gff3,
    )


def _checks_then_stop(
    patient: Patient, settings: Settings, readable: Path, stream_pid: int | None
) -> VcfFacts:
    """The full checks; when they fail, bcftools is stopped at once (a bad WGS file would
    otherwise be annotated and evaluated to its end before its problem is reported)."""
    try:
        return _full_facts(patient, settings, readable)
    except InputError:
        if stream_pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(stream_pid, signal.SIGKILL)
        raise


def _full_facts(patient: Patient, settings: Settings, readable: Path) -> VcfFacts:
    return inspect_input(
        patient.patient_id,
        patient.vcf,
        readable,
        patient.tumour_sample,
        settings.build,
        settings.fasta,
        patient.normal_sample,
    )


def _sequential(
    patient: Patient,
    settings: Settings,
    work: Path,
    readable: Path,
    outputs: dict[str, Any],
    facts: VcfFacts | None = None,
    *,
    streamed: bool = True,
) -> dict[str, Any]:
    """The checks, then bcftools, then the evaluation, as `prepare_vcf` and `evaluate_patient`
    run them (`streamed`: the bcftools steps themselves still run at once)."""
    work.mkdir(parents=True, exist_ok=True)
    plan = _checked_plan(patient, settings, readable, facts)
    annotated = produce(plan, work, streamed=streamed)
    return evaluate_patient(prepared=plan.prepared(annotated), **outputs)
