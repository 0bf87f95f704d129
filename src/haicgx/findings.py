"""What the tumour board must know that ranks no regimen: targetable alterations, germline
referrals and possible dMMR/MSI-H (CONTRACT section 4, `findings`), from
the bundled knowledge's findings.yaml (src/haicgx/data/knowledge).

Also the curated benign truncations (BRCA2 p.K3326*), which no `truncating` row and no referral may
count as loss of function, and the note for a truncation in a last exon, which escapes
nonsense-mediated decay and no `truncating` row counts either (`Annotation.escapes_nmd`); the
referral and the dMMR note still stand for it: they ask for a test, which the doubt does not remove.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from haicgx.consequence import Annotation
from haicgx.errors import ConfigError
from haicgx.knowledge import Alteration
from haicgx.paths import KNOWLEDGE_DIR, load_schema
from haicgx.qc import GERMLINE_HET, GERMLINE_HOM_MIN

BUNDLED_FINDINGS = KNOWLEDGE_DIR / "findings.yaml"
TRUNCATING = "truncating"


@dataclass(frozen=True)
class FindingEntry:
    """One alteration of the findings file (targetable or benign)."""

    entry_id: str
    gene: str
    alteration: Alteration
    sites: tuple[str, ...]
    text: str
    source: str
    evidence_level: str = ""

    def fits(self, annotation: Annotation) -> bool:
        if annotation.gene != self.gene or not annotation.protein_change.startswith("p."):
            return False
        a = self.alteration
        if a.level == "protein":
            return annotation.protein_change == f"p.{a.protein}"
        change = annotation.protein_change[2:]
        return change.startswith(a.codon or "") and change[len(a.codon or "") :][:1].isalpha()


@dataclass(frozen=True)
class GeneRule:
    rule_id: str
    genes: frozenset[str]
    text: str
    evidence_level: str
    source: str
    caller_filters: frozenset[str] = frozenset()


@dataclass(frozen=True)
class FindingRules:
    targetable: tuple[FindingEntry, ...]
    germline_referral: GeneRule
    msi_dmmr: GeneRule
    nmd_escape: GeneRule
    benign: tuple[FindingEntry, ...]
    version: str

    @property
    def genes(self) -> frozenset[str]:
        """Genes whose variants can give a finding (the evaluation keeps their variants)."""
        return frozenset(
            {e.gene for e in self.targetable}
            | self.germline_referral.genes
            | self.msi_dmmr.genes
            | self.nmd_escape.genes
        )

    def benign_entry(self, annotation: Annotation) -> FindingEntry | None:
        return next((b for b in self.benign if b.fits(annotation)), None)

    def by_id(self) -> dict[str, FindingEntry | GeneRule]:
        out: dict[str, FindingEntry | GeneRule] = {e.entry_id: e for e in self.targetable}
        out |= {b.entry_id: b for b in self.benign}
        out[self.germline_referral.rule_id] = self.germline_referral
        out[self.msi_dmmr.rule_id] = self.msi_dmmr
        out[self.nmd_escape.rule_id] = self.nmd_escape
        return out


def parse_findings(path: Path) -> FindingRules:
    """Read and validate findings.yaml; a bad entry stops the run naming the file and the key."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), "", "file not found") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), "", f"not valid YAML text: {exc}") from None
    schema = load_schema("findings.schema.yaml")
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(data)
    )
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "top level"
        raise ConfigError(str(path), where, error.message[:200])

    def entry(item: dict[str, Any]) -> FindingEntry:
        return FindingEntry(
            item["id"],
            item["gene"],
            Alteration.parse(item["alteration"]),
            tuple(item.get("sites", ["any"])),
            " ".join(item["text"].split()),
            item["source"],
            item.get("evidence_level", ""),
        )

    def rule(item: dict[str, Any]) -> GeneRule:
        return GeneRule(
            item["id"],
            frozenset(item["genes"]),
            " ".join(item["text"].split()),
            item["evidence_level"],
            item["source"],
            frozenset(item.get("caller_filters", ())),
        )

    return FindingRules(
        tuple(entry(i) for i in data["targetable"]),
        rule(data["germline_referral"]),
        rule(data["msi_dmmr"]),
        rule(data["nmd_escape"]),
        tuple(entry(i) for i in data["benign"]),
        str(data["version"]),
    )


@dataclass(frozen=True)
class Candidate:
    """A variant of a findings gene, as the evaluation saw it."""

    annotation: Annotation
    vaf: float | None
    filters: tuple[str, ...]

    @property
    def label(self) -> str:
        a = self.annotation
        return f"{a.gene} {a.protein_change or a.consequence}"


def germline_fraction(vaf: float | None) -> bool:
    """An allele fraction a germline heterozygote or homozygote would show (qc windows)."""
    if vaf is None:
        return False
    low, high = GERMLINE_HET
    return low <= vaf <= high or vaf >= GERMLINE_HOM_MIN


def findings_for(
    candidates: list[Candidate], rules: FindingRules, primary_site: str
) -> list[dict[str, Any]]:
    """The findings of one patient, in a stable order (kind, gene, text)."""
    out: list[dict[str, Any]] = []
    for c in candidates:
        a = c.annotation
        for entry in rules.targetable:
            if entry.fits(a) and ("any" in entry.sites or primary_site in entry.sites):
                out.append(_finding(a.gene, "targetable", entry.text, entry.entry_id))
        if a.variant_class != TRUNCATING:
            continue
        benign = rules.benign_entry(a)
        if benign is not None:
            out.append(_finding(a.gene, "other", f"{c.label}: {benign.text}", benign.entry_id))
            continue
        nmd = rules.nmd_escape
        if a.escapes_nmd and a.gene in nmd.genes:
            where = f"(exon {a.exon} of {a.exon_total}, {a.transcript})"
            out.append(_finding(a.gene, "other", f"{c.label} {where} {nmd.text}", nmd.rule_id))
        referral = rules.germline_referral
        germline_filtered = bool(set(c.filters) & referral.caller_filters)
        if a.gene in referral.genes and (germline_filtered or germline_fraction(c.vaf)):
            why = (
                f"filtered by the caller as germline ({';'.join(c.filters)})"
                if germline_filtered
                else f"allele fraction {c.vaf:g}, as a germline allele would show"
            )
            out.append(
                _finding(
                    a.gene,
                    "germline_referral",
                    f"{c.label} is truncating, {why}: it {referral.text}",
                    referral.rule_id,
                )
            )
        if a.gene in rules.msi_dmmr.genes:
            out.append(
                _finding(
                    a.gene, "msi_dmmr", f"{c.label}: {rules.msi_dmmr.text}", rules.msi_dmmr.rule_id
                )
            )
    unique = {(f["kind"], f["gene"], f["text"]): f for f in out}
    return [unique[k] for k in sorted(unique)]


def _finding(gene: str, kind: str, text: str, kb_id: str) -> dict[str, Any]:
    return {"gene": gene, "kind": kind, "text": text, "kb_ids": [kb_id]}
