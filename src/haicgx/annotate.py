"""Normalisation (bcftools norm) and consequence calling (bcftools csq), through pysam's bcftools.

The steps that turn a patient's raw VCF into a normalised, single-sample, annotated BCF (`produce`):
`bcftools annotate` (declarations the header lacks; contig names that differ from the reference's
by a `chr` prefix), `bcftools view -S` (the tumour sample, when the file has other samples;
records on non-primary contigs the reference lacks are left out), `bcftools norm` (split
multi-allelic records; with a reference, also left-align, trim and check REF), a trimming pass in
Python when there is no reference, and `bcftools csq` when the annotation mode asks for it. The
steps run at once in forked children joined by pipes, or one after the other for a small file;
either way they stream, so memory stays flat in the size of the VCF. A plain-gzip input is first
decompressed to a temporary text copy. haicgx.analysis decides how each patient's file goes."""

from __future__ import annotations

import gzip
import logging
import os
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pysam
from pysam import bcftools

from haicgx.errors import HaicgxError, InputError
from haicgx.forks import Child
from haicgx.knowledge import normalise_chrom, trim_allele
from haicgx.vcf import (
    PRIMARY_CHROMOSOMES,
    VcfFacts,
    fasta_contigs,
    inspect_vcf,
    open_quietly,
    sniff_format,
)

log = logging.getLogger(__name__)

BCSQ = "BCSQ"
# bcftools norm --old-rec-tag: each record that norm (or the trimming pass) changed keeps the
# record as written in the input, `CHROM|POS|REF|ALT,ALT|ALT_INDEX` when split, `CHROM|POS|REF|ALT`
# when only re-spelled. Annotations made before haicgx (VEP, SnpEff, BCSQ) name alleles in the
# input's spelling; this tag lets a split record find its own.
ORIGINAL_RECORD = "HAICGX_ORIGINAL"


@dataclass
class PreparedVcf:
    """The annotated single-sample BCF and what was learned on the way."""

    path: Path
    annotation: str  # csq, vep, snpeff, bcsq, none
    annotation_key: str | None  # the INFO key holding consequences
    ref_checked: bool
    facts: VcfFacts
    warnings: list[str] = field(default_factory=list)
    # When the BCF is still being written while it is read (haicgx.analysis), the reader calls
    # this after the last record: it waits for the writer and the checks and raises their errors.
    settle: Callable[[], None] | None = None
    # When csq ran once for a group of patients (haicgx.analysis.prepare_group): its BCSQ by
    # allele (CHROM, POS, REF, ALT), in place of an INFO field of the records.
    consequences: Mapping[tuple[str, int, str, str], Any] | None = None


def detect_annotation(header: pysam.VariantHeader) -> tuple[str, str] | None:
    """The consequence annotation a file already carries: (source, INFO key), else None.

    VEP writes its fields' names into the Description (under the key CSQ, or ANN when asked);
    SnpEff's ANN Description names 'Annotation_Impact'; bcftools csq writes BCSQ.
    """
    info = header.info
    for key in ("CSQ", "ANN"):
        if key in info:
            description = info[key].description or ""
            if "Annotation_Impact" in description:
                return "snpeff", key
            if "Format:" in description:
                return "vep", key
    if BCSQ in info:
        return "bcsq", BCSQ
    return None


@dataclass(frozen=True)
class _Job:
    """Names used in messages: failures speak of the patient's file, not of temporary copies."""

    patient: str
    vcf: Path  # the file as the sheet names it
    readable: Path  # what the tools read (a text copy of a plain-gzip file)
    renamed: dict[str, str]  # file contig -> reference contig
    build: str
    fasta: Path | None
    build_confirmed: bool


@contextmanager
def _htslib_log() -> Iterator[list[str]]:
    """Collect what htslib writes to the process's stderr (fd 2) while the block runs.

    bcftools' own error message is often just "VCF parse error"; htslib's `[E::...]` line before
    it names the field and the record. The lines are available once the block has ended.
    """
    lines: list[str] = []
    with tempfile.TemporaryFile() as sink:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines += sink.read(1 << 20).decode("utf-8", "replace").splitlines()


