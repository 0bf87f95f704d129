"""The record's tamper evidence and file safety: hash chain, verify, guards, 0-byte files,
exports that never write over a record, migration of a schema-1 record."""

from __future__ import annotations

import itertools
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from record_helpers import COHORTS, NOW, put, sha

from haicgx import cli, record
from haicgx.cohort_views import write_cohort_views
from haicgx.errors import HaicgxError
from haicgx.record import chain as record_chain
from haicgx.record import schema

# Part of the fault-injection suite (tests/faults, docs/reliability.md): `pytest -m faults`.
pytestmark = pytest.mark.faults


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A record with versions, a decision, a supersede, a release and a promotion."""
    path = tmp_path / "results" / "cohort_record.sqlite"
    for patient in ("A", "B", "C"):
        put(path, patient)
    record.confirm(path, "A", by="Dr Ada", regimen_id=None, note=None, now=NOW)
    put(path, "A", vcf="v2")
    record.release(path, "B", by="Dr Ada", note="consent withdrawn", now=NOW)
    record.promote(path, "C", by="Dr Ada", now=NOW)
    return path


def tamper(db: Path, *statements: str) -> None:
    """Write to the file as any SQLite client would: no haicgx, no recursive_triggers."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        for statement in statements:
            conn.execute(statement)
    finally:
        conn.close()


def problems(db: Path) -> list[str]:
    check = record.verify(db)
    assert not check.intact
    return list(check.problems)


def only(found: list[str], *fragments: str) -> None:
    """Every problem is expected, and each expected fragment is in some problem."""
    for fragment in fragments:
        assert any(fragment in problem for problem in found), (fragment, found)


# --- an intact record -------------------------------------------------------------------------


