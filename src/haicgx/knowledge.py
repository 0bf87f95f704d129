"""The curated knowledge: drug-sensitivity rows (biomarkers.tsv) and HAIC regimens (regimens.yaml).

Both files are validated against their JSON Schemas and cross-checked on load; a bad row stops the
run with the file, the row (line number and kb_id) and the column named. Rows are parsed once into
`Alteration` objects and indexed so that matching a variant is a few dictionary look-ups.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jsonschema
import yaml

from haicgx import vocab
from haicgx.doses import Dose
from haicgx.errors import ConfigError
from haicgx.paths import load_schema

VERSION_PREFIX = "# knowledge_version:"

_GENOMIC = re.compile(
    r"^(GRCh3[78]):(?:chr)?([0-9]{1,2}|X|Y|M|MT):([1-9][0-9]*):([ACGT]+):([ACGT]+)$"
)
_PROTEIN = re.compile(r"^p\.([A-Z*])([1-9][0-9]*)([A-Z*]|fs)$")
_CODON = re.compile(r"^p\.([A-Z*])([1-9][0-9]*)$")
_EXON = re.compile(r"^exon([1-9][0-9]*):(deletion|insertion|missense|truncating|any)$")
_SCORE = re.compile(r"^activity_score:([0-9.]+)-([0-9.]+)$")
_PHENOTYPE = re.compile(r"^phenotype:([a-z_]+)$")
VARIANT_CLASSES = ("truncating", "missense", "inframe", "any")
# An allele row of another build than GRCh38 carries the GRCh38 row's kb_id with this suffix: the
# same allele (its function and value are the GRCh38 row's, checked on load), other coordinates.
BUILD_ROW_SUFFIX = {"GRCh37": "-GRCH37"}


def allele_stem(kb_id: str) -> str:
    """The build-independent id of an allele row.

    >>> allele_stem("DPYD-RS3918290-GRCH37"), allele_stem("DPYD-RS3918290")
    ('DPYD-RS3918290', 'DPYD-RS3918290')
    """
    for suffix in BUILD_ROW_SUFFIX.values():
        if kb_id.endswith(suffix):
            return kb_id[: -len(suffix)]
    return kb_id


@lru_cache(maxsize=1024)  # asked for every record; a VCF names a few dozen contigs
def normalise_chrom(chrom: str) -> str:
    """Contig name without a `chr` prefix, mitochondria as `M`.

    >>> [normalise_chrom(c) for c in ("chr7", "7", "MT", "chrM")]
    ['7', '7', 'M', 'M']
    """
    name = chrom[3:] if chrom.lower().startswith("chr") else chrom
    return "M" if name.upper() in ("M", "MT") else name


def trim_allele(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Minimal VCF representation: drop the shared suffix, then the shared prefix, keeping one base.

    >>> trim_allele(233760233, "CAT", "CATAT")
    (233760233, 'C', 'CAT')
    >>> trim_allele(100, "GATGA", "GA")
    (100, 'GATG', 'G')
    >>> trim_allele(10, "CTT", "CAT")
    (11, 'T', 'A')
    """
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt


