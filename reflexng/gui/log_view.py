"""Live log: lines per job, filtered by job and level, copied to the clipboard."""

from __future__ import annotations

import re
from dataclasses import dataclass

from PySide6.QtGui import QFont, QGuiApplication, QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

LEVELS = ("all levels", "debug", "info", "warning", "error")
_LEVEL_RE = re.compile(r"\b(DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL)\b", re.IGNORECASE)
ALL_JOBS = "all jobs"
MAX_LINES = 200_000


def line_level(line: str, stream: str = "stdout") -> str:
    """The level a line carries ('[WARNING]', 'ERROR:' ...); stderr without a tag is a warning."""
    m = _LEVEL_RE.search(line)
    if m:
        w = m.group(1).lower()
        return {"warn": "warning", "critical": "error", "fatal": "error"}.get(w, w)
    return "warning" if stream == "stderr" else "info"


@dataclass
class LogLine:
    job: str
    level: str
    text: str


def _cancelled(data) -> bool:
    """A job stopped by the user (the engine reports it as a failure whose reason says so)."""
    return str(data.get("status", "")) == "cancelled" or str(data.get("reason", "")).startswith("cancelled")


class LogView(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.text = QPlainTextEdit(self)
        self.text.setObjectName("logView")
        self.text.setReadOnly(True)
        self.text.setMaximumBlockCount(MAX_LINES)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.text.setFont(mono)
        self.job = QComboBox(self)
        self.job.setObjectName("logJobFilter")
        self.job.addItem(ALL_JOBS)
        self.level = QComboBox(self)
        self.level.setObjectName("logLevelFilter")
        self.level.addItems(LEVELS)
        self.copy_button = QPushButton("Copy", self)
        self.copy_button.clicked.connect(self.copy)
        self.job.currentTextChanged.connect(lambda _t: self.refilter())
        self.level.currentTextChanged.connect(lambda _t: self.refilter())
        bar = QHBoxLayout()
        bar.addWidget(self.job, 1)
        bar.addWidget(self.level)
        bar.addWidget(self.copy_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addWidget(self.text, 1)
        self.lines: list[LogLine] = []
        self._jobs: set[str] = set()

    def _accepts(self, ln: LogLine) -> bool:
        job = self.job.currentText()
        level = self.level.currentText()
        if job != ALL_JOBS and ln.job != job:
            return False
        if level != "all levels" and LEVELS.index(ln.level) < LEVELS.index(level):
            return False
        return True

    @staticmethod
    def _fmt(ln: LogLine) -> str:
        return f"[{ln.job}] {ln.text}" if ln.job else ln.text

    def append(self, job: str | None, line: str, stream: str = "stdout", level: str | None = None) -> None:
        ln = LogLine(job or "", level or line_level(line, stream), line.rstrip("\n"))
        self.lines.append(ln)
        if len(self.lines) > MAX_LINES:
            del self.lines[: len(self.lines) - MAX_LINES]
        if ln.job and ln.job not in self._jobs:
            self._jobs.add(ln.job)
            self.job.addItem(ln.job)
        if self._accepts(ln):
            self.text.appendPlainText(self._fmt(ln))

    def refilter(self) -> None:
        self.text.setPlainText("\n".join(self._fmt(ln) for ln in self.lines if self._accepts(ln)))
        self.text.moveCursor(QTextCursor.MoveOperation.End)

    def visible_text(self) -> str:
        return self.text.toPlainText()

    def copy(self) -> None:
        sel = self.text.textCursor().selectedText().replace("\u2029", "\n")
        QGuiApplication.clipboard().setText(sel or self.visible_text())

    def clear(self) -> None:
        """Forget every line and job (a new cascade)."""
        self.lines.clear()
        self._jobs.clear()
        self.job.blockSignals(True)
        self.job.clear()
        self.job.addItem(ALL_JOBS)
        self.job.blockSignals(False)
        self.text.clear()

    def note_event(self, ev) -> None:
        """One line for each step of a run, so the Log tells what happens even when every
        job is reused (and writes no log of its own)."""
        kind = str(getattr(ev.kind, "value", ev.kind))
        jid, data = ev.job_id, ev.data or {}
        text = {
            "run_started": lambda: f"run started: {data.get('total', '?')} jobs",
            "job_started": lambda: f"{jid}: started" + (f" — {data['why']}" if data.get("why") else ""),
            "job_reused": lambda: f"{jid}: reused (recipe, parameters and inputs unchanged)",
            "job_finished": lambda: f"{jid}: done",
            "job_failed": lambda: (f"{jid}: cancelled — {data.get('reason', '')}" if _cancelled(data)
                                   else f"{jid}: failed — {data.get('reason', '')}"),
            "job_cancelled": lambda: f"{jid}: cancelled — {data.get('reason') or 'stopped by the user'}",
            "job_skipped": lambda: (f"{jid}: {data['reason']}" if str(data.get("reason", "")).startswith("not run")
                                    else f"{jid}: not run — {data.get('reason', '')}"),
            "paused": lambda: "paused" + (f" after {jid}" if jid else "") + (f" ({data['reason']})" if data.get("reason") else ""),
            "resumed": lambda: "resumed",
            "run_finished": lambda: "run stopped" if (data.get("summary") or {}).get("stopped") else "run finished",
        }.get(kind)
        if text is not None:
            if kind == "job_failed" and _cancelled(data):
                kind = "job_cancelled"
            level = "error" if kind == "job_failed" else ("warning" if kind in ("job_cancelled", "job_skipped") else "info")
            self.append(None, f"— {text()}", level=level)

    def lines_of(self, job: str) -> list[str]:
        return [ln.text for ln in self.lines if ln.job == job]
