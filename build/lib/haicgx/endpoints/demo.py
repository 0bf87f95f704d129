"""Synthetic SDTM follow-up for the demo cohort: what a site would send after enrolment.

SYNTHETIC DATA for trying ``haicgx endpoints`` on the demo: no real patient, no real outcome.
Each patient's course is drawn from a generator seeded by the seed and the patient id, so the
same enrolments give the same files. Lesions are measured at baseline (up to two weeks before
the start) and every six weeks until progression, death or about 24 months; the courses mix
responders (one reaching CR, with a lymph node that shrinks under 10 mm), stable and progressing
disease, a missed lesion measurement (an NE time point), a new lesion at progression, deaths, and
one patient followed through the site's RS responses only. Adverse events carry CTCAE grades,
seriousness and relation.

``resources/demo/make_followup.py`` writes them for the patients of a cohort record.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from haicgx.endpoints.population import read_record

STUDY = "HAICGX-DEMO"
SCAN_DAYS = 42
HORIZON_DAYS = 750  # a little over 24 months, so that the 24-month rates can be estimated
CYCLE_DAYS = 21
COLUMNS: dict[str, tuple[str, ...]] = {
    "dm": ("STUDYID", "DOMAIN", "USUBJID", "SUBJID", "RFSTDTC", "RFPENDTC", "DTHDTC", "DTHFL",
           "ARMCD", "ARM", "SITEID"),
    "ds": ("STUDYID", "DOMAIN", "USUBJID", "DSSEQ", "DSTERM", "DSDECOD", "DSCAT", "DSSTDTC"),
    "tu": ("STUDYID", "DOMAIN", "USUBJID", "TUSEQ", "TULNKID", "TUTESTCD", "TUTEST", "TUORRES",
           "TUSTRESC", "TULOC", "TUMETHOD", "TUEVAL", "VISITNUM", "VISIT", "TUDTC"),
    "tr": ("STUDYID", "DOMAIN", "USUBJID", "TRSEQ", "TRGRPID", "TRLNKID", "TRTESTCD", "TRTEST",
           "TRORRES", "TRSTRESC", "TRSTRESN", "TRSTRESU", "TRSTAT", "TREVAL", "VISITNUM", "VISIT",
           "TRDTC"),
    "rs": ("STUDYID", "DOMAIN", "USUBJID", "RSSEQ", "RSTESTCD", "RSTEST", "RSCAT", "RSORRES",
           "RSSTRESC", "RSEVAL", "VISITNUM", "VISIT", "RSDTC"),
    "ae": ("STUDYID", "DOMAIN", "USUBJID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AESEV",
           "AESER", "AEREL", "AETOXGR", "AEOUT", "AESTDTC", "AEENDTC"),
    "ex": ("STUDYID", "DOMAIN", "USUBJID", "EXSEQ", "EXTRT", "EXROUTE", "EXSTDTC", "EXENDTC"),
}  # fmt: skip
# (term, MedDRA preferred term, system organ class, usual grades, related to the study drugs)
AE_TERMS: tuple[tuple[str, str, str, tuple[int, ...], bool], ...] = (
    ("Abdominal pain after infusion", "Abdominal pain", "Gastrointestinal disorders",
     (1, 2, 3), True),
    ("Nausea", "Nausea", "Gastrointestinal disorders", (1, 2), True),
    ("Raised ALT", "Alanine aminotransferase increased", "Investigations", (1, 2, 3), True),
    ("Neutropenia", "Neutrophil count decreased", "Investigations", (2, 3, 4), True),
    ("Hypertension", "Hypertension", "Vascular disorders", (2, 3), True),
    ("RCCEP", "Reactive cutaneous capillary endothelial proliferation",
     "Skin and subcutaneous tissue disorders", (1, 2), True),
    ("Hypothyroidism", "Hypothyroidism", "Endocrine disorders", (1, 2), True),
    ("Fatigue", "Fatigue", "General disorders and administration site conditions", (1, 2), True),
    ("Peripheral sensory neuropathy", "Peripheral sensory neuropathy",
     "Nervous system disorders", (1, 2), True),
    ("Catheter site infection", "Device related infection", "Infections and infestations",
     (2, 3), False),
    ("Fall at home", "Fall", "Injury, poisoning and procedural complications", (1, 2), False),
)  # fmt: skip
SEVERITY = {1: "MILD", 2: "MODERATE", 3: "SEVERE", 4: "SEVERE", 5: "SEVERE"}
COURSES: tuple[str, ...] = ("complete", "responder", "stable", "progressor")


@dataclass(frozen=True)
class Enrolment:
    patient_id: str
    start: date
    arm_code: str
    arm: str


def enrolments_from_record(db_path: Path) -> list[Enrolment]:
    """The analysable patients of a record (confirmed, overridden or proposed), in id order."""
    out = []
    for patient_id, assignment in sorted(read_record(Path(db_path)).items()):
        if assignment.status in ("waitlisted", "withdrawn") or assignment.assigned_on is None:
            continue
        regimen = assignment.regimen_id or ""
        out.append(Enrolment(patient_id, assignment.assigned_on, regimen, regimen))
    return out


class _Writer:
    """Rows of every domain, with per-subject sequence numbers."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, str]]] = {name: [] for name in COLUMNS}
        self.seq: dict[tuple[str, str], int] = {}

    def add(self, domain: str, usubjid: str, **values: object) -> None:
        key = (domain, usubjid)
        self.seq[key] = self.seq.get(key, 0) + 1
        seq_column = f"{domain.upper()}SEQ"
        row = {"STUDYID": STUDY, "DOMAIN": domain.upper(), "USUBJID": usubjid}
        if seq_column in COLUMNS[domain]:
            row[seq_column] = str(self.seq[key])
        row.update({k: "" if v is None else str(v) for k, v in values.items()})
        self.rows[domain].append(row)


