"""One outcome per patient: the analysis writes `outcome.json`, rule publish reads it.

An analysis job writes, in each of its patients' folders (results/work/{batch}/{patient_id}/),
`outcome.json`: the status (`ok` or `failed`), a one-line message (empty when ok) and the seconds
each stage took. A failed patient's folder holds that file alone. Rule publish
(scripts/publish.py) copies an ok patient's outputs to results/patients/{patient_id}/, or fails
that patient alone with its message; the run's end (`haicgx.jobs.failed_patients`) reads the same
file. Standard library only: rule publish runs once per patient, on the submitting host.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

OUTCOME = "outcome.json"


@dataclass(frozen=True)
class Outcome:
    status: str  # ok, failed
    message: str = ""  # one line: why the patient failed
    timings: dict[str, float] = field(default_factory=dict)  # seconds, by stage

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def write_outcome(folder: Path, outcome: Outcome) -> None:
    data = asdict(outcome)
    data["message"] = " ".join(outcome.message.split())
    data["timings"] = {stage: round(s, 3) for stage, s in outcome.timings.items()}
    (folder / OUTCOME).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def read_outcome(folder: Path) -> Outcome | None:
    """The patient's outcome; None when its analysis wrote none (the job itself stopped)."""
    try:
        data = json.loads((folder / OUTCOME).read_text(encoding="utf-8"))
        return Outcome(data["status"], data["message"], data["timings"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def publish(analysed: Path, outputs: list[Path], log: Path) -> int:
    """Rule publish: one patient's outputs out of its analysis job's folder, hard-linked where
    the filesystem allows (no copy of a large variants.tsv), else copied; or the patient's own
    failure. Returns the exit status."""
    outcome = read_outcome(analysed)
    if outcome is None or not outcome.ok:
        message = outcome.message if outcome else f"no {OUTCOME} in {analysed}"
        log.write_text(f"failed: {message}\n", encoding="utf-8")
        print(f"haicgx: {message}", file=sys.stderr)
        return 1
    missing = [o.name for o in outputs if not (analysed / o.name).is_file()]
    if missing:  # never expected: the analysis moves its outputs in together
        message = f"{analysed} says ok but lacks {', '.join(missing)}"
        log.write_text(f"failed: {message}\n", encoding="utf-8")
        print(f"haicgx: {message}", file=sys.stderr)
        return 1
    for output in outputs:
        source = analysed / output.name
        output.unlink(missing_ok=True)
        try:
            os.link(source, output)
        except OSError:
            shutil.copyfile(source, output)
    log.write_text("published " + " ".join(map(str, outputs)) + "\n", encoding="utf-8")
    return 0
