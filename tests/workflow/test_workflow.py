"""The workflow as users drive it: lint, format, dry run, and validation before any job."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from haicgx.paths import KNOWLEDGE_DIR

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SNAKEMAKE = str(BIN / "snakemake")
TEMPLATE = str(REPO / "config" / "config.yaml")
DEMO = str(REPO / "config" / "demo.yaml")
CONFIG = (TEMPLATE, DEMO)  # the demo's config, as `make run` names it


def snakemake(*args: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run(
        [SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(cwd), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_lint_is_clean(tmp_path):
    result = snakemake("--lint", "--configfile", *CONFIG, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations" in result.stdout + result.stderr


def test_snakefmt_is_clean():
    snakefmt = shutil.which("snakefmt", path=str(BIN)) or "snakefmt"
    result = subprocess.run(
        [snakefmt, "--check", "Snakefile", "rules"], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dry_run_from_another_folder(tmp_path):
    result = snakemake("-n", "--configfile", *CONFIG, "--cores", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout + result.stderr
    for rule in ("analyse", "publish", "cohort"):
        assert rule in out
    # Nothing but the input stamps, which the plan itself reads, and the run lock taken before
    # them (haicgx.currency).
    written = {p.relative_to(tmp_path).as_posix() for p in (tmp_path / "results").rglob("*")}
    assert {p for p in written if not p.startswith("results/work/inputs/")} == {
        "results/work",
        "results/work/inputs",
        "results/work/run.lock",
    }


def run_with_extra(
    tmp_path: Path, text: str, name: str = "extra.yaml"
) -> subprocess.CompletedProcess:
    extra = tmp_path / name
    extra.write_text(text, encoding="utf-8")
    return snakemake("-n", "--configfile", *CONFIG, str(extra), "--cores", "1", cwd=tmp_path)


def copy_sheet(tmp_path: Path, transform) -> Path:
    lines = (REPO / "config" / "demo_patients.tsv").read_text(encoding="utf-8").splitlines()
    sheet = tmp_path / "patients.tsv"
    vcf_dir = REPO / "config"
    fixed = [lines[0]]
    for line in lines[1:]:
        cells = line.split("\t")
        cells[1] = str((vcf_dir / cells[1]).resolve())
        fixed.append("\t".join(cells))
    sheet.write_text("\n".join(transform(fixed)) + "\n", encoding="utf-8")
    return sheet


def assert_stopped(result: subprocess.CompletedProcess, tmp_path: Path, *needles: str) -> None:
    assert result.returncode != 0
    err = result.stderr
    message = [line for line in err.splitlines() if line.startswith("haicgx:")]
    assert len(message) == 1, err
    for needle in needles:
        assert needle in message[0], message[0]
    assert "Traceback" not in err
    assert not (tmp_path / "results").exists()


def test_unknown_config_key_stops_before_any_job(tmp_path):
    result = run_with_extra(tmp_path, "filters:\n  min_dept: 5\n")
    assert_stopped(
        result,
        tmp_path,
        f"{tmp_path / 'extra.yaml'}: line 2, key 'filters.min_dept'",
        "unknown key; did you mean 'min_depth'?",
    )


def test_the_template_alone_names_the_sheet_a_site_must_give(tmp_path):
    """config/config.yaml names `patients.tsv` in the working directory: without it the run stops
    there, naming the path looked for, and never runs the demo's sheet."""
    line = next(
        n
        for n, text in enumerate(Path(TEMPLATE).read_text().splitlines(), start=1)
        if text.startswith("patients:")
    )
    result = snakemake("-n", "--configfile", TEMPLATE, "--cores", "1", cwd=tmp_path)
    assert_stopped(
        result,
        tmp_path,
        f"{TEMPLATE}: line {line}, key 'patients': patient sheet not found: "
        f"{tmp_path / 'patients.tsv'}",
    )


