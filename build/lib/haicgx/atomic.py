"""Output files written whole or not at all, with the permissions of every other result.

Each file is written to a temporary file beside it, fsynced, then renamed over the target:
readers see the old file or the new one, never a part. The temporary file is created with mode
0666 minus the umask, as ``open()`` would (``tempfile.mkstemp`` makes 0600, which would leave
the tumour board's copy of a report readable by its owner only). A rename replaces the target's
directory entry and never writes into the file it named: an output path that is a link to
another file leaves that file untouched.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

SQLITE_MAGIC = b"SQLite format 3\x00"


def is_sqlite_file(path: Path) -> bool:
    """True when ``path`` is a file starting with the 16-byte SQLite header."""
    try:
        with path.open("rb") as handle:
            return handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def write_atomically(outputs: Mapping[Path, bytes]) -> None:
    """Write each file beside its target, then move them all into place.

    Nothing is replaced until every file is written, so a failure leaves no partial output.
    """
    temporaries: dict[Path, Path] = {}
    try:
        for path, data in outputs.items():
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
            handle = os.open(temporary, flags, 0o666)  # the umask applies, as for open()
            temporaries[path] = temporary
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
        for path, temporary in temporaries.items():
            os.replace(temporary, path)
        for folder in {path.parent for path in temporaries}:
            _fsync_folder(folder)
    finally:
        for temporary in temporaries.values():
            temporary.unlink(missing_ok=True)


def _fsync_folder(folder: Path) -> None:
    """Make the renames durable (a crash right after must not bring back the old files)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass  # some filesystems cannot fsync a folder; the rename itself is still atomic
    finally:
        os.close(handle)
