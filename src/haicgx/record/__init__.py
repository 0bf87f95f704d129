"""The cohort assignment record: every version of every patient's assignment, in one SQLite file.

What is stored
    ``assignments`` holds one row per (patient, version): cohort, recommended regimen (rank 1), the
    ranked regimen ids (JSON), status, the sha256 of the recommendation, VCF and knowledge table,
    the pipeline version, ``created_at`` and, once the tumour board decides, who decided, when,
    which regimen and why. ``events`` is an append-only log of every status change (recorded,
    superseded, confirmed, overridden, released, promoted) with who, when and why.
    ``meta`` holds ``schema_version``.

Append-only, enforced by triggers
    Nothing is ever deleted. The columns describing a version are never rewritten; the only
    changes to a row are its status moving forward (proposed -> confirmed | overridden |
    superseded, waitlisted -> proposed | superseded, confirmed | overridden -> superseded) and the
    decision columns being filled once. Each such change is also written to ``events``.

Identical inputs add nothing
    The key of a version is (recommendation_sha256, vcf_sha256, knowledge_sha256,
    pipeline_version). ``recommendation_sha256`` must be ``recommendation_digest(recommendation)``:
    the sha256 of the canonical JSON of recommendation.json without ``provenance.generated_at``
    (CONTRACT section 4: the same inputs give the same file except that field), so a rerun on the
    same inputs matches while a change of VCF, knowledge, cohorts, options or pipeline does not.
    A run matching the patient's latest live version adds nothing.

Versions, supersede and review
    Changed inputs add version n+1 and mark the earlier live version ``superseded`` - unless the
    patient's assignment was decided (``confirmed`` or ``overridden``). A decision is never
    superseded silently: the new version is added as a pending proposal beside it
    (``needs_review``), and the decided version stays current until the board confirms again,
    which then supersedes it. Inputs that return to those of the decided version retire the
    pending proposal.

Decisions are taken on the recommendation recorded
    ``confirm`` reads the patient's recommendation.json in the run's results folder and checks
    its digest against the version's ``recommendation_sha256``; a regimen it calls
    ``contraindicated`` is confirmed only with an explicit acknowledgement, which the version
    and its event keep (``contraindication_acknowledged``).

Cohort capacity, waitlist, release and promote
    A patient entering a cohort with ``max_patients`` is ``waitlisted`` when the cohort's places
    are taken (patients with a live proposed, confirmed or overridden version) or when others are
    already waiting, so a freed place never goes to whoever happens to run next. A place is freed
    only by ``release`` (the patient's live versions become superseded, with a ``released`` event
    naming who and why) and given only by ``promote`` (waitlisted -> proposed, refused while the
    cohort is full). A patient re-appearing after release with changed inputs is waitlisted, so
    re-entry is explicit too. Nothing is ever re-shuffled silently. A patient keeps its place or
    its queue position across new versions within the same cohort.

Concurrency and crashes
    WAL journal, ``busy_timeout`` of 60 s and ``BEGIN IMMEDIATE`` for every write, so the
    read-modify-write (next version number, capacity count) of one writer is serialised against
    all others; a lock error that still escapes is retried with backoff. ``synchronous=FULL``:
    each commit is fsynced. A SIGKILLed writer cannot lose a committed transaction even with
    NORMAL (the WAL pages are already in the OS), only power loss or an OS crash can, and FULL
    closes that gap too; with a few writes per patient its cost is negligible. An uncommitted
    transaction of a killed writer is discarded at the next open: no partial row can survive.
    SQLite locking is unreliable on network filesystems: keep the file on a local disk.

Tamper evidence (schema 2)
    Every version and every event has a place in one hash chain, in insertion order, and
    ``verify`` replays it: the chain, each version's status and decision against its events,
    the append-only triggers and the whole schema against what the migrations create
    (haicgx.record.chain says what the chain covers and what it cannot prove). The triggers
    also refuse ``INSERT OR REPLACE`` of an existing version or event: REPLACE deletes the old
    row without firing DELETE triggers unless ``recursive_triggers`` is on, a per-connection
    setting that another program need not set, so a BEFORE INSERT trigger refuses any insert
    that is not the next row.

The record file is never written over
    Only a path that does not exist starts a new record, and it appears whole: the schema is
    written to a temporary file beside it, then hard-linked into place (a link never replaces
    an existing file, so two writers starting at once share one record). A record cut to
    0 bytes is an error for every command, never a new record. Exports and the views beside
    the record refuse the record itself, its journal files and any other SQLite file.

Modules, in the order a write goes through them
    ``inputs`` (a recommendation reduced to an entry, its digest), ``store`` (connections,
    transactions, creating and migrating the file), ``schema`` (each migration's SQL),
    ``versions`` (recording a recommendation), ``decisions`` (confirm, override, release,
    promote), ``append`` (rows into the hash chain), ``chain`` (the hash chain and the replay of
    the history), ``state`` (reading: versions, current assignments, places and waitlists),
    ``export`` (TSV, the output-path guard, the noted results folder) and ``verification``
    (``verify``). The names below are the record's interface; names with a leading underscore
    are shared between these modules only.
"""

from __future__ import annotations

from haicgx.record.decisions import confirm, promote, recommendation_path, release
from haicgx.record.export import (
    assignments_tsv,
    check_output_path,
    export_tsv,
    note_results_folder,
    noted_results_folder,
)
from haicgx.record.inputs import recommendation_digest
from haicgx.record.schema import MIGRATIONS, SCHEMA_VERSION
from haicgx.record.state import (
    DECIDED_STATUSES,
    PLACE_STATUSES,
    RECORD_EXPORT_COLUMNS,
    Place,
    cohort_places,
    cohort_state,
    current_assignments,
    events,
    history,
    patient_places,
)
from haicgx.record.store import BUSY_TIMEOUT_S, DEFAULT_DB, RETRY_DEADLINE_S
from haicgx.record.verification import Verification, verify
from haicgx.record.versions import RecordOutcome, record_recommendation

__all__ = [
    "BUSY_TIMEOUT_S",
    "DECIDED_STATUSES",
    "DEFAULT_DB",
    "MIGRATIONS",
    "PLACE_STATUSES",
    "RECORD_EXPORT_COLUMNS",
    "RETRY_DEADLINE_S",
    "SCHEMA_VERSION",
    "Place",
    "RecordOutcome",
    "Verification",
    "assignments_tsv",
    "check_output_path",
    "cohort_places",
    "cohort_state",
    "confirm",
    "current_assignments",
    "events",
    "export_tsv",
    "history",
    "note_results_folder",
    "noted_results_folder",
    "patient_places",
    "promote",
    "recommendation_digest",
    "recommendation_path",
    "record_recommendation",
    "release",
    "verify",
]
