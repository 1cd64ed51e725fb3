"""Where jobs run, in the window: the executor and its workers (a Dask dashboard link), the resource
trace of a job for the task pane, and the run timeline dialog. Content comes from
:mod:`reflexng.engine.executors` (Qt-free); anything that may block runs on a worker thread."""

from __future__ import annotations

from html import escape
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QDialog, QLabel, QPlainTextEdit, QVBoxLayout

from reflexng.gui.worker import start_worker

EXECUTOR_CHOICES = [("automatic (fork on Linux, spawn elsewhere)", ""), ("fork", "fork"), ("spawn", "spawn"),
                    ("dask", "dask")]


def info_text(info: dict[str, Any]) -> str:
    """``Executor: dask · 2 workers · dashboard`` (rich text, the dashboard as a link)."""
    parts = [f"Executor: {escape(str(info.get('executor') or '?'))}"]
    if info.get("where") and info.get("where") != "LocalCluster":
        parts.append(escape(str(info["where"])))
    if info.get("executor") == "dask" and info.get("workers") is not None:
        n = int(info["workers"])
        parts.append(f"{n} worker{'s' if n != 1 else ''}")
    if info.get("dashboard"):
        url = escape(str(info["dashboard"]), quote=True)
        parts.append(f'<a href="{url}">dashboard</a>')
    return " · ".join(parts)


class ExecutorStatus(QLabel):
    """Status-bar label: the session's executor; for Dask the live number of workers and a
    dashboard link (refreshed every few seconds off the GUI thread)."""

    REFRESH_MS = 5000

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("executorStatus")
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setOpenExternalLinks(True)
        self.setToolTip("Where jobs run (Preferences → Executor)")
        self.info: dict[str, Any] = {}
        self._session: Any = None
        self._busy = False
        self._timer = QTimer(self)
        self._timer.setInterval(self.REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self.hide()

    def on_event(self, ev, session: Any = None) -> None:
        """Session events (GUI thread): ``executor`` shows the executor; others are ignored."""
        if ev.kind != "executor":
            return
        self._session = session
        self.show_info(dict(ev.data or {}))
        if (ev.data or {}).get("executor") == "dask":
            self._timer.start()
        else:
            self._timer.stop()

    def show_info(self, info: dict[str, Any]) -> None:
        self._busy = False
        self.info = info
        self.setText(info_text(info))
        self.show()

    def refresh(self) -> None:
        """Ask the session for its executor's live info (Dask asks its scheduler: off the GUI thread)."""
        if self._session is None or self._busy:
            return
        self._busy = True
        start_worker(self._session.executor_info, on_finished=self._refreshed,
                     on_failed=lambda *_: setattr(self, "_busy", False))

    def _refreshed(self, info: dict[str, Any] | None) -> None:
        if info is None:  # the session's executor was closed (settings changed, session closed)
            self._busy = False
            return
        self.show_info(info)


def resources_text(session: Any, job_id: str) -> str:
    """The resource trace of the job's current attempt, one line ("" when it has none). Worker thread."""
    from reflexng.engine.executors import trace

    st = session.state.jobs.get(job_id)
    aid = getattr(st, "attempt_id", None)
    if aid is None:
        return ""
    return trace.describe(trace.of_attempt(session.store, aid))


def timeline_text(workdir: str) -> str:
    """The last run's timeline with hints, as text (worker thread)."""
    from pathlib import Path

    from reflexng.engine.executors import trace
    from reflexng.provenance.store import DB_NAME, ProvenanceStore

    if not (Path(workdir) / DB_NAME).is_file():
        return "no run in this work directory yet"
    store = ProvenanceStore(workdir, lock=False)
    try:
        rows = trace.timeline(store)
    finally:
        store.close()
    lines = trace.render(rows)
    lines += [f"hint: {h}" for h in trace.hints(rows)]
    return "\n".join(lines)


class TimelineDialog(QDialog):
    """The run timeline (what ``reflexng timeline WORKDIR`` prints), loaded off the GUI thread."""

    def __init__(self, workdir: str, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("timelineDialog")
        self.setWindowTitle("Run timeline")
        self.text = QPlainTextEdit(self)
        self.text.setObjectName("timelineText")
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setPlainText("loading …")
        lay = QVBoxLayout(self)
        lay.addWidget(self.text)
        self.resize(900, 420)
        start_worker(timeline_text, str(workdir), on_finished=self.text.setPlainText,
                     on_failed=lambda msg, _tb: self.text.setPlainText(f"cannot read the timeline: {msg}"))