def demo_followup(enrolments: list[Enrolment], *, seed: int = 20) -> dict[str, list[dict]]:
    """SDTM rows per domain for the enrolled patients (see the module docstring)."""
    out = _Writer()
    for index, enrolment in enumerate(enrolments):
        rng = random.Random(f"{seed}:{enrolment.patient_id}")
        course = COURSES[index % len(COURSES)]
        rs_only = index % len(COURSES) == 3 and index >= len(COURSES)
        _patient(out, rng, enrolment, course, rs_only=rs_only, missed=index == 1)
    return out.rows


def _patient(
    out: _Writer, rng: random.Random, e: Enrolment, course: str, *, rs_only: bool, missed: bool
) -> None:
    pid = e.patient_id
    lesions = _lesions(rng, complete=course == "complete")
    scans = _scan_days(rng)
    progression_at = _progression_visit(rng, course)
    final = len(scans) - 1
    last_scan = final if progression_at is None else min(progression_at, final)
    died = course == "progressor" or (course == "stable" and rng.random() < 0.5)
    scan_dates = [e.start + timedelta(days=d) for d in scans[: last_scan + 1]]
    end_day = scans[last_scan] + rng.randint(30, 200)
    end_day = min(end_day, HORIZON_DAYS)
    death_day = end_day if died else None
    last_contact = e.start + timedelta(days=end_day)
    out.add(
        "dm", pid, SUBJID=pid, RFSTDTC=e.start.isoformat(), RFPENDTC=last_contact.isoformat(),
        DTHDTC=_iso(e.start, death_day), DTHFL="Y" if died else "", ARMCD=e.arm_code,
        ARM=e.arm, SITEID="01",
    )  # fmt: skip
    out.add("ds", pid, DSTERM="ENROLLED", DSDECOD="ENROLLED", DSCAT="PROTOCOL MILESTONE",
            DSSTDTC=e.start.isoformat())  # fmt: skip
    if died:
        out.add("ds", pid, DSTERM="DEATH", DSDECOD="DEATH", DSCAT="DISPOSITION EVENT",
                DSSTDTC=_iso(e.start, death_day))  # fmt: skip
    else:
        out.add("ds", pid, DSTERM="ALIVE AT DATA CUT-OFF", DSDECOD="COMPLETED",
                DSCAT="DISPOSITION EVENT", DSSTDTC=last_contact.isoformat())  # fmt: skip
    _exposure(out, pid, e, scans[last_scan])
    _adverse_events(out, rng, pid, e.start, scans[last_scan])
    if rs_only:
        _rs(out, pid, scan_dates[1:], course, progression_at)
        return
    _tumours(out, rng, pid, lesions, scan_dates, course, progression_at, missed)


