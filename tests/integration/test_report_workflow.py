"""Reports as the workflow writes them: Snakemake's own report, and escaping of hostile input."""

from __future__ import annotations

import zipfile

import pytest
from demo_workflow import REPO, demo_patients, run_workflow

pytestmark = pytest.mark.slow

HOSTILE = "<script>alert(\"x\")</script> & 'q'"


def test_snakemake_report_bundles_every_patient(demo, tmp_path):
    target = tmp_path / "report.zip"
    result = run_workflow(demo, "--report", str(target))
    assert result.returncode == 0, result.stderr[-2000:]
    names = zipfile.ZipFile(target).namelist()
    assert any(n.endswith("report/report.html") for n in names)
    assert sum(n.endswith("report.pdf") for n in names) == len(demo_patients())
    assert any(n.endswith("cohort_record.tsv") for n in names)


def test_hostile_sample_name_and_path_are_escaped(tmp_path):
    source = REPO / "resources" / "demo" / "vcf" / "DEMO04.vcf"
    folder = tmp_path / 'in & "quoted" dir'
    folder.mkdir()
    vcf = folder / "hostile.vcf"
    text = source.read_text(encoding="utf-8")
    header = next(line for line in text.splitlines() if line.startswith("#CHROM"))
    sample = header.split("\t")[-1]
    vcf.write_text(text.replace(header, header[: -len(sample)] + HOSTILE), encoding="utf-8")
    sheet = tmp_path / "patients.tsv"
    sheet.write_text(
        f"patient_id\tvcf\tprimary_site\ttumour_sample\nH1\t{vcf}\tgastric\t{HOSTILE}\n",
        encoding="utf-8",
    )
    extra = tmp_path / "extra.yaml"
    extra.write_text(f"patients: '{sheet}'\n", encoding="utf-8")
    result = run_workflow(tmp_path, configs=(extra,))
    assert result.returncode == 0, result.stderr[-3000:]
    html = (tmp_path / "results" / "patients" / "H1" / "report.html").read_text(encoding="utf-8")
    assert "<script" not in html
    assert "&lt;script&gt;" in html  # the sample name, shown and escaped
    assert "in &amp; &#34;quoted&#34; dir" in html or "in &amp; &quot;quoted&quot; dir" in html