def _bcftools(job: _Job, tool: str, *args: str) -> None:
    """Run one bcftools sub-command; its failure becomes one line naming the record if it can.

    htslib's warnings (undeclared tags, missing index...) go to the job's log, once each.
    """
    failure = None
    with _htslib_log() as htslib:
        try:
            getattr(bcftools, tool)(*args, catch_stdout=False)
        except pysam.utils.SamtoolsError as exc:
            failure = str(exc)
    _log_warnings(tool, htslib)
    if failure is not None:
        raise _as_input_error(job, tool, failure, htslib)


def _log_warnings(tool: str, lines: list[str]) -> None:
    for line in list(dict.fromkeys(lines))[:20]:
        log.warning("bcftools %s: %s", tool, line)


_MISMATCH = re.compile(
    r"Reference allele mismatch at (\S+?):(\d+) \.\. REF_SEQ:'(\w*)' vs VCF:'(\w*)'"
)
_AT = re.compile(r"(?:at|position) (\S+?):(\d+)")


def _as_input_error(job: _Job, tool: str, message: str, htslib: list[str]) -> InputError:
    back = {new: old for old, new in job.renamed.items()}  # name records as the file does
    if m := _MISMATCH.search(message):
        return _ref_mismatch(job, m, back)
    errors = [re.sub(r"^\[E::\w+\] ?", "", ln) for ln in htslib if ln.startswith("[E::")]
    detail = errors[0] if errors else _bcftools_says(message)
    detail = detail.replace(str(job.readable), str(job.vcf))
    at = _AT.search(detail)
    if at:
        detail = detail.replace(at[0], "").replace("  ", " ").strip()
    return InputError(
        job.patient,
        str(job.vcf),
        f"bcftools {tool} failed: {detail[:300]}",
        record=f"{back.get(at[1], at[1])}:{at[2]}" if at else None,
    )


def _bcftools_says(message: str) -> str:
    """bcftools' own words in pysam's `... returned with error N: stdout=..., stderr=...`."""
    m = re.search(r"stderr=(.*)", message, re.DOTALL)
    text = (m[1] if m else message).replace("\\n", "\n").strip().strip("'\"")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.lower().startswith(("error", "[e::"))]
    return (errors or lines or [message])[0]


def _ref_mismatch(job: _Job, m: re.Match, back: dict[str, str]) -> InputError:
    reference = job.fasta.name if job.fasta else "the reference"
    record = f"{back.get(m[1], m[1])}:{m[2]}"
    if not m[3]:
        return InputError(
            job.patient,
            str(job.vcf),
            f"POS lies beyond the end of contig {m[1]} in {reference}",
            record=record,
        )
    if len(m[3]) < len(m[4]) and m[4].startswith(m[3]):
        return InputError(
            job.patient,
            str(job.vcf),
            f"REF {m[4]} runs past the end of contig {m[1]} in {reference} "
            f"({len(m[3])} bases left)",
            record=record,
        )
    if job.build_confirmed:
        hint = "wrong reference FASTA, or a file from another build?"
    else:
        hint = (
            f"the file has no contig lengths to confirm its build: is it not {job.build} "
            "(e.g. GRCh37 coordinates under a GRCh38 reference)?"
        )
    return InputError(
        job.patient,
        str(job.vcf),
        f"REF {m[4]} disagrees with the {job.build} reference {reference}, which has {m[3]} "
        f"there; {hint}",
        record=record,
    )


def prepare_vcf(
    *,
    patient: str,
    vcf: Path,
    out_bcf: Path,
    tumour_sample: str | None,
    build: str,
    annotation_mode: str,
    fasta: Path | None,
    gff3: Path | None,
    normal_sample: str | None = None,
) -> PreparedVcf:
    """Check, subset, normalise and annotate one patient's VCF into `out_bcf`.

    Nothing is written to `out_bcf` unless every step succeeds.
    """
    out_bcf.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"haicgx-{patient}-", dir=out_bcf.parent) as tmp:
        work = Path(tmp)
        readable = readable_copy(patient, vcf, work)
        facts = inspect_input(patient, vcf, readable, tumour_sample, build, fasta, normal_sample)
        log_facts(patient, facts)
        plan = annotation_plan(
            patient=patient,
            vcf=vcf,
            readable=readable,
            facts=facts,
            build=build,
            annotation_mode=annotation_mode,
            fasta=fasta,
            gff3=gff3,
        )
        shutil.move(str(produce(plan, work)), out_bcf)
    return plan.prepared(out_bcf)


