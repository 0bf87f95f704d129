"""Bad patient inputs (tests/data/bad, CONTRACT section 7), and odd inputs that real callers write.

Every file of the corpus runs through the annotate stage as the workflow runs it and must fail
with its own one-line message naming the patient, the file and the record where known, leaving
nothing behind. One slow test runs the workflow itself with some of them beside good patients.
Then the inputs that look odd but are valid: plain gzip, BCF, a FASTA that names contigs without
`chr`, a header that forgets declarations, no reference at all.
"""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import pysam
import pytest
from support import (
    REPO,
    TESTS,
    analyse,
    annotate_vcf,
    demo_config,
    vcf_text,
    write_vcf,
)

from haicgx.annotate import ORIGINAL_RECORD
from haicgx.errors import InputError
from haicgx.jobs import load_run
from haicgx.settings import Patient

# The tests' own VCFs against the synthetic demo genome, which the pipeline refuses for any
# file that is not a demo file (tests/unit/test_demo_reference_guard.py).
pytestmark = pytest.mark.usefixtures("synthetic_reference_for_test_files")

BAD = TESTS / "data" / "bad"
DEMO_REF = REPO / "resources" / "demo" / "reference"
FASTA = DEMO_REF / "demo_grch38.fa.gz"
GFF3 = DEMO_REF / "demo_grch38.gff3"
PATIENT = "BAD-07"

KRAS = "chr12\t25245350\t.\tC\tT\t.\tPASS\t.\tGT:AD:DP:AF\t0/1:70,30:100:0.3"
BRAF = "chr7\t140753336\t.\tA\tT\t.\tPASS\t.\tGT:AD:DP:AF\t0/1:60,40:100:0.4"


def corpus() -> list[dict[str, str]]:
    """The table of tests/data/bad/README.md: file, tumour_sample, record, message fragment."""
    rows = []
    for line in (BAD / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] not in ("file", "---") and not cells[0].startswith("-"):
            rows.append(
                dict(zip(("file", "tumour_sample", "record", "fragment"), cells, strict=True))
            )
    return rows


def prepare(vcf: Path, out: Path, *, sample: str | None = None, fasta=FASTA, gff3=GFF3, **kw):
    """The records the analysis reads, kept in `out` (support.annotate_vcf)."""
    return annotate_vcf(
        vcf,
        out,
        patient=PATIENT,
        tumour_sample=sample,
        build=kw.get("build", "GRCh38"),
        annotation_mode=kw.get("annotation", "auto"),
        fasta=fasta,
        gff3=gff3,
    )


@pytest.fixture(scope="module")
def demo_run():
    return load_run(demo_config(), workdir=REPO, root=REPO)


def test_the_corpus_is_complete():
    listed = {row["file"] for row in corpus()}
    present = {p.name for p in BAD.iterdir() if p.name != "README.md"}
    assert listed == present
    assert len(listed) >= 25


@pytest.mark.parametrize("row", corpus(), ids=lambda row: row["file"])
def test_each_bad_file_fails_alone_with_its_own_message(row, demo_run, tmp_path):
    vcf = BAD / row["file"]
    patient = Patient(PATIENT, vcf, "colorectal", row["tumour_sample"] or None, (), None, 1)
    folder = tmp_path / PATIENT
    with pytest.raises(InputError) as caught:
        analyse(patient, demo_run.settings, demo_run.knowledge, folder)
    assert_corpus_message(str(caught.value), row)
    assert list(folder.iterdir()) == []  # no output, no temporary folder left behind
    try:  # nor any process
        os.waitpid(-1, os.WNOHANG)
        pytest.fail("a child process outlived the analysis")
    except ChildProcessError:
        pass


def assert_corpus_message(message: str, row: dict[str, str]) -> None:
    """One line naming the patient, the file, the record (where the corpus gives one) and the
    problem the corpus expects."""
    assert "\n" not in message
    assert message.startswith(f"patient {PATIENT}: {BAD / row['file']}:")
    assert row["fragment"] in message
    if row["record"]:
        assert f"record {row['record']}:" in message


def test_messages_are_distinct():
    fragments = [row["fragment"] for row in corpus()]
    assert len(set(fragments)) == len(fragments)


# -- odd but valid inputs ------------------------------------------------------------------------


def records(bcf: Path) -> list[pysam.VariantRecord]:
    with pysam.VariantFile(str(bcf)) as handle:
        return list(handle)


def original(record: pysam.VariantRecord) -> str:
    """The ORIGINAL_RECORD tag as written (pysam splits a String value at its commas)."""
    value = record.info[ORIGINAL_RECORD]
    return value if isinstance(value, str) else ",".join(value)