@dataclass(frozen=True)
class Alteration:
    """One parsed `alteration` cell; `level` says which part of the grammar it uses."""

    level: str  # genomic, protein, codon, exon, gene, activity_score, phenotype
    build: str | None = None
    chrom: str | None = None
    pos: int | None = None
    ref: str | None = None
    alt: str | None = None
    protein: str | None = None  # "G12D" / "Q23*" / "K150fs"
    codon: str | None = None  # "G12"
    exon: int | None = None
    variant_class: str | None = None  # truncating, missense, inframe, any, deletion, insertion
    score_range: tuple[float, float] | None = None
    phenotype: str | None = None

    @classmethod
    def parse(cls, text: str) -> Alteration:
        """Parse one cell of the grammar documented in src/haicgx/data/knowledge/README.md.

        >>> Alteration.parse("GRCh38:chr2:233760233:CAT:CATAT").alt
        'CAT'
        >>> Alteration.parse("p.G12").codon
        'G12'
        >>> Alteration.parse("activity_score:0-0.5").score_range
        (0.0, 0.5)
        """
        if m := _GENOMIC.match(text):
            pos, ref, alt = trim_allele(int(m[3]), m[4], m[5])
            return cls(
                "genomic", build=m[1], chrom=normalise_chrom(m[2]), pos=pos, ref=ref, alt=alt
            )
        if m := _PROTEIN.match(text):
            return cls("protein", protein=f"{m[1]}{m[2]}{m[3]}", codon=f"{m[1]}{m[2]}")
        if m := _CODON.match(text):
            return cls("codon", codon=f"{m[1]}{m[2]}")
        if m := _EXON.match(text):
            return cls("exon", exon=int(m[1]), variant_class=m[2])
        if text in VARIANT_CLASSES:
            return cls("gene", variant_class=text)
        if m := _SCORE.match(text):
            low, high = float(m[1]), float(m[2])
            if low > high:
                raise ValueError(f"activity score range {text!r} runs backwards")
            return cls("activity_score", score_range=(low, high))
        if m := _PHENOTYPE.match(text):
            return cls("phenotype", phenotype=m[1])
        raise ValueError(f"{text!r} is not in the alteration grammar")

    @property
    def is_rule(self) -> bool:
        """Phenotype rules act through a pharmacogenomic call, not through one variant."""
        return self.level in ("activity_score", "phenotype")


@dataclass(frozen=True)
class KnowledgeRow:
    kb_id: str
    gene: str
    alteration_text: str
    alteration: Alteration
    allele_name: str
    zygosity: str
    drugs: tuple[str, ...]
    effect: str
    evidence_level: str
    tumour_context: tuple[str, ...]  # ("any",) or primary sites
    allele_function: str
    activity_value: float | None
    source: str
    note: str
    curated_on: str
    line: int

    def context_fit(self, primary_site: str) -> str:
        """`any` for a row of every site, `yes` when it names the patient's site, else `no`."""
        if self.tumour_context == ("any",):
            return "any"
        return "yes" if primary_site in self.tumour_context else "no"


# Strength of the published hepatic-arterial evidence for a regimen in one primary site, strongest
# first (the contract's `site_evidence` enum). Grading rule: src/haicgx/data/knowledge/README.md.
SITE_EVIDENCE_LEVELS: tuple[str, ...] = (
    "randomised",
    "prospective",
    "retrospective",
    "case_series",
    "none",
)
# Fewer patients than this given the regimen, with no randomised comparator, grade as case_series.
CASE_SERIES_BELOW = 20


def evidence_rank(level: str) -> int:
    """Position of a site-evidence level in SITE_EVIDENCE_LEVELS; lower is stronger.

    >>> evidence_rank("randomised") < evidence_rank("case_series") < evidence_rank("none")
    True
    """
    return SITE_EVIDENCE_LEVELS.index(level)


@dataclass(frozen=True)
class SiteEvidence:
    """The strongest published evidence for one regimen in one primary site.

    `sources` are keys of the regimen's sources, the key study first; `n` and the outcome strings
    are the key study's. `n` is None only when it could not be verified ("n" is in `unverified`).
    """

    site: str
    level: str
    n: int | None
    sources: tuple[str, ...]
    orr: str = ""
    pfs: str = ""
    os: str = ""
    note: str = ""
    unverified: tuple[str, ...] = ()


@dataclass(frozen=True)
class Caution:
    """A regimen-level caution with its own knowledge id, quoted by the ranking as a reason."""

    kb_id: str
    kind: str  # toxicity
    text: str
    evidence_level: str
    source: str


@dataclass(frozen=True)
class Regimen:
    regimen_id: str
    name: str
    drugs: tuple[str, ...]
    primary_sites: tuple[str, ...]  # the site_evidence sites, in file order
    schedule: str
    sources: tuple[dict[str, Any], ...]
    notes: str
    site_evidence: Mapping[str, SiteEvidence] = field(default_factory=lambda: MappingProxyType({}))
    cautions: tuple[Caution, ...] = ()
    evidence_gap: bool = False
    doses: tuple[Dose, ...] = ()  # the standard starting doses of the schedule, structured

    def doses_of(self, drug: str) -> list[Dose]:
        """The parts of a drug's standard starting dose (none: no verified dose here)."""
        return [d for d in self.doses if d.drug == drug]

    def evidence_in(self, site: str) -> str:
        """The site-evidence level in a primary site (SITE_EVIDENCE_LEVELS; "none" if absent)."""
        entry = self.site_evidence.get(site)
        return entry.level if entry else "none"

    def evidence_for(self, site: str) -> SiteEvidence | None:
        return self.site_evidence.get(site)

    @property
    def best_evidence(self) -> str:
        """The strongest level in any site ("none" for an evidence gap)."""
        return min(
            (e.level for e in self.site_evidence.values()), key=evidence_rank, default="none"
        )

    def source(self, key: str) -> dict[str, Any]:
        return next(s for s in self.sources if s["key"] == key)


