"""Opening the record: one transaction per call (BEGIN IMMEDIATE for writes, lock errors retried
with backoff), a new record created whole beside its place and hard-linked in, and an older
schema migrated (or, for a reader, read through a migrated in-memory copy)."""

from __future__ import annotations

import logging
import os
import random
import secrets
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from haicgx.errors import HaicgxError
from haicgx.record.schema import MIGRATIONS, SCHEMA_VERSION, _schema_1_problems

log = logging.getLogger("haicgx.record")  # one logger for the whole record, as log lines name it

T = TypeVar("T")


DEFAULT_DB = Path("results") / "cohort_record.sqlite"
BUSY_TIMEOUT_S = 60.0
RETRY_DEADLINE_S = 300.0


def _transaction(
    db_path: Path,
    work: Callable[[sqlite3.Connection], T],
    *,
    create: bool = False,
    write: bool = True,
    migrate: bool = True,
) -> T:
    """Run ``work`` in one transaction (BEGIN IMMEDIATE for writes), retrying lock errors.

    ``migrate`` False (verify): the file is read at the schema it has.
    """
    deadline = time.monotonic() + RETRY_DEADLINE_S
    delay = 0.05
    while True:
        try:
            return _run_once(db_path, work, create=create, write=write, migrate=migrate)
        except sqlite3.OperationalError as exc:
            if not _is_lock_error(exc) or time.monotonic() > deadline:
                raise HaicgxError(f"cohort record {db_path}: {exc}") from exc
            log.debug("cohort record %s busy (%s); retrying", db_path, exc)
        except sqlite3.DatabaseError as exc:
            raise HaicgxError(f"cohort record {db_path}: {exc}") from exc
        time.sleep(delay * random.uniform(0.5, 1.5))  # jitter: writers do not retry in step
        delay = min(delay * 2, 2.0)


def _run_once(
    db_path: Path,
    work: Callable[[sqlite3.Connection], T],
    *,
    create: bool,
    write: bool,
    migrate: bool,
) -> T:
    conn = _connect(db_path, create=create, write=write, migrate=migrate)
    try:
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            result = work(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result
    finally:
        conn.close()


def _check_file(db_path: Path, *, create: bool) -> None:
    """Refuse a record that cannot be one; create a new record only where no file exists."""
    try:
        status = db_path.stat()
    except FileNotFoundError:
        if db_path.is_symlink():
            raise HaicgxError(f"cohort record {db_path} is a broken symbolic link") from None
        if not create:
            raise HaicgxError(f"cohort record not found: {db_path}") from None
        _create_record(db_path)
        return
    if not db_path.is_file():
        raise HaicgxError(f"cohort record {db_path} is not a file")
    if status.st_size == 0:
        raise HaicgxError(
            f"the record {db_path} is empty (0 bytes): restore it from backup; "
            "refusing to start a new record over it"
        )


def _create_record(db_path: Path) -> None:
    """Create a new record whole: schema written beside it, then hard-linked into place.

    A link never replaces a file, so when two writers create the record at once one link
    wins and the other writer uses that record; no reader ever sees a 0-byte record.
    """
    db_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = db_path.with_name(f".{db_path.name}.{secrets.token_hex(6)}.new")
    try:
        conn = sqlite3.connect(temporary, isolation_level=None)
        try:
            # The schema goes in with a rollback journal, so a full disk fails the COMMIT. In WAL
            # mode it would wait in the WAL for the checkpoint at close(), whose failure
            # close() does not report: the file linked into place was then malformed.
            _migrate(conn, temporary)
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]  # in the header
            if mode != "wal" or conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.OperationalError(f"the new file did not check out ({mode})")
        finally:
            conn.close()
        try:
            os.link(temporary, db_path)
        except FileExistsError:
            pass  # another writer created it first: use theirs
        except OSError as exc:
            raise HaicgxError(
                f"cannot create the cohort record {db_path}: {exc.strerror} "
                "(keep the record on a local disk)"
            ) from exc
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{temporary}{suffix}").unlink(missing_ok=True)
    log.info("cohort record %s created (schema %d)", db_path, SCHEMA_VERSION)


def _connect(
    db_path: Path, *, create: bool, write: bool = True, migrate: bool = True
) -> sqlite3.Connection:
    _check_file(db_path, create=create)
    # mode=rw: SQLite never creates the file (it could, if it vanished since the check).
    uri = f"{db_path.absolute().as_uri()}?mode=rw"
    conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        if write:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise HaicgxError(
                    f"cohort record {db_path}: cannot use a WAL journal (got {mode!r}); "
                    "keep the record on a local disk"
                )
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        # REPLACE then fires DELETE triggers; the BEFORE INSERT triggers refuse it anyway.
        conn.execute("PRAGMA recursive_triggers = ON")
        version = _schema_version(conn, db_path)
        _check_not_newer(version, db_path)
        if version < SCHEMA_VERSION and migrate:
            if write:
                _migrate(conn, db_path)
            else:
                conn = _migrated_copy(conn, db_path)
    except BaseException:
        conn.close()
        raise
    return conn


def _migrated_copy(conn: sqlite3.Connection, db_path: Path) -> sqlite3.Connection:
    """An older record read through an in-memory copy at the current schema: reading never
    writes to the file; the file itself is migrated at its next write."""
    copy = sqlite3.connect(":memory:", isolation_level=None)
    try:
        copy.row_factory = sqlite3.Row
        conn.backup(copy)
        conn.close()
        _migrate(copy, db_path, check_history=False)
    except BaseException:
        copy.close()
        raise
    return copy


def _schema_version(conn: sqlite3.Connection, db_path: Path) -> int:
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "meta" not in tables:
        if tables:
            raise HaicgxError(f"{db_path} is an SQLite file but not a haicgx cohort record")
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    try:
        return int(row[0]) if row else 0
    except ValueError:
        raise HaicgxError(
            f"cohort record {db_path}: schema_version {row[0]!r} is not a number"
        ) from None


def _check_not_newer(version: int, db_path: Path) -> None:
    if version > SCHEMA_VERSION:
        raise HaicgxError(
            f"cohort record {db_path} has schema version {version}, newer than this haicgx "
            f"understands ({SCHEMA_VERSION}): use a newer haicgx"
        )


def _migrate(conn: sqlite3.Connection, db_path: Path, *, check_history: bool = True) -> None:
    """Bring the file to SCHEMA_VERSION in one transaction; refuse a file from a newer haicgx.

    Before a schema-1 record gets its hash chain, its guards and history are checked: the
    chain must not vouch for a history that was already altered.
    """
    version = _schema_version(conn, db_path)
    _check_not_newer(version, db_path)
    if version == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _schema_version(conn, db_path)  # another process may have migrated meanwhile
        _check_not_newer(version, db_path)
        if check_history and version == 1:
            problems = _schema_1_problems(conn)
            if problems:
                more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                raise HaicgxError(
                    f"cohort record {db_path} (schema 1) cannot be given its hash chain: "
                    f"{problems[0]}{more}; restore it from a backup "
                    "(haicgx record verify lists every problem)"
                )
        for step in MIGRATIONS[version:]:
            step(conn)
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(SCHEMA_VERSION),),
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    if 0 < version < SCHEMA_VERSION and check_history:
        log.info("cohort record %s migrated from schema %d to %d", db_path, version, SCHEMA_VERSION)


def _is_lock_error(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text
