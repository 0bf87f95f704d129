"""Reading a patient's tumour VCF safely: structure checks, the tumour sample, the genome build.

Every problem becomes an `InputError` naming the patient, the file, the record where known, and
what is wrong, so that one bad file fails only its own patient with one line.
"""

from __future__ import annotations

import gzip
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pysam

from haicgx.builds import KNOWN_CONTIG_LENGTHS, identify_build
from haicgx.errors import InputError
from haicgx.knowledge import normalise_chrom

MAX_INFO_BYTES = 1_000_000  # a single INFO field this large is a broken or hostile file
_REF_OK = re.compile(r"^[ACGTN]+$")
_ALT_OK = re.compile(r"^[ACGTN]+$")
_TUMOR_SAMPLE = re.compile(r"^##tumou?r_sample=(.+)$", re.IGNORECASE)


@dataclass
class VcfFacts:
    """What the checks learned about a file, carried into the outputs."""

    tumour_sample: str
    samples: list[str]
    contig_names: dict[str, str] = field(default_factory=dict)  # file name -> reference name
    build_check: str = ""
    records_read: int = 0
    warnings: list[str] = field(default_factory=list)


def _open_text(path: Path):
    if path.suffix in (".gz", ".bgz"):
        return gzip.open(path, "rb")
    return path.open("rb")


def _fail(patient: str, path: Path, problem: str, record: str | None = None) -> InputError:
    return InputError(patient, str(path), problem, record=record)


