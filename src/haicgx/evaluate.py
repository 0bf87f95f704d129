"""One patient's annotated records evaluated as they arrive, then its outputs.

Two stages (haicgx.analysis calls them):

- `evaluate_records`, while bcftools still works: every record feeds the pharmacogenomic
  collector; alleles that pass QC are written to variants.tsv as they come and matched through the
  knowledge indexes.
- `write_outputs`, after the last record and once bcftools ended well: the pharmacogene calls, the
  ranking, matches.tsv and recommendation.json. The three files move into the patient's folder
  together at the end, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import operator
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import jsonschema
import pysam

from haicgx import __version__, vocab
from haicgx.annotate import ORIGINAL_RECORD, AnnotationPlan
from haicgx.consequence import (
    AlleleOrigin,
    Annotation,
    parse_bcsq,
    parse_snpeff,
    parse_vep,
    snpeff_fields,
    vep_fields,
)
from haicgx.errors import HaicgxError
from haicgx.findings import Candidate, findings_for
from haicgx.genotype import SampleCall
from haicgx.knowledge import KnowledgeBase
from haicgx.match import Match, Variant, match_variant
from haicgx.paths import schema_path
from haicgx.pgx import PgxCollector
from haicgx.qc import (
    QcTally,
    SupportReader,
    checked,
    germline_check,
    qc_reason,
    reads_show_alt,
    unread_support_warning,
)
from haicgx.rank import PatientContext, cited_evidence, rank_regimens, summary_line
from haicgx.settings import Patient, Settings
from haicgx.transcripts import TranscriptIndex
from haicgx.tsv import inert

log = logging.getLogger(__name__)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ConsequenceReader:
    """Reads the per-gene annotations of one record, from whichever source the file carries.

    Our own csq run annotated the split, normalised records, so its BCSQ is the record's own.
    Annotations the input already carried (VEP, SnpEff, BCSQ) were written for the record as the
    input spelled it; the ORIGINAL_RECORD tag that `bcftools norm` left on split or normalised
    records says which allele of that record this one is, so entries of sibling alleles are
    dropped.
    """

    def __init__(
        self,
        header: pysam.VariantHeader,
        source: str,
        key: str | None,
        transcripts: TranscriptIndex | None,
        lookup: Mapping[tuple[str, int, str, str], Any] | None = None,
    ) -> None:
        self.source = source
        self.key = key
        self.transcripts = transcripts
        self.lookup = lookup  # the consequences by allele, when not in the records' INFO
        self.fields: list[str] = []
        self.has_origin = ORIGINAL_RECORD in header.info
        if source == "vep" and key:
            self.fields = vep_fields(header.info[key].description or "")
        elif source == "snpeff" and key:
            self.fields = snpeff_fields(header.info[key].description or "")

    def read(
        self, record: pysam.VariantRecord, allele: tuple[str, str] | None = None
    ) -> list[Annotation]:
        """`allele`: the record's REF and ALT when the caller has them (read once per record)."""
        if self.source == "none" or not self.key:
            return []
        if self.lookup is None:
            value = record.info.get(self.key)
        else:
            allele = allele or _allele(record)
            value = self.lookup.get((record.chrom, record.pos, *allele))
        if value is None:
            return []
        entries = [value] if isinstance(value, str) else [v for v in value if v]
        if self.source == "csq":
            return self._one_per_gene(parse_bcsq(entries), record.pos)
        ref, alt = allele or _allele(record)
        origin = self._origin(record, ref, alt)
        if self.source == "bcsq":
            found = parse_bcsq(entries, origin, record.pos, ref, alt)
            return self._one_per_gene(found, record.pos)
        if self.source == "vep":
            return parse_vep(entries, self.fields, ref, alt, origin)
        return parse_snpeff(entries, alt, origin)

    def _origin(self, record: pysam.VariantRecord, ref: str, alt: str) -> AlleleOrigin:
        """The input's spelling of this allele (the record itself when norm left it alone)."""
        if self.has_origin and ORIGINAL_RECORD in record.info:
            value = record.info[ORIGINAL_RECORD]
            text = value if isinstance(value, str) else ",".join(value)
            if origin := AlleleOrigin.parse(text):
                return origin
        return AlleleOrigin(record.pos, ref, (alt,))

    def _one_per_gene(self, annotations: list[Annotation], pos: int) -> list[Annotation]:
        if len(annotations) == 1:  # most records: one gene, one transcript
            best = annotations
        else:
            chosen: dict[str, Annotation] = {}
            for ann in annotations:
                current = chosen.get(ann.gene)
                if current is None or self._preference(ann) < self._preference(current):
                    chosen[ann.gene] = ann
            best = list(chosen.values())
        if self.transcripts is None:
            return best
        out = []
        for ann in best:
            rank = self.transcripts.exon_rank(ann.transcript, pos)
            if rank is not None:  # made directly: _replace costs several times more, per allele
                gene, consequence, transcript, protein, _, biotype, _ = ann
                ann = Annotation(gene, consequence, transcript, protein, rank[0], biotype, rank[1])
            out.append(ann)
        return out

    def _preference(self, ann: Annotation) -> tuple:
        if self.transcripts is None:
            return (ann.severity, ann.transcript)
        return (self.transcripts.preference(ann.transcript), ann.severity)