def log_facts(patient: str, facts: VcfFacts) -> None:
    log.info(
        "%s: %d records, tumour sample %s; %s",
        patient,
        facts.records_read,
        facts.tumour_sample,
        facts.build_check,
    )


@dataclass(frozen=True)
class AnnotationPlan:
    """What the bcftools steps need: the file, the facts its checks gave, the annotation to use."""

    job: _Job
    facts: VcfFacts
    source: str  # csq, vep, snpeff, bcsq, none
    key: str | None
    gff3: Path | None
    mode: str | None = None  # the configured annotation mode (auto, csq, vep, snpeff, none)

    def prepared(
        self,
        path: Path,
        settle: Callable[[], None] | None = None,
        consequences: Mapping[tuple[str, int, str, str], Any] | None = None,
    ) -> PreparedVcf:
        return PreparedVcf(
            path=path,
            annotation=self.source,
            annotation_key=BCSQ if self.source == "csq" else self.key,
            ref_checked=self.job.fasta is not None,
            facts=self.facts,
            warnings=prepared_warnings(self.facts, self.job.fasta, self.source, self.mode),
            settle=settle,
            consequences=consequences,
        )


# annotation: auto with neither an annotation in the file nor a reference to run csq on.
NO_ANNOTATION_NO_REFERENCE = (
    "no consequence annotation in the file and no reference to run csq: only genomic-allele "
    "rules were evaluated; set reference.fasta and reference.gff3 or annotate with VEP/SnpEff"
)


def prepared_warnings(
    facts: VcfFacts, fasta: Path | None, source: str, mode: str | None = None
) -> list[str]:
    """The QC warnings of a prepared file: the checks' own, then what the configuration left
    undone (`mode`: the configured annotation mode)."""
    warnings = list(facts.warnings)
    if fasta is None:
        warnings.append(
            "REF alleles were not checked against a reference (no FASTA configured), and indels "
            "were not left-aligned: multi-allelic records were split and trimmed only"
        )
    if source == "none" and mode == "auto":
        warnings.append(NO_ANNOTATION_NO_REFERENCE)
    elif source == "none":
        warnings.append("no consequence annotation: only exact genomic-allele rules were evaluated")
    return warnings


def annotation_plan(
    *,
    patient: str,
    vcf: Path,
    readable: Path,
    facts: VcfFacts,
    build: str,
    annotation_mode: str,
    fasta: Path | None,
    gff3: Path | None,
) -> AnnotationPlan:
    """The plan for a checked file: which annotation to use (the file's own or csq)."""
    with open_quietly(readable) as handle:
        existing = detect_annotation(handle.header)
    try:
        source, key = _annotation_plan(annotation_mode, existing, fasta, gff3)
    except ValueError as exc:
        raise InputError(patient, str(vcf), str(exc)) from None
    job = _Job(patient, vcf, readable, facts.contig_names, build, fasta, facts.build_confirmed)
    return AnnotationPlan(job, facts, source, key, gff3, annotation_mode)


def produce(
    plan: AnnotationPlan,
    work: Path,
    target_fd: int | None = None,
    *,
    streamed: bool = True,
    with_csq: bool = True,
) -> Path:
    """Run the bcftools steps of a plan in `work`; return the annotated BCF.

    `streamed`: the steps run at once, each in a forked child, each streaming into the next
    through a pipe, so the first annotated record comes out while the last input line is still
    being read. Else one after the other in this process (csq alone in a child, for a fresh
    state): for a small file, where a fork costs more than the overlap saves. With `target_fd`
    (the write end of a pipe; streamed only) the last step writes there instead of a file, so
    that a reader can take the records while they are made. Without `with_csq` the records are
    left unannotated (csq runs later, for several patients at once).
    """
    work.mkdir(parents=True, exist_ok=True)
    job = plan.job
    steps = _steps(job, work, plan.facts)
    annotated = work / "annotated.bcf"
    final = f"/dev/fd/{target_fd}" if target_fd is not None else str(annotated)
    run = _run_steps if streamed and pipes_by_path() else _run_steps_here
    if job.fasta is None:  # trimming is done in Python, on the normalised file
        normalised = work / "norm.bcf"
        run(job, work, steps, str(normalised))
        count = trim_alleles(normalised, Path(final))
        log.info("%s: no reference, so %d alleles were trimmed in Python", job.patient, count)
    else:
        if plan.source == "csq" and with_csq:
            steps.append(("csq", csq_args(job, plan.gff3)))  # type: ignore[arg-type]
        run(job, work, steps, final, target_fd)
    return Path(final)


