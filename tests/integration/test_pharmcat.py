"""PharmCAT's DPYD and UGT1A1 test data (and TA-repeat spellings, split multi-allelic genotypes
and reference records) through haicgx's own code path.

Every VCF goes through the production entry (`haicgx.analysis.analyse_vcf`: the checks, bcftools
view and norm, csq when asked, and the evaluation, which feeds the PgxCollector record by record),
in three set-ups: the demo reference (its REF alleles match every PharmCAT DPYD/UGT1A1
position) with annotation `none` and with `csq` (REF check and left-alignment by bcftools), and no
reference at all (annotation `none`: no left-alignment, so the collector's own trimming and repeat
matching must recognise PharmCAT's padded `CAT>CATAT`).

Expected calls come from ../shared/testdata/pharmcat/SOURCES.md (PharmCAT's asserted UGT1A1 calls,
the DPYD file-name conventions) and test-vcf/DPYD/hapb3.tsv (PharmCAT's HapB3 truth table, read
the way PharmCAT's DpydTest.hapB3 reads it).

Names: haicgx writes UGT1A1 diplotypes in CPIC star names, PharmCAT's combined allele `*80+*28`
included; DPYD is reported as an activity score and phenotype, so PharmCAT's DPYD diplotypes are
compared through the activity values of the bundled knowledge table.

Where haicgx and PharmCAT differ, by design:
- PharmCAT lists several candidate diplotypes for some unphased UGT1A1 files; haicgx reports one
  (*80 placed with *28/*37, PharmCAT's top candidate) and notes the alternative. The tests check
  that haicgx's diplotype is one of PharmCAT's candidates, and its phenotype.
- HG00436 (*80, *28 and *27 phased on one copy): PharmCAT makes no call; haicgx reports no
  diplotype either, with phenotype Indeterminate and a note that the other copy is *1.
- Files PharmCAT does not assert (used only in its SyntheticBatchTest) are checked against the CPIC
  reading of their genotypes; they are listed separately below.

Header: 19 of the 21 UGT1A1 files use INFO keys they do not declare (`assume-default`, `star-80`,
`PX`, ...) and most declare no `##contig`; the DPYD files declare `##contig=<ID=chr1,assembly=hg38>`
without a length. The annotate stage accepts both, with a warning, and the files are used as they
are.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import REPO, TESTDATA, analyse, demo_config, vcf_text
from support import testdata as shared_data

from haicgx.knowledge import KnowledgeBase
from haicgx.settings import Patient, Settings, load_settings

# The tests' own VCFs against the synthetic demo genome, which the pipeline refuses for any
# file that is not a demo file (tests/unit/test_demo_reference_guard.py).
pytestmark = pytest.mark.usefixtures("synthetic_reference_for_test_files")

SETUPS = {  # name: (annotation, with the demo reference)
    "reference-none": ("none", True),
    "reference-csq": ("csq", True),
    "no-reference": ("none", False),
}
NM, IM, PM = "Normal Metabolizer", "Intermediate Metabolizer", "Poor Metabolizer"
INDETERMINATE = "Indeterminate"

# DPYD: the file name encodes the call (SOURCES.md): (activity score, phenotype, kb_ids seen).
DPYD_FILES = {
    "novariant": (2.0, NM, set()),
    "c2846het": (1.5, IM, {"DPYD-RS67376798"}),  # Reference/c.2846A>T
    "c1156het": (1.0, IM, {"DPYD-RS78060119"}),  # Reference/c.1156G>T (*12), no function
    "s1s2b": (1.0, IM, {"DPYD-RS3918290", "DPYD-RS1801159"}),  # *2A het + *5 (normal) het
}
# UGT1A1 calls PharmCAT asserts (NamedAlleleMatcherUgt1a1Test): PharmCAT's candidates, and the
# phenotype of haicgx's call (CPIC functions: *80 uncertain, *80+*28 and *80+*37 decreased).
UGT1A1_ASSERTED = {
    "s1s1": ({"*1/*1"}, NM),
    "s28s37": ({"*28/*37"}, PM),
    "s1s60s80unphased": ({"*1/*80"}, INDETERMINATE),
    "s1s60s80phased": ({"*1/*80"}, INDETERMINATE),
    "s1s28s60s80unphased": ({"*1/*80+*28", "*28/*80"}, IM),
    "s28s80unphased": ({"*1/*80+*28", "*28/*80"}, IM),
    "s28s80phased": ({"*1/*80+*28"}, IM),
    "s28s80s6s60unphased": ({"*6/*80+*28"}, PM),
    "s6s60s80s28missingunphased": ({"*6/*80", "*6/*80+*28", "*6/*80+*37"}, INDETERMINATE),
    "s1s37s80s60phased": ({"*1/*80+*37"}, IM),
    "HG00436": ({None}, INDETERMINATE),  # PharmCAT: no call
}
# Files PharmCAT does not assert: the CPIC reading of their genotypes (names use old *60).
UGT1A1_UNASSERTED = {
    "s28het": ("*1/*28", IM),
    "s28hets60homounphaseds80missing": ("*1/*28", IM),
    "s28s28unphaseds60s80miss": ("*28/*28", PM),
    "s28s37unphaseds80s60missing": ("*28/*37", PM),
    "s27s28unphaseds80s60missing": ("*27/*28", PM),
    "s28s60hom": ("*1/*28", IM),
    "s80s28missing": ("*1/*80", INDETERMINATE),
    "s6s60s80s28missingphased": ("*6/*80", INDETERMINATE),  # *6 and *80 on different copies
    "s1s60s80s6phased": (None, INDETERMINATE),  # *6 and *80 on one copy: no named allele
    "s1s60s80s28s6phased": (None, INDETERMINATE),  # *6, *28, *80 on one copy
    "s1s80s27s60s28missingphased": (None, INDETERMINATE),  # *27 and *80 on one copy
    "NA12717_UGT1A1": ("*80/*80+*28", INDETERMINATE),  # *80 homozygous, *28 heterozygous
    "NA18868_UGT1A1": ("*80/*80+*28", INDETERMINATE),
    "NA19785_UGT1A1": ("*80/*80+*28", INDETERMINATE),
}
# Files without a call at the *28 TA repeat: haicgx must say so.
REPEAT_MISSING = {
    "s6s60s80s28missingunphased",
    "s6s60s80s28missingphased",
    "s80s28missing",
    "s1s80s27s60s28missingphased",
}


def expected_ugt1a1(name: str, phenotype: str) -> tuple[str, str]:
    """Status and phenotype haicgx gives for a call of this phenotype: a file without a TA-repeat
    call cannot exclude *28 (indeterminate; a poor metabolizer stays one at least), and *80 alone
    or an unnamed combination has no CPIC phenotype (indeterminate)."""
    if phenotype == INDETERMINATE:
        return "indeterminate", INDETERMINATE
    if name in REPEAT_MISSING:
        return (
            "indeterminate",
            f"{INDETERMINATE} (at least {PM})" if phenotype == PM else INDETERMINATE,
        )
    return "assessed", phenotype


@pytest.fixture(scope="module")
def demo_settings() -> Settings:
    config = demo_config()
    return load_settings(config, workdir=REPO)


def run_pgx(vcf: Path, tmp_path: Path, setup: str, settings: Settings, kb: KnowledgeBase) -> dict:
    """The analysis (`haicgx.analysis.analyse_vcf`); the recommendation it writes."""
    annotation, with_reference = SETUPS[setup]
    fasta = settings.fasta if with_reference else None
    patient = Patient("PGX", vcf, "colorectal", None, (), None, 2)
    folder = tmp_path / f"{vcf.stem}.{setup}"
    analyse(patient, settings, kb, folder, annotation=annotation, fasta=fasta, build="GRCh38")
    return json.loads((folder / "recommendation.json").read_text(encoding="utf-8"))


def pharmcat_file(gene: str, name: str) -> Path:
    return shared_data("pharmcat/test-vcf") / gene / f"{name}.vcf"


@pytest.mark.parametrize("setup", sorted(SETUPS))
@pytest.mark.parametrize("name", sorted(DPYD_FILES))
def test_dpyd_files(name, setup, tmp_path, demo_settings, bundled_kb):
    source = pharmcat_file("DPYD", name)
    # These declare `##contig=<ID=chr1,assembly=hg38,...>` only: accepted as they are, with a
    # warning that the build could not be checked from contig lengths.
    rec = run_pgx(source, tmp_path, setup, demo_settings, bundled_kb)
    score, phenotype, kb_ids = DPYD_FILES[name]
    dpyd = rec["pgx"]["DPYD"]
    assert (dpyd["status"], dpyd["activity_score"], dpyd["phenotype"]) == (
        "assessed",
        score,
        phenotype,
    )
    assert {a["kb_id"] for a in dpyd["alleles"]} == kb_ids
    assert rec["pgx"]["UGT1A1"]["status"] == "not_assessed"  # chr1 only
    assert any("no contig lengths" in w for w in rec["qc"]["warnings"])


@pytest.mark.parametrize("setup", sorted(SETUPS))
@pytest.mark.parametrize("name", sorted(UGT1A1_ASSERTED))
def test_ugt1a1_calls_asserted_by_pharmcat(name, setup, tmp_path, demo_settings, bundled_kb):
    rec = run_pgx(pharmcat_file("UGT1A1", name), tmp_path, setup, demo_settings, bundled_kb)
    candidates, phenotype = UGT1A1_ASSERTED[name]
    ugt = rec["pgx"]["UGT1A1"]
    assert (ugt["status"], ugt["phenotype"]) == expected_ugt1a1(name, phenotype)
    assert ugt["diplotype"] in candidates
    if "unphased" in name and "+" in (ugt["diplotype"] or ""):
        assert any("also possible" in n for n in ugt["notes"])  # the alternative is named
    assert ("no call at the *28 promoter TA repeat" in " ".join(ugt["notes"])) == (
        name in REPEAT_MISSING
    )
    assert rec["pgx"]["DPYD"]["status"] == "not_assessed"  # chr2 only


@pytest.mark.parametrize("setup", sorted(SETUPS))
@pytest.mark.parametrize("name", sorted(UGT1A1_UNASSERTED))
def test_ugt1a1_files_pharmcat_does_not_assert(name, setup, tmp_path, demo_settings, bundled_kb):
    rec = run_pgx(pharmcat_file("UGT1A1", name), tmp_path, setup, demo_settings, bundled_kb)
    ugt = rec["pgx"]["UGT1A1"]
    diplotype, phenotype = UGT1A1_UNASSERTED[name]
    assert ugt["diplotype"] == diplotype
    assert (ugt["status"], ugt["phenotype"]) == expected_ugt1a1(name, phenotype)
    assert ("no call at the *28 promoter TA repeat" in " ".join(ugt["notes"])) == (
        name in REPEAT_MISSING
    )


# chr2:233760233 C, then A(TA)7 to 233760248: spellings of *28, *37 and *36 as callers write them.
REPEAT_SPELLINGS = [
    (233760233, "C", "CAT", "UGT1A1-STAR28"),
    (233760233, "CAT", "CATAT", "UGT1A1-STAR28"),
    (233760234, "A", "ATA", "UGT1A1-STAR28"),
    (233760248, "A", "ATA", "UGT1A1-STAR28"),
    (233760233, "CAT", "CATATAT", "UGT1A1-STAR37"),
    (233760248, "A", "ATATA", "UGT1A1-STAR37"),
    (233760233, "CAT", "C", "UGT1A1-STAR36"),
    (233760246, "ATA", "A", "UGT1A1-STAR36"),
]


@pytest.mark.parametrize("setup", sorted(SETUPS))
@pytest.mark.parametrize(("pos", "ref", "alt", "kb_id"), REPEAT_SPELLINGS)
def test_ta_repeat_spellings_through_the_annotate_stage(
    pos, ref, alt, kb_id, setup, tmp_path, demo_settings, bundled_kb
):
    fields = ["chr2", pos, "rs3064744", ref, alt, ".", "PASS", ".", "GT:AD:DP", "0/1:30,30:60"]
    vcf = tmp_path / "repeat.vcf"
    vcf.write_text(vcf_text(["\t".join(map(str, fields))], contigs=("chr2",)), encoding="utf-8")
    ugt = run_pgx(vcf, tmp_path, setup, demo_settings, bundled_kb)["pgx"]["UGT1A1"]
    assert [a["kb_id"] for a in ugt["alleles"]] == [kb_id]
    shifted = ugt["alleles"][0]["matched_as"] == "repeat_shift"
    # With the reference bcftools left-aligns every spelling; without it, a spelling right of
    # the anchor can only be recognised as a shifted repeat, and the output says so.
    assert shifted == (not SETUPS[setup][1] and pos != 233760233)
    assert shifted == any("right-shifted repeat spelling" in n for n in ugt["notes"])


def record_vcf(path: Path, records: list[list[object]], contig: str) -> Path:
    lines = ["\t".join(map(str, r)) for r in records]
    path.write_text(vcf_text(lines, contigs=(contig,)), encoding="utf-8")
    return path


@pytest.mark.parametrize("setup", sorted(SETUPS))
@pytest.mark.parametrize(("gt", "score"), [("1/2", 1.0), ("1|2", 1.0), ("2/2", 2.0), ("1/1", 0.0)])
def test_split_multiallelic_dpyd_genotype(gt, score, setup, tmp_path, demo_settings, bundled_kb):
    # c.2983G>T (*10, no function) is chr1:97079071 C>A; C>T there is no allele of the table.
    # bcftools norm -m splits `1/2` into C>A `1/0` and C>T `0/1`: one *10 copy.
    vcf = record_vcf(
        tmp_path / "split.vcf",
        [["chr1", 97079071, "rs1801268", "C", "A,T", ".", "PASS", ".", "GT", gt]],
        "chr1",
    )
    dpyd = run_pgx(vcf, tmp_path, setup, demo_settings, bundled_kb)["pgx"]["DPYD"]
    # one record: every other allele position is missing, so the call is a bound at best
    assert dpyd["status"] == "indeterminate"
    assert dpyd["activity_score"] == (score if score < 2 else None)
    assert [a["kb_id"] for a in dpyd["alleles"]] == (["DPYD-RS1801268"] if score < 2 else [])


@pytest.mark.parametrize("setup", sorted(SETUPS))
def test_reference_record_without_alt_at_the_hapb3_snp(setup, tmp_path, demo_settings, bundled_kb):
    # gVCF style: the causal HapB3 SNP written `G . 0/0`, the exonic proxy heterozygous.
    # PharmCAT: Reference/Reference with a warning (hapb3.tsv, row 5); so haicgx: score 2.
    vcf = record_vcf(
        tmp_path / "gvcf.vcf",
        [
            ["chr1", 97573863, "rs56038477", "C", "T", ".", "PASS", ".", "GT", "0/1"],
            ["chr1", 97579893, "rs75017182", "G", ".", ".", "PASS", ".", "GT", "0/0"],
        ],
        "chr1",
    )
    dpyd = run_pgx(vcf, tmp_path, setup, demo_settings, bundled_kb)["pgx"]["DPYD"]
    assert (dpyd["status"], dpyd["activity_score"]) == ("indeterminate", None)  # 2 of 35 called
    assert dpyd["positions_called"] == 2
    assert any("called reference" in n for n in dpyd["notes"])


def test_every_pharmcat_test_vcf_is_checked():
    folder = shared_data("pharmcat/test-vcf")
    names = {p.stem for p in folder.glob("*/*.vcf")}
    assert names == set(DPYD_FILES) | set(UGT1A1_ASSERTED) | set(UGT1A1_UNASSERTED)


def test_undeclared_header_tags_are_accepted_with_a_warning(tmp_path, demo_settings, bundled_kb):
    rec = run_pgx(
        pharmcat_file("UGT1A1", "HG00436"), tmp_path, "reference-none", demo_settings, bundled_kb
    )
    undeclared = [w for w in rec["qc"]["warnings"] if "star-80" in w and "assume-default" in w]
    assert len(undeclared) == 1  # the output names the keys the header did not declare


# -- the HapB3 truth table --------------------------------------------------------------------

HAPB3_TSV = TESTDATA / "pharmcat" / "test-vcf" / "DPYD" / "hapb3.tsv"
HAPB3_HEADER_ROWS = 3  # column titles, allele names, rsIDs
# The "non-PGx" column: rs186169810 written with an allele no definition has (PharmCAT DpydTest).
NON_PGX_RSID, NON_PGX_ALT = "rs186169810", "G"
HAPB3_NAMES = {"HapB3": "rs75017182", "HapB3Intron": "rs75017182"}


def hapb3_rows() -> list[list[str]]:
    if not HAPB3_TSV.exists():
        return []
    return [ln.split("\t") for ln in HAPB3_TSV.read_text(encoding="utf-8").splitlines()]


def hapb3_params() -> list:
    rows = hapb3_rows()[HAPB3_HEADER_ROWS:]
    if not rows:  # keep one case, which skips with the reason
        return [pytest.param(HAPB3_HEADER_ROWS + 1, True, id="row_004-phased")]
    return [
        pytest.param(i, phased, id=f"row_{i:03d}-{'phased' if phased else 'unphased'}")
        for i in range(HAPB3_HEADER_ROWS + 1, HAPB3_HEADER_ROWS + len(rows) + 1)
        for phased in (True, False)
    ]


def recommended(cells: list[str], phased: bool) -> list[str]:
    """The alleles PharmCAT looks up (DpydTest.hapB3): its 'recommendation' diplotype."""
    call = cells[7] if phased or not cells[9] else cells[9]
    text = cells[8] if phased else (cells[10] or cells[8])
    items = [a.strip() for a in (text or call).split(",")]
    return items[0].split("/") if len(items) == 1 else items


def expected_score(cells: list[str], phased: bool, values: dict[str, float]) -> float:
    """Activity score of PharmCAT's recommendation: each copy at its lowest, two lowest copies."""
    copies = sorted(
        min(values[part.strip()] for part in allele.strip("[]").split("+"))
        for allele in recommended(cells, phased)
    )
    return sum(([*copies, 1.0, 1.0])[:2])


