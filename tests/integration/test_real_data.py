"""Real public VCFs from ../shared/testdata through haicgx's annotate stage and readers.

- bcftools csq's own test cases (real Ensembl transcripts): every case runs through
  the analysis's checks and bcftools stream (`support.annotate_vcf`: norm, then `csq -s - -l` as
  the pipeline runs it) and its BCSQ
  is compared with bcftools' expected output, `X.txt-l` (made with `csq -l`) where it exists, else
  `X.txt`. The cases that cannot match are listed in KNOWN_DIFFERENCES with the reason, and the
  reason itself is checked (by running bcftools csq directly on the unnormalised input).
- GA4GH BRCA1 (GRCh37): five textbook BRCA1 polymorphisms on ENST00000357654.
- HCC1395 (VEP 95 CSQ): TP53 p.R175H and the BRCA2 stop gain.
- vembrane: VEP under the INFO key ANN and under CSQ; SnpEff ANN.
- PCGR: tumour support from INFO TVAF/TDP; the build named by CrossMap liftover lines.
- The transcript policy (haicgx.consequence) on real VEP and SnpEff output: the transcript chosen
  per record (vembrane SnpEff), a faulty-transcript entry skipped (a stated change to a copy),
  every allele of ga4gh's SnpEff and HCC1395's VEP files named, intergenic ones included.

The shared files are read in place; where a file needs a change to be usable (a header length that
disagrees with its own reference, a sites-only file), a copy is written to a temporary folder and
the change is stated next to it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pysam
import pytest
from support import TESTDATA, annotate_vcf
from support import testdata as shared_data

from haicgx.annotate import ORIGINAL_RECORD, detect_annotation
from haicgx.consequence import (
    SEVERITY,
    AlleleOrigin,
    parse_bcsq,
    parse_snpeff,
    parse_vep,
    vep_fields,
)
from haicgx.errors import InputError
from haicgx.evaluate import ConsequenceReader
from haicgx.qc import SupportReader
from haicgx.transcripts import TranscriptIndex


def read_all(prepared, transcripts=None, *, want: set[str] | None = None) -> dict:
    """(chrom, pos, ref, alt) -> (annotations, read support), through the rank job's readers."""
    out = {}
    with pysam.VariantFile(str(prepared.path)) as handle:
        consequences = ConsequenceReader(
            handle.header, prepared.annotation, prepared.annotation_key, transcripts
        )
        support = SupportReader(handle.header)
        for rec in handle:
            if not rec.alts or rec.alts[0] in ("*", "."):
                continue
            annotations = consequences.read(rec)
            if want is None or any(a.gene in want for a in annotations):
                out[(rec.chrom, rec.pos, rec.ref, rec.alts[0])] = (annotations, support.read(rec))
    return out


def prepare(vcf: Path, tmp_path: Path, **kw):
    """The records the analysis reads (support.annotate_vcf), kept in annotated.bcf."""
    return annotate_vcf(
        vcf,
        tmp_path / "annotated.bcf",
        patient=kw.pop("patient", "REAL"),
        tumour_sample=kw.pop("tumour_sample", None),
        build=kw.pop("build", "GRCh38"),
        annotation_mode=kw.pop("annotation", "auto"),
        fasta=kw.pop("fasta", None),
        gff3=kw.pop("gff3", None),
    )


# -- bcftools csq: real Ensembl transcripts -------------------------------------------------------

CSQ_REAL = TESTDATA / "bcftools-csq" / "real"

# Cases whose expected output lives in *.cmd.out files that were not copied (SOURCES.md).
NO_EXPECTED_OUTPUT = {
    "ENST00000368801.2/alt-gencode.vcf",
    "ENST00000379416/compound.del-snp.vcf",
    "ENST00000379416/compound.ins-del.vcf",
    "ENST00000379416/compound.ins-ins.vcf",
    "ENST00000379416/compound.ins-snp.vcf",
    "ENST00000379416/single.vcf",
    "ENST00000428061/failed-assert.vcf",
    "ENST00000580206/compound.del-ins.vcf",
    "ENST00000580206/compound.del-snv.vcf",
    "ENST00000580206/compound.ins-snv.vcf",
    "ENST00000580206/single.del-ins.vcf",
    "ENST00000580206/single.del-snv.vcf",
    "ENST00000580206/single.ins-snv.vcf",
}

