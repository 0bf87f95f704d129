"""A patient's VCF checked, then normalised and annotated by bcftools (through pysam), as a
stream of records.

Two stages, in this order (haicgx.analysis calls them):

1. `check_and_plan`: every check of the file in this process (`haicgx.vcf.inspect_vcf`, to its
   last line), then the plan: which bcftools steps, and which annotation (the file's own VEP,
   SnpEff or BCSQ, or a fresh `bcftools csq`).
2. `stream`: one forked child runs the steps (`produce`), each a process of its own streaming into
   the next through a pipe, the last writing into a pipe that the analysis reads record by
   record; on leaving, the child is joined and its error raised.

The steps: `bcftools annotate` (declarations the header lacks; contig names that differ from the
reference's by a `chr` prefix), `bcftools view` (structural records and placeholder alleles out;
the tumour sample, then the matched normal, when the file has other samples; records on
non-primary contigs the reference lacks left out), `bcftools norm` (split multi-allelic records;
with a reference, also left-align, trim and check REF), a trimming pass in Python when there is no
reference, and `bcftools csq` when the plan says so. Memory stays flat in the size of the VCF. A
plain-gzip input is first decompressed to a temporary text copy."""

from __future__ import annotations

import gzip
import logging
import os
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pysam
from pysam import bcftools
from pysam.libcbgzf import BGZFile

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


def check_and_plan(
    *,
    patient: str,
    vcf: Path,
    work: Path,
    tumour_sample: str | None,
    normal_sample: str | None,
    build: str,
    annotation_mode: str,
    fasta: Path | None,
    gff3: Path | None,
) -> AnnotationPlan:
    """Stage 1: every check of the file, in this process and to its last line (`inspect_vcf`),
    then the plan for bcftools. A bad file stops here with its one `InputError`, before any
    bcftools step runs. `work`: where a plain-gzip file's text copy goes."""
    readable = readable_copy(patient, vcf, work)
    try:
        facts = inspect_vcf(
            patient,
            readable,
            tumour_sample=tumour_sample,
            normal_sample=normal_sample,
            build=build,
            fasta=fasta,
        )
    except InputError as exc:  # named after the patient's file, not its temporary copy
        raise InputError(patient, str(vcf), exc.problem, record=exc.record) from None
    log.info(
        "%s: %d records, tumour sample %s; %s",
        patient,
        facts.records_read,
        facts.tumour_sample,
        facts.build_check,
    )
    with open_quietly(readable) as handle:
        existing = detect_annotation(handle.header)
    try:
        source, key = _annotation_plan(annotation_mode, existing, fasta, gff3)
    except ValueError as exc:
        raise InputError(patient, str(vcf), str(exc)) from None
    job = _Job(patient, vcf, readable, facts.contig_names, build, fasta, facts.build_confirmed)
    return AnnotationPlan(job, facts, source, key, gff3, annotation_mode)


def readable_copy(patient: str, vcf: Path, work: Path) -> Path:
    """The file itself, or a BGZF copy when it is plain gzip (htslib needs BGZF to open it).

    The copy is compressed as it is written, so the disk it takes stays near the input's size
    (a 1 MB plain-gzip file of a highly repetitive 1 GB text is not written out as 1 GB)."""
    if not vcf.is_file() or vcf.stat().st_size == 0 or sniff_format(vcf) != "gzip":
        return vcf
    copy = work / "input.vcf.gz"
    try:
        with gzip.open(vcf, "rb") as source, BGZFile(str(copy), "wb", index=None) as target:
            shutil.copyfileobj(source, target, 1 << 20)
    except (OSError, EOFError) as exc:
        raise InputError(
            patient, str(vcf), f"truncated or corrupt compressed file ({exc})"
        ) from None
    log.info("%s: %s is plain gzip (not bgzip): read through a BGZF copy", patient, vcf)
    return copy


@dataclass(frozen=True)
class AnnotationPlan:
    """What the bcftools steps need: the file, the facts its checks gave, the annotation to use."""

    job: _Job
    facts: VcfFacts
    source: str  # csq, vep, snpeff, bcsq, none
    key: str | None
    gff3: Path | None
    mode: str | None = None  # the configured annotation mode (auto, csq, vep, snpeff, none)

    @property
    def annotation_key(self) -> str | None:
        """The INFO key holding the consequences in the annotated records."""
        return BCSQ if self.source == "csq" else self.key

    @property
    def ref_checked(self) -> bool:
        return self.job.fasta is not None

    @property
    def warnings(self) -> list[str]:
        """The QC warnings: the checks' own, then what the configuration left undone."""
        warnings = list(self.facts.warnings)
        if self.job.fasta is None:
            warnings.append(
                "REF alleles were not checked against a reference (no FASTA configured), and "
                "indels were not left-aligned: multi-allelic records were split and trimmed only"
            )
        if self.source == "none":
            warnings.append(
                "no consequence annotation: only exact genomic-allele rules were evaluated"
            )
        return warnings


