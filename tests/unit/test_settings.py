"""Config and patient-sheet validation: every bad input stops with file, row or key, problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import DEMO_SHEET, REPO, demo_config

from haicgx.errors import ConfigError
from haicgx.settings import load_patients, load_settings, ranking_weights, validate_config

DEMO_FASTA = REPO / "resources" / "demo" / "reference" / "demo_grch38.fa.gz"


def sheet(tmp_path: Path, rows: list[str], header: str | None = None) -> Path:
    (tmp_path / "a.vcf").write_text("##fileformat=VCFv4.2\n")
    head = header or "patient_id\tvcf\tprimary_site\ttumour_sample\tprior_drugs\tcrcl_ml_min"
    path = tmp_path / "patients.tsv"
    path.write_text("\n".join([head, *rows]) + "\n", encoding="utf-8")
    return path


def test_defaults_are_filled():
    config = validate_config({"patients": "p.tsv"})
    assert config["annotation"] == "auto"
    assert config["reference"]["build"] == "GRCh38"
    assert config["filters"] == {
        "pass_only": True,
        "min_depth": 20,
        "min_alt_reads": 4,
        "min_vaf": 0.05,
    }


@pytest.mark.parametrize(
    ("config", "where", "problem"),
    [
        ({"patients": "p.tsv", "colour": "red"}, "'colour'", "unknown key"),
        ({"patients": "p.tsv", "filters": {"min_depht": 3}}, "'filters.min_depht'", "unknown key"),
        (
            {"patients": "p.tsv", "filters": {"min_depth": "ten"}},
            "'filters.min_depth'",
            "not of type",
        ),
        ({"patients": "p.tsv", "annotation": "magic"}, "'annotation'", "is not one of"),
        (
            {"patients": "p.tsv", "reference": {"build": "hg19"}},
            "'reference.build'",
            "is not one of",
        ),
        ({}, "'patients'", "required: the path of your patient sheet"),
        ({"patients": "p.tsv", "filters": {"min_dept": 3}}, "'filters.min_dept'", "'min_depth'?"),
        ({"patients": "p.tsv", "anotation": "csq"}, "'anotation'", "did you mean 'annotation'?"),
        ({"patients": "p.tsv", "zzz": 1}, "'zzz'", "allowed: annotation, cohorts, endpoints"),
    ],
)
def test_bad_config_names_key_and_problem(config, where, problem):
    with pytest.raises(ConfigError) as caught:
        validate_config(config, source="my.yaml")
    message = str(caught.value)
    assert message.startswith("my.yaml: key ")
    assert where in message
    assert problem in message


def test_bundled_defaults_found_from_any_workdir(tmp_path):
    settings = load_settings(
        {"patients": "config/demo_patients.tsv", "reference": {"fasta": None, "gff3": None}},
        workdir=tmp_path,
        root=REPO,
    )
    assert settings.patients_file == REPO / "config" / "demo_patients.tsv"
    assert settings.biomarkers == REPO / "src" / "haicgx" / "data" / "knowledge" / "biomarkers.tsv"
    assert settings.record == tmp_path / "results" / "cohort_record.sqlite"


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_settings({"patients": "nowhere.tsv"}, workdir=tmp_path, root=tmp_path)
    assert str(caught.value) == (
        f"config: key 'patients': patient sheet not found: {tmp_path / 'nowhere.tsv'} "
        "(a relative path is read from the working directory)"
    )
    with pytest.raises(
        ConfigError, match=r"key 'reference.fasta': file not found: ref.fa \(looked"
    ):
        load_settings(
            {"patients": str(DEMO_SHEET), "reference": {"fasta": "ref.fa"}},
            workdir=tmp_path,
            root=tmp_path,
        )


def test_a_sites_missing_sheet_is_never_a_sheet_of_the_installation(tmp_path):
    """A relative sheet path the working directory lacks is an error naming that path, even
    when the haicgx folder has a file there (as it had the demo sheet at config/patients.tsv)."""
    root, run = tmp_path / "haicgx", tmp_path / "run"
    (root / "config").mkdir(parents=True)
    run.mkdir()
    (root / "config" / "patients.tsv").write_text("patient_id\tvcf\tprimary_site\n")
    with pytest.raises(ConfigError) as caught:
        load_settings({"patients": "config/patients.tsv"}, workdir=run, root=root)
    assert f"patient sheet not found: {run / 'config' / 'patients.tsv'}" in str(caught.value)
    (run / "config").mkdir()
    (run / "config" / "patients.tsv").mkdir()  # a folder is no sheet either
    with pytest.raises(ConfigError, match="patient sheet is a folder, not a file"):
        load_settings({"patients": "config/patients.tsv"}, workdir=run, root=root)


def test_the_demo_sheet_is_found_in_the_installation_unless_the_workdir_has_one(tmp_path):
    assert load_settings(demo_config(), workdir=tmp_path).patients_file == DEMO_SHEET
    (tmp_path / "config").mkdir()
    own = tmp_path / "config" / "demo_patients.tsv"
    own.write_text("x")
    assert load_settings(demo_config(), workdir=tmp_path).patients_file == own


def test_csq_needs_reference(tmp_path):
    (tmp_path / "p.tsv").write_text("x")
    with pytest.raises(ConfigError) as caught:
        load_settings({"patients": "p.tsv", "annotation": "csq"}, workdir=tmp_path, root=tmp_path)
    assert str(caught.value).startswith(
        "config: key 'annotation': csq needs reference.fasta and reference.gff3 "
        "(not set: reference.fasta, reference.gff3)"
    )
    with pytest.raises(ConfigError, match=r"\(not set: reference.gff3\)"):
        load_settings(
            {"patients": "p.tsv", "annotation": "csq", "reference": {"fasta": str(DEMO_FASTA)}},
            workdir=tmp_path,
        )


def test_the_demo_gene_models_go_with_the_demo_genome_only(tmp_path):
    (tmp_path / "p.tsv").write_text("x")
    gff3 = REPO / "resources" / "demo" / "reference" / "demo_grch38.gff3"
    with pytest.raises(ConfigError, match=r"key 'reference\.gff3': .* is the SYNTHETIC demo gene"):
        load_settings({"patients": "p.tsv", "reference": {"gff3": str(gff3)}}, workdir=tmp_path)
    settings = load_settings(
        {"patients": "p.tsv", "reference": {"fasta": str(DEMO_FASTA), "gff3": str(gff3)}},
        workdir=tmp_path,
    )
    assert settings.gff3 == gff3


def test_ranking_override_and_unknown_weight():
    weights = ranking_weights({"evidence_level": {"clinical_cohort": 0.4}})
    assert weights["evidence_level"]["clinical_cohort"] == 0.4
    assert weights["evidence_level"]["guideline"] == 1.0
    with pytest.raises(ConfigError, match="unknown weight"):
        ranking_weights({"bonus": 1})


@pytest.mark.parametrize("bad", ["two", -0.5, 1.5, float("nan"), float("inf"), True, None, [0.5]])
def test_ranking_weights_are_numbers_from_0_to_1(bad):
    with pytest.raises(ConfigError, match=r"ranking\.match_level\.gene.*not a number from 0 to 1"):
        ranking_weights({"match_level": {"gene": bad}})
    with pytest.raises(ConfigError, match="must map each of its keys"):
        ranking_weights({"match_level": 0.5})


def test_good_sheet(tmp_path):
    path = sheet(
        tmp_path, ["P1\ta.vcf\tcolorectal\t\t5-FU; Oxaliplatin\t62.5", "P2\ta.vcf\thcc\t\t\t"]
    )
    p1, p2 = load_patients(path)
    assert p1.vcf == tmp_path / "a.vcf"
    assert p1.prior_drugs == ("fluorouracil", "oxaliplatin")
    assert p1.crcl_ml_min == 62.5
    assert p2.prior_drugs == () and p2.crcl_ml_min is None and p2.tumour_sample is None


@pytest.mark.parametrize(
    ("rows", "where", "problem"),
    [
        (
            ["P1\ta.vcf\tcolorectal\t\t\t", "P1\ta.vcf\thcc\t\t\t"],
            "line 3 (P1), column patient_id",
            "duplicate patient_id 'P1'",
        ),
        (["P1\ta.vcf\tlung\t\t\t"], "line 2 (P1), column primary_site", "'lung' is not one of"),
        (["P1\tb.vcf\tcolorectal\t\t\t"], "line 2 (P1), column vcf", "file not found: b.vcf"),
        (["P1\ta.txt\tcolorectal\t\t\t"], "line 2 (P1), column vcf", "does not match"),
        (["bad id!\ta.vcf\tcolorectal\t\t\t"], "column patient_id", "does not match"),
        (
            ["P1\ta.vcf\tcolorectal\t\taspirin\t"],
            "column prior_drugs",
            "unknown drug or regimen 'aspirin'",
        ),
        (["P1\ta.vcf\tcolorectal\t\t\tsixty"], "column crcl_ml_min", "does not match"),
        (["P1\ta.vcf\tcolorectal\t\t"], "line 2", "5 cells, header has 6"),
        (["P1\t<x>.vcf\tcolorectal\t\t\t"], "column vcf", "may not contain < or >"),
        (["P1\ta>.vcf\tcolorectal\t\t\t"], "line 2 (P1), column vcf", "link it under a plain"),
    ],
)
def test_bad_sheet_names_row_and_problem(tmp_path, rows, where, problem):
    path = sheet(tmp_path, rows)
    with pytest.raises(ConfigError) as caught:
        load_patients(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    assert where in message
    assert problem in message


def test_sheet_header_problems(tmp_path):
    with pytest.raises(ConfigError, match="unknown column 'age'"):
        load_patients(sheet(tmp_path, [], header="patient_id\tvcf\tprimary_site\tage"))
    with pytest.raises(ConfigError, match="missing required column 'primary_site'"):
        load_patients(sheet(tmp_path, [], header="patient_id\tvcf"))


ID_HEADER = "patient_id\tvcf\tprimary_site\tsite_mrn\tassay\tspecimen_id\tsite_biobank_id"


def test_sheet_identifiers_are_read_in_their_order(tmp_path):
    rows = ["P1\ta.vcf\thcc\tH-7\tTSO500 v2\tSP-42\tBB 9", "P2\ta.vcf\thcc\t\t\t\t"]
    first, second = load_patients(sheet(tmp_path, rows, header=ID_HEADER))
    # specimen_id and assay first, then the site's columns in sheet order
    assert first.identifiers == (
        ("specimen_id", "SP-42"),
        ("assay", "TSO500 v2"),
        ("site_mrn", "H-7"),
        ("site_biobank_id", "BB 9"),
    )
    assert second.identifiers == ()


@pytest.mark.parametrize(
    ("header", "cell", "problem"),
    [
        ("specimen", "S1", "unknown column 'specimen'; did you mean 'specimen_id'?"),
        ("mrn", "H1", "a site's own identifier column is named site_NAME"),
        ("site_MRN", "H1", "site column 'site_MRN': after 'site_' use 1 to 40 lowercase"),
        ("site_mrn", "H\u202e1", "line 2 (P1), column site_mrn"),
        ("assay", "x" * 121, "line 2 (P1), column assay"),
    ],
)
def test_bad_identifier_columns_and_cells(tmp_path, header, cell, problem):
    path = sheet(
        tmp_path, [f"P1\ta.vcf\thcc\t{cell}"], header=f"patient_id\tvcf\tprimary_site\t{header}"
    )
    with pytest.raises(ConfigError) as caught:
        load_patients(path)
    assert problem in str(caught.value)


def test_sheet_not_utf8(tmp_path):
    path = tmp_path / "p.tsv"
    path.write_bytes(b"patient_id\tvcf\tprimary_site\nP\xe9\ta.vcf\thcc\n")
    with pytest.raises(ConfigError, match="line 2: not UTF-8"):
        load_patients(path)


def test_prior_drugs_take_regimen_acronyms(tmp_path):
    path = sheet(tmp_path, ["P1\ta.vcf\tcolorectal\t\tmFOLFOX6; CAPOX;gemcis\t"])
    (patient,) = load_patients(path)
    assert patient.prior_drugs == (
        "fluorouracil", "oxaliplatin", "capecitabine", "gemcitabine", "cisplatin"
    )  # fmt: skip


def test_unknown_prior_drug_names_the_patient_and_close_names(tmp_path):
    path = sheet(tmp_path, ["P1\ta.vcf\tcolorectal\t\tFOLFIX\t"])
    with pytest.raises(ConfigError, match=r"patient P1: unknown drug or regimen 'FOLFIX'.*folfiri"):
        load_patients(path)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_config_numbers_must_be_finite(value):
    # NaN passes JSON Schema's bounds (every comparison with it is false); the infinities do not
    with pytest.raises(ConfigError, match=r"filters\.min_vaf"):
        validate_config({"patients": "p.tsv", "filters": {"min_vaf": value}})
    with pytest.raises(ConfigError, match="not a finite number"):
        validate_config({"patients": "p.tsv", "filters": {"min_vaf": float("nan")}})


@pytest.mark.parametrize(
    ("cells", "column"),
    [("\t" + "9" * 401 + "\t\t\t", "crcl_ml_min"), ("\t60\t\t250\t", "bilirubin_x_uln")],
)
def test_implausible_sheet_values_are_refused(tmp_path, cells, column):
    header = "patient_id\tvcf\tprimary_site\ttumour_sample\tprior_drugs\tcrcl_ml_min"
    header += "\tnormal_sample\tbilirubin_x_uln\tchild_pugh"
    (tmp_path / "a.vcf").write_text("##fileformat=VCFv4.2\n")
    path = tmp_path / "patients.tsv"
    path.write_text(f"{header}\nP1\ta.vcf\tcolorectal\t\t{cells}\n")
    with pytest.raises(ConfigError, match=f"column {column}.*not a plausible value"):
        load_patients(path)
