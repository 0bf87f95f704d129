"""The regimen ranking: site evidence first, then failed drug classes, tumour markers of sufficient
grade and tolerability, each deciding only among regimens equal on the terms before it.

The model is written down in docs/ranking.md; the marker weights live in
src/haicgx/data/ranking_weights.yaml. Every regimen gets a status, a rank, its site evidence and the
reasons behind them, each naming its knowledge rows.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from haicgx import vocab
from haicgx.knowledge import (
    RULE_PARAMETERS,
    SITE_EVIDENCE_LEVELS,
    DrugRule,
    KnowledgeBase,
    KnowledgeRow,
    Regimen,
)
from haicgx.match import Match
from haicgx.pgx import DPYD, UGT1A1, PgxCall

# The drug classes a pharmacogene's call bears on (haicgx.vocab.DRUGS classes), and the test a
# board should order when the call is not firm. EMA (2020) and the FDA fluorouracil label (2024)
# ask for DPD testing before fluorouracil, capecitabine or tegafur; DPWG rates UGT1A1 genotyping
# before irinotecan "essential".
UNRESOLVED_PGX = {
    DPYD: ("fluoropyrimidine", "test DPYD (or DPD activity) before the first dose of {drug}"),
    UGT1A1: ("topoisomerase I inhibitor", "test UGT1A1 (with the *28 TA repeat) before {drug}"),
}
# Evidence levels whose rows order regimens (term 3) or count as tolerability (term 4); lower
# grades are listed as reasons only, and an inference never changes the order.
COUNTED_LEVELS = frozenset({"guideline", "clinical_trial", "clinical_cohort"})
_STATUS_GROUP = {"recommended": 0, "caution": 0, "excluded": 1, "contraindicated": 2}
# Drug classes treated as one for prior failure: progression on any fluoropyrimidine (capecitabine
# and tegafur are 5-FU prodrugs, floxuridine its deoxyribonucleoside) is failure of the class.
SHARED_FAILURE_CLASSES = frozenset({"fluoropyrimidine"})


def failure_class(drug: str) -> str:
    """The unit of prior failure: the class for a fluoropyrimidine, else the drug itself.

    >>> failure_class("capecitabine"), failure_class("oxaliplatin")
    ('fluoropyrimidine', 'oxaliplatin')
    """
    drug_class = vocab.DRUGS[drug]
    return drug_class if drug_class in SHARED_FAILURE_CLASSES else drug


@dataclass
class Reason:
    kind: str
    text: str
    kb_ids: list[str]
    advisory: bool = False  # a reminder that changes neither status nor score
    test_first: bool = False  # a pharmacogene to test before the first dose

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "text": self.text,
            "kb_ids": sorted(set(self.kb_ids)),
        }
        if self.test_first:
            out["test_first"] = True
        return out


@dataclass
class RankedRegimen:
    regimen: Regimen
    status: str
    site_evidence: str  # the regimen's evidence in the patient's primary site
    failed_classes: int  # its active drug classes the disease progressed on
    markers: float  # term 3: tumour markers of sufficient grade
    tolerability: float  # term 4: toxicity cautions of sufficient grade
    reasons: list[Reason] = field(default_factory=list)
    rank: int = 0
    base_index: int = 0
    tied_with: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        """The patient's own part of the order: markers minus tolerability."""
        return round(self.markers - self.tolerability, 4)

    @property
    def order_terms(self) -> tuple:
        """Terms 1-4 of docs/ranking.md; regimens equal on them are tied."""
        return (
            SITE_EVIDENCE_LEVELS.index(self.site_evidence),
            self.failed_classes,
            -round(self.markers, 4),
            round(self.tolerability, 4),
        )

    def as_dict(self) -> dict[str, Any]:
        out = {
            "rank": self.rank,
            "regimen_id": self.regimen.regimen_id,
            "name": self.regimen.name,
            "drugs": list(self.regimen.drugs),
            "status": self.status,
            "score": self.score,
            "site_evidence": self.site_evidence,
            "failed_classes": self.failed_classes,
            "reasons": [r.as_dict() for r in self.reasons],
        }
        if self.tied_with:
            out["tied_with"] = list(self.tied_with)
        return out


