"""The top of the main window: cascade, raw-data folders (drag and drop), target, parameter
set, work directory, Organise; and the run controls (Run/Pause/Step/Stop, pause after each
step, ordering, parallel jobs, progress with ETA)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QToolButton,
    QWidget,
)

BROWSE = "Browse…"


def builtin_cascades() -> list[str]:
    try:
        from reflexng.cascade import builtin_cascade_dir

        return sorted(p.stem for p in builtin_cascade_dir().glob("*.py") if not p.stem.startswith("_"))
    except Exception:
        return []


class DataDirList(QListWidget):
    """Raw-data folders; drop folders from a file manager to add them."""

    sig_changed = Signal(list)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("dataDirs")
        self.setAcceptDrops(True)
        self.setMaximumHeight(64)
        self.setToolTip("Raw-data folders (drop folders here)")

    def dirs(self) -> list[str]:
        return [self.item(i).text() for i in range(self.count())]

    def add_dir(self, path: str) -> None:
        p = str(Path(path).expanduser().resolve())
        if p not in self.dirs():
            self.addItem(p)
            self.sig_changed.emit(self.dirs())

    def remove_selected(self) -> None:
        for it in self.selectedItems():
            self.takeItem(self.row(it))
        self.sig_changed.emit(self.dirs())

    def dragEnterEvent(self, e) -> None:  # noqa: N802 - Qt API
        if e.mimeData().hasUrls():
            e.acceptProposedAction()

    def dragMoveEvent(self, e) -> None:  # noqa: N802 - Qt API
        if e.mimeData().hasUrls():
            e.acceptProposedAction()

    def dropEvent(self, e) -> None:  # noqa: N802 - Qt API
        for url in e.mimeData().urls():
            p = Path(url.toLocalFile())
            if p.is_dir():
                self.add_dir(str(p))
            elif p.is_file():
                self.add_dir(str(p.parent))
        e.acceptProposedAction()


class SessionBar(QWidget):
    sig_cascade_chosen = Signal(str)
    sig_organise = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.cascade = QComboBox(self)
        self.cascade.setObjectName("cascadeSelector")
        self.cascade.setEditable(True)
        self.cascade.setMinimumWidth(180)
        self.cascade.addItems(builtin_cascades())
        self.cascade.addItem(BROWSE)
        self.cascade.setCurrentIndex(-1)
        self.cascade.activated.connect(self._cascade_activated)
        self.cascade.lineEdit().returnPressed.connect(lambda: self.sig_cascade_chosen.emit(self.cascade.currentText()))
        self.target = QComboBox(self)
        self.target.setObjectName("targetSelector")
        self.target.setMinimumWidth(140)
        self.parameter_set = QComboBox(self)
        self.parameter_set.setObjectName("parameterSetSelector")
        self.data_dirs = DataDirList(self)
        add = QToolButton(self)
        add.setText("+")
        add.setToolTip("Add a raw-data folder")
        add.clicked.connect(self._browse_data)
        rem = QToolButton(self)
        rem.setText("−")
        rem.setToolTip("Remove the selected folder")
        rem.clicked.connect(self.data_dirs.remove_selected)
        self.workdir = QLineEdit(self)
        self.workdir.setObjectName("workdir")
        self.workdir.setPlaceholderText("work directory")
        wd = QToolButton(self)
        wd.setText("…")
        wd.clicked.connect(self._browse_workdir)
        self.organise_button = QPushButton("Organise", self)
        self.organise_button.setObjectName("organiseButton")
        self.organise_button.setToolTip("Scan the raw-data folders and build jobs and datasets")
        self.organise_button.clicked.connect(self.sig_organise.emit)
        g = QGridLayout(self)
        g.setContentsMargins(4, 4, 4, 0)
        g.addWidget(QLabel("Cascade"), 0, 0)
        g.addWidget(self.cascade, 0, 1)
        g.addWidget(QLabel("Target"), 0, 2)
        g.addWidget(self.target, 0, 3)
        g.addWidget(QLabel("Parameters"), 0, 4)
        g.addWidget(self.parameter_set, 0, 5)
        g.addWidget(QLabel("Work dir"), 1, 0)
        wl = QHBoxLayout()
        wl.addWidget(self.workdir, 1)
        wl.addWidget(wd)
        g.addLayout(wl, 1, 1, 1, 5)
        g.addWidget(QLabel("Raw data"), 0, 6, Qt.AlignmentFlag.AlignTop)
        g.addWidget(self.data_dirs, 0, 7, 2, 1)
        bl = QHBoxLayout()
        bl.addWidget(add)
        bl.addWidget(rem)
        g.addLayout(bl, 0, 8)
        g.addWidget(self.organise_button, 1, 8)
        g.setColumnStretch(7, 1)

    def _cascade_activated(self, _i: int) -> None:
        text = self.cascade.currentText()
        if text == BROWSE:
            path, _f = QFileDialog.getOpenFileName(self, "Open a cascade", "", "Cascades and EDPS workflows (*.py)")
            if not path:
                return
            self.cascade.insertItem(0, path)
            self.cascade.setCurrentIndex(0)
            text = path
        self.sig_cascade_chosen.emit(text)

    def _browse_data(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Add a raw-data folder")
        if d:
            self.data_dirs.add_dir(d)

    def _browse_workdir(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Work directory")
        if d:
            self.workdir.setText(d)

    def set_cascade_text(self, text: str) -> None:
        i = self.cascade.findText(text)
        if i < 0:
            self.cascade.insertItem(0, text)
            i = 0
        self.cascade.setCurrentIndex(i)

    def set_targets(self, targets: list[str], default: str | None) -> None:
        """Fill the target box quietly: the caller draws the cascade once for the chosen target
        (each clear/add/choose would redraw it otherwise, three graph layouts on the GUI thread)."""
        self.target.blockSignals(True)
        try:
            self.target.clear()
            self.target.addItems(targets)
            if default and default in targets:
                self.target.setCurrentText(default)
        finally:
            self.target.blockSignals(False)

    def set_parameter_sets(self, names: list[str]) -> None:
        self.parameter_set.clear()
        self.parameter_set.addItem("(cascade defaults)", None)
        for n in names:
            self.parameter_set.addItem(n, n)


class RunControls(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        from reflexng.gui.theme import icon

        self.run_button = QPushButton(icon("run"), "Run", self)
        self.run_button.setObjectName("runButton")
        self.pause_button = QPushButton(icon("pause"), "Pause", self)
        self.pause_button.setObjectName("pauseButton")
        self.step_button = QPushButton(icon("step"), "Step", self)
        self.step_button.setObjectName("stepButton")
        self.step_button.setToolTip("Run the next job, then pause")
        self.stop_button = QPushButton(icon("stop"), "Stop", self)
        self.stop_button.setObjectName("stopButton")
        self.pause_after_each = QCheckBox("Pause after each step", self)
        self.pause_after_each.setObjectName("pauseAfterEachStep")
        self.placeholder_recipes = QCheckBox("Placeholder recipes", self)
        self.placeholder_recipes.setObjectName("placeholderRecipes")
        self.placeholder_recipes.setToolTip(
            "Run the job graph without the pipeline: every job writes header-only placeholder products "
            "(never exported); applies from the next Organise")
        self.ordering = QComboBox(self)
        self.ordering.setObjectName("ordering")
        self.ordering.addItems(["dfs", "bfs", "dynamic"])
        self.ordering.setToolTip("dfs: one dataset after the other; bfs: task by task; dynamic: parallel")
        self.jobs = QSpinBox(self)
        self.jobs.setObjectName("parallelJobs")
        self.jobs.setRange(1, 64)
        self.jobs.setToolTip("Parallel jobs (dynamic ordering)")
        self.failure_policy = QComboBox(self)
        self.failure_policy.setObjectName("failurePolicy")
        self.failure_policy.addItems(["continue", "stop", "ask"])
        self.failure_policy.setToolTip(
            "When a job fails: continue with the rest, stop the run, or ask (pause with Retry / Skip / Stop)")
        self.progress = QProgressBar(self)
        self.progress.setObjectName("progressBar")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 0, 4, 0)
        for w in (self.run_button, self.pause_button, self.step_button, self.stop_button, self.pause_after_each,
                  self.placeholder_recipes):
            lay.addWidget(w)
        lay.addWidget(QLabel("Ordering"))
        lay.addWidget(self.ordering)
        lay.addWidget(QLabel("Jobs"))
        lay.addWidget(self.jobs)
        lay.addWidget(QLabel("On failure"))
        lay.addWidget(self.failure_policy)
        lay.addWidget(self.progress, 1)
        self.set_running(False, False)

    def set_running(self, running: bool, paused: bool, can_run: bool = True) -> None:
        self.run_button.setEnabled(can_run and not running)
        self.pause_button.setEnabled(running)
        self.pause_button.setText("Resume" if paused else "Pause")
        self.step_button.setEnabled(running and paused)
        self.stop_button.setEnabled(running)

    def set_progress(self, done: int, total: int, eta: float | None) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        text = f"{done}/{total} jobs"
        if eta is not None and done < total:
            text += f" — ETA {format_eta(eta)}"
        self.progress.setFormat(text)


def format_eta(seconds: float) -> str:
    s = int(round(max(0.0, seconds)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"