def _allele(record: pysam.VariantRecord) -> tuple[str, str]:
    """REF and the one ALT of a record split by norm (both optional to htslib's types)."""
    return record.ref or "", record.alts[0] if record.alts else ""


def _genotype(sample: Any, has_ps: bool = True) -> SampleCall:
    """The sample's GT, whether it is phased, and the phase set, without read support; no GT
    without a GT field (Strelka2 somatic VCFs carry none: the genotype is then unknown, not
    reference). `has_ps`: the header declares PS (else no record can carry it)."""
    gt = sample.get("GT") if sample is not None else None  # None when the record has no GT
    if gt is None:
        return _NO_GENOTYPE
    return SampleCall(gt, bool(sample.phased), sample.get("PS") if has_ps else None)


_NO_GENOTYPE = SampleCall(None)


def _sample_call(
    record: pysam.VariantRecord,
    sample,
    reader: SupportReader,
    has_ps: bool,
    tally: QcTally | None = None,
) -> SampleCall:
    """One sample's genotype and read support at a record (the matched normal's, for PGx)."""
    if sample is None:
        return SampleCall(None)
    call = _genotype(sample, has_ps)
    support = reader.read(record, sample) if record.alts else None
    if support is not None and tally is not None:
        support = checked(support, tally, f"{record.chrom}:{record.pos}")
    if support is None:
        depth = sample.get("DP") if "DP" in sample else None
        return call._replace(depth=depth if isinstance(depth, int) else None)
    return call.with_support(support)


def _gt_text(gt, phased: bool) -> str:
    if gt is None:
        return ""
    if gt == (0, 1):  # the common tumour call
        return "0|1" if phased else "0/1"
    return ("|" if phased else "/").join("." if a is None else str(a) for a in gt)


def _alt_copies(gt) -> int | None:
    """Copies of the ALT allele (1) in a genotype; None when there is no called allele."""
    if gt is None:
        return None
    if gt == (0, 1):
        return 1
    return None if all(a is None for a in gt) else sum(a == 1 for a in gt)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


@dataclass
class Evaluation:
    """What one pass over a patient's annotated records found (`evaluate_records`)."""

    tally: QcTally
    reader: SupportReader  # the caller whose read-support fields were read
    collector: PgxCollector
    matches: list[Match] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)  # variants of finding genes


