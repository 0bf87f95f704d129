"""Text printed to a terminal, with control characters and bidirectional overrides made visible.

Notes, names and ids in the record come from people and input files. Printed as they are, an
escape sequence (``\\x1b[2J``) could rewrite the screen and a right-to-left override
(U+202E, "Trojan Source") could make ``haic_fuop`` read as something else. ``printable``
writes each such character as an escape instead: C0 and C1 controls and DEL as ``\\xNN``,
the bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) as
``\\uNNNN``.
"""

from __future__ import annotations

import re

_HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """Return ``text`` with every control and bidi override character escaped.

    >>> printable("Dr \\u202eAda\\x1b[31m\\tok")
    'Dr \\\\u202eAda\\\\x1b[31m\\\\x09ok'
    """
    return _HIDDEN.sub(_escape, text)