# Patient values a drug rule can test, with how they read in a sentence.
RULE_PARAMETERS = {
    "crcl_ml_min": ("Creatinine clearance", "mL/min"),
    "bilirubin_x_uln": ("Total bilirubin", "x ULN"),
    "child_pugh": ("Child-Pugh class", ""),
}


@dataclass(frozen=True)
class DrugRule:
    """A label or guideline rule on a patient value (renal or hepatic function) for one drug, or
    for every regimen (`drug: any`, e.g. trial eligibility by Child-Pugh class), in the primary
    sites named (all when none are)."""

    kb_id: str
    drug: str  # an INN of the vocabulary, or "any"
    action: str  # contraindication | dose_adjustment | caution
    text: str
    source: str
    evidence_level: str
    parameter: str = "crcl_ml_min"
    below: float | None = None  # the band: value < below
    at_most: float | None = None  # value <= at_most
    above: float | None = None  # value > above
    classes: tuple[str, ...] = ()  # Child-Pugh classes (A, B, C)
    sites: tuple[str, ...] = ()

    def applies(self, value: float | str) -> bool:
        """Whether the patient's value falls in this rule's band.

        >>> r = DrugRule("X", "raltitrexed", "dose_adjustment", "t", "s", "guideline", at_most=65)
        >>> r.applies(65), r.applies(65.1)
        (True, False)
        """
        if self.classes:
            return isinstance(value, str) and value[:1] in self.classes
        if isinstance(value, str):
            return False
        return (
            (self.below is None or value < self.below)
            and (self.at_most is None or value <= self.at_most)
            and (self.above is None or value > self.above)
        )

    @property
    def width(self) -> float:
        """How narrow the band is, for choosing the most specific of several that apply."""
        upper = min(v for v in (self.below, self.at_most, float("inf")) if v is not None)
        return upper - (self.above if self.above is not None else 0.0)

    @property
    def band(self) -> str:
        """The band in words: `creatinine clearance < 25 mL/min`, `Child-Pugh class B or C`."""
        name, unit = RULE_PARAMETERS[self.parameter]
        if self.classes:
            return f"{name} {' or '.join(self.classes)}"
        parts = []
        if self.above is not None:
            parts.append(f"> {self.above:g}")
        if self.below is not None:
            parts.append(f"< {self.below:g}")
        if self.at_most is not None:
            parts.append(f"<= {self.at_most:g}")
        return f"{name.lower()} {' and '.join(parts)} {unit}".strip()