@dataclass(frozen=True)
class PatientContext:
    primary_site: str
    prior_drugs: tuple[str, ...] = ()
    crcl_ml_min: float | None = None
    bilirubin_x_uln: float | None = None
    child_pugh: str | None = None  # class and score, e.g. A5

    @property
    def failed_classes(self) -> dict[str, list[str]]:
        """Failure class -> the prior drugs of it."""
        out: dict[str, list[str]] = {}
        for drug in self.prior_drugs:
            out.setdefault(failure_class(drug), []).append(drug)
        return out


def _drug_list(drugs: Iterable[str]) -> str:
    items = sorted(set(drugs))
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def action_sentence(row: KnowledgeRow) -> str:
    """The first sentence of a rule row's note: by curation rule, the action in plain words.

    >>> from types import SimpleNamespace as R
    >>> action_sentence(R(note="Start at 50% of the dose. Then titrate.", effect="dose_adjustment"))
    'Start at 50% of the dose.'
    """
    note = " ".join(row.note.split())
    if not note:
        return row.effect.replace("_", " ") + "."
    end = re.search(r"(?<=[.;])\s+(?=[A-Z(])", note)
    return note[: end.start()] if end else note


def _fmt_score(score: float | None) -> str:
    return "unknown" if score is None else f"{score:g}"