def test_plain_gzip_is_read_like_text(tmp_path):
    """A .vcf.gz written by gzip, not bgzip: htslib cannot open it, haicgx reads a BGZF copy."""
    vcf = tmp_path / "plain.vcf.gz"
    vcf.write_bytes(gzip.compress(vcf_text([BRAF, KRAS]).encode()))
    prepared = prepare(vcf, tmp_path / "out.bcf")
    assert [(r.chrom, r.pos) for r in records(prepared.path)] == [
        ("chr7", 140753336),
        ("chr12", 25245350),
    ]
    assert prepared.annotation == "csq"
    assert not list(tmp_path.glob("input.vcf*"))


def test_plain_gzip_copy_is_compressed_as_it_is_written(tmp_path):
    """The copy of a plain-gzip file takes about the input's disk, not its decompressed size."""
    from haicgx.annotate import readable_copy
    from haicgx.vcf import sniff_format

    text = vcf_text([KRAS.replace("25245350", str(25_000_000 + i)) for i in range(20_000)])
    vcf = tmp_path / "plain.vcf.gz"
    vcf.write_bytes(gzip.compress(text.encode()))
    copy = readable_copy("P1", vcf, tmp_path)
    assert sniff_format(vcf) == "gzip" and sniff_format(copy) == "bgzf"
    assert copy.stat().st_size < len(text) / 5
    assert gzip.decompress(copy.read_bytes()).decode() == text


def test_plain_gzip_errors_name_the_patients_file(tmp_path):
    text = vcf_text([KRAS.replace("\tC\tT\t", "\tG\tT\t")])
    vcf = tmp_path / "plain.vcf.gz"
    vcf.write_bytes(gzip.compress(text.encode()))
    with pytest.raises(InputError, match=r"record chr12:25245350: REF G disagrees") as caught:
        prepare(vcf, tmp_path / "out.bcf")
    assert str(caught.value).startswith(f"patient {PATIENT}: {vcf}:")


@pytest.mark.parametrize("kind", ["bgzip", "bcf"])
def test_bgzip_and_bcf_inputs(tmp_path, kind):
    text_vcf = write_vcf(tmp_path / "in.vcf", [BRAF, KRAS])
    if kind == "bgzip":
        vcf = tmp_path / "in.vcf.gz"
        pysam.tabix_compress(str(text_vcf), str(vcf))
    else:
        vcf = tmp_path / "in.bcf"
        with (
            pysam.VariantFile(str(text_vcf)) as src,
            pysam.VariantFile(str(vcf), "wb", header=src.header) as dst,
        ):
            for rec in src:
                dst.write(rec)
    prepared = prepare(vcf, tmp_path / "out.bcf")
    got = records(prepared.path)
    assert [r.info["BCSQ"][0].split("|")[5] for r in got] == ["600V>600E", "12G>12D"]
    assert prepared.facts.records_read == 2


def test_unsorted_bcf_is_refused(tmp_path):
    text_vcf = write_vcf(tmp_path / "in.vcf", [KRAS, KRAS.replace("25245350", "25245000")])
    vcf = tmp_path / "in.bcf"
    with (
        pysam.VariantFile(str(text_vcf)) as src,
        pysam.VariantFile(str(vcf), "wb", header=src.header) as dst,
    ):
        for rec in src:
            dst.write(rec)
    with pytest.raises(InputError, match="record chr12:25245000: unsorted: position 25245000"):
        prepare(vcf, tmp_path / "out.bcf")


def test_tumour_normal_file_keeps_the_tumour_then_the_normal(tmp_path):
    vcf = write_vcf(
        tmp_path / "tn.vcf",
        [BRAF + "\t0/0:80,0:80:0.0"],
        samples=("TUMOR", "NORMAL"),
        extra_header=("##tumor_sample=TUMOR", "##normal_sample=NORMAL"),
    )
    prepared = prepare(vcf, tmp_path / "out.bcf")
    (rec,) = records(prepared.path)
    assert list(rec.samples) == ["TUMOR", "NORMAL"]  # the normal is read for germline PGx
    assert prepared.facts.normal_sample == "NORMAL"
    assert rec.samples["TUMOR"]["AD"] == (60, 40)
    assert "AC" not in rec.info  # the sample subset does not add AC/AN


