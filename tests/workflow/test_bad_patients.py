"""The workflow with bad patient files beside good ones (tests/data/bad, CONTRACT section 7): each
bad patient fails alone with its own one-line message in the run's closing summary, nothing of it
is published, and the good patients complete and are recorded. The corpus itself, file by file,
is in tests/unit/test_bad_inputs.py."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import DEMO_CONFIGS, DEMO_SHEET, REPO, TESTS, write_vcf

BAD = TESTS / "data" / "bad"
KRAS = "chr12\t25245350\t.\tC\tT\t.\tPASS\t.\tGT:AD:DP:AF\t0/1:70,30:100:0.3"


WORKFLOW_BAD = {
    "BADTRUNC": ("truncated.vcf.gz", "truncated or corrupt compressed file"),
    "BADREF": ("ref_mismatch.vcf", "REF G disagrees with the GRCh38 reference"),
    "BAD37": ("grch37_lengths.vcf", "a GRCh37 file under a GRCh38 configuration"),
    "BADSORT": ("unsorted.vcf", "unsorted: position 25225628 after 25245350"),
    "BADEMPTY": ("header_only.vcf", "no variant records"),
}


def _run_workflow(workdir: Path, config: Path) -> subprocess.CompletedProcess:
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    command = [
        str(bin_dir / "snakemake"), "-s", str(REPO / "Snakefile"), "-d", str(workdir),
        "--configfile", *DEMO_CONFIGS, str(config),
        "--cores", "4", "--keep-going",
    ]  # fmt: skip
    return subprocess.run(
        command, cwd=workdir, capture_output=True, text=True, timeout=600, env=env
    )


def demo_marked(path: Path, folder: Path) -> Path:
    """The corpus file as a demo file (the demo's ##source line after the first), so that the
    demo's synthetic genome takes it; a compressed file as it is (its problem comes first)."""
    if path.suffix == ".gz":
        return path
    copy = folder / "marked" / path.name
    if not copy.exists():
        copy.parent.mkdir(exist_ok=True)
        first, rest = path.read_text(encoding="utf-8").split("\n", 1)
        copy.write_text(f"{first}\n##source=haicgx demo cohort (test copy)\n{rest}")
    return copy


@pytest.mark.slow
def test_bad_patients_fail_alone_in_the_workflow(tmp_path):
    with (DEMO_SHEET).open(encoding="utf-8") as handle:
        good = list(csv.DictReader(handle, delimiter="\t"))[:2]
    sheet = tmp_path / "patients.tsv"
    lines = ["patient_id\tvcf\tprimary_site"]
    lines += [
        f"{r['patient_id']}\t{(REPO / 'config' / r['vcf']).resolve()}\t{r['primary_site']}"
        for r in good
    ]
    lines += [
        f"{pid}\t{demo_marked(BAD / name, tmp_path)}\tcolorectal"
        for pid, (name, _) in WORKFLOW_BAD.items()
    ]
    # A valid file that is not a demo file: the demo's synthetic genome refuses it.
    site = write_vcf(tmp_path / "site.vcf", [KRAS])
    lines.append(f"SITE1\t{site}\tcolorectal")
    sheet.write_text("\n".join(lines) + "\n", encoding="utf-8")
    extra = tmp_path / "extra.yaml"
    extra.write_text(f"patients: {sheet}\n", encoding="utf-8")

    result = _run_workflow(tmp_path, extra)

    assert result.returncode != 0
    # The run's closing summary, one line per failed patient (printed after every job has ended,
    # so never interleaved with Snakemake's own messages as a job's stderr can be).
    failures = [ln for ln in result.stderr.splitlines() if ln.startswith("haicgx: BAD")]
    for pid, (name, fragment) in WORKFLOW_BAD.items():
        mine = [ln for ln in failures if ln.startswith(f"haicgx: {pid} failed: patient {pid}: ")]
        assert mine, f"{pid} has no failure line on stderr"
        assert fragment in mine[0] and str(demo_marked(BAD / name, tmp_path)) in mine[0]
        folder = tmp_path / "results" / "patients" / pid
        assert not folder.exists() or not any(folder.iterdir()), (
            f"{pid} left {list(folder.iterdir())}"
        )
    # the closing summary's line (the progress line has the job's count before the reason)
    site_line = next(
        ln for ln in result.stderr.splitlines() if ln.startswith("haicgx: SITE1 failed: ")
    )
    assert f"patient SITE1: {site}: reference.fasta (" in site_line
    assert "is the SYNTHETIC demo reference" in site_line
    with (tmp_path / "results" / "cohort_record.tsv").open(encoding="utf-8") as handle:
        recorded = {row["patient_id"] for row in csv.DictReader(handle, delimiter="\t")}
    assert recorded == {r["patient_id"] for r in good}
    for r in good:
        folder = tmp_path / "results" / "patients" / r["patient_id"]
        assert (folder / "recommendation.json").exists() and (folder / "report.pdf").exists()
