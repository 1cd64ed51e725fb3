"""The main window: layout of the panes and the menus. Session wiring lives in
:mod:`reflexng.gui.controller`."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from reflexng.gui.cascade_view import CascadeLegend, CascadeView
from reflexng.gui.dataset_tree import DatasetTree
from reflexng.gui.failure_banner import FailureBanner
from reflexng.gui.file_table import FileTable
from reflexng.gui.inspection_panel import InspectionPanel
from reflexng.gui.log_view import LogView
from reflexng.gui.preferences import Preferences
from reflexng.gui.provenance_view import ProvenanceView
from reflexng.gui.session_bar import RunControls, SessionBar
from reflexng.gui.task_details import TaskDetailsPane
from reflexng.gui.workflow_parameters import WorkflowParametersPane


class MainWindow(QMainWindow):
    """Signals for scripts and tests: ``sig_cascade_loaded(cascade)``, ``sig_organised(result)``,
    ``sig_paused(job id)``, ``sig_inspected(job id)``, ``sig_run_finished(summary)``,
    ``sig_message(text)``, ``sig_event(event)``, ``sig_task_shown(task)`` (task-detail pane filled)."""

    sig_cascade_loaded = Signal(object)
    sig_organised = Signal(object)
    sig_paused = Signal(str)
    sig_inspected = Signal(str)
    sig_rerun_done = Signal(str)
    sig_run_finished = Signal(object)
    sig_message = Signal(str)
    sig_event = Signal(object)
    sig_task_shown = Signal(str)

    def __init__(self, prefs: Preferences | None = None) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("reflexng")
        self.prefs = prefs if prefs is not None else Preferences.load()

        self.session_bar = SessionBar(self)
        self.run_controls = RunControls(self)
        self.cascade_view = CascadeView(self)
        self.file_table = FileTable(self)
        self.dataset_tree = DatasetTree(self)
        self.log_view = LogView(self)
        self.provenance_view = ProvenanceView(self)
        self.inspection = InspectionPanel(self)
        self.task_details = TaskDetailsPane(self)
        self.workflow_parameters = WorkflowParametersPane(self)
        self.failure_banner = FailureBanner(self)
        self.cascade_legend = CascadeLegend(self)
        self.message = QLabel(self)
        self.message.setObjectName("messageLine")
        self.message.setWordWrap(True)

        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.file_table, "Files")
        self.tabs.addTab(self.dataset_tree, "Datasets")
        self.tabs.addTab(self.log_view, "Log")
        self.tabs.addTab(self.provenance_view, "Provenance")
        self.tabs.addTab(self.task_details, "Task")
        graph = QWidget(self)
        gl = QVBoxLayout(graph)
        gl.setContentsMargins(0, 0, 0, 0)
        gl.setSpacing(0)
        gl.addWidget(self.cascade_view, 1)
        gl.addWidget(self.cascade_legend)
        left = QSplitter(Qt.Orientation.Vertical, self)
        left.addWidget(graph)
        left.addWidget(self.tabs)
        left.setStretchFactor(0, 2)
        left.setStretchFactor(1, 3)
        main = QSplitter(Qt.Orientation.Horizontal, self)
        main.addWidget(left)
        main.addWidget(self.inspection)
        main.setStretchFactor(0, 3)
        main.setStretchFactor(1, 2)
        central = QWidget(self)
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.session_bar)
        lay.addWidget(self.workflow_parameters)
        lay.addWidget(self.run_controls)
        lay.addWidget(self.failure_banner)
        lay.addWidget(self.message)
        lay.addWidget(main, 1)
        self.setCentralWidget(central)
        from reflexng.gui.executor_panel import ExecutorStatus

        self.executor_status = ExecutorStatus(self)  # where jobs run; Dask: workers and dashboard link
        self.statusBar().addPermanentWidget(self.executor_status)

        # stable names for the widgets inside composite panes
        self.run_button = self.run_controls.run_button
        self.pause_button = self.run_controls.pause_button
        self.step_button = self.run_controls.step_button
        self.stop_button = self.run_controls.stop_button
        self.pause_after_each = self.run_controls.pause_after_each
        self.progress_bar = self.run_controls.progress
        self.rerun_button = self.inspection.rerun_button
        self.continue_button = self.inspection.continue_button
        self.run_controls.pause_after_each.setChecked(self.prefs.pause_after_each_step)
        self.run_controls.jobs.setValue(self.prefs.parallel_jobs)
        if self.prefs.default_workdir:
            self.session_bar.workdir.setText(self.prefs.default_workdir)
        self._build_menus()
        from reflexng.gui.window_size import fit_to_screen

        fit_to_screen(self, self.prefs.window_size)  # fits the screen; the size of last time; whole combo texts

        from reflexng.gui.controller import Controller

        self.controller = Controller(self)

    # ------------------------------------------------------------------ menus
    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self.open_product_action = QAction("Open product…", self)
        self.open_product_action.setShortcut(QKeySequence.StandardKey.Open)
        self.open_product_action.triggered.connect(self._open_product_dialog)
        f.addAction(self.open_product_action)
        self.recent_menu = f.addMenu("Recent sessions")
        self.refresh_recent_menu()
        self.preferences_action = QAction("Preferences…", self)
        self.preferences_action.triggered.connect(self.show_preferences)
        f.addAction(self.preferences_action)
        quit_action = QAction("Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        f.addAction(quit_action)
        v = mb.addMenu("&View")
        for text, slot in (
            ("Fit cascade", self.cascade_view.fit),
            ("Zoom in", lambda: self.cascade_view.zoom(1.25)),
            ("Zoom out", lambda: self.cascade_view.zoom(0.8)),
            ("Export cascade as PNG…", lambda: self._export_cascade("png")),
            ("Export cascade as SVG…", lambda: self._export_cascade("svg")),
        ):
            a = QAction(text, self)
            a.triggered.connect(slot)
            v.addAction(a)
        self.legend_action = QAction("Show colour legend", self)
        self.legend_action.setCheckable(True)
        self.legend_action.setChecked(True)
        self.legend_action.toggled.connect(self.cascade_legend.setVisible)
        v.addAction(self.legend_action)
        t = mb.addMenu("&Tools")
        self.samp_action = QAction("Send product over SAMP (ds9, TOPCAT, Aladin)", self)
        self.samp_action.triggered.connect(lambda: self.controller.send_samp())
        t.addAction(self.samp_action)
        self.timeline_action = QAction("Run timeline (wall, CPU, memory, worker per job)…", self)
        self.timeline_action.triggered.connect(self._show_timeline)
        t.addAction(self.timeline_action)
        self.export_prov_action = QAction("Export PROV-JSON of the selected product…", self)
        self.export_prov_action.triggered.connect(self._export_prov)
        t.addAction(self.export_prov_action)
        self.provenance_view.export_button.clicked.connect(self._export_prov)

    def _show_timeline(self) -> None:
        from reflexng.gui.executor_panel import TimelineDialog

        self.timeline_dialog = TimelineDialog(str(self.controller.workdir()), self)
        self.timeline_dialog.show()

    def refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        for r in self.prefs.recent:
            a = QAction(r.label(), self)
            a.triggered.connect(lambda _c=False, r=r: self.controller.open_recent(r))
            self.recent_menu.addAction(a)
        self.recent_menu.setEnabled(bool(self.prefs.recent))

    def show_preferences(self) -> None:
        from reflexng.gui.preferences_dialog import PreferencesDialog

        dlg = PreferencesDialog(self.prefs, self)
        if dlg.exec():
            self.apply_preferences(dlg.apply())

    def apply_preferences(self, prefs: Preferences) -> None:
        from PySide6.QtWidgets import QApplication

        from reflexng.gui.theme import apply_theme

        self.prefs = prefs
        apply_theme(QApplication.instance(), prefs.theme)
        self.run_controls.jobs.setValue(prefs.parallel_jobs)

    def _open_product_dialog(self) -> None:
        path, _f = QFileDialog.getOpenFileName(self, "Open a product", "", "FITS files (*.fits *.fit *.fits.gz);;All files (*)")
        if path:
            self.inspection.show_product(path)

    def _export_cascade(self, kind: str) -> None:
        path, _f = QFileDialog.getSaveFileName(self, f"Export cascade as {kind.upper()}", f"cascade.{kind}")
        if path:
            (self.cascade_view.export_png if kind == "png" else self.cascade_view.export_svg)(path)

    def _export_prov(self) -> None:
        product = self.provenance_view.current_path() or self.inspection.products.currentData()
        if not product:
            self.show_message("select a product in the provenance view first")
            return
        path, _f = QFileDialog.getSaveFileName(self, "Export PROV-JSON", "provenance.json", "JSON (*.json)")
        if path:
            self.provenance_view.export_prov_json(product, path)
            self.show_message(f"provenance written to {path}")

    def show_message(self, text: str) -> None:
        """One line in the window (never a modal dialog during a run)."""
        self.message.setText(text)
        self.statusBar().showMessage(text, 15000)
        self.sig_message.emit(text)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        from reflexng.gui.window_size import remember_size

        if self.isVisible():
            remember_size(self, self.prefs)
        self.controller.shutdown()
        super().closeEvent(event)