def pipes_by_path() -> bool:
    """Whether a pipe's end can be named as a path (/dev/fd/N), as the streamed steps need."""
    return os.path.isdir("/dev/fd")


def _run_steps_here(
    job: _Job,
    work: Path,
    steps: list[tuple[str, list[str]]],
    output: str,
    output_fd: int | None = None,
) -> None:
    """Run bcftools steps one after the other through files; csq in a forked child (it keeps
    state between calls in one process)."""
    assert output_fd is None, "a file, not a pipe: nothing reads it while it is written"
    source = str(job.readable)
    for i, (tool, args) in enumerate(steps):
        target = output if i == len(steps) - 1 else str(work / f"step{i}-{tool}.bcf")
        call = partial(_bcftools, job, tool, *args, "-Ou", "-o", target, source)
        if tool == "csq":
            Child(call, work / f"step{i}-{tool}.result").wait()
        else:
            call()
        source = target


def _run_steps(
    job: _Job,
    work: Path,
    steps: list[tuple[str, list[str]]],
    output: str,
    output_fd: int | None = None,
) -> None:
    """Run bcftools steps as a chain of forked children joined by pipes; the first reads the
    patient's file, the last writes `output`.

    A step whose reader stopped is killed by SIGPIPE; the error reported is the first step's that
    failed on its own, as the sequential steps would have reported it.
    """
    pipes = [os.pipe() for _ in steps[1:]]
    fds = [fd for pair in pipes for fd in pair]
    children = []
    for i, (tool, args) in enumerate(steps):
        source = str(job.readable) if i == 0 else f"/dev/fd/{pipes[i - 1][0]}"
        target = f"/dev/fd/{pipes[i][1]}" if i < len(pipes) else output
        own = ({pipes[i - 1][0]} if i else set()) | ({pipes[i][1]} if i < len(pipes) else set())
        children.append(
            Child(
                partial(_bcftools, job, tool, *args, "-Ou", "-o", target, source),
                work / f"step{i}-{tool}.result",
                close_fds=[fd for fd in fds if fd not in own],
                pipe_signal=True,
            )
        )
    for fd in fds:
        os.close(fd)
    if output_fd is not None:
        os.close(output_fd)  # the last step holds it now; its reader sees the end when it exits
    outcomes = [child.outcome() for child in children]
    for (tool, _), (kind, payload) in zip(steps, outcomes, strict=True):
        if kind == "signal" and payload == signal.SIGPIPE:
            continue  # stopped because the step after it stopped
        if kind == "input_error":
            raise payload
        if kind == "signal":
            raise InputError(
                job.patient, str(job.vcf), f"bcftools {tool} crashed (signal {payload})"
            )
        if kind == "error":
            raise HaicgxError(f"patient {job.patient}: bcftools {tool}: {payload}")
    if any(kind != "value" for kind, _ in outcomes):
        raise HaicgxError(f"patient {job.patient}: the annotated records were not read to the end")


def readable_copy(patient: str, vcf: Path, work: Path) -> Path:
    """The file itself, or a text copy when it is plain gzip (htslib needs BGZF to open it)."""
    if not vcf.is_file() or vcf.stat().st_size == 0 or sniff_format(vcf) != "gzip":
        return vcf
    copy = work / "input.vcf"
    try:
        with gzip.open(vcf, "rb") as source, copy.open("wb") as target:
            shutil.copyfileobj(source, target, 1 << 20)
    except (OSError, EOFError) as exc:
        raise InputError(
            patient, str(vcf), f"truncated or corrupt compressed file ({exc})"
        ) from None
    log.info("%s: %s is plain gzip (not bgzip): read through a decompressed copy", patient, vcf)
    return copy


