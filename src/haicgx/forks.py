"""Work in forked children: a function's value or its error comes back to the parent.

A fork starts with everything the parent has loaded (pysam, the knowledge table, the transcript
index), so a child costs a few milliseconds; bcftools run in children also gets a fresh state
(csq keeps some between calls in one process).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import signal
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from haicgx.errors import HaicgxError, InputError

log = logging.getLogger(__name__)


class Child:
    """A forked child running `function`; its outcome comes back through the file `result`.

    `close_fds` are closed in the child first: a pipe's reader sees its end only once every
    copy of the write end is closed. With `pipe_signal`, a write into a pipe whose reader has gone
    kills the child with SIGPIPE (Python ignores it), which tells a failure caused downstream
    from one of the child's own. With `new_group`, the child leads a process group of its own,
    which its own children join: `stop` then stops them all.
    """

    def __init__(
        self,
        function: Callable[[], Any],
        result: Path,
        *,
        close_fds: Iterable[int] = (),
        pipe_signal: bool = False,
        new_group: bool = False,
    ) -> None:
        self.result_path = result
        _flush_all()
        self.pid: int | None = os.fork()
        if self.pid == 0:  # the child: never returns
            for fd in close_fds:
                os.close(fd)
            if pipe_signal:
                signal.signal(signal.SIGPIPE, signal.SIG_DFL)
            if new_group:  # its own children join it: `os.killpg(child.pid, ...)` stops them all
                os.setpgid(0, 0)
            _run(function, result)
        if new_group:  # here too: a kill sent before the child itself got to it must reach it
            with contextlib.suppress(OSError):
                os.setpgid(self.pid, self.pid)
        self.new_group = new_group
        self._outcome: tuple[str, Any] | None = None

    def outcome(self) -> tuple[str, Any]:
        """Wait for the child: ("value", v), ("input_error", e), ("error", message) or
        ("signal", number)."""
        if self._outcome is None:
            assert self.pid is not None
            _, status = os.waitpid(self.pid, 0)
            self.pid = None
            if os.WIFSIGNALED(status):
                self._outcome = ("signal", os.WTERMSIG(status))
            else:
                self._outcome = _read(self.result_path)
        return self._outcome

    def wait(self) -> Any:
        """The function's value; its InputError is raised again here, other failures as one line."""
        kind, payload = self.outcome()
        if kind == "value":
            return payload
        if kind == "input_error":
            raise payload
        if kind == "signal":
            raise HaicgxError(f"a worker process was killed (signal {payload})")
        raise HaicgxError(payload)

    def stop(self) -> None:
        """Kill the child (with its group, if it leads one) if it still runs, and reap it."""
        if self.pid is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if self.new_group:  # unreaped, the child still holds its group's id
                os.killpg(self.pid, signal.SIGKILL)
            else:
                os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        self.pid = None
        self._outcome = ("signal", signal.SIGKILL)


def _flush_all() -> None:
    """What is buffered now would otherwise be written twice, by the parent and the child."""
    sys.stdout.flush()
    sys.stderr.flush()
    for handler in logging.getLogger().handlers:
        handler.flush()


def _run(function: Callable[[], Any], result: Path) -> None:
    code = 0
    try:
        outcome: tuple[str, Any] = ("value", function())
    except InputError as exc:
        outcome, code = ("input_error", (exc.patient, exc.file, exc.problem, exc.record)), 1
    except HaicgxError as exc:  # already one line for the user
        outcome, code = ("error", str(exc)), 1
    except BaseException as exc:  # the parent reports it; a child must not unwind into its caller
        log.error("worker failed", exc_info=True)
        outcome, code = ("error", f"internal error ({type(exc).__name__}: {exc})"), 1
    try:
        result.write_bytes(pickle.dumps(outcome))
    finally:
        os._exit(code)


def _read(path: Path) -> tuple[str, Any]:
    try:
        kind, payload = pickle.loads(path.read_bytes())
    except (OSError, EOFError, pickle.UnpicklingError):
        return ("error", "a worker process stopped without a result")
    if kind == "input_error":
        return kind, InputError(*payload[:3], record=payload[3])
    return kind, payload
