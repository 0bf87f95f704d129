"""The config files: config/config.yaml is a site's template (no demo value), config/demo.yaml the
demo's settings; each file a run names is checked on its own, with its line, before the merge."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from support import DEMO_CONFIGS, DEMO_SHEET, REPO, demo_config

from haicgx.errors import ConfigError
from haicgx.settings import (
    check_config_files,
    is_synthetic_reference,
    load_patients,
    load_settings,
    locate_config_error,
    main,
    validate_config,
)

TEMPLATE, DEMO = DEMO_CONFIGS
SCHEMA = yaml.safe_load((REPO / "src" / "haicgx" / "schemas" / "config.schema.yaml").read_text())


def keys_of(schema: dict, prefix: str = "") -> list[str]:
    """Every key of the config schema, nested ones as `a.b`."""
    keys = []
    for name, sub in schema.get("properties", {}).items():
        keys.append(prefix + name)
        if sub.get("type") == "object" and "properties" in sub:
            keys += keys_of(sub, f"{prefix}{name}.")
    return keys


def test_the_template_holds_no_demo_value():
    template = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    text = TEMPLATE.read_text(encoding="utf-8")
    assert "demo_grch38" not in text and "demo_patients" not in text
    assert "demo_cohorts" not in text
    assert template["reference"]["fasta"] is None and template["reference"]["gff3"] is None
    assert template["cohorts"] == "config/cohorts.yaml"
    assert template["patients"] == "patients.tsv"  # the site's own, in its working directory
    defaults = SCHEMA["properties"]
    assert template["patients_per_job"] == defaults["patients_per_job"]["default"]
    assert not (REPO / "config" / "patients.tsv").exists()  # no sheet to fall back on


def test_the_template_shows_and_comments_every_key():
    """Every key of the schema is in the template (endpoints commented out), with a comment on
    its line or just above it, and in config/README.md."""
    text = TEMPLATE.read_text(encoding="utf-8")
    lines = text.splitlines()
    readme = (REPO / "config" / "README.md").read_text(encoding="utf-8")
    for key in keys_of(SCHEMA):
        if key.startswith("endpoints."):
            continue
        name = key.split(".")[-1]
        leaf = not any(k.startswith(f"{key}.") for k in keys_of(SCHEMA))
        assert not leaf or f"`{key}`" in readme, f"{key} is not documented in config/README.md"
        found = [i for i, line in enumerate(lines) if re.match(rf"^#?\s*{name}:", line)]
        assert found, f"{key} is not in the template"
        line, before = lines[found[0]], lines[found[0] - 1].strip()
        assert "#" in line or before.startswith("#"), f"{key} has no comment"


def test_demo_settings_are_the_demos():
    demo = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    assert set(demo) == {"patients", "reference", "cohorts", "patients_per_job"}
    assert demo["patients_per_job"] == 5
    assert demo["cohorts"] == "config/demo_cohorts.yaml"
    settings = load_settings(demo_config(), workdir=REPO)
    assert settings.patients_file == DEMO_SHEET
    assert is_synthetic_reference(settings.fasta)
    assert len(load_patients(settings.patients_file)) == 10


def test_the_template_alone_names_the_missing_sheet(tmp_path):
    config = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    with pytest.raises(ConfigError, match=rf"patient sheet not found: {tmp_path}/patients.tsv"):
        load_settings(config, workdir=tmp_path)
    (tmp_path / "patients.tsv").write_text("x")
    settings = load_settings(config, workdir=tmp_path)
    assert settings.fasta is None and settings.gff3 is None and settings.annotation == "auto"
    assert not is_synthetic_reference(settings.fasta)


def test_the_synthetic_reference_is_known_by_its_index_wherever_it_is(tmp_path):
    fasta = REPO / "resources" / "demo" / "reference" / "demo_grch38.fa.gz"
    assert is_synthetic_reference(fasta)
    copy = tmp_path / "genome.fa.gz"
    copy.write_bytes(b"")  # the index is what is read
    (tmp_path / "genome.fa.gz.fai").write_bytes(Path(f"{fasta}.fai").read_bytes())
    assert is_synthetic_reference(copy)
    (tmp_path / "genome.fa.gz.fai").write_text("chr1\t248956422\t6\t60\t61\n")
    assert not is_synthetic_reference(copy)
    assert not is_synthetic_reference(None)
    assert not is_synthetic_reference(tmp_path / "none.fa")


# -- each file on its own -----------------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "site.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problem(paths: list[Path]) -> str:
    with pytest.raises(ConfigError) as caught:
        check_config_files(paths)
    return str(caught.value)


def test_the_bundled_files_pass():
    check_config_files(list(DEMO_CONFIGS))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "filters:\n  min_depth: [5\n  pass_only: true\n",
            "line 3, column 12: not valid YAML (while parsing a flow sequence: expected ',' or ']'",
        ),
        ("patients: a.tsv\n\tannotation: none\n", "line 2, column 1: not valid YAML"),
        (
            "reference:\n  fasta: a.fa\n  build: GRCh38\n  fasta: b.fa\n",
            "line 4, key 'reference.fasta': given twice in this file (first on line 2)",
        ),
        ("filters:\n  min_dept: 5\n", "line 2, key 'filters.min_dept': unknown key; did you mean"),
        ("annotaton: csq\n", "line 1, key 'annotaton': unknown key; did you mean 'annotation'?"),
        (
            "patients: a.tsv\n\nfilters:\n  min_vaf: lots\n",
            "line 4, key 'filters.min_vaf': 'lots' is not of type 'number'",
        ),
        ("reference:\n  build: hg19\n", "line 2, key 'reference.build': 'hg19' is not one of"),
        (
            "ranking:\n  match_level:\n    gen: 0.5\n",
            "line 3, key 'ranking.match_level.gen': unknown weight; did you mean 'gene'?",
        ),
        ("- patients\n- a.tsv\n", "line 1: a config file must map keys to values"),
    ],
)
def test_each_file_is_checked_with_its_line(tmp_path, text, expected):
    path = write(tmp_path, text)
    message = problem([TEMPLATE, path])
    assert message.startswith(f"{path}: "), message
    assert expected in message, message


def test_a_file_may_leave_required_keys_to_another(tmp_path):
    check_config_files(
        [write(tmp_path, "endpoints:\n  join: arm\n"), write(tmp_path, "", "e.yaml")]
    )


def test_a_merged_key_error_names_the_file_and_line_that_set_it(tmp_path):
    site = write(tmp_path, "# my site\npatients: mine.tsv\n")
    files = [TEMPLATE, site]
    source = ", ".join(map(str, files))
    config = demo_config() | yaml.safe_load(site.read_text())
    with pytest.raises(ConfigError) as caught:
        load_settings(config, workdir=tmp_path, source=source)
    located = str(locate_config_error(caught.value, files))
    assert located.startswith(f"{site}: line 2, key 'patients': patient sheet not found")
    # a key no file sets (a default, or --config) keeps the list of files
    error = ConfigError(source, "key 'endpoints.join'", "x")
    assert locate_config_error(error, files) is error
    # another file's error names itself already
    other = ConfigError(str(tmp_path / "cohorts.yaml"), "key 'patients'", "x")
    assert locate_config_error(other, files) is other


def test_merged_validation_still_names_the_key():
    with pytest.raises(ConfigError, match=r"^a.yaml, b.yaml: key 'record': 5 is not of type"):
        validate_config({"patients": "p.tsv", "record": 5}, source="a.yaml, b.yaml")


def test_python_m_haicgx_settings_names_file_and_line(tmp_path, capsys):
    bad = write(tmp_path, "filters:\n  min_depth: [5\n")
    assert main([str(TEMPLATE), str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"haicgx: {bad}: line 3, column 1: not valid YAML")
    assert main([str(TEMPLATE), str(DEMO)]) == 0
    assert main([]) == 2


# -- the sheet ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("separator", "name"), [(",", "comma"), (";", "semicolon")])
def test_a_sheet_that_is_not_tab_separated_is_named_so(tmp_path, separator, name):
    sheet = tmp_path / "patients.csv"
    sheet.write_text(
        separator.join(["patient_id", "vcf", "primary_site"]) + "\nP1" + separator + "a.vcf\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_patients(sheet)
    assert str(caught.value).startswith(
        f"{sheet}: line 1: the sheet is {name}-separated; it must be tab-separated"
    )


def test_an_unknown_column_gets_the_close_name(tmp_path):
    sheet = tmp_path / "patients.tsv"
    sheet.write_text("patient_id\tvcf\tprimary_site\ttumor_sample\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown column 'tumor_sample'; did you mean 'tumour_"):
        load_patients(sheet)
