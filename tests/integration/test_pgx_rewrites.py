"""Every PharmCAT DPYD and UGT1A1 test VCF, rewritten the way tumour callers write germline calls,
through the production entry (`haicgx.analysis.analyse_vcf`): the call must be the original's or
a safer one, never a less safe one.

Rewrites (of the genotype columns; the alleles are PharmCAT's):
- placeholder: every carried allele written `0/1` (Mutect2's placeholder), with AD/AF at the true
  zygosity (a homozygote at allele fraction 0.97); reference records kept as `0/0`, AF 0.
- variant_only: Mutect2 tumour-only and PASS-only: reference records dropped, every call `0/1`
  at its true allele fraction, and a somatic passenger inside DPYD (or UGT1A1).
- tumour_normal: the original genotypes in a NORMAL column (##normal_sample=), and a TUMOR column
  that lost every heterozygous allele (loss of heterozygosity: `0/0`, one read).
- gvcf: each reference record written `REF <*>` and each variant record `REF ALT,<*>` (bcftools
  mpileup / GATK gVCF style).
- grch37: the original on GRCh37 coordinates (the gene's fixed GRCh37-GRCh38 offset, checked
  against every GRCh37 row of the knowledge table), run with `reference.build: GRCh37`.

"As safe": an activity score (DPYD) or a poor-metabolizer phenotype (UGT1A1) that the rewritten
call states is never more active than the original's; a rewritten call without one is not
`assessed` (its regimens carry a test-first caution instead).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from support import REPO, demo_config
from support import testdata as shared_data

from haicgx.analysis import analyse_vcf
from haicgx.knowledge import KnowledgeBase
from haicgx.settings import Patient, Settings, load_settings

pytestmark = pytest.mark.slow

REWRITES = ("placeholder", "variant_only", "tumour_normal", "gvcf", "grch37")
FORMAT = "GT:AD:DP:AF"
PASSENGER = {"DPYD": ("chr1", 97500000, "G", "A"), "UGT1A1": ("chr2", 233765000, "C", "T")}
PHENOTYPE_ORDER = ["Poor Metabolizer", "Intermediate Metabolizer", "Normal Metabolizer"]


def pharmcat_files() -> list:
    folder = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "pharmcat" / "test-vcf"
    files = sorted(folder.glob("*/*.vcf"))
    if not files:  # one case, which skips with the reason
        return [pytest.param(None, id="pharmcat-absent")]
    return [pytest.param(p, id=f"{p.parent.name}-{p.stem}") for p in files]


@pytest.fixture(scope="module")
def site_settings() -> Settings:
    config = demo_config()
    settings = load_settings(config, workdir=REPO)
    return replace(settings, annotation="none", fasta=None, gff3=None)


def grch37_offsets(kb: KnowledgeBase) -> dict[str, int]:
    """GRCh37 minus GRCh38 position per gene, the same for every row of the gene."""
    offsets: dict[str, set[int]] = {}
    for row in kb.rows:
        twin = kb.by_id.get(f"{row.kb_id}-GRCH37")
        if row.effect == "allele_function" and twin is not None:
            offsets.setdefault(row.gene, set()).add(twin.alteration.pos - row.alteration.pos)
    assert all(len(v) == 1 for v in offsets.values()), offsets
    return {gene: v.pop() for gene, v in offsets.items()}


def sample(gt: str, reads_of: list[int], unseen: bool = False) -> str:
    """A sample column with genotype `gt` and the read counts of the true genotype (`reads_of`:
    allele index of each true copy); `unseen`: the record also carries a <*> allele (no reads)."""
    depth, n_alleles = 60, max([*reads_of, 0]) + 1
    ad = [0] * n_alleles
    for index in reads_of:
        ad[index] += 30
    if len(set(reads_of)) == 1 and reads_of and reads_of[0] > 0:
        ad[0], ad[reads_of[0]] = 2, 58  # homozygous: a stray reference read
    ad += [0] * unseen
    af = ",".join(f"{a / depth:.3f}" for a in ad[1:]) or "."
    return f"{gt}:{','.join(map(str, ad))}:{depth}:{af}"


def copies_of(gt: str) -> int:
    return sum(a not in ("0", ".") for a in gt.replace("|", "/").split("/"))


def alleles_of(gt: str) -> list[int]:
    return [int(a) for a in gt.replace("|", "/").split("/") if a != "."]


def pad_ad(column: str, width: int) -> str:
    """AD with one value per allele of the record (REF, every ALT), AF one per ALT."""
    gt, ad, dp, _af = column.split(":")
    counts = (ad.split(",") + ["0"] * width)[:width]
    fractions = ",".join(f"{int(c) / int(dp):.3f}" for c in counts[1:]) or "."
    return f"{gt}:{','.join(counts)}:{dp}:{fractions}"


def placeholder(gt: str) -> str:
    """Mutect2's genotype: 0, then every ALT index carried (0/1 for a homozygote too)."""
    alts = sorted({a for a in alleles_of(gt) if a > 0})
    return "/".join(map(str, [0, *alts]))