# case -> (kind, detail). Kinds, each verified below:
#   refused     haicgx refuses the input by design; detail: the message fragment
#   normalised  haicgx left-aligns and trims (bcftools norm -f) before csq; these cases test how csq
#               treats one particular, unnormalised spelling. csq -l on the input as written
#               reproduces the expected output; on haicgx's normalised record it gives what haicgx
#               reports (the same event, written left-aligned)
#   haplotype   the expected output (X.txt, no X.txt-l) comes from csq's haplotype-aware mode, which
#               joins nearby variants of one haplotype; haicgx runs csq -l (one record at a time):
#               csq without -l reproduces the expected output, csq -l gives haicgx's
#   genotypes   the expected output is per-sample (TBCSQ); haicgx runs csq -s - (genotypes ignored),
#               so it also annotates a record whose only carrier has a genotype csq does not model
KNOWN_DIFFERENCES = {
    "ENST00000263103-INS/insertions.vcf": ("refused", "structural-variant records only"),
    "ENST00000294661/non-coding-boundary.vcf": ("refused", "runs past the end of contig 1"),
    "ENST00000329454/boundary-deletion.vcf": ("refused", "runs past the end of contig 1"),
    "ENST00000341065/splice-acceptor-donor1.vcf": ("refused", "ALT CAGGTCT equals REF"),
    "ENST00000318249.2/synonymous-start-lost.vcf": ("normalised", ""),
    "ENST00000341065/frame3.vcf": ("normalised", ""),
    "ENST00000341065/splice-acceptor-donor2.vcf": ("normalised", ""),
    "ENST00000341065/splice-acceptor-donor5.vcf": ("normalised", ""),
    "ENST00000341065/splice-acceptor-donor6.vcf": ("normalised", ""),
    "ENST00000341065/splice-acceptor-donor9.vcf": ("normalised", ""),
    "ENST00000382647/synon-splice-region-insert.vcf": ("normalised", ""),
    "ENST00000573035-bt2212/complex-event.vcf": ("normalised", ""),
    "ENST00000624631/ambiguous.vcf": ("normalised", ""),
    "ENST00000269081/stop-gained-not-inframe-insertion.vcf": ("haplotype", ""),
    "ENST00000528237/retained-stop-incomplete-cds.vcf": ("haplotype", ""),
    "ENST00000381157/haploid-diploid.vcf": ("genotypes", "31180"),
}


def csq_cases(*, with_expected: bool) -> list[str]:
    if not CSQ_REAL.is_dir():
        return ["(bcftools-csq test data absent)"]
    cases = sorted(str(p.relative_to(CSQ_REAL)) for p in CSQ_REAL.glob("*/*.vcf"))
    return [c for c in cases if (c not in NO_EXPECTED_OUTPUT) == with_expected]


def expected_file(vcf: Path) -> Path | None:
    for suffix in (".txt-l", ".txt"):  # haicgx runs csq -l: its expected output first
        path = vcf.with_suffix(suffix)
        if path.exists():
            return path
    return None


Entry = tuple[str, str, str, str, str]  # consequence, gene, transcript, biotype, amino acids
Consequences = dict[tuple[int, str, str], frozenset[Entry]]


def entry_key(entry: str) -> Entry:
    parts = entry.split("|") + [""] * 6
    return (parts[0], parts[1], parts[2], parts[3], parts[5])


def keep(entries) -> frozenset[Entry]:
    """Real consequences, sorted into a set: '@POS' back-references and '.' carry none."""
    return frozenset(entry_key(e) for e in entries if e and e != "." and not e.startswith("@"))


def expected_consequences(path: Path, with_samples: bool) -> Consequences:
    """bcftools' expected output: without samples, pairs of lines (INFO/EXP, then the BCSQ csq
    wrote: the second is the output); with samples, one line per sample with both haplotypes'
    TBCSQ."""
    out: dict[tuple[int, str, str], set[Entry]] = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        lines = [ln for ln in block.splitlines() if ln.strip()]
        for line in lines if with_samples else lines[-1:]:
            pos, ref, alt, *values = line.split("\t")
            entries = [e for value in values for e in value.split(",")]
            out.setdefault((int(pos), ref, alt), set()).update(keep(entries))
    return {k: frozenset(v) for k, v in out.items() if v}


def usable_copy(vcf: Path, work: Path) -> tuple[Path, str]:
    """The test VCF as haicgx takes it. Two changes, stated: the `##contig` lines are dropped
    (they give 249,250,621 bp for contigs whose FASTA snippet is a few kb, which the build check
    rightly refuses; REF is then checked against the FASTA), and a sites-only file gets a GT-only
    sample column (haicgx needs a tumour sample; csq -s - ignores genotypes)."""
    lines = vcf.read_text(encoding="utf-8").splitlines()
    header = [ln for ln in lines if ln.startswith("##") and not ln.startswith("##contig")]
    columns = next(ln for ln in lines if ln.startswith("#CHROM")).split("\t")
    records = [ln for ln in lines if ln and not ln.startswith("#")]
    if len(columns) <= 9:
        columns = [*columns[:8], "FORMAT", "SAMPLE"]
        records = ["\t".join([*r.split("\t")[:8], "GT", "0/1"]) for r in records]
    copy = work / vcf.name
    copy.write_text("\n".join([*header, "\t".join(columns), *records]) + "\n", encoding="utf-8")
    return copy, columns[9]


