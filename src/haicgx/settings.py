"""The run's settings: the merged config and the patient sheet, validated before any job runs.

Everything here fails with one `ConfigError` naming the file, the row or key, and the problem.
"""

from __future__ import annotations

import copy
import csv
import difflib
import gzip
import hashlib
import io
import math
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from haicgx import vocab
from haicgx.errors import ConfigError
from haicgx.paths import DATA_DIR, KNOWLEDGE_DIR, PROJECT_ROOT, load_schema

RANKING_WEIGHTS = DATA_DIR / "ranking_weights.yaml"


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
    # The sheet's identifiers for the report's header (specimen_id, assay, then the site's own
    # site_* columns, in sheet order): (column, text) pairs; the analysis never reads them.
    identifiers: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        # A job's params may carry the pairs as lists: keep them hashable pairs.
        object.__setattr__(
            self, "identifiers", tuple((str(k), str(v)) for k, v in self.identifiers)
        )


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


def _fill_defaults(schema: dict[str, Any], data: dict[str, Any]) -> None:
    """Fill `default`s of object properties, recursively (JSON Schema does not do this itself)."""
    for key, sub in schema.get("properties", {}).items():
        if key not in data and "default" in sub:
            data[key] = copy.deepcopy(sub["default"])
        if isinstance(data.get(key), dict) and sub.get("type") == "object":
            _fill_defaults(sub, data[key])


def validate_config(config: dict[str, Any], *, source: str = "config") -> dict[str, Any]:
    """Validate a merged config against the package's config schema; fill its defaults.

    >>> validate_config({"patients": "p.tsv"})["filters"]["min_depth"]
    20
    >>> validate_config({"patients": "p.tsv", "filters": {"min_dept": 1}})
    Traceback (most recent call last):
    ...
    haicgx.errors.ConfigError: config: key 'filters.min_dept': unknown key; did you mean ...
    """
    schema = load_schema("config.schema.yaml")
    data = copy.deepcopy(config)
    _fill_defaults(schema, data)
    problem = _schema_problem(schema, data)
    if problem is not None:
        key, text = problem
        raise ConfigError(source, f"key {'.'.join(key) or 'top level'!r}", text)
    _check_finite(data, source)
    return data


def _schema_problem(schema: dict[str, Any], data: Any) -> tuple[list[str], str] | None:
    """The first (best) schema violation of `data`: the key path it concerns, and the problem.

    An unknown key is named with the closest allowed key, when one is close (a typo), else with
    the allowed keys.
    """
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is None:
        return None
    where = [str(p) for p in error.absolute_path]
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        if not extra:
            return where, error.message
        close = difflib.get_close_matches(extra[0], allowed, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(allowed)}"
        return [*where, extra[0]], f"unknown key; {hint}"
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        if not where and missing == "patients":
            return ["patients"], "required: the path of your patient sheet (TSV)"
        return where, error.message
    return where, error.message


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


def ranking_weights(
    overrides: dict[str, Any] | None = None, *, source: str = "config"
) -> dict[str, Any]:
    """The scoring weights of the bundled ranking_weights.yaml with a config's overrides applied."""
    weights = yaml.safe_load(RANKING_WEIGHTS.read_text(encoding="utf-8"))
    merged = _merge(weights, overrides or {})
    problem = _ranking_problem(weights, merged)
    if problem is not None:
        key, text = problem
        raise ConfigError(source, f"key {'.'.join(key)!r}", text)
    return merged