@dataclass
class KnowledgeBase:
    """The loaded knowledge set, indexed for matching."""

    rows: list[KnowledgeRow]
    regimens: list[Regimen]
    base_order: dict[str, list[str]]
    drug_rules: list[DrugRule]
    version: str
    sha256: str
    paths: dict[str, str] = field(default_factory=dict)
    findings: Any = None  # haicgx.findings.FindingRules

    @cached_property
    def by_id(self) -> dict[str, KnowledgeRow]:
        return {row.kb_id: row for row in self.rows}

    @cached_property
    def regimens_by_id(self) -> dict[str, Regimen]:
        return {r.regimen_id: r for r in self.regimens}

    @cached_property
    def cautions_by_id(self) -> dict[str, Caution]:
        """Regimen-level cautions by kb_id (a caution shared by several regimens appears once)."""
        return {c.kb_id: c for r in self.regimens for c in r.cautions}

    @cached_property
    def genomic_index(self) -> dict[tuple[str, str, int, str, str], list[KnowledgeRow]]:
        index: dict[tuple[str, str, int, str, str], list[KnowledgeRow]] = defaultdict(list)
        for row in self.rows:
            a = row.alteration
            build, chrom, pos, ref, alt = a.build, a.chrom, a.pos, a.ref, a.alt
            if (
                a.level == "genomic"  # whose parse sets all five
                and build is not None
                and chrom is not None
                and pos is not None
                and ref is not None
                and alt is not None
            ):
                index[(build, chrom, pos, ref, alt)].append(row)
        return dict(index)

    @cached_property
    def gene_index(self) -> dict[str, list[KnowledgeRow]]:
        """Rows matched through a gene's annotation: protein, codon, exon and class levels."""
        index: dict[str, list[KnowledgeRow]] = defaultdict(list)
        for row in self.rows:
            if row.alteration.level in ("protein", "codon", "exon", "gene"):
                index[row.gene].append(row)
        return dict(index)

    def rules_for(self, gene: str) -> list[KnowledgeRow]:
        """Phenotype rule rows of a pharmacogene, in file order."""
        return [r for r in self.rows if r.gene == gene and r.alteration.is_rule]

    def allele_rows(self, gene: str, build: str) -> list[KnowledgeRow]:
        """The allele-definition rows of a pharmacogene on one build."""
        return [
            r
            for r in self.rows
            if r.gene == gene and r.effect == "allele_function" and r.alteration.build == build
        ]


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), "", "file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), f"byte {exc.start}", "not UTF-8 text") from None


def parse_biomarkers(path: Path) -> tuple[list[KnowledgeRow], str]:
    """Read and validate biomarkers.tsv; return its rows and its knowledge version."""
    text = _read_text(path)
    lines = text.splitlines()
    version = ""
    header_at = 0
    for i, line in enumerate(lines):
        if line.startswith(VERSION_PREFIX):
            version = line[len(VERSION_PREFIX) :].strip()
        if not line.startswith("#"):
            header_at = i
            break
    if not version:
        raise ConfigError(str(path), "line 1", f"missing '{VERSION_PREFIX} X' line")
    reader = csv.reader(io.StringIO("\n".join(lines[header_at:])), delimiter="\t")
    header = next(reader, None)
    if header != list(vocab.KNOWLEDGE_COLUMNS):
        raise ConfigError(
            str(path),
            f"line {header_at + 1}",
            f"header must be the columns {', '.join(vocab.KNOWLEDGE_COLUMNS)} in that order",
        )
    validator = jsonschema.Draft202012Validator(load_schema("biomarkers.schema.yaml"))
    rows: list[KnowledgeRow] = []
    seen: dict[str, int] = {}
    for offset, cells in enumerate(reader, start=header_at + 2):
        if not cells or all(not c.strip() for c in cells):
            continue
        where = f"line {offset}"
        if len(cells) != len(vocab.KNOWLEDGE_COLUMNS):
            raise ConfigError(
                str(path),
                where,
                f"{len(cells)} columns, expected {len(vocab.KNOWLEDGE_COLUMNS)}",
            )
        record = dict(zip(vocab.KNOWLEDGE_COLUMNS, cells, strict=True))
        where = f"line {offset} ({record['kb_id'] or 'no kb_id'})"
        error = jsonschema.exceptions.best_match(validator.iter_errors(record))
        if error is not None:
            column = error.path[0] if error.path else "row"
            raise ConfigError(str(path), f"{where}, column {column}", _short(error))
        rows.append(_build_row(path, where, offset, record, seen))
    if not rows:
        raise ConfigError(str(path), "", "no knowledge rows")
    _check_build_twins(path, rows)
    return rows, version


_TWIN_FIELDS = ("gene", "allele_name", "zygosity", "effect", "allele_function", "activity_value")


