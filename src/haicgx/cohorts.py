"""The trial's cohorts: which primary sites each takes and how many places it has.

The file (``config/cohorts.yaml`` by default) is checked against
the package's ``schemas/cohorts.schema.yaml``, then against the vocabulary: every primary site
must be a known code and may belong to one cohort only, so a patient's cohort is never ambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from haicgx.errors import ConfigError
from haicgx.paths import load_schema
from haicgx.vocab import PRIMARY_SITES


@dataclass(frozen=True)
class Cohort:
    """One trial cohort; ``max_patients`` None means no limit."""

    id: str
    name: str
    primary_sites: tuple[str, ...]
    max_patients: int | None = None


@dataclass(frozen=True)
class Cohorts:
    """The validated cohort definitions and the file they came from."""

    version: str
    cohorts: tuple[Cohort, ...]
    source: str = ""

    def by_id(self, cohort_id: str) -> Cohort | None:
        """Return the cohort with this id, or None."""
        return next((c for c in self.cohorts if c.id == cohort_id), None)


def load_cohorts(path: str | Path) -> Cohorts:
    """Read, validate and return the cohort definitions; raise ConfigError naming the problem."""
    file = str(path)
    data = _read_yaml(Path(path))
    _validate_schema(file, data)
    cohorts = tuple(_cohort(item) for item in data["cohorts"])
    _check_cohorts(file, cohorts)
    return Cohorts(version=data["version"], cohorts=cohorts, source=file)


def cohort_for_site(cohorts: Cohorts, primary_site: str) -> str | None:
    """Return the id of the cohort that takes this primary site, or None if no cohort does.

    >>> c = Cohorts("1", (Cohort("CRC", "Colorectal", ("colorectal",), 3),))
    >>> cohort_for_site(c, "colorectal"), cohort_for_site(c, "breast")
    ('CRC', None)
    """
    return next((c.id for c in cohorts.cohorts if primary_site in c.primary_sites), None)


def _read_yaml(path: Path) -> Any:
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(file, "", "file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(file, f"byte {exc.start}", "not UTF-8 text") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(file, where, f"not valid YAML: {problem}") from None


def _validate_schema(file: str, data: Any) -> None:
    schema = load_schema("cohorts")
    validator = jsonschema.Draft202012Validator(schema)
    # Report the first error in document order, so the message is stable from run to run.
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        error = errors[0]
        raise ConfigError(file, _json_path(error.absolute_path) or "top level", error.message)


def _json_path(parts: Any) -> str:
    """Render a jsonschema path as ``cohorts[2].max_patients``."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _cohort(item: dict[str, Any]) -> Cohort:
    return Cohort(
        id=item["id"],
        name=item["name"],
        primary_sites=tuple(item["primary_sites"]),
        max_patients=item.get("max_patients"),
    )


def _check_cohorts(file: str, cohorts: tuple[Cohort, ...]) -> None:
    """Cross-checks the schema cannot express: unique ids, known sites, one cohort per site."""
    seen_ids: set[str] = set()
    owner: dict[str, str] = {}
    for index, cohort in enumerate(cohorts):
        if cohort.id in seen_ids:
            raise ConfigError(file, f"cohorts[{index}].id", f"duplicate cohort id {cohort.id!r}")
        seen_ids.add(cohort.id)
        for site in cohort.primary_sites:
            where = f"cohorts[{index}] ({cohort.id}).primary_sites"
            if site not in PRIMARY_SITES:
                known = ", ".join(PRIMARY_SITES)
                raise ConfigError(file, where, f"unknown primary site {site!r} (known: {known})")
            if site in owner:
                raise ConfigError(
                    file, where, f"primary site {site!r} is already in cohort {owner[site]!r}"
                )
            owner[site] = cohort.id
