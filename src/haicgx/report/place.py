"""The patient's place on its cohort's waitlist, as the report states it, and the marker in
report.html that tells whether the record's place has moved on since it was written."""

from __future__ import annotations

import html as html_lib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# The report.html marker of the waitlist place the report shows, read back to decide whether the
# record's place has moved on since (haicgx.cohort_views rewrites the report then).
PLACE_META = "haicgx-waitlist-place"
_PLACE_META = re.compile(rf'<meta name="{PLACE_META}" content="([^"]*)">')


def waiting_place(place: Any) -> dict[str, Any] | None:
    """What the patient's report states of a record place (haicgx.record.Place): the cohort,
    the queue position and length, the places taken and the limit; None when the patient is
    not waiting. Only a waiting patient's report says it, so the reports of the others never
    go stale as places are taken.

    >>> from haicgx.record import Place
    >>> waiting_place(Place("P3", "CRC", "waitlisted", 1, 2, 3, 3))
    {'cohort_id': 'CRC', 'position': 1, 'waiting': 2, 'taken': 3, 'max_patients': 3}
    >>> print(waiting_place(Place("P1", "CRC", "confirmed", None, 2, 3, 3)))
    None
    """
    if place is None or place.status != "waitlisted" or place.waitlist_position is None:
        return None
    return {
        "cohort_id": place.cohort_id,
        "position": place.waitlist_position,
        "waiting": place.waitlist_length,
        "taken": place.places_taken,
        "max_patients": place.max_patients,
    }


def place_text(place: Mapping[str, Any]) -> tuple[str, str]:
    """The report's two sentences on a waiting place: where the patient waits, then the
    cohort's places and what gives the patient one.

    >>> full = {"cohort_id": "CRC", "position": 1, "waiting": 2, "taken": 3, "max_patients": 3}
    >>> place_text(full)[1].split(":")[0]
    'The cohort is full (3 of 3 places taken)'
    >>> place_text({**full, "taken": 2})[1].split(":")[0]
    'A place is free (2 of 3 places taken)'
    """
    head = (
        f"Waitlisted for cohort {place['cohort_id']}: number {place['position']} of "
        f"{place['waiting']} in its queue."
    )
    limit = place["max_patients"]
    if limit is not None and place["taken"] >= limit:
        detail = (
            f"The cohort is full ({place['taken']} of {limit} places taken): the patient gets a "
            "place only when one is freed (haicgx record release) and the coordinator promotes "
            "them (haicgx record promote)."
        )
    else:
        of = f" of {limit}" if limit is not None else ", no limit"
        detail = (
            f"A place is free ({place['taken']}{of} places taken): the coordinator can promote "
            "the patient now (haicgx record promote)."
        )
    return head, detail


def place_key(place: Mapping[str, Any] | None) -> str:
    """The marker text of a waiting place ('' when not waiting): canonical JSON."""
    return json.dumps(dict(place), sort_keys=True) if place else ""


def shown_place_key(html_path: Path) -> str | None:
    """The waiting place a written report.html shows (its marker), or None when it has no
    marker (a report from before markers) or cannot be read."""
    try:
        with open(html_path, encoding="utf-8") as handle:
            head = handle.read(4096)
    except (OSError, UnicodeDecodeError):
        return None
    found = _PLACE_META.search(head)
    return html_lib.unescape(found.group(1)) if found else None
