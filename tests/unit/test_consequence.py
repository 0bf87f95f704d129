"""Consequences: protein changes, transcript choice, and which annotation entries are an allele's.

BCSQ strings below are bcftools csq's own output for real Ensembl transcripts (from
../shared/testdata/bcftools-csq/real, quoted so that these tests run without it).
"""

from __future__ import annotations

from pathlib import Path

import pysam
import pytest
from support import REPO, annotate_vcf

from haicgx.annotate import _annotation_plan, detect_annotation
from haicgx.consequence import (
    NO_FACTS,
    AlleleOrigin,
    parse_bcsq,
    parse_snpeff,
    parse_vep,
    protein_from_bcsq,
    transcript_rank,
    vep_allele_spellings,
)
from haicgx.evaluate import ConsequenceReader
from haicgx.transcripts import TranscriptIndex

# -- protein changes from BCSQ, knowing the consequence ------------------------------------------

PCGF3_LONG_DEL = (
    "frameshift|PCGF3|ENST00000400151|protein_coding|+|157SSHLMCVLTPDESVLWC*>157SSHLMSLCFGV|"
    "28388TTCACACCTGATGTGCGTCC>T"
)


@pytest.mark.parametrize(
    ("entry", "consequence", "protein"),
    [
        (PCGF3_LONG_DEL, "frameshift_variant", "p.C162fs"),
        (  # a frameshift whose residues look like a substitution then a stop
            "stop_gained&frameshift|ABCA10|ENST00000269081|protein_coding|-|453IYNTQLSE>453L*|"
            "46862AAT>A",
            "stop_gained&frameshift_variant",
            "p.I453fs",
        ),
        (
            "frameshift|CD207|ENST00000410009|protein_coding|-|25EPPPKSGPS>25GASSQVRSI|5507G>GC",
            "frameshift_variant",
            "p.E25fs",
        ),
        (
            "stop_gained&inframe_deletion|XPC|ENST00000285021|protein_coding|-|430YKE>430*|"
            "13461CTCTTTA>C",
            "stop_gained&inframe_deletion",
            "p.Y430*",
        ),
        (
            "stop_gained|TNNT2|ENST00000360372|protein_coding|-|132EE>132D*|4391CC>AA",
            "stop_gained",
            "p.E132_E133delinsD*",
        ),
        (
            "stop_lost&inframe_insertion|AL627309.1|ENST00000423372|protein_coding|-|260*>260CL|"
            "3630T>TAAA",
            "stop_lost&inframe_insertion",
            "p.*260Cext*?",
        ),
        (
            "start_lost&splice_region|TLR8|ENST00000218032|protein_coding|+|1M>1V|108A>G",
            "start_lost&splice_region_variant",
            "p.M1?",
        ),
        (  # residue 1 of a transcript without an ATG start: a plain missense
            "missense|STK11IP|ENST00000295641|protein_coding|+|1R>1M|79G>T",
            "missense_variant",
            "p.R1M",
        ),
        (
            "synonymous|NDNF|ENST00000379692|protein_coding|-|145L|1944T>C",
            "synonymous_variant",
            "p.L145=",
        ),
        (
            "stop_retained|PRAMEF8|ENST00000357367|protein_coding|-|475*|358C>T",
            "stop_retained_variant",
            "p.*475=",
        ),
        (
            "inframe_deletion|TPD52|ENST00000520795|protein_coding|-|3GLGLW>3W|"
            "213028AAAGCCCGAGTCC>A",
            "inframe_deletion",
            "p.G3_L6del",
        ),
        (
            "inframe_deletion|SAMD11|ENST00000341065|protein_coding|+|508VA>508A|19027AGGT>A",
            "inframe_deletion",
            "p.V508del",
        ),
        (
            "inframe_insertion|C19orf33|ENST00000301246|protein_coding|+|89K>89KKKEKG|"
            "770G>GAAGAAGGAGAAGGGC",
            "inframe_insertion",
            "p.K89_90insKKEKG",
        ),
        (
            "missense|TOR1AIP1|ENST00000271583|protein_coding|+|146M>146T|643T>C",
            "missense_variant",
            "p.M146T",
        ),
        ("splice_acceptor|TOR1AIP1|ENST00000271583|protein_coding", "splice_acceptor_variant", ""),
        ("intron|IL5RA||protein_coding", "intron_variant", ""),
    ],
)
def test_bcsq_entries(entry, consequence, protein):
    (ann,) = parse_bcsq([entry])
    assert (ann.consequence, ann.protein_change) == (consequence, protein)
    assert ann.gene == entry.split("|")[1]


