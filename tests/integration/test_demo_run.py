"""The whole demo cohort through the workflow, in a temporary working directory.

Runs `snakemake -s <repo>/Snakefile -d <tmp>` as a user would, then checks every output of
CONTRACT sections 4 and 5, the clinical invariants, determinism, and a failing patient beside
the others.
"""

from __future__ import annotations

import gzip
import json
import sqlite3

import jsonschema
import pytest
from demo_workflow import REPO, SCHEMA, demo_patients, read_tsv, run_workflow
from invariants import invariant_violations

from haicgx import vocab

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("patient", demo_patients())
def test_every_patient_has_every_output(demo, patient):
    folder = demo / "results" / "patients" / patient
    variants = read_tsv(folder / "variants.tsv")
    header = (folder / "variants.tsv").read_text(encoding="utf-8").splitlines()[0].split("\t")
    for column in ("chrom", "pos", "ref", "alt", "gene", "consequence", "transcript",
                   "protein_change", "vaf", "depth", "alt_reads", "genotype"):  # fmt: skip
        assert column in header
    assert all("," not in v["alt"] for v in variants), "one row per allele"
    matches = read_tsv(folder / "matches.tsv")
    for m in matches:
        assert m["match_level"] in vocab.MATCH_LEVELS
        assert m["kb_id"] and m["source"] and m["evidence_level"]
    rec = json.loads((folder / "recommendation.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(rec)
    assert invariant_violations(rec) == []
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert 'src="http' not in html and 'href="http' not in html
    assert (folder / "report.pdf").read_bytes().startswith(b"%PDF")
    assert (demo / "logs" / "publish" / f"{patient}.log").exists()


def test_cohort_outputs(demo):
    rows = read_tsv(demo / "results" / "cohort_record.tsv")
    assert sorted(r["patient_id"] for r in rows) == sorted(demo_patients())
    assert (demo / "results" / "cohort_report.html").exists()
    with sqlite3.connect(demo / "results" / "cohort_record.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        count = db.execute("SELECT count(*) FROM assignments").fetchone()[0]
    assert count == len(demo_patients())


def test_demo_cases(demo):
    def rec(patient):
        path = demo / "results" / "patients" / patient / "recommendation.json"
        return json.loads(path.read_text(encoding="utf-8"))

    def variant_genes(patient):
        return {
            (v["gene"], v["protein_change"])
            for v in read_tsv(demo / "results" / "patients" / patient / "variants.tsv")
        }

    assert ("KRAS", "p.G12D") in variant_genes("DEMO01")
    assert ("BRAF", "p.V600E") in variant_genes("DEMO02")
    assert rec("DEMO04")["pgx"]["DPYD"]["activity_score"] == 1.0
    assert rec("DEMO05")["pgx"]["DPYD"]["activity_score"] <= 0.5
    assert rec("DEMO06")["pgx"]["UGT1A1"]["diplotype"] == "*28/*28"
    assert rec("DEMO06")["pgx"]["UGT1A1"]["phenotype"] == "Poor Metabolizer"
    demo07 = read_tsv(demo / "results" / "patients" / "DEMO07" / "variants.tsv")
    positions = [v["pos"] for v in demo07]
    assert len(positions) > len(set(positions)), "the multi-allelic record is split into alleles"
    with_oxaliplatin = [r for r in rec("DEMO08")["regimens"] if "oxaliplatin" in r["drugs"]]
    assert with_oxaliplatin, "DEMO08 is ranked regimens with oxaliplatin, which it progressed on"
    for regimen in with_oxaliplatin:
        assert any(r["kind"] == "prior_failure" for r in regimen["reasons"]), regimen["regimen_id"]


def test_rerun_is_deterministic_and_records_nothing_new(demo):
    before = {
        p: json.loads((demo / "results" / "patients" / p / "recommendation.json").read_text())
        for p in demo_patients()
    }
    tables = {
        (p, name): (demo / "results" / "patients" / p / name).read_bytes()
        for p in demo_patients()
        for name in ("variants.tsv", "matches.tsv")
    }
    record_before = (demo / "results" / "cohort_record.tsv").read_text()
    result = run_workflow(demo, "--forcerun", "analyse")
    assert result.returncode == 0, result.stderr[-3000:]
    for p, old in before.items():
        new = json.loads((demo / "results" / "patients" / p / "recommendation.json").read_text())
        old["provenance"].pop("generated_at")
        new["provenance"].pop("generated_at")
        assert new == old
    for (p, name), content in tables.items():
        assert (demo / "results" / "patients" / p / name).read_bytes() == content, (p, name)
    assert (demo / "results" / "cohort_record.tsv").read_text() == record_before
    with sqlite3.connect(demo / "results" / "cohort_record.sqlite") as db:
        assert db.execute("SELECT count(*) FROM assignments").fetchone()[0] == len(before)


def test_a_bad_patient_fails_alone(tmp_path):
    sheet = tmp_path / "patients.tsv"
    rows = read_tsv(REPO / "config" / "demo_patients.tsv")[:2]
    bad = tmp_path / "broken.vcf.gz"
    good_vcf = (REPO / "config" / rows[0]["vcf"]).resolve()
    bad.write_bytes(gzip.compress(good_vcf.read_bytes())[:300])
    with sheet.open("w", encoding="utf-8") as handle:
        handle.write("patient_id\tvcf\tprimary_site\n")
        for row in rows:
            vcf = (REPO / "config" / row["vcf"]).resolve()
            handle.write(f"{row['patient_id']}\t{vcf}\t{row['primary_site']}\n")
        handle.write(f"BROKEN1\t{bad}\tgastric\n")
    extra = tmp_path / "extra.yaml"
    extra.write_text(f"patients: {sheet}\n")
    result = run_workflow(tmp_path, "--keep-going", configs=(extra,))
    assert result.returncode != 0
    lines = [
        ln
        for ln in result.stderr.splitlines()
        if "BROKEN1" in ln and ln.startswith("haicgx:") and "this job" not in ln
    ]
    assert lines and "truncated or corrupt compressed file" in lines[0] and str(bad) in lines[0]
    # progress per patient, and a summary at the end of the run
    assert any(
        ln.startswith(f"haicgx: {rows[0]['patient_id']} done (")
        for ln in result.stderr.splitlines()
    )
    assert (
        "haicgx: 2 of 3 patients completed, 1 failed; reports in results/patients/" in result.stderr
    )
    assert not (tmp_path / "results" / "patients" / "BROKEN1").exists() or not any(
        (tmp_path / "results" / "patients" / "BROKEN1").iterdir()
    )
    recorded = {r["patient_id"] for r in read_tsv(tmp_path / "results" / "cohort_record.tsv")}
    assert recorded == {row["patient_id"] for row in rows}
    cohort_html = (tmp_path / "results" / "cohort_report.html").read_text(encoding="utf-8")
    assert "BROKEN1" in cohort_html and "truncated or corrupt" in cohort_html
    # The failure does not outlive its run: once the file is fixed, a rerun analyses it again.
    outcomes = (tmp_path / "results" / "work").glob("*/*/outcome.json")
    assert not [p for p in outcomes if '"failed"' in p.read_text(encoding="utf-8")]
    bad.write_bytes(gzip.compress(good_vcf.read_bytes()))
    again = run_workflow(tmp_path, "--keep-going", configs=(extra,))
    assert again.returncode == 0, again.stderr[-2000:]
    recorded = {r["patient_id"] for r in read_tsv(tmp_path / "results" / "cohort_record.tsv")}
    assert "BROKEN1" in recorded
