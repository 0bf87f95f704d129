"""Where the bundled files live: inside the package (schemas, knowledge, ranking weights), so a
plain `pip install .` carries them; the workflow's own files (cohorts, the demo) are found relative
to the Snakefile instead."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

PACKAGE_DIR: Path = Path(__file__).resolve().parent
SCHEMA_DIR: Path = PACKAGE_DIR / "schemas"
DATA_DIR: Path = PACKAGE_DIR / "data"
KNOWLEDGE_DIR: Path = DATA_DIR / "knowledge"  # the bundled knowledge set
# The repository root when the package runs from a clone (editable install, tests, the workflow):
# only for files that are not the package's own (config/, resources/demo/).
PROJECT_ROOT: Path = PACKAGE_DIR.parents[1]


def schema_path(name: str) -> Path:
    """Return the path of a bundled JSON Schema, by bare name or by file name.

    >>> schema_path("cohorts").name
    'cohorts.schema.yaml'
    >>> schema_path("cohorts.schema.yaml") == schema_path("cohorts")
    True
    """
    file_name = name if name.endswith((".yaml", ".json")) else f"{name}.schema.yaml"
    return SCHEMA_DIR / file_name


def load_schema(name: str) -> dict[str, Any]:
    """A bundled JSON Schema, parsed (the one place that reads them; names as for schema_path).

    >>> load_schema("recommendation.schema.json")["type"], load_schema("cohorts")["type"]
    ('object', 'object')
    """
    path = schema_path(name)
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
