"""The controlled vocabulary of haicgx: one place for every name the code and files share.

Drug names are INNs in lower case; aliases map what people type (``5-FU``, ``FUDR``) to them.
Column names of the per-patient tables live here so that writers, readers and tests agree.
"""

from __future__ import annotations

PRIMARY_SITES: tuple[str, ...] = (
    "colorectal",
    "gastric",
    "pancreatic",
    "biliary",
    "breast",
    "hcc",
    "other",
)

# INN -> drug class. The class decides which pharmacogenomic rules can bear on a drug.
DRUGS: dict[str, str] = {
    "fluorouracil": "fluoropyrimidine",
    "capecitabine": "fluoropyrimidine",
    "tegafur": "fluoropyrimidine",
    "floxuridine": "fluoropyrimidine",
    "raltitrexed": "antifolate",
    "oxaliplatin": "platinum",
    "cisplatin": "platinum",
    "carboplatin": "platinum",
    "gemcitabine": "nucleoside analogue",
    "irinotecan": "topoisomerase I inhibitor",
    "mitomycin": "alkylating antibiotic",
    "doxorubicin": "anthracycline",
    "epirubicin": "anthracycline",
    "paclitaxel": "taxane",
    "folinic acid": "folate",
    "camrelizumab": "anti-PD-1",
    "bevacizumab": "anti-VEGF",
}

# Drug classes that support another drug rather than act on the tumour (never "the" regimen drug).
SUPPORTIVE_CLASSES: frozenset[str] = frozenset({"folate"})

DRUG_ALIASES: dict[str, str] = {
    "5-fu": "fluorouracil",
    "5fu": "fluorouracil",
    "5-fluorouracil": "fluorouracil",
    "fudr": "floxuridine",
    "fluorodeoxyuridine": "floxuridine",
    "s-1": "tegafur",
    "s1": "tegafur",
    "leucovorin": "folinic acid",
    "calcium folinate": "folinic acid",
    "levoleucovorin": "folinic acid",
    "mitomycin c": "mitomycin",
    "mmc": "mitomycin",
    "adriamycin": "doxorubicin",
    "tomudex": "raltitrexed",
    "xeloda": "capecitabine",
    "gemzar": "gemcitabine",
    "cpt-11": "irinotecan",
    "eloxatin": "oxaliplatin",
}


# Regimen acronyms people write in `prior_drugs`, each with its drugs (folinic acid, a modulator,
# is left out: its failure says nothing). One place for them; an acronym stands for its drugs.
REGIMEN_ACRONYMS: dict[str, tuple[str, ...]] = {
    "folfox": ("fluorouracil", "oxaliplatin"),
    "mfolfox6": ("fluorouracil", "oxaliplatin"),
    "folfox4": ("fluorouracil", "oxaliplatin"),
    "capox": ("capecitabine", "oxaliplatin"),
    "xelox": ("capecitabine", "oxaliplatin"),
    "folfiri": ("fluorouracil", "irinotecan"),
    "folfirinox": ("fluorouracil", "irinotecan", "oxaliplatin"),
    "mfolfirinox": ("fluorouracil", "irinotecan", "oxaliplatin"),
    "folfoxiri": ("fluorouracil", "oxaliplatin", "irinotecan"),
    "xeliri": ("capecitabine", "irinotecan"),
    "capiri": ("capecitabine", "irinotecan"),
    "gemox": ("gemcitabine", "oxaliplatin"),
    "gemcis": ("gemcitabine", "cisplatin"),
    "gc": ("gemcitabine", "cisplatin"),
    "sox": ("tegafur", "oxaliplatin"),
    "fp": ("fluorouracil", "cisplatin"),
    "pf": ("fluorouracil", "cisplatin"),
    "xp": ("capecitabine", "cisplatin"),
    "cf": ("fluorouracil", "cisplatin"),
    "ecf": ("epirubicin", "cisplatin", "fluorouracil"),
    "eox": ("epirubicin", "oxaliplatin", "capecitabine"),
    "lv5fu2": ("fluorouracil",),
    "de gramont": ("fluorouracil",),
    "tomox": ("raltitrexed", "oxaliplatin"),
}


def drugs_named(name: str) -> tuple[str, ...] | None:
    """The INNs a `prior_drugs` entry stands for (a drug, an alias or a regimen acronym), any
    case; None if unknown.

    >>> drugs_named("mFOLFOX6"), drugs_named("Xeloda"), drugs_named("FOLFAX") is None
    (('fluorouracil', 'oxaliplatin'), ('capecitabine',), True)
    """
    key = " ".join(name.strip().lower().split())
    if key in REGIMEN_ACRONYMS:
        return REGIMEN_ACRONYMS[key]
    inn = canonical_drug(key)
    return (inn,) if inn else None


