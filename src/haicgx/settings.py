"""The run's settings: the merged config and the patient sheet, validated before any job runs.

Everything here fails with one `ConfigError` naming the file, the row or key, and the problem.
"""

from __future__ import annotations

import copy
import csv
import difflib
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from haicgx import vocab
from haicgx.errors import ConfigError
from haicgx.paths import PROJECT_ROOT, schema_path

RANKING_WEIGHTS = PROJECT_ROOT / "resources" / "ranking_weights.yaml"


@dataclass(frozen=True)
class Patient:
    patient_id: str
    vcf: Path
    primary_site: str
    tumour_sample: str | None
    prior_drugs: tuple[str, ...]
    crcl_ml_min: float | None
    sheet_row: int
    normal_sample: str | None = None
    bilirubin_x_uln: float | None = None
    child_pugh: str | None = None


@dataclass(frozen=True)
class Settings:
    """Resolved configuration: every path absolute, every default filled in."""

    config: dict[str, Any]
    config_file: str
    patients_file: Path
    build: str
    fasta: Path | None
    gff3: Path | None
    annotation: str
    biomarkers: Path
    regimens: Path
    findings: Path
    cohorts: Path
    record: Path
    filters: dict[str, Any]
    ranking: dict[str, Any]
    patients_per_job: int


def _load_schema(name: str) -> dict[str, Any]:
    return yaml.safe_load(schema_path(name).read_text(encoding="utf-8"))


def _fill_defaults(schema: dict[str, Any], data: dict[str, Any]) -> None:
    """Fill `default`s of object properties, recursively (JSON Schema does not do this itself)."""
    for key, sub in schema.get("properties", {}).items():
        if key not in data and "default" in sub:
            data[key] = copy.deepcopy(sub["default"])
        if isinstance(data.get(key), dict) and sub.get("type") == "object":
            _fill_defaults(sub, data[key])


def validate_config(config: dict[str, Any], *, source: str = "config") -> dict[str, Any]:
    """Validate a merged config against workflow/schemas/config.schema.yaml; fill its defaults.

    >>> validate_config({"patients": "p.tsv"})["filters"]["min_depth"]
    20
    >>> validate_config({"patients": "p.tsv", "colour": 1})
    Traceback (most recent call last):
    ...
    haicgx.errors.ConfigError: config: key 'colour': unknown key (allowed: annotation, cohorts, ...
    """
    schema = _load_schema("config.schema.yaml")
    data = copy.deepcopy(config)
    _fill_defaults(schema, data)
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is None:
        _check_finite(data, source)
        return data
    where = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        key = ".".join(filter(None, [where, extra[0]])) if extra else where
        shown = ", ".join(allowed[:2]) + ", ..." if len(allowed) > 2 else ", ".join(allowed)
        raise ConfigError(source, f"key {key!r}", f"unknown key (allowed: {shown})")
    if error.validator == "required":
        raise ConfigError(source, f"key {where or 'top level'!r}", error.message)
    raise ConfigError(source, f"key {where!r}", error.message)