@contextmanager
def stream(plan: AnnotationPlan, work: Path, *, csq: bool = True) -> Iterator[pysam.VariantFile]:
    """Stage 2: the annotated records, read as bcftools makes them.

    One forked child runs the plan's bcftools steps (`produce`), its last step writing BCF into
    a pipe that this process reads while the block runs. On leaving the
    block the child is joined and its error raised: a failed step's message comes before
    whatever reading its cut-short output raised, and no output is written before the child has
    ended well. Without `csq`, the records come unannotated (the consequences were called for
    the analysis job's group of files, `haicgx.analysis.group_consequences`).
    """
    read_end, write_end = os.pipe()
    child = Child(
        partial(produce, plan, work, f"/dev/fd/{write_end}", with_csq=csq),
        work / "stream.result",
        close_fds=[read_end],  # else the child's steps would never see their reader go
        new_group=True,  # its steps join its group: stopping it stops them all
    )
    os.close(write_end)  # the reader sees the end once the child's last step has closed it
    # A stream cut short by a failed step is reported by that step; htslib's own complaints
    # about the short read would only be noise on stderr.
    verbosity = pysam.set_verbosity(0)
    try:
        try:
            with pysam.VariantFile(f"/dev/fd/{read_end}") as records:
                yield records
        except (OSError, ValueError):
            # Reading failed: when a step failed on the input, its message is the one to give.
            os.close(read_end)  # the steps still writing stop (SIGPIPE) instead of blocking
            read_end = -1
            if child.outcome()[0] == "input_error":
                child.wait()
            raise
        os.close(read_end)  # a block that stopped early stops the steps, which says so
        read_end = -1
        child.wait()
    finally:
        pysam.set_verbosity(verbosity)
        if read_end >= 0:
            os.close(read_end)
        child.stop()  # no-op once joined; else (an error while reading) the steps are stopped


def produce(plan: AnnotationPlan, work: Path, output: str, *, with_csq: bool = True) -> None:
    """Run the bcftools steps of a plan, in `work`, into `output` (a file or a pipe's
    /dev/fd path): each step in a forked child, streaming into the next through a pipe, so memory
    stays flat in the size of the VCF. Without `with_csq` the records are left unannotated."""
    work.mkdir(parents=True, exist_ok=True)
    job = plan.job
    steps = _steps(job, work, plan.facts)
    if job.fasta is None:  # trimming is done in Python, on the normalised file
        normalised = work / "norm.bcf"
        _run_steps(job, work, steps, str(normalised))
        count = trim_alleles(normalised, Path(output))
        log.info("%s: no reference, so %d alleles were trimmed in Python", job.patient, count)
        return
    if plan.source == "csq" and with_csq:
        assert plan.gff3 is not None  # the plan runs csq only with a GFF3
        steps.append(("csq", csq_args(job, plan.gff3)))
    _run_steps(job, work, steps, output)


def _run_steps(job: _Job, work: Path, steps: list[tuple[str, list[str]]], output: str) -> None:
    """Run bcftools steps as a chain of forked children joined by pipes; the first reads the
    patient's file, the last writes `output`.

    A step whose reader stopped is killed by SIGPIPE; the error reported is the first step's that
    failed on its own, as if the steps had run one after the other.
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


def csq_args(job: _Job, gff3: Path) -> list[str]:
    """bcftools csq, one record at a time (-l) and ignoring genotypes (-s -)."""
    assert job.fasta is not None  # csq runs only with a reference
    args = ["-f", str(job.fasta), "-g", str(gff3), "-s", "-", "-l", "--force"]
    if unify := unify_chr_option(fasta_contigs(job.fasta), gff3_seqids(gff3)):
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
    if fasta is None or gff3 is None:
        # auto means "the file's annotation, else csq": neither can run, and a ranking without
        # the tumour's consequences must be asked for (annotation: none), never fallen into.
        raise ValueError(AUTO_CANNOT_RUN)
    return "csq", BCSQ


AUTO_CANNOT_RUN = (
    "annotation: auto found no VEP, SnpEff or bcftools csq annotation in the file, and csq "
    "cannot run without reference.fasta and reference.gff3: configure them, annotate the file "
    "with VEP or SnpEff, or set annotation: none to rank on genomic-allele rules only"
)
