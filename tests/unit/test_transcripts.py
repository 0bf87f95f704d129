"""The transcript index's cache on disk (haicgx.transcripts): the facts are the GFF3's whichever
way they are found, and a cache that is damaged, another GFF3's or unwritable never changes them.
The facts themselves (preference, exon numbers) are tested in test_consequence.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from haicgx import transcripts
from haicgx.transcripts import TranscriptIndex, forget_cached_indexes, load_or_build

GFF3 = """##gff-version 3
1\tt\tgene\t100\t5000\t.\t+\t.\tID=gene:G1;Name=ALPHA;biotype=protein_coding
1\tt\tmRNA\t100\t5000\t.\t+\t.\tID=transcript:T1;Parent=gene:G1;tag=basic,Ensembl_canonical
1\tt\texon\t100\t300\t.\t+\t.\tParent=transcript:T1
1\tt\tCDS\t150\t300\t.\t+\t0\tParent=transcript:T1
1\tt\texon\t4000\t5000\t.\t+\t.\tParent=transcript:T1
1\tt\tCDS\t4000\t4100\t.\t+\t2\tParent=transcript:T1
1\tt\tmRNA\t100\t5000\t.\t+\t.\tID=transcript:T2;Parent=gene:G1;tag=basic,MANE_Select
1\tt\texon\t100\t300\t.\t+\t.\tParent=transcript:T2
1\tt\tCDS\t200\t300\t.\t+\t0\tParent=transcript:T2
2\tt\tgene\t100\t900\t.\t-\t.\tID=gene:G2;Name=BETA;biotype=protein_coding
2\tt\tmRNA\t100\t900\t.\t-\t.\tID=transcript:T3;Parent=gene:G2;tag=basic,cds_end_NF
2\tt\texon\t700\t900\t.\t-\t.\tParent=transcript:T3
2\tt\texon\t100\t300\t.\t-\t.\tParent=transcript:T3
2\tt\tCDS\t100\t300\t.\t-\t0\tParent=transcript:T3
"""


def facts(index: TranscriptIndex) -> dict:
    """Everything the index tells, to compare two indexes."""
    return {
        tid: (
            tr.gene,
            tr.strand,
            tr.facts,
            tr.exons,
            index.preference(tid),
            [index.exon_number(tid, p) for p in (150, 350, 800, 4500)],
        )
        for tid, tr in index.transcripts.items()
    }


@pytest.fixture
def gff3(tmp_path):
    path = tmp_path / "ref" / "genes.gff3"
    path.parent.mkdir()
    path.write_text(GFF3, encoding="utf-8")
    return path


@pytest.fixture
def cache(tmp_path):
    forget_cached_indexes()
    yield tmp_path / "cache"
    forget_cached_indexes()


def no_reading(monkeypatch):
    """Make reading a GFF3 fail: what then works came from the cache."""

    def refuse(path):
        raise AssertionError(f"the GFF3 was read again: {path}")

    monkeypatch.setattr(TranscriptIndex, "from_gff3", classmethod(lambda cls, path: refuse(path)))


def cache_files(cache):
    return sorted((cache / "transcripts").glob("*.npz"))


def test_the_cached_index_holds_the_gff3s_facts(gff3, cache, monkeypatch):
    read = facts(TranscriptIndex.from_gff3(gff3))
    assert read["T3"][:4] == ("BETA", "-", read["T3"][2], ((100, 300), (700, 900)))
    assert read["T3"][5] == [2, None, 1, None]  # minus strand: the 3'-most exon is last
    assert read["T1"][5] == [1, None, None, 2]
    built = TranscriptIndex.for_gff3(gff3, cache)
    assert facts(built) == read
    assert len(cache_files(cache)) == 1
    forget_cached_indexes()  # as a new process would
    no_reading(monkeypatch)
    assert facts(TranscriptIndex.for_gff3(gff3, cache)) == read
    # A copy elsewhere (a job's local scratch): its checksum finds the same cache file.
    copy = gff3.parent.parent / "scratch.gff3"
    shutil.copy(gff3, copy)
    assert facts(load_or_build(copy, cache)) == read


def test_a_damaged_cache_file_is_rebuilt(gff3, cache):
    read = facts(TranscriptIndex.from_gff3(gff3))
    TranscriptIndex.for_gff3(gff3, cache)
    (cached,) = cache_files(cache)
    whole = cached.read_bytes()
    for damaged in (whole[: len(whole) // 2], whole[:-40] + bytes(40), b"", b"not a zip"):
        cached.write_bytes(damaged)
        forget_cached_indexes()
        assert facts(TranscriptIndex.for_gff3(gff3, cache)) == read
        assert cached.read_bytes() == whole  # written again, whole


def test_another_gff3s_cache_file_is_not_used(gff3, cache, tmp_path):
    TranscriptIndex.for_gff3(gff3, cache)
    (cached,) = cache_files(cache)
    other = tmp_path / "other.gff3"
    other.write_text(GFF3.replace("Name=ALPHA", "Name=GAMMA"), encoding="utf-8")
    other_read = facts(TranscriptIndex.from_gff3(other))
    TranscriptIndex.for_gff3(other, cache)
    (other_cached,) = [p for p in cache_files(cache) if p != cached]
    shutil.copy(cached, other_cached)  # the first GFF3's arrays under the second's name
    forget_cached_indexes()
    assert facts(TranscriptIndex.for_gff3(other, cache)) == other_read


def test_a_changed_gff3_is_read_again(gff3, cache):
    TranscriptIndex.for_gff3(gff3, cache)
    gff3.write_text(GFF3.replace("Name=BETA", "Name=DELTA"), encoding="utf-8")
    os.utime(gff3, ns=(1, 1))  # a new modification time
    assert TranscriptIndex.for_gff3(gff3, cache).transcripts["T3"].gene == "DELTA"


def test_an_unwritable_cache_costs_speed_only(gff3, tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would be\n", encoding="utf-8")
    forget_cached_indexes()
    index = TranscriptIndex.for_gff3(gff3, blocked)
    assert facts(index) == facts(TranscriptIndex.from_gff3(gff3))


def test_the_default_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(transcripts.CACHE_ENV, str(tmp_path / "mine"))
    assert transcripts.cache_folder() == tmp_path / "mine"
    monkeypatch.delenv(transcripts.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert transcripts.cache_folder() == tmp_path / "xdg" / "haicgx"


def test_jobs_building_the_same_index_at_once_leave_one_whole_file(gff3, cache):
    code = (
        "import sys; from pathlib import Path; from haicgx.transcripts import load_or_build; "
        "i = load_or_build(Path(sys.argv[1]), Path(sys.argv[2])); "
        "print(sorted(i.transcripts))"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(gff3), str(cache)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    outputs = [p.communicate()[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0] * 4
    assert set(outputs) == {"['T1', 'T2', 'T3']"}
    assert len(cache_files(cache)) == 1
    assert not [p for p in (cache / "transcripts").iterdir() if p.suffix == ".tmp"]
    assert facts(load_or_build(gff3, cache)) == facts(TranscriptIndex.from_gff3(gff3))
