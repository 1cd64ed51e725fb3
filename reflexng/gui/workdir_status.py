"""The status bar names the work directory and who holds its lock: this window, another
reflexng process (PID and host, from the lock file), or nobody."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel

LOCK_NAME = ".reflexng.lock"


def lock_holder(workdir: str | os.PathLike) -> str:
    """'' when no lock file names a holder, else its text ('PID on HOST')."""
    try:
        return (Path(workdir) / LOCK_NAME).read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""


def _alive(pid: int) -> bool | None:
    if os.name != "posix":
        return None  # unknown: signals are not how Windows asks
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def describe(workdir: str | os.PathLike, ours: bool) -> str:
    """'Work directory /x — locked by this window' and the like."""
    head = f"Work directory {workdir}"
    if ours:
        return f"{head} — locked by this window (PID {os.getpid()})"
    holder = lock_holder(workdir)
    if not holder:
        return f"{head} — free" if Path(workdir).is_dir() else f"{head} — will be created"
    pid_text, _, host = holder.partition(" on ")
    try:
        pid = int(pid_text)
    except ValueError:
        return f"{head} — lock file names {holder}"
    if host == socket.gethostname():
        alive = _alive(pid)
        if alive is False:
            return f"{head} — free (last used by PID {pid}, which has ended)"
        if pid == os.getpid():
            return f"{head} — free"
    return f"{head} — locked by another reflexng: PID {pid} on {host or 'an unknown host'}"


class WorkdirStatus(QLabel):
    def __init__(self, controller) -> None:
        super().__init__(controller.w)
        self.setObjectName("workdirStatus")
        self.c = controller
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(300)
        self._timer.timeout.connect(self.refresh)
        controller.w.session_bar.workdir.textChanged.connect(lambda _t: self._timer.start())
        controller.w.sig_organised.connect(lambda _r: self.refresh())
        controller.w.sig_cascade_loaded.connect(lambda _c: self.refresh())
        controller.w.statusBar().addPermanentWidget(self, 1)
        self.refresh()

    def refresh(self) -> None:
        c = self.c
        try:
            workdir = c.workdir()
        except Exception:  # noqa: BLE001 - no cascade yet
            self.setText("")
            return
        s = c.session
        ours = s is not None and Path(s.workdir).resolve() == Path(workdir).resolve()
        text = describe(workdir, ours)
        self.setText(text)
        self.setToolTip(text)
