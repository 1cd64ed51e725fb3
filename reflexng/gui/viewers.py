"""Small viewers: 1-D spectrum plot, FITS header, FITS table, QC values, inspector figures."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QImage, QPixmap, QTextCursor, QTextDocument
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from reflexng.gui.imaging import header_text, list_extensions, read_spectrum, table_rows


class SpectrumViewer(pg.PlotWidget):
    """A 1-D spectrum with its 1-sigma error band (when the product has one); mouse wheel and
    drag zoom and pan, right-drag zooms an axis; ``overlay`` adds a second spectrum (another
    attempt) for comparison."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("spectrumView")
        self.showGrid(x=True, y=True, alpha=0.3)
        self.legend = self.addLegend(offset=(-10, 10))
        self.curve = self.plot([], [], pen=pg.mkPen("#1f77b4", width=1), name="A")
        self._lower = pg.PlotDataItem([], [], pen=pg.mkPen(None))
        self._upper = pg.PlotDataItem([], [], pen=pg.mkPen(None))
        self.error_band = pg.FillBetweenItem(self._lower, self._upper, brush=pg.mkBrush(31, 119, 180, 60))
        self.addItem(self.error_band)
        self.overlay_curve = self.plot([], [], pen=pg.mkPen("#d62728", width=1, style=Qt.PenStyle.DashLine), name="B")
        self.legend.setVisible(False)
        self.path: str | None = None
        self.error: np.ndarray | None = None

    def show_file(self, path: str, ext: int | None = None) -> None:
        x, y, xl, yl, err = read_spectrum(path, ext, with_error=True)
        self.show_arrays(x, y, xl, yl, err)
        self.path = str(path)
        self.setTitle(os.path.basename(path))

    def show_arrays(self, x: np.ndarray, y: np.ndarray, xlabel: str = "", ylabel: str = "",
                    error: np.ndarray | None = None) -> None:
        x, y = np.asarray(x, float), np.asarray(y, float)
        self.curve.setData(x, y)
        self.error = None if error is None else np.asarray(error, float)
        if self.error is not None and self.error.shape == y.shape:
            self._lower.setData(x, y - self.error)
            self._upper.setData(x, y + self.error)
            self.error_band.setVisible(True)
        else:
            self.error = None
            self._lower.setData([], [])
            self._upper.setData([], [])
            self.error_band.setVisible(False)
        self.clear_overlay()
        self.setLabel("bottom", xlabel)
        self.setLabel("left", ylabel)
        self.autoRange()

    def overlay(self, x: np.ndarray, y: np.ndarray, label: str = "B") -> None:
        """Draw a second spectrum (dashed) over the first, e.g. the same product of another attempt."""
        self.overlay_curve.setData(np.asarray(x, float), np.asarray(y, float))
        self.legend.setVisible(True)
        self.legend.getLabel(self.overlay_curve).setText(label)

    def clear_overlay(self) -> None:
        self.overlay_curve.setData([], [])
        self.legend.setVisible(False)

    def clear(self) -> None:  # noqa: D102 - PlotWidget.clear would drop the items
        self.show_arrays([], [])
        self.setTitle("")
        self.path = None