def _ranking_problem(
    weights: dict[str, Any], merged: dict[str, Any]
) -> tuple[list[str], str] | None:
    unknown = sorted(set(merged) - set(weights))
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(weights), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return ["ranking", unknown[0]], f"unknown weight{hint}"
    for group, values in merged.items():
        if not isinstance(values, dict) or set(values) != set(weights[group]):
            extra = sorted(set(values) - set(weights[group])) if isinstance(values, dict) else []
            if extra:
                close = difflib.get_close_matches(extra[0], sorted(weights[group]), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                return ["ranking", group, extra[0]], f"unknown weight{hint}"
            return ["ranking", group], "must map each of its keys"
        for key, value in values.items():
            # bool is an int in Python; NaN fails both comparisons
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                return ["ranking", group, key], f"{value!r} is not a number from 0 to 1"
    return None


# The demo's patient sheet (named by config/demo.yaml): the one sheet found in the haicgx
# installation when the working directory has no such file. Any other relative sheet path is the
# site's own, looked for in the working directory only, so that a site's missing sheet is an
# error and never the demo's.
DEMO_SHEET = "config/demo_patients.tsv"

# The synthetic demo genome (resources/demo/make_demo.py), recognised by its FASTA index (contig
# names, lengths and offsets), so also when its files were copied elsewhere or decompressed.
# tests/unit/test_demo_reference_guard.py checks this against the bundled index.
SYNTHETIC_REFERENCE_FAI_SHA256 = "80aae697034a304626f901eaa266c302ab20cf008031ff36c5b08a37c5f199e4"
# The first lines of the demo's synthetic GFF3 say what it is.
SYNTHETIC_GFF3_MARK = "SYNTHETIC gene models for the haicgx demo"


def is_synthetic_reference(fasta: Path | None) -> bool:
    """Whether `fasta` is the synthetic demo genome, from the digest of its `.fai` index."""
    if fasta is None:
        return False
    fai = Path(f"{fasta}.fai")
    try:
        stat = fai.stat()
    except OSError:
        return False
    return _fai_digest(str(fai), stat.st_mtime_ns, stat.st_size) == SYNTHETIC_REFERENCE_FAI_SHA256


@lru_cache(maxsize=8)
def _fai_digest(fai: str, mtime_ns: int, size: int) -> str:
    del mtime_ns, size  # the cache key: a rewritten index is read again
    return hashlib.sha256(Path(fai).read_bytes()).hexdigest()


def is_synthetic_gff3(gff3: Path | None) -> bool:
    """Whether `gff3` is the synthetic demo gene models (marked in its first lines)."""
    if gff3 is None:
        return False
    opener = gzip.open if gff3.name.endswith(".gz") else open
    try:
        with opener(gff3, "rt", encoding="utf-8", errors="replace") as handle:
            head = [line for _, line in zip(range(10), handle, strict=False)]
    except OSError:
        return False
    return any(SYNTHETIC_GFF3_MARK in line for line in head)


def load_settings(
    config: dict[str, Any], *, workdir: Path, source: str = "config", root: Path = PROJECT_ROOT
) -> Settings:
    """Validate the merged config and resolve its paths (working directory first, then `root`;
    the patient sheet in the working directory only, the demo's excepted)."""
    data = validate_config(config, source=source)

    def find(value: str | None, key: str, *, required: bool = True) -> Path | None:
        path = resolve_path(value, workdir=workdir, root=root)
        if required and path is not None and not path.exists():
            tried = (
                path
                if Path(str(value)).expanduser().is_absolute()
                else f"{path} or {root / str(value)}"
            )
            raise ConfigError(
                source, f"key {key!r}", f"file not found: {value} (looked for {tried})"
            )
        return path

    def given(value: str, key: str) -> Path:
        """A file the config must name (its schema gives a default)."""
        path = find(value, key)
        assert path is not None  # a string value always resolves to a path
        return path

    def bundled(key: str, name: str) -> Path:
        """A knowledge file the config names, else the package's own."""
        value = data["knowledge"].get(key)
        return KNOWLEDGE_DIR / name if value is None else given(value, f"knowledge.{key}")

    reference = data["reference"]
    annotation = data["annotation"]
    fasta = find(reference["fasta"], "reference.fasta")
    gff3 = find(reference["gff3"], "reference.gff3")
    if annotation == "csq" and (fasta is None or gff3 is None):
        missing = ", ".join(
            k for k, v in (("reference.fasta", fasta), ("reference.gff3", gff3)) if v is None
        )
        raise ConfigError(
            source,
            "key 'annotation'",
            f"csq needs reference.fasta and reference.gff3 (not set: {missing}); set them, or "
            "use annotation: auto with VEP- or SnpEff-annotated VCFs, or annotation: none",
        )
    if fasta is not None and not Path(f"{fasta}.fai").exists():
        raise ConfigError(source, "key 'reference.fasta'", f"no index {fasta}.fai beside it")
    if is_synthetic_gff3(gff3) and not is_synthetic_reference(fasta):
        raise ConfigError(
            source,
            "key 'reference.gff3'",
            f"{gff3} is the SYNTHETIC demo gene models, which go with the synthetic demo genome "
            "only; set reference.gff3 to the Ensembl GFF3 of your reference.fasta",
        )
    given_record = resolve_path(data["record"], workdir=workdir, root=workdir)  # its own only
    assert given_record is not None  # the schema gives a default
    return Settings(
        config=data,
        config_file=source,
        patients_file=_sheet_path(data["patients"], workdir=workdir, root=root, source=source),
        build=reference["build"],
        fasta=fasta,
        gff3=gff3,
        annotation=annotation,
        biomarkers=bundled("biomarkers", "biomarkers.tsv"),
        regimens=bundled("regimens", "regimens.yaml"),
        findings=bundled("findings", "findings.yaml"),
        cohorts=given(data["cohorts"], "cohorts"),
        record=given_record,
        filters=data["filters"],
        ranking=ranking_weights(data["ranking"], source=source),
        patients_per_job=data["patients_per_job"],
    )


def _sheet_path(value: str, *, workdir: Path, root: Path, source: str) -> Path:
    """The patient sheet: a relative path is the working directory's, except the demo's sheet,
    which is also found in the haicgx installation.

    >>> _sheet_path("nowhere.tsv", workdir=Path("/run"), root=Path("/opt/haicgx"), source="my.yaml")
    Traceback (most recent call last):
    ...
    haicgx.errors.ConfigError: my.yaml: key 'patients': patient sheet not found: /run/nowhere...
    """
    path = Path(value).expanduser()
    if path.is_absolute():
        candidate = path
    else:
        candidate = (workdir / path).resolve()
        if not candidate.exists() and path.as_posix() == DEMO_SHEET:
            candidate = (root / path).resolve()
    if not candidate.is_file():
        where = (
            "" if path.is_absolute() else " (a relative path is read from the working directory)"
        )
        what = "is a folder, not a file" if candidate.is_dir() else "not found"
        raise ConfigError(source, "key 'patients'", f"patient sheet {what}: {candidate}{where}")
    return candidate


# -- the config files, one by one -------------------------------------------------------------


def check_config_files(paths: list[Path] | list[str]) -> None:
    """Check each config file on its own, before the merged config is: YAML syntax (file, line,
    column), a key given twice in one file, unknown keys and wrong types (file, line, key).

    Requirements that only the merged config can meet (`patients`, csq's reference) are left to
    `validate_config`. Snakemake reads `--configfile` files itself first and stops at a YAML
    syntax error without naming the file or the line; `python -m haicgx.settings FILE...` names
    them.
    """
    schema = _optional(load_schema("config.schema.yaml"))
    weights = yaml.safe_load(RANKING_WEIGHTS.read_text(encoding="utf-8"))
    for name in map(str, paths):
        node = _compose(name)
        if node is None:
            continue  # an empty file sets nothing
        if not isinstance(node, yaml.MappingNode):
            raise ConfigError(name, _line(node), "a config file must map keys to values")
        _no_duplicate_keys(name, node, [])
        data = yaml.safe_load(Path(name).read_text(encoding="utf-8"))
        problem = _schema_problem(schema, data)
        if problem is None and isinstance(data.get("ranking"), dict):
            problem = _ranking_problem(weights, _merge(weights, data["ranking"]))
        if problem is not None:
            key, text = problem
            raise ConfigError(name, f"{_line(_node_at(node, key))}, key {'.'.join(key)!r}", text)


def locate_config_error(error: ConfigError, paths: list[Path] | list[str]) -> ConfigError:
    """The error of a merged-config key, named by the file (and line) that set the key: the last
    of `paths` that does. Unchanged when no file sets it (a default, or --config)."""
    names = [str(p) for p in paths]
    match = re.fullmatch(r"key '([^']+)'", error.where)
    if not match or error.file != ", ".join(names):  # another file's error names itself
        return error
    key = match[1].split(".")
    for name in reversed(names):
        try:
            node = yaml.compose(Path(name).read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        found = _node_at(node, key) if node is not None else None
        if found is not None and _node_at_depth(node, key):
            return ConfigError(name, f"{_line(found)}, {error.where}", error.problem)
    return error


def _node_at_depth(node: yaml.Node, path: list[str]) -> bool:
    """Whether every part of the key path is in the node (not only a parent of it)."""
    for part in path:
        if not isinstance(node, yaml.MappingNode):
            return False
        found = next((v for k, v in node.value if str(k.value) == part), None)
        if found is None:
            return False
        node = found
    return True


def _optional(schema: Any) -> Any:
    """The schema with every `required` removed: one file may leave a key to another."""
    if isinstance(schema, dict):
        return {k: _optional(v) for k, v in schema.items() if k != "required"}
    if isinstance(schema, list):
        return [_optional(v) for v in schema]
    return schema


def _compose(name: str) -> yaml.Node | None:
    try:
        text = Path(name).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = Path(name).read_bytes()[: exc.start].count(b"\n") + 1
        raise ConfigError(name, f"line {line}", "not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(name, "", f"cannot read the config file ({exc.strerror})") from None
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context = getattr(exc, "context", None)
        text = f"{context}: {problem}" if context else problem
        raise ConfigError(name, where, f"not valid YAML ({text})") from None


def _line(node: yaml.Node) -> str:
    return f"line {node.start_mark.line + 1}"


def _no_duplicate_keys(name: str, node: yaml.Node, path: list[str]) -> None:
    if isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in first:
                raise ConfigError(
                    name,
                    f"{_line(key_node)}, key {'.'.join([*path, key])!r}",
                    f"given twice in this file (first on line {first[key]}): remove one",
                )
            first[key] = key_node.start_mark.line + 1
            _no_duplicate_keys(name, value_node, [*path, key])
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _no_duplicate_keys(name, item, [*path, str(index)])


def _node_at(node: yaml.Node, path: list[str]) -> yaml.Node:
    """The node of a key path (its key's node for a mapping entry), or the deepest one found."""
    for depth, part in enumerate(path, start=1):
        found = None
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if str(k.value) == part), None)
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            found = (node.value[int(part)], node.value[int(part)])
        if found is None:
            return node
        key_node, node = found
        if depth == len(path):
            return key_node
    return node


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
    if len(header) == 1:
        for separator, name in ((",", "comma"), (";", "semicolon")):
            if separator in header[0]:
                raise ConfigError(
                    str(path),
                    "line 1",
                    f"the sheet is {name}-separated; it must be tab-separated (TSV): save it "
                    "as 'Text (Tab delimited)' or convert it",
                )
    _check_header(path, header)
    missing = [c for c in ("patient_id", "vcf", "primary_site") if c not in header]
    if missing:
        raise ConfigError(str(path), "header", f"missing required column {missing[0]!r}")
    if len(set(header)) != len(header):
        raise ConfigError(str(path), "header", "a column appears twice")
    validator = jsonschema.Draft202012Validator(load_schema("patients.schema.yaml"))
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
        vcf = Path(row["vcf"]).expanduser()
        vcf = vcf if vcf.is_absolute() else (path.parent / vcf).resolve()
        if any(c in str(vcf) for c in "<>"):
            # Snakemake reads <name> in a path as a path variable and would stop the whole run
            # (braces are handled: rules/common.smk leaves such a path out of the job's inputs,
            # and the patient's input stamp, which hashes the file, stands for it).
            raise ConfigError(
                str(path),
                f"{where}, column vcf",
                "a VCF path may not contain < or > (Snakemake reads them as variables): "
                f"rename the file or link it under a plain name ({vcf})",
            )
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
                identifiers=sheet_identifiers(header, row),
            )
        )
    if not patients:
        raise ConfigError(str(path), "", "no patients in the sheet")
    return patients