def _check_finite(data: Any, source: str, where: str = "") -> None:
    """Every number of the config finite: NaN passes JSON Schema's minimum and maximum (every
    comparison with it is false), and it or an infinity would reach the outputs."""
    if isinstance(data, dict):
        for key, value in data.items():
            _check_finite(value, source, f"{where}.{key}" if where else str(key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            _check_finite(value, source, f"{where}[{i}]")
    elif isinstance(data, float) and not math.isfinite(data):
        raise ConfigError(source, f"key {where!r}", f"{data!r} is not a finite number")


# Sheet values beyond these are typing errors, not patients (a CrCl of 1e400 mL/min is infinite).
PLAUSIBLE = {"crcl_ml_min": 300.0, "bilirubin_x_uln": 100.0}


def resolve_path(value: str | None, *, workdir: Path, root: Path = PROJECT_ROOT) -> Path | None:
    """An absolute path; a relative one is looked up in the working directory, then under `root`."""
    if value is None:
        return None
    path = Path(value).expanduser()
    if path.is_absolute():
        return path
    in_workdir = workdir / path
    if in_workdir.exists() or not (root / path).exists():
        return in_workdir.resolve()
    return (root / path).resolve()


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def ranking_weights(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The scoring weights of resources/ranking_weights.yaml with a config's overrides applied."""
    weights = yaml.safe_load(RANKING_WEIGHTS.read_text(encoding="utf-8"))
    merged = _merge(weights, overrides or {})
    unknown = set(merged) - set(weights)
    if unknown:
        raise ConfigError("config", f"key 'ranking.{sorted(unknown)[0]}'", "unknown weight")
    for group, values in merged.items():
        if not isinstance(values, dict) or set(values) != set(weights[group]):
            raise ConfigError("config", f"key 'ranking.{group}'", "must map each of its keys")
        for key, value in values.items():
            # bool is an int in Python; NaN fails both comparisons
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ConfigError(
                    "config",
                    f"key 'ranking.{group}.{key}'",
                    f"{value!r} is not a number from 0 to 1",
                )
    return merged


def load_settings(
    config: dict[str, Any], *, workdir: Path, source: str = "config", root: Path = PROJECT_ROOT
) -> Settings:
    """Validate the merged config and resolve its paths (working directory first, then `root`)."""
    data = validate_config(config, source=source)

    def find(value: str | None, key: str, *, required: bool = True) -> Path | None:
        path = resolve_path(value, workdir=workdir, root=root)
        if required and path is not None and not path.exists():
            raise ConfigError(source, f"key {key!r}", f"file not found: {value}")
        return path

    reference = data["reference"]
    annotation = data["annotation"]
    fasta = find(reference["fasta"], "reference.fasta")
    gff3 = find(reference["gff3"], "reference.gff3")
    if annotation == "csq" and (fasta is None or gff3 is None):
        raise ConfigError(source, "key 'annotation'", "csq needs reference.fasta and .gff3")
    if fasta is not None and not Path(f"{fasta}.fai").exists():
        raise ConfigError(source, "key 'reference.fasta'", f"no index {fasta}.fai beside it")
    return Settings(
        config=data,
        config_file=source,
        patients_file=find(data["patients"], "patients"),  # type: ignore[arg-type]
        build=reference["build"],
        fasta=fasta,
        gff3=gff3,
        annotation=annotation,
        biomarkers=find(data["knowledge"]["biomarkers"], "knowledge.biomarkers"),  # type: ignore[arg-type]
        regimens=find(data["knowledge"]["regimens"], "knowledge.regimens"),  # type: ignore[arg-type]
        findings=find(data["knowledge"]["findings"], "knowledge.findings"),  # type: ignore[arg-type]
        cohorts=find(data["cohorts"], "cohorts"),  # type: ignore[arg-type]
        record=resolve_path(data["record"], workdir=workdir, root=workdir),  # type: ignore[arg-type]
        filters=data["filters"],
        ranking=ranking_weights(data["ranking"]),
        patients_per_job=data["patients_per_job"],
    )


def _decode(path: Path) -> str:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(str(path), f"line {line}", "not UTF-8 text") from None
    return text


def load_patients(path: Path) -> list[Patient]:
    """Read and validate the patient sheet; VCF paths are resolved against the sheet's folder."""
    text = _decode(path).replace("\r\n", "\n")
    reader = csv.reader(io.StringIO(text), delimiter="\t")
    header = next(reader, None)
    if not header:
        raise ConfigError(str(path), "line 1", "empty sheet: a header row is required")
    header = [h.strip() for h in header]
    unknown = [h for h in header if h not in vocab.PATIENT_SHEET_COLUMNS]
    if unknown:
        raise ConfigError(str(path), "header", f"unknown column {unknown[0]!r}")
    missing = [c for c in ("patient_id", "vcf", "primary_site") if c not in header]
    if missing:
        raise ConfigError(str(path), "header", f"missing required column {missing[0]!r}")
    if len(set(header)) != len(header):
        raise ConfigError(str(path), "header", "a column appears twice")
    validator = jsonschema.Draft202012Validator(_load_schema("patients.schema.yaml"))
    patients: list[Patient] = []
    first_row: dict[str, int] = {}
    for line, cells in enumerate(reader, start=2):
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise ConfigError(
                str(path), f"line {line}", f"{len(cells)} cells, header has {len(header)}"
            )
        row = {k: v.strip() for k, v in zip(header, cells, strict=True) if v.strip()}
        where = f"line {line} ({row.get('patient_id', 'no patient_id')})"
        error = jsonschema.exceptions.best_match(validator.iter_errors(row))
        if error is not None:
            column = error.path[0] if error.path else "row"
            raise ConfigError(str(path), f"{where}, column {column}", error.message)
        pid = row["patient_id"]
        if pid in first_row:
            raise ConfigError(
                str(path),
                f"{where}, column patient_id",
                f"duplicate patient_id {pid!r} (first on line {first_row[pid]})",
            )
        first_row[pid] = line
        if any(c in row["vcf"] for c in "<>"):
            # Snakemake reads <name> in a path as a path variable and would stop the whole run.
            raise ConfigError(
                str(path), f"{where}, column vcf", "a VCF path may not contain < or >: rename it"
            )
        vcf = Path(row["vcf"]).expanduser()
        vcf = vcf if vcf.is_absolute() else (path.parent / vcf).resolve()
        if not vcf.exists():
            raise ConfigError(str(path), f"{where}, column vcf", f"file not found: {row['vcf']}")
        drugs: list[str] = []
        for name in filter(None, (d.strip() for d in row.get("prior_drugs", "").split(";"))):
            named = vocab.drugs_named(name)
            if named is None:
                close = difflib.get_close_matches(name.lower(), vocab.known_drug_names(), n=3)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise ConfigError(
                    str(path),
                    f"{where}, column prior_drugs",
                    f"patient {pid}: unknown drug or regimen {name!r} (INNs, common aliases and "
                    f"regimen acronyms such as FOLFOX or CAPOX){hint}",
                )
            drugs += [inn for inn in named if inn not in drugs]
        for column, limit in PLAUSIBLE.items():
            if column in row and not float(row[column]) <= limit:
                raise ConfigError(
                    str(path),
                    f"{where}, column {column}",
                    f"{row[column][:20]} is beyond {limit:g}: not a plausible value",
                )
        crcl = row.get("crcl_ml_min")
        patients.append(
            Patient(
                patient_id=pid,
                vcf=vcf,
                primary_site=row["primary_site"],
                tumour_sample=row.get("tumour_sample"),
                prior_drugs=tuple(drugs),
                crcl_ml_min=float(crcl) if crcl is not None else None,
                sheet_row=line,
                normal_sample=row.get("normal_sample"),
                bilirubin_x_uln=_number(row.get("bilirubin_x_uln")),
                child_pugh=row.get("child_pugh"),
            )
        )
    if not patients:
        raise ConfigError(str(path), "", "no patients in the sheet")
    return patients


def _number(text: str | None) -> float | None:
    return float(text) if text is not None else None


def analysis_batches(patient_ids: list[str], patients_per_job: int) -> dict[str, list[str]]:
    """The patients of each analysis job, in sheet order: `patients_per_job` to a job.

    Consecutive slices, so appending patients to the sheet leaves the earlier jobs as they were.

    >>> analysis_batches(["A", "B", "C"], 2)
    {'batch001': ['A', 'B'], 'batch002': ['C']}
    """
    size = max(1, patients_per_job)
    slices = [patient_ids[i : i + size] for i in range(0, len(patient_ids), size)]
    return {f"batch{n:03d}": ids for n, ids in enumerate(slices, start=1)}