def known_drug_names() -> list[str]:
    """Every name `drugs_named` knows, for close-match suggestions."""
    return sorted({*DRUGS, *DRUG_ALIASES, *REGIMEN_ACRONYMS})


def canonical_drug(name: str) -> str | None:
    """Return the INN for a drug name or alias typed in any case, or None if unknown.

    >>> canonical_drug(" 5-FU ")
    'fluorouracil'
    >>> canonical_drug("Oxaliplatin")
    'oxaliplatin'
    >>> canonical_drug("aspirin") is None
    True
    """
    key = " ".join(name.strip().lower().split())
    if key in DRUGS:
        return key
    return DRUG_ALIASES.get(key)


# Knowledge-row effects. `allele_function` rows define a pharmacogene allele (its function and
# activity value); the drug consequences of a phenotype are separate rule rows.
EFFECTS: tuple[str, ...] = (
    "sensitivity",
    "resistance",
    "toxicity",
    "dose_adjustment",
    "contraindication",
    "allele_function",
)

# Evidence levels, strongest first; the knowledge README maps other schemes onto them.
EVIDENCE_LEVELS: tuple[str, ...] = (
    "guideline",
    "clinical_trial",
    "clinical_cohort",
    "case_report",
    "preclinical",
    "inference",
)

MATCH_LEVELS: tuple[str, ...] = ("genomic", "protein", "codon", "exon", "gene")

ZYGOSITIES: tuple[str, ...] = ("any", "heterozygous", "homozygous")

ALLELE_FUNCTIONS: tuple[str, ...] = (
    "normal_function",
    "decreased_function",
    "no_function",
    "increased_function",
    "uncertain_function",
)

REGIMEN_STATUSES: tuple[str, ...] = ("recommended", "caution", "contraindicated", "excluded")
# Statuses a tumour board may still choose from; the others rank below them.
USABLE_STATUSES: frozenset[str] = frozenset({"recommended", "caution"})

REASON_KINDS: tuple[str, ...] = (
    "sensitivity",
    "resistance",
    "toxicity",
    "dose_adjustment",
    "prior_failure",
    "context",
    "renal",
)

ANNOTATION_SOURCES: tuple[str, ...] = ("csq", "vep", "snpeff", "bcsq", "none")
ANNOTATION_MODES: tuple[str, ...] = ("auto", "csq", "vep", "snpeff", "none")

BUILDS: tuple[str, ...] = ("GRCh38", "GRCh37")

# Per-patient table columns (CONTRACT section 4), in file order.
VARIANT_COLUMNS: tuple[str, ...] = (
    "chrom",
    "pos",
    "ref",
    "alt",
    "gene",
    "consequence",
    "transcript",
    "protein_change",
    "exon",
    "vaf",
    "depth",
    "alt_reads",
    "genotype",
    "filter",
    "germline_check",
)

MATCH_COLUMNS: tuple[str, ...] = (
    "kb_id",
    "gene",
    "alteration",
    "chrom",
    "pos",
    "ref",
    "alt",
    "protein_change",
    "match_level",
    "drug",
    "effect",
    "evidence_level",
    "tumour_context_fit",
    "source",
)

# Knowledge table columns (src/haicgx/data/knowledge/biomarkers.tsv), in file order.
KNOWLEDGE_COLUMNS: tuple[str, ...] = (
    "kb_id",
    "gene",
    "alteration",
    "allele_name",
    "zygosity",
    "drug",
    "effect",
    "evidence_level",
    "tumour_context",
    "allele_function",
    "activity_value",
    "source",
    "note",
    "curated_on",
)

PATIENT_SHEET_COLUMNS: tuple[str, ...] = (
    "patient_id",
    "vcf",
    "primary_site",
    "tumour_sample",
    "prior_drugs",
    "crcl_ml_min",
    "normal_sample",
    "bilirubin_x_uln",
    "child_pugh",
    "specimen_id",
    "assay",
)
# A column a site adds to the sheet for its own identifiers (a hospital number, a biobank id):
# named with this prefix, shown in the report's header, never read by the analysis.
SITE_COLUMN_PREFIX = "site_"
# The sheet columns shown as identifiers in the report's header, in this order before the site's.
IDENTIFIER_COLUMNS: tuple[str, ...] = ("specimen_id", "assay")

RECORD_STATUSES: tuple[str, ...] = (
    "proposed",
    "confirmed",
    "overridden",
    "waitlisted",
    "superseded",
)

RECOMMENDATION_SCHEMA_VERSION = "2"
