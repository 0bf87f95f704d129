"""`haicgx endpoints` on a small SDTM folder written by hand, every figure worked out below; the
domain files found and refused; bad input as one line naming the file, row and column."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from haicgx.cli import main
from haicgx.endpoints import sdtm
from haicgx.endpoints.run import Options, compute, run_endpoints
from haicgx.errors import HaicgxError
from haicgx.paths import schema_path

# S1 (arm A): liver 40 mm + node 20 mm short axis (60), a lung non-target. Day 42: 20 + 12 = 32,
#   -46.7%: PR. Day 70: liver gone, node 8 mm (< 10), lung absent: CR. Day 98: node 9 mm: CR,
#   28 days after the first CR: confirmed CR. PFS censored at day 98.
# S2 (arm A): liver 50 mm. Day 40: 45 mm, SD but before 42 days. Day 85: a new lesion: PD.
#   CBOR PD, PFS event day 85; died on day 130 (DM.DTHDTC).
# S3 (arm B): RS only. The investigator's SD (day 46), PR (day 74), PR (day 105, 31 days on):
#   confirmed PR; the independent assessor's rows are not used.
# S4: screen failure, no start date: not analysed.
FILES: dict[str, list[list[str]]] = {
    "dm.csv": [
        ["STUDYID", "DOMAIN", "USUBJID", "RFSTDTC", "RFPENDTC", "DTHDTC", "DTHFL", "ARMCD", "ARM"],
        ["ST", "DM", "S1", "2024-01-01", "2024-06-30", "", "", "A", "Arm <A>"],
        ["ST", "DM", "S2", "2024-01-01", "2024-05-10", "2024-05-10", "Y", "A", "Arm <A>"],
        ["ST", "DM", "S3", "2024-01-05", "2024-07-01", "NA", "NA", "B", "Arm B"],
        ["ST", "DM", "S4", "", "2023-12-01", "", "", "SCRNFAIL", "Screen Failure"],
    ],
    "tu.csv": [
        ["USUBJID", "TULNKID", "TUTESTCD", "TUSTRESC", "TULOC", "TUEVAL", "VISITNUM", "TUDTC"],
        ["S1", "T01", "TUMIDENT", "TARGET", "LIVER", "INVESTIGATOR", "1", "2023-12-28"],
        ["S1", "T02", "TUMIDENT", "TARGET", "LYMPH NODE", "INVESTIGATOR", "1", "2023-12-28"],
        ["S1", "NT01", "TUMIDENT", "NON-TARGET", "LUNG", "INVESTIGATOR", "1", "2023-12-28"],
        ["S2", "T01", "TUMIDENT", "TARGET", "LIVER", "INVESTIGATOR", "1", "2023-12-30"],
        ["S2", "NEW01", "TUMIDENT", "NEW", "BONE", "INVESTIGATOR", "3", "2024-03-26"],
    ],
    "tr.csv": [
        [
            "USUBJID",
            "TRLNKID",
            "TRTESTCD",
            "TRSTRESC",
            "TRSTRESN",
            "TRSTRESU",
            "TREVAL",
            "VISITNUM",
            "VISIT",
            "TRDTC",
        ],
        ["S1", "T01", "LDIAM", "40", "40", "mm", "INVESTIGATOR", "1", "BASELINE", "2023-12-28"],
        ["S1", "T02", "LDIAM", "30", "30", "mm", "INVESTIGATOR", "1", "BASELINE", "2023-12-28"],
        ["S1", "T02", "LPERP", "20", "20", "mm", "INVESTIGATOR", "1", "BASELINE", "2023-12-28"],
        [
            "S1",
            "NT01",
            "TUMSTATE",
            "PRESENT",
            "",
            "",
            "INVESTIGATOR",
            "1",
            "BASELINE",
            "2023-12-28",
        ],
        ["S1", "T01", "LDIAM", "20", "20", "mm", "INVESTIGATOR", "2", "WEEK 6", "2024-02-12"],
        ["S1", "T02", "LPERP", "1.2", "1.2", "cm", "INVESTIGATOR", "2", "WEEK 6", "2024-02-12"],
        ["S1", "NT01", "TUMSTATE", "PRESENT", "", "", "INVESTIGATOR", "2", "WEEK 6", "2024-02-12"],
        ["S1", "T01", "LDIAM", "0", "0", "mm", "INVESTIGATOR", "3", "WEEK 10", "2024-03-11"],
        ["S1", "T02", "LPERP", "8", "8", "mm", "INVESTIGATOR", "3", "WEEK 10", "2024-03-11"],
        ["S1", "NT01", "TUMSTATE", "ABSENT", "", "", "INVESTIGATOR", "3", "WEEK 10", "2024-03-11"],
        ["S1", "T01", "LDIAM", "0", "0", "mm", "INVESTIGATOR", "4", "WEEK 14", "2024-04-08"],
        ["S1", "T02", "LPERP", "9", "9", "mm", "INVESTIGATOR", "4", "WEEK 14", "2024-04-08"],
        ["S1", "NT01", "TUMSTATE", "ABSENT", "", "", "INVESTIGATOR", "4", "WEEK 14", "2024-04-08"],
        ["S2", "T01", "LDIAM", "50", "50", "mm", "INVESTIGATOR", "1", "BASELINE", "2023-12-30"],
        ["S2", "T01", "LDIAM", "45", "45", "mm", "INVESTIGATOR", "2", "WEEK 6", "2024-02-10"],
        ["S2", "T01", "LDIAM", "44", "44", "mm", "INVESTIGATOR", "3", "WEEK 12", "2024-03-26"],
    ],
    "rs.tsv": [
        ["USUBJID", "RSTESTCD", "RSSTRESC", "RSEVAL", "VISIT", "RSDTC"],
        ["S3", "OVRLRESP", "SD", "INVESTIGATOR", "WEEK 6", "2024-02-20"],
        ["S3", "OVRLRESP", "PR", "INDEPENDENT ASSESSOR", "WEEK 6", "2024-02-20"],
        ["S3", "OVRLRESP", "PR", "INVESTIGATOR", "WEEK 10", "2024-03-19"],
        ["S3", "OVRLRESP", "PR", "INVESTIGATOR", "WEEK 14", "2024-04-19"],
        ["S1", "OVRLRESP", "SD", "INVESTIGATOR", "WEEK 6", "2024-02-12"],
    ],
    "ae.csv": [
        [
            "USUBJID",
            "AESEQ",
            "AETERM",
            "AEDECOD",
            "AEBODSYS",
            "AESTDTC",
            "AESER",
            "AEREL",
            "AETOXGR",
        ],
        [
            "S1",
            "1",
            "Nausea",
            "NAUSEA",
            "GASTROINTESTINAL DISORDERS",
            "2024-01-10",
            "N",
            "POSSIBLE",
            "2",
        ],
        [
            "S1",
            "2",
            "Nausea again",
            "NAUSEA",
            "GASTROINTESTINAL DISORDERS",
            "2024-02-01",
            "N",
            "PROBABLE",
            "3",
        ],
        [
            "S2",
            "1",
            "High blood pressure",
            "HYPERTENSION",
            "VASCULAR DISORDERS",
            "2024-01",
            "Y",
            "NOT RELATED",
            "3",
        ],
        ["S3", "1", "Tired", "FATIGUE", "GENERAL DISORDERS", "2023-12-20", "N", "", "1"],
        [
            "S1",
            "3",
            "Rash",
            "RASH",
            "SKIN DISORDERS",
            "2024-04-15",
            "N",
            "POSSIBLE",
            "1",
        ],
        [
            "S3",
            "2",
            "=cmd|' /C calc'!A0",
            "FATIGUE",
            "GENERAL DISORDERS",
            "2024-02-01",
            "N",
            "NONE",
            "1",
        ],
    ],
    "ds.csv": [
        ["USUBJID", "DSDECOD", "DSSTDTC"],
        ["S2", "DEATH", "2024-05-10"],
        ["S3", "COMPLETED", "2024-07-01"],
    ],
    "ex.csv": [
        ["USUBJID", "EXTRT", "EXSTDTC", "EXENDTC"],
        ["S1", "HAIC", "2024-01-01", "2024-03-01"],
        ["S2", "HAIC", "2024-01-01", "2024-02-01"],
        ["S3", "HAIC", "2024-01-05", "2024-04-01"],
    ],
}


def write_sdtm(folder: Path, files: dict[str, list[list[str]]] = FILES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in files.items():
        delimiter = "\t" if name.endswith(".tsv") else ","
        with (folder / name).open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return folder


def read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mini")
    sdtm_dir = write_sdtm(root / "sdtm")
    run_endpoints(sdtm_dir, out_dir=root / "out")
    return root / "out"


def param(rows, usubjid, code):
    return [r for r in rows if r["USUBJID"] == usubjid and r["PARAMCD"] == code]


def test_adrs_worked_by_hand(outputs):
    adrs = read_tsv(outputs / "adrs.tsv")
    s1 = param(adrs, "S1", "OVR")
    assert [(r["ADT"], r["AVALC"], r["SUMDIAM"]) for r in s1] == [
        ("2024-02-12", "PR", "32"),  # 1.2 cm read as 12 mm
        ("2024-03-11", "CR", "8"),
        ("2024-04-08", "CR", "9"),
    ]
    assert s1[0]["PCHG"] == "-46.67" and s1[0]["BASESUM"] == "60"
    assert param(adrs, "S1", "CBOR")[0]["AVALC"] == "CR"
    assert param(adrs, "S1", "CBOR")[0]["ADT"] == "2024-03-11"
    s2 = param(adrs, "S2", "OVR")
    assert [(r["AVALC"], r["NEWLES"]) for r in s2] == [("SD", "N"), ("PD", "Y")]
    assert param(adrs, "S2", "CBOR")[0]["AVALC"] == "PD"
    s3 = param(adrs, "S3", "OVR")
    assert [(r["AVALC"], r["SRCDOM"]) for r in s3] == [("SD", "RS"), ("PR", "RS"), ("PR", "RS")]
    assert param(adrs, "S3", "CBOR")[0]["AVALC"] == "PR"
    assert param(adrs, "S3", "BOR")[0]["AVALC"] == "PR"
    assert not param(adrs, "S4", "BOR")


def test_adtte_worked_by_hand(outputs):
    adtte = {(r["USUBJID"], r["PARAMCD"]): r for r in read_tsv(outputs / "adtte.tsv")}
    assert adtte[("S1", "PFS")]["AVAL"] == "98" and adtte[("S1", "PFS")]["CNSR"] == "1"
    assert adtte[("S2", "PFS")]["AVAL"] == "85" and adtte[("S2", "PFS")]["CNSR"] == "0"
    assert adtte[("S2", "PFS")]["EVNTDESC"] == "DISEASE PROGRESSION"
    assert adtte[("S2", "OS")]["AVAL"] == "130" and adtte[("S2", "OS")]["CNSR"] == "0"
    # S1 last known alive: DM.RFPENDTC 2024-06-30, 181 days after 2024-01-01.
    assert adtte[("S1", "OS")]["AVAL"] == "181" and adtte[("S1", "OS")]["CNSR"] == "1"
    assert adtte[("S3", "PFS")]["AVAL"] == "105"  # censored at the last PR, 2024-04-19


def test_adae_flags_and_inert_cells(outputs):
    adae = read_tsv(outputs / "adae.tsv")
    by = {(r["USUBJID"], r["AESEQ"]): r for r in adae}
    assert by[("S2", "1")]["ASTDT"] == "2024-01-01" and by[("S2", "1")]["ASTDTF"] == "D"
    assert by[("S2", "1")]["TRTEMFL"] == "Y" and by[("S2", "1")]["AERELFL"] == "N"
    assert by[("S3", "1")]["TRTEMFL"] == "N"  # before the start
    assert by[("S3", "1")]["AERELFL"] == "Y"  # missing relation counts as related
    assert by[("S3", "2")]["AETERM"].startswith("'=")
    assert by[("S1", "3")]["TRTEMFL"] == "Y"  # no limit after the last dose by default


def test_equivocal_new_lesion_is_dated_back_once_confirmed(tmp_path):
    # RECIST 1.1 section 4.3.5: S2's bone lesion, equivocal at week 6, unequivocal at week 12:
    # progression is dated at week 6. Before the confirmation, an equivocal one is no PD.
    files = {k: [list(r) for r in v] for k, v in FILES.items()}
    files["tu.csv"] = [r for r in files["tu.csv"] if r[1] != "NEW01"]
    files["tu.csv"].append(["S2", "NEW01", "TUMIDENT", "NEW", "BONE", "INVESTIGATOR", "2", ""])
    header = files["tr.csv"][0]

    def new_row(visit: str, label: str, day: str, state: str) -> list[str]:
        values = {"USUBJID": "S2", "TRLNKID": "NEW01", "TRTESTCD": "TUMSTATE",
                  "TRSTRESC": state, "TREVAL": "INVESTIGATOR", "VISITNUM": visit,
                  "VISIT": label, "TRDTC": day}  # fmt: skip
        return [values.get(column, "") for column in header]

    files["tr.csv"] += [
        new_row("2", "WEEK 6", "2024-02-10", "EQUIVOCAL"),
        new_row("3", "WEEK 12", "2024-03-26", "PRESENT"),
    ]
    result = compute(write_sdtm(tmp_path / "confirmed", files))
    s2 = next(r for r in result.results if r.subject.usubjid == "S2")
    assert [(p.response, p.new_lesion) for p in s2.responses.points] == [
        ("PD", True),
        ("PD", True),
    ]
    assert s2.pfs.end.isoformat() == "2024-02-10"
    files["tr.csv"] = files["tr.csv"][:-1]  # not confirmed (yet)
    result = compute(write_sdtm(tmp_path / "equivocal", files))
    s2 = next(r for r in result.results if r.subject.usubjid == "S2")
    assert [p.response for p in s2.responses.points] == ["SD", "SD"]


def test_teae_window_after_the_last_dose(tmp_path):
    result = compute(write_sdtm(tmp_path / "sdtm"), options=Options(teae_window_days=30))
    late = next(e for e in result.events if (e.usubjid, e.seq) == ("S1", "3"))
    assert not late.emergent  # 45 days after S1's last dose (EX 2024-03-01)
    result = compute(write_sdtm(tmp_path / "sdtm"), options=Options(teae_window_days=45))
    late = next(e for e in result.events if (e.usubjid, e.seq) == ("S1", "3"))
    assert late.emergent


def test_summary_counts_patients_not_events(outputs):
    data = json.loads((outputs / "endpoints.json").read_text(encoding="utf-8"))
    schema = json.loads(schema_path("endpoints.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, schema)
    cohorts = {g["id"]: g for g in data["cohorts"]}
    assert cohorts["A"]["n"] == 2 and cohorts["B"]["n"] == 1
    assert cohorts["A"]["response"]["orr"]["count"] == 1
    assert cohorts["A"]["response"]["orr"]["low"] == pytest.approx(0.0126, abs=1e-4)
    assert cohorts["B"]["response"]["orr"] == {
        "count": 1, "n": 1, "rate": 1.0, "low": 0.025, "high": 1.0,
    }  # fmt: skip
    safety = cohorts["A"]["safety"]
    assert safety == {
        "n": 2, "teae": 2, "teae_high_grade": 2, "serious": 1, "related": 1,
        "related_high_grade": 1, "related_serious": 0, "fatal": 0,
    }  # fmt: skip
    rows = data["adverse_events"]["by_cohort"]["rows"]
    nausea = next(r for r in rows if r["name"] == "NAUSEA")
    assert nausea["groups"]["A"] == {"any": 1, "high_grade": 1, "serious": 0, "related": 1}
    assert data["subjects"]["excluded"] == [
        {"id": "S4", "reason": "no start date (DM.RFSTDTC empty)"}
    ]
    assert data["disagreements"] == [
        {"usubjid": "S1", "visit": "WEEK 6", "date": "2024-02-12", "derived": "PR",
         "recorded": "SD"}
    ]  # fmt: skip


def test_report_escapes_input_text(outputs):
    html = (outputs / "endpoints.html").read_text(encoding="utf-8")
    assert "Arm &lt;A&gt;" in html and "Arm <A>" not in html
    assert "<script" not in html
    for section in ("inputs", "response", "waterfall", "swimmer", "pfs", "os", "safety"):
        assert f'id="{section}"' in html


def test_same_input_same_files(tmp_path):
    sdtm_dir = write_sdtm(tmp_path / "sdtm")
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    run_endpoints(sdtm_dir, out_dir=tmp_path / "one", now=when)
    run_endpoints(sdtm_dir, out_dir=tmp_path / "two", now=when)
    for name in ("adrs.tsv", "adtte.tsv", "adae.tsv", "endpoints.json", "endpoints.html"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    data = json.loads((tmp_path / "one" / "endpoints.json").read_text(encoding="utf-8"))
    assert data["generated_at"] == "2026-01-02T03:04:05Z"


# ------------------------------------------------------------------------ domain files


def touch(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text("USUBJID\n", encoding="utf-8")
    return folder


def test_exact_and_prefixed_names(tmp_path):
    folder = touch(tmp_path, "dm.csv", "ae_2024.tsv", "rs.onco.csv", "suppae.csv", "tu.txt")
    located = sdtm.locate_domains(folder)
    assert {k: v.name for k, v in located.files.items()} == {
        "DM": "dm.csv", "AE": "ae_2024.tsv", "RS": "rs.onco.csv",
    }  # fmt: skip
    assert located.absent == ["DS", "TU", "TR", "EX"]


def test_exact_name_wins_and_ambiguity_is_refused(tmp_path):
    located = sdtm.locate_domains(touch(tmp_path / "a", "tu.csv", "tu_extra.csv"))
    assert located.files["TU"].name == "tu.csv" and "tu_extra.csv" in located.notes["TU"]
    with pytest.raises(HaicgxError, match=r"dm.csv and dm.tsv are both the DM domain"):
        sdtm.locate_domains(touch(tmp_path / "b", "dm.csv", "dm.tsv"))
    with pytest.raises(HaicgxError, match=r"2 files could be the AE domain .*--domain AE=FILE"):
        sdtm.locate_domains(touch(tmp_path / "c", "ae_a.csv", "ae_b.csv"))


def test_lesion_files_are_paired_by_name(tmp_path):
    folder = touch(tmp_path, "tu_onco.csv", "tu_onco_recist.csv", "tr_onco_recist.csv")
    located = sdtm.locate_domains(folder)
    assert located.files["TU"].name == "tu_onco_recist.csv"
    assert "named like the TR file tr_onco_recist.csv" in located.notes["TU"]
    chosen = sdtm.locate_domains(folder, {"TU": Path("tu_onco.csv")})
    assert chosen.files["TU"].name == "tu_onco.csv"


def test_missing_domains_are_said_and_skipped(tmp_path):
    files = {name: rows for name, rows in FILES.items() if name in ("dm.csv", "ae.csv")}
    lines = run_endpoints(write_sdtm(tmp_path / "sdtm", files), out_dir=tmp_path / "out")
    text = "\n".join(lines)
    assert "TR: absent; skipped: RECIST 1.1 from measurements" in text
    assert "response: skipped" in text
    data = json.loads((tmp_path / "out" / "endpoints.json").read_text(encoding="utf-8"))
    assert data["overall"]["response"] is None and data["overall"]["pfs"] is None
    assert data["overall"]["os"]["n"] == 3
    assert (tmp_path / "out" / "adrs.tsv").read_text(encoding="utf-8").count("\n") == 1


# --------------------------------------------------------------------------- bad input


def broken(tmp_path: Path, name: str, row: int, column: str, value: str) -> Path:
    files = {k: [list(r) for r in v] for k, v in FILES.items()}
    header = files[name][0]
    files[name][row][header.index(column)] = value
    return write_sdtm(tmp_path / "sdtm", files)


@pytest.mark.parametrize(
    ("name", "row", "column", "value", "needles"),
    [
        ("dm.csv", 2, "RFSTDTC", "01/02/2024", ("dm.csv", "line 3 (S2)", "RFSTDTC", "ISO 8601")),
        ("dm.csv", 1, "RFSTDTC", "2024-02-30", ("line 2 (S1)", "not a calendar date")),
        ("ae.csv", 1, "AESER", "YES", ("ae.csv", "line 2 (S1)", "column AESER", "Y or N")),
        ("ae.csv", 2, "AETOXGR", "6", ("column AETOXGR", "CTCAE grade")),
        ("tr.csv", 5, "TRSTRESN", "twenty", ("tr.csv", "line 6 (S1)", "TRSTRESN", "a number")),
        ("tr.csv", 4, "TRSTRESC", "GONE", ("line 5 (S1)", "TRSTRESC", "unknown lesion state")),
        ("tr.csv", 2, "TRLNKID", "T09", ("line 3 (S1)", "TRLNKID", "not identified in TU")),
        ("tu.csv", 1, "TUSTRESC", "MAYBE", ("tu.csv", "line 2 (S1)", "TUSTRESC", "TARGET")),
        ("tr.csv", 5, "TRSTRESU", "in", ("line 6 (S1)", "TRSTRESU", "mm or cm")),
    ],
)
def test_bad_input_is_one_line_naming_file_row_and_column(
    tmp_path, capsys, name, row, column, value, needles
):
    folder = broken(tmp_path, name, row, column, value)
    assert main(["endpoints", "--sdtm", str(folder), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("haicgx: error: ")
    for needle in needles:
        assert needle in err, err
    assert not (tmp_path / "out").exists()


def test_structural_problems(tmp_path):
    folder = write_sdtm(tmp_path / "sdtm")
    (folder / "dm.csv").write_bytes(b"USUBJID,ARM\nS1,\xff\n")
    with pytest.raises(HaicgxError, match=r"dm.csv: line 2: not UTF-8 text"):
        compute(folder)
    (folder / "dm.csv").write_text("USUBJID,ARM,arm\nS1,A,A\n", encoding="utf-8")
    with pytest.raises(HaicgxError, match=r"header: column ARM appears twice"):
        compute(folder)
    (folder / "dm.csv").write_text("SUBJ,ARM\nS1,A\n", encoding="utf-8")
    with pytest.raises(HaicgxError, match=r"missing required column 'USUBJID'"):
        compute(folder)
    (folder / "dm.csv").write_text("USUBJID,ARM\nS1,A,extra\n", encoding="utf-8")
    with pytest.raises(HaicgxError, match=r"line 2: 3 cells, header has 2"):
        compute(folder)
    (folder / "dm.csv").write_text("USUBJID,ARM\nS1,A\nS1,B\n", encoding="utf-8")
    with pytest.raises(HaicgxError, match=r"line 3 \(S1\), column USUBJID: duplicate subject"):
        compute(folder)
    (folder / "dm.csv").unlink()
    with pytest.raises(HaicgxError, match=r"no DM file"):
        compute(folder)


def test_cli_refuses_a_bad_domain_option(tmp_path, capsys):
    folder = write_sdtm(tmp_path / "sdtm")
    assert main(["endpoints", "--sdtm", str(folder), "--domain", "XX=a.csv"]) == 1
    assert "unknown domain" in capsys.readouterr().err
    assert main(["endpoints", "--sdtm", str(folder), "--domain", "TU"]) == 1
    assert "expected CODE=FILE" in capsys.readouterr().err
    empty = tmp_path / "record.sqlite"
    empty.write_bytes(b"")
    assert main(["endpoints", "--sdtm", str(folder), "--db", str(empty)]) == 1
    assert "empty file (0 bytes)" in capsys.readouterr().err
