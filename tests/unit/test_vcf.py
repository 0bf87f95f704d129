"""VCF checks: the tumour sample, the build, and structural problems each with its own message."""

from __future__ import annotations

import gzip

import pytest
from support import vcf_text, write_vcf

from haicgx.errors import InputError
from haicgx.vcf import inspect_vcf

KRAS = "chr12\t25245350\t.\tC\tT\t.\tPASS\t.\tGT:AD:DP:AF\t0/1:70,30:100:0.3"
BRAF = "chr7\t140753336\t.\tA\tT\t.\tPASS\t.\tGT:AD:DP:AF\t0/1:60,40:100:0.4"


def inspect(path, sample=None, build="GRCh38"):
    return inspect_vcf("P1", path, tumour_sample=sample, build=build, fasta=None)


def test_single_sample_is_the_tumour(tmp_path):
    facts = inspect(write_vcf(tmp_path / "a.vcf", [BRAF, KRAS]))
    assert facts.tumour_sample == "TUMOR"
    assert facts.records_read == 2
    assert facts.build_check.startswith("contig lengths match the known GRCh38 contigs")


def test_tumor_sample_header_line(tmp_path):
    records = [BRAF + "\t0/0:50,0:50:0.0"]
    path = write_vcf(
        tmp_path / "a.vcf",
        records,
        samples=("TUMOR", "NORMAL"),
        extra_header=("##tumor_sample=TUMOR",),
    )
    assert inspect(path).tumour_sample == "TUMOR"
    assert inspect(path, sample="NORMAL").tumour_sample == "NORMAL"


def test_two_samples_without_a_choice(tmp_path):
    path = write_vcf(tmp_path / "a.vcf", [BRAF + "\t0/0:50,0:50:0.0"], samples=("T", "N"))
    with pytest.raises(InputError, match=r"2 samples \(T, N\) and no tumour_sample"):
        inspect(path)


def test_sample_not_there(tmp_path):
    with pytest.raises(InputError, match="tumour_sample 'XYZ' is not in the file"):
        inspect(write_vcf(tmp_path / "a.vcf", [KRAS]), sample="XYZ")


def test_grch37_file_under_grch38_is_refused(tmp_path):
    path = write_vcf(
        tmp_path / "a.vcf",
        [KRAS.replace("25245350", "25398284")],
        build="GRCh37",
        contigs=("chr12",),
    )
    with pytest.raises(InputError) as caught:
        inspect(path)
    message = str(caught.value)
    assert "a GRCh37 file under a GRCh38 configuration" in message
    assert "133,851,895" in message and "133,275,309" in message


def test_chr_and_plain_naming_both_accepted(tmp_path):
    text = vcf_text([KRAS]).replace("chr12", "12").replace("ID=chr", "ID=")
    path = tmp_path / "a.vcf"
    path.write_text(text)
    facts = inspect(path)  # the known contigs of a build carry both namings: nothing to rename
    assert facts.contig_names == {}
    assert facts.build_check.startswith("contig lengths match")


def test_no_contig_lengths_is_said(tmp_path):
    text = (
        "\n".join(line for line in vcf_text([KRAS]).splitlines() if not line.startswith("##contig"))
        + "\n"
    )
    path = tmp_path / "a.vcf"
    path.write_text(text)
    facts = inspect(path)
    assert "no contig lengths" in facts.build_check
    assert facts.warnings


