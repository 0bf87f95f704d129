"""What leaves the record: the current assignments as TSV, the guard that no output is written
over a record, and the results folder where record commands rewrite the views."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from haicgx.atomic import is_sqlite_file, write_atomically
from haicgx.errors import HaicgxError
from haicgx.record.state import RECORD_EXPORT_COLUMNS, current_assignments
from haicgx.record.store import _transaction
from haicgx.tsv import tsv_text


def export_tsv(db_path: str | Path, path: str | Path) -> int:
    """Write the current assignments as TSV (RECORD_EXPORT_COLUMNS) atomically; return the count.

    Refuses the record itself (any name for it: symlink, hard link), its journal files, any
    existing SQLite file, a folder and a missing folder. Cells go through ``haicgx.tsv.cell``:
    tabs and line breaks inside notes become spaces, formula-like text is made inert.
    """
    target = Path(path)
    if not target.parent.is_dir():
        raise HaicgxError(f"cannot export to {target}: the folder {target.parent} does not exist")
    check_output_path(target, db_path)
    assignments = current_assignments(db_path)
    write_atomically({target: assignments_tsv(assignments).encode("utf-8")})
    return len(assignments)


def assignments_tsv(assignments: Iterable[dict[str, Any]]) -> str:
    """The text of an export or of cohort_record.tsv."""
    rows = ([row[c] for c in RECORD_EXPORT_COLUMNS] for row in assignments)
    return tsv_text(RECORD_EXPORT_COLUMNS, rows)


def check_output_path(target: str | Path, db_path: str | Path) -> None:
    """Refuse to write ``target`` when it is the record (under any name), one of its journal
    files, another SQLite file or a folder: no command ever writes over a record."""
    target, db = Path(target), Path(db_path)
    if target.is_dir():
        raise HaicgxError(f"cannot write {target}: it is a folder; give a file name")
    protected = [db] + [db.with_name(db.name + suffix) for suffix in ("-wal", "-shm", "-journal")]
    for path in protected:
        same = _same_file(target, path)
        if same or _absolute(target) == _absolute(path):
            raise HaicgxError(
                f"refusing to write {target}: it is the cohort record {path} itself"
                if path == db
                else f"refusing to write {target}: it is the journal file {path} of the record"
            )
    if is_sqlite_file(target):
        raise HaicgxError(f"refusing to write over {target}: it is an SQLite database")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)  # symlinks resolved, hard links by device and inode
    except OSError:
        return False


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path))


def note_results_folder(db_path: str | Path, folder: str | Path) -> None:
    """Remember the run's results folder (absolute) in the record's meta table, so record
    commands rewrite the views there even when the record is kept elsewhere (a local disk on
    a cluster). Writes only when it changed."""
    value = str(Path(folder).resolve())

    def work(conn: sqlite3.Connection) -> None:
        row = conn.execute("SELECT value FROM meta WHERE key = 'results_folder'").fetchone()
        if row is None or row[0] != value:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('results_folder', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (value,),
            )

    _transaction(Path(db_path), work)


def noted_results_folder(db_path: str | Path) -> Path | None:
    """The results folder the last run noted (``note_results_folder``), if any."""
    sql = "SELECT value FROM meta WHERE key = 'results_folder'"
    row = _transaction(Path(db_path), lambda conn: conn.execute(sql).fetchone(), write=False)
    return Path(row[0]) if row else None
