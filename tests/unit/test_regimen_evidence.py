"""Per-site regimen evidence (site_evidence), regimen cautions and the default order on them."""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import pytest
import yaml
from support import MINI_KNOWLEDGE, REPO

from haicgx import vocab
from haicgx.errors import ConfigError
from haicgx.knowledge import (
    CASE_SERIES_BELOW,
    SITE_EVIDENCE_LEVELS,
    evidence_rank,
    load_knowledge,
    parse_regimens,
)
from haicgx.paths import load_schema, schema_path

BUNDLED = REPO / "src" / "haicgx" / "data" / "knowledge" / "regimens.yaml"
SCHEMA = yaml.safe_load(schema_path("regimens.schema.yaml").read_text(encoding="utf-8"))
REGIMEN_PROPS = SCHEMA["properties"]["regimens"]["items"]["properties"]


def bundled() -> dict:
    return yaml.safe_load(BUNDLED.read_text(encoding="utf-8"))


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "regimens.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def regimen(data: dict, regimen_id: str) -> dict:
    return next(r for r in data["regimens"] if r["id"] == regimen_id)


# --- the hierarchy and the schema agree with the vocabulary and the contract ---


def test_hierarchy_is_strongest_first_and_ends_with_none():
    assert SITE_EVIDENCE_LEVELS == (
        "randomised",
        "prospective",
        "retrospective",
        "case_series",
        "none",
    )
    assert [evidence_rank(level) for level in SITE_EVIDENCE_LEVELS] == list(range(5))


def test_hierarchy_is_the_contract_enum():
    # the package's copy, which test_vocab_schemas holds equal to the contract's
    props = load_schema("recommendation.schema.json")["properties"]
    enum = props["regimens"]["items"]["properties"]["site_evidence"]["enum"]
    assert tuple(enum) == SITE_EVIDENCE_LEVELS


def test_schema_sites_and_levels_use_the_vocabulary():
    assert tuple(SCHEMA["$defs"]["site"]["enum"]) == vocab.PRIMARY_SITES
    entry = REGIMEN_PROPS["site_evidence"]["additionalProperties"]["properties"]
    assert tuple(entry["level"]["enum"]) == SITE_EVIDENCE_LEVELS[:-1]  # absent means none
    caution = REGIMEN_PROPS["cautions"]["items"]["properties"]
    assert tuple(caution["evidence_level"]["enum"]) == vocab.EVIDENCE_LEVELS


# --- the bundled file ---


def test_bundled_file_is_valid_against_the_schema():
    jsonschema.Draft202012Validator(SCHEMA).validate(bundled())


def test_every_regimen_has_site_evidence_except_the_declared_gap(bundled_kb):
    gaps = [r.regimen_id for r in bundled_kb.regimens if r.evidence_gap]
    assert gaps == ["haic_gemox"]
    for r in bundled_kb.regimens:
        assert bool(r.site_evidence) != r.evidence_gap, r.regimen_id
        assert r.primary_sites == tuple(r.site_evidence), r.regimen_id
    assert all(
        bundled_kb.regimens_by_id["haic_gemox"].evidence_in(s) == "none"
        for s in vocab.PRIMARY_SITES
    )


def test_no_bundled_regimen_has_evidence_in_other_primaries(bundled_kb):
    # README: `other` needs a population (or subgroup) with a primary outside the six codes.
    assert all(r.evidence_in("other") == "none" for r in bundled_kb.regimens)


def test_site_evidence_rests_on_verified_sources_only(bundled_kb):
    for r in bundled_kb.regimens:
        for src in r.sources:
            assert "verified_at" in src or src.get("unverified"), (r.regimen_id, src["key"])
        for site, entry in r.site_evidence.items():
            for key in entry.sources:
                src = r.source(key)
                assert "verified_at" in src, (r.regimen_id, site, key)
                assert not {"design", "finding"} & set(src.get("unverified", [])), (
                    r.regimen_id,
                    key,
                )
            if entry.level in ("prospective", "retrospective") and entry.n is not None:
                assert entry.n >= CASE_SERIES_BELOW, (r.regimen_id, site)


def test_backbone_drugs_are_not_inside_regimens(bundled_kb):
    for r in bundled_kb.regimens:
        assert not {"camrelizumab", "bevacizumab"} & set(r.drugs), r.regimen_id


