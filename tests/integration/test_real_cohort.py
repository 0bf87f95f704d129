"""A test cohort of real public tumour VCFs, run end to end through the Snakemake workflow as a
site's first run would: `config/config.yaml` and a short site file naming only the build, no
reference (so REF alleles are not checked and indels not left-aligned; every output says so) and
the annotation: `auto` for the files VEP or SnpEff annotated, `none` for the plain caller outputs
(auto cannot run csq without a reference, so an unannotated file fails alone under it, said in
one line: checked with vcf2maf's b38 file in the GRCh38 `auto` run).

The files are read in place from ../shared/testdata (skipped with the reason when it is absent);
the sheet and the site file are written to a temporary folder. One run per build and annotation,
since both are a run's settings:

- GRCh37, none: MuTect 1 (b37 contig names and lengths, tumour and normal), the same file renamed
  to UCSC hg19 naming (`chr1`..., `chrM` of 16,571 bp: a copy written here, the only change),
  Strelka 1 (no ##contig lines), VarScan 2 (one 'A/T' record among 500, left out with a warning),
  SomaticSniper and PCGR's GRCh37 file (INFO TVAF/TDP, lifted over by CrossMap).
- GRCh37, auto: HCC1395 annotated by VEP 95.
- GRCh38, auto: HCC1395's GATK MuTect2 calls annotated by VEP 95 (two records on an unplaced
  contig), vembrane's Strelka 2 calls annotated by SnpEff 4.3, and vcf2maf's b38 file, which
  carries no annotation and fails alone.
- GRCh38, none: vcf2maf's b38 file (`21`, no chr prefix) and PCGR's GRCh38 file.

Checked: every patient completes with every output and is recorded; known calls, read from the
files' own text, appear in variants.tsv with the caller's counts and in recommendation.json.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO, TESTDATA

pytestmark = pytest.mark.slow

# MuTect 1's file has 5 PASS calls of 500, each with 3 alt reads: the site file below takes
# filters.min_alt_reads down to 3 so that they are reported (a site's choice, said here).
MUTECT1_CALL = ("11", 45880224)  # C>A, tumour AD 27,3, DP 30, FA 0.100
HCC1395_TP53_GRCH38 = ("chr17", 7675088)  # C>T, p.R175H
OUTPUTS = ("variants.tsv", "matches.tsv", "recommendation.json", "report.html", "report.pdf")

# patient -> (file under ../shared/testdata, primary site, tumour sample, normal sample)
GRCH37 = {
    "MUTECT1": ("vcf2maf-tests/test_mutect.vcf", "colorectal", "TUMOR", "NORMAL"),
    "MUTECT1-HG19": ("hg19 copy of vcf2maf-tests/test_mutect.vcf", "gastric", "TUMOR", "NORMAL"),
    "STRELKA1": ("vcf2maf-tests/test_strelka.vcf", "pancreatic", "TUMOR", "NORMAL"),
    "VARSCAN2": ("vcf2maf-tests/test_varscan.vcf", "biliary", "TUMOR", "NORMAL"),
    "SNIPER": ("vcf2maf-tests/test_sniper.vcf", "hcc", "TUMOR", "NORMAL"),
    "PCGR-37": ("pcgr-examples/T001-BRCA.grch37.vcf.gz", "breast", "", ""),
}
GRCH37_ANNOTATED = {
    "HCC1395-37": ("pvactools-hcc1395/HCC1395.grch37.vep95.vcf", "breast", "", ""),
}
GRCH38_ANNOTATED = {
    "MUTECT2-VEP": ("pvactools-hcc1395/HCC1395.somatic.grch38.vep95.vcf.gz", "breast", "", ""),
    "STRELKA2-SNPEFF": ("vembrane/snpeff43t_hg38_strelka.ann.vcf", "other", "", ""),
}
UNANNOTATED_UNDER_AUTO = {"B38": ("vcf2maf-tests/test_b38.vcf", "other", "TUMOR", "NORMAL")}
GRCH38 = {
    **UNANNOTATED_UNDER_AUTO,
    "PCGR-38": ("pcgr-examples/T001-BRCA.grch38.vcf.gz", "breast", "", ""),
}


def hg19_copy(source: Path, target: Path) -> Path:
    """The b37 file under UCSC hg19 naming: `chr` before every contig name (MT as chrM, declared
    at hg19's 16,571 bp), nothing else changed."""
    out = []
    for line in source.read_text(encoding="utf-8").splitlines():
        if line.startswith("##contig=<ID="):
            name = line[len("##contig=<ID=") :].split(",", 1)[0].rstrip(">")
            if name == "MT":
                line = "##contig=<ID=chrM,length=16571>"
            else:
                line = line.replace(f"<ID={name},", f"<ID=chr{name},", 1)
        elif line and not line.startswith("#"):
            chrom, rest = line.split("\t", 1)
            line = f"chr{'M' if chrom == 'MT' else chrom}\t{rest}"
        out.append(line)
    target.write_text("\n".join(out) + "\n", encoding="utf-8")
    return target


def run_cohort(
    folder: Path, build: str, patients: dict, annotation: str
) -> subprocess.CompletedProcess:
    if not TESTDATA.is_dir():
        pytest.skip(f"{TESTDATA} is absent: the shared public test data is not beside the project")
    folder.mkdir()
    rows = ["patient_id\tvcf\tprimary_site\ttumour_sample\tnormal_sample"]
    for pid, (name, site, tumour, normal) in patients.items():
        if name.startswith("hg19 copy of "):
            vcf = hg19_copy(TESTDATA / name.removeprefix("hg19 copy of "), folder / "hg19.vcf")
        else:
            vcf = TESTDATA / name
        rows.append(f"{pid}\t{vcf}\t{site}\t{tumour}\t{normal}")
    (folder / "patients.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    # A site's file over the template: its sheet (patients.tsv, the template's default), its
    # build, no reference, the annotation; three alt reads are enough (MuTect 1's PASS calls
    # have three).
    (folder / "site.yaml").write_text(
        f"reference:\n  build: {build}\nannotation: {annotation}\nfilters:\n  min_alt_reads: 3\n",
        encoding="utf-8",
    )
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    command = [
        str(bin_dir / "snakemake"), "-s", str(REPO / "Snakefile"), "-d", str(folder),
        "--workflow-profile", str(REPO / "workflow" / "profiles" / "default"),
        "--configfile", str(REPO / "config" / "config.yaml"), str(folder / "site.yaml"),
        "--cores", "2",
    ]  # fmt: skip
    return subprocess.run(
        command, cwd=folder, capture_output=True, text=True, timeout=1800, env=env
    )


def variants(folder: Path, pid: str) -> list[dict[str, str]]:
    path = folder / "results" / "patients" / pid / "variants.tsv"
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def recommendation(folder: Path, pid: str) -> dict:
    path = folder / "results" / "patients" / pid / "recommendation.json"
    return json.loads(path.read_text(encoding="utf-8"))


def raw_record(name: str, chrom: str, pos: int) -> list[str]:
    """The fields of the file's record at chrom:pos, from its text."""
    path = TESTDATA / name
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            if not line.startswith("#") and fields[0] == chrom and int(fields[1]) == pos:
                return fields
    raise AssertionError(f"{chrom}:{pos} is not in {name}")


def sample_fields(fields: list[str], column: int) -> dict[str, str]:
    return dict(zip(fields[8].split(":"), fields[column].split(":"), strict=False))


def assert_complete(folder: Path, result: subprocess.CompletedProcess, patients: dict) -> None:
    assert result.returncode == 0, result.stderr[-4000:]
    for pid in patients:
        out = folder / "results" / "patients" / pid
        missing = [name for name in OUTPUTS if not (out / name).is_file()]
        assert missing == [], f"{pid} lacks {missing}"
    with (folder / "results" / "cohort_record.tsv").open(encoding="utf-8") as handle:
        recorded = {row["patient_id"] for row in csv.DictReader(handle, delimiter="\t")}
    assert recorded == set(patients)


def cohort(tmp_path_factory, name: str, build: str, patients: dict, annotation: str):
    folder = tmp_path_factory.mktemp(name) / "run"
    return folder, run_cohort(folder, build, patients, annotation)


@pytest.fixture(scope="module")
def grch37(tmp_path_factory):
    return cohort(tmp_path_factory, "real37", "GRCh37", GRCH37, "none")


@pytest.fixture(scope="module")
def grch37_annotated(tmp_path_factory):
    return cohort(tmp_path_factory, "real37vep", "GRCh37", GRCH37_ANNOTATED, "auto")


@pytest.fixture(scope="module")
def grch38(tmp_path_factory):
    return cohort(tmp_path_factory, "real38", "GRCh38", GRCH38, "none")


@pytest.fixture(scope="module")
def grch38_annotated(tmp_path_factory):
    patients = {**GRCH38_ANNOTATED, **UNANNOTATED_UNDER_AUTO}
    return cohort(tmp_path_factory, "real38vep", "GRCh38", patients, "auto")


def test_grch37_cohort_completes_with_every_output(grch37):
    folder, result = grch37
    assert_complete(folder, result, GRCH37)
    for pid in GRCH37:
        qc = recommendation(folder, pid)["qc"]
        assert qc["ref_checked"] is False  # no reference: said, not hidden
    n = len(GRCH37)
    assert f"haicgx: {n} of {n} patients completed, 0 failed" in result.stderr


def test_grch37_known_calls(grch37):
    folder, _ = grch37
    # MuTect 1, b37 and hg19 naming: the same PASS call, with the caller's own counts
    fields = raw_record("vcf2maf-tests/test_mutect.vcf", *MUTECT1_CALL)
    tumour = sample_fields(fields, 10)  # columns NORMAL, TUMOR
    for pid, chrom in (("MUTECT1", MUTECT1_CALL[0]), ("MUTECT1-HG19", f"chr{MUTECT1_CALL[0]}")):
        rows = [r for r in variants(folder, pid) if int(r["pos"]) == MUTECT1_CALL[1]]
        assert [(r["chrom"], r["ref"], r["alt"]) for r in rows] == [
            (chrom, fields[3], fields[4])
        ], pid
        assert rows[0]["depth"] == tumour["DP"]
        assert rows[0]["alt_reads"] == tumour["AD"].split(",")[1]
    # the hg19 copy is read as GRCh37, its chrM length accepted
    assert variants(folder, "MUTECT1") == [
        {**r, "chrom": r["chrom"].removeprefix("chr")} for r in variants(folder, "MUTECT1-HG19")
    ]
    # VarScan 2: the 'A/T' record left out, said and counted in QC
    qc = recommendation(folder, "VARSCAN2")["qc"]
    assert any("2:106715342 ALT 'A/T'" in w for w in qc["warnings"])
    assert qc["unusable_left_out"] == 1
    assert not [r for r in variants(folder, "VARSCAN2") if r["pos"] == "106715342"]
    report = (folder / "results" / "patients" / "VARSCAN2" / "report.html").read_text("utf-8")
    assert "2:106715342 ALT &#39;A/T&#39; has characters other than" in report
    assert qc["caller"] == "VarScan 2" and qc["records_read"] == 500
    # PCGR's file (no caller named): read from INFO TVAF and TDP
    fields = raw_record("pcgr-examples/T001-BRCA.grch37.vcf.gz", "1", 1900265)
    info = dict(item.split("=", 1) for item in fields[7].split(";") if "=" in item)
    (row,) = [r for r in variants(folder, "PCGR-37") if r["pos"] == "1900265"]
    assert row["depth"] == info["TDP"] and abs(float(row["vaf"]) - float(info["TVAF"])) < 1e-4


def test_grch37_annotated_file_needs_no_reference(grch37_annotated):
    folder, result = grch37_annotated
    assert_complete(folder, result, GRCH37_ANNOTATED)
    assert recommendation(folder, "HCC1395-37")["qc"]["annotation"] == "vep"
    # HCC1395 on GRCh37, Strelka, VarScan and Pindel calls merged and annotated by VEP 95: a
    # Strelka insertion read from its tier-1 TAR/TIR, with VEP's gene and protein change
    fields = raw_record("pvactools-hcc1395/HCC1395.grch37.vep95.vcf", "6", 41754573)
    tumour = sample_fields(fields, 9)
    tar, tir = (int(tumour[k].split(",")[0]) for k in ("TAR", "TIR"))
    (row,) = [r for r in variants(folder, "HCC1395-37") if r["pos"] == "41754573"]
    assert (row["gene"], row["protein_change"], row["alt"]) == ("PRICKLE4", "p.L288dup", "CCTT")
    assert (int(row["depth"]), int(row["alt_reads"])) == (tar + tir, tir)


def test_grch38_cohort_completes_with_every_output(grch38):
    folder, result = grch38
    assert_complete(folder, result, GRCH38)


def test_an_unannotated_file_under_auto_without_a_reference_fails_alone(grch38_annotated):
    folder, result = grch38_annotated
    assert result.returncode != 0
    assert "haicgx: 2 of 3 patients completed, 1 failed" in result.stderr
    assert "B38" in result.stderr and "annotation: auto found no VEP, SnpEff" in result.stderr
    for pid in GRCH38_ANNOTATED:
        out = folder / "results" / "patients" / pid
        assert [n for n in OUTPUTS if not (out / n).is_file()] == [], pid
    assert not (folder / "results" / "patients" / "B38" / "recommendation.json").exists()


def test_grch38_known_calls(grch38_annotated):
    folder, _ = grch38_annotated
    # HCC1395's MuTect2 calls with VEP 95: TP53 p.R175H with its AD, and the two records on
    # an unplaced contig left out with a warning
    fields = raw_record(
        "pvactools-hcc1395/HCC1395.somatic.grch38.vep95.vcf.gz", *HCC1395_TP53_GRCH38
    )
    tumour = sample_fields(fields, 9)
    rows = [r for r in variants(folder, "MUTECT2-VEP") if r["gene"] == "TP53"]
    r175h = [r for r in rows if r["protein_change"] == "p.R175H"]
    assert len(r175h) == 1 and int(r175h[0]["pos"]) == HCC1395_TP53_GRCH38[1]
    assert r175h[0]["alt_reads"] == tumour["AD"].split(",")[1]
    qc = recommendation(folder, "MUTECT2-VEP")["qc"]
    assert qc["caller"] == "Mutect2" and qc["annotation"] == "vep"
    assert any("chr16_KI270728v1_random" in w for w in qc["warnings"])
    # SnpEff on Strelka 2: annotated as SnpEff
    assert recommendation(folder, "STRELKA2-SNPEFF")["qc"]["annotation"] == "snpeff"
    # SnpEff's stop gain in CDH2, on Strelka 2's AD and DP
    fields = raw_record("vembrane/snpeff43t_hg38_strelka.ann.vcf", "chr18", 28036487)
    tumour = sample_fields(fields, 9)
    (row,) = [r for r in variants(folder, "STRELKA2-SNPEFF") if r["pos"] == "28036487"]
    assert (row["gene"], row["consequence"], row["protein_change"]) == (
        "CDH2",
        "stop_gained",
        "p.L21*",
    )
    assert row["alt_reads"] == tumour["AD"].split(",")[1] and row["depth"] == tumour["DP"]


def test_grch38_plain_calls(grch38):
    folder, _ = grch38
    # vcf2maf's b38 file, contig 21 without chr: a REF count left out ('.,21') keeps the ALT's
    rows = variants(folder, "B38")
    assert {r["chrom"] for r in rows} == {"21"} and len(rows) == 25
    fields = raw_record("vcf2maf-tests/test_b38.vcf", "21", 34792292)
    tumour = sample_fields(fields, 9)
    (row,) = [r for r in rows if r["pos"] == "34792292"]
    assert (row["depth"], row["alt_reads"]) == (tumour["DP"], tumour["AD"].split(",")[1])
