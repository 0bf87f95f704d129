"""``verify``: integrity, schema, hash chain and replay of the history; never writes to the file."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from haicgx.record import chain
from haicgx.record.append import _CHAIN_HEAD
from haicgx.record.schema import SCHEMA_VERSION, _dicts, _schema_1_problems, _schema_problems
from haicgx.record.store import _check_not_newer, _schema_version, _transaction


@dataclass(frozen=True)
class Verification:
    """What ``verify`` found: ``problems`` empty means the history is intact."""

    db_path: Path
    schema_version: int
    versions: int
    events: int
    head: str | None
    problems: tuple[str, ...]

    @property
    def intact(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """One line: ``intact: N versions, M events; chain head H`` or the count of problems."""
        if self.intact:
            head = f"; chain head {self.head}" if self.head else ""
            return f"intact: {self.versions} versions, {self.events} events{head}"
        count = len(self.problems)
        return (
            f"cohort record {self.db_path} failed verification: {count} "
            f"problem{'s' if count != 1 else ''} ({self.problems[0]}"
            f"{'; ...' if count > 1 else ''})"
        )


def verify(db_path: str | Path) -> Verification:
    """Check that the record's history is intact; never writes to the file.

    Checks ``PRAGMA integrity_check``, the schema (every table, index and trigger exactly as
    the migrations create it: a dropped or edited append-only trigger is named), the hash
    chain (haicgx.record_chain), and that each version's status and decision are what its
    events say. A record of an older schema has no chain yet: it is reported as such, with
    what can still be checked.
    """
    db = Path(db_path)
    return _transaction(db, lambda conn: _verify(conn, db), write=False, migrate=False)


def _verify(conn: sqlite3.Connection, db_path: Path) -> Verification:
    version = _schema_version(conn, db_path)
    _check_not_newer(version, db_path)
    problems = [
        f"PRAGMA integrity_check: {row[0]}"
        for row in conn.execute("PRAGMA integrity_check").fetchall()
        if row[0] != "ok"
    ]
    if version < SCHEMA_VERSION:
        problems.append(
            f"schema version {version} predates the hash chain (schema {SCHEMA_VERSION}): the "
            "chain is computed at the record's next write (a run, or a record command that "
            "changes it)"
        )
        problems += _schema_1_problems(conn) if version == 1 else []
        counts = _counts(conn) if version >= 1 else (0, 0)
        return Verification(db_path, version, *counts, None, tuple(problems))
    problems += _schema_problems(conn, SCHEMA_VERSION)
    missing = _missing_columns(conn)
    if missing:
        problems.append(f"the history cannot be replayed: missing columns {', '.join(missing)}")
        return Verification(db_path, version, *_counts(conn), None, tuple(problems))
    assignments = _dicts(conn, "SELECT * FROM assignments ORDER BY id")
    events = _dicts(conn, "SELECT * FROM events ORDER BY id")
    problems += chain.chain_problems(assignments, events)
    problems += chain.replay_problems(assignments, events)
    head = conn.execute(_CHAIN_HEAD).fetchone()
    return Verification(
        db_path,
        version,
        len(assignments),
        len(events),
        head["row_hash"] if head else None,
        tuple(problems),
    )


def _missing_columns(conn: sqlite3.Connection) -> list[str]:
    needed = {
        "assignments": {*chain.ASSIGNMENT_HASHED, "status", "prev_hash", "row_hash"}
        | {column for column, _ in chain.DECISION_COLUMNS},
        "events": {*chain.EVENT_HASHED, "prev_hash", "row_hash"},
    }
    missing = []
    for table, columns in needed.items():
        present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        missing += [f"{table}.{column}" for column in sorted(columns - present)]
    return missing


def _counts(conn: sqlite3.Connection) -> tuple[int, int]:
    """Rows of each table; 0 for a table that is gone (the schema check names it)."""
    counts = []
    for table in ("assignments", "events"):
        try:
            counts.append(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        except sqlite3.OperationalError:
            counts.append(0)
    return counts[0], counts[1]
