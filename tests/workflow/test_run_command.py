"""`haicgx run`: the config files checked one by one (YAML syntax with file and line, which
Snakemake's own reading of --configfile cannot name), then Snakemake with the same arguments."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support import DEMO_CONFIGS, REPO

from haicgx.cli import main
from haicgx.cli_run import config_files, snakemake_command


def haicgx(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run(
        [str(bin_dir / "haicgx"), *args], cwd=cwd, capture_output=True, text=True, env=env
    )


def test_a_yaml_syntax_error_is_named_by_file_and_line_before_snakemake(tmp_path, capsys):
    bad = tmp_path / "site.yaml"
    bad.write_text("patients: [a.tsv\nannotation: auto\n", encoding="utf-8")
    assert main(["run", "--configfile", str(DEMO_CONFIGS[0]), str(bad), "-n"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        f"haicgx: error: {bad}: line 2, column 11: not valid YAML (while parsing a flow "
        "sequence: expected ',' or ']', but got ':')"
    )
    assert not (tmp_path / "results").exists() and not (tmp_path / ".snakemake").exists()


def test_an_unknown_key_and_a_missing_file_are_named_too(tmp_path, capsys):
    typo = tmp_path / "site.yaml"
    typo.write_text("patient: a.tsv\n", encoding="utf-8")
    assert main(["run", "--configfile", str(typo)]) == 1
    assert "line 1, key 'patient': unknown key" in capsys.readouterr().err
    assert main(["run", "--configfile", str(tmp_path / "none.yaml")]) == 1
    assert capsys.readouterr().err.strip().endswith("none.yaml: config file not found")
    assert main(["run", "--cores", "2"]) == 1
    assert "no --configfile given" in capsys.readouterr().err


def test_arguments_reach_snakemake_unchanged():
    args = ["--configfile", "a.yaml", "b.yaml", "--cores", "2", "--configfile=c.yaml", "-n"]
    assert config_files(args) == ["a.yaml", "b.yaml", "c.yaml"]
    command = snakemake_command(args)
    assert command[1:3] == ["-s", str(REPO / "Snakefile")] and command[3:] == args
    assert snakemake_command(["-s", "x", *args])[1:] == ["-s", "x", *args]


def test_good_files_run_the_workflow(tmp_path):
    """A dry run of the demo from another folder: Snakemake's own plan, its exit status."""
    result = haicgx("run", "--configfile", *map(str, DEMO_CONFIGS), "-n", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout + result.stderr
    configs = " ".join(map(str, DEMO_CONFIGS))
    assert f"snakemake -s {REPO / 'Snakefile'} --configfile {configs} -n" in out
    assert "This was a dry-run" in out and "publish" in out
    assert not (tmp_path / "results" / "patients").exists()