SITE_COLUMN = re.compile(rf"{vocab.SITE_COLUMN_PREFIX}[a-z0-9_]{{1,40}}")


def _check_header(path: Path, header: list[str]) -> None:
    """Every column is one of the sheet's own or a site identifier column (``site_...``).

    >>> _check_header(Path("p.tsv"), ["patient_id", "vcf", "primary_site", "site_mrn"])
    >>> _check_header(Path("p.tsv"), ["patient_id", "specimen"])
    Traceback (most recent call last):
    ...
    haicgx.errors.ConfigError: p.tsv: header: unknown column 'specimen'; did you mean ...
    """
    for column in header:
        if column in vocab.PATIENT_SHEET_COLUMNS or SITE_COLUMN.fullmatch(column):
            continue
        if column.startswith(vocab.SITE_COLUMN_PREFIX):
            raise ConfigError(
                str(path),
                "header",
                f"site column {column[:60]!r}: after {vocab.SITE_COLUMN_PREFIX!r} use 1 to 40 "
                "lowercase letters, digits or '_'",
            )
        close = difflib.get_close_matches(column, vocab.PATIENT_SHEET_COLUMNS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            str(path),
            "header",
            f"unknown column {column[:60]!r}{hint} (a site's own identifier column is named "
            f"{vocab.SITE_COLUMN_PREFIX}NAME, e.g. {vocab.SITE_COLUMN_PREFIX}mrn)",
        )


def sheet_identifiers(header: list[str], row: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The row's identifiers for the report: specimen_id and assay, then the site's columns in
    sheet order; empty cells left out.

    >>> row = {"site_mrn": "H1", "assay": "TSO500", "vcf": "a.vcf"}
    >>> sheet_identifiers(["site_mrn", "assay", "vcf"], row)
    (('assay', 'TSO500'), ('site_mrn', 'H1'))
    """
    site = [c for c in header if SITE_COLUMN.fullmatch(c)]
    return tuple((c, row[c]) for c in (*vocab.IDENTIFIER_COLUMNS, *site) if c in row)


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


def main(argv: list[str] | None = None) -> int:
    """`python -m haicgx.settings FILE...`: check config files one by one (YAML syntax with the
    line, duplicate and unknown keys, types), as the workflow does once Snakemake has read them."""
    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print("usage: python -m haicgx.settings CONFIG.yaml [MORE.yaml ...]", file=sys.stderr)
        return 2
    try:
        check_config_files(paths)
    except ConfigError as error:
        print(f"haicgx: {error}", file=sys.stderr)
        return 1
    print(f"haicgx: {', '.join(paths)}: no problem found in the files themselves")
    return 0


if __name__ == "__main__":
    sys.exit(main())