def allele_values(names: list[str], rsids: list[str], kb: KnowledgeBase) -> dict[str, float]:
    """PharmCAT's allele names -> activity values of the bundled table, through the rsIDs."""
    values = {"ref": 1.0, "Reference": 1.0}
    for name, rsid in [*zip(names, rsids, strict=True), *HAPB3_NAMES.items()]:
        row = kb.by_id.get(f"DPYD-{rsid.upper()}")
        if row is not None:
            values[name] = row.activity_value  # type: ignore[assignment]
    return values


def hapb3_vcf(path: Path, cells: list[str], rsids: list[str], phased: bool) -> Path:
    definitions = json.loads(
        (shared_data("pharmcat/definitions") / "DPYD_translation.json").read_text(encoding="utf-8")
    )
    loci = {v["rsid"]: v for v in definitions["variants"]}
    records = []
    for locus in definitions["variants"]:  # the rest of PharmCAT's positions, called reference
        if locus["rsid"] not in rsids:
            fields = ["chr1", locus["position"], locus["rsid"], locus["ref"], ".", ".", "PASS", "."]
            records.append((locus["position"], "\t".join(map(str, [*fields, "GT", "0/0"]))))
    for rsid, gt in zip(rsids, cells[: len(rsids)], strict=True):
        if gt == "missing":
            continue
        locus = loci[rsid]
        alt = NON_PGX_ALT if rsid == NON_PGX_RSID else locus["alts"][0]
        gt = gt.replace("/", "|") if phased else gt.replace("|", "/")
        fields = ["chr1", locus["position"], rsid, locus["ref"], alt, ".", "PASS", ".", "GT", gt]
        records.append((locus["position"], "\t".join(map(str, fields))))
    records.sort()
    path.write_text(vcf_text([r for _, r in records], contigs=("chr1",)), encoding="utf-8")
    return path