def _fasta_with_plain_names(tmp_path: Path) -> Path:
    """The demo reference's chr12 window around KRAS as contig `12` (a small custom reference)."""
    with pysam.FastaFile(str(FASTA)) as demo:
        sequence = demo.fetch("chr12", 25_240_000, 25_250_000)
    fasta = tmp_path / "plain.fa"
    lines = [">12"] + [sequence[i : i + 60] for i in range(0, len(sequence), 60)]
    fasta.write_text("\n".join(lines) + "\n", encoding="ascii")
    pysam.faidx(str(fasta))
    return fasta


def test_contigs_are_renamed_to_the_references_names(tmp_path):
    """The VCF says chr12, the FASTA 12: renamed with bcftools annotate --rename-chrs, then the
    REF check runs against the FASTA (a wrong base would fail)."""
    fasta = _fasta_with_plain_names(tmp_path)
    kras = KRAS.replace("25245350", str(25245350 - 25_240_000))
    vcf = write_vcf(tmp_path / "a.vcf", [kras], contigs=())
    text = vcf.read_text().replace(
        "##fileformat=VCFv4.2", "##fileformat=VCFv4.2\n##contig=<ID=chr12,length=10000>"
    )
    vcf.write_text(text)
    prepared = prepare(vcf, tmp_path / "out.bcf", fasta=fasta, gff3=None, annotation="none")
    assert prepared.facts.contig_names == {"chr12": "12"}
    assert prepared.ref_checked
    (rec,) = records(prepared.path)
    assert (rec.chrom, rec.pos, rec.ref, rec.alts) == ("12", 5350, "C", ("T",))
    vcf.write_text(text.replace("\tC\tT\t", "\tA\tT\t"))
    with pytest.raises(InputError, match=r"record chr12:5350: REF A disagrees .* which has C"):
        prepare(vcf, tmp_path / "out.bcf", fasta=fasta, gff3=None, annotation="none")


def test_csq_runs_when_the_gff3_and_fasta_name_contigs_differently(tmp_path):
    """An Ensembl GFF3 (`12`) with a UCSC-style FASTA (`chr12`): csq needs --unify-chr-names."""
    gff3 = tmp_path / "ensembl_style.gff3"
    lines = GFF3.read_text(encoding="utf-8").splitlines()
    plain = [
        ln.replace("chr", "", 1) if ln.startswith(("chr", "##sequence-region")) else ln
        for ln in lines
    ]
    gff3.write_text("\n".join(plain) + "\n", encoding="utf-8")
    prepared = prepare(write_vcf(tmp_path / "a.vcf", [KRAS]), tmp_path / "out.bcf", gff3=gff3)
    (rec,) = records(prepared.path)
    assert rec.info["BCSQ"][0].startswith("missense|KRAS|ENST00000311936|protein_coding|-|12G>12D")


def test_undeclared_info_format_filter_and_contigs_are_declared(tmp_path):
    """bcftools view -s refuses undeclared tags; haicgx declares them and says so."""
    vcf = tmp_path / "loose.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tTUMOR\n"
        "chr12\t25245350\t.\tC\tT\t50\tlowqual\tSOMATIC;CALLER=x\tGT:AD:DP\t0/1:70,30:100\n",
        encoding="utf-8",
    )
    prepared = prepare(vcf, tmp_path / "out.bcf")
    (rec,) = records(prepared.path)
    assert rec.samples["TUMOR"]["AD"] == (70, 30)  # AD declared with its VCF type: still numbers
    assert list(rec.filter) == ["lowqual"]
    assert rec.info["SOMATIC"] is True and rec.info["CALLER"] == ("x",)
    warning = next(w for w in prepared.warnings if "does not declare" in w)
    for name in ("contig chr12", "FILTER lowqual", "INFO SOMATIC", "INFO CALLER", "FORMAT AD"):
        assert name in warning
    assert "no contig lengths" in prepared.facts.build_check


def test_records_on_non_primary_contigs_are_left_out_with_a_warning(tmp_path):
    vcf = write_vcf(
        tmp_path / "alt.vcf",
        [KRAS, "chr16_KI270728v1_random\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0/1"],
        contigs=("chr12",),
    )
    text = vcf.read_text().replace(
        "##contig=<ID=chr12",
        "##contig=<ID=chr16_KI270728v1_random,length=1872759>\n##contig=<ID=chr12",
    )
    vcf.write_text(text)
    prepared = prepare(vcf, tmp_path / "out.bcf")
    assert [r.chrom for r in records(prepared.path)] == ["chr12"]
    assert any("chr16_KI270728v1_random" in w and "left out" in w for w in prepared.warnings)