class RegimenScorer:
    """Scores and classifies one regimen at a time for one patient."""

    def __init__(
        self,
        kb: KnowledgeBase,
        *,
        patient: PatientContext,
        matches: list[Match],
        pgx: dict[str, PgxCall],
        weights: dict[str, Any],
    ) -> None:
        self.kb = kb
        self.patient = patient
        self.matches = matches
        self.pgx = pgx
        self.weights = weights

    def evidence_weight(self, match: Match) -> float:
        w = self.weights
        return w["evidence_level"][match.row.evidence_level] * w["match_level"][match.level]

    def score(self, regimen: Regimen) -> RankedRegimen:
        drugs = set(regimen.drugs)
        reasons: list[Reason] = []
        flags: set[str] = set()
        markers, tolerability = self._tumour_evidence(drugs, reasons, flags)
        tolerability += self._regimen_cautions(regimen, reasons, flags)
        self._pharmacogenomics(drugs, reasons, flags)
        self._patient_values(drugs, reasons, flags)
        failed = self._prior_failure(regimen, reasons, flags)
        site = self.patient.primary_site
        evidence = regimen.evidence_in(site)
        if evidence == "none":
            studied = ", ".join(regimen.primary_sites) or "no site"
            reasons.append(
                Reason(
                    "context",
                    f"No published hepatic-arterial data for {site} primaries: {regimen.name} was "
                    f"studied in {studied}. It ranks after every regimen with data in {site}.",
                    [],
                )
            )
            flags.add("caution")
        if "contraindicated" in flags:
            status = "contraindicated"
        elif flags & {"caution", "dose_adjustment", "toxicity"}:
            status = "caution"
        else:
            status = "recommended"
        return RankedRegimen(regimen, status, evidence, failed, markers, tolerability, reasons)

    def _prior_failure(self, regimen: Regimen, reasons: list[Reason], flags: set[str]) -> int:
        """Failed drug classes of the regimen (term 2), each a reason; never an exclusion."""
        failed_by_class = self.patient.failed_classes
        active = [d for d in regimen.drugs if vocab.DRUGS[d] not in vocab.SUPPORTIVE_CLASSES]
        failed: list[str] = []
        for drug in regimen.drugs:
            unit = failure_class(drug)
            if unit not in failed_by_class:
                continue
            before = _drug_list(failed_by_class[unit])
            same = "" if failed_by_class[unit] == [drug] else f" (the {vocab.DRUGS[drug]} class)"
            reasons.append(
                Reason(
                    "prior_failure",
                    f"The disease progressed on {before}{same}: {drug} here is a re-challenge.",
                    [],
                )
            )
            flags.add("caution")
            if drug in active and unit not in failed:
                failed.append(unit)
        if "raltitrexed" in regimen.drugs and "fluoropyrimidine" in failed_by_class:
            reasons.append(
                Reason(
                    "prior_failure",
                    "Disease that progressed on fluorouracil-based treatment may also resist "
                    "raltitrexed (Tomudex SmPC section 4.4).",
                    [],
                )
            )
            flags.add("caution")
        if active and len(failed) == len({failure_class(d) for d in active}):
            reasons.append(
                Reason(
                    "prior_failure",
                    f"Every active drug class of {regimen.name} has already failed: hepatic-"
                    "arterial re-challenge after systemic failure has shown responses, but this "
                    "is a re-challenge of the whole regimen.",
                    [],
                )
            )
        return len(failed)

    def _regimen_cautions(self, regimen: Regimen, reasons: list[Reason], flags: set[str]) -> float:
        """The regimen's own toxicity cautions (e.g. bevacizumab with HAI floxuridine)."""
        weight = 0.0
        for caution in regimen.cautions:
            evidence = caution.evidence_level.replace("_", " ")
            reasons.append(
                Reason("toxicity", f"{caution.text} ({evidence} evidence)", [caution.kb_id])
            )
            flags.add("toxicity")
            if caution.evidence_level in COUNTED_LEVELS:
                weight += self.weights["evidence_level"][caution.evidence_level]
        return weight

    def _tumour_evidence(
        self, drugs: set[str], reasons: list[Reason], flags: set[str]
    ) -> tuple[float, float]:
        """Term 3 (markers) and the variant-level part of term 4 (tolerability).

        Sensitivity adds, resistance subtracts, only for rows of a counted grade in a fitting
        tumour context; each gene's finding counts once per regimen and direction, at its best
        row. Every matched row is listed, with why it does or does not count."""
        best: dict[str, tuple[float, Match]] = {}
        for m in self.matches:
            if m.row.effect not in ("sensitivity", "resistance", "toxicity"):
                continue
            if not drugs & set(m.row.drugs):
                continue
            weight = self.evidence_weight(m)
            if m.row.kb_id not in best or weight > best[m.row.kb_id][0]:
                best[m.row.kb_id] = (weight, m)
        counted: dict[tuple[str, str], str] = {}
        for kb_id, (_, m) in sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0])):
            if _counts(m):
                counted.setdefault((m.row.gene, m.row.effect), kb_id)
        markers = tolerability = 0.0
        for kb_id in sorted(best):
            weight, m = best[kb_id]
            row = m.row
            hit = _drug_list(drugs & set(row.drugs))
            context = {
                "yes": f"in {self.patient.primary_site} cancer",
                "any": "across tumour types",
                "no": f"in {', '.join(row.tumour_context)} cancer, not {self.patient.primary_site}",
            }[m.context_fit]
            evidence = row.evidence_level.replace("_", " ")
            if row.effect == "toxicity":
                text = (
                    f"{m.label} ({m.level} match): higher toxicity risk with {hit} "
                    f"({evidence} evidence)."
                )
                reasons.append(Reason("toxicity", text, [kb_id]))
                flags.add("toxicity")
                if row.evidence_level in COUNTED_LEVELS:
                    tolerability += self.weights["evidence_level"][row.evidence_level]
                continue
            sign = 1.0 if row.effect == "sensitivity" else -1.0
            verb = "sensitivity to" if sign > 0 else "resistance to"
            text = f"{m.label} ({m.level} match): {verb} {hit}, {evidence} evidence {context}"
            if not _counts(m):
                why = "another site" if m.context_fit == "no" else f"{evidence} grade"
                text += f" (listed, not counted in the order: {why})."
                if row.effect == "resistance" and row.evidence_level == "inference":
                    flags.add("caution")
            elif counted[(row.gene, row.effect)] == kb_id:
                markers += sign * weight
                text += f" (weight {sign * weight:+.2f})."
            else:
                text += (
                    f" (the same finding as {counted[(row.gene, row.effect)]}, not counted again)."
                )
            reasons.append(Reason(row.effect, text, [kb_id]))
        return markers, tolerability

    def _pharmacogenomics(self, drugs: set[str], reasons: list[Reason], flags: set[str]) -> None:
        for gene, call in self.pgx.items():
            allele_ids = [o.row.kb_id for o in call.observations]
            if not call.firm:
                self._unresolved(gene, call, drugs, reasons, flags, allele_ids)
            for rule in call.rules:  # an indeterminate call applies what was found
                hit = drugs & set(rule.drugs)
                if not hit:
                    continue
                what = (
                    f"{gene} activity score {_fmt_score(call.activity_score)}"
                    if gene == DPYD
                    else f"{gene} {call.diplotype or '(diplotype unresolved)'}"
                )
                head = f"{what} ({call.phenotype}), {_drug_list(hit)}: "
                text = head + action_sentence(rule)
                ids = [rule.kb_id, *allele_ids]
                if rule.effect == "contraindication":
                    reasons.append(Reason("toxicity", text, ids))
                    flags.add("contraindicated")
                elif rule.effect == "dose_adjustment":
                    reasons.append(Reason("dose_adjustment", text, ids))
                    flags.add("dose_adjustment")
                elif rule.effect == "toxicity":
                    reasons.append(Reason("toxicity", text, ids))
                    flags.add("toxicity")

    def _unresolved(
        self,
        gene: str,
        call: PgxCall,
        drugs: set[str],
        reasons: list[Reason],
        flags: set[str],
        allele_ids: list[str],
    ) -> None:
        """A gene not assessed or indeterminate: its drugs are at most a caution, with the test
        to order (CONTRACT section 4)."""
        drug_class, advice = UNRESOLVED_PGX[gene]
        concerned = sorted(d for d in drugs if vocab.DRUGS[d] == drug_class)
        if not concerned:
            return
        rule_ids = [r.kb_id for r in self.kb.rules_for(gene) if set(r.drugs) & set(concerned)]
        state = (
            f"{gene} not assessed from this VCF"
            if call.status == "not_assessed"
            else f"{gene} indeterminate ({call.phenotype})"
        )
        reasons.append(
            Reason(
                "toxicity",
                f"{state}: {advice.format(drug=_drug_list(concerned))}.",
                rule_ids + allele_ids,
                test_first=True,
            )
        )
        flags.add("caution")

    def _patient_values(self, drugs: set[str], reasons: list[Reason], flags: set[str]) -> None:
        """Renal and hepatic function against the label and guideline rules of the regimen's
        drugs (and the rules for every regimen, e.g. Child-Pugh eligibility), per value: the
        most severe band that applies, the narrowest among equals. A value not given is said
        (an advisory reason), never assumed normal."""
        site = self.patient.primary_site
        by_key: dict[tuple[str, str], list[DrugRule]] = defaultdict(list)
        for rule in self.kb.drug_rules:
            if (rule.drug == "any" or rule.drug in drugs) and (
                not rule.sites or site in rule.sites
            ):
                by_key[(rule.parameter, rule.drug)].append(rule)
        for (parameter, drug), rules in sorted(by_key.items()):
            value = getattr(self.patient, parameter)
            name, unit = RULE_PARAMETERS[parameter]
            target = "this regimen" if drug == "any" else drug
            renal = parameter == "crcl_ml_min"
            if value is None:
                check = "renal" if renal else "hepatic"
                reasons.append(
                    Reason(
                        "renal" if renal else "context",
                        f"{name} not given: check {check} function before {target}.",
                        [r.kb_id for r in rules],
                        advisory=True,
                    )
                )
                continue
            applicable = [r for r in rules if r.applies(value)]
            if not applicable:
                continue
            rule = min(applicable, key=lambda r: (_ACTION_ORDER[r.action], r.width))
            shown = f"{value:g} {unit}".strip() if not isinstance(value, str) else value
            kind = "renal" if renal else _HEPATIC_KIND[rule.action]
            reasons.append(
                Reason(kind, f"{name} {shown}, {target}: {rule.text} [{rule.source}]", [rule.kb_id])
            )
            flags.add(
                {"contraindication": "contraindicated", "dose_adjustment": "dose_adjustment"}.get(
                    rule.action, "caution"
                )
            )