def ours(prepared) -> tuple[Consequences, dict, set]:
    """BCSQ of haicgx's output, keyed by each record as the input wrote it (ORIGINAL_RECORD); the
    raw entries; and the input records that bcftools norm re-spelled (left-aligned, trimmed)."""
    found: dict[tuple[int, str, str], set[Entry]] = {}
    raw: dict[tuple[int, str, str], list[str]] = {}
    moved = set()
    with pysam.VariantFile(str(prepared.path)) as handle:
        for rec in handle:
            key = (rec.pos, rec.ref, rec.alts[0] if rec.alts else ".")
            if ORIGINAL_RECORD in rec.info:
                tag = rec.info[ORIGINAL_RECORD]
                origin = AlleleOrigin.parse(tag if isinstance(tag, str) else ",".join(tag))
                assert origin is not None
                key = (origin.pos, origin.ref, origin.alt)
                moved.add(key)
            entries = list(rec.info.get("BCSQ", ()))
            found.setdefault(key, set()).update(keep(entries))
            raw.setdefault(key, []).extend(entries)
    return {k: frozenset(v) for k, v in found.items() if v}, raw, moved


_CSQ_CHILD = (
    "import sys; from pysam import bcftools; bcftools.csq(*sys.argv[1:], catch_stdout=False)"
)


def csq_directly(folder: Path, vcf: Path, work: Path, *, local: bool) -> Consequences:
    """bcftools csq on the file as written, no normalisation (in a child process: csq keeps state
    between calls in one process)."""
    out_vcf = work / f"{vcf.stem}.direct.vcf"
    args = ["-f", str(folder / f"{folder.name}.fa"), "-g", str(folder / f"{folder.name}.gff")]
    args += ["-s", "-", *(["-l"] if local else []), "-Ov", "-o", str(out_vcf), str(vcf)]
    subprocess.run([sys.executable, "-c", _CSQ_CHILD, *args], capture_output=True, check=True)
    out: dict[tuple[int, str, str], frozenset[Entry]] = {}
    for line in out_vcf.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        info = dict(item.split("=", 1) for item in fields[7].split(";") if "=" in item)
        if entries := keep(info.get("BCSQ", "").split(",")):
            out[(int(fields[1]), fields[3], fields[4])] = entries
    return out


def check_parser(raw: dict[tuple[int, str, str], list[str]]) -> None:
    """Every entry csq wrote goes through haicgx's BCSQ parser without loss."""
    so_terms = set(SEVERITY) | {"feature_elongation"}
    for entries in raw.values():
        for entry in entries:
            if not entry or entry == "." or entry.startswith("@"):
                continue
            parts = entry.split("|")
            parsed = parse_bcsq([entry])
            if not parts[1]:
                assert parsed == [], entry  # no gene: nothing to report
                continue
            (ann,) = parsed
            assert (ann.gene, ann.transcript) == (parts[1], parts[2])
            assert set(ann.terms) <= so_terms, entry
            if len(parts) > 5 and parts[5]:
                assert ann.protein_change.startswith("p."), entry


def test_every_csq_case_is_checked():
    folder = shared_data("bcftools-csq/real")
    cases = {str(p.relative_to(folder)) for p in folder.glob("*/*.vcf")}
    without = {c for c in cases if expected_file(folder / c) is None}
    assert without == NO_EXPECTED_OUTPUT
    assert set(KNOWN_DIFFERENCES) <= cases - without
    assert len(cases) == 81


def run_case(case: str, tmp_path: Path):
    folder = shared_data("bcftools-csq/real") / case.split("/")[0]
    copy, sample = usable_copy(CSQ_REAL / case, tmp_path)
    return (
        copy,
        sample,
        lambda: prepare(
            copy,
            tmp_path,
            tumour_sample=sample,
            build="GRCh37",
            annotation="csq",
            fasta=folder / f"{folder.name}.fa",
            gff3=folder / f"{folder.name}.gff",
        ),
    )