def data_lines(source: Path) -> list[str]:
    return data_lines_of(source.read_text(encoding="utf-8"))


def data_lines_of(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln[:1] != "#"]


def rewrite(source: Path, mode: str, offsets: dict[str, int]) -> str:
    lines = source.read_text(encoding="utf-8").splitlines()
    header = [ln for ln in lines if ln.startswith("##") and not ln.startswith("##FORMAT")]
    header += [
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">',
        '##FORMAT=<ID=AF,Number=A,Type=Float,Description="Allele fractions">',
    ]
    if mode == "grch37":
        header = [ln for ln in header if not ln.startswith("##contig")]
        header += ["##contig=<ID=chr1,length=249250621>", "##contig=<ID=chr2,length=243199373>"]
    samples = ["TUMOR"]
    if mode == "tumour_normal":
        header += ["##normal_sample=NORMAL", "##tumor_sample=TUMOR"]
        samples = ["NORMAL", "TUMOR"]
    columns = "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"])
    body = []
    gene = None
    for line in lines:
        if line.startswith("#"):
            continue
        chrom, pos, vid, ref, alt, qual, _filter, _info, _fmt, value = line.split("\t")[:10]
        gene = "DPYD" if chrom == "chr1" else "UGT1A1"
        gt = value.split(":")[0]
        n = copies_of(gt)
        if not alleles_of(gt):
            continue  # a missing genotype stays missing
        if mode == "variant_only" and n == 0:
            continue
        if mode == "grch37":
            pos = str(int(pos) + offsets[gene])
        reads = alleles_of(gt)
        n_alts = 0 if alt == "." else alt.count(",") + 1
        reads_full = reads if max(reads) <= n_alts else [0, 0]
        if mode in ("placeholder", "variant_only") and n > 0:
            cols = [sample(placeholder(gt), reads_full)]
        elif mode == "tumour_normal":
            lost = n == 1 and len(reads) == 2  # a heterozygote: the tumour lost the ALT
            tumour = sample("0/0", [0, 0]) if lost else sample(gt, reads_full)
            cols = [sample(gt, reads_full), tumour]
        elif mode == "gvcf":
            cols = [sample(gt, reads_full, unseen=True)]
            alt = "<*>" if alt == "." else f"{alt},<*>"
        else:
            cols = [sample(gt, reads_full)]
        width = n_alts + 1 + (mode == "gvcf")
        cols = [pad_ad(c, width) for c in cols]
        body.append((int(pos), [chrom, pos, vid, ref, alt, qual, "PASS", ".", FORMAT, *cols]))
    if mode == "variant_only" and gene is not None:
        chrom, pos, ref, alt = PASSENGER[gene]
        passenger = [
            chrom,
            str(pos),
            ".",
            ref,
            alt,
            ".",
            "PASS",
            ".",
            FORMAT,
            sample("0/1", [0, 1]),
        ]
        body.append((pos, passenger))
    body.sort(key=lambda item: item[0])
    rows = ["\t".join(cols) for _, cols in body]
    return "\n".join([*header, columns + "\t" + "\t".join(samples), *rows]) + "\n"


def run(vcf: Path, folder: Path, settings: Settings, kb: KnowledgeBase) -> dict:
    patient = Patient("PGX", vcf, "colorectal", None, (), None, 2)
    return analyse_vcf(patient=patient, settings=settings, kb=kb, cohort=None, folder=folder)["pgx"]


