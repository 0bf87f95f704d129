"""``haicgx endpoints`` as one function: read the SDTM folder, derive every endpoint, write them.

``compute`` reads and derives (nothing is written); ``write_outputs`` writes ``adrs.tsv``,
``adtte.tsv``, ``adae.tsv``, ``endpoints.json`` and ``endpoints.html`` into the output folder,
each replaced atomically; ``run_endpoints`` does both and returns the lines to print.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from haicgx.atomic import write_atomically
from haicgx.cohorts import load_cohorts
from haicgx.endpoints import DEFAULT_OUT, adam, recist, report, summary
from haicgx.endpoints.adverse import (
    AdverseEvent,
    adverse_events,
    grading,
    last_doses,
)
from haicgx.endpoints.population import (
    Population,
    Subject,
    check_unique_subjects,
    from_arm,
    from_record,
    read_record,
)
from haicgx.endpoints.responses import (
    Disagreement,
    SubjectResponses,
    VisitResponse,
    choose_evaluator,
    disagreements,
    from_measurements,
    from_rs,
)
from haicgx.endpoints.sdtm import NEEDED_FOR, Domain, Located, locate_domains, read_domains
from haicgx.endpoints.survival import (
    Death,
    TimeToEvent,
    deaths,
    last_known_alive,
    overall_survival,
    progression_free_survival,
)
from haicgx.errors import HaicgxError
from haicgx.knowledge import parse_regimens
from haicgx.paths import KNOWLEDGE_DIR, PROJECT_ROOT

log = logging.getLogger(__name__)

DEFAULT_COHORTS = PROJECT_ROOT / "config" / "cohorts.yaml"
DEFAULT_REGIMENS = KNOWLEDGE_DIR / "regimens.yaml"
OUTPUT_FILES: tuple[str, ...] = (
    "adrs.tsv",
    "adtte.tsv",
    "adae.tsv",
    "endpoints.json",
    "endpoints.html",
)


@dataclass(frozen=True)
class Options:
    """The protocol's parameters of the endpoint derivation."""

    evaluator: str = "INVESTIGATOR"
    sd_min_days: int = recist.SD_MIN_DAYS
    confirm_days: int = recist.CONFIRM_DAYS
    max_ne: int = recist.MAX_NE_BETWEEN
    teae_window_days: int | None = None  # no upper limit after the last dose


@dataclass
class SubjectResult:
    subject: Subject
    responses: SubjectResponses
    bor: recist.Best[VisitResponse]
    cbor: recist.Best[VisitResponse]
    pfs: TimeToEvent | None
    os: TimeToEvent
    dosed: bool


@dataclass
class Endpoints:
    """Everything derived from one SDTM folder."""

    sdtm_dir: Path
    located: Located
    domains: dict[str, Domain]
    population: Population
    options: Options
    results: list[SubjectResult]
    events: list[AdverseEvent] | None
    grading: str | None
    disagreements: list[Disagreement]
    record: Path | None
    skipped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    evaluators: dict[str, list[str]] = field(default_factory=dict)

    @property
    def study(self) -> str:
        dm = self.domains["DM"]
        return next((r.get("STUDYID") for r in dm.rows if r.get("STUDYID")), "") or ""


def compute(
    sdtm_dir: Path,
    *,
    db: Path | None = None,
    chosen: Mapping[str, Path] | None = None,
    options: Options | None = None,
    cohorts_path: Path | None = None,
    regimens_path: Path | None = None,
) -> Endpoints:
    """Read and validate the SDTM folder and derive every endpoint (writes nothing)."""
    options = options or Options()
    located = locate_domains(Path(sdtm_dir), chosen)
    if "DM" not in located.files:
        raise HaicgxError(
            f"{sdtm_dir}: no DM file (dm.csv or dm.tsv): DM is needed for {NEEDED_FOR['DM']}"
        )
    domains = read_domains(located)
    dm = domains["DM"]
    check_unique_subjects(dm)
    population = _population(dm, db, cohorts_path, regimens_path)
    skipped = {code: NEEDED_FOR[code] for code in located.absent}
    notes = list(population.notes)
    measurements = "TU" in domains and "TR" in domains
    if not measurements and ("TU" in domains or "TR" in domains):
        lone = "TU" if "TU" in domains else "TR"
        skipped[lone] = "read, but RECIST from measurements needs both TU and TR"
    has_response_data = measurements or "RS" in domains
    alive = last_known_alive(domains)
    died = deaths(dm, domains.get("DS"), alive)
    dosed = {row.subject for row in domains["EX"].rows} if "EX" in domains else None
    evaluators: dict[str, set[str]] = {}
    results: list[SubjectResult] = []
    found: list[Disagreement] = []
    groups: dict[str, dict[str, list]] = {
        code: domains[code].by_subject() for code in ("TU", "TR", "RS") if code in domains
    }
    for subject in population.subjects:
        responses, disagreed = _responses(
            subject, domains, groups, options, evaluators, measurements
        )
        found.extend(disagreed)
        notes.extend(f"{subject.usubjid}: {note}" for note in responses.notes)
        death = died.get(subject.usubjid)
        if death is not None and death.date < subject.start:
            notes.append(f"{subject.usubjid}: death date {death.date} before the start date")
        results.append(
            _subject_result(
                subject, responses, options, death, alive.get(subject.usubjid),
                dosed=dosed is None or subject.usubjid in dosed,
                with_pfs=has_response_data,
            )
        )  # fmt: skip
    if not has_response_data:
        skipped["response"] = "ORR, DCR, ADRS and PFS: no TU/TR or RS file"
    events = None
    mode = None
    if "AE" in domains:
        starts = {r.subject.usubjid: r.subject.start for r in results}
        events = adverse_events(
            domains["AE"],
            starts,
            last_doses(domains["DM"], domains.get("EX")),
            window_days=options.teae_window_days,
        )
        mode = grading(domains["AE"])
    return Endpoints(
        sdtm_dir=Path(sdtm_dir),
        located=located,
        domains=domains,
        population=population,
        options=options,
        results=results,
        events=events,
        grading=mode,
        disagreements=found,
        record=Path(db) if db else None,
        skipped=skipped,
        notes=notes,
        evaluators={k: sorted(v) for k, v in evaluators.items()},
    )