_ACTION_ORDER = {"contraindication": 0, "dose_adjustment": 1, "caution": 2}
# The contract's reason kinds have `renal` only: hepatic rules speak through these.
_HEPATIC_KIND = {
    "contraindication": "toxicity",
    "dose_adjustment": "dose_adjustment",
    "caution": "context",
}


def rank_regimens(
    kb: KnowledgeBase,
    *,
    patient: PatientContext,
    matches: list[Match],
    pgx: dict[str, PgxCall],
    weights: dict[str, Any],
) -> list[RankedRegimen]:
    """Every regimen, usable first, then by the terms of docs/ranking.md and the base order."""
    scorer = RegimenScorer(kb, patient=patient, matches=matches, pgx=pgx, weights=weights)
    order = kb.base_order.get(patient.primary_site, [])
    ranked = []
    for i, regimen in enumerate(kb.regimens):
        item = scorer.score(regimen)
        item.base_index = (
            order.index(regimen.regimen_id) if regimen.regimen_id in order else len(order) + i
        )
        ranked.append(item)
    ranked.sort(
        key=lambda r: (_STATUS_GROUP[r.status], r.order_terms, r.base_index, r.regimen.regimen_id)
    )
    for position, item in enumerate(ranked, start=1):
        item.rank = position
        item.tied_with = [
            other.regimen.regimen_id
            for other in ranked
            if other is not item
            and _STATUS_GROUP[other.status] == _STATUS_GROUP[item.status]
            and other.order_terms == item.order_terms
        ]
    return ranked