def _iso(start: date, day: int | None) -> str:
    return "" if day is None else (start + timedelta(days=day)).isoformat()


def _lesions(rng: random.Random, *, complete: bool) -> list[tuple[str, str, str, float]]:
    """(id, role, site, baseline size in mm: longest diameter, or short axis for a node)."""
    lesions = [("T01", "TARGET", "LIVER", float(rng.randint(25, 60)))]
    if complete or rng.random() < 0.7:
        lesions.append(("T02", "TARGET", "LIVER", float(rng.randint(12, 35))))
    if complete or rng.random() < 0.5:
        lesions.append(("T03", "TARGET", "LYMPH NODE", float(rng.randint(15, 28))))
    if rng.random() < 0.4:
        lesions.append(("T04", "TARGET", "LUNG", float(rng.randint(10, 22))))
    lesions.append(("NT01", "NON-TARGET", rng.choice(("LIVER", "PERITONEUM", "BONE")), 0.0))
    return lesions


def _scan_days(rng: random.Random) -> list[int]:
    days = [-rng.randint(1, 14)]
    day = 0
    while day + SCAN_DAYS <= HORIZON_DAYS:
        day += SCAN_DAYS
        days.append(day + rng.randint(-3, 3))
    return days


def _progression_visit(rng: random.Random, course: str) -> int | None:
    if course == "progressor":
        return rng.randint(1, 2)
    if course == "stable":
        return rng.randint(3, 8)
    if course == "responder":
        return rng.choice((None, rng.randint(6, 12)))
    return None


def _factor(course: str, visit: int, progression_at: int | None) -> float:
    """The size of a target lesion at a visit relative to baseline."""
    if progression_at is not None and visit >= progression_at:
        base = _factor(course, progression_at - 1, None) if progression_at > 1 else 1.0
        return base * 1.45
    if course == "complete":
        return max(0.0, 1 - 0.4 * visit)
    if course == "responder":
        return max(0.35, 1 - 0.2 * visit)
    if course == "stable":
        return 1 - 0.03 * min(visit, 3)
    return 1 + 0.05 * visit


def _tumours(
    out: _Writer,
    rng: random.Random,
    pid: str,
    lesions: list[tuple[str, str, str, float]],
    scan_dates: list[date],
    course: str,
    progression_at: int | None,
    missed: bool,
) -> None:
    for lesion_id, role, site, _ in lesions:
        out.add("tu", pid, TULNKID=lesion_id, TUTESTCD="TUMIDENT", TUTEST="Tumor Identification",
                TUORRES=role, TUSTRESC=role, TULOC=site, TUMETHOD="CT SCAN", TUEVAL="INVESTIGATOR",
                VISITNUM=1, VISIT="BASELINE", TUDTC=scan_dates[0].isoformat())  # fmt: skip
    for visit, when in enumerate(scan_dates):
        label = "BASELINE" if visit == 0 else f"WEEK {6 * visit}"
        common = {"TREVAL": "INVESTIGATOR", "VISITNUM": visit + 1, "VISIT": label,
                  "TRDTC": when.isoformat()}  # fmt: skip
        factor = _factor(course, visit, progression_at)
        for lesion_id, role, site, size in lesions:
            if role == "NON-TARGET":
                state = "PRESENT"
                if course == "complete" and visit >= 2:
                    state = "ABSENT"
                out.add("tr", pid, TRGRPID=role, TRLNKID=lesion_id, TRTESTCD="TUMSTATE",
                        TRTEST="Tumor State", TRORRES=state, TRSTRESC=state, **common)  # fmt: skip
                continue
            node = site == "LYMPH NODE"
            value = size * factor * (1 + rng.uniform(-0.04, 0.04)) if visit else size
            if node and course == "complete" and visit >= 2:
                value = 7.0 + visit % 3  # back under 10 mm: a normal node (RECIST 4.3.2)
            value = round(value)
            test, name = (
                ("LPERP", "Longest Perpendicular") if node else ("LDIAM", "Longest Diameter")
            )
            if missed and visit == 2 and lesion_id == "T01":
                out.add("tr", pid, TRGRPID=role, TRLNKID=lesion_id, TRTESTCD=test, TRTEST=name,
                        TRSTAT="NOT DONE", **common)  # fmt: skip
                continue
            out.add("tr", pid, TRGRPID=role, TRLNKID=lesion_id, TRTESTCD=test, TRTEST=name,
                    TRORRES=value, TRSTRESC=value, TRSTRESN=value, TRSTRESU="mm",
                    **common)  # fmt: skip
        if progression_at is not None and visit == progression_at and course != "stable":
            out.add("tu", pid, TULNKID="NEW01", TUTESTCD="TUMIDENT", TUTEST="Tumor Identification",
                    TUORRES="NEW", TUSTRESC="NEW", TULOC="LUNG", TUMETHOD="CT SCAN",
                    TUEVAL="INVESTIGATOR", VISITNUM=visit + 1, VISIT=label,
                    TUDTC=when.isoformat())  # fmt: skip