PHENOTYPE_OF_SCORE = {2.0: NM, 1.5: IM, 1.0: IM, 0.5: PM, 0.0: PM}  # CPIC DPYD


@pytest.mark.parametrize(("row", "phased"), hapb3_params())
def test_hapb3_truth_table(row, phased, tmp_path, demo_settings, bundled_kb):
    shared_data("pharmcat/test-vcf")
    table = hapb3_rows()
    names, rsids = table[1][:7], table[2][:7]
    assert rsids == [
        "rs56038477", "rs75017182", "rs72549310", "rs67376798", "rs1801265", "rs186169810",
        "rs115232898",
    ]  # fmt: skip
    cells = table[row - 1]
    score = expected_score(cells, phased, allele_values(names, rsids, bundled_kb))
    vcf = hapb3_vcf(tmp_path / f"row_{row:03d}.vcf", cells, rsids, phased)
    rec = run_pgx(vcf, tmp_path, "reference-none", demo_settings, bundled_kb)
    dpyd = rec["pgx"]["DPYD"]
    if dpyd["status"] == "assessed":
        assert (dpyd["activity_score"], dpyd["phenotype"]) == (score, PHENOTYPE_OF_SCORE[score])
    else:  # a function-lowering position is `missing` in the table: PharmCAT's call is a bound
        assert "missing" in cells[: len(rsids)]
        assert dpyd["status"] == "indeterminate"
        assert dpyd["activity_score"] == (score if score < 2 else None)
    # PharmCAT warns when HapB3 rests on the exonic proxy alone; so does haicgx.
    warning = cells[12] if phased else cells[13]
    proxy_note = any("inferred from its exonic proxy" in n for n in dpyd["notes"])
    assert proxy_note == (warning == "pcat-dpyd-hapB3-exonic-only")
