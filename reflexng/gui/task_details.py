"""The task-detail pane (object name ``taskDetails``): shown when a task is clicked in the
cascade view. Content comes from :mod:`reflexng.gui.task_details_model` (Qt-free)."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from reflexng.gui.task_details_model import TaskDetails, format_value

CHANGED = "#fff2a8"
PARAM_COLUMNS = ("Parameter", "Default", "Cascade", "Effective")


class TaskDetailsPane(QScrollArea):
    """``set_details(TaskDetails)``; a click on a job → ``sig_job_selected(job id)`` (the
    effective values follow that job); a double click → ``sig_job_activated(job id)``."""

    sig_job_selected = Signal(str)
    sig_job_activated = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("taskDetails")
        self.setWidgetResizable(True)
        self.details: TaskDetails | None = None
        body = QWidget(self)
        self.title = QLabel("Click a task in the cascade view to see its recipe, parameters and jobs.", body)
        self.title.setObjectName("taskTitle")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.description = QLabel(body)
        self.description.setObjectName("taskDescription")
        self.description.setWordWrap(True)
        self.location = QLabel(body)
        self.location.setObjectName("taskLocation")
        self.location.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.inputs = QLabel(body)
        self.inputs.setObjectName("taskInputs")
        self.inputs.setWordWrap(True)
        self.inputs.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.parameters = QTableWidget(0, len(PARAM_COLUMNS), body)
        self.parameters.setObjectName("taskParameters")
        self.parameters.setHorizontalHeaderLabels(PARAM_COLUMNS)
        self.parameters.verticalHeader().setVisible(False)
        self.parameters.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.parameters.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.parameters.horizontalHeader().setStretchLastSection(True)
        self.effective_label = QLabel(body)
        self.jobs = QListWidget(body)
        self.jobs.setObjectName("taskJobs")
        self.jobs.setMaximumHeight(140)
        self.jobs.currentItemChanged.connect(self._job_changed)
        self.jobs.itemDoubleClicked.connect(lambda it: self.sig_job_activated.emit(it.data(Qt.ItemDataRole.UserRole)))
        lay = QVBoxLayout(body)
        for w in (self.title, self.description, self.location):
            lay.addWidget(w)
        lay.addWidget(QLabel("<b>Inputs</b>", body))
        lay.addWidget(self.inputs)
        lay.addWidget(QLabel("<b>Parameters</b>", body))
        lay.addWidget(self.effective_label)
        lay.addWidget(self.parameters, 1)
        lay.addWidget(QLabel("<b>Jobs</b> (double-click to inspect)", body))
        lay.addWidget(self.jobs)
        self.resources = QLabel(body)  # resource trace of the selected job's attempt
        self.resources.setObjectName("taskResources")
        self.resources.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.resources)
        self.replay_label = QLabel("<b>Replay command</b> (runs the selected job again by hand)", body)
        self.replay = QLineEdit(body)
        self.replay.setObjectName("replayCommand")
        self.replay.setReadOnly(True)
        self.replay.setPlaceholderText("select a job that ran")
        self.copy_replay_button = QPushButton("Copy", body)
        self.copy_replay_button.setObjectName("copyReplayCommand")
        self.copy_replay_button.setToolTip("Copy the exact command to the clipboard")
        self.copy_replay_button.clicked.connect(self.copy_replay)
        row = QHBoxLayout()
        row.addWidget(self.replay, 1)
        row.addWidget(self.copy_replay_button)
        lay.addWidget(self.replay_label)
        lay.addLayout(row)
        self.replay_job: str | None = None
        self.setWidget(body)

    def set_replay(self, job_id: str | None, command: str) -> None:
        """The exact command that re-runs ``job_id``'s latest attempt ('' when it never ran)."""
        self.replay_job = job_id
        self.replay.setText(command)
        self.replay.setToolTip(command)
        self.replay.setCursorPosition(0)
        self.copy_replay_button.setEnabled(bool(command))

    def copy_replay(self) -> str:
        from PySide6.QtGui import QGuiApplication

        text = self.replay.text()
        if text:
            QGuiApplication.clipboard().setText(text)
        return text

    def set_details(self, d: TaskDetails) -> None:
        self.details = d
        r = d.recipe
        ver = f" {r.version}" if r.version else ""
        extra = f" — meta-targets {', '.join(d.meta_targets)}" if d.meta_targets else ""
        self.title.setText(f"<b>Task {d.name}</b> — recipe <b>{r.name}</b>{ver}{extra}")
        desc = r.error and f"<span style='color:#b00'>{r.error}</span>" or r.description or "(no description)"
        if d.condition:
            desc += f"<br><i>task runs {d.condition}</i>"
        self.description.setText(desc)
        self.location.setText(f"Declared at {d.location}")
        words = [f"<b>main:</b> {d.main_input or '(none)'}"] + [f"<b>associated:</b> {line}" for line in d.inputs]
        self.inputs.setText("<br>".join(words))
        self.set_parameter_rows(d)
        self.jobs.blockSignals(True)
        self.jobs.clear()
        for jid, state in d.jobs:
            it = QListWidgetItem(f"{jid} — {state}")
            it.setData(Qt.ItemDataRole.UserRole, jid)
            self._colour(it, state)
            self.jobs.addItem(it)
            if jid == d.selected_job:
                self.jobs.setCurrentItem(it)
        if not d.jobs:
            self.jobs.addItem("no jobs (organise the data first)")
        self.jobs.blockSignals(False)

    def set_parameter_rows(self, d: TaskDetails) -> None:
        self.details = d
        who = f"for job {d.selected_job}" if d.selected_job else "from the cascade (no job selected)"
        self.effective_label.setText(f"Effective values {who}; highlighted: differs from the recipe default")
        t = self.parameters
        t.setRowCount(len(d.parameters))
        for i, p in enumerate(d.parameters):
            for c, v in enumerate((p.name, format_value(p.default), format_value(p.cascade), format_value(p.effective))):
                it = QTableWidgetItem(v)
                it.setToolTip(p.description or p.name)
                if c == 3 and p.changed:
                    it.setBackground(QBrush(QColor(CHANGED)))
                t.setItem(i, c, it)

    def set_effective(self, job_id: str, effective: Mapping) -> None:
        """Effective values of ``job_id`` (from the session) in the last column."""
        d = self.details
        if d is None:
            return
        d.selected_job = job_id
        for p in d.parameters:
            if p.name in effective:
                p.effective = effective[p.name]
        self.set_parameter_rows(d)

    def update_states(self, states: Mapping[str, str]) -> None:
        """Follow job states during a run."""
        d = self.details
        if d is None:
            return
        d.jobs = [(j, states.get(j, s)) for j, s in d.jobs]
        for i in range(self.jobs.count()):
            it = self.jobs.item(i)
            jid = it.data(Qt.ItemDataRole.UserRole)
            if jid and jid in states:
                it.setText(f"{jid} — {states[jid]}")
                self._colour(it, states[jid])

    def job_states(self) -> dict[str, str]:
        return dict(self.details.jobs) if self.details else {}

    @staticmethod
    def _colour(it: QListWidgetItem, state: str) -> None:
        from reflexng.gui.cascade_view import STATE_COLOURS

        c = STATE_COLOURS.get(state)
        if c:
            it.setData(Qt.ItemDataRole.DecorationRole, QColor(c))

    def _job_changed(self, current, _previous) -> None:
        if current is not None and current.data(Qt.ItemDataRole.UserRole):
            self.sig_job_selected.emit(current.data(Qt.ItemDataRole.UserRole))