def test_a_site_run_without_a_reference_plans_every_patient(tmp_path):
    """The template and a site file naming only the sheet: no FASTA, so never the demo genome."""
    sheet = copy_sheet(tmp_path, lambda rows: rows)
    site = tmp_path / "site.yaml"
    site.write_text(f"patients: {sheet}\n", encoding="utf-8")
    result = snakemake("-n", "--configfile", TEMPLATE, str(site), "--cores", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "demo_grch38" not in result.stdout + result.stderr


def test_csq_without_a_reference_stops_before_any_job(tmp_path):
    sheet = copy_sheet(tmp_path, lambda rows: rows)
    site = tmp_path / "site.yaml"
    site.write_text(f"patients: {sheet}\nannotation: csq\n", encoding="utf-8")
    result = snakemake("-n", "--configfile", TEMPLATE, str(site), "--cores", "1", cwd=tmp_path)
    assert_stopped(
        result,
        tmp_path,
        f"{site}: line 2, key 'annotation': csq needs reference.fasta and reference.gff3",
    )


def test_a_comma_separated_sheet_stops(tmp_path):
    sheet = copy_sheet(tmp_path, lambda rows: [row.replace("\t", ",") for row in rows])
    result = run_with_extra(tmp_path, f"patients: {sheet}\n")
    assert_stopped(
        result, tmp_path, f"{sheet}: line 1: the sheet is comma-separated; it must be tab-separated"
    )


def test_a_yaml_syntax_error_stops_before_any_job(tmp_path):
    """Snakemake reads --configfile files itself and stops at a YAML syntax error with its own
    message, naming neither the file nor the line (config/README.md); `python -m
    haicgx.settings` names both."""
    extra = tmp_path / "extra.yaml"
    extra.write_text("filters:\n  min_depth: [5\n  pass_only: true\n", encoding="utf-8")
    result = snakemake("-n", "--configfile", *CONFIG, str(extra), "--cores", "1", cwd=tmp_path)
    assert result.returncode != 0
    assert "Config file is not valid JSON or YAML" in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()
    check = subprocess.run(
        [str(BIN / "python"), "-m", "haicgx.settings", *CONFIG, str(extra)],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 1
    assert check.stderr.startswith(f"haicgx: {extra}: line 3, column 12: not valid YAML"), check


def test_a_key_given_twice_stops(tmp_path):
    result = run_with_extra(tmp_path, "annotation: auto\nannotation: none\n")
    assert_stopped(
        result,
        tmp_path,
        f"{tmp_path / 'extra.yaml'}: line 2, key 'annotation': given twice in this file",
    )


def test_wrong_type_stops(tmp_path):
    result = run_with_extra(tmp_path, "filters:\n  min_vaf: lots\n")
    assert_stopped(
        result, tmp_path, f"{tmp_path / 'extra.yaml'}: line 2, key 'filters.min_vaf'", "not of type"
    )


def test_duplicate_patient_stops(tmp_path):
    sheet = copy_sheet(tmp_path, lambda rows: [*rows, rows[1]])
    result = run_with_extra(tmp_path, f"patients: {sheet}\n")
    assert_stopped(result, tmp_path, str(sheet), "duplicate patient_id", "column patient_id")


def test_unknown_primary_site_stops(tmp_path):
    def bad_site(rows):
        cells = rows[1].split("\t")
        cells[2] = "lung"
        return [rows[0], "\t".join(cells), *rows[2:]]

    sheet = copy_sheet(tmp_path, bad_site)
    result = run_with_extra(tmp_path, f"patients: {sheet}\n")
    assert_stopped(result, tmp_path, str(sheet), "line 2", "primary_site", "'lung'")


def test_missing_vcf_stops(tmp_path):
    def missing(rows):
        cells = rows[1].split("\t")
        cells[1] = str(tmp_path / "gone.vcf")
        return [rows[0], "\t".join(cells), *rows[2:]]

    sheet = copy_sheet(tmp_path, missing)
    result = run_with_extra(tmp_path, f"patients: {sheet}\n")
    assert_stopped(result, tmp_path, "file not found", "gone.vcf")


@pytest.mark.parametrize("broken", ["biomarkers", "regimens"])
def test_bad_knowledge_stops(tmp_path, broken):
    source = KNOWLEDGE_DIR / f"{broken}.{'tsv' if broken == 'biomarkers' else 'yaml'}"
    target = tmp_path / source.name
    text = source.read_text(encoding="utf-8")
    if broken == "biomarkers":
        lines = text.splitlines()
        last = lines[-1].split("\t")
        last[5] = "aspirin"
        text = "\n".join([*lines[:-1], "\t".join(last)]) + "\n"
    else:
        text = text.replace("regimens:", "regimens:\n  - id: Bad Id\n    name: x\n", 1)
    target.write_text(text, encoding="utf-8")
    result = run_with_extra(tmp_path, f"knowledge:\n  {broken}: {target}\n")
    assert_stopped(result, tmp_path, str(target))


def endpoints_config(tmp_path: Path, sdtm: Path, extra: str = "") -> Path:
    config = tmp_path / "endpoints.yaml"
    config.write_text(f"endpoints:\n  sdtm: {sdtm}\n{extra}", encoding="utf-8")
    return config


def test_endpoints_rule_only_when_configured(tmp_path):
    sdtm = tmp_path / "sdtm"
    sdtm.mkdir()
    (sdtm / "dm.csv").write_text("USUBJID,RFSTDTC,ARM\nS1,2024-01-01,A\n", encoding="utf-8")
    config = str(endpoints_config(tmp_path, sdtm))
    result = snakemake("-n", "--configfile", *CONFIG, config, "--cores", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout + result.stderr
    assert "rule endpoints:" in out and "results/endpoints/endpoints.html" in out
    lint = snakemake("--lint", "--configfile", *CONFIG, config, cwd=tmp_path)
    assert "Congratulations" in lint.stdout + lint.stderr, lint.stdout + lint.stderr
    plain = snakemake("-n", "--configfile", *CONFIG, "--cores", "1", cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert "rule endpoints" not in plain.stdout + plain.stderr
    assert "results/endpoints/" not in plain.stdout + plain.stderr


def test_endpoints_ambiguous_folder_stops_before_any_job(tmp_path):
    sdtm = tmp_path / "sdtm"
    sdtm.mkdir()
    for name in ("dm.csv", "dm.tsv"):
        (sdtm / name).write_text("USUBJID\nS1\n", encoding="utf-8")
    config = endpoints_config(tmp_path, sdtm)
    result = snakemake("-n", "--configfile", *CONFIG, str(config), "--cores", "1", cwd=tmp_path)
    assert_stopped(result, tmp_path, "dm.csv and dm.tsv are both the DM domain")
    config = endpoints_config(tmp_path, sdtm, "  join: board\n")
    result = snakemake("-n", "--configfile", *CONFIG, str(config), "--cores", "1", cwd=tmp_path)
    assert_stopped(result, tmp_path, "endpoints.join")