def inspect_input(
    patient: str,
    vcf: Path,
    readable: Path,
    tumour_sample: str | None,
    build: str,
    fasta: Path | None,
    normal_sample: str | None = None,
) -> VcfFacts:
    try:
        return inspect_vcf(
            patient,
            readable,
            tumour_sample=tumour_sample,
            normal_sample=normal_sample,
            build=build,
            fasta=fasta,
        )
    except InputError as exc:
        if readable == vcf:
            raise
        raise InputError(patient, str(vcf), exc.problem, record=exc.record) from None


def _steps(job: _Job, work: Path, facts: VcfFacts) -> list[tuple[str, list[str]]]:
    """The bcftools steps before consequence calling: complete the header and rename contigs
    (when needed), keep the tumour sample (when the file has others, or contigs to leave out),
    split (and with a reference left-align, trim and check REF). The kept samples are the tumour
    and, when the file has one, the matched normal, in that order."""
    steps: list[tuple[str, list[str]]] = []
    annotate_args = []
    if facts.header_additions:
        additions = work / "header.txt"
        additions.write_text("\n".join(facts.header_additions) + "\n", encoding="utf-8")
        annotate_args += ["-h", str(additions)]
    if facts.contig_names:
        renames = work / "contigs.txt"
        renames.write_text("".join(f"{a}\t{b}\n" for a, b in facts.contig_names.items()))
        annotate_args += ["--rename-chrs", str(renames)]
    if annotate_args:
        steps.append(("annotate", annotate_args))
    cleaning = []
    if exclude := facts.exclude_expression():  # structural, unusable records: said in QC
        cleaning += ["-e", exclude]
    if facts.unseen_alleles:  # <*>/<NON_REF> dropped at every site, GT/AD remapped
        cleaning += ["--trim-unseen-allele", "--trim-unseen-allele"]
    if cleaning:
        # a step of its own: bcftools 1.24 fails when trimming is combined with -S
        steps.append(("view", ["-I", *cleaning]))
    if facts.samples != facts.kept_samples or facts.excluded_contigs:
        sample = work / "sample.txt"  # a file, not -s: a name may hold a comma or start with ^
        # the tumour first, then the matched normal: view -S writes them in this order
        sample.write_text("".join(f"{name}\n" for name in facts.kept_samples), encoding="utf-8")
        # -I: keep INFO as written (view would otherwise add AC/AN for the subset)
        view_args = ["-I", "-S", str(sample)]
        if facts.excluded_contigs:
            excluded = work / "excluded.tsv"  # a file, as contig names may hold ':' (HLA-A*01:01)
            names = [facts.contig_names.get(c, c) for c in facts.excluded_contigs]
            excluded.write_text("".join(f"{c}\t1\t{2**31 - 2}\n" for c in names), encoding="utf-8")
            view_args += ["-T", f"^{excluded}"]
        steps.append(("view", view_args))
    norm_args = ["-m", "-any", "--old-rec-tag", ORIGINAL_RECORD]
    if job.fasta is not None:
        norm_args += ["-f", str(job.fasta), "-c", "e"]
    steps.append(("norm", norm_args))
    return steps


def trim_alleles(source: Path, target: Path) -> int:
    """Trim the shared suffix and prefix of each (split) record's REF and ALT; return how many
    changed.

    Without a reference `bcftools norm -m -any` splits but does not trim, so `CAT>C,CATAT` would
    stay `CAT>CATAT` and miss a knowledge row written `C>CAT`. Left-alignment needs the reference
    and is not attempted. Changed records keep their input spelling in ORIGINAL_RECORD.
    """
    changed = 0
    with (
        open_quietly(source) as reader,
        pysam.VariantFile(str(target), "wb", header=reader.header) as writer,
    ):
        for record in reader:
            changed += _trim_record(record)
            writer.write(record)
    return changed


