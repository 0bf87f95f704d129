"""Cohort definitions: the bundled file, the schema and the cross-checks."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from haicgx.cohorts import Cohort, Cohorts, cohort_for_site, load_cohorts
from haicgx.errors import ConfigError
from haicgx.paths import PROJECT_ROOT, SCHEMA_DIR, schema_path
from haicgx.vocab import PRIMARY_SITES

BUNDLED = PROJECT_ROOT / "config" / "cohorts.yaml"
DEMO = PROJECT_ROOT / "config" / "demo_cohorts.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cohorts.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_cohorts_cover_every_primary_site_once() -> None:
    cohorts = load_cohorts(BUNDLED)
    sites = [site for cohort in cohorts.cohorts for site in cohort.primary_sites]
    assert sorted(sites) == sorted(PRIMARY_SITES)
    assert cohort_for_site(cohorts, "colorectal") == "CRC"
    assert cohort_for_site(cohorts, "pancreatic") == "UGI"
    assert cohorts.source == str(BUNDLED)


def test_the_bundled_cohorts_have_no_demo_places_and_the_demo_the_same_cohorts() -> None:
    """config/cohorts.yaml is a site's default: no max_patients. The demo's copy differs from it
    by its small colorectal cohort only."""
    bundled, demo = load_cohorts(BUNDLED), load_cohorts(DEMO)
    assert all(c.max_patients is None for c in bundled.cohorts)
    assert demo.by_id("CRC").max_patients == 3
    uncapped = tuple(replace(c, max_patients=None) for c in demo.cohorts)
    assert (demo.version, uncapped) == (bundled.version, bundled.cohorts)


def test_schema_is_found_from_the_package_not_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert schema_path("cohorts") == SCHEMA_DIR / "cohorts.schema.yaml"
    assert schema_path("cohorts").is_file()
    assert load_cohorts(BUNDLED).version == "1"


def test_site_without_cohort_gives_none() -> None:
    cohorts = Cohorts("1", (Cohort("CRC", "Colorectal", ("colorectal",)),))
    assert cohort_for_site(cohorts, "breast") is None


def test_site_in_two_cohorts_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: '1'\ncohorts:\n"
        "  - {id: A, name: A, primary_sites: [colorectal, gastric]}\n"
        "  - {id: B, name: B, primary_sites: [gastric]}\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_cohorts(path)
    assert caught.value.file == str(path)
    assert caught.value.where == "cohorts[1] (B).primary_sites"
    assert "'gastric' is already in cohort 'A'" in caught.value.problem


@pytest.mark.parametrize(
    ("body", "where", "problem"),
    [
        (
            "  - {id: A, name: A, primary_sites: [colon]}\n",
            "cohorts[0] (A).primary_sites",
            "unknown primary site 'colon'",
        ),
        (
            "  - {id: A, name: A, primary_sites: [hcc], size: 3}\n",
            "cohorts[0]",
            "'size' was unexpected",
        ),
        (
            "  - {id: A, name: A, primary_sites: [hcc], max_patients: 0}\n",
            "cohorts[0].max_patients",
            "less than the minimum of 1",
        ),
        (
            "  - {id: A, name: A, primary_sites: [hcc], max_patients: '3'}\n",
            "cohorts[0].max_patients",
            "is not of type 'integer'",
        ),
        (
            "  - {id: A, name: A, primary_sites: [hcc]}\n"
            "  - {id: A, name: B, primary_sites: [other]}\n",
            "cohorts[1].id",
            "duplicate cohort id 'A'",
        ),
        ("  - {name: A, primary_sites: [hcc]}\n", "cohorts[0]", "'id' is a required property"),
    ],
)
def test_bad_cohort_files_name_the_key_and_problem(tmp_path, body, where, problem) -> None:
    path = write(tmp_path, "version: '1'\ncohorts:\n" + body)
    with pytest.raises(ConfigError) as caught:
        load_cohorts(path)
    assert caught.value.where == where
    assert problem in caught.value.problem


def test_missing_file_and_bad_yaml_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_cohorts(tmp_path / "absent.yaml")
    path = write(tmp_path, "version: '1'\ncohorts: [\n")
    with pytest.raises(ConfigError, match="not valid YAML") as caught:
        load_cohorts(path)
    assert caught.value.where.startswith("line ")


def test_unversioned_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "cohorts:\n  - {id: A, name: A, primary_sites: [hcc]}\n")
    with pytest.raises(ConfigError, match="'version' is a required property"):
        load_cohorts(path)