def test_without_a_reference_alleles_are_split_and_trimmed(tmp_path):
    """bcftools norm -m -any without -f splits but does not trim: CAT>C,CATAT,TAT stays CAT>CATAT
    and CAT>TAT. haicgx trims them (C>CAT, T at +0 -> C>T) and says REF was not checked."""
    ugt = "chr2\t233760233\t.\tCAT\tC,CATAT,TAT\t.\tPASS\t.\tGT:AD\t1/2:10,5,5,3"
    vcf = write_vcf(tmp_path / "multi.vcf", [ugt], contigs=("chr2",))
    prepared = prepare(vcf, tmp_path / "out.bcf", fasta=None, gff3=None, annotation="none")
    got = [(r.pos, r.ref, r.alts[0], original(r)) for r in records(prepared.path)]
    assert got == [
        (233760233, "CAT", "C", "chr2|233760233|CAT|C,CATAT,TAT|1"),
        (233760233, "C", "CAT", "chr2|233760233|CAT|C,CATAT,TAT|2"),
        (233760233, "C", "T", "chr2|233760233|CAT|C,CATAT,TAT|3"),
    ]
    assert not prepared.ref_checked
    assert any("REF alleles were not checked" in w for w in prepared.warnings)
    assert "REF alleles could not be checked either" not in prepared.facts.build_check


def test_with_a_reference_norm_left_aligns(tmp_path):
    """UGT1A1*28 written right-shifted in the TA repeat is left-aligned to C>CAT."""
    with pysam.FastaFile(str(FASTA)) as demo:
        tract = demo.fetch("chr2", 233760232, 233760250)
    assert tract.startswith("C" + "AT" * 7 + "A")  # the demo reference models the (TA)7 tract
    vcf = write_vcf(
        tmp_path / "ugt.vcf",
        ["chr2\t233760248\t.\tA\tATA\t.\tPASS\t.\tGT:AD\t0/1:10,10"],
        contigs=("chr2",),
    )
    prepared = prepare(vcf, tmp_path / "out.bcf", gff3=None, annotation="none")
    (rec,) = records(prepared.path)
    assert (rec.pos, rec.ref, rec.alts[0]) == (233760233, "C", "CAT")
    assert original(rec) == "chr2|233760248|A|ATA"


def test_strelka2_somatic_vcf_without_gt_is_accepted(tmp_path):
    """Strelka2 somatic VCFs have no GT: not an error (the genotype is then unknown)."""
    vcf = tmp_path / "strelka.vcf"
    text = vcf_text([], fmt=False).replace(
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
        '##FORMAT=<ID=AU,Number=2,Type=Integer,Description="A">\n'
        '##FORMAT=<ID=CU,Number=2,Type=Integer,Description="C">\n'
        '##FORMAT=<ID=GU,Number=2,Type=Integer,Description="G">\n'
        '##FORMAT=<ID=TU,Number=2,Type=Integer,Description="T">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tNORMAL\tTUMOR",
    )
    text += (
        "chr12\t25245350\t.\tC\tT\t.\tPASS\tSOMATIC\tDP:AU:CU:GU:TU"
        "\t60:0,0:60,60:0,0:0,0\t100:0,0:70,71:0,0:30,31\n"
    )
    vcf.write_text(
        text.replace(
            "##fileformat=VCFv4.2",
            '##fileformat=VCFv4.2\n##INFO=<ID=SOMATIC,Number=0,Type=Flag,Description="s">',
        )
    )
    prepared = prepare(vcf, tmp_path / "out.bcf", sample="TUMOR")
    (rec,) = records(prepared.path)
    assert "GT" not in rec.format
    assert rec.samples["TUMOR"]["TU"] == (30, 31)


def test_the_original_file_is_never_changed(tmp_path):
    vcf = shutil.copy(REPO / "resources" / "demo" / "vcf" / "DEMO07.vcf", tmp_path)
    before = Path(vcf).read_bytes()
    prepare(Path(vcf), tmp_path / "out.bcf")
    assert Path(vcf).read_bytes() == before


@pytest.mark.parametrize("name", ["T,1", "^TUMOR", "tumour #1"])
def test_awkward_sample_names_are_selected_exactly(tmp_path, name):
    vcf = write_vcf(tmp_path / "a.vcf", [KRAS + "\t0/0:50,0:50:0.0"], samples=(name, "TUMOR"))
    prepared = prepare(vcf, tmp_path / "out.bcf", sample=name)
    (rec,) = records(prepared.path)
    assert list(rec.samples) == [name]
    assert rec.samples[name]["AD"] == (70, 30)