def _trim_record(record: pysam.VariantRecord) -> int:
    alts = record.alts or ()
    if len(alts) != 1 or alts[0] in ("*", ".") or record.ref is None:
        return 0
    pos, ref, alt = trim_allele(record.pos, record.ref, alts[0])
    if (pos, ref, alt) == (record.pos, record.ref, alts[0]):
        return 0
    if ORIGINAL_RECORD not in record.info:
        record.info[ORIGINAL_RECORD] = f"{record.chrom}|{record.pos}|{record.ref}|{alts[0]}|1"
    record.pos = pos
    record.alleles = (ref, alt)
    return 1


def csq_alone(plan: AnnotationPlan, normalised: Path) -> Path:
    """bcftools csq on one normalised file (`produce(..., with_csq=False)`), in a forked child;
    return the annotated BCF beside it."""
    annotated = normalised.with_name("csq.bcf")
    args = csq_args(plan.job, plan.gff3)  # type: ignore[arg-type]
    call = partial(_bcftools, plan.job, "csq", *args, "-Ou", "-o", str(annotated), str(normalised))
    Child(call, normalised.with_name("csq.result")).wait()
    return annotated


def csq_args(job: _Job, gff3: Path) -> list[str]:
    """bcftools csq, one record at a time (-l) and ignoring genotypes (-s -)."""
    args = ["-f", str(job.fasta), "-g", str(gff3), "-s", "-", "-l", "--force"]
    if unify := unify_chr_option(fasta_contigs(job.fasta), gff3_seqids(gff3)):  # type: ignore[arg-type]
        args += ["--unify-chr-names", unify]
    return args


def gff3_seqids(gff3: Path) -> list[str]:
    """The sequence name of a GFF3's first feature (what csq looks genes up by), or, when that is
    not a primary chromosome, the names its ##sequence-region lines declare."""
    regions: list[str] = []
    opener = gzip.open if sniff_format(gff3) in ("gzip", "bgzf") else open
    with opener(gff3, "rt", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.startswith("##sequence-region"):
                regions += line.split()[1:2]
            elif line.strip() and not line.startswith("#"):
                first = line.split("\t", 1)[0]
                return [first] if normalise_chrom(first) in PRIMARY_CHROMOSOMES else regions
    return regions


def _uses_chr(names: list[str] | dict[str, int]) -> bool | None:
    """True if the primary chromosomes are named chr1..., False if 1..., None if unclear."""
    styles = {
        name.startswith("chr") for name in names if normalise_chrom(name) in PRIMARY_CHROMOSOMES
    }
    return styles.pop() if len(styles) == 1 else None


def unify_chr_option(fasta_names: dict[str, int], gff_names: list[str]) -> str | None:
    """`--unify-chr-names` for csq when the GFF3 and the FASTA disagree on the `chr` prefix.

    The VCF already carries the FASTA's names (renamed above). Without this, csq stops at the
    first record ("chromosome not present in the GFF") or annotates nothing.

    >>> unify_chr_option({"chr12": 133275309}, ["12"])
    'chr,-,chr'
    >>> unify_chr_option({"12": 133275309}, ["chr12"])
    '-,chr,-'
    >>> unify_chr_option({"chr12": 133275309}, ["chr12"]) is None
    True
    """
    fasta_chr, gff_chr = _uses_chr(fasta_names), _uses_chr(gff_names)
    if fasta_chr is None or gff_chr is None or fasta_chr == gff_chr:
        return None
    return "chr,-,chr" if fasta_chr else "-,chr,-"


def _annotation_plan(
    mode: str, existing: tuple[str, str] | None, fasta: Path | None, gff3: Path | None
) -> tuple[str, str | None]:
    """Which annotation to use: the file's own (auto, vep, snpeff) or a fresh csq run."""
    if mode == "none":
        return "none", None
    if mode in ("vep", "snpeff"):
        if existing is None or existing[0] != mode:
            found = existing[0] if existing else "no annotation"
            raise ValueError(f"annotation: {mode} was configured but the VCF carries {found}")
        return existing
    if mode == "auto" and existing is not None:
        return existing
    if fasta is None or gff3 is None:  # auto without a reference: every output says so
        return "none", None
    return "csq", BCSQ
