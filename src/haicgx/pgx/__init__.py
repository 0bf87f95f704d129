"""Germline pharmacogenomics from a tumour VCF: DPYD activity score and UGT1A1 diplotype.

Allele functions and activity values come from the knowledge table (`allele_function` rows, one
set per genome build), so the table is the one place for them. The rules follow CPIC for DPYD (the
two lowest-function alleles, presumed in trans when unphased; phased genotypes honoured within one
phase set) and CPIC/PharmCAT allele functions for UGT1A1 (*80 combined with *28/*37 on one gene copy
as PharmCAT's *80+*28 and *80+*37).

Where the genotype is read (`genotype_source`): the matched normal sample when the VCF has one,
else the tumour sample. A germline allele the normal carries and the tumour does not is noted as
possible loss of heterozygosity; the call stays the normal's.

How a genotype is read: haicgx.genotype (GT and allele fraction both read; where they disagree the
lower-activity reading sets the status and a note gives the other).

When a gene counts as genotyped: like PharmCAT, by its allele-defining positions (those of the
knowledge table's allele rows for the build). A position is called when the germline sample has a
call there: a variant, a reference call (`0/0`, a record without ALT) or a gVCF block (INFO END)
covering it. A somatic call elsewhere in the gene says nothing about these positions. Status:
`not_assessed` when no position was called (or the build has no allele rows); `indeterminate` when a
position of a decreased- or no-function allele was not called (HapB3's causal SNP and its exonic
proxy count as one), when a zygosity could not be told, or when the alleles found have no CPIC
phenotype (UGT1A1 *80 alone, *6/*80 without the TA repeat); else `assessed`. An indeterminate call
still applies the rules of what was found, which can only overstate the activity: a missing
position can add a decreased-function allele, never remove one.

Indels are matched in their left-aligned form. A VCF not normalised against a reference may write
an allele in a tandem repeat further right (UGT1A1*28 as `chr2:233760248 A>ATA` instead of
`chr2:233760233 C>CAT`); `RepeatAllele` recognises such spellings from the knowledge row and the
record alone, and the output says so.

Modules: `genes` (names and gene facts), `calls` (Observation, PgxCall), `repeat` (repeat-aware
matching), `collector` (reading the VCF, then calling), `dpyd` and `ugt1a1` (each gene's rules).
"""

from __future__ import annotations

from haicgx.pgx.calls import (
    PHENOTYPE_LABELS,
    READING_RULE,
    STATUSES,
    Observation,
    PgxCall,
)
from haicgx.pgx.collector import PgxCollector
from haicgx.pgx.dpyd import activity_score, dpyd_phenotype
from haicgx.pgx.genes import DPYD, GENE_DRUGS, GENE_TEST, PHARMACOGENES, UGT1A1
from haicgx.pgx.repeat import RepeatAllele
from haicgx.pgx.ugt1a1 import Haplotype, ugt1a1_diplotype, ugt1a1_haplotypes

__all__ = [
    "DPYD",
    "GENE_DRUGS",
    "GENE_TEST",
    "PHARMACOGENES",
    "PHENOTYPE_LABELS",
    "READING_RULE",
    "STATUSES",
    "UGT1A1",
    "Haplotype",
    "Observation",
    "PgxCall",
    "PgxCollector",
    "RepeatAllele",
    "activity_score",
    "dpyd_phenotype",
    "ugt1a1_diplotype",
    "ugt1a1_haplotypes",
]