def _check_build_twins(path: Path, rows: list[KnowledgeRow]) -> None:
    """A pharmacogene allele row of a build other than GRCh38 restates a GRCh38 row's allele on
    other coordinates: its kb_id is the GRCh38 row's plus the build's suffix, and every fact but
    the coordinates is the same (one place for an allele's function and value)."""
    by_id = {r.kb_id: r for r in rows}
    for row in rows:
        build = row.alteration.build
        if build in (None, "GRCh38") or row.effect != "allele_function":
            continue
        suffix = BUILD_ROW_SUFFIX.get(build, "")
        twin = by_id.get(row.kb_id[: -len(suffix)]) if row.kb_id.endswith(suffix) else None
        where = f"line {row.line} ({row.kb_id}), column kb_id"
        if twin is None or twin.alteration.build != "GRCh38":
            raise ConfigError(
                str(path), where, f"a {build} row needs a GRCh38 row of id X and the id X{suffix}"
            )
        differ = [f for f in _TWIN_FIELDS if getattr(row, f) != getattr(twin, f)]
        if differ:
            raise ConfigError(str(path), where, f"differs from {twin.kb_id} in {', '.join(differ)}")


def _short(error: jsonschema.ValidationError) -> str:
    message = error.message
    return message if len(message) <= 200 else message[:197] + "..."


def _build_row(
    path: Path, where: str, line: int, record: dict[str, str], seen: dict[str, int]
) -> KnowledgeRow:
    def fail(column: str, problem: str) -> ConfigError:
        return ConfigError(str(path), f"{where}, column {column}", problem)

    kb_id = record["kb_id"]
    if kb_id in seen:
        raise fail("kb_id", f"duplicate kb_id, first used on line {seen[kb_id]}")
    seen[kb_id] = line
    try:
        alteration = Alteration.parse(record["alteration"])
    except ValueError as exc:
        raise fail("alteration", str(exc)) from None
    drugs = tuple(d.strip() for d in record["drug"].split(";"))
    for drug in drugs:
        if drug not in vocab.DRUGS:
            raise fail("drug", f"{drug!r} is not an INN of the vocabulary (haicgx.vocab.DRUGS)")
    context = tuple(record["tumour_context"].split(";"))
    for site in context:
        if site != "any" and site not in vocab.PRIMARY_SITES:
            raise fail("tumour_context", f"unknown primary site {site!r}")
    effect = record["effect"]
    if effect == "allele_function":
        if alteration.level != "genomic":
            raise fail("alteration", "an allele_function row must name an exact genomic allele")
        if not record["allele_function"]:
            raise fail("allele_function", "required when effect is allele_function")
    elif record["allele_function"] or record["activity_value"]:
        raise fail("allele_function", "only allele_function rows carry a function or value")
    if alteration.is_rule and effect in ("sensitivity", "resistance", "allele_function"):
        raise fail("effect", f"a phenotype rule cannot carry effect {effect!r}")
    if record["evidence_level"] == "inference" and effect in ("contraindication",):
        raise fail("evidence_level", "an inference may only raise a caution, not contraindicate")
    value = float(record["activity_value"]) if record["activity_value"] else None
    return KnowledgeRow(
        kb_id=kb_id,
        gene=record["gene"],
        alteration_text=record["alteration"],
        alteration=alteration,
        allele_name=record["allele_name"],
        zygosity=record["zygosity"],
        drugs=drugs,
        effect=effect,
        evidence_level=record["evidence_level"],
        tumour_context=context,
        allele_function=record["allele_function"],
        activity_value=value,
        source=record["source"],
        note=record["note"],
        curated_on=record["curated_on"],
        line=line,
    )