def test_an_untouched_record_is_intact(db: Path, capsys) -> None:
    check = record.verify(db)
    assert check.problems == ()
    with sqlite3.connect(db) as conn:
        versions = conn.execute("SELECT count(*) FROM assignments").fetchone()[0]
        events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        last = conn.execute(
            "SELECT chain_seq, row_hash FROM assignments UNION ALL "
            "SELECT chain_seq, row_hash FROM events ORDER BY chain_seq DESC LIMIT 1"
        ).fetchone()
    assert (check.versions, check.events) == (versions, events) == (4, 7)
    assert last == (versions + events, check.head)  # one chain over both tables
    assert cli.main(["record", "verify", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert out == f"intact: 4 versions, 7 events; chain head {check.head}\n"


def test_the_chain_is_in_insertion_order_across_both_tables(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute(
            "SELECT 'assignments' AS t, id, chain_seq, prev_hash, row_hash FROM assignments "
            "UNION ALL SELECT 'events', id, chain_seq, prev_hash, row_hash FROM events "
            "ORDER BY chain_seq"
        ).fetchall()
    assert [r["chain_seq"] for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0]["prev_hash"] == record_chain.GENESIS
    assert all(b["prev_hash"] == a["row_hash"] for a, b in itertools.pairwise(rows))
    # A version is followed at once by its 'recorded' event.
    assert [r["t"] for r in rows[:2]] == ["assignments", "events"]


# --- tampering: each is caught and named ------------------------------------------------------


def test_update_after_dropping_the_trigger(db: Path) -> None:
    tamper(
        db,
        "DROP TRIGGER assignments_frozen",
        "UPDATE assignments SET regimen_id = 'haic_fuop' WHERE patient_id = 'C'",
    )
    found = problems(db)
    only(
        found,
        "schema: trigger assignments_frozen (an append-only guard) is missing: it was dropped",
        "assignments: patient C version 1 (id 3, chain position 5): content does not match its "
        "hash: the row was edited",
    )
    assert len(found) == 2


def test_status_rewritten_after_dropping_its_guard(db: Path) -> None:
    tamper(
        db,
        "DROP TRIGGER assignments_status_forward",
        "UPDATE assignments SET status = 'proposed' WHERE patient_id = 'B'",
    )
    only(
        problems(db),
        "trigger assignments_status_forward (an append-only guard) is missing",
        "assignments: patient B version 1 (id 2, chain position 3): status is 'proposed' but its "
        "events say 'superseded': the status was rewritten",
    )


def test_decision_rewritten_after_dropping_its_guard(db: Path) -> None:
    tamper(
        db,
        "DROP TRIGGER assignments_decided_once",
        "UPDATE assignments SET decided_by = 'Dr Eve' WHERE patient_id = 'A' AND version = 1",
    )
    only(
        problems(db),
        "trigger assignments_decided_once (an append-only guard) is missing",
        "assignments: patient A version 1 (id 1, chain position 1): decided_by is 'Dr Eve' but "
        "its confirmed event 4 says 'Dr Ada': the decision was rewritten",
    )


def test_delete_of_an_event(db: Path) -> None:
    tamper(db, "DROP TRIGGER events_no_delete", "DELETE FROM events WHERE event = 'released'")
    found = problems(db)
    only(
        found,
        "trigger events_no_delete (an append-only guard) is missing",
        "chain position 10 is missing after events: event 5 (recorded of patient A version 2, "
        "chain position 9), before events: event 7 (promoted of patient C version 1, chain "
        "position 11): a version or an event was deleted",
        "assignments: patient B version 1 (id 2, chain position 3): status is 'superseded' but "
        "its events say 'proposed'",
    )


def test_delete_of_a_version(db: Path) -> None:
    tamper(db, "DROP TRIGGER assignments_no_delete", "DELETE FROM assignments WHERE id = 4")
    only(
        problems(db),
        "trigger assignments_no_delete (an append-only guard) is missing",
        "chain position 8 is missing",
        "events: event 5 (recorded of patient A version 2, chain position 9): belongs to version "
        "id 4, which is missing: a version was deleted",
    )


def test_newest_event_deleted_leaves_its_version_out_of_step(db: Path) -> None:
    # No row follows the last one, so the chain alone cannot see it go; the replay can.
    tamper(db, "DROP TRIGGER events_no_delete", "DELETE FROM events WHERE event = 'promoted'")
    only(
        problems(db),
        "assignments: patient C version 1 (id 3, chain position 5): status is 'proposed' but its "
        "events say 'waitlisted'",
    )


@pytest.mark.parametrize("table", ["assignments", "events"])
def test_insert_or_replace_cannot_rewrite_a_row(db: Path, table: str) -> None:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        assert conn.execute("PRAGMA recursive_triggers").fetchone()[0] == 0  # the default
        before = [dict(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY id")]
        row = dict(before[0])
        changed = "regimen_id" if table == "assignments" else "note"
        row[changed] = "rewritten"
        columns = ", ".join(row)
        marks = ", ".join("?" * len(row))
        for verb in ("INSERT OR REPLACE", "REPLACE"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(
                    f"{verb} INTO {table} ({columns}) VALUES ({marks})", tuple(row.values())
                )
        if table == "assignments":  # the same patient version under a new id
            row["id"] = 99
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(
                    f"INSERT OR REPLACE INTO {table} ({columns}) VALUES ({marks})",
                    tuple(row.values()),
                )
        after = [dict(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY id")]
    assert after == before
    assert record.verify(db).intact


def test_insert_or_replace_without_the_guard_is_caught(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        row = dict(conn.execute("SELECT * FROM events WHERE id = 2").fetchone())
    row["note"] = "rewritten"
    columns, marks = ", ".join(row), ", ".join("?" * len(row))
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DROP TRIGGER events_append_only")
    conn.execute(f"INSERT OR REPLACE INTO events ({columns}) VALUES ({marks})", tuple(row.values()))
    conn.close()
    only(
        problems(db),
        "trigger events_append_only (an append-only guard) is missing",
        "events: event 2 (recorded of patient B version 1, chain position 4): content does not "
        "match its hash: the row was edited",
    )


def test_edited_content_with_a_recomputed_hash_breaks_the_link(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        row = dict(conn.execute("SELECT * FROM assignments WHERE id = 2").fetchone())
    row["regimen_id"] = "haic_raltitrexed"
    forged = record_chain.row_hash("assignments", row, row["prev_hash"])
    tamper(
        db,
        "DROP TRIGGER assignments_frozen",
        f"UPDATE assignments SET regimen_id = 'haic_raltitrexed', row_hash = '{forged}' "
        "WHERE id = 2",
    )
    only(
        problems(db),
        "events: event 2 (recorded of patient B version 1, chain position 4): does not chain to "
        "assignments: patient B version 1 (id 2, chain position 3): that row was rewritten with "
        "a new hash, or a row between them was removed",
    )


def test_edited_hash(db: Path) -> None:
    tamper(
        db,
        "DROP TRIGGER events_no_update",
        f"UPDATE events SET row_hash = '{sha('forged')}' WHERE id = 3",
    )
    found = problems(db)
    only(
        found,
        "events: event 3 (recorded of patient C version 1, chain position 6): content does not "
        "match its hash",
        "events: event 4 (confirmed of patient A version 1, chain position 7): does not chain to "
        "events: event 3",
    )


def test_dropped_trigger_without_any_change_of_data(db: Path, capsys) -> None:
    tamper(db, "DROP TRIGGER events_append_only")
    assert problems(db) == [
        "schema: trigger events_append_only (an append-only guard) is missing: it was dropped"
    ]
    assert cli.main(["record", "verify", "--db", str(db)]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        "schema: trigger events_append_only (an append-only guard) is missing: it was dropped"
    ]
    assert captured.err.startswith("haicgx: error: cohort record ")
    assert "failed verification: 1 problem (schema: trigger events_append_only" in captured.err
    assert captured.err.count("\n") == 1


@pytest.mark.parametrize(
    ("statements", "expected"),
    [
        (
            (
                "DROP TRIGGER assignments_no_delete",
                "CREATE TRIGGER assignments_no_delete BEFORE DELETE ON assignments WHEN 0 "
                "BEGIN SELECT RAISE(ABORT, 'never'); END",
            ),
            "schema: trigger assignments_no_delete (an append-only guard) differs from the "
            "expected SQL: it was altered",
        ),
        (
            ("ALTER TABLE events ADD COLUMN comment TEXT",),
            "schema: table events differs from the expected SQL: it was altered",
        ),
        (
            ("CREATE TRIGGER wipe AFTER INSERT ON events BEGIN SELECT 1; END",),
            "schema: unexpected trigger wipe: it was added outside haicgx",
        ),
        (
            ("DROP INDEX events_chain",),
            "schema: index events_chain is missing: it was dropped",
        ),
    ],
)
def test_edited_schema(db: Path, statements: tuple[str, ...], expected: str) -> None:
    tamper(db, *statements)
    assert problems(db) == [expected]


def test_a_dropped_table_is_named(db: Path) -> None:
    tamper(db, "DROP TABLE events")
    found = problems(db)
    only(
        found,
        "schema: table events is missing: it was dropped",
        "schema: trigger events_append_only (an append-only guard) is missing",
        "the history cannot be replayed: missing columns events.actor",
    )
    assert record.verify(db).events == 0


def test_analyze_statistics_are_not_tampering(db: Path) -> None:
    tamper(db, "ANALYZE")
    assert record.verify(db).intact


def test_show_warns_when_verification_fails(db: Path, capsys) -> None:
    tamper(db, "DROP TRIGGER events_no_delete", "DELETE FROM events WHERE event = 'released'")
    assert cli.main(["record", "show", "--db", str(db)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("WARNING: cohort record ")
    assert "failed verification: 3 problems" in captured.out.splitlines()[0]
    assert captured.err.startswith("haicgx: warning: cohort record ")
    assert "patient" in captured.out and "superseded" in captured.out  # the history still shown


def test_the_guards_still_refuse_plain_changes(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        for sql in (
            "DELETE FROM assignments",
            "UPDATE assignments SET regimen_id = 'haic_fuop'",
            "UPDATE assignments SET row_hash = NULL",
            "UPDATE assignments SET decided_by = 'someone else'",
            "UPDATE assignments SET contraindication_acknowledged = 1 WHERE id = 1",
            "UPDATE assignments SET status = 'proposed'",
            "DELETE FROM events",
            "UPDATE events SET note = 'x'",
            "DELETE FROM meta",
        ):
            with pytest.raises(sqlite3.IntegrityError):
                conn.execute(sql)


# --- the record file is never written over ----------------------------------------------------


def every_command(db: Path, tmp_path: Path) -> dict[str, Callable[[], Any]]:
    rec_put = lambda: put(db, "Z")  # noqa: E731 - a table of calls
    return {
        "history": lambda: record.history(db),
        "events": lambda: record.events(db),
        "current_assignments": lambda: record.current_assignments(db),
        "patient_places": lambda: record.patient_places(db),
        "verify": lambda: record.verify(db),
        "export": lambda: record.export_tsv(db, tmp_path / "out.tsv"),
        "confirm": lambda: record.confirm(db, "A", by="Dr Ada", regimen_id=None, note=None),
        "release": lambda: record.release(db, "A", by="Dr Ada", note="x"),
        "promote": lambda: record.promote(db, "A", by="Dr Ada"),
        "record_recommendation (the run)": rec_put,
        "views (the run's end)": lambda: write_cohort_views(db, db.parent, failures={}),
    }


def test_a_record_cut_to_zero_bytes_is_an_error_for_every_command(tmp_path: Path, capsys) -> None:
    db = tmp_path / "results" / "cohort_record.sqlite"
    db.parent.mkdir()
    db.touch()
    message = (
        f"the record {db} is empty (0 bytes): restore it from backup; refusing to start a new "
        "record over it"
    )
    for name, call in every_command(db, tmp_path).items():
        with pytest.raises(HaicgxError) as error:
            call()
        assert str(error.value) == message, name
    for command in (["show"], ["verify"], ["export", str(tmp_path / "x.tsv")]):
        assert cli.main(["record", *command, "--db", str(db)]) == 1
        assert capsys.readouterr().err == f"haicgx: error: {message}\n"
    assert db.stat().st_size == 0
    assert sorted(p.name for p in db.parent.iterdir()) == ["cohort_record.sqlite", "patients"]


def test_only_a_missing_path_starts_a_new_record(tmp_path: Path) -> None:
    db = tmp_path / "new" / "cohort_record.sqlite"
    put(db, "P1")
    assert record.verify(db).intact
    assert sorted(p.name for p in db.parent.iterdir() if p.name.startswith(".")) == []
    dangling = tmp_path / "dangling.sqlite"
    dangling.symlink_to(tmp_path / "nowhere.sqlite")
    with pytest.raises(HaicgxError, match="is a broken symbolic link"):
        put(dangling, "P1")
    assert not (tmp_path / "nowhere.sqlite").exists()


def test_export_never_writes_over_a_record(db: Path, tmp_path: Path, capsys) -> None:
    before = db.read_bytes()
    symlink = tmp_path / "link.tsv"
    symlink.symlink_to(db)
    hardlink = tmp_path / "hard.tsv"
    os.link(db, hardlink)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    cases = {
        db: f"refusing to write {db}: it is the cohort record {db} itself",
        symlink: f"refusing to write {symlink}: it is the cohort record {db} itself",
        hardlink: f"refusing to write {hardlink}: it is the cohort record {db} itself",
        Path(f"{db}-wal"): f"refusing to write {db}-wal: it is the journal file {db}-wal",
        other: f"refusing to write over {other}: it is an SQLite database",
        tmp_path: f"cannot write {tmp_path}: it is a folder; give a file name",
        tmp_path / "no" / "x.tsv": f"cannot export to {tmp_path / 'no' / 'x.tsv'}: the folder "
        f"{tmp_path / 'no'} does not exist",
    }
    for target, message in cases.items():
        with pytest.raises(HaicgxError) as error:
            record.export_tsv(db, target)
        assert str(error.value).startswith(message), target
        assert cli.main(["record", "export", str(target), "--db", str(db)]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"haicgx: error: {message}") and err.count("\n") == 1
    assert db.read_bytes() == before and record.verify(db).intact
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_exports_and_views_honour_the_umask(db: Path, tmp_path: Path, umask: int, mode: int):
    previous = os.umask(umask)
    try:
        out = tmp_path / "export.tsv"
        record.export_tsv(db, out)
        written = write_cohort_views(db, db.parent, failures={})
    finally:
        os.umask(previous)
    for path in (out, *written, db.parent / "failed_patients.json"):
        assert path.stat().st_mode & 0o777 == mode, path


def test_the_views_refuse_a_record_named_like_them(tmp_path: Path) -> None:
    db = tmp_path / "cohort_record.tsv"  # a `record` key pointing where the TSV goes
    put(db, "P1")
    with pytest.raises(HaicgxError, match=r"it is the cohort record .* itself"):
        write_cohort_views(db, tmp_path, failures={})
    assert record.verify(db).intact


# --- a record of schema 1 ---------------------------------------------------------------------


def schema_1_record(db: Path) -> None:
    """A record as haicgx wrote it before the hash chain: P1 confirmed, P2 with two versions."""
    db.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    record.MIGRATIONS[0](conn)
    conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    ranked = '["haic_folfox", "haic_fuop", "haic_raltitrexed"]'
    for pid, patient, version in ((1, "P1", 1), (2, "P2", 1), (3, "P2", 2)):
        conn.execute(
            "INSERT INTO assignments (patient_id, version, cohort_id, cohort_max_patients, "
            "primary_site, regimen_id, ranked_regimen_ids, status, recommendation_sha256, "
            "vcf_sha256, knowledge_sha256, pipeline_version, created_at) VALUES "
            "(?, ?, 'CRC', 2, 'colorectal', 'haic_folfox', ?, 'proposed', ?, ?, ?, '0.0.9', ?)",
            (patient, version, ranked, sha(f"r{pid}"), sha(f"v{pid}"), sha("k"), NOW),
        )
        conn.execute(
            "INSERT INTO events (assignment_id, patient_id, version, event, status, at) "
            "VALUES (?, ?, ?, 'recorded', 'proposed', ?)",
            (pid, patient, version, NOW),
        )
    conn.execute(
        "UPDATE assignments SET status = 'overridden', decided_by = 'Dr Ada', decided_at = ?, "
        "decision_regimen_id = 'haic_fuop', decision_note = 'neuropathy' WHERE id = 1",
        (NOW,),
    )
    conn.execute(
        "INSERT INTO events (assignment_id, patient_id, version, event, status, actor, note, at) "
        "VALUES (1, 'P1', 1, 'overridden', 'overridden', 'Dr Ada', 'neuropathy', ?)",
        (NOW,),
    )
    conn.execute("UPDATE assignments SET status = 'superseded' WHERE id = 2")
    conn.execute(
        "INSERT INTO events (assignment_id, patient_id, version, event, status, note, at) "
        "VALUES (2, 'P2', 1, 'superseded', 'superseded', 'superseded by version 2', ?)",
        (NOW,),
    )
    conn.close()


def schema_version(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(
            conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
        )


def test_a_schema_1_record_is_read_without_writing_and_chained_at_its_next_write(
    tmp_path: Path, capsys
) -> None:
    db = tmp_path / "results" / "cohort_record.sqlite"
    schema_1_record(db)
    check = record.verify(db)
    assert check.problems == (
        "schema version 1 predates the hash chain (schema 2): the chain is computed at the "
        "record's next write (a run, or a record command that changes it)",
    )
    assert [(r["patient_id"], r["status"]) for r in record.current_assignments(db)] == [
        ("P1", "overridden"),
        ("P2", "proposed"),
    ]
    assert cli.main(["record", "show", "--db", str(db)]) == 0
    assert capsys.readouterr().out.startswith("WARNING: cohort record ")
    assert schema_version(db) == 1  # reading never migrates
    put(db, "P3", cohorts=COHORTS)  # the next write
    assert schema_version(db) == 2
    check = record.verify(db)
    assert check.problems == () and (check.versions, check.events) == (4, 6)
    with sqlite3.connect(db) as conn:
        note = conn.execute("SELECT value FROM meta WHERE key = 'chain_started'").fetchone()[0]
        regimen = conn.execute("SELECT regimen_id FROM events WHERE id = 4").fetchone()[0]
    assert note.endswith(": chained 3 versions and 5 events written under schema 1")
    assert regimen == "haic_fuop"  # the decision's regimen carried onto its event


def test_an_altered_schema_1_record_is_not_chained(tmp_path: Path) -> None:
    db = tmp_path / "results" / "cohort_record.sqlite"
    schema_1_record(db)
    tamper(
        db,
        "DROP TRIGGER assignments_decided_once",
        "UPDATE assignments SET decided_by = 'Dr Eve' WHERE id = 1",
    )
    with pytest.raises(HaicgxError) as error:
        put(db, "P3")
    assert str(error.value).startswith(
        f"cohort record {db} (schema 1) cannot be given its hash chain: schema: trigger "
        "assignments_decided_once (an append-only guard) is missing: it was dropped"
    )
    assert schema_version(db) == 1
    tamper(db, schema._V1_STATEMENTS[7])  # the guard back: the history is still altered
    only(
        list(record.verify(db).problems),
        "assignments: patient P1 version 1 (id 1): decided_by is 'Dr Eve' but its overridden "
        "event 4 says 'Dr Ada': the decision was rewritten",
    )
    with pytest.raises(HaicgxError, match="decided_by is 'Dr Eve'"):
        put(db, "P3")