@pytest.mark.parametrize("case", csq_cases(with_expected=True))
def test_bcftools_csq_real_case(case, tmp_path):
    folder = shared_data("bcftools-csq/real") / case.split("/")[0]
    vcf = CSQ_REAL / case
    expected_path = expected_file(vcf)
    assert expected_path is not None
    copy, sample, run = run_case(case, tmp_path)
    kind, detail = KNOWN_DIFFERENCES.get(case, ("match", ""))
    if kind == "refused":
        with pytest.raises(InputError, match=f"^patient REAL: {copy}: .*{detail}"):
            run()
        return
    got, raw, moved = ours(run())
    check_parser(raw)
    with_samples = sample != "SAMPLE"
    expected = expected_consequences(expected_path, with_samples)
    if kind == "match":
        assert got == expected
        return
    assert got != expected, f"{case} now matches: remove it from KNOWN_DIFFERENCES"
    if kind == "normalised":
        assert csq_directly(folder, vcf, tmp_path, local=True) == expected
        differing = {k for k in set(got) | set(expected) if got.get(k) != expected.get(k)}
        assert differing <= moved  # only records that norm re-spelled differ
    elif kind == "haplotype":
        assert expected_path.suffix == ".txt"
        assert csq_directly(folder, vcf, tmp_path, local=False) == expected
        assert csq_directly(folder, vcf, tmp_path, local=True) == got
    elif kind == "genotypes":
        pos = int(detail)
        assert {k: v for k, v in got.items() if k[0] != pos} == expected
        with pysam.VariantFile(str(vcf)) as handle:
            (rec,) = [r for r in handle if r.pos == pos]
            modelled = [s["GT"] for s in rec.samples.values() if 0 < len(s["GT"] or ()) <= 2]
        assert not any(1 in (gt or ()) for gt in modelled)


@pytest.mark.parametrize("case", csq_cases(with_expected=False))
def test_bcftools_csq_case_without_expected_output_agrees_with_csq_itself(case, tmp_path):
    """No truth was copied for these (SOURCES.md): check haicgx's csq invocation against
    `bcftools csq -l` run directly on the input, for every record that norm left as written."""
    folder = shared_data("bcftools-csq/real") / case.split("/")[0]
    _, _, run = run_case(case, tmp_path)
    got, raw, moved = ours(run())
    check_parser(raw)
    direct = csq_directly(folder, CSQ_REAL / case, tmp_path, local=True)
    assert got  # every one of these cases touches a coding transcript
    assert {k: v for k, v in got.items() if k not in moved} == {
        k: v for k, v in direct.items() if k not in moved
    }


# -- GA4GH BRCA1, GRCh37 -------------------------------------------------------------------------

BRCA1_TEXTBOOK = {  # rsID -> protein change on ENST00000357654 (dbSNP, ClinVar)
    "rs1799966": "p.S1613G",
    "rs16942": "p.K1183R",
    "rs16941": "p.E1038G",
    "rs799917": "p.P871L",
    "rs4986850": "p.D693N",
}
BRCA1_TX = "ENST00000357654.3"


@pytest.fixture(scope="module")
def brca1(tmp_path_factory) -> dict[str, Path]:
    """The BRCA1 set with two stated changes to copies: the FASTA is copied to index it (the
    shared folder is read-only), and the VCF's one <CN0> record (a structural variant) is dropped.
    The header's ref_brca1 length (171,823 bp, for an 81,188 bp FASTA) is fixed in a second copy."""
    folder = shared_data("ga4gh-brca1-grch37")
    work = tmp_path_factory.mktemp("brca1")
    fasta = Path(shutil.copy(folder / "ref_brca1.fa", work))
    pysam.faidx(str(fasta))
    lines = (folder / "brca1_1kgPhase3_variants.vcf").read_text(encoding="utf-8").splitlines()
    no_sv = [ln for ln in lines if "\t<CN0>\t" not in ln]
    (work / "no_sv.vcf").write_text("\n".join(no_sv) + "\n", encoding="utf-8")
    fixed = [ln.replace("length=171823", "length=81188") for ln in no_sv]
    (work / "fixed.vcf").write_text("\n".join(fixed) + "\n", encoding="utf-8")
    gff3 = folder / "brca1_gencodev19.ensembl-style.minus1.gff3"
    tagged = work / "canonical_tagged.gff3"  # Ensembl's GRCh37 releases mark 357654 canonical
    tagged.write_text(
        gff3.read_text(encoding="utf-8").replace(
            f"ID=transcript:{BRCA1_TX};", f"ID=transcript:{BRCA1_TX};tag=Ensembl_canonical;"
        ),
        encoding="utf-8",
    )
    return {
        "original": folder / "brca1_1kgPhase3_variants.vcf",
        "no_sv": work / "no_sv.vcf",
        "fixed": work / "fixed.vcf",
        "fasta": fasta,
        "gff3": gff3,
        "tagged": tagged,
    }


def brca1_prepare(brca1, vcf: Path, tmp_path: Path):
    return prepare(
        vcf,
        tmp_path,
        tumour_sample="HG00096",
        build="GRCh37",
        annotation="csq",
        fasta=brca1["fasta"],
        gff3=brca1["gff3"],
    )


