"""The cohort record's hash chain and the checks that replay its history (haicgx.record).

One chain over both tables, in insertion order
    Every row of ``assignments`` (a version) and of ``events`` (a status change) has a place in
    one chain, ``chain_seq`` = 1, 2, 3... in the order the rows were written, whichever table
    they are in: a version and its ``recorded`` event are neighbours, and an event can never be
    moved before the version it changes. ``prev_hash`` is the ``row_hash`` of the row one place
    before (64 zeros for the first) and ``row_hash`` = sha256 of ``prev_hash``, a line feed and
    the row's canonical JSON: ``[table, value of each column of ASSIGNMENT_HASHED or
    EVENT_HASHED]``, without spaces, non-ASCII kept (``ensure_ascii=False``).

What the hash covers, and what the replay covers
    A version's hash covers what never changes after its insert (its inputs, cohort, ranking,
    ids, creation time). Its status and the board's decision change once or twice by design;
    every such change is an event, and the events are hashed. ``replay_problems`` then checks
    that each version's status and decision columns are exactly what its events say: a status
    or a decision rewritten in place is caught there.

What it cannot prove
    The hash has no secret: whoever can write the file and knows this page can rebuild a whole
    chain, and removing the newest rows together (a version with its events) leaves a shorter
    chain that is still whole. Against that, keep the chain head that ``haicgx record verify``
    prints (and the cohort report shows) somewhere else: a later head must still contain it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

GENESIS = "0" * 64

ASSIGNMENT_HASHED: tuple[str, ...] = (
    "id",
    "patient_id",
    "version",
    "cohort_id",
    "cohort_max_patients",
    "primary_site",
    "regimen_id",
    "ranked_regimen_ids",
    "recommendation_sha256",
    "vcf_sha256",
    "knowledge_sha256",
    "pipeline_version",
    "created_at",
    "chain_seq",
)
EVENT_HASHED: tuple[str, ...] = (
    "id",
    "assignment_id",
    "patient_id",
    "version",
    "event",
    "status",
    "actor",
    "note",
    "at",
    "regimen_id",
    "contraindication_acknowledged",
    "chain_seq",
)
HASHED: dict[str, tuple[str, ...]] = {"assignments": ASSIGNMENT_HASHED, "events": EVENT_HASHED}

# The status each event leaves its version in, and the moves the record ever makes.
EVENT_STATUS: dict[str, str] = {
    "superseded": "superseded",
    "released": "superseded",
    "confirmed": "confirmed",
    "overridden": "overridden",
    "promoted": "proposed",
}
ALLOWED_MOVES: dict[str, tuple[str, ...]] = {
    "proposed": ("confirmed", "overridden", "superseded"),
    "waitlisted": ("proposed", "superseded"),
    "confirmed": ("superseded",),
    "overridden": ("superseded",),
    "superseded": (),
}
DECISION_EVENTS = ("confirmed", "overridden")
# Decision columns of a version, and the event column each must equal.
DECISION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("decided_by", "actor"),
    ("decided_at", "at"),
    ("decision_note", "note"),
    ("decision_regimen_id", "regimen_id"),
    ("contraindication_acknowledged", "contraindication_acknowledged"),
)


def row_hash(table: str, row: Mapping[str, Any], prev_hash: str) -> str:
    """The hash of one row chained to the previous row's hash.

    >>> row = {c: None for c in EVENT_HASHED}
    >>> row_hash("events", row, GENESIS) == row_hash("events", row, GENESIS)
    True
    >>> row_hash("events", row, GENESIS) == row_hash("events", {**row, "note": "x"}, GENESIS)
    False
    """
    content = [table, *(row[column] for column in HASHED[table])]
    canonical = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


def name_row(table: str, row: Mapping[str, Any]) -> str:
    """How a problem names a row: table, patient, version or event id, chain place."""
    place = f", chain position {row['chain_seq']}" if row.get("chain_seq") is not None else ""
    if table == "assignments":
        patient, version = row["patient_id"], row["version"]
        return f"assignments: patient {patient} version {version} (id {row['id']}{place})"
    return (
        f"events: event {row['id']} ({row['event']} of patient {row['patient_id']} "
        f"version {row['version']}{place})"
    )


def chain_order(
    assignments: Sequence[Mapping[str, Any]], events: Sequence[Mapping[str, Any]]
) -> list[tuple[str, Mapping[str, Any]]]:
    """Rows of a record written before the chain, in the order they were written.

    Each version was inserted just before its ``recorded`` event, and events in id order;
    a version without a ``recorded`` event (never written by haicgx) goes last.
    """
    by_id = {row["id"]: row for row in assignments}
    placed: set[Any] = set()
    order: list[tuple[str, Mapping[str, Any]]] = []
    for event in sorted(events, key=lambda e: e["id"]):
        version = by_id.get(event["assignment_id"])
        if event["event"] == "recorded" and version is not None and version["id"] not in placed:
            order.append(("assignments", version))
            placed.add(version["id"])
        order.append(("events", event))
    order += [("assignments", row) for row in assignments if row["id"] not in placed]
    return order


def chain_problems(
    assignments: Sequence[Mapping[str, Any]], events: Sequence[Mapping[str, Any]]
) -> list[str]:
    """Every break in the hash chain, naming the rows on either side."""
    problems: list[str] = []
    rows: list[tuple[int, str, Mapping[str, Any]]] = []
    for table, table_rows in (("assignments", assignments), ("events", events)):
        for row in table_rows:
            if row.get("chain_seq") is None or row.get("row_hash") is None:
                problems.append(f"{name_row(table, row)}: has no place in the hash chain")
            else:
                rows.append((int(row["chain_seq"]), table, row))
    rows.sort(key=lambda item: item[0])
    previous: tuple[int, str, Mapping[str, Any]] | None = None
    for seq, table, row in rows:
        here = name_row(table, row)
        if previous is not None and previous[0] == seq:
            problems.append(
                f"{here}: chain position {seq} is also held by {name_row(*previous[1:])}"
            )
            continue
        expected_seq = previous[0] + 1 if previous else 1
        if seq != expected_seq:
            after = f" after {name_row(*previous[1:])}" if previous else " at the start"
            missing = f"{expected_seq}" if seq - 1 == expected_seq else f"{expected_seq}-{seq - 1}"
            problems.append(
                f"chain position {missing} is missing{after}, before {here}: "
                "a version or an event was deleted"
            )
        elif row.get("prev_hash") != (previous[2]["row_hash"] if previous else GENESIS):
            before = name_row(*previous[1:]) if previous else "the start of the chain"
            problems.append(
                f"{here}: does not chain to {before}: that row was rewritten with a new hash, "
                "or a row between them was removed"
            )
        if row_hash(table, row, str(row.get("prev_hash"))) != row.get("row_hash"):
            problems.append(f"{here}: content does not match its hash: the row was edited")
        previous = (seq, table, row)
    return problems


def replay_problems(
    assignments: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
    *,
    with_decision_regimen: bool = True,
) -> list[str]:
    """Every version whose status or decision is not what its events say, and every event
    that does not fit its version.

    ``with_decision_regimen`` False: a record of schema 1, whose events did not yet carry the
    chosen regimen or the acknowledgement of a contraindication.
    """
    problems: list[str] = []
    by_id = {row["id"]: row for row in assignments}
    history: dict[Any, list[Mapping[str, Any]]] = {row["id"]: [] for row in assignments}
    for event in sorted(events, key=lambda e: e["id"]):
        version = by_id.get(event["assignment_id"])
        if version is None:
            problems.append(
                f"{name_row('events', event)}: belongs to version id {event['assignment_id']}, "
                "which is missing: a version was deleted"
            )
            continue
        if (event["patient_id"], event["version"]) != (version["patient_id"], version["version"]):
            problems.append(
                f"{name_row('events', event)}: belongs to {name_row('assignments', version)}"
            )
        history[version["id"]].append(event)
    columns = DECISION_COLUMNS if with_decision_regimen else DECISION_COLUMNS[:3]
    for version in assignments:
        problems += _version_problems(version, history[version["id"]], columns)
    return problems


def _version_problems(
    version: Mapping[str, Any],
    log: Iterable[Mapping[str, Any]],
    columns: Sequence[tuple[str, str]],
) -> list[str]:
    here = name_row("assignments", version)
    log = list(log)
    if not log or log[0]["event"] != "recorded":
        return [f"{here}: its 'recorded' event is missing: an event was deleted"]
    problems: list[str] = []
    status = log[0]["status"]
    if status not in ("proposed", "waitlisted"):
        problems.append(f"{name_row('events', log[0])}: records the status {status!r}")
    for event in log[1:]:
        kind, new = event["event"], event["status"]
        if kind == "recorded" or EVENT_STATUS.get(kind) != new:
            problems.append(f"{name_row('events', event)}: cannot leave the status {new!r}")
        elif new not in ALLOWED_MOVES.get(status, ()):
            problems.append(
                f"{name_row('events', event)}: moves the status from {status!r} to {new!r}, "
                "which the record never does"
            )
        status = new
    if version["status"] != status:
        problems.append(
            f"{here}: status is {version['status']!r} but its events say {status!r}: "
            "the status was rewritten"
        )
    decisions = [event for event in log if event["event"] in DECISION_EVENTS]
    if len(decisions) > 1:
        problems.append(f"{here}: decided {len(decisions)} times")
    decision = decisions[-1] if decisions else None
    for column, event_column in columns:
        expected = decision.get(event_column) if decision is not None else None
        if version.get(column) != expected:
            source = f"its {decision['event']} event {decision['id']}" if decision else "no event"
            problems.append(
                f"{here}: {column} is {version.get(column)!r} but {source} says {expected!r}: "
                "the decision was rewritten"
            )
    return problems
