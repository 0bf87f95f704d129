"""The record's schema: the SQL of each migration, and the check of a file's schema against it.

``MIGRATIONS[n]`` takes a file from schema version n to n + 1 (append, never edit). A new record
runs every migration too, so every record has the same schema text, which ``verify`` compares
table by table, index by index and trigger by trigger. The hash chain and ``verify`` depend on
the exact SQL text here: a changed string is a new migration.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import cache
from typing import Any

from haicgx.record import chain
from haicgx.record.inputs import _utc_now

# Migration 1 is frozen history: its status list is the vocabulary of the day. A test checks it
# still equals haicgx.vocab.RECORD_STATUSES, so a vocabulary change forces a new migration.
_V1_STATUSES = "('proposed', 'confirmed', 'overridden', 'waitlisted', 'superseded')"
_V1_EVENTS = "('recorded', 'superseded', 'confirmed', 'overridden', 'released', 'promoted')"
_V1_FROZEN = (
    "id, patient_id, version, cohort_id, cohort_max_patients, primary_site, regimen_id, "
    "ranked_regimen_ids, recommendation_sha256, vcf_sha256, knowledge_sha256, "
    "pipeline_version, created_at"
)
_V1_STATEMENTS: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    f"""CREATE TABLE assignments (
        id INTEGER PRIMARY KEY,
        patient_id TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1),
        cohort_id TEXT,
        cohort_max_patients INTEGER,
        primary_site TEXT NOT NULL,
        regimen_id TEXT NOT NULL,
        ranked_regimen_ids TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN {_V1_STATUSES}),
        recommendation_sha256 TEXT NOT NULL CHECK (length(recommendation_sha256) = 64),
        vcf_sha256 TEXT NOT NULL CHECK (length(vcf_sha256) = 64),
        knowledge_sha256 TEXT NOT NULL CHECK (length(knowledge_sha256) = 64),
        pipeline_version TEXT NOT NULL,
        created_at TEXT NOT NULL,
        decided_by TEXT,
        decided_at TEXT,
        decision_regimen_id TEXT,
        decision_note TEXT,
        UNIQUE (patient_id, version)
    )""",
    "CREATE INDEX assignments_cohort_status ON assignments (cohort_id, status)",
    f"""CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        assignment_id INTEGER NOT NULL REFERENCES assignments (id),
        patient_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        event TEXT NOT NULL CHECK (event IN {_V1_EVENTS}),
        status TEXT NOT NULL CHECK (status IN {_V1_STATUSES}),
        actor TEXT,
        note TEXT,
        at TEXT NOT NULL
    )""",
    "CREATE INDEX events_patient ON events (patient_id)",
    """CREATE TRIGGER assignments_no_delete BEFORE DELETE ON assignments
    BEGIN SELECT RAISE(ABORT, 'the cohort record is append-only: nothing is deleted'); END""",
    f"""CREATE TRIGGER assignments_frozen BEFORE UPDATE OF {_V1_FROZEN} ON assignments
    BEGIN SELECT RAISE(ABORT, 'the cohort record is append-only: no version is rewritten');
    END""",
    """CREATE TRIGGER assignments_decided_once BEFORE UPDATE OF decided_by, decided_at,
        decision_regimen_id, decision_note ON assignments WHEN OLD.decided_at IS NOT NULL
    BEGIN SELECT RAISE(ABORT, 'a tumour-board decision is recorded once'); END""",
    """CREATE TRIGGER assignments_status_forward BEFORE UPDATE OF status ON assignments
    WHEN NOT (
        (OLD.status = 'proposed' AND NEW.status IN ('confirmed', 'overridden', 'superseded'))
        OR (OLD.status = 'waitlisted' AND NEW.status IN ('proposed', 'superseded'))
        OR (OLD.status IN ('confirmed', 'overridden') AND NEW.status = 'superseded'))
    BEGIN SELECT RAISE(ABORT, 'status change not allowed in the cohort record'); END""",
    """CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END""",
    """CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END""",
)


def _migration_1(conn: sqlite3.Connection) -> None:
    """Schema 1: meta, assignments, events and the append-only triggers."""
    for statement in _V1_STATEMENTS:
        conn.execute(statement)


# Migration 2: the hash chain (haicgx.record.chain), the acknowledgement of a contraindication,
# the decision's regimen on its event, and guards against REPLACE. A fresh record runs
# migrations 1 and 2 too, so every record has the same schema text, which verify compares.
_V2_FROZEN = _V1_FROZEN + ", chain_seq, prev_hash, row_hash"
_V2_DECISION = (
    "decided_by, decided_at, decision_regimen_id, decision_note, contraindication_acknowledged"
)
_NEXT_IN_CHAIN = (
    "(max(coalesce((SELECT max(chain_seq) FROM assignments), 0), "
    "coalesce((SELECT max(chain_seq) FROM events), 0)) + 1)"
)
_V2_BEFORE: tuple[str, ...] = (
    "ALTER TABLE assignments ADD COLUMN contraindication_acknowledged INTEGER",
    "ALTER TABLE assignments ADD COLUMN chain_seq INTEGER",
    "ALTER TABLE assignments ADD COLUMN prev_hash TEXT",
    "ALTER TABLE assignments ADD COLUMN row_hash TEXT",
    "ALTER TABLE events ADD COLUMN regimen_id TEXT",
    "ALTER TABLE events ADD COLUMN contraindication_acknowledged INTEGER",
    "ALTER TABLE events ADD COLUMN chain_seq INTEGER",
    "ALTER TABLE events ADD COLUMN prev_hash TEXT",
    "ALTER TABLE events ADD COLUMN row_hash TEXT",
    # Re-created below with the new columns; dropped first so the existing rows can be chained.
    "DROP TRIGGER assignments_frozen",
    "DROP TRIGGER assignments_decided_once",
    "DROP TRIGGER events_no_update",
)
_V2_AFTER: tuple[str, ...] = (
    "CREATE INDEX assignments_chain ON assignments (chain_seq)",
    "CREATE INDEX events_chain ON events (chain_seq)",
    f"""CREATE TRIGGER assignments_frozen BEFORE UPDATE OF {_V2_FROZEN} ON assignments
    BEGIN SELECT RAISE(ABORT, 'the cohort record is append-only: no version is rewritten');
    END""",
    f"""CREATE TRIGGER assignments_decided_once BEFORE UPDATE OF {_V2_DECISION} ON assignments
    WHEN OLD.decided_at IS NOT NULL
    BEGIN SELECT RAISE(ABORT, 'a tumour-board decision is recorded once'); END""",
    """CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END""",
    # INSERT OR REPLACE would delete the row it collides with without firing the DELETE
    # triggers: only the next row (new id, new patient version, next chain place) gets in.
    f"""CREATE TRIGGER assignments_append_only BEFORE INSERT ON assignments
    WHEN NEW.id IS NULL OR NEW.id <= (SELECT coalesce(max(id), 0) FROM assignments)
        OR EXISTS (SELECT 1 FROM assignments
                   WHERE patient_id = NEW.patient_id AND version = NEW.version)
        OR NEW.chain_seq IS NOT {_NEXT_IN_CHAIN}
        OR length(NEW.prev_hash) IS NOT 64 OR length(NEW.row_hash) IS NOT 64
    BEGIN SELECT RAISE(ABORT, 'the cohort record is append-only: a version is never replaced');
    END""",
    f"""CREATE TRIGGER events_append_only BEFORE INSERT ON events
    WHEN NEW.id IS NULL OR NEW.id <= (SELECT coalesce(max(id), 0) FROM events)
        OR NOT EXISTS (SELECT 1 FROM assignments WHERE id = NEW.assignment_id)
        OR NEW.chain_seq IS NOT {_NEXT_IN_CHAIN}
        OR length(NEW.prev_hash) IS NOT 64 OR length(NEW.row_hash) IS NOT 64
    BEGIN SELECT RAISE(ABORT, 'the event log is append-only: an event is never replaced'); END""",
    """CREATE TRIGGER meta_no_delete BEFORE DELETE ON meta
    BEGIN SELECT RAISE(ABORT, 'the cohort record keeps its schema version'); END""",
)


def _migration_2(conn: sqlite3.Connection) -> None:
    """Schema 2: the hash chain over the rows already there, in the order they were written."""
    for statement in _V2_BEFORE:
        conn.execute(statement)
    conn.execute(
        "UPDATE events SET regimen_id = (SELECT decision_regimen_id FROM assignments "
        "WHERE assignments.id = events.assignment_id) WHERE event IN ('confirmed', 'overridden')"
    )
    assignments = _dicts(conn, "SELECT * FROM assignments ORDER BY id")
    events = _dicts(conn, "SELECT * FROM events ORDER BY id")
    prev = chain.GENESIS
    for seq, (table, row) in enumerate(chain.chain_order(assignments, events), start=1):
        chained = {**row, "chain_seq": seq, "prev_hash": prev}
        chained["row_hash"] = chain.row_hash(table, chained, prev)
        conn.execute(
            f"UPDATE {table} SET chain_seq = ?, prev_hash = ?, row_hash = ? WHERE id = ?",
            (seq, prev, chained["row_hash"], row["id"]),
        )
        prev = chained["row_hash"]
    if assignments or events:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('chain_started', ?)",
            (
                f"{_utc_now()}: chained {len(assignments)} versions and {len(events)} events "
                "written under schema 1",
            ),
        )
    for statement in _V2_AFTER:
        conn.execute(statement)


# MIGRATIONS[n] takes a file from schema version n to n + 1; append, never edit.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_migration_1, _migration_2)
SCHEMA_VERSION = len(MIGRATIONS)


def _schema_1_problems(conn: sqlite3.Connection) -> list[str]:
    """What can be checked of a record written before the hash chain."""
    problems = _schema_problems(conn, 1)
    if problems:
        return problems
    assignments = _dicts(conn, "SELECT * FROM assignments ORDER BY id")
    events = _dicts(conn, "SELECT * FROM events ORDER BY id")
    return chain.replay_problems(assignments, events, with_decision_regimen=False)


def _schema_problems(conn: sqlite3.Connection, version: int) -> list[str]:
    """Every table, index and trigger that is missing, altered or unexpected."""
    expected = _expected_schema(version)
    actual = {
        (kind, name): (table, sql)
        for kind, name, table, sql in conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master"
        )
        if not name.startswith("sqlite_stat")  # ANALYZE statistics change no data
    }
    problems = []
    for (kind, name), definition in sorted(expected.items()):
        what = f"{kind} {name}" + (" (an append-only guard)" if kind == "trigger" else "")
        if (kind, name) not in actual:
            problems.append(f"schema: {what} is missing: it was dropped")
        elif actual[(kind, name)] != definition:
            problems.append(f"schema: {what} differs from the expected SQL: it was altered")
    for kind, name in sorted(set(actual) - set(expected)):
        problems.append(f"schema: unexpected {kind} {name}: it was added outside haicgx")
    return problems


@cache
def _expected_schema(version: int) -> dict[tuple[str, str], tuple[str, str | None]]:
    """sqlite_master as the migrations up to ``version`` create it, on an empty database."""
    conn = sqlite3.connect(":memory:")
    try:
        for step in MIGRATIONS[:version]:
            step(conn)
        rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
    finally:
        conn.close()
    return {(kind, name): (table, sql) for kind, name, table, sql in rows}


def _dicts(conn: sqlite3.Connection, sql: str) -> list[dict[str, Any]]:
    """Rows as dicts, whatever the connection's row factory."""
    cursor = conn.execute(sql)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
