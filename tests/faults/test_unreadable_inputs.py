"""Every shape of unreadable input in one analysis job of good files, through the workflow (issue 18
items 2 and 9): each bad patient fails alone with its own one-line message naming its file, the
good ones complete and are recorded.

The same shapes go through the group path without the workflow in tests/unit/test_analysis.py
(test_no_unreadable_input_of_any_shape_reaches_another_patient), and the corpus of malformed
VCFs of tests/data/bad in tests/unit/test_bad_inputs.py.
"""

from __future__ import annotations

import csv
import gzip
import os
import zlib
from pathlib import Path

import pytest
from demo_workflow import REPO, read_tsv
from pysam.libcbgzf import BGZFile
from workflow_faults import run

from haicgx import record

pytestmark = [pytest.mark.slow, pytest.mark.faults]


def gzip_bomb(path: Path, size: int) -> Path:
    """A plain-gzip file (not bgzip) of a few hundred kB that inflates to one `size`-byte line."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip wrapper
    chunk = b"A" * (1 << 20)
    with path.open("wb") as out:
        out.write(deflate.compress(b"##fileformat=VCFv4.2\n##bomb="))
        for _ in range(size >> 20):
            out.write(deflate.compress(chunk))
        out.write(deflate.flush())
    return path


def bgzip_bomb(path: Path, good: bytes, size: int) -> Path:
    """A BGZF file: a demo file's header, then one record whose INFO is `size` bytes."""
    header = b"".join(ln for ln in good.splitlines(keepends=True) if ln.startswith(b"#"))
    with BGZFile(str(path), "wb") as out:
        out.write(header + b"chr12\t25245350\t.\tC\tT\t.\tPASS\tX=")
        for _ in range(size >> 20):
            out.write(b"A" * (1 << 20))
        out.write(b"\tGT\t0/1\n")
    return path


def shapes(folder: Path, good: Path) -> dict[str, tuple[Path, str]]:
    """Bad patient -> (its file, a fragment its message must hold)."""
    text = good.read_bytes()
    (folder / "x.vcf").mkdir()
    os.mkfifo(folder / "pipe.vcf")
    (folder / "zero.vcf").symlink_to("/dev/zero")
    (folder / "nul.vcf").write_bytes(text.replace(b"\n##", b"\n##\x00", 1))
    (folder / "empty.vcf").write_bytes(b"")
    (folder / "binary.vcf").write_bytes(bytes(range(256)) * 64)
    (folder / "cut.vcf.gz").write_bytes(gzip.compress(text)[:200])
    found = {
        "DIR": (folder / "x.vcf", "a folder, not a VCF file"),
        "FIFO": (folder / "pipe.vcf", "not a regular file"),
        "DEVZERO": (folder / "zero.vcf", "not a regular file"),
        "NUL": (folder / "nul.vcf", "NUL byte"),
        "EMPTY": (folder / "empty.vcf", "empty file"),
        "BINARY": (folder / "binary.vcf", "not UTF-8"),
        "CUTGZ": (folder / "cut.vcf.gz", "truncated or corrupt compressed file"),
        "GZBOMB": (gzip_bomb(folder / "bomb.vcf.gz", 256 << 20), "longer than"),
        "BGZBOMB": (bgzip_bomb(folder / "bomb.bgz.vcf.gz", text, 64 << 20), "longer than"),
    }
    if os.geteuid() != 0:  # root reads whatever the mode says
        locked = folder / "locked.vcf"
        locked.write_bytes(text)
        locked.chmod(0)
        found["LOCKED"] = (locked, "permission denied")
    return found


def test_each_unreadable_input_fails_alone_in_a_job_of_good_files(tmp_path):
    demo = read_tsv(REPO / "config" / "demo_patients.tsv")
    good = [r for r in demo if r["vcf"].endswith(".vcf")][:2]
    good_vcf = (REPO / "config" / good[0]["vcf"]).resolve()
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    bad = shapes(inputs, good_vcf)
    # A good file whose name Snakemake could take for a wildcard.
    braces = inputs / "DEMO{1}.vcf"
    braces.write_bytes(good_vcf.read_bytes())
    rows = [(r["patient_id"], (REPO / "config" / r["vcf"]).resolve()) for r in good]
    rows += [("BRACES", braces), *((pid, path) for pid, (path, _) in bad.items())]
    sheet = tmp_path / "patients.tsv"
    sheet.write_text(
        "patient_id\tvcf\tprimary_site\n"
        + "".join(f"{pid}\t{path}\tcolorectal\n" for pid, path in rows),
        encoding="utf-8",
    )
    extra = tmp_path / "extra.yaml"
    extra.write_text(f"patients: {sheet}\npatients_per_job: 50\n", encoding="utf-8")

    result = run(tmp_path, configs=(extra,))

    assert result.returncode != 0
    summary = {
        ln.split(" ", 2)[1]: ln
        for ln in result.stderr.splitlines()
        if ln.startswith("haicgx: ") and " failed: " in ln
    }
    for pid, (path, fragment) in bad.items():
        line = summary.get(pid)
        assert line, f"{pid} ({path.name}) has no failure line"
        assert line.startswith(f"haicgx: {pid} failed: patient {pid}: ") and fragment in line
        assert str(path) in line or path.name in line, line
        assert len(line) < 1000, f"{pid}: {len(line)} characters"
    assert len({summary[pid].split(": ", 3)[-1] for pid in bad}) == len(bad), "a shared message"
    with (tmp_path / "results" / "cohort_record.tsv").open(encoding="utf-8") as handle:
        recorded = {row["patient_id"] for row in csv.DictReader(handle, delimiter="\t")}
    completed = {r["patient_id"] for r in good} | {"BRACES"}
    assert recorded == completed
    for pid in completed:
        assert (tmp_path / "results" / "patients" / pid / "report.pdf").exists(), pid
    assert record.verify(tmp_path / "results" / "cohort_record.sqlite").intact
    print(f"faults: {len(bad)} unreadable inputs, each its own line: {sorted(bad)}")