def test_back_references_and_unknown_aa_fields_give_nothing_wrong():
    assert parse_bcsq(["@46862"]) == []
    assert protein_from_bcsq("not an aa change") == ""


# -- which entries are this allele's --------------------------------------------------------------

VEP_FIELDS = ["Allele", "Consequence", "SYMBOL", "Feature", "BIOTYPE", "HGVSp"]
VEP_FIELDS += ["Protein_position", "Amino_acids"]


def vep(allele: str, consequence: str, feature="ENST1", hgvsp="", pos="", aa="", gene="G"):
    return "|".join([allele, consequence, gene, feature, "protein_coding", hgvsp, pos, aa])


def test_vep_entries_of_a_split_multiallelic_record():
    """VEP spells CAT>C,CATAT,TAT as written (not every ALT shares the first base)."""
    entries = [
        vep("C", "frameshift_variant", pos="10", aa="K/X"),
        vep("CATAT", "inframe_insertion", pos="10", aa="K/KI"),
        vep("TAT", "missense_variant", pos="10", aa="K/N"),
    ]
    origin = AlleleOrigin(100, "CAT", ("C", "CATAT", "TAT"), 3)
    (ann,) = parse_vep(entries, VEP_FIELDS, "C", "T", origin)  # the split record, trimmed
    assert (ann.consequence, ann.protein_change) == ("missense_variant", "p.K10N")
    origin = AlleleOrigin(100, "CAT", ("C", "CATAT", "TAT"), 1)
    (ann,) = parse_vep(entries, VEP_FIELDS, "CAT", "C", origin)
    assert (ann.consequence, ann.protein_change) == ("frameshift_variant", "p.K10fs")


def test_vep_drops_the_shared_first_base_of_indels():
    entries = [vep("-", "frameshift_variant"), vep("ATAT", "inframe_insertion")]
    origin = AlleleOrigin(100, "CAT", ("C", "CATAT"), 2)
    (ann,) = parse_vep(entries, VEP_FIELDS, "C", "CAT", origin)
    assert ann.consequence == "inframe_insertion"


def test_an_allele_never_takes_a_siblings_entries():
    """A>AT,T: VEP writes AT and T. Under --minimal both would be T; the insertion must not take
    the SNV's entries."""
    origin = AlleleOrigin(100, "A", ("AT", "T"), 1)
    assert vep_allele_spellings(origin, "A", "AT") == ["AT"]
    entries = [vep("T", "missense_variant", pos="5", aa="K/N")]
    assert parse_vep(entries, VEP_FIELDS, "A", "AT", origin) == []
    (ann,) = parse_vep(entries, VEP_FIELDS, "A", "T", AlleleOrigin(100, "A", ("AT", "T"), 2))
    assert ann.protein_change == "p.K5N"


def test_vep_minimal_spelling_when_unambiguous():
    entries = [vep("AT", "inframe_insertion")]  # VEP --minimal: CAT>CATAT is -/AT
    origin = AlleleOrigin(100, "CAT", ("CATAT",), 1)
    (ann,) = parse_vep(entries, VEP_FIELDS, "C", "CAT", origin)
    assert ann.consequence == "inframe_insertion"


def test_vep_allele_num_wins():
    fields = [*VEP_FIELDS, "ALLELE_NUM"]
    entries = [vep("T", "missense_variant") + "|2", vep("T", "stop_gained") + "|1"]
    origin = AlleleOrigin(100, "A", ("AT", "T"), 2)
    (ann,) = parse_vep(entries, fields, "A", "T", origin)
    assert ann.consequence == "missense_variant"


