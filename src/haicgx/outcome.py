"""One outcome per patient: the analysis writes `outcome.json`, rule publish reads it.

An analysis job writes, in each of its patients' folders (results/work/{batch}/{patient_id}/),
`outcome.json`: the status (`ok` or `failed`), a one-line message (empty when ok) and the seconds
each stage took. A failed patient's folder holds that file alone. Rule publish
(`python -m haicgx.outcome`, `main` below) links an ok patient's outputs into
results/patients/{patient_id}/, or fails that patient alone with its message; the run's end
(`haicgx.jobs.failed_patients`) reads the same file.

Rule publish is a shell command, not a `run:` block: Snakemake starts a whole new Snakemake
process, parsing the Snakefile again, for every `run:` job (1.8 s each, most of a 100-patient
run: docs/performance.md), and a shell job only this module's Python (about 0.1 s). So this
module imports nothing but the standard library and haicgx.errors.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from haicgx.errors import HaicgxError

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


def publish_patient(analysed: str, outputs: list[str], log: str) -> None:
    """Rule publish: one patient's outputs out of its analysis job's folder, hard-linked where
    the filesystem allows (no copy of a large variants.tsv), else copied; or the patient's own
    failure, said in one line on stderr and raised (Snakemake then fails this patient alone)."""
    folder, targets = Path(analysed), [Path(o) for o in outputs]
    outcome = read_outcome(folder)
    if outcome is None:
        message = f"no {OUTCOME} in {folder}: its analysis job stopped (see its log)"
    elif not outcome.ok:
        message = outcome.message
    elif missing := [t.name for t in targets if not (folder / t.name).is_file()]:
        message = f"{folder} lacks {', '.join(missing)}"  # never expected: they move in together
    else:
        for target in targets:
            target.unlink(missing_ok=True)
            try:
                os.link(folder / target.name, target)
            except OSError:
                shutil.copyfile(folder / target.name, target)
        Path(log).write_text("published " + " ".join(outputs) + "\n", encoding="utf-8")
        return
    Path(log).write_text(f"failed: {message}\n", encoding="utf-8")
    print(f"haicgx: {message}", file=sys.stderr, flush=True)
    # Snakemake prints this too, with where it was raised: the message is said once, above.
    raise PatientFailed(f"{folder.name} failed: its one-line message is above and in {log}")


class PatientFailed(HaicgxError):
    """Raised by rule publish for a patient whose analysis failed (the message is its outcome's)."""


def main(argv: list[str] | None = None) -> int:
    """Rule publish: ``python -m haicgx.outcome FOLDER LOG OUTPUT...``. Exit status 1 for a
    failed patient, whose one line is then on stderr and in LOG."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 3:
        print("haicgx: usage: python -m haicgx.outcome FOLDER LOG OUTPUT...", file=sys.stderr)
        return 2
    folder, log, *outputs = args
    try:
        publish_patient(folder, outputs, log)
    except PatientFailed:
        return 1
    except OSError as error:  # a full disk, say: one line, and Snakemake removes what was made
        print(f"haicgx: cannot publish {Path(folder).name}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