def test_brca1_raw_file_is_refused_for_its_header_length(brca1, tmp_path):
    # Its <CN0> record (ref_brca1:25620) is valid VCF, left out with a warning (CONTRACT 7); the
    # header's contig length is another assembly's.
    with pytest.raises(InputError, match=r"contig ref_brca1 is 171,823 bp in the file but 81,188"):
        brca1_prepare(brca1, brca1["original"], tmp_path)
    with pytest.raises(InputError, match=r"contig ref_brca1 is 171,823 bp in the file but 81,188"):
        brca1_prepare(brca1, brca1["no_sv"], tmp_path)


def test_brca1_textbook_protein_changes(brca1, tmp_path):
    prepared = brca1_prepare(brca1, brca1["fixed"], tmp_path)
    assert prepared.ref_checked and prepared.facts.build_check.startswith("contig lengths match")
    ids = {}
    with pysam.VariantFile(str(brca1["fixed"])) as handle:
        ids = {(r.pos, r.ref, r.alts[0]): r.id for r in handle if r.id in BRCA1_TEXTBOOK}
    with pysam.VariantFile(str(prepared.path)) as handle:
        on_357654 = {
            ids[(r.pos, r.ref, r.alts[0])]: a.protein_change
            for r in handle
            if (r.pos, r.ref, r.alts[0]) in ids
            for a in parse_bcsq(list(r.info["BCSQ"]))
            if a.transcript == BRCA1_TX
        }
    assert on_357654 == BRCA1_TEXTBOOK

    # One transcript per gene: this GFF3 (GENCODE v19) has no MANE or canonical tags, so the
    # longest CDS speaks for BRCA1: ENST00000471181, same residues, numbered from its own start.
    index = TranscriptIndex.from_gff3(brca1["gff3"])
    brca1_cds = {t: tr.cds_length for t, tr in index.transcripts.items() if tr.gene == "BRCA1"}
    assert max(brca1_cds, key=brca1_cds.__getitem__) == "ENST00000471181.2"
    chosen = read_all(prepared, index, want={"BRCA1"})
    by_rs = {ids[k[1:]]: anns[0] for k, (anns, _) in chosen.items() if k[1:] in ids}
    assert {a.transcript for a in by_rs.values()} == {"ENST00000471181.2"}
    for rs, textbook in BRCA1_TEXTBOOK.items():
        change = by_rs[rs].protein_change  # p.S1613G on 357654 is p.S<n>G here, n >= 1613
        assert (change[2], change[-1]) == (textbook[2], textbook[-1])
        assert int(change[3:-1]) >= int(textbook[3:-1])

    # With ENST00000357654 tagged canonical, as Ensembl's GRCh37 GFF3 tags it:
    canonical = read_all(prepared, TranscriptIndex.from_gff3(brca1["tagged"]), want={"BRCA1"})
    textbook = {
        ids[(pos, ref, alt)]: (anns[0].transcript, anns[0].protein_change, anns[0].consequence)
        for (_, pos, ref, alt), (anns, _) in canonical.items()
        if (pos, ref, alt) in ids
    }
    assert textbook == {
        rs: (BRCA1_TX, change, "missense_variant") for rs, change in BRCA1_TEXTBOOK.items()
    }


# -- HCC1395, VEP 95 ------------------------------------------------------------------------------


def test_hcc1395_vep95_tp53_and_brca2(tmp_path):
    vcf = shared_data("pvactools-hcc1395") / "HCC1395.somatic.grch38.vep95.vcf.gz"
    prepared = prepare(vcf, tmp_path, annotation="vep")
    assert (prepared.annotation, prepared.annotation_key) == ("vep", "CSQ")
    assert prepared.facts.records_read == 2734
    assert any("chr16_KI270728v1_random" in w for w in prepared.warnings)
    found = read_all(prepared, want={"TP53", "BRCA2"})
    tp53_anns, tp53_reads = found[("chr17", 7675088, "C", "T")]
    (tp53,) = tp53_anns
    assert (tp53.gene, tp53.consequence, tp53.protein_change) == (
        "TP53",
        "missense_variant",
        "p.R175H",
    )
    assert (tp53.transcript, tp53.exon) == ("ENST00000269305.8", 5)
    assert (tp53_reads.depth, tp53_reads.alt_reads, tp53_reads.vaf) == (87, 86, 0.988)
    (brca2,), brca2_reads = found[("chr13", 32339132, "G", "T")]
    assert (brca2.gene, brca2.consequence, brca2.protein_change, brca2.variant_class) == (
        "BRCA2",
        "stop_gained",
        "p.E1593*",
        "truncating",
    )
    assert (brca2_reads.alt_reads, brca2_reads.vaf) == (23, 0.434)