def test_vep_transcript_choice_is_mane_then_canonical_then_complete_then_longest_cds():
    """The transcript policy on VEP's own fields: MANE_SELECT, CANONICAL, FLAGS, the CDS length
    of CDS_position (--total_length). VEP's PICK, APPRIS and TSL take no part."""
    fields = [*VEP_FIELDS, "PICK", "CANONICAL", "MANE_SELECT", "TSL", "FLAGS", "CDS_position"]

    def row(feature, aa, pick="", canonical="", mane="", tsl="", flags="", cds=""):
        entry = vep("T", "missense_variant", feature=feature, pos="12", aa=aa)
        return entry + f"|{pick}|{canonical}|{mane}|{tsl}|{flags}|{cds}"

    mane = row("ENST_MANE", "G/V", mane="NM_1.1", cds="34/600")
    canonical = row("ENST_CANON", "G/D", canonical="YES", cds="34/300")
    picked = row("ENST_A_PICK", "G/C", pick="1", tsl="1", cds="34/900")
    incomplete = row("ENST_B_NF", "G/A", flags="cds_start_NF", cds="34/3000")
    complete = row("ENST_C", "G/S", cds="34/1200")
    shorter = row("ENST_D", "G/R", cds="34/1100")
    choose = lambda *rows: parse_vep(list(rows), fields, "C", "T")[0].transcript  # noqa: E731
    assert choose(picked, canonical, mane) == "ENST_MANE"
    assert choose(picked, canonical) == "ENST_CANON"  # PICK is VEP's own order, not ours
    assert choose(incomplete, picked, shorter, complete) == "ENST_C"  # complete, then longest
    assert choose(incomplete) == "ENST_B_NF"  # an incomplete CDS is still a transcript of the gene


def test_vep_intergenic_allele_is_named():
    fields = ["Allele", "Consequence", "IMPACT", "SYMBOL", "Gene", "Feature_type", "Feature"]
    (ann,) = parse_vep(["G|intergenic_variant|MODIFIER||||"], fields, "T", "G")
    assert (ann.gene, ann.consequence, ann.transcript) == ("", "intergenic_variant", "")


def test_vep_regulatory_entries_are_not_genes():
    fields = ["Allele", "Consequence", "SYMBOL", "Feature_type", "Feature"]
    entries = ["T|regulatory_region_variant|||ENSR1", "T|intron_variant|G|Transcript|ENST1"]
    (ann,) = parse_vep(entries, fields, "C", "T")
    assert (ann.gene, ann.consequence) == ("G", "intron_variant")


def snpeff(
    allele: str,
    effect: str,
    gene: str,
    hgvsp: str = "",
    *,
    transcript: str = "NM_1.1",
    cds: str = "",
    messages: str = "",
    feature: str = "transcript",
) -> str:
    """An ANN entry: Allele | Annotation | Impact | Gene_Name | Gene_ID | Feature_Type |
    Feature_ID | BioType | Rank | HGVS.c | HGVS.p | cDNA | CDS | AA | Distance | Messages."""
    row = f"{feature}|{transcript}|protein_coding|2/5|c.1A>G"
    return f"{allele}|{effect}|MODERATE|{gene}|{gene}|{row}|{hgvsp}||{cds}|||{messages}"


def test_snpeff_entries_on_a_faulty_transcript_are_left_out():
    """A synonymous change read on a transcript without a start codon came out as missense: that
    entry, though longer and more severe, is skipped; so are ERROR_ entries."""
    entries = [
        snpeff(
            "T",
            "missense_variant",
            "G",
            "p.Ala41Thr",
            transcript="NM_NOSTART.1",
            cds="121/3000",
            messages="WARNING_TRANSCRIPT_NO_START_CODON",
        ),
        snpeff("T", "synonymous_variant", "G", "p.Ala40Ala", transcript="NM_OK.1", cds="120/900"),
    ]
    (ann,) = parse_snpeff(entries, "T")
    assert (ann.transcript, ann.consequence, ann.protein_change) == (
        "NM_OK.1",
        "synonymous_variant",
        "p.A40=",
    )
    for flag in (
        "WARNING_TRANSCRIPT_INCOMPLETE",
        "WARNING_TRANSCRIPT_NO_STOP_CODON",
        "WARNING_TRANSCRIPT_MULTIPLE_STOP_CODONS",
        "INFO_REALIGN_3_PRIME&ERROR_OUT_OF_CHROMOSOME_RANGE",
    ):
        flagged = snpeff("T", "stop_gained", "G", transcript="NM_X.1", cds="9/9000", messages=flag)
        assert [a.transcript for a in parse_snpeff([flagged, entries[1]], "T")] == ["NM_OK.1"]
    kept = snpeff("T", "stop_gained", "G", transcript="NM_X.1", messages="INFO_REALIGN_3_PRIME")
    assert [a.transcript for a in parse_snpeff([kept], "T")] == ["NM_X.1"]


