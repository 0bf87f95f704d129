"""ADaM-shaped tables for the trial statistician: ADRS, ADTTE and ADAE, as pandas DataFrames and
TSV.

ADRS: one ``OVR`` row per post-baseline time point, and per subject ``BOR`` (best overall
response, unconfirmed) and ``CBOR`` (confirmed, RECIST 1.1 table 3), each dated by the time point
it rests on. ADTTE: ``PFS`` and ``OS`` per subject, ``AVAL`` in days from ``STARTDT``, ``CNSR`` 1
when censored. ADAE: every adverse event of an analysed subject, with ``TRTEMFL``, the grade and
the relation flag used by the tables. Text cells a spreadsheet would run as a formula (leading
``=``, ``+``, ``-``, ``@``) are written with a leading apostrophe.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pandas as pd

from haicgx.endpoints.dates import iso

if TYPE_CHECKING:
    from haicgx.endpoints.run import Endpoints, SubjectResult

ADRS_COLUMNS: tuple[str, ...] = (
    "STUDYID", "USUBJID", "COHORT", "REGIMEN", "STARTDT", "PARAMCD", "PARAM", "AVALC", "ADT",
    "ADTF", "ADY", "VISIT", "VISITNUM", "SRCDOM", "TRGRESP", "NTRGRESP", "NEWLES", "SUMDIAM",
    "BASESUM", "NADIR", "PCHG", "ANL01FL",
)  # fmt: skip
ADTTE_COLUMNS: tuple[str, ...] = (
    "STUDYID", "USUBJID", "COHORT", "REGIMEN", "PARAMCD", "PARAM", "AVAL", "AVALU", "CNSR",
    "STARTDT", "ADT", "ADTF", "EVNTDESC", "CNSDTDSC", "SRCDOM",
)  # fmt: skip
ADAE_COLUMNS: tuple[str, ...] = (
    "STUDYID", "USUBJID", "COHORT", "REGIMEN", "SAFFL", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS",
    "ASTDT", "ASTDTF", "AENDT", "TRTEMFL", "ATOXGR", "AESEV", "AESER", "AEREL", "AERELFL",
    "AEFATFL",
)  # fmt: skip
PARAMS: dict[str, str] = {
    "OVR": "Overall Response by {evaluator} (RECIST 1.1)",
    "BOR": "Best Overall Response by {evaluator} (RECIST 1.1, unconfirmed)",
    "CBOR": "Confirmed Best Overall Response by {evaluator} (RECIST 1.1)",
    "PFS": "Progression-Free Survival (days)",
    "OS": "Overall Survival (days)",
}
FORMULA_START = ("=", "+", "-", "@")


def _yn(flag: bool | None) -> str:
    return "" if flag is None else ("Y" if flag else "N")


def _mm(value: Decimal | None) -> str:
    return "" if value is None else f"{value.normalize():f}"


def _common(result: Endpoints, item: SubjectResult) -> dict[str, Any]:
    subject = item.subject
    return {
        "STUDYID": result.study,
        "USUBJID": subject.usubjid,
        "COHORT": subject.cohort_id,
        "REGIMEN": subject.regimen_group,
    }


def adrs(result: Endpoints) -> pd.DataFrame:
    evaluator = result.options.evaluator.title()
    rows: list[dict[str, Any]] = []
    if "response" in result.skipped:  # no TU/TR or RS: no response to tabulate
        return _frame(rows, ADRS_COLUMNS)
    for item in _ordered(result):
        base = _common(result, item)
        base["STARTDT"] = iso(item.subject.start)
        first_pd = next((p for p in item.responses.points if p.response == "PD"), None)
        for point in item.responses.points:
            rows.append(
                {
                    **base,
                    "PARAMCD": "OVR",
                    "PARAM": PARAMS["OVR"].format(evaluator=evaluator),
                    "AVALC": point.response,
                    "ADT": iso(point.date),
                    "ADTF": point.date_flag,
                    "ADY": (point.date - item.subject.start).days,
                    "VISIT": point.visit,
                    "VISITNUM": point.visitnum,
                    "SRCDOM": point.source,
                    "TRGRESP": point.target or "",
                    "NTRGRESP": point.non_target or "",
                    "NEWLES": _yn(point.new_lesion) if point.source == "TR" else "",
                    "SUMDIAM": _mm(point.total),
                    "BASESUM": _mm(point.baseline),
                    "NADIR": _mm(point.nadir),
                    "PCHG": "" if point.pchg is None else f"{point.pchg:.2f}",
                    "ANL01FL": "Y" if first_pd is None or point.date <= first_pd.date else "",
                }
            )
        for code, best in (("BOR", item.bor), ("CBOR", item.cbor)):
            at = best.point
            rows.append(
                {
                    **base,
                    "PARAMCD": code,
                    "PARAM": PARAMS[code].format(evaluator=evaluator),
                    "AVALC": best.response,
                    "ADT": iso(at.date) if at else "",
                    "ADTF": at.date_flag if at else "",
                    "ADY": (at.date - item.subject.start).days if at else "",
                    "VISIT": at.visit if at else "",
                    "VISITNUM": at.visitnum if at else "",
                    "SRCDOM": at.source if at else "",
                    "ANL01FL": "Y",
                }
            )
    return _frame(rows, ADRS_COLUMNS)


def adtte(result: Endpoints) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for item in _ordered(result):
        for tte in (item.pfs, item.os):
            if tte is None:
                continue
            rows.append(
                {
                    **_common(result, item),
                    "PARAMCD": tte.paramcd,
                    "PARAM": PARAMS[tte.paramcd],
                    "AVAL": tte.days,
                    "AVALU": "DAYS",
                    "CNSR": 1 if tte.censored else 0,
                    "STARTDT": iso(tte.start),
                    "ADT": iso(tte.end),
                    "ADTF": tte.end_flag,
                    "EVNTDESC": tte.event,
                    "CNSDTDSC": tte.censoring,
                    "SRCDOM": tte.source,
                }
            )
    return _frame(rows, ADTTE_COLUMNS)


def adae(result: Endpoints) -> pd.DataFrame:
    by_subject = {item.subject.usubjid: item for item in result.results}
    rows: list[dict[str, Any]] = []
    events = sorted(result.events or [], key=lambda e: (e.usubjid, e.line))
    for event in events:
        item = by_subject[event.usubjid]
        ctcae = result.grading == "CTCAE"
        rows.append(
            {
                **_common(result, item),
                "SAFFL": _yn(item.dosed),
                "AESEQ": event.seq,
                "AETERM": event.term,
                "AEDECOD": event.decod,
                "AEBODSYS": event.soc,
                "ASTDT": iso(event.start),
                "ASTDTF": event.start_flag,
                "AENDT": iso(event.end),
                "TRTEMFL": _yn(event.emergent),
                "ATOXGR": "" if not ctcae or event.grade is None else str(event.grade),
                "AESEV": event.severity,
                "AESER": _yn(event.serious),
                "AEREL": event.relation,
                "AERELFL": _yn(event.related),
                "AEFATFL": _yn(event.fatal),
            }
        )
    return _frame(rows, ADAE_COLUMNS)


def tables(result: Endpoints) -> dict[str, pd.DataFrame]:
    return {"ADRS": adrs(result), "ADTTE": adtte(result), "ADAE": adae(result)}


def _ordered(result: Endpoints) -> list[SubjectResult]:
    return sorted(result.results, key=lambda item: item.subject.usubjid)


def _frame(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns), dtype=object)
    return frame.fillna("")


def _cell(value: Any) -> str:
    """A TSV cell: text made inert when a spreadsheet would run it, no tab or line break."""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, int | float):
        return str(value)
    text = " ".join(str(value).replace("\t", " ").splitlines())
    if text.startswith(FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def to_tsv(frame: pd.DataFrame) -> str:
    """The table as TSV text (header, then one line per row)."""
    lines = ["\t".join(frame.columns)]
    for values in frame.itertuples(index=False, name=None):
        lines.append("\t".join(_cell(v) for v in values))
    return "\n".join(lines) + "\n"