def test_declared_assembly_disagreeing_is_refused(tmp_path):
    text = vcf_text([KRAS]).replace(
        "##fileformat=VCFv4.2", "##fileformat=VCFv4.2\n##reference=hg19.fa"
    )
    text = "\n".join(line for line in text.splitlines() if not line.startswith("##contig")) + "\n"
    path = tmp_path / "a.vcf"
    path.write_text(text)
    with pytest.raises(InputError, match="declares GRCh37 but the configuration is GRCh38"):
        inspect(path)


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda t: "", "empty file"),
        (lambda t: "hello world\n", "not a VCF"),
        (lambda t: t.replace("\n", "\r\n"), "CRLF"),
        (lambda t: t.replace("#CHROM", "#CHR"), "malformed #CHROM header line"),
        (
            lambda t: "\n".join(x for x in t.splitlines() if not x.startswith("#CHROM")) + "\n",
            "data before the #CHROM",
        ),
        (
            lambda t: t.replace(KRAS, KRAS + "\n" + KRAS.replace("25245350", "25245300")),
            "unsorted: position 25245300",
        ),
        (lambda t: t.replace(KRAS, KRAS + "\n" + KRAS), "duplicate record C>T"),
        (lambda t: t.replace("\tC\tT\t", "\tC\tT,*\t"), "spanning-deletion allele"),
        (lambda t: t.replace("\tC\tT\t", "\tc\tT\t"), "lowercase REF"),
        (lambda t: t.replace("\tC\tT\t", "\tN\tT\t"), "REF is N only"),
        (
            lambda t: t.replace("chr12\t25245350", "chr99\t25245350"),
            "contig 'chr99' is not declared",
        ),
        (
            lambda t: t.replace("\tPASS\t.\t", "\tPASS\tX=" + "A" * 1_000_001 + "\t"),
            "INFO field of",
        ),
        (lambda t: t.replace("\t25245350\t", "\tpos\t"), "POS 'pos' is not a positive integer"),
        (
            lambda t: t.replace("0/1:70,30:100:0.3", "0/1:70,30:100:0.3\textra"),
            "columns where the header has",
        ),
    ],
)
def test_structural_problems_each_have_a_message(tmp_path, mutate, problem):
    path = tmp_path / "bad.vcf"
    path.write_text(mutate(vcf_text([KRAS])), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        inspect(path)
    message = str(caught.value)
    assert message.startswith(f"patient P1: {path}")
    assert problem in message
    assert "\n" not in message


def test_non_utf8_bytes(tmp_path):
    path = tmp_path / "bad.vcf"
    path.write_bytes(
        vcf_text([KRAS])
        .encode()
        .replace(b"##fileformat=VCFv4.2", b"##fileformat=VCFv4.2\n##x=caf\xe9")
    )
    with pytest.raises(InputError, match="line 2 is not UTF-8"):
        inspect(path)


def test_truncated_gzip(tmp_path):
    data = gzip.compress(vcf_text([KRAS] * 1).encode() * 50)
    path = tmp_path / "bad.vcf.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated or corrupt compressed file"):
        inspect(path)


def test_non_utf8_bytes_far_into_the_file_are_named_by_line(tmp_path):
    # The scan decodes in blocks; the line number must still be the exact one.
    records = [KRAS.replace("25245350", str(25245350 + i)) for i in range(20_000)]
    text = vcf_text(records).encode()
    lines = text.split(b"\n")
    bad_line = len(lines) - 100
    lines[bad_line - 1] = lines[bad_line - 1].replace(b"\t.\tGT", b"\tNOTE=caf\xe9\tGT")
    path = tmp_path / "bad.vcf"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(InputError, match=rf"line {bad_line} is not UTF-8"):
        inspect(path)


def test_non_ascii_digits_in_pos_are_refused(tmp_path):
    path = tmp_path / "bad.vcf"
    path.write_text(vcf_text([KRAS.replace("25245350", "2524535\u00b2")]), encoding="utf-8")
    with pytest.raises(InputError, match="is not a positive integer"):
        inspect(path)


QUICK_VERDICTS = [
    (KRAS, True),
    (KRAS.replace("\tC\tT\t", "\tCA\tC,CAA\t"), True),
    (KRAS.replace("\t.\tPASS", "\t1e3\tPASS"), True),
    (KRAS.replace("0/1:70,30:100:0.3", "0/1:70,30:100"), True),  # trailing values may be dropped
    (KRAS.replace("\tC\tT\t", "\tC\tC\t"), False),
    (KRAS.replace("\tC\tT\t", "\tC\tT,C\t"), False),
    (KRAS.replace("\tC\tT\t", "\tC\t.\t"), False),  # accepted, by the full checks
    (KRAS.replace("\tC\tT\t", "\tNN\tT\t"), False),
    (KRAS.replace("\tC\tT\t", "\tC\tt\t"), False),
    (KRAS.replace("\tC\tT\t", "\tC\tT,\t"), False),
    (KRAS.replace("\t25245350\t", "\t025245350\t"), False),
    (KRAS.replace("\t25245350\t", "\t0\t"), False),
    (KRAS.replace("\t.\tPASS", "\t30x\tPASS"), False),
    (KRAS.replace("0/1:70,30:100:0.3", "0/1:70,30:100:0.3:9"), False),
    (KRAS.replace("chr12", "chr13"), False),
]