def parse_regimens(
    path: Path,
) -> tuple[list[Regimen], dict[str, list[str]], list[DrugRule], str]:
    """Read and validate regimens.yaml: regimens, base order per site, renal rules, version."""
    try:
        data = yaml.safe_load(_read_text(path))
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), "", f"not valid YAML: {exc}") from None
    validator = jsonschema.Draft202012Validator(load_schema("regimens.schema.yaml"))
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "top level"
        raise ConfigError(str(path), where, _short(error))
    regimens = [_build_regimen(path, i, item) for i, item in enumerate(data["regimens"])]
    ids = [r.regimen_id for r in regimens]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise ConfigError(str(path), "regimens", f"duplicate regimen id {dup!r}")
    _check_cautions(path, regimens)
    base_order = data["base_order"]
    by_id = {r.regimen_id: r for r in regimens}
    for site, order in base_order.items():
        where = f"base_order/{site}"
        if site not in vocab.PRIMARY_SITES:
            raise ConfigError(str(path), where, "unknown primary site")
        unknown = [r for r in order if r not in by_id]
        if unknown or len(set(order)) != len(order):
            raise ConfigError(str(path), where, f"unknown or repeated regimen ids {unknown}")
        missing = [r for r in ids if r not in order]
        if missing:
            raise ConfigError(str(path), where, f"regimens missing from the order: {missing}")
        ranks = [evidence_rank(by_id[r].evidence_in(site)) for r in order]
        for before, after, rid in zip(ranks, ranks[1:], order[1:], strict=False):
            if after < before:
                raise ConfigError(
                    str(path),
                    where,
                    f"{rid!r} has {by_id[rid].evidence_in(site)} evidence in {site} but comes "
                    "after a regimen with weaker evidence: order by site evidence, strongest first",
                )
    rules = []
    for i, rule in enumerate(data["drug_rules"]):
        if rule["drug"] != "any" and rule["drug"] not in vocab.DRUGS:
            raise ConfigError(str(path), f"drug_rules/{i}", f"unknown drug {rule['drug']!r}")
        bounded = [k for k in ("below", "at_most", "above", "classes") if k in rule]
        if not bounded or ("classes" in rule) != (rule.get("parameter") == "child_pugh"):
            raise ConfigError(
                str(path),
                f"drug_rules/{i}",
                "a rule needs a band: below/at_most/above for a number, classes for Child-Pugh",
            )
        fields = {
            **rule,
            "classes": tuple(rule.get("classes", ())),
            "sites": tuple(rule.get("sites", ())),
        }
        rules.append(DrugRule(**fields))
    return regimens, base_order, rules, str(data["version"])


_SOURCE_GRADED = ("design", "finding")  # a source with either unverified cannot support a level


def _build_regimen(path: Path, index: int, item: dict[str, Any]) -> Regimen:
    """One regimen, cross-checked: INNs, sources, site evidence and primary sites."""
    where = f"regimens/{index} ({item['id']})"

    def fail(problem: str, at: str = "") -> ConfigError:
        return ConfigError(str(path), f"{where}{'/' + at if at else ''}", problem)

    for drug in item["drugs"]:
        if drug not in vocab.DRUGS:
            raise fail(f"{drug!r} is not an INN of the vocabulary")
    sources = {}
    for src in item["sources"]:
        key = src["key"]
        if key in sources:
            raise fail(f"source key {key!r} used twice", "sources")
        if "verified_at" not in src and not src.get("unverified"):
            raise fail(f"source {key!r} needs verified_at or an unverified list", "sources")
        sources[key] = src
    evidence: dict[str, SiteEvidence] = {}
    for site, entry in item["site_evidence"].items():  # file order; the schema checks the codes
        evidence[site] = _site_evidence(site, entry, sources, fail)
    if bool(evidence) == bool(item.get("evidence_gap", False)):
        raise fail(
            "site_evidence must name at least one site, or be empty with evidence_gap: true",
            "site_evidence",
        )
    doses = tuple(Dose.of(d) for d in item.get("doses", []))
    for dose in doses:
        if dose.drug not in item["drugs"]:
            raise fail(f"a dose of {dose.drug!r}, which is not one of the regimen's drugs", "doses")
        if not dose.written_in(item.get("schedule", "")):
            raise fail(
                f"the {dose.drug} dose {dose.amount()} is not written in the schedule sentence, "
                "which names its source: write it there first",
                "doses",
            )
    sites = tuple(evidence)
    if "primary_sites" in item and set(item["primary_sites"]) != set(sites):
        raise fail(
            f"primary_sites {sorted(item['primary_sites'])} disagree with the site_evidence sites "
            f"{sorted(sites)}; drop primary_sites (it is derived) or make them agree",
            "primary_sites",
        )
    return Regimen(
        regimen_id=item["id"],
        name=item["name"],
        drugs=tuple(item["drugs"]),
        primary_sites=sites,
        schedule=item.get("schedule", ""),
        sources=tuple(item["sources"]),
        notes=item.get("notes", ""),
        site_evidence=MappingProxyType(evidence),
        cautions=tuple(Caution(**c) for c in item.get("cautions", [])),
        evidence_gap=bool(item.get("evidence_gap", False)),
        doses=doses,
    )