def test_snpeff_longest_cds_then_severity_then_id():
    """ANN names no MANE or canonical transcript: its CDS.length is the fact it gives."""
    short = snpeff("T", "stop_gained", "G", transcript="NM_SHORT.1", cds="30/600")
    long = snpeff("T", "missense_variant", "G", transcript="NM_LONG.1", cds="30/900")
    intron = snpeff("T", "intron_variant", "G", transcript="NM_A.1")
    assert parse_snpeff([short, long], "T")[0].transcript == "NM_LONG.1"
    assert parse_snpeff([intron, short], "T")[0].transcript == "NM_SHORT.1"
    upstream = [snpeff("T", "upstream_gene_variant", "G", transcript=f"NM_{n}.1") for n in "BA"]
    assert parse_snpeff(upstream, "T")[0].transcript == "NM_A.1"


def test_snpeff_names_are_read_as_sequence_ontology_terms():
    intergenic = snpeff(
        "T",
        "intergenic_region",
        "FAM138A-OR4F5",
        transcript="FAM138A-OR4F5",
        feature="intergenic_region",
    )
    (ann,) = parse_snpeff([intergenic], "T")
    assert (ann.gene, ann.consequence, ann.transcript) == ("", "intergenic_variant", "")
    upstream = snpeff("T", "upstream_gene_variant", "DDX11L1", transcript="NR_046018.2")
    (ann,) = parse_snpeff([intergenic, upstream], "T")  # between genes, yet upstream of one
    assert (ann.gene, ann.consequence) == ("DDX11L1", "upstream_gene_variant")
    (ann,) = parse_snpeff([snpeff("T", "disruptive_inframe_deletion", "G")], "T")
    assert (ann.consequence, ann.variant_class) == ("inframe_deletion", "inframe")
    motif = snpeff("T", "TF_binding_site_variant", "G", transcript="MA0139.1", feature="motif")
    assert parse_snpeff([motif], "T") == []


def test_snpeff_entries_follow_the_inputs_spelling():
    entries = [snpeff("CATAT", "inframe_insertion", "G"), snpeff("C", "frameshift_variant", "G")]
    origin = AlleleOrigin(100, "CAT", ("C", "CATAT"), 2)
    (ann,) = parse_snpeff(entries, "CAT", origin)  # split and trimmed to C>CAT
    assert (ann.consequence, ann.exon) == ("inframe_insertion", 2)
    (ann,) = parse_snpeff([snpeff("G", "synonymous_variant", "CDH2", "p.Ala816Ala")], "G")
    assert ann.protein_change == "p.A816="


def test_preannotated_bcsq_is_attributed_by_its_dna_change():
    entries = [
        "missense|G|ENST1|protein_coding|+|12G>12D|100C>T",
        "stop_gained|G|ENST1|protein_coding|+|12G>12*|100C>A",
        "splice_region|G|ENST1|protein_coding",
    ]
    multi = AlleleOrigin(100, "C", ("T", "A"), 2)
    (ann,) = parse_bcsq(entries, multi, 100, "C", "A")
    assert ann.consequence == "stop_gained"  # the splice_region entry cannot be attributed
    single = AlleleOrigin(100, "C", ("T",), 1)
    assert {a.consequence for a in parse_bcsq(entries, single, 100, "C", "T")} == {
        "missense_variant",
        "splice_region_variant",
    }
    joint = ["missense|G|ENST1|protein_coding|+|88A>88V|31177C>T+31178G>T"]
    assert len(parse_bcsq(joint, AlleleOrigin(31178, "G", ("T",)), 31178, "G", "T")) == 1


# -- detection and the reader on real records -----------------------------------------------------


def header_with(info: str) -> pysam.VariantHeader:
    header = pysam.VariantHeader()
    header.add_line(info)
    return header


def test_detect_annotation():
    vep_desc = 'Description="Consequence annotations from Ensembl VEP. Format: Allele|Consequence"'
    snpeff_desc = (
        "Description=\"Functional annotations: 'Allele | Annotation | Annotation_Impact'\""
    )
    assert detect_annotation(header_with(f"##INFO=<ID=CSQ,Number=.,Type=String,{vep_desc}>")) == (
        "vep",
        "CSQ",
    )
    assert detect_annotation(header_with(f"##INFO=<ID=ANN,Number=.,Type=String,{vep_desc}>")) == (
        "vep",
        "ANN",
    )
    assert detect_annotation(
        header_with(f"##INFO=<ID=ANN,Number=.,Type=String,{snpeff_desc}>")
    ) == ("snpeff", "ANN")
    bcsq = '##INFO=<ID=BCSQ,Number=.,Type=String,Description="Haplotype-aware consequence">'
    assert detect_annotation(header_with(bcsq)) == ("bcsq", "BCSQ")