def scan_text(patient: str, path: Path) -> tuple[list[str], int, set[str]]:
    """Check a text VCF line by line; return its header lines, record count and record contigs.

    Streams the file (memory stays flat) and stops at the first problem.
    """
    header: list[str] = []
    n_records = 0
    columns = 0
    contigs_declared: set[str] = set()
    contig_done: set[str] = set()
    last: tuple[str, int] | None = None
    seen_here: set[tuple[str, str]] = set()
    try:
        with _open_text(path) as handle:
            for lineno, raw in enumerate(handle, start=1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise _fail(patient, path, f"line {lineno} is not UTF-8 text") from None
                if line.endswith("\r\n"):
                    raise _fail(
                        patient,
                        path,
                        f"line {lineno} ends in CRLF (Windows line ends); convert to LF",
                    )
                line = line.rstrip("\n")
                if lineno == 1 and not line.startswith("##fileformat=VCF"):
                    raise _fail(
                        patient, path, "not a VCF: the first line is not ##fileformat=VCF..."
                    )
                if line.startswith("##"):
                    header.append(line)
                    if line.startswith("##contig=<"):
                        m = re.search(r"ID=([^,>]+)", line)
                        if m:
                            contigs_declared.add(m[1])
                    continue
                if line.startswith("#"):
                    fields = line[1:].split("\t")
                    if fields[:8] != ["CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]:
                        raise _fail(patient, path, f"line {lineno}: malformed #CHROM header line")
                    columns = len(fields)
                    header.append(line)
                    continue
                if not columns:
                    raise _fail(patient, path, f"line {lineno}: data before the #CHROM header line")
                if not line:
                    continue
                n_records += 1
                _check_record(patient, path, lineno, line, columns, contigs_declared)
                chrom, pos_text, _id, ref, alt = line.split("\t", 5)[:5]
                pos = int(pos_text)
                where = f"{chrom}:{pos}"
                if last is not None and chrom != last[0]:
                    if chrom in contig_done:
                        raise _fail(
                            patient,
                            path,
                            f"unsorted: {chrom} appears again after other contigs",
                            where,
                        )
                    contig_done.add(last[0])
                    seen_here.clear()
                elif last is not None and pos < last[1]:
                    raise _fail(patient, path, f"unsorted: position {pos} after {last[1]}", where)
                elif last is not None and pos > last[1]:
                    seen_here.clear()
                key = (ref, alt)
                if key in seen_here:
                    raise _fail(patient, path, f"duplicate record {ref}>{alt}", where)
                seen_here.add(key)
                last = (chrom, pos)
    except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
        if isinstance(exc, InputError):
            raise
        raise _fail(patient, path, f"truncated or corrupt compressed file ({exc})") from None
    if not columns:
        raise _fail(patient, path, "no #CHROM header line (empty or not a VCF)")
    return header, n_records, contig_done | ({last[0]} if last else set())


def _check_record(
    patient: str, path: Path, lineno: int, line: str, columns: int, contigs: set[str]
) -> None:
    fields = line.split("\t")
    if len(fields) != columns:
        raise _fail(
            patient, path, f"line {lineno}: {len(fields)} columns where the header has {columns}"
        )
    chrom, pos, _vid, ref, alt, _qual, _filter, info = fields[:8]
    where = f"{chrom}:{pos}"
    if not pos.isdigit() or int(pos) < 1:
        raise _fail(patient, path, f"line {lineno}: POS {pos!r} is not a positive integer")
    if contigs and chrom not in contigs:
        raise _fail(patient, path, f"contig {chrom!r} is not declared in the header", where)
    if not _REF_OK.match(ref):
        if ref.upper() != ref:
            raise _fail(patient, path, f"lowercase REF {ref!r}", where)
        raise _fail(patient, path, f"REF {ref!r} has characters other than A, C, G, T, N", where)
    if set(ref) == {"N"}:
        raise _fail(patient, path, "REF is N only: no reference base to check", where)
    for allele in alt.split(","):
        if allele == "*":
            raise _fail(
                patient, path, "spanning-deletion allele '*' (drop such alleles first)", where
            )
        if allele.startswith("<"):
            raise _fail(patient, path, f"symbolic ALT {allele} is not a sequence variant", where)
        if "[" in allele or "]" in allele:
            raise _fail(patient, path, f"breakend ALT {allele} is not a sequence variant", where)
        if allele == ".":
            continue
        if not _ALT_OK.match(allele):
            raise _fail(
                patient, path, f"ALT {allele!r} has characters other than A, C, G, T, N", where
            )
    if len(info) > MAX_INFO_BYTES:
        raise _fail(
            patient, path, f"INFO field of {len(info)} bytes (limit {MAX_INFO_BYTES})", where
        )


def open_variant_file(patient: str, path: Path) -> pysam.VariantFile:
    """Open with htslib, turning its failures into one line."""
    if not path.exists():
        raise _fail(patient, path, "file not found")
    if path.stat().st_size == 0:
        raise _fail(patient, path, "empty file")
    try:
        return pysam.VariantFile(str(path))
    except (OSError, ValueError) as exc:
        raise _fail(patient, path, f"not a readable VCF/BCF ({exc})") from None


def choose_sample(
    patient: str, path: Path, samples: list[str], header_lines: list[str], wanted: str | None
) -> str:
    """The tumour sample: the sheet's choice, else a ##tumor_sample= line, else the only sample."""
    if wanted:
        if wanted not in samples:
            raise _fail(
                patient,
                path,
                f"tumour_sample {wanted!r} is not in the file "
                f"(samples: {', '.join(samples) or 'none'})",
            )
        return wanted
    for line in header_lines:
        if m := _TUMOR_SAMPLE.match(line):
            name = m[1].strip()
            if name not in samples:
                raise _fail(patient, path, f"##tumor_sample={name} names no sample of the file")
            return name
    if len(samples) == 1:
        return samples[0]
    if not samples:
        raise _fail(patient, path, "no sample column: a tumour sample with genotypes is needed")
    raise _fail(
        patient,
        path,
        f"{len(samples)} samples ({', '.join(samples)}) and no tumour_sample in the sheet or "
        "##tumor_sample= header line",
    )


def fasta_contigs(fasta: Path) -> dict[str, int]:
    """Contig lengths from a FASTA's .fai index."""
    lengths: dict[str, int] = {}
    with open(f"{fasta}.fai", encoding="utf-8") as handle:
        for line in handle:
            name, length = line.split("\t")[:2]
            lengths[name] = int(length)
    return lengths


def check_build(
    patient: str,
    path: Path,
    variant_file: pysam.VariantFile,
    header_lines: list[str],
    *,
    build: str,
    fasta: Path | None,
    record_contigs: set[str],
) -> tuple[dict[str, str], str, list[str]]:
    """Compare the file's contigs with the reference (or the build's known contigs).

    Returns the contig renaming needed to reach the reference's names, a sentence for the outputs
    and warnings. A file of another build is refused, naming both builds.
    """
    warnings: list[str] = []
    header_lengths = {name: contig.length for name, contig in variant_file.header.contigs.items()}
    if fasta is not None:
        target = fasta_contigs(fasta)
        target_label = f"the reference FASTA index ({fasta.name})"
    else:
        target = KNOWN_CONTIG_LENGTHS[build]
        target_label = f"the known {build} contigs"
    by_plain = {normalise_chrom(name): name for name in target}
    renames: dict[str, str] = {}
    names = set(header_lengths) | record_contigs
    for name in sorted(names):
        plain = normalise_chrom(name)
        if name in target:
            continue
        if plain in by_plain:
            renames[name] = by_plain[plain]
        elif name in record_contigs:
            raise _fail(patient, path, f"contig {name!r} is not in {target_label}")
    lengths_known = {n: length for n, length in header_lengths.items() if length}
    mismatched = []
    for name, length in lengths_known.items():
        ref_name = renames.get(name, name)
        if ref_name in target and target[ref_name] != length:
            mismatched.append((name, length, target[ref_name]))
    if mismatched:
        guessed = identify_build(lengths_known)
        name, length, expected = mismatched[0]
        what = f"a {guessed} file" if guessed and guessed != build else "another assembly"
        raise _fail(
            patient,
            path,
            f"{what} under a {build} configuration: contig {name} is {length:,} bp in the file "
            f"but {expected:,} bp in {target_label}",
        )
    declared = _declared_assembly(header_lines)
    if declared and declared != build:
        raise _fail(
            patient, path, f"the header declares {declared} but the configuration is {build}"
        )
    if lengths_known:
        sentence = f"contig lengths match {target_label}"
    else:
        sentence = (
            "the file carries no contig lengths, so its build could not be checked from them"
            + (f"; the header declares {declared}" if declared else "")
        )
        warnings.append(sentence)
    return renames, sentence, warnings


def _declared_assembly(header_lines: list[str]) -> str | None:
    """A build named by ##reference, ##assembly, ##contig assembly= or liftover lines, if any."""
    text = "\n".join(
        line
        for line in header_lines
        if line.startswith(("##reference", "##assembly", "##contig", "##liftover", "##source"))
    ).lower()
    hits = set()
    if re.search(r"grch38|hg38|b38|hs38", text):
        hits.add("GRCh38")
    if re.search(r"grch37|hg19|b37|hs37|human_g1k_v37", text):
        hits.add("GRCh37")
    return hits.pop() if len(hits) == 1 else None


def _scan_bcf(patient: str, path: Path, variant_file: pysam.VariantFile) -> tuple[int, set[str]]:
    """The record checks of `scan_text` for a BCF, through htslib."""
    n_records = 0
    contigs: set[str] = set()
    done: set[str] = set()
    last: tuple[str, int] | None = None
    seen_here: set[tuple[str, tuple[str, ...]]] = set()
    try:
        for rec in variant_file:
            n_records += 1
            where = f"{rec.chrom}:{rec.pos}"
            for allele in rec.alts or ():
                if allele == "*" or allele.startswith("<") or "[" in allele or "]" in allele:
                    raise _fail(patient, path, f"ALT {allele} is not a sequence variant", where)
            if last is not None and rec.chrom != last[0]:
                if rec.chrom in done:
                    raise _fail(patient, path, f"unsorted: {rec.chrom} appears again", where)
                done.add(last[0])
                seen_here.clear()
            elif last is not None and rec.pos < last[1]:
                raise _fail(patient, path, f"unsorted: position {rec.pos} after {last[1]}", where)
            elif last is not None and rec.pos > last[1]:
                seen_here.clear()
            key = (rec.ref or "", tuple(rec.alts or ()))
            if key in seen_here:
                raise _fail(patient, path, "duplicate record", where)
            seen_here.add(key)
            contigs.add(rec.chrom)
            last = (rec.chrom, rec.pos)
    except (OSError, ValueError) as exc:
        raise _fail(patient, path, f"unreadable record after {n_records} records ({exc})") from None
    return n_records, contigs


def inspect_vcf(
    patient: str,
    path: Path,
    *,
    tumour_sample: str | None,
    build: str,
    fasta: Path | None,
) -> VcfFacts:
    """Run every structural check on a patient's VCF/BCF and learn what the later stages need."""
    is_bcf = path.suffix == ".bcf"
    if not path.exists():
        raise _fail(patient, path, "file not found")
    if path.stat().st_size == 0:
        raise _fail(patient, path, "empty file")
    header_lines: list[str] = []
    record_contigs: set[str] = set()
    if not is_bcf:
        header_lines, n_records, record_contigs = scan_text(patient, path)
    variant_file = open_variant_file(patient, path)
    with variant_file:
        if is_bcf:
            header_lines = str(variant_file.header).splitlines()
            n_records, record_contigs = _scan_bcf(patient, path, variant_file)
        samples = list(variant_file.header.samples)
        sample = choose_sample(patient, path, samples, header_lines, tumour_sample)
        renames, sentence, warnings = check_build(
            patient,
            path,
            variant_file,
            header_lines,
            build=build,
            fasta=fasta,
            record_contigs=record_contigs,
        )
    return VcfFacts(
        tumour_sample=sample,
        samples=samples,
        contig_names=renames,
        build_check=sentence,
        records_read=n_records,
        warnings=warnings,
    )
