"""The non-modal failure banner (object name ``failureBanner``): under the failure policy
"ask" the run pauses when a job fails; the banner names the job, the reason and the last log
lines, with Retry (a new attempt, then continue), Skip (leave it failed, continue with the
rest) and Stop. No dialog interrupts the run."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout

BANNER_STYLE = (
    "QFrame#failureBanner { background: #fbeaea; border: 1px solid #d9534f; border-radius: 3px; }"
    " QLabel { color: #8a1f11; }"
)
LOG_LINES = 12


class FailureBanner(QFrame):
    """``show_failure(job, reason, log_tail)``; ``sig_retry(job)``, ``sig_skip(job)``, ``sig_stop()``."""

    sig_retry = Signal(str)
    sig_skip = Signal(str)
    sig_stop = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("failureBanner")
        self.setStyleSheet(BANNER_STYLE)
        self.job_id: str | None = None
        self.message = QLabel(self)
        self.message.setObjectName("failureMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.log = QPlainTextEdit(self)
        self.log.setObjectName("failureLog")
        self.log.setReadOnly(True)
        self.log.setMaximumHeight(110)
        self.retry_button = QPushButton("Retry", self)
        self.retry_button.setObjectName("failureRetry")
        self.retry_button.setToolTip("Run the failed job again (a new attempt), then continue the run")
        self.skip_button = QPushButton("Skip", self)
        self.skip_button.setObjectName("failureSkip")
        self.skip_button.setToolTip("Leave the job failed (jobs that need it are skipped) and continue")
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setObjectName("failureStop")
        self.stop_button.setToolTip("End the run")
        self.retry_button.clicked.connect(lambda: self._answer(self.sig_retry))
        self.skip_button.clicked.connect(lambda: self._answer(self.sig_skip))
        self.stop_button.clicked.connect(lambda: self._answer(None))
        buttons = QVBoxLayout()
        for b in (self.retry_button, self.skip_button, self.stop_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        text = QVBoxLayout()
        text.addWidget(self.message)
        text.addWidget(self.log)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.addLayout(text, 1)
        lay.addLayout(buttons)
        self.hide()

    def show_failure(self, job_id: str, reason: str, log_tail: Sequence[str] = (), task: str = "") -> None:
        self.job_id = job_id
        what = f"job {job_id}" + (f" (task {task})" if task else "")
        self.message.setText(f"<b>{what} failed:</b> {reason or 'no reason given'}<br>"
                             "The run is paused. Retry the job, skip it, or stop the run.")
        lines = list(log_tail)[-LOG_LINES:]
        self.log.setPlainText("\n".join(lines) if lines else "(no log output)")
        for b in (self.retry_button, self.skip_button, self.stop_button):
            b.setEnabled(True)
        self.show()

    def _answer(self, signal) -> None:
        jid = self.job_id
        for b in (self.retry_button, self.skip_button, self.stop_button):
            b.setEnabled(False)  # one answer per failure
        self.hide()
        if signal is None:
            self.sig_stop.emit()
        elif jid:
            signal.emit(jid)

    def dismiss(self) -> None:
        self.job_id = None
        self.hide()
