"""Single records whose alleles cannot be evaluated (ALT equal to REF, a character that is not a
base) are left out with a QC warning when the rest of the file is sound; more than
`MAX_UNUSABLE_RECORDS` or `MAX_UNUSABLE_PERCENT` of the records and the file is refused as
malformed (docs/callers.md). The real case, VarScan 2's 'A/T' record among 500, is in
tests/integration/test_callers.py; the bad-input corpus (one such record among two or three)
still fails, in tests/unit/test_bad_inputs.py.
"""

from __future__ import annotations

from pathlib import Path

import pysam
import pytest
from support import annotate_vcf, write_vcf

from haicgx.errors import InputError
from haicgx.genotype import SampleCall
from haicgx.pgx import PgxCollector
from haicgx.vcf import MAX_UNUSABLE_PERCENT, MAX_UNUSABLE_RECORDS, inspect_vcf

FORMAT = "GT:AD:DP:AF\t0/1:60,40:100:0.4"


def snvs(n: int, start: int = 1000) -> list[str]:
    """n sound chr1 SNVs, 10 bp apart."""
    return [f"chr1\t{start + 10 * i}\t.\tA\tG\t.\tPASS\t.\t{FORMAT}" for i in range(n)]


def record(pos: int, ref: str, alt: str, chrom: str = "chr1") -> str:
    return f"{chrom}\t{pos}\t.\t{ref}\t{alt}\t.\tPASS\t.\t{FORMAT}"


def inspect(path: Path):
    return inspect_vcf("P1", path, tumour_sample=None, build="GRCh38", fasta=None)


def prepare(path: Path, work: Path):
    """The records as the analysis streams them (its checks, then its bcftools steps)."""
    return annotate_vcf(path, work / "out.bcf", annotation_mode="none")


def kept(bcf: Path) -> list[tuple[str, int, str, str]]:
    with pysam.VariantFile(str(bcf)) as handle:
        return [(r.chrom, r.pos, r.ref, r.alts[0]) for r in handle]


def test_a_few_unusable_records_are_left_out_before_bcftools_and_said(tmp_path):
    """Among 505 records: REF equal to ALT beside a sound call at the same position, a
    multi-allelic record with one ALT equal to REF, VarScan's 'A/T', an IUPAC REF. Each is left
    out alone; the sound call at the same position is kept."""
    records = snvs(500)
    odd = [
        record(9000, "C", "C"),
        record(9000, "C", "T"),  # sound, at the same position: kept
        record(9010, "A", "G,A"),
        record(9020, "G", "A/T"),
        record(9030, "M", "A"),
    ]
    path = write_vcf(tmp_path / "odd.vcf", records + odd)
    facts = inspect(path)
    assert [(u.pos, u.alt) for u in facts.unusable] == [
        (9000, "C"),
        (9010, "A"),
        (9020, "A/T"),
        (9030, None),
    ]
    warning = next(w for w in facts.warnings if "cannot be evaluated" in w)
    assert warning.startswith("4 record(s) whose alleles cannot be evaluated were left out")
    assert "chr1:9000 ALT C equals REF: not a variant" in warning and "and 1 more" in warning

    prepared = prepare(path, tmp_path)
    left = kept(prepared.path)
    assert len(left) == 501
    assert ("chr1", 9000, "C", "T") in left
    assert not any(pos in (9010, 9020, 9030) for _, pos, _, _ in left)
    assert warning in prepared.warnings


def test_a_bcf_is_read_the_same_way(tmp_path):
    text = write_vcf(tmp_path / "odd.vcf", [*snvs(150), record(9000, "C", "C")])
    bcf = tmp_path / "odd.bcf"
    with (
        pysam.VariantFile(str(text)) as source,
        pysam.VariantFile(str(bcf), "wb", header=source.header) as out,
    ):
        for rec in source:
            out.write(rec)
    facts = inspect(bcf)
    assert [(u.where, u.reason) for u in facts.unusable] == [
        ("chr1:9000", "ALT C equals REF: not a variant")
    ]
    assert len(kept(prepare(bcf, tmp_path).path)) == 150


def test_more_than_the_percentage_fails_the_file_naming_the_first(tmp_path):
    """Two of 101 records (2%) is more than MAX_UNUSABLE_PERCENT (1%)."""
    assert MAX_UNUSABLE_PERCENT == 1
    path = write_vcf(
        tmp_path / "many.vcf", [*snvs(99), record(9000, "C", "C"), record(9010, "c", "T")]
    )
    with pytest.raises(InputError) as caught:
        inspect(path)
    message = str(caught.value)
    assert "record chr1:9000: ALT C equals REF: not a variant; 2 of 101 records unusable" in message
    assert "a malformed file?" in message
    # one in 101 is within the limits
    one = write_vcf(tmp_path / "one.vcf", [*snvs(100), record(9000, "C", "C")])
    assert len(inspect(one).unusable) == 1


def test_more_than_the_count_fails_the_file(tmp_path):
    """MAX_UNUSABLE_RECORDS + 1 among 20,000 records (0.06%) is still too many."""
    n = MAX_UNUSABLE_RECORDS + 1
    bad = [record(900_000 + 10 * i, "T", "T") for i in range(n)]
    path = write_vcf(tmp_path / "count.vcf", snvs(20_000) + bad)
    with pytest.raises(InputError, match=rf"{n} of {20_000 + n} records unusable"):
        inspect(path)


def test_an_allele_no_filter_expression_can_name_is_refused(tmp_path):
    """A double quote cannot be written inside a bcftools expression: that record could not be
    left out exactly, so the file is refused as before, naming it."""
    path = write_vcf(tmp_path / "quote.vcf", [*snvs(200), record(9000, "C", 'T"')])
    with pytest.raises(InputError, match=r"record chr1:9000: ALT 'T\"' has characters other"):
        inspect(path)


def test_a_spanning_deletion_still_fails_even_beside_an_unusable_ref(tmp_path):
    """'*' fails the file whatever else the record holds: leaving the record out could drop a
    pharmacogene's real allele (tests/data/bad/README.md)."""
    path = write_vcf(tmp_path / "star.vcf", [*snvs(200), record(9000, "c", "T,*")])
    with pytest.raises(InputError, match="spanning-deletion allele"):
        inspect(path)


@pytest.mark.parametrize(
    ("chrom", "pos", "status"),
    [
        ("chr1", 97_450_058, "indeterminate"),
        ("1", 97_450_058, "indeterminate"),
        ("chr1", 5_000, "assessed"),
    ],
)
def test_an_unusable_record_within_dpyd_makes_its_call_indeterminate(
    bundled_kb, chrom, pos, status
):
    """Every DPYD position called reference, then a record left out at *2A's position (either
    contig naming): it may have carried the allele, so the call is not firm. Elsewhere, none."""
    collector = PgxCollector(bundled_kb, "GRCh38")
    for where in collector.position_names:
        collector.mark_read(*where, SampleCall((0, 0), depth=30))
    collector.unusable(chrom, pos, pos, "ALT C equals REF: not a variant")
    call = collector.call()["DPYD"]
    assert call.status == status
    if status == "indeterminate":
        assert any("was left out: ALT C equals REF" in note for note in call.notes)
