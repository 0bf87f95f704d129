"""Adding rows: each version and each event is inserted at the next place of the hash chain, and
each status change of a version is written with its event."""

from __future__ import annotations

import sqlite3
from typing import Any

from haicgx.record import chain


def _set_status(
    conn: sqlite3.Connection,
    row: sqlite3.Row,
    status: str,
    *,
    event: str,
    at: str,
    by: str | None = None,
    note: str | None = None,
) -> None:
    conn.execute("UPDATE assignments SET status = ? WHERE id = ?", (status, row["id"]))
    _add_event(conn, row, event, status, by=by, note=note, at=at)


def _add_event(
    conn: sqlite3.Connection,
    row: Any,
    event: str,
    status: str,
    *,
    by: str | None,
    note: str | None,
    at: str,
    regimen_id: str | None = None,
    acknowledged: int | None = None,
) -> None:
    _append(
        conn,
        "events",
        {
            "assignment_id": row["id"],
            "patient_id": row["patient_id"],
            "version": row["version"],
            "event": event,
            "status": status,
            "actor": by,
            "note": note,
            "at": at,
            "regimen_id": regimen_id,
            "contraindication_acknowledged": acknowledged,
        },
    )


def _append(conn: sqlite3.Connection, table: str, values: dict[str, Any]) -> dict[str, Any]:
    """Insert the next row of ``table`` with its id and its place in the hash chain.

    Runs inside the writer's BEGIN IMMEDIATE transaction, so the id, the chain position and
    the previous hash read here cannot change before the insert.
    """
    head = conn.execute(_CHAIN_HEAD).fetchone()
    row = dict(values)
    row["id"] = conn.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()[0]
    row["chain_seq"] = head["chain_seq"] + 1 if head else 1
    row["prev_hash"] = head["row_hash"] if head else chain.GENESIS
    row["row_hash"] = chain.row_hash(table, row, row["prev_hash"])
    columns = ", ".join(row)
    marks = ", ".join("?" * len(row))
    conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(row.values()))
    return row


_CHAIN_HEAD = (  # the newest row of either table; each max() is read from its index
    "SELECT chain_seq, row_hash FROM assignments "
    "WHERE chain_seq = (SELECT max(chain_seq) FROM assignments) "
    "UNION ALL SELECT chain_seq, row_hash FROM events "
    "WHERE chain_seq = (SELECT max(chain_seq) FROM events) "
    "ORDER BY chain_seq DESC LIMIT 1"
)
