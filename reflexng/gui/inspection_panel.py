"""Inspection when paused after a job (or when a product is opened): image, spectrum, table,
header, QC, inspector figures, parameter editor with Re-run / Continue, compare attempts,
and a failed job's reason with its last log lines, in place."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from reflexng.gui.image_view import ImageViewer
from reflexng.gui.imaging import list_extensions, spectrum_columns
from reflexng.gui.parameter_editor import ParameterEditor, parameter_diff
from reflexng.gui.viewers import FigureTabs, HeaderViewer, QCTable, SpectrumViewer, TableViewer

FAILED_STYLE = "background: #fbeaea; color: #8a1f11; border: 1px solid #d9534f; padding: 4px;"


def product_kind(path: str) -> str:
    """'image', 'spectrum', 'table' or 'other' for a FITS product (by its extensions)."""
    try:
        exts = list_extensions(path)
    except Exception:
        return "other"
    if any(e.kind == "image" and len(e.shape) >= 2 for e in exts):
        return "image"
    if any(e.kind == "image" and len(e.shape) == 1 for e in exts):
        return "spectrum"
    if any(e.kind == "table" and spectrum_columns(e.columns) for e in exts):
        return "spectrum"
    if any(e.kind == "table" for e in exts):
        return "table"
    return "other"


class InspectionPanel(QWidget):
    """``sig_rerun(job_id, changed parameters)``, ``sig_continue()``, ``sig_compare(job, attempt)``,
    ``sig_product_chosen(path)``."""

    sig_rerun = Signal(str, dict)
    sig_continue = Signal()
    sig_compare = Signal(str, int)
    sig_product_chosen = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.job_id: str | None = None
        self.title = QLabel("Nothing to inspect yet: run with “pause after each step”, or open a product.", self)
        self.title.setWordWrap(True)
        self.failure = QPlainTextEdit(self)
        self.failure.setObjectName("failureView")
        self.failure.setReadOnly(True)
        self.failure.setStyleSheet(FAILED_STYLE)
        self.failure.setMaximumHeight(140)
        self.failure.hide()
        self.products = QComboBox(self)
        self.products.setObjectName("productSelector")
        self.products.activated.connect(lambda _i: self.show_product(self.products.currentData()))
        self.tabs = QTabWidget(self)
        self.image = ImageViewer(self)
        self.spectrum = SpectrumViewer(self)
        self.table = TableViewer(self)
        self.header = HeaderViewer(self)
        self.qc = QCTable(self)
        self.figures = FigureTabs(self)
        self.notes = QLabel(self)
        self.notes.setWordWrap(True)
        for w, name in ((self.image, "Image"), (self.spectrum, "Spectrum"), (self.table, "Table"),
                        (self.header, "Header"), (self.qc, "QC"), (self.figures, "Plots")):
            self.tabs.addTab(w, name)
        self.editor = ParameterEditor(self)
        self.rerun_button = QPushButton("Re-run", self)
        self.rerun_button.setObjectName("rerunButton")
        self.rerun_button.setToolTip("Run this job again with the parameters above (a new attempt)")
        self.rerun_button.clicked.connect(self._rerun)
        self.continue_button = QPushButton("Continue", self)
        self.continue_button.setObjectName("continueButton")
        self.continue_button.setToolTip("Accept this job and continue the run")
        self.continue_button.clicked.connect(self.sig_continue.emit)
        self.attempts = QComboBox(self)
        self.attempts.setObjectName("attemptSelector")
        self.compare_button = QPushButton("Compare", self)
        self.compare_button.setObjectName("compareButton")
        self.compare_button.setToolTip("Compare the shown product with the same product of another attempt")
        self.compare_button.clicked.connect(self._compare)
        self.diff = QLabel(self)
        self.diff.setObjectName("parameterDiff")
        self.diff.setWordWrap(True)
        self.set_paused(False)

        buttons = QHBoxLayout()
        buttons.addWidget(self.rerun_button)
        buttons.addWidget(self.continue_button)
        compare = QHBoxLayout()
        compare.addWidget(QLabel("Attempt:"))
        compare.addWidget(self.attempts, 1)
        compare.addWidget(self.compare_button)
        top = QWidget(self)
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.title)
        tl.addWidget(self.failure)
        tl.addWidget(self.products)
        tl.addWidget(self.tabs, 1)
        tl.addWidget(self.notes)
        bottom = QWidget(self)
        bl = QVBoxLayout(bottom)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(self.editor, 1)
        bl.addLayout(buttons)
        bl.addLayout(compare)
        bl.addWidget(self.diff)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(top)
        split.addWidget(bottom)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)

    # ------------------------------------------------------------------ state
    def set_paused(self, paused: bool, can_rerun: bool | None = None) -> None:
        """Continue needs a paused run; Re-run a paused or finished run (``can_rerun``)."""
        self.continue_button.setEnabled(paused)
        self._can_rerun = paused if can_rerun is None else can_rerun
        self.rerun_button.setEnabled(self._can_rerun and self.job_id is not None)

    def set_job(
        self,
        job_id: str,
        title: str,
        products: Sequence[tuple[str, str]] = (),
        parameters: tuple[Sequence[Any], Mapping[str, Any], Mapping[str, Any]] | None = None,
        inspection: Any = None,
        qc: Mapping[str, Any] | None = None,
    ) -> None:
        """Show a job: its products, QC, the inspector's figures and the parameter editor."""
        self.job_id = job_id
        self.title.setText(title)
        self.failure.hide()
        self.products.clear()
        paths = list(products)
        if inspection is not None:
            listed = {p for p, _c in paths}
            for p in [*inspection.images, *inspection.spectra, *inspection.tables]:
                if p not in listed:
                    paths.append((p, ""))
        for path, cat in paths:
            self.products.addItem(f"{os.path.basename(path)}  {cat}".strip(), path)
        values = dict(qc or {})
        if inspection is not None:
            values.update(inspection.qc)
            self.figures.set_figures(inspection.figures)
            self.notes.setText(inspection.notes)
        else:
            self.figures.set_figures([])
            self.notes.setText("")
        self.qc.set_values(values)
        if parameters is not None:
            specs, effective, defaults = parameters
            self.editor.set_parameters(specs, effective, defaults, title=f"Recipe parameters of {job_id}")
        if paths:
            self.show_product(paths[0][0])
        self.rerun_button.setEnabled(getattr(self, "_can_rerun", False))

    def set_attempts(self, attempts: Sequence[tuple[int, str]]) -> None:
        """(attempt number, label) of the job's other attempts."""
        self.attempts.clear()
        for n, label in attempts:
            self.attempts.addItem(label, n)
        self.compare_button.setEnabled(bool(attempts))

    def show_failure(self, job_id: str, reason: str, log_tail: Sequence[str]) -> None:
        self.job_id = job_id
        self.failure.setPlainText(f"{job_id} failed: {reason}\n" + "\n".join(log_tail[-15:]))
        self.failure.show()

    def show_product(self, path: str | None) -> None:
        if not path:
            return
        kind = product_kind(path)
        try:
            if kind == "image":
                self.image.show_file(path)
                self.tabs.setCurrentWidget(self.image)
            elif kind == "spectrum":
                self.spectrum.show_file(path)
                self.tabs.setCurrentWidget(self.spectrum)
                if any(e.kind == "table" for e in list_extensions(path)):
                    self.table.show_file(path)
            elif kind == "table":
                self.table.show_file(path)
                self.tabs.setCurrentWidget(self.table)
            self.header.show_file(path)
        except Exception as exc:  # a damaged product: say so in place
            self.notes.setText(f"cannot show {os.path.basename(path)}: {exc}")
        self.sig_product_chosen.emit(path)

    def show_parameter_diff(self, a: Mapping[str, Any], b: Mapping[str, Any], label_b: str) -> None:
        lines = parameter_diff(a, b)
        self.diff.setText(f"Parameters vs {label_b}: " + ("; ".join(lines) if lines else "identical"))

    def _rerun(self) -> None:
        if self.job_id is None:
            return
        try:
            changed = self.editor.changed()
        except ValueError as exc:
            self.notes.setText(str(exc))
            return
        self.sig_rerun.emit(self.job_id, changed)

    def _compare(self) -> None:
        n = self.attempts.currentData()
        if self.job_id is not None and n is not None:
            self.sig_compare.emit(self.job_id, int(n))
