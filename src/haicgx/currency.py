"""Currency: a patient's published outputs derive from the current inputs, or they are redone.

Rule analyse writes into a temp() folder that Snakemake deletes once every patient is published.
A change of an input that only rule analyse names (the knowledge, the cohorts, a config value)
is then invisible to Snakemake: after a failed or killed analysis job the next run found no
analysis folder to compare, said "Nothing to be done" and kept the old recommendations.

So each patient has a stamp, ``results/work/inputs/{patient_id}.json``: a digest of everything
that can change its result (its sheet row and VCF content, the knowledge, the cohorts, the
reference, every config value but those listed in NOT_RESULT_KEYS, the pipeline version). The
Snakefile rewrites a stamp when, and only when, its digest changes, before any job; the stamp is
an input of rule publish, and through its analysis job's stamp (`write_batch_stamps`) of rule
analyse, so a changed stamp makes Snakemake redo both whatever the state of its metadata. A
missing stamp is written anew, and a new file is newer than every output: when it cannot tell,
it redoes. An analysis folder left by an earlier run is redone too (`left_over`). `current`
tells the record which published outputs it may trust.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from haicgx import __version__

STAMPS = Path("results") / "work" / "inputs"
RUN_LOCK = STAMPS.parent / "run.lock"

# Config keys that cannot change a patient's result: where the sheet is (its rows are in the
# digest), how patients are grouped into jobs, where the record is, the trial endpoints.
NOT_RESULT_KEYS = frozenset({"patients", "patients_per_job", "record", "endpoints"})
# Sheet columns that only say where a patient is written in the sheet.
NOT_RESULT_FIELDS = frozenset({"sheet_row"})


def stamp_path(patient_id: str, stamps: Path = STAMPS) -> Path:
    return stamps / f"{patient_id}.json"


def file_digest(path: Path) -> str:
    """sha256 of a small file's bytes (knowledge, cohorts)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_state(path: Path | None) -> list[Any]:
    """A large file (the reference) by path, size and modification time. An unreadable file
    is its error, which differs from any state it had when it was analysed."""
    if path is None:
        return [None]
    try:
        info = os.stat(path)
    except OSError as error:
        return [str(path), type(error).__name__]
    return [str(path), info.st_size, info.st_mtime_ns]


def shared_parts(settings: Any) -> dict[str, Any]:
    """What every patient's result depends on (a `haicgx.settings.Settings`)."""
    config = {k: v for k, v in settings.config.items() if k not in NOT_RESULT_KEYS}
    return {
        "pipeline_version": __version__,
        "config": config,
        "biomarkers": file_digest(settings.biomarkers),
        "regimens": file_digest(settings.regimens),
        "findings": file_digest(settings.findings),
        "cohorts": file_digest(settings.cohorts),
        "fasta": file_state(settings.fasta),
        "gff3": file_state(settings.gff3),
    }


def vcf_state(path: Path, seen: Path) -> list[Any]:
    """A VCF by its path and content (sha256), so that a file touched or copied back unchanged
    redoes nothing, as Snakemake's own checksums would have it. The sha256 is kept in `seen`
    with the file's size and time, and computed again only when they change. Only a regular
    file is read (a FIFO would block); anything else, or an unreadable file, is its error."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            return [str(path), "not a regular file"]
        key = [str(path), info.st_size, info.st_mtime_ns]
        try:
            known = json.loads(seen.read_text(encoding="utf-8"))
            if known["file"] == key:
                return [str(path), known["sha256"]]
        except (OSError, ValueError, KeyError, TypeError):
            pass
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    except OSError as error:
        return [str(path), type(error).__name__]
    _write_atomic(seen, json.dumps({"file": key, "sha256": digest.hexdigest()}) + "\n")
    return [str(path), digest.hexdigest()]


def patient_stamp(
    patient: dict[str, Any], shared: dict[str, Any], stamps: Path = STAMPS
) -> dict[str, Any]:
    """One patient's stamp: its digest and the parts it was made of (to see what changed)."""
    row = {k: v for k, v in patient.items() if k not in NOT_RESULT_FIELDS}
    seen = stamps / f".{patient['patient_id']}.vcf.json"
    parts = {"patient": row, "vcf": vcf_state(Path(patient["vcf"]), seen), **shared}
    text = json.dumps(parts, sort_keys=True, default=str)
    return {"digest": hashlib.sha256(text.encode()).hexdigest(), "parts": json.loads(text)}


