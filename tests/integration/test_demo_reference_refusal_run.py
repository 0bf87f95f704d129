"""A real patient's VCF in a demo run (config/config.yaml + config/demo.yaml) is refused by the
synthetic demo genome, in one line naming the key to set; the demo patient beside it completes."""

from __future__ import annotations

import pytest
from demo_workflow import REPO, read_tsv, run_workflow
from support import testdata as shared_data

pytestmark = pytest.mark.slow


def test_a_real_vcf_in_the_demo_run_is_refused_and_the_demo_patient_completes(tmp_path):
    real = shared_data("pvactools-hcc1395") / "HCC1395.somatic.grch38.vep95.vcf.gz"
    demo = read_tsv(REPO / "config" / "demo_patients.tsv")[0]
    demo_vcf = (REPO / "config" / demo["vcf"]).resolve()
    sheet = tmp_path / "patients.tsv"
    sheet.write_text(
        "patient_id\tvcf\tprimary_site\n"
        f"{demo['patient_id']}\t{demo_vcf}\t{demo['primary_site']}\n"
        f"HCC1395\t{real}\tbreast\n",
        encoding="utf-8",
    )
    extra = tmp_path / "extra.yaml"
    extra.write_text(f"patients: {sheet}\n", encoding="utf-8")

    result = run_workflow(tmp_path, "--keep-going", configs=(extra,))

    assert result.returncode != 0
    # the closing summary's line (the progress line has the job's count before the reason)
    summary = next(
        ln for ln in result.stderr.splitlines() if ln.startswith("haicgx: HCC1395 failed: ")
    )
    assert summary.startswith(
        f"haicgx: HCC1395 failed: patient HCC1395: {real}: reference.fasta ("
        f"{REPO / 'resources' / 'demo' / 'reference' / 'demo_grch38.fa.gz'}) is the SYNTHETIC "
        "demo reference"
    )
    assert "set reference.fasta and reference.gff3" in summary
    done = tmp_path / "results" / "patients" / demo["patient_id"]
    assert (done / "recommendation.json").exists() and (done / "report.pdf").exists()
    recorded = {r["patient_id"] for r in read_tsv(tmp_path / "results" / "cohort_record.tsv")}
    assert recorded == {demo["patient_id"]}