def test_hcc1395_grch37_split_records_keep_only_their_own_vep_entries(tmp_path):
    """Multi-allelic records of the GRCh37 file: VEP annotated one ALT of each; after the split,
    only that allele's record carries the annotation. The file declares no contigs at all."""
    vcf = shared_data("pvactools-hcc1395") / "HCC1395.grch37.vep95.vcf"
    prepared = prepare(vcf, tmp_path, build="GRCh37", annotation="vep")
    assert "no contig lengths" in prepared.facts.build_check
    assert prepared.facts.records_read == 477
    found = read_all(prepared)
    intron = lambda anns: [(a.gene, a.consequence, a.transcript) for a in anns]  # noqa: E731
    assert intron(found[("22", 21273168, "A", "G")][0]) == [
        ("CRKL", "intron_variant", "ENST00000354336.3")
    ]
    assert found[("22", 21273168, "A", "T")][0] == []
    assert intron(found[("22", 26348203, "C", "G")][0]) == [
        ("MYO18B", "intron_variant", "ENST00000335473.7")
    ]
    assert found[("22", 26348203, "C", "A")][0] == []


# -- vembrane: VEP under ANN and CSQ, SnpEff ------------------------------------------------------


def test_vep_under_the_ann_key(tmp_path):
    vcf = shared_data("vembrane") / "vep100_grch38_ARID1A.annkey.vcf"
    prepared = prepare(vcf, tmp_path)
    assert (prepared.annotation, prepared.annotation_key) == ("vep", "ANN")
    found = read_all(prepared)
    synonymous = {a.gene: a for a in found[("1", 26696985, "C", "T")][0]}
    assert (synonymous["ARID1A"].consequence, synonymous["ARID1A"].protein_change) == (
        "synonymous_variant",
        "p.P194=",
    )
    assert synonymous["ARID1A"].transcript == "ENST00000324856"  # CANONICAL=YES, MANE
    assert synonymous["AL512408.1"].consequence == "upstream_gene_variant"
    (mnv,) = found[("1", 26760988, "ACCT", "CCCC")][0]
    assert (mnv.gene, mnv.consequence, mnv.protein_change, mnv.exon) == (
        "ARID1A",
        "missense_variant",
        "p.T685_S686delinsPP",
        5,
    )


def test_vep_under_the_csq_key_keeps_entries_of_its_allele_only(tmp_path):
    """This fixture's only transcript entry is for Allele '-' (a deletion), written on an A>T
    record: it is not that allele's, so the record gets no consequence."""
    vcf = shared_data("vembrane") / "vep_csqkey_intron.vcf"
    prepared = prepare(vcf, tmp_path)
    assert (prepared.annotation, prepared.annotation_key) == ("vep", "CSQ")
    with pysam.VariantFile(str(prepared.path)) as handle:
        reader = ConsequenceReader(handle.header, "vep", "CSQ", None)
        assert reader.fields[:4] == ["Allele", "Consequence", "IMPACT", "SYMBOL"]
        assert "MANE_SELECT" in reader.fields and "PICK" in reader.fields
        (rec,) = list(handle)
        assert rec.info["CSQ"][0].startswith("-|splice_acceptor_variant")
        assert reader.read(rec) == []


def test_snpeff_ann(tmp_path):
    vcf = shared_data("vembrane") / "snpeff43t_hg38_strelka.ann.vcf"
    prepared = prepare(vcf, tmp_path)
    assert (prepared.annotation, prepared.annotation_key) == ("snpeff", "ANN")
    found = read_all(prepared)
    genes = {pos: {a.gene: a for a in anns} for (_, pos, _, _), (anns, _) in found.items()}
    cdh2 = genes[27963423]["CDH2"]
    assert (cdh2.consequence, cdh2.protein_change, cdh2.transcript) == (
        "synonymous_variant",
        "p.A816=",
        "NM_001792.4",
    )
    stop = genes[28036487]["CDH2"]
    assert (stop.consequence, stop.protein_change) == ("stop_gained", "p.L21*")
    assert genes[36126651]["SLC39A6"].protein_change == "p.E119D"
    assert genes[46546946]["LOXHD1"].protein_change == "p.R1155G"
    reads = found[("chr18", 27963423, "G", "A")][1]
    assert (reads.depth, reads.alt_reads) == (61, 33)  # Strelka germline: AD Number=., DP


# -- PCGR: INFO TVAF/TDP and liftover headers ----------------------------------------------------


