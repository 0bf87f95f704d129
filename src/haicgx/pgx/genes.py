"""The pharmacogenes haicgx calls and the facts about them that are not knowledge-table rows: the
gene names (the one place for them), which drugs each call bears on and which test replaces it,
HapB3's causal and proxy alleles, c.2846A>T, and the UGT1A1 *80 combinations PharmCAT names."""

from __future__ import annotations

DPYD = "DPYD"
UGT1A1 = "UGT1A1"
PHARMACOGENES = (DPYD, UGT1A1)

# HapB3: the intronic c.1129-5923C>G (rs75017182) is causal; the exonic c.1236G>A (rs56038477)
# only tags the haplotype. Keyed by build: (chrom, pos, ref, alt) of the causal and proxy alleles
# (GRCh37 from PyPGx's variant table, as the knowledge rows).
HAPB3 = {
    "GRCh38": (("1", 97579893, "G", "C"), ("1", 97573863, "C", "T")),
    "GRCh37": (("1", 98045449, "G", "C"), ("1", 98039419, "C", "T")),
}
# c.2846A>T (rs67376798): CPIC notes that homozygotes (activity score 1) may need a starting-dose
# cut of more than 50%.
C2846 = {"GRCh38": ("1", 97082391, "T", "A"), "GRCh37": ("1", 97547947, "T", "A")}

# PharmCAT names *80 together with a TA-repeat allele on one gene copy (*80+*28, *80+*37 in
# UGT1A1_translation.json); CPIC gives the combination the repeat allele's function.
STAR80 = "*80"
COMBINES_WITH_80 = ("*28", "*37")

# What each gene's call bears on, for the messages of a gene that could not be called.
GENE_DRUGS = {
    DPYD: "fluorouracil, capecitabine or tegafur (and floxuridine)",
    UGT1A1: "irinotecan",
}
GENE_TEST = {
    DPYD: "DPYD genotype or DPD activity",
    UGT1A1: "UGT1A1 genotype (with the *28 TA repeat)",
}