def _counts(m: Match) -> bool:
    """Whether a matched row orders regimens: a counted grade, in a fitting tumour context."""
    return m.row.evidence_level in COUNTED_LEVELS and m.context_fit != "no"


def summary_line(ranked: list[RankedRegimen], primary_site: str) -> str:
    """One line of why for the top regimen, and why the site's default first choice is not it."""
    top = ranked[0]
    if top.status not in vocab.USABLE_STATUSES:
        return (
            f"No regimen is usable without reservation: the best listed, {top.regimen.name}, is "
            f"{top.status}."
        )
    line = _summary(top, ranked, primary_site)
    tests = [r.text for r in top.reasons if r.test_first and r.text.rstrip(".") not in line]
    return " ".join([line, *(f"Before it: {t}" for t in tests)])


def _summary(top: RankedRegimen, ranked: list[RankedRegimen], primary_site: str) -> str:
    evidence = (
        f"{top.site_evidence.replace('_', ' ')} evidence in {primary_site}"
        if top.site_evidence != "none"
        else f"no published hepatic-arterial data in {primary_site}"
    )
    line = f"{top.regimen.name} ranks first ({top.status}; {evidence})"
    if top.tied_with:
        names = {r.regimen.regimen_id: r.regimen.name for r in ranked}
        tied = ", ".join(names[i] for i in top.tied_with)
        line += f", tied with {tied} (the base order separates them)"
    decisive = _decisive(top)
    default = min(ranked, key=lambda r: r.base_index)
    if decisive is not None:
        line += f": {decisive.text.rstrip('.')}."
    elif default is top:
        unchanged = f"no genetic finding changes the default order for {primary_site} primaries"
        return f"{line}: {unchanged}."
    else:
        line += "."
    if default is not top:
        why = _decisive(default)
        line += (
            f" The default first choice for {primary_site} primaries, {default.regimen.name}, "
            f"ranks lower ({default.status})" + (f": {why.text}" if why else ".")
        )
    return line


def _decisive(item: RankedRegimen) -> Reason | None:
    """The reason that weighs most on a regimen's place (advisory reminders never do)."""
    priority = (
        "toxicity",
        "dose_adjustment",
        "renal",
        "prior_failure",
        "resistance",
        "sensitivity",
    )
    for kind in priority:
        for reason in item.reasons:
            if reason.kind == kind and not reason.advisory:
                return reason
    return None


def cited_evidence(ranked: list[RankedRegimen], kb: KnowledgeBase) -> list[dict[str, Any]]:
    """Every knowledge row or renal rule the reasons cite, with its source (kb_id order)."""
    renal = {r.kb_id: r for r in kb.drug_rules}
    ids = sorted({i for r in ranked for reason in r.reasons for i in reason.kb_ids})
    out = []
    for kb_id in ids:
        if kb_id in kb.by_id:
            row = kb.by_id[kb_id]
            out.append(
                {
                    "kb_id": kb_id,
                    "gene": row.gene,
                    "alteration": row.alteration_text,
                    "drugs": list(row.drugs),
                    "effect": row.effect,
                    "evidence_level": row.evidence_level,
                    "source": row.source,
                    "note": row.note,
                }
            )
        elif kb_id in kb.cautions_by_id:
            caution = kb.cautions_by_id[kb_id]
            out.append(
                {
                    "kb_id": kb_id,
                    "gene": "",
                    "alteration": "regimen caution",
                    "drugs": sorted(
                        {d for r in kb.regimens if caution in r.cautions for d in r.drugs}
                    ),
                    "effect": caution.kind,
                    "evidence_level": caution.evidence_level,
                    "source": caution.source,
                    "note": caution.text,
                }
            )
        elif kb_id in renal:
            rule = renal[kb_id]
            out.append(
                {
                    "kb_id": kb_id,
                    "gene": "",
                    "alteration": rule.band,
                    "drugs": [rule.drug] if rule.drug != "any" else [],
                    "effect": rule.action,
                    "evidence_level": rule.evidence_level,
                    "source": rule.source,
                    "note": rule.text,
                }
            )
    return out
