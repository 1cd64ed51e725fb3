"""Turn an exception that escaped a verb into one clear line on stderr and an exit code.

Used once, by the dispatcher in :mod:`reflexng.cli`: verbs handle the errors they expect;
what is left (a path that cannot be written, a damaged work-directory database, a cascade
error raised late) is reported here, naming the file and what to do, never as a traceback.
Set ``REFLEXNG_DEBUG=1`` to see the traceback of an unexpected error.
"""

from __future__ import annotations

import errno
import os
import sys

_HINTS = {
    errno.ENOENT: "check the path",
    errno.ENOTDIR: "a part of the path is a file, not a folder; choose another path",
    errno.EISDIR: "it is a folder; give a file",
    errno.EEXIST: "a file is in the way; move it or choose another path",
    errno.EACCES: "choose a folder you can write to (e.g. another --workdir) or fix its permissions",
    errno.EPERM: "choose a folder you can write to (e.g. another --workdir) or fix its permissions",
    errno.EROFS: "choose a writable folder (e.g. another --workdir)",
    errno.ENOSPC: "the disk is full; free some space or choose a folder on another disk",
    errno.EDQUOT: "the disk quota is exceeded; free some space or choose a folder on another disk",
}


def describe_os_error(exc: OSError) -> str:
    """``<file>: <what happened>; <what to do>`` for an OSError."""
    name = exc.filename if exc.filename is not None else ""
    what = exc.strerror or str(exc)
    hint = _HINTS.get(exc.errno or 0, "check the path and its permissions")
    where = f"{name}: " if name else ""
    if exc.filename2 is not None:
        where = f"{name} -> {exc.filename2}: "
    return f"{where}{what}; {hint}"


def _workdir_db(args) -> str:
    workdir = getattr(args, "workdir", None)
    if workdir:
        return os.path.join(str(workdir), "reflexng.sqlite")
    return "the work directory's reflexng.sqlite"


def report(exc: BaseException, args, verb: str) -> int:
    """Print one line for ``exc`` (raised by ``verb``) on stderr; return the exit code."""
    import sqlite3

    from reflexng.cascade.errors import CascadeError
    from reflexng.provenance.store import DamagedStoreError, StoreUnavailableError

    prefix = f"reflexng {verb}: " if verb else "reflexng: "
    if isinstance(exc, StoreUnavailableError):  # read-only or disk full: the message says what to do
        print(prefix + str(exc), file=sys.stderr)
        return 2
    if isinstance(exc, sqlite3.DatabaseError) and "full" in str(exc).lower():
        print(f"{prefix}{_workdir_db(args)}: {exc} (ENOSPC); {_HINTS[errno.ENOSPC]}", file=sys.stderr)
        return 2
    if isinstance(exc, CascadeError):  # already ``path:line: message``
        print(str(exc), file=sys.stderr)
        return 2
    if isinstance(exc, OSError):
        print(prefix + describe_os_error(exc), file=sys.stderr)
        return 2
    if isinstance(exc, sqlite3.DatabaseError):
        text = str(exc)
        damaged = isinstance(exc, DamagedStoreError) or any(
            w in text for w in ("not a database", "malformed", "corrupt"))
        if "reflexng.sqlite" not in text:
            text = f"{_workdir_db(args)}: cannot be {'read' if damaged else 'opened or written'} ({text})"
        hint = ("move the damaged file aside or choose another --workdir" if damaged
                else "choose a writable --workdir (or fix the folder's permissions)")
        print(f"{prefix}{text}; {hint}", file=sys.stderr)
        return 2
    if isinstance(exc, MemoryError):
        print(prefix + "out of memory; close other programs or reduce the data (fewer files, smaller images)",
              file=sys.stderr)
        return 1
    print(f"{prefix}unexpected error: {type(exc).__name__}: {exc}\n"
          "This is a bug in reflexng; please report it with the command you ran "
          "(run again with REFLEXNG_DEBUG=1 to see where it happened).", file=sys.stderr)
    return 1