def _rs(out: _Writer, pid: str, dates: list[date], course: str, progression_at: int | None) -> None:
    """The site's own overall responses, for a patient without lesion measurements."""
    for visit, when in enumerate(dates, start=1):
        if progression_at is not None and visit >= progression_at:
            response = "PD"
        else:
            response = {"complete": "CR", "responder": "PR"}.get(course, "SD")
        out.add("rs", pid, RSTESTCD="OVRLRESP", RSTEST="Overall Response", RSCAT="RECIST 1.1",
                RSORRES=response, RSSTRESC=response, RSEVAL="INVESTIGATOR", VISITNUM=visit + 1,
                VISIT=f"WEEK {6 * visit}", RSDTC=when.isoformat())  # fmt: skip


def _exposure(out: _Writer, pid: str, e: Enrolment, treated_days: int) -> None:
    cycles = max(1, min(6, treated_days // CYCLE_DAYS))
    for cycle in range(cycles):
        day = e.start + timedelta(days=cycle * CYCLE_DAYS)
        for treatment, route in ((e.arm, "INTRA-ARTERIAL"), ("CAMRELIZUMAB", "INTRAVENOUS"),
                                 ("BEVACIZUMAB", "INTRAVENOUS")):  # fmt: skip
            out.add("ex", pid, EXTRT=treatment, EXROUTE=route, EXSTDTC=day.isoformat(),
                    EXENDTC=(day + timedelta(days=2)).isoformat())  # fmt: skip


def _adverse_events(
    out: _Writer, rng: random.Random, pid: str, start: date, treated_days: int
) -> None:
    for term, decod, soc, grades, related in rng.sample(AE_TERMS, rng.randint(2, 5)):
        grade = rng.choice(grades)
        onset = start + timedelta(days=rng.randint(1, max(2, treated_days)))
        out.add(
            "ae", pid, AETERM=term, AEDECOD=decod, AEBODSYS=soc, AESEV=SEVERITY[grade],
            AESER="Y" if grade >= 3 and rng.random() < 0.5 else "N",
            AEREL=rng.choice(("POSSIBLE", "PROBABLE")) if related else "NOT RELATED",
            AETOXGR=grade, AEOUT="RECOVERED/RESOLVED", AESTDTC=onset.isoformat(),
            AEENDTC=(onset + timedelta(days=rng.randint(3, 30))).isoformat(),
        )  # fmt: skip


def write_followup(folder: Path, tables: dict[str, list[dict]]) -> list[Path]:
    """One TSV per domain (``dm.tsv`` ...) in ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for domain, columns in COLUMNS.items():
        path = folder / f"{domain}.tsv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(
                handle, fieldnames=columns, delimiter="\t", lineterminator="\n", restval=""
            )
            writer.writeheader()
            writer.writerows(tables[domain])
        paths.append(path)
    return paths