def test_pcgr_tvaf_tdp_and_liftover_build(tmp_path):
    vcf = shared_data("pcgr-examples") / "T001-BRCA.grch38.vcf.gz"
    prepared = prepare(vcf, tmp_path, annotation="none")
    assert "the header declares GRCh38" in prepared.facts.build_check  # hg19Tohg38 liftover
    assert prepared.facts.records_read == 196
    found = read_all(prepared)
    reads = {key[:2]: support for key, (_, support) in found.items()}
    assert (reads[("1", 1968826)].vaf, reads[("1", 1968826)].depth) == (0.2222, 144)
    assert reads[("1", 1968826)].alt_reads == 32  # 0.2222 x 144: ADT in FORMAT says 112,32
    dpyd = reads[("1", 97450058)]  # DPYD rs3918290 (*2A), TVAF 0.0968, TDP 62
    assert (dpyd.vaf, dpyd.depth, dpyd.alt_reads) == (0.0968, 62, 6)
    assert (reads[("3", 179234297)].vaf, reads[("3", 179234297)].depth) == (0.4189, 74)


def test_pcgr_grch37_file_is_named_by_its_liftover(tmp_path):
    vcf = shared_data("pcgr-examples") / "T001-BRCA.grch37.vcf.gz"
    prepared = prepare(vcf, tmp_path, build="GRCh37", annotation="none")
    assert "the header declares GRCh37" in prepared.facts.build_check  # hg38ToHg19 liftover
    with pytest.raises(InputError, match="the header declares GRCh37 but the configuration is"):
        prepare(vcf, tmp_path, build="GRCh38", annotation="none")


# -- one transcript per gene: the same policy for VEP, SnpEff and bcftools csq ------------------


def chosen_per_allele(vcf: Path) -> dict:
    """(chrom, pos, REF, ALT) -> the annotations chosen for that allele, read from the file as it
    is, each ALT with its place in the record (what the reader gets from a split record's tag)."""
    out = {}
    with pysam.VariantFile(str(vcf)) as handle:
        source, key = detect_annotation(handle.header)
        fields = vep_fields(handle.header.info[key].description) if source == "vep" else []
        for rec in handle:
            entries = list(rec.info[key])
            for i, alt in enumerate(rec.alts, start=1):
                origin = AlleleOrigin(rec.pos, rec.ref, tuple(rec.alts), i)
                out[(rec.chrom, rec.pos, rec.ref, alt)] = (
                    parse_vep(entries, fields, rec.ref, alt, origin)
                    if source == "vep"
                    else parse_snpeff(entries, alt, origin)
                )
    return out


def test_snpeff_transcript_per_record():
    """vembrane's SnpEff 4.3t file: ANN gives no MANE or canonical flag, so the longest CDS
    decides where SnpEff gives it (variants in the CDS), else the most severe consequence, else the
    smaller id. Every record's choice, per gene:"""
    found = chosen_per_allele(shared_data("vembrane") / "snpeff43t_hg38_strelka.ann.vcf")
    table = {
        pos: {a.gene: (a.transcript, a.consequence, a.protein_change) for a in anns}
        for (_, pos, _, _), anns in found.items()
    }
    assert table == {
        # 2721 bp CDS over 2628: the longer wins
        27963423: {"CDH2": ("NM_001792.4", "synonymous_variant", "p.A816=")},
        # both intronic (no CDS length said): the smaller id
        27963698: {"CDH2": ("NM_001308176.1", "intron_variant", "")},
        # only NM_001308176.1 has the variant in its CDS, so only it says a CDS length
        28036487: {"CDH2": ("NM_001308176.1", "stop_gained", "p.L21*")},
        28045161: {"CDH2": ("NM_001792.4", "intron_variant", "")},
        36126053: {
            "ELP2": ("NM_001242875.2", "upstream_gene_variant", ""),  # 14 alike: smallest id
            "SLC39A6": ("NM_001099406.1", "intron_variant", ""),
        },
        36126651: {
            "SLC39A6": ("NM_012319.3", "missense_variant", "p.E119D"),
            "ELP2": ("NM_001242875.2", "upstream_gene_variant", ""),
        },
        # 6636 bp CDS over 3345 (p.R44G) and a 5' UTR entry
        46546946: {"LOXHD1": ("NM_144612.6", "missense_variant", "p.R1155G")},
        47034729: {
            "TCEB3B": ("NM_016427.2", "missense_variant", "p.R179P"),
            "TCEB3CL": ("NM_001100817.1.3", "upstream_gene_variant", ""),
            "TCEB3C": ("NM_145653.3.2", "upstream_gene_variant", ""),
            "KATNAL2": ("NM_031303.2", "intron_variant", ""),
        },
    }