def test_annotation_plan():
    fasta, gff3 = Path("ref.fa"), Path("genes.gff3")
    assert _annotation_plan("auto", ("vep", "CSQ"), fasta, gff3) == ("vep", "CSQ")
    assert _annotation_plan("auto", None, fasta, gff3) == ("csq", "BCSQ")
    assert _annotation_plan("auto", ("vep", "CSQ"), None, None) == ("vep", "CSQ")
    with pytest.raises(ValueError, match=r"csq cannot run without reference\.fasta"):
        _annotation_plan("auto", None, None, None)  # never a silent fall to `none`
    assert _annotation_plan("none", ("vep", "CSQ"), fasta, gff3) == ("none", None)
    assert _annotation_plan("csq", ("vep", "CSQ"), fasta, gff3) == ("csq", "BCSQ")
    with pytest.raises(
        ValueError, match="annotation: vep was configured but the VCF carries snpeff"
    ):
        _annotation_plan("vep", ("snpeff", "ANN"), fasta, gff3)


@pytest.mark.usefixtures("synthetic_reference_for_test_files")
def test_reader_gives_each_split_allele_its_own_vep_entries(tmp_path):
    """A multi-allelic VEP record through the annotate stage: bcftools norm -m -any copies every
    CSQ entry to both split records; each keeps its own."""
    fields = "Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|HGVSp"
    csq = ",".join(
        [
            "T|missense_variant|MODERATE|KRAS|ENSG1|Transcript|ENST00000311936|protein_coding|"
            "ENSP1:p.Gly12Asp",
            "A|missense_variant|MODERATE|KRAS|ENSG1|Transcript|ENST00000311936|protein_coding|"
            "ENSP1:p.Gly12Val",
        ]
    )
    vcf = tmp_path / "vep.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr12,length=133275309>\n"
        f'##INFO=<ID=CSQ,Number=.,Type=String,Description="Ensembl VEP. Format: {fields}">\n'
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tTUMOR\n"
        f"chr12\t25245350\t.\tC\tT,A\t.\tPASS\tCSQ={csq}\tGT\t1/2\n",
        encoding="utf-8",
    )
    for fasta in (None, REPO / "resources" / "demo" / "reference" / "demo_grch38.fa.gz"):
        prepared = annotate_vcf(vcf, tmp_path / "out.bcf", patient="P", fasta=fasta)
        with pysam.VariantFile(str(prepared.path)) as handle:
            reader = ConsequenceReader(handle.header, "vep", "CSQ", None)
            got = {rec.alts[0]: [a.protein_change for a in reader.read(rec)] for rec in handle}
        assert got == {"T": ["p.G12D"], "A": ["p.G12V"]}


# -- transcripts ------------------------------------------------------------------------------

GFF3 = """##gff-version 3
12\tt\tgene\t100\t2000\t.\t-\t.\tID=gene:ENSG1;Name=GENE1;biotype=protein_coding
12\tt\tmRNA\t100\t2000\t.\t-\t.\tID=transcript:ENST_LONG;Parent=gene:ENSG1;tag=basic
12\tt\texon\t100\t400\t.\t-\t.\tParent=transcript:ENST_LONG
12\tt\tCDS\t100\t400\t.\t-\t0\tParent=transcript:ENST_LONG
12\tt\texon\t1000\t2000\t.\t-\t.\tParent=transcript:ENST_LONG
12\tt\tCDS\t1000\t1500\t.\t-\t0\tParent=transcript:ENST_LONG
12\tt\tmRNA\t100\t2000\t.\t-\t.\tID=transcript:ENST_CANON;Parent=gene:ENSG1;tag=basic,Ensembl_canonical
12\tt\texon\t100\t400\t.\t-\t.\tParent=transcript:ENST_CANON
12\tt\tCDS\t200\t400\t.\t-\t0\tParent=transcript:ENST_CANON
12\tt\tmRNA\t100\t2000\t.\t-\t.\tID=transcript:ENST_MANE;Parent=gene:ENSG1;tag=basic,Ensembl_canonical,MANE_Select
12\tt\texon\t100\t400\t.\t-\t.\tParent=transcript:ENST_MANE
12\tt\tCDS\t300\t400\t.\t-\t0\tParent=transcript:ENST_MANE
12\tt\tmRNA\t100\t2000\t.\t-\t.\tID=transcript:ENST_LONG2;Parent=gene:ENSG1;tag=basic
12\tt\texon\t100\t2000\t.\t-\t.\tParent=transcript:ENST_LONG2
12\tt\tCDS\t100\t900\t.\t-\t0\tParent=transcript:ENST_LONG2
12\tt\tmRNA\t100\t2000\t.\t-\t.\tID=transcript:ENST_NF;Parent=gene:ENSG1;tag=basic,cds_start_NF
12\tt\texon\t100\t2000\t.\t-\t.\tParent=transcript:ENST_NF
12\tt\tCDS\t100\t2000\t.\t-\t0\tParent=transcript:ENST_NF
"""


