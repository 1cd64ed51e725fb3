"""Preferences: default work directory, parallel jobs, pause-after-each default, external
viewer, light/dark theme, executor (where jobs run)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QSpinBox,
)

from reflexng.gui.preferences import Preferences


class PreferencesDialog(QDialog):
    def __init__(self, prefs: Preferences, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("preferencesDialog")
        self.setWindowTitle("Preferences")
        self.prefs = prefs
        self.workdir = QLineEdit(prefs.default_workdir)
        self.workdir.setPlaceholderText("default: the user data folder")
        self.jobs = QSpinBox()
        self.jobs.setRange(1, 64)
        self.jobs.setValue(prefs.parallel_jobs)
        self.pause = QCheckBox()
        self.pause.setChecked(prefs.pause_after_each_step)
        self.viewer = QLineEdit(prefs.external_viewer)
        self.viewer.setPlaceholderText("e.g. ds9 {path}  (empty: SAMP / built-in viewer)")
        self.theme = QComboBox()
        self.theme.addItems(["light", "dark"])
        self.theme.setCurrentText(prefs.theme)
        from reflexng.gui.executor_panel import EXECUTOR_CHOICES

        self.executor = QComboBox()
        self.executor.setObjectName("preferencesExecutor")
        for label, value in EXECUTOR_CHOICES:
            self.executor.addItem(label, value)
        self.executor.setCurrentIndex(max(0, self.executor.findData(prefs.executor)))
        self.dask_scheduler = QLineEdit(prefs.dask_scheduler)
        self.dask_scheduler.setObjectName("preferencesDaskScheduler")
        self.dask_scheduler.setPlaceholderText("dask: tcp://host:8786 (empty: a LocalCluster on this machine)")
        form = QFormLayout(self)
        form.addRow("Default work directory", self.workdir)
        form.addRow("Parallel jobs", self.jobs)
        form.addRow("Pause after each step", self.pause)
        form.addRow("External viewer", self.viewer)
        form.addRow("Theme", self.theme)
        form.addRow("Executor", self.executor)
        form.addRow("Dask scheduler", self.dask_scheduler)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def apply(self) -> Preferences:
        """Copy the form into the preferences and save them."""
        p = self.prefs
        p.default_workdir = self.workdir.text().strip()
        p.parallel_jobs = self.jobs.value()
        p.pause_after_each_step = self.pause.isChecked()
        p.external_viewer = self.viewer.text().strip()
        p.theme = self.theme.currentText()
        p.executor = self.executor.currentData() or ""
        p.dask_scheduler = self.dask_scheduler.text().strip()
        p.save()
        return p
