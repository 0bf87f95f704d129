"""The whole path on the CDISC pilot oncology data (../shared/testdata/pharmaversesdtm-onco), with
subjects worked by hand from their measurements (tr_onco_recist.csv, investigator rows).

Read in place; skipped with the reason when the shared test data is not beside the project.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from datetime import date
from pathlib import Path

import jsonschema
import pytest
from support import testdata as shared_data

from haicgx.cli import main
from haicgx.paths import schema_path


def read_csv(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


@pytest.fixture(scope="module")
def pilot(tmp_path_factory) -> tuple[Path, Path, str]:
    folder = shared_data("pharmaversesdtm-onco")
    out = tmp_path_factory.mktemp("pilot") / "endpoints"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["endpoints", "--sdtm", str(folder), "--out", str(out)]) == 0
    return folder, out, printed.getvalue()


@pytest.fixture(scope="module")
def adrs(pilot) -> list[dict[str, str]]:
    return read_csv(pilot[1] / "adrs.tsv", "\t")


def ovr(adrs, usubjid):
    return [
        (r["ADT"], r["AVALC"], r["SUMDIAM"]) for r in adrs
        if r["USUBJID"] == usubjid and r["PARAMCD"] == "OVR"
    ]  # fmt: skip


def best(adrs, usubjid, code):
    row = next(r for r in adrs if r["USUBJID"] == usubjid and r["PARAMCD"] == code)
    return row["AVALC"], row["ADT"]


def test_every_output_is_written_and_the_files_taken_are_said(pilot):
    _, out, printed = pilot
    for name in ("adrs.tsv", "adtte.tsv", "adae.tsv", "endpoints.json", "endpoints.html"):
        assert (out / name).stat().st_size > 1000, name
    assert "TU: tu_onco_recist.csv (of 2 candidates; named like the TR file" in printed
    assert "RS: rs_onco.csv, 5808 rows" in printed
    assert "254 subjects analysed (groups from DM.ARM), 52 not analysed" in printed
    header = (out / "adrs.tsv").read_text(encoding="utf-8").splitlines()[0].split("\t")
    for column in ("USUBJID", "PARAMCD", "AVALC", "ADT", "VISIT"):
        assert column in header
    header = (out / "adtte.tsv").read_text(encoding="utf-8").splitlines()[0].split("\t")
    for column in ("USUBJID", "PARAMCD", "AVAL", "CNSR", "STARTDT", "ADT", "EVNTDESC"):
        assert column in header


def test_subject_1015_missing_lesions_and_a_node_under_10_mm(adrs):
    # Baseline (2014-01-02): adrenal 21 + node short axis 32 + body 24 + bone 19 = 96 mm.
    # Week 3: 20 + 34 + 24 + 18 = 96: SD. Week 6 (TRDTC 2014-02, imputed to the 1st): node and
    # body not measured, 20 + 18 = 38 is no progression: NE. Week 9: 0 + 7 (node < 10) + 0 + 0:
    # CR, not confirmed (no later scan); it is 63 days after the start: CBOR SD.
    assert ovr(adrs, "01-701-1015") == [
        ("2014-01-23", "SD", "96"),
        ("2014-02-01", "NE", ""),
        ("2014-03-06", "CR", "7"),
    ]
    assert best(adrs, "01-701-1015", "BOR") == ("CR", "2014-03-06")
    assert best(adrs, "01-701-1015", "CBOR") == ("SD", "2014-03-06")
    flags = [r["ADTF"] for r in adrs if r["USUBJID"] == "01-701-1015" and r["PARAMCD"] == "OVR"]
    assert flags == ["", "D", ""]


def test_subject_1028_progression_from_the_lesions_measured(adrs):
    # Baseline 16 + 22 + 21 + 17 + 18 = 94; week 3: 91 (nadir). Week 6: the bladder lesion is
    # missing, but 34 + 41 + 26 + 9 = 110 is 19 mm and 21% over the nadir: PD despite it.
    assert ovr(adrs, "01-701-1028")[:2] == [("2013-08-09", "SD", "91"), ("2013-08-30", "PD", "")]
    assert best(adrs, "01-701-1028", "CBOR") == ("PD", "2013-08-30")


def test_subject_1118_confirmed_partial_response_across_one_ne(adrs):
    # 27 + 51 = 78; week 6: 15 + 23 = 38 (-51%): PR; week 9: colon lesion missing: NE; week 12:
    # 14 + 19 = 33: PR, 42 days after the first PR: confirmed.
    assert [a for _, a, _ in ovr(adrs, "01-701-1118")] == ["SD", "PR", "NE", "PR"]
    assert best(adrs, "01-701-1118", "CBOR") == ("PR", "2014-04-23")


def test_subject_1130_sd_below_20_percent_then_pd(adrs):
    # 35 + 22 + 33 (node) = 90; week 3: 88 (nadir); week 6: 96 is 8 mm but 9% over 88: SD;
    # week 9: 42 + 39 + 43 = 124: PD.
    assert ovr(adrs, "01-701-1130") == [
        ("2014-03-08", "SD", "88"),
        ("2014-03-29", "SD", "96"),
        ("2014-04-19", "PD", "124"),
    ]
    assert best(adrs, "01-701-1130", "CBOR") == ("SD", "2014-03-29")


def test_subject_1133_exact_thirty_percent_and_regrowth_from_zero(adrs):
    # 19 + 21 + 20 = 60; week 3: 15 + 14 + 13 = 42, exactly -30%: PR; week 6: all 0: CR;
    # week 9: 5 + 0 + 0 is 5 mm over a nadir of 0: PD. Neither response is confirmed; the CR
    # on day 42 meets the SD minimum: CBOR SD (RECIST 1.1 table 3: CR then PD).
    assert ovr(adrs, "01-701-1133") == [
        ("2012-11-18", "PR", "42"),
        ("2012-12-09", "CR", "0"),
        ("2012-12-30", "PD", "5"),
    ]
    assert best(adrs, "01-701-1133", "BOR") == ("CR", "2012-12-09")
    assert best(adrs, "01-701-1133", "CBOR") == ("SD", "2012-12-09")


def test_survival_rows_of_hand_checked_subjects(pilot):
    adtte = {(r["USUBJID"], r["PARAMCD"]): r for r in read_csv(pilot[1] / "adtte.tsv", "\t")}
    pfs = adtte[("01-701-1133", "PFS")]  # PD on 2012-12-30, start 2012-10-28
    assert (pfs["AVAL"], pfs["CNSR"], pfs["EVNTDESC"]) == ("63", "0", "DISEASE PROGRESSION")
    pfs = adtte[("01-701-1015", "PFS")]  # no PD: censored at the CR of 2014-03-06
    assert (pfs["AVAL"], pfs["CNSR"], pfs["ADT"]) == ("63", "1", "2014-03-06")
    died = adtte[("01-710-1083", "OS")]  # DM.DTHDTC 2013-08-02, start 2013-07-22
    assert (died["AVAL"], died["CNSR"], died["EVNTDESC"]) == ("11", "0", "DEATH")
    alive = adtte[("01-701-1015", "OS")]  # last contact 2014-07-02 (DS, DM.RFPENDTC)
    assert (alive["AVAL"], alive["CNSR"]) == ("181", "1")


def test_adverse_events_count_patients_not_events(pilot):
    folder, out, _ = pilot
    dm = {r["USUBJID"]: r for r in read_csv(folder / "dm.csv")}
    data = json.loads((out / "endpoints.json").read_text(encoding="utf-8"))
    assert data["adverse_events"]["grading"] == "severity"  # the pilot has no AETOXGR
    term = "APPLICATION SITE PRURITUS"
    events = [
        r for r in read_csv(folder / "ae.csv")
        if r["AEDECOD"] == term and dm[r["USUBJID"]]["ARMCD"] == "Xan_Hi"
        and date.fromisoformat(r["AESTDTC"]) >= date.fromisoformat(dm[r["USUBJID"]]["RFSTDTC"])
    ]  # fmt: skip
    patients = {r["USUBJID"] for r in events}
    assert len(events) > len(patients)  # several events in one patient count once
    rows = data["adverse_events"]["by_cohort"]["rows"]
    row = next(r for r in rows if r["level"] == "term" and r["name"] == term)
    assert row["groups"]["Xan_Hi"]["any"] == len(patients)


def test_treatment_emergent_flags_equal_the_pilots_own(pilot):
    """Every ADAE TRTEMFL equals the sponsor's SUPPAE AETRTEM (partial start dates included)."""
    folder, out, _ = pilot
    sponsor = {(r["USUBJID"], r["IDVARVAL"]): r["QVAL"] for r in read_csv(folder / "suppae.csv")}
    adae = read_csv(out / "adae.tsv", "\t")
    assert len(adae) == 1191
    differ = [r for r in adae if r["TRTEMFL"] != sponsor[(r["USUBJID"], r["AESEQ"])]]
    assert differ == []


def test_summary_is_valid_and_shows_n_beside_rates(pilot):
    data = json.loads((pilot[1] / "endpoints.json").read_text(encoding="utf-8"))
    schema = json.loads(schema_path("endpoints.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, schema)
    assert [g["id"] for g in data["cohorts"]] == ["Pbo", "Xan_Hi", "Xan_Lo"]
    assert sum(g["n"] for g in data["cohorts"]) == data["overall"]["n"] == 254
    for group in data["cohorts"]:
        orr = group["response"]["orr"]
        assert orr["n"] == group["n"] and orr["low"] <= orr["rate"] <= orr["high"]
    assert data["overall"]["response"]["sources"] == {"TR": 8, "RS": 197, "none": 49}
    assert any("01-711-1143" in note and "'CHECK' taken as NE" in note for note in data["notes"])
    html = (pilot[1] / "endpoints.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 6  # waterfall, swimmer, PFS and OS by cohort and by regimen
