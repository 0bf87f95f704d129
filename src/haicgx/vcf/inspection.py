"""`inspect_vcf`: every check on a patient's VCF/BCF, in order, into its `VcfFacts`."""

from __future__ import annotations

from pathlib import Path

from haicgx.settings import is_synthetic_reference
from haicgx.vcf.build import check_build
from haicgx.vcf.demo import early_header, refuse_synthetic_reference
from haicgx.vcf.facts import VcfFacts, fail
from haicgx.vcf.header import additions_warning, header_contig_lengths, header_samples
from haicgx.vcf.lines import check_exists, sniff_format
from haicgx.vcf.records import refuse_many_unusable, unusable_warning
from haicgx.vcf.samples import choose_normal, choose_sample, unused_samples_warning
from haicgx.vcf.scan import read_bcf, scan_text


def inspect_vcf(
    patient: str,
    path: Path,
    *,
    tumour_sample: str | None,
    normal_sample: str | None = None,
    build: str,
    fasta: Path | None,
) -> VcfFacts:
    """Run every structural check on a patient's VCF/BCF and learn what the later stages need.

    Text VCFs (plain, bgzip or gzip) are checked line by line in Python, BCFs through htslib.
    Under the synthetic demo reference, a file that is not a demo file is refused from its header,
    before the records are read.
    """
    check_exists(patient, path)
    early = early_header(path) if is_synthetic_reference(fasta) else None
    if early is not None:
        refuse_synthetic_reference(patient, path, early, fasta)
    if sniff_format(path) == "bcf":
        scan, lengths = read_bcf(patient, path)
    else:
        scan = scan_text(patient, path)
        lengths = header_contig_lengths(scan.header)
    header_lines, n_records, record_contigs = scan.header, scan.records, scan.contigs
    if early is None:
        refuse_synthetic_reference(patient, path, header_lines, fasta)
    additions = scan.header_additions
    if n_records == 0:
        # A tumour VCF without a single call is far more often a failed upstream step than a
        # tumour without variants; ranking on it would read as "nothing actionable found".
        raise fail(patient, path, "no variant records: the file has a header only")
    refuse_many_unusable(patient, path, scan.unusable, n_records)
    if scan.structural_records == n_records:
        # As a header-only file: likely the wrong file (a structural-variant caller's output),
        # and a ranking on no small variants would read as "nothing actionable found".
        raise fail(
            patient,
            path,
            f"structural-variant records only ({n_records}): haicgx needs the small-variant VCF "
            "(SNVs and indels) of this tumour",
        )
    samples = header_samples(header_lines)
    sample = choose_sample(patient, path, samples, header_lines, tumour_sample)
    normal = choose_normal(patient, path, samples, header_lines, normal_sample, sample)
    checked = check_build(
        patient,
        path,
        lengths,
        header_lines,
        build=build,
        fasta=fasta,
        record_contigs=record_contigs,
    )
    warnings = list(checked.warnings) + unused_samples_warning(samples, sample, normal)
    if additions:
        warnings.append(additions_warning(additions))
    if scan.unseen_alleles:
        warnings.append(
            "gVCF/bcftools placeholder alleles (<*>, <NON_REF>) were trimmed; each record's "
            "real alleles were kept, and reference blocks count as reference calls"
        )
    if scan.structural_records:
        warnings.append(
            f"{scan.structural_records} structural-variant record(s) (symbolic ALT or breakend) "
            "were left out: haicgx evaluates small variants only; have them reviewed separately"
        )
    if scan.unusable:
        warnings.append(unusable_warning(scan.unusable))
    return VcfFacts(
        tumour_sample=sample,
        samples=samples,
        normal_sample=normal,
        unseen_alleles=scan.unseen_alleles,
        structural_records=scan.structural_records,
        structural=scan.structural,
        unusable=scan.unusable,
        contig_names=checked.renames,
        build_check=checked.sentence,
        records_read=n_records,
        warnings=warnings,
        build_confirmed=checked.confirmed,
        header_additions=additions,
        excluded_contigs=checked.excluded,
    )