class HeaderViewer(QWidget):
    """The full header of one extension, with an extension selector and a search field."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.text = QPlainTextEdit(self)
        self.text.setObjectName("headerView")
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.text.setFont(mono)
        self.ext = QComboBox(self)
        self.ext.activated.connect(lambda _i: self._load(self.ext.currentData()))
        self.find = QLineEdit(self)
        self.find.setPlaceholderText("Find keyword…")
        self.find.returnPressed.connect(self.find_next)
        bar = QHBoxLayout()
        bar.addWidget(self.ext)
        bar.addWidget(self.find, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addWidget(self.text, 1)
        self.path: str | None = None

    def show_file(self, path: str, ext: int = 0) -> None:
        self.path = str(path)
        self.ext.clear()
        try:
            for e in list_extensions(path):
                self.ext.addItem(e.label(), e.index)
        except Exception as exc:  # unreadable file: say so in place
            self.text.setPlainText(f"{path}: cannot read the header: {exc}")
            return
        self.ext.setCurrentIndex(max(0, self.ext.findData(ext)))
        self._load(ext)

    def show_loaded(self, path: str, extensions: Sequence[Any], text: str) -> None:
        """Show a header read in a worker (extension 0); other extensions load on demand."""
        self.path = str(path)
        self.ext.clear()
        for e in extensions:
            self.ext.addItem(e.label(), e.index)
        self.ext.setCurrentIndex(max(0, self.ext.findData(0)))
        self.text.setPlainText(text)

    def clear(self) -> None:
        self.path = None
        self.ext.clear()
        self.text.setPlainText("")

    def _load(self, ext: int | None) -> None:
        if self.path is None or ext is None:
            return
        try:
            self.text.setPlainText(header_text(self.path, int(ext)))
        except Exception as exc:
            self.text.setPlainText(f"{self.path}: cannot read the header: {exc}")

    def find_next(self) -> bool:
        word = self.find.text()
        if not word:
            return False
        if self.text.find(word):
            return True
        self.text.moveCursor(QTextCursor.MoveOperation.Start)
        return self.text.find(word, QTextDocument.FindFlag(0))


class TableViewer(QTableWidget):
    """The first rows of a FITS table extension."""

    MAX_ROWS = 2000

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("tableView")

    def show_file(self, path: str, ext: int | None = None) -> None:
        self.set_rows(*table_rows(path, ext, self.MAX_ROWS))

    def set_rows(self, names: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        """Show rows read in a worker (:func:`reflexng.gui.imaging.table_rows`)."""
        self.setUpdatesEnabled(False)
        try:
            self.clearContents()
            self.setColumnCount(len(names))
            self.setHorizontalHeaderLabels(list(names))
            self.setRowCount(len(rows))
            for r, row in enumerate(rows):
                for c, text in enumerate(row):
                    self.setItem(r, c, QTableWidgetItem(text))
        finally:
            self.setUpdatesEnabled(True)


class QCTable(QTableWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(0, 2, parent)
        self.setObjectName("qcTable")
        self.setHorizontalHeaderLabels(["QC parameter", "value"])
        self.horizontalHeader().setStretchLastSection(True)
        self.verticalHeader().setVisible(False)

    def set_values(self, qc: Mapping[str, Any]) -> None:
        self.setRowCount(len(qc))
        for r, (k, v) in enumerate(qc.items()):
            self.setItem(r, 0, QTableWidgetItem(str(k)))
            text = f"{v:.6g}" if isinstance(v, float) else str(v)
            item = QTableWidgetItem(text)
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.setItem(r, 1, item)

    def values(self) -> dict[str, str]:
        return {self.item(r, 0).text(): self.item(r, 1).text() for r in range(self.rowCount())}


def render_figure(fig: Any) -> QImage:
    """Draw a matplotlib figure with Agg into a QImage (safe in a worker thread: a QImage,
    unlike a QPixmap or a widget, may be made off the GUI thread)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    w, h = canvas.get_width_height(physical=True)
    return QImage(bytes(canvas.buffer_rgba()), w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()


class FigurePage(QLabel):
    """One inspector figure: "drawing…" until its picture arrives from the worker."""

    def __init__(self, fig: Any, parent=None) -> None:
        super().__init__("drawing the figure…", parent)
        self.fig = fig
        self.image: QImage | None = None
        self.state = "new"  # new | drawing | drawn | failed
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(80, 60)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)

    def set_image(self, image: QImage) -> None:
        self.image = image
        self.state = "drawn"
        self._fit()

    def set_error(self, message: str) -> None:
        self.state = "failed"
        self.setText(f"the inspector's figure cannot be drawn: {message}")
        self.setWordWrap(True)

    def _fit(self) -> None:
        if self.image is not None:
            pix = QPixmap.fromImage(self.image)
            self.setPixmap(pix.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                      Qt.TransformationMode.SmoothTransformation))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._fit()


class FigureTabs(QTabWidget):
    """Matplotlib figures an inspector returns (built without pyplot), one tab each. Each is
    drawn in a worker (Agg into an image), and only when its tab is on screen: a hidden Plots
    tab costs nothing, and the event loop never waits for matplotlib."""

    sig_drawn = Signal(int)  # index of a figure whose picture (or error) is shown

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("inspectorFigures")
        self.setUsesScrollButtons(True)
        self.setElideMode(Qt.TextElideMode.ElideRight)
        self._generation = 0
        self.currentChanged.connect(lambda _i: self._draw_visible())

    def set_figures(self, figures: Sequence[Any]) -> None:
        self._generation += 1
        while self.count():
            w = self.widget(0)
            self.removeTab(0)
            w.deleteLater()
        for i, fig in enumerate(figures):
            title = ""
            try:
                if getattr(fig, "axes", None):
                    title = fig.axes[0].get_title()
            except Exception:  # noqa: BLE001 - a strange figure still gets a tab
                title = ""
            self.addTab(FigurePage(fig, self), title or f"figure {i + 1}")
            self.setTabToolTip(i, title or f"figure {i + 1}")
        self._draw_visible()

    def pages(self) -> list[FigurePage]:
        return [self.widget(i) for i in range(self.count())]

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self._draw_visible()

    def _draw_visible(self) -> None:
        if not self.isVisible():
            return
        i = self.currentIndex()
        page = self.widget(i) if i >= 0 else None
        if not isinstance(page, FigurePage) or page.state != "new":
            return
        page.state = "drawing"
        gen = self._generation
        from reflexng.gui.worker import start_worker

        def alive() -> bool:
            return gen == self._generation and shiboken6.isValid(self) and shiboken6.isValid(page)

        def drawn(image) -> None:
            if alive():
                page.set_image(image)
                self.sig_drawn.emit(i)

        def failed(message: str, _tb: str) -> None:
            if alive():
                page.set_error(message)
                self.sig_drawn.emit(i)

        start_worker(render_figure, page.fig, on_finished=drawn, on_failed=failed)
