"""Concurrent runs and concurrent decisions (issue 18 item 9).

Two runs started at once in one folder, two folders sharing one record, then eight tumour-board
confirmations of one patient at the same moment: the record stays intact, no patient gets a
second version from identical inputs, and exactly one decision wins.

The record's own races (8 writers x 200 patients, a writer killed mid-write 20 times) are in
tests/unit/test_record.py (test_parallel_writers_never_lose_or_duplicate_a_row,
test_writer_killed_mid_write_leaves_a_consistent_record).
"""

from __future__ import annotations

import sqlite3
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from demo_workflow import BIN, demo_patients
from workflow_faults import command, environment, run

from haicgx import record

pytestmark = [pytest.mark.slow, pytest.mark.faults]


def run_together(*commands: tuple[list[str], Path]) -> list[subprocess.CompletedProcess]:
    started = [
        subprocess.Popen(
            cmd,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment(),
        )
        for cmd, cwd in commands
    ]
    ended = []
    for process in started:
        out, err = process.communicate(timeout=900)
        ended.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return ended


def versions(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT patient_id, count(*) FROM assignments GROUP BY patient_id")
        return dict(rows.fetchall())


def test_two_runs_in_one_folder_at_once(tmp_path):
    first, second = run_together((command(tmp_path), tmp_path), (command(tmp_path), tmp_path))
    codes = sorted([first.returncode, second.returncode])
    assert codes[0] == 0, first.stderr[-2000:] + second.stderr[-2000:]
    if codes[1] != 0:  # the one that came second was refused by the run lock, not half-run
        loser = first if first.returncode else second
        refusals = ("another run is working in", "LockException", "cannot be locked")
        assert any(r in loser.stderr for r in refusals), loser.stderr[-2000:]
    db = tmp_path / "results" / "cohort_record.sqlite"
    assert record.verify(db).intact
    assert versions(db) == dict.fromkeys(demo_patients(), 1)
    assert run(tmp_path).returncode == 0  # and nothing is left locked or incomplete


def test_two_folders_sharing_one_record_then_concurrent_confirms(tmp_path):
    shared = tmp_path / "shared" / "cohort_record.sqlite"
    shared.parent.mkdir()
    extra = tmp_path / "record.yaml"
    extra.write_text(f"record: {shared}\n", encoding="utf-8")
    folders = [tmp_path / "a", tmp_path / "b"]
    for folder in folders:
        folder.mkdir()
    results = run_together(*((command(f, configs=(extra,)), f) for f in folders))
    for result in results:
        assert result.returncode == 0, result.stderr[-3000:]
    assert record.verify(shared).intact
    # The same inputs in both folders: one version per patient, whichever run recorded first.
    assert versions(shared) == dict.fromkeys(demo_patients(), 1)

    proposed = next(
        a["patient_id"] for a in record.current_assignments(shared) if a["status"] == "proposed"
    )
    confirm = [
        str(BIN / "haicgx"), "record", "confirm", proposed, "--db", str(shared),
        "--results", str(folders[0] / "results"),
    ]  # fmt: skip
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(
            pool.map(
                lambda n: subprocess.run(
                    [*confirm, "--by", f"Dr {n}"], capture_output=True, text=True, timeout=300
                ),
                range(8),
            )
        )
    won = [o for o in outcomes if o.returncode == 0]
    assert len(won) == 1, [o.stderr for o in outcomes]
    for lost in outcomes:
        if lost.returncode:
            assert lost.stderr.startswith("haicgx: ") and lost.stderr.count("\n") == 1, lost.stderr
    confirmed = [e for e in record.events(shared, proposed) if e["event"] == "confirmed"]
    assert len(confirmed) == 1
    assert record.verify(shared).intact
    print(f"faults: 8 concurrent confirms of {proposed}: 1 won ({confirmed[0]['actor']})")