@pytest.mark.parametrize(("line", "quick"), QUICK_VERDICTS)
def test_quick_record_check_vouches_only_for_what_the_full_checks_accept(line, quick, monkeypatch):
    from haicgx.vcf import records

    fields = line.split("\t")
    contigs = {"chr12"}
    assert records._plainly_valid(fields, 10, contigs) is quick
    if quick:  # the full checks, on their own, accept the same record
        monkeypatch.setattr(records, "_plainly_valid", lambda *args: False)
        assert records.check_record("P1", "a.vcf", 1, line, 10, contigs) == fields


INFO_COLUMNS = [
    "DP=10;AB=0.5",
    "A;AB",  # flags
    "ABC=1",  # only a prefix of it is declared
    "A=1;;DP=3",  # an empty item
    "=5",
    "A=1;",
    "X.Y=2",  # a key with a pattern character
    "XZY=2",  # what X.Y would match as a pattern
    "DP=1;SOMATIC",
    "DP=a=b;A",
]


@pytest.mark.parametrize("info", INFO_COLUMNS)
def test_the_declared_info_pattern_vouches_only_for_declared_keys(info):
    """The one-pattern test of an INFO column (run for every record) says "all declared" only
    when every key is, and the undeclared keys found are those the key-by-key look finds."""
    from haicgx.vcf import header

    declared = {"A", "AB", "DP", "X.Y"}
    keys = [item.partition("=")[0] for item in info.split(";") if item.partition("=")[0]]
    if header._all_declared(declared).fullmatch(info):
        assert keys and declared.issuperset(keys)
    fields = ["chr1", "1", ".", "A", "C", ".", "PASS", info]
    found = []
    for quick in (True, False):
        use = header.HeaderUse()
        for key in declared:
            use.header_line(f'##INFO=<ID={key},Number=1,Type=String,Description="x">')
        if not quick:  # the key-by-key test alone
            use._declared_info = header.re.compile(r"(?!)")
        use.record(fields)
        found.append(use.info)
    assert found[0] == found[1]
    assert bool(found[0]) == (not declared.issuperset(keys))


KRAS37 = KRAS.replace("25245350", "25398284")


def test_ucsc_hg19_header_with_its_chrm_is_grch37(tmp_path):
    # UCSC hg19 keeps the 16,571 bp chrM (GRCh37/b37: 16,569): the file is still GRCh37.
    path = write_vcf(
        tmp_path / "hg19.vcf",
        [KRAS37],
        build="GRCh37",
        contigs=("chr1", "chr12"),
        extra_header=("##contig=<ID=chrM,length=16571>",),
    )
    facts = inspect(path, build="GRCh37")
    assert facts.build_check.startswith("contig lengths match the known GRCh37 contigs")
    with pytest.raises(InputError, match="a GRCh37 file under a GRCh38 configuration"):
        inspect(path)


def test_b37_plain_naming_is_grch37(tmp_path):
    text = vcf_text([KRAS37], build="GRCh37", contigs=("chr1", "chr12"))
    text = text.replace("chr12", "12").replace("ID=chr", "ID=") + ""
    text = text.replace("##contig=<ID=1,", "##contig=<ID=MT,length=16569>\n##contig=<ID=1,")
    path = tmp_path / "b37.vcf"
    path.write_text(text)
    assert inspect(path, build="GRCh37").build_check.startswith("contig lengths match")


def test_normal_sample_from_the_header_or_the_sheet(tmp_path):
    records = [BRAF + "\t0/0:50,0:50:0.0"]
    header = ("##tumor_sample=TUMOR", "##normal_sample=NORMAL")
    path = write_vcf(tmp_path / "a.vcf", records, samples=("TUMOR", "NORMAL"), extra_header=header)
    facts = inspect(path)
    assert (facts.tumour_sample, facts.normal_sample) == ("TUMOR", "NORMAL")
    assert facts.kept_samples == ["TUMOR", "NORMAL"]
    plain = write_vcf(tmp_path / "b.vcf", records, samples=("T", "N"))
    named = inspect_vcf(
        "P1", plain, tumour_sample="T", normal_sample="N", build="GRCh38", fasta=None
    )
    assert named.normal_sample == "N"
    with pytest.raises(InputError, match="normal_sample 'X' is not a sample of the file"):
        inspect_vcf("P1", plain, tumour_sample="T", normal_sample="X", build="GRCh38", fasta=None)
    with pytest.raises(InputError, match="is also the tumour sample"):
        inspect_vcf("P1", plain, tumour_sample="T", normal_sample="T", build="GRCh38", fasta=None)


