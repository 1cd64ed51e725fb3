"""Small viewers: 1-D spectrum plot, FITS header, FITS table, QC values, inspector figures."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QTextCursor, QTextDocument
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from reflexng.gui.imaging import header_text, list_extensions, read_spectrum


class SpectrumViewer(pg.PlotWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("spectrumView")
        self.showGrid(x=True, y=True, alpha=0.3)
        self.curve = self.plot([], [], pen=pg.mkPen("#1f77b4", width=1))
        self.path: str | None = None

    def show_file(self, path: str, ext: int | None = None) -> None:
        x, y, xl, yl = read_spectrum(path, ext)
        self.show_arrays(x, y, xl, yl)
        self.path = str(path)
        self.setTitle(os.path.basename(path))

    def show_arrays(self, x: np.ndarray, y: np.ndarray, xlabel: str = "", ylabel: str = "") -> None:
        self.curve.setData(np.asarray(x, float), np.asarray(y, float))
        self.setLabel("bottom", xlabel)
        self.setLabel("left", ylabel)
        self.autoRange()


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

    MAX_ROWS = 5000

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("tableView")

    def show_file(self, path: str, ext: int | None = None) -> None:
        from astropy.io import fits

        with fits.open(path, memmap=True) as hdul:
            idx = ext
            if idx is None:
                idx = next((i for i, h in enumerate(hdul) if isinstance(h, (fits.BinTableHDU, fits.TableHDU))), None)
            if idx is None:
                raise ValueError(f"{path}: no table extension")
            data = hdul[idx].data
            names = list(data.columns.names)
            n = min(len(data), self.MAX_ROWS)
            self.setColumnCount(len(names))
            self.setHorizontalHeaderLabels(names)
            self.setRowCount(n)
            for c, name in enumerate(names):
                col = data[name][:n]
                for r in range(n):
                    self.setItem(r, c, QTableWidgetItem(str(col[r])))


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


class FigureTabs(QTabWidget):
    """Matplotlib figures an inspector returns (built without pyplot), one tab each."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("inspectorFigures")

    def set_figures(self, figures: Sequence[Any]) -> None:
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg

        while self.count():
            w = self.widget(0)
            self.removeTab(0)
            w.deleteLater()
        for i, fig in enumerate(figures):
            canvas = FigureCanvasQTAgg(fig)
            title = ""
            if getattr(fig, "axes", None):
                title = fig.axes[0].get_title()
            self.addTab(canvas, title or f"figure {i + 1}")
            canvas.draw_idle()