def test_every_floxuridine_regimen_carries_the_bevacizumab_caution(bundled_kb):
    fudr = [r for r in bundled_kb.regimens if "floxuridine" in r.drugs]
    assert len(fudr) == 6
    for r in fudr:
        (caution,) = [c for c in r.cautions if c.kb_id == "FUDR-HAI-BEVACIZUMAB-BILIARY"]
        assert caution.kind == "toxicity" and caution.evidence_level == "clinical_trial"
        assert "PMID 21189384" in caution.source and "5/35 vs 0/38" in caution.text
    assert set(bundled_kb.cautions_by_id) == {"FUDR-HAI-BEVACIZUMAB-BILIARY"}
    assert not any(r.cautions for r in bundled_kb.regimens if "floxuridine" not in r.drugs)


@pytest.mark.parametrize(
    ("regimen_id", "site", "level", "n", "field", "text"),
    [
        # FOHAIC-1 (PMID 34905388): the largest verified phase 3 of HAIC-FOLFOX in HCC
        ("haic_folfox", "hcc", "randomised", 262, "os", "13.9 vs 8.2 months"),
        # Feng 2022 randomised phase 2, HAI FOLFOX vs HAI TOMOX
        ("haic_folfox", "colorectal", "randomised", 113, "orr", "26.1% vs 22.4%"),
        ("haic_folfox", "biliary", "retrospective", 146, "os", "18.0 vs 17.8 months"),
        # CALGB 9481 (PMID 16505413)
        ("hai_floxuridine", "colorectal", "randomised", 135, "os", "24.4 vs 20 months"),
        ("hai_floxuridine", "pancreatic", "retrospective", 124, "orr", "66.1% vs 22.6%"),
        ("hai_floxuridine", "hcc", "case_series", 8, "note", "8 HCC patients"),
        # Cowzer, JNCI 2025 (PMID 39331613)
        ("hai_floxuridine_gemox", "biliary", "prospective", 38, "os", "26.8 months"),
        ("hai_mitomycin", "biliary", "case_series", 9, "orr", "44%"),
        ("haic_cisplatin", "hcc", "randomised", 108, "os", "10.6 vs 8.7 months"),
        ("hai_floxuridine_modern_systemic", "colorectal", "randomised", 73, "note", "bevacizumab"),
        ("hai_oxaliplatin_lv5fu2", "colorectal", "prospective", 28, "note", "Phase 2"),
        ("hai_oxaliplatin_floxuridine_s1", "gastric", "retrospective", 21, "orr", "76.2%"),
        ("hai_oxaliplatin_s1", "gastric", "case_series", 5, "note", ""),
        ("haic_irinotecan", "colorectal", "case_series", 12, "orr", "33% (4/12)"),
    ],
)
def test_curated_values(bundled_kb, regimen_id, site, level, n, field, text):
    r = bundled_kb.regimens_by_id[regimen_id]
    entry = r.evidence_for(site)
    assert r.evidence_in(site) == level
    assert entry.n == n
    assert text in getattr(entry, field)


def test_unverified_n_is_left_out(bundled_kb):
    entry = bundled_kb.regimens_by_id["hai_floxuridine_systemic"].evidence_for("colorectal")
    assert entry.level == "randomised" and entry.n is None and "n" in entry.unverified


def test_split_gastric_regimens_differ_in_floxuridine(bundled_kb):
    assert "floxuridine" in bundled_kb.regimens_by_id["hai_oxaliplatin_floxuridine_s1"].drugs
    assert "floxuridine" not in bundled_kb.regimens_by_id["hai_oxaliplatin_s1"].drugs
    assert "capecitabine" in bundled_kb.regimens_by_id["hai_floxuridine_capecitabine"].drugs
    gemox = bundled_kb.regimens_by_id["hai_floxuridine_gemox"].drugs
    assert {"gemcitabine", "oxaliplatin"} <= set(gemox)


def _documented_order(kb, site: str) -> list[str]:
    """README 'Default order': level, larger n first (unknown n last), then id; `none` by best
    evidence elsewhere and its n, then id."""

    def best_elsewhere(r):
        entries = list(r.site_evidence.values())
        if not entries:
            return (evidence_rank("none"), 0)
        top = min(evidence_rank(e.level) for e in entries)
        n = max((e.n or 0) for e in entries if evidence_rank(e.level) == top)
        return (top, -n)

    def key(r):
        entry = r.evidence_for(site)
        if entry:
            return (evidence_rank(entry.level), -(entry.n or 0), 0, 0, r.regimen_id)
        return (evidence_rank("none"), 0, *best_elsewhere(r), r.regimen_id)

    return [r.regimen_id for r in sorted(kb.regimens, key=key)]


