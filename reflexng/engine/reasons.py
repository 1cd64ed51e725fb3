"""One-line reasons for errors on the engine side of a job (never a traceback on the terminal).

:func:`engine_failure` turns an exception raised while the engine prepared, started or
finished a job (an input file deleted since the data were organised, a product folder that
vanished, a full disk, a database that cannot be written) into the job's reason, naming the
file and what to do. The traceback is appended to the job's ``log.txt``; it is printed on
stderr only with ``REFLEXNG_DEBUG=1``.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import sys
import traceback
from pathlib import Path

_HINTS = {
    errno.ENOENT: "it was deleted or moved; restore it, or organise the data again",
    errno.EACCES: "fix its permissions",
    errno.EPERM: "fix its permissions",
    errno.EROFS: "the disk is read-only; choose a writable work directory",
    errno.ENOSPC: "the disk is full; free some space or choose a work directory on another disk",
    errno.EDQUOT: "the disk quota is exceeded; free some space or choose a work directory on another disk",
    errno.EIO: "the disk reported an input/output error; check the disk",
}


def shown(text: object) -> str:
    """Text (or a path) that can be printed: undecodable bytes of a file name as ``\\xNN`` escapes."""
    if isinstance(text, bytes):
        return text.decode("utf-8", "backslashreplace")
    return str(text).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def os_reason(exc: OSError) -> str:
    """``<file>: <what happened>; <what to do>`` for an OSError."""
    what = exc.strerror or str(exc)
    hint = _HINTS.get(exc.errno or 0, "check the file and its permissions")
    if exc.filename is None:
        return f"{what}; {hint}"
    where = shown(exc.filename)
    if exc.filename2 is not None:
        where += f" -> {shown(exc.filename2)}"
    if exc.errno == errno.ENOENT:
        return f"file not found: {where}; {hint}"
    return f"{where}: {what}; {hint}"


def database_reason(exc: sqlite3.Error, db: str | os.PathLike | None = None) -> str:
    text = str(exc)
    where = f"{shown(db)}: " if db else ""
    low = text.lower()
    if "full" in low:
        return f"{where}cannot write the database: disk full; free some space or choose a work directory on another disk"
    if "readonly" in low or "read-only" in low:
        return f"{where}cannot write the database: the work directory is read-only; choose a writable work directory"
    return f"{where}database error: {text}"


def engine_failure(exc: BaseException, log_dir: str | os.PathLike | None = None,
                   db: str | os.PathLike | None = None) -> str:
    """The job's reason for ``exc``; the traceback goes to ``<log_dir>/log.txt``."""
    if isinstance(exc, OSError):
        reason = os_reason(exc)
        if exc.filename is None and log_dir is not None:
            reason = f"{shown(log_dir)}: {reason}"

    elif isinstance(exc, sqlite3.Error):  # the store's own errors name the database and say what to do
        reason = shown(exc) if "reflexng.sqlite" in str(exc) else database_reason(exc, db)
    else:
        reason = f"reflexng error: {type(exc).__name__}: {shown(exc)}"
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    if log_dir is not None:
        try:
            Path(log_dir).mkdir(parents=True, exist_ok=True)
            with open(Path(log_dir) / "log.txt", "a", encoding="utf-8", errors="replace") as fh:
                fh.write(f"reflexng: job failed on the engine side: {reason}\n{text}")
        except OSError:
            pass
    if os.environ.get("REFLEXNG_DEBUG"):
        sys.stderr.write(text)
    return reason
