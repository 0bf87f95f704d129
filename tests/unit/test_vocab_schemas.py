"""The JSON Schemas repeat parts of haicgx.vocab (no schema can import Python): they agree."""

from __future__ import annotations

import json

import pytest
import yaml
from support import SHARED

from haicgx import vocab
from haicgx.paths import schema_path


def load(name: str) -> dict:
    text = schema_path(name).read_text(encoding="utf-8")
    return json.loads(text) if name.endswith(".json") else yaml.safe_load(text)


def test_knowledge_schema_uses_the_vocabulary():
    props = load("biomarkers.schema.yaml")["properties"]
    assert tuple(props) == vocab.KNOWLEDGE_COLUMNS
    assert tuple(props["zygosity"]["enum"]) == vocab.ZYGOSITIES
    assert tuple(props["effect"]["enum"]) == vocab.EFFECTS
    assert tuple(props["evidence_level"]["enum"]) == vocab.EVIDENCE_LEVELS
    assert tuple(props["allele_function"]["enum"][1:]) == vocab.ALLELE_FUNCTIONS
    rules = load("regimens.schema.yaml")["properties"]["drug_rules"]["items"]["properties"]
    assert tuple(rules["evidence_level"]["enum"]) == vocab.EVIDENCE_LEVELS


def test_config_and_sheet_schemas_use_the_vocabulary():
    config = load("config.schema.yaml")["properties"]
    assert tuple(config["annotation"]["enum"]) == vocab.ANNOTATION_MODES
    assert tuple(config["reference"]["properties"]["build"]["enum"]) == vocab.BUILDS
    sheet = load("patients.schema.yaml")["properties"]
    assert tuple(sheet) == vocab.PATIENT_SHEET_COLUMNS
    assert tuple(sheet["primary_site"]["enum"]) == vocab.PRIMARY_SITES


def test_contract_schema_uses_the_vocabulary():
    props = load("recommendation.schema.json")["properties"]
    regimen = props["regimens"]["items"]["properties"]
    assert tuple(regimen["status"]["enum"]) == vocab.REGIMEN_STATUSES
    kinds = regimen["reasons"]["items"]["properties"]["kind"]["enum"]
    assert tuple(kinds) == vocab.REASON_KINDS
    annotation = props["provenance"]["properties"]["annotation"]["enum"]
    assert tuple(annotation) == vocab.ANNOTATION_SOURCES


def test_project_copy_of_the_contract_schema_is_the_contract():
    contract = SHARED / "contract" / "recommendation.schema.json"
    if not contract.exists():
        pytest.skip(f"{contract} is absent: ../shared is not beside the project")
    assert schema_path("recommendation.schema.json").read_bytes() == contract.read_bytes()
