"""Inspection when paused after a job (or when a product is opened): image, spectrum, table,
header, QC, inspector figures, parameter editor with Re-run / Continue, compare attempts,
and a failed job's reason with its last log lines, in place."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from reflexng.gui.image_view import ImageViewer
from reflexng.gui.imaging import LoadedProduct, list_extensions, load_product, product_kind_of
from reflexng.gui.parameter_editor import ParameterEditor, parameter_diff
from reflexng.gui.viewers import FigureTabs, HeaderViewer, QCTable, SpectrumViewer, TableViewer

FAILED_STYLE = "background: #fbeaea; color: #8a1f11; border: 1px solid #d9534f; padding: 4px;"
CANCELLED_STYLE = "background: #efeaf3; color: #4a3b5c; border: 1px solid #7f6a93; padding: 4px;"


def product_kind(path: str) -> str:
    """'image', 'spectrum', 'table' or 'other' for a FITS product (by its extensions)."""
    try:
        return product_kind_of(list_extensions(path))
    except Exception:
        return "other"


PLACEHOLDER = "Nothing to inspect yet: run with “pause after each step”, or open a product."


class InspectionPanel(QWidget):
    """``sig_rerun(job_id, changed parameters)``, ``sig_continue()``, ``sig_compare(job, attempt)``,
    ``sig_product_chosen(path)``; ``sig_product_shown(path)`` once a product read in a worker is
    on screen, ``sig_compared(path)`` once a comparison is.

    One job is in focus (``job_id``): the title, products, parameter editor, failure box and
    the Re-run button all name it; Re-run is disabled while the editor holds another job's
    parameters."""

    sig_rerun = Signal(str, dict)
    sig_continue = Signal()
    sig_compare = Signal(str, int)
    sig_keep = Signal(str, int)  # job id, attempt: make that attempt the job's result
    sig_save_set = Signal(str, str)  # job id, parameter-set name: the shown attempt's tuned values
    sig_product_chosen = Signal(str)
    sig_product_shown = Signal(str)
    sig_compared = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.job_id: str | None = None
        self.editor_job: str | None = None  # whose parameters the editor holds
        self._load_generation = 0
        self.title = QLabel(PLACEHOLDER, self)
        self.title.setObjectName("inspectionTitle")
        self.title.setWordWrap(True)
        self.failure = QPlainTextEdit(self)
        self.failure.setObjectName("failureView")
        self.failure.setReadOnly(True)
        self.failure.setStyleSheet(FAILED_STYLE)
        self.failure.setMaximumHeight(140)
        self.failure.hide()
        self.products = QComboBox(self)
        self.products.setObjectName("productSelector")
        self.products.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.products.setMinimumContentsLength(30)
        self.products.activated.connect(lambda _i: self.show_product(self.products.currentData()))
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("inspectionTabs")
        self.tabs.setUsesScrollButtons(False)  # six short names: every tab stays visible
        self.image = ImageViewer(self)
        self.spectrum = SpectrumViewer(self)
        self.table = TableViewer(self)
        self.header = HeaderViewer(self)
        self.qc = QCTable(self)
        self.figures = FigureTabs(self)
        self.notes = QLabel(self)
        self._job_notes = ""  # the inspector's words about the job in focus
        self.notes.setObjectName("inspectionNotes")
        self.notes.setWordWrap(True)
        for w, name in ((self.image, "Image"), (self.spectrum, "Spectrum"), (self.table, "Table"),
                        (self.header, "Header"), (self.qc, "QC"), (self.figures, "Plots")):
            self.tabs.addTab(w, name)
        self.editor = ParameterEditor(self)
        self.rerun_button = QPushButton("Re-run", self)
        self.rerun_button.setObjectName("rerunButton")
        self.rerun_button.clicked.connect(self._rerun)
        self.continue_button = QPushButton("Continue", self)
        self.continue_button.setObjectName("continueButton")
        self.continue_button.setToolTip("Accept this job and continue the run")
        self.continue_button.clicked.connect(self.sig_continue.emit)
        self.attempts = QComboBox(self)
        self.attempts.setObjectName("attemptSelector")
        self.attempts.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.compare_button = QPushButton("Compare", self)
        self.compare_button.setObjectName("compareButton")
        self.compare_button.setToolTip("Compare the shown product with the same product of another attempt")
        self.compare_button.clicked.connect(self._compare)
        self.compare_button.setEnabled(False)
        self.keep_button = QPushButton("Keep this one", self)
        self.keep_button.setObjectName("keepAttemptButton")
        self.keep_button.setToolTip("Make the chosen attempt the job's result for the downstream jobs "
                                    "(its products are reused; recorded in the provenance)")
        self.keep_button.clicked.connect(self._keep)
        self.keep_button.setEnabled(False)
        self.set_name = QLineEdit(self)
        self.set_name.setObjectName("parameterSetName")
        self.set_name.setPlaceholderText("parameter-set name")
        self.save_set_button = QPushButton("Save as parameter set", self)
        self.save_set_button.setObjectName("saveParameterSetButton")
        self.save_set_button.setToolTip("Write the shown attempt's tuned values as a named parameter set beside "
                                        "the cascade (the next run and the command line can use it)")
        self.save_set_button.clicked.connect(self._save_set)
        self.save_set_button.setEnabled(False)
        self.diff = QLabel(self)
        self.diff.setObjectName("parameterDiff")
        self.diff.setWordWrap(True)
        self.diff.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._can_rerun = False
        self._paused = False
        self.set_paused(False)

        buttons = QHBoxLayout()
        buttons.addWidget(self.rerun_button)
        buttons.addWidget(self.continue_button)
        compare = QHBoxLayout()
        compare.addWidget(QLabel("Attempt:"))
        compare.addWidget(self.attempts, 1)
        compare.addWidget(self.compare_button)
        compare.addWidget(self.keep_button)
        promote = QHBoxLayout()
        promote.addWidget(self.set_name, 1)
        promote.addWidget(self.save_set_button)
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
        bl.addLayout(promote)
        bl.addWidget(self.diff)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setObjectName("inspectionSplitter")
        self.splitter.addWidget(top)
        self.splitter.addWidget(bottom)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        top.setMinimumHeight(260)  # the image keeps room however long the parameter list is
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.splitter)

    # ------------------------------------------------------------------ state
    def set_paused(self, paused: bool, can_rerun: bool | None = None) -> None:
        """Continue needs a paused run; Re-run a paused or finished run (``can_rerun``)."""
        self._paused = paused
        self.continue_button.setEnabled(paused)
        self._can_rerun = paused if can_rerun is None else can_rerun
        self._update_rerun()

    def focus_consistent(self) -> bool:
        """True when the title, editor and Re-run target are the same job."""
        return self.job_id is not None and (self.editor_job == self.job_id or not self.editor.editors)

    def _update_rerun(self) -> None:
        ok = self._can_rerun and self.focus_consistent()
        self.rerun_button.setEnabled(ok)
        if self.job_id is None:
            self.rerun_button.setText("Re-run")
            self.rerun_button.setToolTip("Run a job again with changed parameters (pause after a step first)")
            return
        short = self.job_id if len(self.job_id) <= 28 else self.job_id[:27] + "…"
        self.rerun_button.setText(f"Re-run {short}")
        if self.focus_consistent():
            self.rerun_button.setToolTip(f"Run {self.job_id} again with the parameters above (a new attempt)")
        else:
            self.rerun_button.setToolTip(f"The editor shows the parameters of {self.editor_job}, not of "
                                         f"{self.job_id}: open {self.job_id} to re-run it")

    def reset(self) -> None:
        """Forget the job in focus and every product (a new cascade, a new organise)."""
        self._load_generation += 1
        self.job_id = None
        self.editor_job = None
        self.title.setText(PLACEHOLDER)
        self.title.setToolTip("")
        self.failure.clear()
        self.failure.hide()
        self.products.clear()
        self.image.clear()
        self.spectrum.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        self.header.clear()
        self.qc.set_values({})
        self.figures.set_figures([])
        self._job_notes = ""
        self.notes.setText("")
        self.editor.set_parameters([], title="No job selected")
        self.attempts.clear()
        self.compare_button.setEnabled(False)
        self.keep_button.setEnabled(False)
        self.save_set_button.setEnabled(False)
        self.diff.setText("")
        self._update_rerun()

    def set_job(
        self,
        job_id: str,
        title: str,
        products: Sequence[tuple[str, str]] = (),
        parameters: tuple[Sequence[Any], Mapping[str, Any], Mapping[str, Any]] | None = None,
        inspection: Any = None,
        qc: Mapping[str, Any] | None = None,
        first: LoadedProduct | None = None,
    ) -> None:
        """Show a job: its products, QC, the inspector's figures and the parameter editor.
        ``first``, the first product already read in a worker, is shown at once."""
        self.job_id = job_id
        self.title.setText(title)
        self.failure.hide()
        self.diff.setText("")
        self.products.clear()
        paths = list(products)
        if inspection is not None:
            listed = {p for p, _c in paths}
            for p in [*inspection.images, *inspection.spectra, *inspection.tables]:
                if p not in listed:
                    paths.append((p, ""))
        for path, cat in paths:
            self.products.addItem(f"{os.path.basename(path)}  {cat}".strip(), path)
            self.products.setItemData(self.products.count() - 1, path, Qt.ItemDataRole.ToolTipRole)
        values = dict(qc or {})
        if inspection is not None:
            values.update(inspection.qc)
            self.figures.set_figures(inspection.figures)
            self._job_notes = inspection.notes or ""
        else:
            self.figures.set_figures([])
            self._job_notes = ""
        self._set_notes("")
        self.qc.set_values(values)
        if parameters is not None:
            specs, effective, defaults = parameters
            self.editor.set_parameters(specs, effective, defaults, title=f"Recipe parameters of {job_id}")
            self.editor_job = job_id
        else:
            self.editor.set_parameters([], title=f"{job_id}: no recipe parameters")
            self.editor_job = job_id
        if not paths:
            self._load_generation += 1
            self.image.clear()
            self.spectrum.clear()
            self.header.clear()
        elif first is not None and first.path == paths[0][0]:
            self._load_generation += 1
            self.show_loaded(first)
        else:
            self.show_product(paths[0][0])
        self._update_rerun()

    def _set_notes(self, product_text: str) -> None:
        """The inspector's notes (e.g. that it failed) and a line about the product shown."""
        self.notes.setText("\n".join(t for t in (self._job_notes, product_text) if t))

    def set_attempts(self, attempts: Sequence[tuple[int, str]]) -> None:
        """(attempt number, label) of the job's other attempts."""
        self.attempts.clear()
        for n, label in attempts:
            self.attempts.addItem(label, n)
        self.compare_button.setEnabled(bool(attempts))
        self.keep_button.setEnabled(bool(attempts))
        self.save_set_button.setEnabled(self.job_id is not None)

    def show_failure(self, job_id: str, reason: str, log_tail: Sequence[str], status: str = "") -> None:
        """A failed (or cancelled, ``status``) job's reason and last log lines. A failure of
        another job than the one in focus moves the focus to it (title, editor and Re-run
        follow; nothing stays mixed)."""
        cancelled = status == "cancelled" or (not status and str(reason).startswith("cancelled"))  # not a failure
        word = "cancelled" if cancelled else (status or "failed")
        if job_id != self.job_id:
            self.reset()
            self.job_id = job_id
            self.title.setText(f"{job_id} — {word}")
            self.editor.set_parameters([], title=f"{job_id}: open the job to edit its parameters")
            self.editor_job = job_id
        self.failure.setStyleSheet(CANCELLED_STYLE if cancelled else FAILED_STYLE)
        self.failure.setPlainText(f"{job_id} {word}: {reason}\n" + "\n".join(log_tail[-15:]))
        self.failure.show()
        self._update_rerun()

    # ------------------------------------------------------------------ products
    def show_product(self, path: str | None) -> None:
        """Read ``path`` in a worker, then show it (a damaged file gives a message in place)."""
        if not path:
            return
        self._load_generation += 1
        gen = self._load_generation
        self._set_notes(f"reading {os.path.basename(path)} …")
        from reflexng.gui.worker import start_worker

        def loaded(product: LoadedProduct) -> None:
            if gen == self._load_generation and shiboken6.isValid(self):
                self.show_loaded(product)

        def failed(message: str, _tb: str) -> None:
            if gen == self._load_generation and shiboken6.isValid(self):
                self._set_notes(f"cannot show {os.path.basename(path)}: {message}")
                self.sig_product_shown.emit(path)

        start_worker(load_product, path, on_finished=loaded, on_failed=failed)
        self.sig_product_chosen.emit(path)

    def show_loaded(self, product: LoadedProduct) -> None:
        """Show a product read by :func:`reflexng.gui.imaging.load_product` (GUI thread, cheap)."""
        path = product.path
        self._set_notes(product.error or product.note)
        try:
            if product.kind == "image" and product.plane is not None:
                self.image.show_plane(product.plane, path)
                self.tabs.setCurrentWidget(self.image)
            elif product.kind == "spectrum" and product.spectrum is not None:
                x, y, xl, yl, err = product.spectrum
                self.spectrum.show_arrays(x, y, xl, yl, err)
                self.spectrum.path = path
                self.spectrum.setTitle(os.path.basename(path))
                self.tabs.setCurrentWidget(self.spectrum)
                if product.table is not None:
                    self.table.set_rows(*product.table)
            elif product.kind == "table" and product.table is not None:
                self.table.set_rows(*product.table)
                self.tabs.setCurrentWidget(self.table)
            if product.extensions:
                self.header.show_loaded(path, product.extensions, product.header)
            elif product.error:
                self.header.text.setPlainText(product.error)
        except Exception as exc:  # noqa: BLE001 - a strange product: say so in place
            self.notes.setText(f"cannot show {os.path.basename(path)}: {exc}")
        self.sig_product_shown.emit(path)

    def compare_with(self, path_b: str, label_b: str) -> None:
        """Compare the shown image (difference, blink) or spectrum (overlay) with ``path_b``,
        read in a worker."""
        from reflexng.gui.worker import start_worker

        shown_spectrum = self.tabs.currentWidget() is self.spectrum and self.spectrum.path is not None

        def done(product: LoadedProduct) -> None:
            if not shiboken6.isValid(self):
                return
            try:
                if product.error:
                    raise ValueError(product.error)
                if shown_spectrum and product.spectrum is not None:
                    x, y = product.spectrum[0], product.spectrum[1]
                    self.spectrum.overlay(x, y, label_b)
                elif product.plane is not None:
                    self.image.compare_with_plane(product.plane, path_b)
                    self.tabs.setCurrentWidget(self.image)
                else:
                    raise ValueError(f"{os.path.basename(path_b)}: nothing to compare")
            except ValueError as exc:
                self.notes.setText(str(exc))
            self.sig_compared.emit(path_b)

        start_worker(load_product, path_b, on_finished=done,
                     on_failed=lambda m, _t: (self.notes.setText(m), self.sig_compared.emit(path_b)))

    def show_parameter_diff(self, shown: Mapping[str, Any], other: Mapping[str, Any], label_other: str) -> None:
        """The parameters that differ, read old → new: from the (older) ``other`` attempt to the
        shown one."""
        lines = parameter_diff(other, shown)
        self.diff.setText(f"Parameters, {label_other} → shown attempt: " + ("; ".join(lines) if lines else "identical"))

    def _rerun(self) -> None:
        if self.job_id is None or not self.focus_consistent():
            return
        try:
            changed = self.editor.changed()
        except ValueError as exc:
            self.notes.setText(str(exc))
            return
        self.sig_rerun.emit(self.job_id, changed)

    def _keep(self) -> None:
        n = self.attempts.currentData()
        if self.job_id is not None and n is not None:
            self.sig_keep.emit(self.job_id, int(n))

    def _save_set(self) -> None:
        name = self.set_name.text().strip()
        if not name:
            self.notes.setText("give the parameter set a name first")
            return
        if self.job_id is not None:
            self.sig_save_set.emit(self.job_id, name)

    def _compare(self) -> None:
        n = self.attempts.currentData()
        if self.job_id is not None and n is not None:
            self.sig_compare.emit(self.job_id, int(n))