def as_safe(gene: str, rewritten: dict, original: dict) -> bool:
    if gene == "DPYD":
        if rewritten["activity_score"] is None:
            return rewritten["status"] != "assessed"
        return original["activity_score"] is not None and (
            rewritten["activity_score"] <= original["activity_score"]
        )
    if rewritten["status"] != "assessed":
        return "Poor Metabolizer" in rewritten["phenotype"] or (
            "Poor Metabolizer" not in original["phenotype"]
        )
    if original["phenotype"] not in PHENOTYPE_ORDER:
        return rewritten["phenotype"] in PHENOTYPE_ORDER[:1] or rewritten == original
    return PHENOTYPE_ORDER.index(rewritten["phenotype"]) <= PHENOTYPE_ORDER.index(
        original["phenotype"]
    )


@pytest.mark.parametrize("mode", REWRITES)
@pytest.mark.parametrize("source", pharmcat_files())
def test_rewritten_pharmcat_file_is_as_safe(source, mode, tmp_path, site_settings, bundled_kb):
    shared_data("pharmcat/test-vcf")
    gene = source.parent.name
    original = run(source, tmp_path / "original", site_settings, bundled_kb)[gene]
    vcf = tmp_path / f"{source.stem}.{mode}.vcf"
    vcf.write_text(rewrite(source, mode, grch37_offsets(bundled_kb)), encoding="utf-8")
    settings = replace(site_settings, build="GRCh37") if mode == "grch37" else site_settings
    rewritten = run(vcf, tmp_path / mode, settings, bundled_kb)[gene]
    assert as_safe(gene, rewritten, original), (rewritten, original)
    phased = "|" in "".join(a["genotype"] for a in original["alleles"])
    if mode in ("gvcf", "grch37", "tumour_normal") or (mode == "placeholder" and not phased):
        # every position kept: the same call as the original, from the same evidence (the
        # placeholder drops phase, so phased files may only get safer: presumed in trans)
        same = ("status", "phenotype", "positions_missing")
        if mode != "grch37":  # GRCh37 has no *9A row: its reference base is the *9A allele
            same += ("positions_called",)
        assert {k: rewritten[k] for k in same} == {k: original[k] for k in same}
        assert rewritten.get("activity_score") == original.get("activity_score")
        assert rewritten.get("diplotype") == original.get("diplotype")
    if mode == "tumour_normal":
        assert rewritten["genotype_source"] == "normal"
        lost = any(
            len(alleles_of(gt)) == 2 and copies_of(gt) == 1
            for gt in (ln.split("\t")[9].split(":")[0] for ln in data_lines(source))
        )
        assert lost == any("loss of heterozygosity" in n for n in rewritten["notes"])
    if mode == "variant_only":
        assert rewritten["status"] != "assessed" or not rewritten["positions_missing"]


@pytest.mark.parametrize(
    ("where", "status"), [(97_400_000, "indeterminate"), (50_000_000, "assessed")]
)
def test_structural_record_is_left_out_and_over_dpyd_makes_it_indeterminate(
    where, status, tmp_path, site_settings, bundled_kb
):
    source = shared_data("pharmcat/test-vcf") / "DPYD" / "novariant.vcf"
    text = rewrite(source, "gvcf", grch37_offsets(bundled_kb))
    header = [ln for ln in text.splitlines() if ln.startswith("#")]
    sv = ["chr1", str(where), ".", "A", "<DEL>", ".", "PASS", f"END={where + 200_000}", FORMAT]
    records = [*data_lines_of(text), "\t".join([*sv, sample("0/1", [0, 1])])]
    records.sort(key=lambda ln: int(ln.split("\t")[1]))
    header.insert(1, '##INFO=<ID=END,Number=1,Type=Integer,Description="End">')
    lines = header + records
    vcf = tmp_path / "sv.vcf"
    vcf.write_text("\n".join(lines) + "\n", encoding="utf-8")
    patient = Patient("PGX", vcf, "colorectal", None, (), None, 2)
    rec = analyse_vcf(
        patient=patient, settings=site_settings, kb=bundled_kb, cohort=None, folder=tmp_path / "out"
    )
    assert rec["qc"]["structural_left_out"] == 1
    assert rec["pgx"]["DPYD"]["status"] == status