def evaluate_records(
    records: pysam.VariantFile,
    *,
    plan: AnnotationPlan,
    patient: Patient,
    settings: Settings,
    kb: KnowledgeBase,
    variants_path: Path,
    consequences: Mapping[tuple[str, int, str, str], Any] | None = None,
) -> Evaluation:
    """Stage 3: each annotated record as it arrives. Every record feeds the pharmacogenomic
    collector; alleles that pass QC are written to `variants_path` and matched through the
    knowledge indexes. `consequences`: BCSQ by allele, when csq ran for the analysis job's group
    of files rather than in this patient's stream."""
    transcripts = (
        TranscriptIndex.for_gff3(settings.gff3) if plan.source == "csq" and settings.gff3 else None
    )
    has_normal = plan.facts.normal_sample is not None
    collector = PgxCollector(kb, settings.build, has_normal=has_normal)
    for sv in plan.facts.structural:
        collector.structural(sv.chrom, sv.pos, sv.end, sv.alt)
    for u in plan.facts.unusable:
        collector.unusable(u.chrom, u.pos, u.pos + max(len(u.ref), 1) - 1, u.reason)
    reader = SupportReader(records.header)
    evaluation = Evaluation(QcTally(), reader, collector)
    tally, matches, candidates = evaluation.tally, evaluation.matches, evaluation.candidates
    finding_genes = kb.findings.genes
    referral_genes = kb.findings.germline_referral.genes
    germline_filters = kb.findings.germline_referral.caller_filters | {"PASS"}
    consequence_reader = ConsequenceReader(
        records.header, plan.source, plan.annotation_key, transcripts, consequences
    )
    with variants_path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerow(vocab.VARIANT_COLUMNS)
        has_sample = len(records.header.samples) > 0
        has_ps = "PS" in records.header.formats
        left_aligned = plan.ref_checked  # norm -f ran: no shifted spellings
        has_end = "END" in records.header.info
        for record in records:
            sample = record.samples[0] if has_sample else None
            normal = record.samples[1] if has_normal else None
            alts = record.alts
            if not alts or alts[0] in ("*", "."):
                # a reference call (or a gVCF block to END) still counts as genotyped
                end = record.info.get("END") if has_end else None
                if collector.may_matter(
                    record.chrom, record.pos, (end or record.pos) - record.pos + 1
                ):
                    germline_sample = normal if has_normal else sample
                    collector.mark_read(
                        record.chrom,
                        record.pos,
                        _sample_call(record, germline_sample, reader, has_ps, tally),
                        end,
                    )
                continue
            tally.alleles_seen += 1
            chrom, pos, ref, alt = record.chrom, record.pos, record.ref or "", alts[0]
            call = _genotype(sample, has_ps)
            support = checked(reader.read(record, sample), tally, f"{chrom}:{pos}")
            filters = cast(list[str], list(record.filter.keys()))  # htslib's names
            if collector.may_matter(chrom, pos, len(ref)):
                tumour = call.with_support(support)
                collector.offer(
                    chrom=chrom,
                    pos=pos,
                    ref=ref,
                    alt=alt,
                    germline=(
                        _sample_call(record, normal, reader, has_ps, tally)
                        if has_normal
                        else tumour
                    ),
                    tumour=tumour if has_normal else None,
                    filters=filters,
                    left_aligned=left_aligned,
                )
            copies = _alt_copies(call.gt)
            reason = qc_reason(
                filters=filters, support=support, thresholds=settings.filters, tally=tally
            )
            if reason is None and copies == 0:
                if reads_show_alt(support, settings.filters):
                    copies = None  # a placeholder GT (Pindel's 0/0): the reads say it is there
                else:
                    reason = "not_in_tumour"  # no ALT copy by GT, nor in the reads
            annotations = None
            if reason == "filter_not_pass" and set(filters) <= germline_filters:
                # A germline carrier of a BRCA/PALB2/mismatch-repair truncation, filtered by
                # the caller as germline, is who the platinum evidence is about: kept.
                annotations = tuple(consequence_reader.read(record, (ref, alt)))
                if any(a.gene in referral_genes for a in annotations):
                    reason = None
                    tally.germline_kept += 1
            if reason is not None:
                tally.filtered[reason] += 1
                continue
            tally.passing += 1
            variant = Variant(
                chrom,
                pos,
                ref,
                alt,
                annotations
                if annotations is not None
                else tuple(consequence_reader.read(record, (ref, alt))),
                _gt_text(call.gt, call.phased),
                copies,
                support,
                tuple(filters),
            )
            hits = match_variant(
                variant, kb, build=settings.build, primary_site=patient.primary_site
            )
            candidates += [
                Candidate(a, variant.vaf, variant.filters)
                for a in variant.annotations
                if a.gene in finding_genes
            ]
            germline = ""
            if hits:
                matches.extend(hits)
                if any(m.row.effect == "allele_function" for m in hits):
                    germline = germline_check(variant.vaf, copies or 1)
            _write_variant(out, writer, _variant_cells(variant, germline))
    return evaluation