@pytest.mark.parametrize("site", vocab.PRIMARY_SITES)
def test_base_order_follows_the_documented_rule(bundled_kb, site):
    assert bundled_kb.base_order[site] == _documented_order(bundled_kb, site)
    assert bundled_kb.base_order[site][-1] == "haic_gemox"


# --- load-time errors ---


def _error(tmp_path: Path, data: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_regimens(write(tmp_path, data))
    return str(caught.value)


def test_primary_sites_that_disagree_with_site_evidence_are_refused(tmp_path):
    data = bundled()
    regimen(data, "haic_cisplatin")["primary_sites"] = ["hcc", "biliary"]
    message = _error(tmp_path, data)
    assert "(haic_cisplatin)/primary_sites" in message and "disagree" in message
    regimen(data, "haic_cisplatin")["primary_sites"] = ["hcc"]  # agreeing is accepted
    regimens, *_ = parse_regimens(write(tmp_path, data))
    assert next(r for r in regimens if r.regimen_id == "haic_cisplatin").primary_sites == ("hcc",)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            lambda d: regimen(d, "haic_cisplatin")["site_evidence"]["hcc"].update(sources=["nope"]),
            "unknown source key 'nope'",
        ),
        (
            lambda d: regimen(d, "haic_folfox")["site_evidence"]["hcc"].update(sources=["li2022"]),
            "source 'li2022' is not verified",
        ),
        (
            lambda d: regimen(d, "hai_mitomycin")["site_evidence"]["biliary"].update(
                level="prospective"
            ),
            "9 patients without a randomised comparator grade as case_series",
        ),
        (
            lambda d: regimen(d, "haic_cisplatin")["site_evidence"]["hcc"].pop("n"),
            "n is required unless listed as unverified",
        ),
        (
            lambda d: regimen(d, "haic_cisplatin")["site_evidence"]["hcc"].update(unverified=["n"]),
            "an unverified n is left out",
        ),
        (
            lambda d: regimen(d, "haic_cisplatin").update(site_evidence={}),
            "or be empty with evidence_gap: true",
        ),
        (
            lambda d: regimen(d, "haic_gemox").pop("evidence_gap"),
            "or be empty with evidence_gap: true",
        ),
        (
            lambda d: regimen(d, "haic_cisplatin")["sources"][0].pop("verified_at"),
            "needs verified_at or an unverified list",
        ),
        (lambda d: regimen(d, "haic_cisplatin")["site_evidence"].update(lung={}), "site_evidence"),
        (
            lambda d: regimen(d, "haic_cisplatin")["site_evidence"]["hcc"].update(level="phase_3"),
            "is not one of",
        ),
        (
            lambda d: d["base_order"].update(hcc=list(reversed(d["base_order"]["hcc"]))),
            "comes after a regimen with weaker evidence",
        ),
        (
            lambda d: d["base_order"]["hcc"].remove("hai_mitomycin"),
            "regimens missing from the order: ['hai_mitomycin']",
        ),
        (
            # the YAML alias makes every FUDR regimen share one caution object: replace one copy
            lambda d: regimen(d, "hai_floxuridine_gemox").update(
                cautions=[dict(regimen(d, "hai_floxuridine_gemox")["cautions"][0], text="other")]
            ),
            "differs from the one of that id",
        ),
    ],
)
def test_each_kind_of_bad_evidence_is_refused(tmp_path, change, problem):
    data = copy.deepcopy(bundled())
    change(data)
    assert problem in _error(tmp_path, data)


def test_a_caution_id_may_not_reuse_a_knowledge_row_id(tmp_path):
    text = (MINI_KNOWLEDGE / "regimens.yaml").read_text(encoding="utf-8")
    path = tmp_path / "regimens.yaml"
    path.write_text(text.replace("kb_id: T-FUDR-BEV", "kb_id: T-DPYD-2A"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"cautions: kb_id used twice: \['T-DPYD-2A'\]"):
        load_knowledge(MINI_KNOWLEDGE / "biomarkers.tsv", path)


def test_mini_fixture_loads_with_its_evidence(mini_kb):
    fudr = mini_kb.regimens_by_id["fudr"]
    assert fudr.evidence_in("colorectal") == "randomised" and fudr.evidence_in("hcc") == "none"
    assert fudr.best_evidence == "randomised"
    assert [c.kb_id for c in fudr.cautions] == ["T-FUDR-BEV"]
    assert mini_kb.regimens_by_id["cisplatin"].primary_sites == ("hcc", "pancreatic", "other")