@pytest.fixture
def index(tmp_path) -> TranscriptIndex:
    path = tmp_path / "genes.gff3"
    path.write_text(GFF3, encoding="utf-8")
    return TranscriptIndex.from_gff3(path)


def test_transcript_preference_mane_then_canonical_then_complete_then_longest_cds(index):
    order = sorted(index.transcripts, key=index.preference)
    assert order == ["ENST_MANE", "ENST_CANON", "ENST_LONG", "ENST_LONG2", "ENST_NF"]
    assert index.transcripts["ENST_LONG"].cds_length == 301 + 501
    assert index.transcripts["ENST_NF"].cds_length == 1901  # the longest, but incomplete
    assert index.transcripts["ENST_MANE"].gene == "GENE1"
    assert index.preference("ENST_NOT_IN_GFF3") == transcript_rank(NO_FACTS)


def test_exon_numbers_follow_the_strand(index):
    assert index.exon_rank("ENST_LONG", 1500) == (1, 2)  # minus strand: the 3'-most exon is last
    assert index.exon_rank("ENST_LONG", 200) == (2, 2)
    assert index.exon_rank("ENST_LONG", 700) is None  # intron
    assert index.exon_rank("ENST_NOT_IN_GFF3", 200) is None


def test_reader_keeps_one_transcript_per_gene(index):
    header = pysam.VariantHeader()  # our own csq run: no ORIGINAL_RECORD needed
    reader = ConsequenceReader(header, "csq", "BCSQ", index)
    entries = [
        "missense|GENE1|ENST_LONG|protein_coding|-|20G>20D|1500C>T",
        "missense|GENE1|ENST_MANE|protein_coding|-|5G>5D|1500C>T",
        "missense|GENE1|ENST_CANON|protein_coding|-|9G>9D|1500C>T",
    ]
    (ann,) = reader._one_per_gene(parse_bcsq(entries), 350)
    assert (ann.transcript, ann.protein_change, ann.exon) == ("ENST_MANE", "p.G5D", 1)


def test_reader_ties_go_to_the_more_severe_then_the_smaller_transcript_id(index):
    """Transcripts the GFF3 ranks alike (here: not in it), with and without the GFF3."""
    entries = [
        "missense|GENE2|ENST_Z|protein_coding|+|20G>20D|1500C>T",
        "synonymous|GENE2|ENST_B|protein_coding|+|20G|1500C>T",
        "missense|GENE2|ENST_M|protein_coding|+|21G>21D|1500C>T",
    ]
    for transcripts in (index, None):
        reader = ConsequenceReader(pysam.VariantHeader(), "csq", "BCSQ", transcripts)
        (ann,) = reader._one_per_gene(parse_bcsq(entries), 350)
        assert ann.transcript == "ENST_M"


def test_exon_and_exon_count_from_vep_and_snpeff():
    fields = [*VEP_FIELDS, "EXON"]
    (ann,) = parse_vep([vep("T", "stop_gained") + "|27/27"], fields, "A", "T")
    assert (ann.exon, ann.exon_total, ann.escapes_nmd) == (27, 27, True)
    (ann,) = parse_vep([vep("T", "stop_gained") + "|3-4/27"], fields, "A", "T")
    assert (ann.exon, ann.exon_total, ann.escapes_nmd) == (3, 27, False)
    (ann,) = parse_vep([vep("T", "stop_gained") + "|"], fields, "A", "T")  # intronic: no EXON
    assert (ann.exon, ann.exon_total, ann.escapes_nmd) == (None, None, False)
    (ann,) = parse_snpeff([snpeff("T", "stop_gained", "G").replace("|2/5|", "|5/5|")], "T")
    assert (ann.exon, ann.exon_total, ann.escapes_nmd) == (5, 5, True)
    (ann,) = parse_snpeff([snpeff("T", "stop_gained", "G")], "T")
    assert (ann.exon, ann.exon_total, ann.escapes_nmd) == (2, 5, False)
