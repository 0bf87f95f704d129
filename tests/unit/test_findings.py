"""Findings that rank nothing: targetable alterations, germline referral, dMMR, benign ones."""

from __future__ import annotations

import pytest

from haicgx.consequence import Annotation
from haicgx.errors import ConfigError
from haicgx.findings import BUNDLED_FINDINGS, Candidate, findings_for, parse_findings
from haicgx.match import Variant, match_variant
from haicgx.qc import ReadSupport

RULES = parse_findings(BUNDLED_FINDINGS)


def candidate(gene, protein, consequence="missense_variant", vaf=0.3, filters=()):
    return Candidate(Annotation(gene, consequence, "ENST1", protein), vaf, tuple(filters))


def kinds(found):
    return [(f["kind"], f["gene"]) for f in found]


def test_targetable_alterations_by_site():
    braf = findings_for([candidate("BRAF", "p.V600E")], RULES, "colorectal")
    assert kinds(braf) == [("targetable", "BRAF")] and "BEACON" in braf[0]["text"]
    assert braf[0]["kb_ids"] == ["FIND-BRAF-V600E"]
    pik3ca = candidate("PIK3CA", "p.H1047R")
    assert kinds(findings_for([pik3ca], RULES, "breast")) == [("targetable", "PIK3CA")]
    assert findings_for([pik3ca], RULES, "colorectal") == []  # SOLAR-1 is a breast trial
    assert kinds(findings_for([candidate("IDH1", "p.R132C")], RULES, "biliary")) == [
        ("targetable", "IDH1")
    ]
    assert findings_for([candidate("KRAS", "p.G12D")], RULES, "colorectal") == []


def test_germline_referral_at_germline_fraction_or_filtered_as_germline():
    trunc = "stop_gained"
    somatic = candidate("BRCA2", "p.E1593*", trunc, vaf=0.12)
    assert kinds(findings_for([somatic], RULES, "pancreatic")) == []
    germline = candidate("BRCA2", "p.E1593*", trunc, vaf=0.48)
    found = findings_for([germline], RULES, "pancreatic")
    assert kinds(found) == [("germline_referral", "BRCA2")]
    assert "genetic counselling" in found[0]["text"]
    filtered = candidate("PALB2", "p.R414*", trunc, vaf=0.2, filters=["germline"])
    assert (
        "filtered by the caller as germline" in findings_for([filtered], RULES, "other")[0]["text"]
    )


def test_mismatch_repair_truncation_is_a_dmmr_finding_and_a_referral_when_germline():
    mlh1 = candidate("MLH1", "p.R226*", "stop_gained", vaf=0.5)
    assert kinds(findings_for([mlh1], RULES, "colorectal")) == [
        ("germline_referral", "MLH1"),
        ("msi_dmmr", "MLH1"),
    ]
    text = findings_for([mlh1], RULES, "colorectal")[1]["text"]
    assert "KEYNOTE-177" in text and "Lynch" in text


def test_benign_truncation_is_never_loss_of_function(bundled_kb):
    k3326 = candidate("BRCA2", "p.K3326*", "stop_gained", vaf=0.5)
    found = findings_for([k3326], RULES, "pancreatic")
    assert (
        kinds(found) == [("other", "BRCA2")]
        and "not counted as loss of function" in found[0]["text"]
    )
    ann = k3326.annotation
    variant = Variant("chr13", 32398489, "A", "T", (ann,), "0/1", 1, ReadSupport(100, 50, 0.5, ""))
    assert match_variant(variant, bundled_kb, build="GRCh38", primary_site="pancreatic") == []
    pathogenic = Annotation("BRCA2", "stop_gained", "ENST1", "p.E1593*")
    other = variant._replace(annotations=(pathogenic,))
    assert match_variant(other, bundled_kb, build="GRCh38", primary_site="pancreatic")


def test_a_bad_findings_file_names_the_key(tmp_path):
    bad = tmp_path / "findings.yaml"
    bad.write_text(BUNDLED_FINDINGS.read_text().replace("alteration: p.V600E", "alteration: V600E"))
    with pytest.raises(ConfigError, match=r"targetable/0/alteration"):
        parse_findings(bad)


@pytest.mark.parametrize(
    ("consequence", "exon", "total", "escapes"),
    [
        ("stop_gained", 27, 27, True),  # the last exon: no junction downstream
        ("frameshift_variant", 27, 27, True),
        ("stop_gained", 1, 1, True),  # a single-exon transcript has no junction at all
        ("stop_gained", 26, 27, False),
        ("frameshift_variant", 11, 27, False),
        ("stop_gained", None, None, False),  # exon unknown: read as the source gave it
        ("stop_gained", 27, None, False),
        ("splice_donor_variant&stop_gained", 27, 27, False),  # the splice change decides
        ("missense_variant", 27, 27, False),
    ],
)
def test_only_stops_and_frameshifts_in_a_last_exon_escape_decay(consequence, exon, total, escapes):
    ann = Annotation("BRCA2", consequence, "ENST1", "p.E3000*", exon, "", total)
    assert ann.escapes_nmd is escapes


def test_a_last_exon_truncation_counts_as_no_loss_of_function_and_says_why(bundled_kb):
    last = Annotation("BRCA2", "stop_gained", "ENST00000380152", "p.E3309*", 27, "", 27)
    earlier = last._replace(exon=11, protein_change="p.E1593*")
    variant = Variant("chr13", 32398440, "G", "T", (last,), "0/1", 1, ReadSupport(100, 30, 0.3, ""))
    assert match_variant(variant, bundled_kb, build="GRCh38", primary_site="pancreatic") == []
    hits = match_variant(
        variant._replace(annotations=(earlier,)),
        bundled_kb,
        build="GRCh38",
        primary_site="pancreatic",
    )
    assert hits and {m.row.alteration.variant_class for m in hits} == {"truncating"}
    found = findings_for([Candidate(last, 0.12, ())], RULES, "pancreatic")
    assert kinds(found) == [("other", "BRCA2")]
    assert found[0]["kb_ids"] == ["FIND-NMD-ESCAPE"]
    assert "(exon 27 of 27, ENST00000380152)" in found[0]["text"]
    assert "nonsense-mediated decay" in found[0]["text"]
    # At a germline fraction the referral still stands: the doubt does not remove the test.
    germline = findings_for([Candidate(last, 0.5, ())], RULES, "pancreatic")
    assert kinds(germline) == [("germline_referral", "BRCA2"), ("other", "BRCA2")]


def test_every_gene_with_a_truncating_row_is_covered_by_the_decay_note(tmp_path):
    from haicgx.knowledge import load_knowledge
    from haicgx.paths import KNOWLEDGE_DIR

    findings = tmp_path / "findings.yaml"
    findings.write_text(
        BUNDLED_FINDINGS.read_text().replace(
            "genes: [ATM, BRCA1, BRCA2, PALB2, MLH1, MSH2, MSH6, PMS2]",
            "genes: [BRCA1, BRCA2, PALB2, MLH1, MSH2, MSH6, PMS2]",
        )
    )
    assert findings.read_text() != BUNDLED_FINDINGS.read_text()
    with pytest.raises(ConfigError, match=r"nmd_escape/genes.*lacks ATM"):
        load_knowledge(KNOWLEDGE_DIR / "biomarkers.tsv", KNOWLEDGE_DIR / "regimens.yaml", findings)