def write_outputs(
    evaluation: Evaluation,
    *,
    plan: AnnotationPlan,
    patient: Patient,
    settings: Settings,
    kb: KnowledgeBase,
    cohort: str | None,
    work: Path,
    folder: Path,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Stage 4, once every record was read and bcftools ended well: the pharmacogene calls, the
    ranking, matches.tsv and recommendation.json (checked against the contract's schema). The
    three files are written in `work` (variants.tsv already is) and moved into `folder` together
    at the end, so a failure leaves none of them behind. Returns the recommendation."""
    pgx = evaluation.collector.call()
    matches = evaluation.matches
    _write_matches(work / "matches.tsv", matches)
    ranked = rank_regimens(
        kb,
        patient=PatientContext(
            patient.primary_site,
            patient.prior_drugs,
            patient.crcl_ml_min,
            patient.bilirubin_x_uln,
            patient.child_pugh,
        ),
        matches=matches,
        pgx=pgx,
        weights=settings.ranking,
    )
    recommendation = {
        "schema_version": vocab.RECOMMENDATION_SCHEMA_VERSION,
        "patient_id": patient.patient_id,
        "primary_site": patient.primary_site,
        "cohort": cohort,
        "prior_drugs": list(patient.prior_drugs),
        "crcl_ml_min": patient.crcl_ml_min,
        "bilirubin_x_uln": patient.bilirubin_x_uln,
        "child_pugh": patient.child_pugh,
        # only when the sheet gives some, so a sheet without them keeps its digests
        **({"identifiers": dict(patient.identifiers)} if patient.identifiers else {}),
        "summary": summary_line(ranked, patient.primary_site),
        "regimens": [r.as_dict() for r in ranked],
        "pgx": {gene: call.as_dict() for gene, call in pgx.items()},
        "evidence": cited_evidence(ranked, kb),
        "findings": findings_for(evaluation.candidates, kb.findings, patient.primary_site),
        "qc": _qc(plan, evaluation.tally, evaluation.reader),
        "provenance": _provenance(patient, plan, settings, kb, now),
    }
    validate_recommendation(recommendation, patient=patient.patient_id)
    (work / "recommendation.json").write_text(
        # strict JSON: a NaN or an infinity anywhere is a bug to stop on, not an output
        json.dumps(recommendation, indent=2, ensure_ascii=False, allow_nan=False) + "\n",
        encoding="utf-8",
    )
    for name in OUTPUT_FILES:
        os.replace(work / name, folder / name)
    tally = evaluation.tally
    log.info(
        "%s: %d alleles, %d passing QC, %d matches; rank 1: %s (%s)",
        patient.patient_id,
        tally.alleles_seen,
        tally.passing,
        len(matches),
        ranked[0].regimen.regimen_id,
        ranked[0].status,
    )
    return recommendation


# What the analysis writes for each patient, in its folder.
OUTPUT_FILES = ("variants.tsv", "matches.tsv", "recommendation.json")


def _variant_cells(v: Variant, germline: str = "") -> tuple[str, ...]:
    """One row of variants.tsv, in column order: the allele's cells and the germline check."""
    cells = v.cells()
    cells["germline_check"] = germline
    return _VARIANT_CELLS(cells)


_VARIANT_CELLS = operator.itemgetter(*vocab.VARIANT_COLUMNS)
_VARIANT_TABS = len(vocab.VARIANT_COLUMNS) - 1


def _write_variant(out: Any, writer: Any, cells: tuple[str, ...]) -> None:
    """One row of variants.tsv: joined directly (csv.writer was a fifth of a WES patient's
    time), through csv.writer when a cell needs quoting (a `"` or a line break that an
    annotation field brought in)."""
    line = "\t".join(cells)
    if line.count("\t") == _VARIANT_TABS and not _NEEDS_QUOTING.search(line):
        out.write(line + "\n")
    else:
        writer.writerow(cells)


_NEEDS_QUOTING = re.compile(r'["\r\n]')


def _write_matches(path: Path, matches: list[Match]) -> None:
    rows = []
    for m in matches:
        allele = m.variant.cells()
        values = {
            "kb_id": m.row.kb_id,
            "gene": m.row.gene,
            "alteration": m.row.alteration_text,
            "chrom": allele["chrom"],
            "pos": allele["pos"],
            "ref": allele["ref"],
            "alt": allele["alt"],
            "protein_change": m.annotation.protein_change if m.annotation else "",
            "match_level": m.level,
            "drug": ";".join(m.row.drugs),
            "effect": m.row.effect,
            "evidence_level": m.row.evidence_level,
            "tumour_context_fit": m.context_fit,
            "source": m.row.source,
        }
        rows.append([inert(_cell(values[c])) for c in vocab.MATCH_COLUMNS])
    rows.sort(key=lambda r: (r[0], r[3], int(r[4]), r[5], r[6]))
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerow(vocab.MATCH_COLUMNS)
        writer.writerows(rows)


def _qc(plan: AnnotationPlan, tally: QcTally, reader: SupportReader) -> dict[str, Any]:
    unknown = {k: v for k, v in sorted(tally.unknown.items()) if v}
    warnings = list(plan.warnings)
    for name, count in sorted(tally.invalid.items()):
        warnings.append(
            f"{count} {name} value(s) outside what the field can hold were left out (first at "
            f"{tally.invalid_first[name]}): thresholds did not use them"
        )
    if unknown:
        warnings.append(
            "Alleles without "
            + ", ".join(sorted(unknown))
            + " values were kept: a threshold cannot be applied to an unknown value."
        )
    if unread := unread_support_warning(reader, tally):
        warnings.append(unread)
    return {
        "records_read": plan.facts.records_read,
        "alleles_after_split": tally.alleles_seen,
        "records_passing": tally.passing,
        "germline_filtered_kept": tally.germline_kept,
        "structural_left_out": plan.facts.structural_records,
        "unusable_left_out": len(plan.facts.unusable),
        "filtered": dict(sorted(tally.filtered.items())),
        "unknown_values_kept": unknown,
        "tumour_sample": plan.facts.tumour_sample,
        "caller": reader.caller,
        "annotation": plan.source,
        "ref_checked": plan.ref_checked,
        "build_check": plan.facts.build_check,
        "warnings": warnings,
    }


def _provenance(
    patient: Patient,
    plan: AnnotationPlan,
    settings: Settings,
    kb: KnowledgeBase,
    now: datetime | None,
) -> dict[str, Any]:
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "pipeline_version": __version__,
        "knowledge_version": kb.version,
        "knowledge_sha256": kb.sha256,
        "vcf": str(patient.vcf),
        "vcf_sha256": sha256_file(patient.vcf),
        "reference_build": settings.build,
        "reference_fasta": str(settings.fasta) if settings.fasta else None,
        "annotation": plan.source,
        "tools": {
            "pysam": pysam.__version__,
            "htslib": pysam.version.__htslib_version__,  # type: ignore[attr-defined]
            "bcftools": pysam.__samtools_version__,  # pysam bundles matching releases
        },
        "config": {"filters": settings.filters, "ranking": settings.ranking},
        "generated_at": stamp,
    }


@lru_cache(maxsize=1)  # once per process: an analysis job validates every patient's output
def _recommendation_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(schema_path("recommendation.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def validate_recommendation(recommendation: dict[str, Any], *, patient: str) -> None:
    """Check the output against the contract's schema before it is written."""
    error = jsonschema.exceptions.best_match(
        _recommendation_validator().iter_errors(recommendation)
    )
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path)
        raise HaicgxError(
            f"patient {patient}: recommendation.json would break the contract schema at "
            f"{where or 'top level'}: {error.message}"
        )