def _site_evidence(
    site: str,
    entry: dict[str, Any],
    sources: dict[str, dict[str, Any]],
    fail: Callable[..., ConfigError],
) -> SiteEvidence:
    """One site_evidence entry; its sources must exist and be verified, its level fit its n."""
    at = f"site_evidence/{site}"
    for key in entry["sources"]:
        if key not in sources:
            raise fail(f"unknown source key {key!r}", at)
        src = sources[key]
        if "verified_at" not in src or set(src.get("unverified", ())) & set(_SOURCE_GRADED):
            raise fail(f"source {key!r} is not verified and cannot support a level", at)
    unverified = tuple(entry.get("unverified", ()))
    n = entry.get("n")
    if n is None and "n" not in unverified:
        raise fail("n is required unless listed as unverified", at)
    if n is not None and "n" in unverified:
        raise fail("an unverified n is left out, not written", at)
    level = entry["level"]
    if level in ("prospective", "retrospective") and n is not None and n < CASE_SERIES_BELOW:
        raise fail(
            f"{n} patients without a randomised comparator grade as case_series, not {level}", at
        )
    return SiteEvidence(
        site=site,
        level=level,
        n=n,
        sources=tuple(entry["sources"]),
        orr=entry.get("orr", ""),
        pfs=entry.get("pfs", ""),
        os=entry.get("os", ""),
        note=entry.get("note", ""),
        unverified=unverified,
    )


def _check_cautions(path: Path, regimens: list[Regimen]) -> None:
    """A caution kb_id shared by several regimens must carry the same fact each time."""
    seen: dict[str, tuple[str, Caution]] = {}
    for regimen in regimens:
        for caution in regimen.cautions:
            first = seen.setdefault(caution.kb_id, (regimen.regimen_id, caution))
            if first[1] != caution:
                raise ConfigError(
                    str(path),
                    f"regimens ({regimen.regimen_id})/cautions",
                    f"caution {caution.kb_id!r} differs from the one of that id in {first[0]!r}",
                )


def knowledge_sha256(*paths: Path) -> str:
    """One digest over the knowledge files, in the order given (their bytes and their names)."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def load_knowledge(biomarkers: Path, regimens: Path, findings: Path | None = None) -> KnowledgeBase:
    """Load, validate and cross-check the knowledge set (`findings`: default the bundled one)."""
    from haicgx.findings import BUNDLED_FINDINGS, parse_findings  # it builds on this module

    findings = findings or BUNDLED_FINDINGS
    finding_rules = parse_findings(findings)
    rows, version = parse_biomarkers(biomarkers)
    regimen_list, base_order, renal, regimen_version = parse_regimens(regimens)
    if regimen_version != version:
        raise ConfigError(
            str(regimens),
            "version",
            f"{regimen_version!r} differs from the knowledge table's version {version!r}",
        )
    rule_ids = {r.kb_id for r in renal} & {r.kb_id for r in rows}
    if rule_ids:
        raise ConfigError(str(regimens), "drug_rules", f"kb_id used twice: {sorted(rule_ids)}")
    caution_ids = {c.kb_id for r in regimen_list for c in r.cautions}
    clash = caution_ids & ({r.kb_id for r in renal} | {r.kb_id for r in rows})
    if clash:
        raise ConfigError(str(regimens), "cautions", f"kb_id used twice: {sorted(clash)}")
    # A truncation that escapes decay is never counted by a `truncating` row; the report says so
    # for the genes of nmd_escape only, so every such row's gene must be there.
    unexplained = {
        r.gene for r in rows if r.alteration.variant_class == "truncating"
    } - finding_rules.nmd_escape.genes
    if unexplained:
        raise ConfigError(
            str(findings),
            "nmd_escape/genes",
            f"lacks {', '.join(sorted(unexplained))}, which have `truncating` rows in {biomarkers}",
        )
    return KnowledgeBase(
        rows=rows,
        regimens=regimen_list,
        base_order=base_order,
        drug_rules=renal,
        version=version,
        sha256=knowledge_sha256(biomarkers, regimens, findings),
        paths={"biomarkers": str(biomarkers), "regimens": str(regimens), "findings": str(findings)},
        findings=finding_rules,
    )
