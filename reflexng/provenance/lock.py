"""The work-directory lock: one application instance per work directory, on every platform.

An operating-system file lock on ``<workdir>/.reflexng.lock`` through the ``filelock`` library
(``fcntl.flock`` on Linux and macOS, ``msvcrt.locking`` on Windows): the lock goes with the
process, so a crashed or killed instance never leaves a stale lock behind, and there is no
platform code of our own. Who holds it (PID and host) is written to ``.reflexng.lock.owner`` so
the refusal can name the holder.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from filelock import FileLock, Timeout

LOCK_NAME = ".reflexng.lock"
OWNER_NAME = ".reflexng.lock.owner"


class WorkdirLockedError(RuntimeError):
    """Another application instance holds the work directory."""


class WorkdirLock:
    """Hold the lock of ``workdir`` until :meth:`release` (raises WorkdirLockedError when taken)."""

    def __init__(self, workdir: str | os.PathLike) -> None:
        self.workdir = Path(workdir)
        self._lock = FileLock(str(self.workdir / LOCK_NAME), timeout=0, thread_local=False)
        try:
            self._lock.acquire()
        except Timeout:
            raise WorkdirLockedError(
                f"work directory {self.workdir} is in use by another reflexng instance "
                f"(PID {self.holder()}); close it or choose another work directory (--workdir)"
            ) from None
        try:
            (self.workdir / OWNER_NAME).write_text(f"{os.getpid()} on {socket.gethostname()}\n", encoding="utf-8")
        except OSError:  # the lock holds without the note
            pass

    def holder(self) -> str:
        try:
            return (self.workdir / OWNER_NAME).read_text(encoding="utf-8").strip() or "unknown"
        except OSError:
            return "unknown"

    @property
    def held(self) -> bool:
        return self._lock.is_locked

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release(force=True)
