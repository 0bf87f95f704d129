"""TSV cells that a spreadsheet opens as text, never as a formula (OWASP "CSV injection").

A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is written with a
leading ``'``: Excel, LibreOffice and Google Sheets then show it as text instead of running it.
A cell that is a plain decimal number (``-0.5``, ``+3``, ``-1e-05``) is left as it is: a
spreadsheet reads it as a number, and rewriting it would corrupt numeric columns.

Use ``inert`` for every text cell of a TSV the project writes (any writer, quoting or not), or
``cell``/``tsv_text`` for one cell per value with no tab or line break inside.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A decimal number as a spreadsheet reads it: never a formula, even with a sign.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def inert(text: str) -> str:
    """Return ``text`` so that a spreadsheet cannot run it as a formula.

    >>> inert("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> inert("-0.5"), inert("-"), inert("@SUM(A1)"), inert("KRAS p.G12D")
    ('-0.5', "'-", "'@SUM(A1)", 'KRAS p.G12D')
    """
    if text.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def cell(value: Any) -> str:
    """One TSV cell: empty for None, yes/no for booleans, numbers as they are, text made inert
    and kept on one line (tabs and line breaks become spaces).

    >>> [cell(None), cell(True), cell(-2), cell("a\\tb\\nc"), cell("+1 note")]
    ['', 'yes', '-2', 'a b c', "'+1 note"]
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    return " ".join(inert(str(value)).replace("\t", " ").splitlines())


def tsv_text(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A whole TSV file: the header, then one line per row, every cell through ``cell``."""
    lines = ["\t".join(cell(c) for c in columns)]
    lines += ["\t".join(cell(value) for value in row) for row in rows]
    return "\n".join(lines) + "\n"