def test_snpeff_entry_on_a_faulty_transcript_is_skipped_on_a_real_record(tmp_path):
    """The same file with one change to a copy: CDH2 27963423's entry on NM_001792.4 flagged
    WARNING_TRANSCRIPT_NO_START_CODON, as SnpEff flags a transcript it cannot read in frame. That
    entry is left out: NM_001308176.1 (p.A785=) speaks for CDH2."""
    original = shared_data("vembrane") / "snpeff43t_hg38_strelka.ann.vcf"
    text = original.read_text(encoding="utf-8")
    entry = "|p.Ala816Ala|2872/4335|2448/2721|816/906||"
    assert text.count(entry) == 1
    flagged = tmp_path / "flagged.vcf"
    flagged.write_text(
        text.replace(entry, entry + "WARNING_TRANSCRIPT_NO_START_CODON"), encoding="utf-8"
    )
    key = ("chr18", 27963423, "G", "A")
    (before,) = chosen_per_allele(original)[key]
    (after,) = chosen_per_allele(flagged)[key]
    assert (before.transcript, before.protein_change) == ("NM_001792.4", "p.A816=")
    assert (after.transcript, after.protein_change) == ("NM_001308176.1", "p.A785=")


def test_ga4gh_snpeff_alleles_are_all_named():
    """SnpEff 4.2 on chr1 (OR4F5, WASH7P regions): every allele gets a consequence; intergenic
    regions are `intergenic_variant` without a gene (SnpEff names them 'FAM138A-OR4F5', which is
    no gene), and an allele also upstream or downstream of a gene keeps that gene instead."""
    folder = shared_data("ga4gh-brca1-grch37")
    or4f = chosen_per_allele(folder / "brca1_OR4F_annotation.vcf")
    wash = chosen_per_allele(folder / "brca1_WASH7P_annotation.vcf")
    assert (len(or4f), len(wash)) == (841, 117)
    for found in (or4f, wash):
        assert all(anns and all(a.consequence for a in anns) for anns in found.values())
        genes = [(a.gene, a.consequence) for anns in found.values() for a in anns]
        assert all((g == "") == (c == "intergenic_variant") for g, c in genes)
    intergenic = [k for k, anns in or4f.items() if anns[0].consequence == "intergenic_variant"]
    assert len(intergenic) == 697  # the alleles whose every entry is intergenic_region
    on_or4f5 = {k[1]: anns for k, anns in or4f.items() if any(a.gene == "OR4F5" for a in anns)}
    coding = {
        pos: (a.transcript, a.consequence, a.protein_change)
        for pos, anns in on_or4f5.items()
        for a in anns
        if a.gene == "OR4F5" and a.protein_change
    }
    assert coding[69224] == ("NM_001005484.1", "missense_variant", "p.D45V")
    assert coding[69486] == ("NM_001005484.1", "synonymous_variant", "p.N132=")
    assert coding[69869] == ("NM_001005484.1", "stop_gained", "p.L260*")
    assert len(coding) == 24  # 16 missense, 7 synonymous, 1 stop gained
    (beside,) = [wash[k] for k in wash if k[1] == 30524]
    assert {a.gene: a.consequence for a in beside} == {
        "FAM138A": "downstream_gene_variant",
        "FAM138F": "downstream_gene_variant",
        "WASH7P": "upstream_gene_variant",
    }


def test_hcc1395_vep95_every_annotated_allele_is_named():
    """VEP 95 (no CANONICAL, MANE or --total_length in this file: severity, then the smaller id):
    intergenic alleles were left without a consequence; now they read `intergenic_variant`. The
    only alleles without one are the GRCh37 file's ALTs that VEP gave no entry."""
    folder = shared_data("pvactools-hcc1395")
    grch38 = chosen_per_allele(folder / "HCC1395.somatic.grch38.vep95.vcf.gz")
    assert len(grch38) == 2734 and all(grch38.values())
    named = {k[:2]: anns[0] for k, anns in grch38.items() if not anns[0].gene}
    assert sorted(named) == [
        ("chr16", 51064516),
        ("chr16_KI270728v1_random", 1010552),
        ("chr17_GL000205v2_random", 55776),
        ("chr2", 94202171),
        ("chr9", 66971367),
    ]
    assert {(a.consequence, a.transcript) for a in named.values()} == {("intergenic_variant", "")}
    (tp53,) = grch38[("chr17", 7675088, "C", "T")]
    assert (tp53.transcript, tp53.protein_change) == ("ENST00000269305.8", "p.R175H")
    grch37 = chosen_per_allele(folder / "HCC1395.grch37.vep95.vcf")
    empty = [k for k, anns in grch37.items() if not anns]
    assert len(empty) == 9
    with pysam.VariantFile(str(folder / "HCC1395.grch37.vep95.vcf")) as handle:
        alts = {(r.chrom, r.pos): len(r.alts) for r in handle}
    assert all(alts[k[:2]] > 1 for k in empty)  # VEP annotated another ALT of the record