def _subject_result(
    subject: Subject,
    responses: SubjectResponses,
    options: Options,
    death: Death | None,
    alive: date | None,
    *,
    dosed: bool,
    with_pfs: bool,
) -> SubjectResult:
    """Best responses (RECIST 1.1 section 4.4.3, table 3), PFS and OS of one subject."""
    bor = recist.best_overall_response(
        responses.points, subject.start, sd_min_days=options.sd_min_days,
        non_target_only=responses.non_target_only,
    )  # fmt: skip
    cbor = recist.confirmed_best_overall_response(
        responses.points, subject.start, sd_min_days=options.sd_min_days,
        confirm_days=options.confirm_days, max_ne=options.max_ne,
        non_target_only=responses.non_target_only,
    )  # fmt: skip
    pfs = progression_free_survival(subject.start, responses.points, death) if with_pfs else None
    os_ = overall_survival(subject.start, death, alive)
    return SubjectResult(subject, responses, bor, cbor, pfs, os_, dosed)


def _population(
    dm: Domain, db: Path | None, cohorts_path: Path | None, regimens_path: Path | None
) -> Population:
    if db is None:
        return from_arm(dm)
    assignments = read_record(Path(db))
    cohorts = load_cohorts(cohorts_path or DEFAULT_COHORTS)
    regimens, *_ = parse_regimens(Path(regimens_path or DEFAULT_REGIMENS))
    return from_record(
        dm,
        assignments,
        cohort_names={c.id: c.name for c in cohorts.cohorts},
        regimen_names={r.regimen_id: r.name for r in regimens},
    )


def _responses(
    subject: Subject,
    domains: dict[str, Domain],
    groups: dict[str, dict[str, list]],
    options: Options,
    evaluators: dict[str, set[str]],
    measurements: bool,
) -> tuple[SubjectResponses, list[Disagreement]]:
    """A subject's time points: from measurements when it has them, else from RS."""
    usubjid = subject.usubjid
    recorded = None
    rs_rows = groups.get("RS", {}).get(usubjid)
    if rs_rows:
        rows, label = choose_evaluator(domains["RS"], rs_rows, "RS", options.evaluator)
        evaluators.setdefault("RS", set()).add(label)
        recorded = from_rs(domains["RS"], rows, subject.start)
    tr_rows = groups.get("TR", {}).get(usubjid) if measurements else None
    if tr_rows:
        tr_rows, tr_label = choose_evaluator(domains["TR"], tr_rows, "TR", options.evaluator)
        tu_all = groups["TU"].get(usubjid, [])
        tu_rows, tu_label = (
            choose_evaluator(domains["TU"], tu_all, "TU", options.evaluator)
            if tu_all
            else ([], "none")
        )
        evaluators.setdefault("TR", set()).add(tr_label)
        evaluators.setdefault("TU", set()).add(tu_label)
        derived = from_measurements(
            domains["TU"], domains["TR"], tu_rows, tr_rows, tu_rows, subject.start
        )
        if derived.points or recorded is None or not recorded.points:
            found = disagreements(usubjid, derived.points, recorded.points) if recorded else []
            return derived, found
        recorded.notes[:0] = [*derived.notes, "measurements unusable: RS responses used"]
        return recorded, []
    if recorded is not None:
        return recorded, []
    return SubjectResponses(), []


