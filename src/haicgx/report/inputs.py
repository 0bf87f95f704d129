"""Reading a patient's three outputs (recommendation.json, variants.tsv, matches.tsv), with a
clear ``haicgx:`` error naming the patient and the file when one is missing or malformed."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from haicgx.errors import InputError

RECOMMENDATION_FILE = "recommendation.json"
VARIANTS_FILE = "variants.tsv"
MATCHES_FILE = "matches.tsv"


def iter_tsv(path: Path, columns: Iterable[str], patient_id: str) -> Iterator[dict[str, str]]:
    """Stream a per-patient TSV, checking that every expected column is there."""
    if not path.is_file():
        raise InputError(patient_id, str(path), "file is missing")
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle, delimiter="\t")
            missing = [name for name in columns if name not in (reader.fieldnames or [])]
            if missing:
                raise InputError(patient_id, str(path), f"missing column(s): {', '.join(missing)}")
            for row in reader:
                yield {key: value or "" for key, value in row.items()}
    except UnicodeDecodeError as exc:
        raise InputError(patient_id, str(path), f"not UTF-8 text: {exc.reason}") from None


def read_tsv(path: Path, columns: Iterable[str], patient_id: str) -> list[dict[str, str]]:
    return list(iter_tsv(path, columns, patient_id))


def read_recommendation(path: Path) -> dict[str, Any]:
    """Load one recommendation.json; the patient id is taken from the folder for messages."""
    try:
        with path.open(encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise InputError(path.parent.name, str(path), "file is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(path.parent.name, str(path), f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(path.parent.name, str(path), "top level is not a JSON object")
    return data