def write_stamps(
    patients: Iterable[dict[str, Any]],
    settings: Any,
    stamps: Path = STAMPS,
    redo: Iterable[str] = (),
) -> list[str]:
    """Rewrite the stamp of each patient (`haicgx.jobs.patient_params`) whose digest changed or
    cannot be read, or who is in `redo`; return those patients. An unchanged stamp keeps its
    modification time."""
    shared = shared_parts(settings)
    redo = set(redo)
    stamps.mkdir(parents=True, exist_ok=True)
    changed = []
    for patient in patients:
        stamp = patient_stamp(patient, shared, stamps)
        path = stamp_path(patient["patient_id"], stamps)
        if patient["patient_id"] in redo:
            # New bytes, not only a new time: Snakemake does not count an input as updated
            # when its checksum is the one it recorded, however new the file.
            stamp["renewal"] = secrets.token_hex(8)
        if "renewal" in stamp or _digest(path) != stamp["digest"]:
            _write_atomic(path, json.dumps(stamp, indent=1, sort_keys=True) + "\n")
            changed.append(patient["patient_id"])
    return changed


def batch_stamp_path(batch: str, stamps: Path = STAMPS) -> Path:
    """An analysis job's stamp: in a folder of its own, as `batch001` is a valid patient id."""
    return stamps / "batches" / f"{batch}.json"


def write_batch_stamps(batches: dict[str, list[str]], stamps: Path = STAMPS) -> list[str]:
    """Rewrite the stamp of each analysis job whose patients' stamps changed (a digest of their
    bytes, renewals included), or whose patients changed; return those jobs.

    The one input of rule analyse that stands for its patients: with each patient's VCF and
    stamp as inputs (about 100 a job), Snakemake's scheduler looked up the size of every input
    of every ready job in each round, so its main process took most of a core at 5,000 patients
    (docs/performance.md). A VCF's content is in its patient's stamp."""
    folder = stamps / "batches"
    folder.mkdir(parents=True, exist_ok=True)
    changed = []
    for batch, ids in batches.items():
        members = {pid: _bytes_digest(stamp_path(pid, stamps)) for pid in ids}
        text = json.dumps({"patients": members}, indent=1) + "\n"
        path = batch_stamp_path(batch, stamps)
        try:
            same = path.read_text(encoding="utf-8") == text
        except (OSError, ValueError):
            same = False
        if not same:
            _write_atomic(path, text)
            changed.append(batch)
    return changed


def _bytes_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def left_over(work: Path, batches: dict[str, list[str]]) -> list[str]:
    """The patients of every analysis folder an earlier run left in `work`.

    Snakemake removes an analysis folder (a temp() output) once all its patients are published,
    so one found before a run starts was left by a run that failed or was killed: whatever it
    holds (a failure of a disk since freed, files a killed job half wrote, a failure marker
    written while Snakemake's own metadata could not be) is not trusted, and its patients are
    analysed again. Call it only from the run's main process, before any job."""
    return [pid for batch, ids in batches.items() if (work / batch).exists() for pid in ids]


def current(patient_id: str, outputs: Iterable[Path], stamps: Path = STAMPS) -> bool:
    """True when every output exists and none is older than the patient's stamp: made by a job
    that started after the inputs were last seen to change. No stamp: not current."""
    try:
        since = os.stat(stamp_path(patient_id, stamps)).st_mtime_ns
        return all(os.stat(path).st_mtime_ns >= since for path in outputs)
    except OSError:
        return False


_held: list[int] = []  # the open lock file of this process's run, kept open until it exits


def hold_run_lock(path: Path = RUN_LOCK) -> bool:
    """Take the folder's run lock for the life of this process; False when another run has it.

    Snakemake's own lock is a check then a write, so two runs started at the same moment can
    both pass it and analyse into the same folders; and one run's left-over check would take
    the other's live analysis folders for left-overs. An flock is atomic and the kernel frees it
    when its holder ends, however it ends (a kill -9 leaves no stale lock)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    _held.append(fd)
    return True


def _digest(path: Path) -> str | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))["digest"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_atomic(path: Path, text: str) -> None:
    """Never a half-written stamp, even with two runs starting at once (mode from the umask)."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    try:
        with temporary.open("x", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