# ------------------------------------------------------------------------------ writing


def write_outputs(result: Endpoints, out_dir: Path, *, now: datetime | None = None) -> list[Path]:
    """Write the five outputs into ``out_dir``; return their paths."""
    out_dir = Path(out_dir)
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    tables = adam.tables(result)
    data = summary.build(result, generated_at=stamp)
    summary.validate(data)
    contents = {
        "adrs.tsv": adam.to_tsv(tables["ADRS"]),
        "adtte.tsv": adam.to_tsv(tables["ADTTE"]),
        "adae.tsv": adam.to_tsv(tables["ADAE"]),
        "endpoints.json": summary.to_json(data),
        "endpoints.html": report.render(data, result),
    }
    paths = [out_dir / name for name in OUTPUT_FILES]
    write_atomically({path: contents[path.name].encode("utf-8") for path in paths})
    return paths


def run_endpoints(
    sdtm_dir: Path,
    *,
    out_dir: Path = DEFAULT_OUT,
    db: Path | None = None,
    chosen: Mapping[str, Path] | None = None,
    options: Options | None = None,
    cohorts_path: Path | None = None,
    regimens_path: Path | None = None,
    now: datetime | None = None,
) -> list[str]:
    """Compute and write every endpoint; return the lines that tell what was read and written."""
    result = compute(
        sdtm_dir, db=db, chosen=chosen, options=options,
        cohorts_path=cohorts_path, regimens_path=regimens_path,
    )  # fmt: skip
    paths = write_outputs(result, out_dir, now=now)
    return [*describe(result), *(f"wrote {path}" for path in paths)]


@dataclass(frozen=True)
class WorkflowEndpoints:
    """The ``endpoints`` config section, validated and resolved (rules/endpoints.smk)."""

    sdtm: Path
    files: tuple[Path, ...]
    record: Path | None
    chosen: dict[str, str]
    options: Options


def workflow_endpoints(
    section: Mapping[str, Any], *, record: Path, cwd: Path, root: Path = PROJECT_ROOT
) -> WorkflowEndpoints:
    """Resolve the config's ``endpoints`` section; the domain files are found at once, so an
    ambiguous folder stops the run before any job. ``cwd`` (not ``workdir``, a Snakemake
    keyword at the start of a line) is the working directory."""
    from haicgx.settings import resolve_path

    sdtm = resolve_path(str(section["sdtm"]), workdir=cwd, root=root)
    assert sdtm is not None  # resolve_path gives None only for None
    chosen = {str(k): str(v) for k, v in dict(section.get("domains") or {}).items()}
    located = locate_domains(sdtm, {k: Path(v) for k, v in chosen.items()})
    options = Options(
        evaluator=str(section.get("evaluator", "INVESTIGATOR")),
        sd_min_days=round(float(section.get("sd_min_weeks", 6)) * 7),
        confirm_days=round(float(section.get("confirm_weeks", 4)) * 7),
        teae_window_days=section.get("teae_window_days"),
    )
    joined = section.get("join", "record") == "record"
    return WorkflowEndpoints(
        sdtm=sdtm,
        files=tuple(
            located.files[c]
            for c in ("DM", "DS", "TU", "TR", "RS", "AE", "EX")
            if c in located.files
        ),
        record=record if joined else None,
        chosen=chosen,
        options=options,
    )


def endpoints_job(
    *,
    sdtm: str,
    out_dir: str,
    record: str | None,
    chosen: Mapping[str, str],
    options: Mapping[str, Any],
) -> None:
    """The workflow's endpoints job (scripts/endpoints.py): compute, write, log what was done."""
    lines = run_endpoints(
        Path(sdtm),
        out_dir=Path(out_dir),
        db=Path(record) if record else None,
        chosen={k: Path(v) for k, v in chosen.items()},
        options=Options(**options),
    )
    for line in lines:
        log.info(line)


def describe(result: Endpoints) -> list[str]:
    """What was read, what is absent and skipped, and who is analysed."""
    lines = []
    for code in [c for c in ("DM", "DS", "TU", "TR", "RS", "AE", "EX") if c in result.domains]:
        rows = len(result.domains[code].rows)
        lines.append(f"{code}: {result.located.notes[code]}, {rows} rows")
    for absent in result.located.absent:
        lines.append(f"{absent}: absent; skipped: {NEEDED_FOR[absent]}")
    for what, why in result.skipped.items():
        if what not in result.located.absent:
            lines.append(f"{what}: skipped: {why}")
    population = result.population
    lines.append(
        f"{len(population.subjects)} subjects analysed (groups from {population.grouping}), "
        f"{len(population.excluded)} not analysed"
    )
    return lines
