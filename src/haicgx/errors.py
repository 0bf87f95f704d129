"""Errors that end a command or a patient's job with one clear line instead of a traceback."""

from __future__ import annotations


class HaicgxError(Exception):
    """Base class: the message is meant for the user, as one line."""


class ConfigError(HaicgxError):
    """A config, sheet or knowledge file breaks its schema or a cross-check.

    The message names the file, the row or key, and the problem.
    """

    def __init__(self, file: str, where: str, problem: str) -> None:
        self.file, self.where, self.problem = file, where, problem
        super().__init__(f"{file}: {where}: {problem}" if where else f"{file}: {problem}")


class InputError(HaicgxError):
    """A patient's input cannot be used; fails that patient only.

    >>> str(InputError("P01", "a.vcf", "REF mismatch", record="chr1:100"))
    'patient P01: a.vcf: record chr1:100: REF mismatch'
    """

    def __init__(self, patient: str, file: str, problem: str, *, record: str | None = None):
        self.patient, self.file, self.problem, self.record = patient, file, problem, record
        where = f" record {shorten(record)}:" if record else ""
        super().__init__(f"patient {patient}: {file}:{where} {shorten(problem, MESSAGE_MAX)}")


# A message stays one readable line whatever the input holds (a 200 kb REF, a huge field).
MESSAGE_MAX = 600


def shorten(text: str, limit: int = 60) -> str:
    """`text` on one line, cut in the middle when longer than `limit`, saying how long it was.

    >>> shorten("ACGT" * 50, 20)
    'ACGTACGTAC…(200 characters)…GTACGTACGT'
    """
    text = " ".join(text.splitlines())
    if len(text) <= limit:
        return text
    half = max(limit // 2, 1)
    return f"{text[:half]}…({len(text)} characters)…{text[-half:]}"
