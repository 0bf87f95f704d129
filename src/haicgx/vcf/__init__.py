"""Reading a patient's tumour VCF safely: structure checks, the tumour sample, the genome build.

Every problem becomes an `InputError` naming the patient, the file, the record where known, and
what is wrong, so that one bad file fails only its own patient with one line.

Modules, in the order `inspect_vcf` runs them:

- ``inspection``: `inspect_vcf`, every check in order, into the file's `VcfFacts`;
- ``lines``: the format from the content, the lines (limits, encoding), opening through htslib;
- ``demo``: the guard refusing a real file under the synthetic demo reference;
- ``scan``: the one pass over the records, running the checks of ``header`` and ``records``;
- ``header``: ##INFO/##FORMAT definitions, the #CHROM line, undeclared keys, samples, lengths;
- ``records``: one record's checks, sort order and duplicates, the unusable-record limits;
- ``samples``: the tumour and the matched normal;
- ``build``: the contigs against the reference, renames, the assembly the header names;
- ``facts``: what the checks learn (`VcfFacts`, `TextScan`, records left out) and `fail`.
"""

from __future__ import annotations

from haicgx.vcf.build import (
    PRIMARY_CHROMOSOMES,
    BuildCheck,
    check_build,
    declared_assembly,
    fasta_contigs,
)
from haicgx.vcf.demo import DEMO_FILE_SOURCE, refuse_synthetic_reference
from haicgx.vcf.facts import (
    MAX_STRUCTURAL_KEPT,
    STRUCTURAL_EXCLUDE,
    UNSEEN_ALLELES,
    Structural,
    TextScan,
    Unusable,
    VcfFacts,
    is_structural,
)
from haicgx.vcf.header import header_contig_lengths, header_samples
from haicgx.vcf.inspection import inspect_vcf
from haicgx.vcf.lines import MAX_LINE_CHARS, open_quietly, open_variant_file, sniff_format
from haicgx.vcf.records import (
    MAX_INFO_BYTES,
    MAX_UNUSABLE_PERCENT,
    MAX_UNUSABLE_RECORDS,
    unusable_warning,
)
from haicgx.vcf.samples import choose_normal, choose_sample
from haicgx.vcf.scan import scan_text

__all__ = [
    "DEMO_FILE_SOURCE",
    "MAX_INFO_BYTES",
    "MAX_LINE_CHARS",
    "MAX_STRUCTURAL_KEPT",
    "MAX_UNUSABLE_PERCENT",
    "MAX_UNUSABLE_RECORDS",
    "PRIMARY_CHROMOSOMES",
    "STRUCTURAL_EXCLUDE",
    "UNSEEN_ALLELES",
    "BuildCheck",
    "Structural",
    "TextScan",
    "Unusable",
    "VcfFacts",
    "check_build",
    "choose_normal",
    "choose_sample",
    "declared_assembly",
    "fasta_contigs",
    "header_contig_lengths",
    "header_samples",
    "inspect_vcf",
    "is_structural",
    "open_quietly",
    "open_variant_file",
    "refuse_synthetic_reference",
    "scan_text",
    "sniff_format",
    "unusable_warning",
]
