"""Where the bundled files live, found from the package rather than the working directory."""

from __future__ import annotations

from pathlib import Path

# src/haicgx/paths.py -> the repository root (the package is installed in editable mode).
PROJECT_ROOT: Path = Path(__file__).resolve().parents[2]
SCHEMA_DIR: Path = PROJECT_ROOT / "workflow" / "schemas"


def schema_path(name: str) -> Path:
    """Return the path of a bundled JSON Schema, by bare name or by file name.

    >>> schema_path("cohorts").name
    'cohorts.schema.yaml'
    >>> schema_path("cohorts.schema.yaml") == schema_path("cohorts")
    True
    """
    file_name = name if name.endswith((".yaml", ".json")) else f"{name}.schema.yaml"
    return SCHEMA_DIR / file_name
