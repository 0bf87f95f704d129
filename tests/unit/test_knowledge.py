"""The knowledge table: the grammar, validation of each kind of bad row, the indexes, the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import MINI_KNOWLEDGE

from haicgx.cli import main
from haicgx.errors import ConfigError
from haicgx.knowledge import Alteration, load_knowledge, parse_biomarkers

GOOD = (MINI_KNOWLEDGE / "biomarkers.tsv").read_text(encoding="utf-8")
HEADER_LINE = 3  # after the two comment lines


def with_row(tmp_path: Path, row: dict[str, str] | None = None, text: str | None = None) -> Path:
    """The test table with one extra row (columns given by name, the rest filled sensibly)."""
    path = tmp_path / "biomarkers.tsv"
    if text is None:
        base = {
            "kb_id": "X-NEW",
            "gene": "KRAS",
            "alteration": "p.G13D",
            "allele_name": "",
            "zygosity": "any",
            "drug": "floxuridine",
            "effect": "resistance",
            "evidence_level": "clinical_cohort",
            "tumour_context": "colorectal",
            "allele_function": "",
            "activity_value": "",
            "source": "PMID 35284135",
            "note": "",
            "curated_on": "2026-11-25",
        }
        base.update(row or {})
        text = GOOD + "\t".join(base.values()) + "\n"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_table_loads(mini_kb):
    assert mini_kb.version == "test-1"
    assert len(mini_kb.rows) == 21
    assert len(mini_kb.sha256) == 64


@pytest.mark.parametrize(
    ("row", "column", "problem"),
    [
        ({"kb_id": "lower-case"}, "kb_id", "does not match"),
        ({"kb_id": "T-DPYD-2A"}, "kb_id", "duplicate kb_id"),
        ({"gene": ""}, "gene", "does not match"),
        ({"alteration": "G12D"}, "alteration", "is not valid under any of the given schemas"),
        ({"alteration": "GRCh38:chr1:100:C:Z"}, "alteration", "not valid"),
        ({"alteration": "activity_score:1.5-0.5"}, "alteration", "runs backwards"),
        ({"zygosity": "hemizygous"}, "zygosity", "is not one of"),
        ({"drug": "aspirin"}, "drug", "not an INN of the vocabulary"),
        ({"drug": "5-FU"}, "drug", "does not match"),
        ({"effect": "benefit"}, "effect", "is not one of"),
        ({"evidence_level": "A"}, "evidence_level", "is not one of"),
        ({"tumour_context": "lung"}, "tumour_context", "unknown primary site 'lung'"),
        (
            {"effect": "allele_function", "allele_function": "no_function"},
            "alteration",
            "exact genomic allele",
        ),
        (
            {"effect": "allele_function", "alteration": "GRCh38:chr12:25245350:C:T"},
            "allele_function",
            "required",
        ),
        ({"activity_value": "0.5"}, "allele_function", "only allele_function rows"),
        ({"activity_value": "0.7"}, "activity_value", "does not match"),
        (
            {"alteration": "phenotype:poor_metabolizer", "effect": "sensitivity"},
            "effect",
            "phenotype rule",
        ),
        (
            {"evidence_level": "inference", "effect": "contraindication"},
            "evidence_level",
            "only raise a caution",
        ),
        ({"source": ""}, "source", "too short"),
        ({"curated_on": "25/11/2026"}, "curated_on", "does not match"),
    ],
)
def test_each_kind_of_bad_row_is_rejected(tmp_path, row, column, problem):
    path = with_row(tmp_path, row)
    with pytest.raises(ConfigError) as caught:
        parse_biomarkers(path)
    message = str(caught.value)
    assert f"column {column}" in message, message
    assert problem in message, message
    assert "line 25" in message  # the added row: 3 header lines + 21 rows, then this one


def test_structural_problems(tmp_path):
    no_version = GOOD.replace("# knowledge_version: test-1\n", "")
    with pytest.raises(ConfigError, match="missing '# knowledge_version:"):
        parse_biomarkers(with_row(tmp_path, text=no_version))
    bad_header = GOOD.replace("\tnote\t", "\tnotes\t")
    with pytest.raises(ConfigError, match=f"line {HEADER_LINE}: header must be"):
        parse_biomarkers(with_row(tmp_path, text=bad_header))
    short = GOOD + "X-SHORT\tKRAS\n"
    with pytest.raises(ConfigError, match="2 columns, expected 14"):
        parse_biomarkers(with_row(tmp_path, text=short))
    path = tmp_path / "latin1.tsv"
    path.write_bytes(GOOD.encode() + "caf\xe9".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        parse_biomarkers(path)


def test_regimen_file_problems(tmp_path):
    text = (MINI_KNOWLEDGE / "regimens.yaml").read_text(encoding="utf-8")
    path = tmp_path / "regimens.yaml"
    path.write_text(text.replace("[raltitrexed, oxaliplatin]", "[raltitrexed, aspirin]"))
    with pytest.raises(ConfigError, match="'aspirin' is not an INN"):
        load_knowledge(MINI_KNOWLEDGE / "biomarkers.tsv", path)
    path.write_text(text.replace("version: test-1", "version: test-2"))
    with pytest.raises(ConfigError, match="differs from the knowledge table's version"):
        load_knowledge(MINI_KNOWLEDGE / "biomarkers.tsv", path)
    path.write_text(text.replace("colorectal: [folfox,", "colorectal: [nope, folfox,"))
    with pytest.raises(ConfigError, match="base_order/colorectal"):
        load_knowledge(MINI_KNOWLEDGE / "biomarkers.tsv", path)
    path.write_text(
        text.replace("primary_sites: [colorectal, gastric]", "primary_sites: [gastric]")
    )
    with pytest.raises(ConfigError, match=r"regimens/5 \(capox\)/primary_sites: .* disagree"):
        load_knowledge(MINI_KNOWLEDGE / "biomarkers.tsv", path)
    path.write_text(
        text.replace(
            "colorectal: {level: case_series, n: 10,", "colorectal: {level: randomised, n: 10,"
        )
    )
    with pytest.raises(ConfigError, match="base_order/colorectal: 'capox' has randomised evidence"):
        load_knowledge(MINI_KNOWLEDGE / "biomarkers.tsv", path)


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("GRCh38:chr1:97450058:C:T", "genomic"),
        ("GRCh37:1:98348885:C:T", "genomic"),
        ("p.G12D", "protein"),
        ("p.Q23*", "protein"),
        ("p.K150fs", "protein"),
        ("p.G12", "codon"),
        ("exon19:deletion", "exon"),
        ("truncating", "gene"),
        ("missense", "gene"),
        ("any", "gene"),
        ("activity_score:0-0.5", "activity_score"),
        ("phenotype:poor_metabolizer", "phenotype"),
    ],
)
def test_grammar_levels(text, level):
    assert Alteration.parse(text).level == level


def test_genomic_alleles_are_trimmed_and_chrom_normalised():
    a = Alteration.parse("GRCh38:chr2:233760233:CAT:CATAT")
    assert (a.chrom, a.pos, a.ref, a.alt) == ("2", 233760233, "C", "CAT")


def test_indexes(mini_kb):
    assert [r.kb_id for r in mini_kb.genomic_index[("GRCh38", "1", 97450058, "C", "T")]] == [
        "T-DPYD-2A"
    ]
    assert {r.kb_id for r in mini_kb.gene_index["KRAS"]} == {"T-KRAS-G12D", "T-KRAS-G12"}
    assert [r.kb_id for r in mini_kb.rules_for("UGT1A1")] == ["T-UGT-PM-IRI"]


def test_cli_validate_and_show(capsys):
    assert (
        main(
            [
                "kb",
                "validate",
                str(MINI_KNOWLEDGE / "biomarkers.tsv"),
                "--regimens",
                str(MINI_KNOWLEDGE / "regimens.yaml"),
            ]
        )
        == 0
    )
    sha = load_knowledge(MINI_KNOWLEDGE / "biomarkers.tsv", MINI_KNOWLEDGE / "regimens.yaml").sha256
    assert capsys.readouterr().out == (
        f"{MINI_KNOWLEDGE / 'biomarkers.tsv'}: valid, version test-1, 21 rows (11 allele_function, "
        "1 contraindication, 2 dose_adjustment, 2 resistance, 3 sensitivity, 2 toxicity); "
        f"6 regimens; sha256 {sha}\n"
    )
    assert main(["kb", "show", "dpyd", "--file", str(MINI_KNOWLEDGE / "biomarkers.tsv")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "DPYD: 10 rows (knowledge version test-1)"
    assert lines[1] == "\t".join(
        ("T-DPYD-2A", "GRCh38:chr1:97450058:C:T", "c.1905+1G>A (*2A)", "fluorouracil;capecitabine",
         "allele_function no_function (value 0)", "guideline", "any",
         "CPIC DPYD 2017, PMID 29152729")
    )  # fmt: skip
    assert [line.split("\t")[0] for line in lines[1:]] == [
        "T-DPYD-2A", "T-DPYD-13", "T-DPYD-2846", "T-DPYD-HAPB3", "T-DPYD-HAPB3P", "T-DPYD-9A",
        "T-DPYD-5", "T-DPYD-PM-FU", "T-DPYD-IM-FU", "T-DPYD-FUDR",
    ]  # fmt: skip
    assert main(["kb", "show", "TP53", "--file", str(MINI_KNOWLEDGE / "biomarkers.tsv")]) == 1


def test_cli_validate_bad_table_is_one_line(tmp_path, capsys):
    path = with_row(tmp_path, {"drug": "aspirin"})
    assert (
        main(["kb", "validate", str(path), "--regimens", str(MINI_KNOWLEDGE / "regimens.yaml")])
        == 1
    )
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "line 25 (X-NEW), column drug" in err