def test_other_sample_without_a_normal_is_warned(tmp_path):
    path = write_vcf(
        tmp_path / "a.vcf",
        [BRAF + "\t0/0:50,0:50:0.0"],
        samples=("TUMOR", "N1"),
        extra_header=("##tumor_sample=TUMOR",),
    )
    facts = inspect(path)
    assert facts.normal_sample is None
    assert any("read from the tumour sample" in w and "normal_sample" in w for w in facts.warnings)


def test_unseen_alleles_are_accepted_and_said(tmp_path):
    records = [
        "chr12\t25245340\t.\tA\t<*>\t.\t.\tEND=25245349\tGT:AD:DP:AF\t0/0:40,0:40:0",
        KRAS.replace("\tT\t", "\tT,<NON_REF>\t").replace("70,30:100:0.3", "70,30,0:100:0.3,0"),
    ]
    header = ('##INFO=<ID=END,Number=1,Type=Integer,Description="End">',)
    facts = inspect(write_vcf(tmp_path / "g.vcf", records, extra_header=header))
    assert facts.unseen_alleles
    assert any("<NON_REF>" in w and "trimmed" in w for w in facts.warnings)


@pytest.mark.parametrize("alt", ["<DEL>", "C[chr2:100[", "<DUP:TANDEM>", "<CN0>"])
def test_structural_records_are_left_out_and_counted(tmp_path, alt):
    sv = KRAS.replace("\tC\tT\t", f"\tC\t{alt}\t").replace("25245350", "25245300")
    facts = inspect(write_vcf(tmp_path / "sv.vcf", [sv, KRAS]))
    assert facts.structural_records == 1
    assert facts.structural[0].alt == alt
    assert any("structural-variant record(s)" in w for w in facts.warnings)


def test_genotype_naming_an_allele_the_record_lacks_is_refused(tmp_path):
    record = KRAS.replace("0/1:70,30", "3/7:70,30")
    with pytest.raises(InputError, match=r"record chr12:25245350: GT 3/7 names allele 7"):
        inspect(write_vcf(tmp_path / "gt.vcf", [record]))
    multi = KRAS.replace("\tT\t", "\tT,G\t").replace(
        "0/1:70,30:100:0.3", "1/2:70,30,20:120:0.3,0.2"
    )
    assert inspect(write_vcf(tmp_path / "ok.vcf", [multi])).records_read == 1


@pytest.mark.parametrize(
    ("ref", "alt", "said"),
    [
        ("C" * 200_000 + "X", "T", "REF 'CCCCC"),  # a 200 kb REF with a bad base at its end
        ("C", "T" * 200_000 + "Z", "ALT 'TTTTT"),
    ],
)
def test_a_huge_allele_is_cut_so_the_message_stays_one_short_line(tmp_path, ref, alt, said):
    path = tmp_path / "big.vcf"
    path.write_text(vcf_text([KRAS.replace("\tC\tT\t", f"\t{ref}\t{alt}\t")]), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        inspect(path)
    message = str(caught.value)
    assert said in message and "(200001 characters)" in message
    assert "has characters other than A, C, G, T, N" in message
    assert "\n" not in message and len(message) < 400


def test_mixed_contig_naming_without_contig_lines_is_named(tmp_path):
    path = tmp_path / "mixed.vcf"
    other = KRAS.replace("chr12\t25245350", "12\t25245360")
    path.write_text(vcf_text([BRAF, KRAS, other], contigs=()), encoding="utf-8")
    with pytest.raises(InputError, match=r"the records mix contig naming \('12' and 'chr12'\)"):
        inspect(path)


@pytest.mark.parametrize("compress", [False, True])
def test_an_endless_line_is_refused_without_reading_it_whole(tmp_path, monkeypatch, compress):
    """A line (or a decompression bomb of one) stops the scan at the limit, never read whole."""
    from haicgx.vcf import lines

    monkeypatch.setattr(lines, "MAX_LINE_CHARS", 5_000)
    long_info = "X=" + "A" * 20_000
    text = vcf_text([KRAS.replace("\tPASS\t.\t", f"\tPASS\t{long_info}\t")])
    path = tmp_path / ("long.vcf.gz" if compress else "long.vcf")
    path.write_bytes(gzip.compress(text.encode()) if compress else text.encode())
    with pytest.raises(InputError, match=r"line \d+ is longer than 5,000 characters"):
        inspect(path)
