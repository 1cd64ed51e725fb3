"""Image viewer: pyqtgraph ImageView with zscale / min-max / percentile limits, colour maps,
pixel value and sky coordinates under the cursor, extension selector, and A/B comparison
(blink or difference) of two attempts of a job."""

from __future__ import annotations

import os

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from reflexng.gui.imaging import SCALES, Plane, display_limits, read_plane, sky_coordinates

pg.setConfigOptions(imageAxisOrder="row-major")


def _no_pyplot_at_startup() -> None:
    """pyqtgraph >= 0.13.4 imports matplotlib.pyplot (about 1 s) while building the
    histogram's colour-map menu, only to list matplotlib's uncategorised maps ("Others"). Skip
    that list so the window opens fast; every categorised matplotlib map stays in the menu."""
    try:
        from pyqtgraph.widgets import ColorMapMenu
    except ImportError:  # an older pyqtgraph without the menu
        return
    if hasattr(ColorMapMenu, "find_mpl_leftovers"):
        ColorMapMenu.find_mpl_leftovers = lambda: []


_no_pyplot_at_startup()

COLOUR_MAPS = ("grey", "viridis", "inferno", "magma", "plasma", "cividis")
COMPARE_MODES = ("A", "B", "A − B", "blink")


class ImageViewer(QWidget):
    """``show_file(path)``, ``show_array(data)``; ``sig_hover(text)`` under the cursor."""

    sig_hover = Signal(str)
    sig_shown = Signal(str)  # the path (or "<array>") once an image is on screen

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.imv = pg.ImageView(self, view=pg.PlotItem())
        self.imv.setObjectName("imageView")
        self.imv.ui.roiBtn.hide()
        self.imv.ui.menuBtn.hide()
        self.imv.view.invertY(False)  # FITS: first row at the bottom
        self.imv.view.setAspectLocked(True)
        self.ext_combo = QComboBox(self)
        self.ext_combo.setObjectName("extensionSelector")
        self.ext_combo.activated.connect(self._ext_chosen)
        self.scale_combo = QComboBox(self)
        self.scale_combo.setObjectName("scaleSelector")
        self.scale_combo.addItems(SCALES)
        self.scale_combo.currentTextChanged.connect(lambda _s: self._apply_levels())
        self.cmap_combo = QComboBox(self)
        self.cmap_combo.setObjectName("colourMapSelector")
        self.cmap_combo.addItems(COLOUR_MAPS)
        self.cmap_combo.currentTextChanged.connect(self.set_colour_map)
        self.compare_combo = QComboBox(self)
        self.compare_combo.setObjectName("compareMode")
        self.compare_combo.addItems(COMPARE_MODES)
        self.compare_combo.setEnabled(False)
        self.compare_combo.currentTextChanged.connect(self._compare_mode)
        self.fit_button = QPushButton("Fit", self)
        self.fit_button.clicked.connect(lambda: self.imv.view.autoRange())
        self.cursor_label = QLabel(" ", self)
        self.cursor_label.setObjectName("pixelValue")
        bar = QHBoxLayout()
        for w in (self.ext_combo, self.scale_combo, self.cmap_combo, self.compare_combo, self.fit_button):
            bar.addWidget(w)
        bar.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addWidget(self.imv, 1)
        lay.addWidget(self.cursor_label)
        self.plane: Plane | None = None
        self.other: Plane | None = None  # attempt B when comparing
        self.path: str | None = None
        self.shown: np.ndarray | None = None
        self._blink = QTimer(self)
        self._blink.setInterval(600)
        self._blink.timeout.connect(self._blink_step)
        self._blink_b = False
        self.imv.scene.sigMouseMoved.connect(self._mouse_moved)
        self.set_colour_map("grey")

    # ------------------------------------------------------------------ content
    def show_file(self, path: str, ext: int | None = None) -> None:
        plane = read_plane(path, ext)
        self.path = str(path)
        self.plane = plane
        self.ext_combo.blockSignals(True)
        self.ext_combo.clear()
        for e in plane.extensions:
            self.ext_combo.addItem(e.label(), e.index)
            if e.kind != "image" or len(e.shape) < 2:
                item = self.ext_combo.model().item(self.ext_combo.count() - 1)
                item.setEnabled(False)
        self.ext_combo.setCurrentIndex(self.ext_combo.findData(plane.ext))
        self.ext_combo.blockSignals(False)
        self._display(plane.data)
        self.sig_shown.emit(self.path)

    def show_array(self, data: np.ndarray, header=None) -> None:
        self.path = None
        self.plane = Plane(np.asarray(data, dtype=np.float32), header)
        self.ext_combo.clear()
        self._display(self.plane.data)
        self.sig_shown.emit("<array>")

    def _display(self, data: np.ndarray) -> None:
        self.shown = data
        lo, hi = display_limits(data, self.scale_combo.currentText())
        self.imv.setImage(data, autoRange=True, autoLevels=False, levels=(lo, hi), autoHistogramRange=False)
        self.imv.ui.histogram.setHistogramRange(lo - 0.2 * (hi - lo), hi + 0.2 * (hi - lo))

    def _apply_levels(self) -> None:
        if self.shown is not None:
            lo, hi = display_limits(self.shown, self.scale_combo.currentText())
            self.imv.setLevels(lo, hi)
            self.imv.ui.histogram.setHistogramRange(lo - 0.2 * (hi - lo), hi + 0.2 * (hi - lo))

    def levels(self) -> tuple[float, float]:
        return tuple(float(v) for v in self.imv.getLevels())  # type: ignore[return-value]

    def set_scale(self, scale: str) -> None:
        self.scale_combo.setCurrentText(scale)

    def set_colour_map(self, name: str) -> None:
        if name == "grey":
            cmap = pg.ColorMap([0.0, 1.0], [(0, 0, 0), (255, 255, 255)])
        else:
            cmap = pg.colormap.get(name)
        self.imv.setColorMap(cmap)
        if self.cmap_combo.currentText() != name:
            self.cmap_combo.setCurrentText(name)

    def _ext_chosen(self, _index: int) -> None:
        ext = self.ext_combo.currentData()
        if self.path is not None and ext is not None:
            self.show_file(self.path, int(ext))

    # ------------------------------------------------------------------ compare
    def compare_with(self, path_b: str) -> None:
        """Keep the current image as attempt A and load ``path_b`` as attempt B."""
        if self.plane is None:
            raise ValueError("show an image before comparing")
        self.other = read_plane(path_b, self.plane.ext if self.plane.extensions else None)
        if self.other.data.shape != self.plane.data.shape:
            self.other = None
            raise ValueError(f"{os.path.basename(path_b)}: image shapes differ; cannot compare")
        self.compare_combo.setEnabled(True)
        self.compare_combo.setCurrentText("A − B")
        self._compare_mode("A − B")

    def _compare_mode(self, mode: str) -> None:
        if self.plane is None:
            return
        self._blink.stop()
        if mode == "A" or self.other is None:
            self._display(self.plane.data)
        elif mode == "B":
            self._display(self.other.data)
        elif mode == "A − B":
            self._display(self.plane.data - self.other.data)
        elif mode == "blink":
            self._blink_b = False
            self._display(self.plane.data)
            self._blink.start()

    def _blink_step(self) -> None:
        if self.plane is None or self.other is None:
            self._blink.stop()
            return
        self._blink_b = not self._blink_b
        data = self.other.data if self._blink_b else self.plane.data
        self.shown = data
        self.imv.setImage(data, autoRange=False, autoLevels=False, levels=self.imv.getLevels(), autoHistogramRange=False)

    # ------------------------------------------------------------------ cursor
    def describe_pixel(self, x: float, y: float) -> str:
        """Text for the pixel at 0-based (x, y): value and sky coordinates (FITS 1-based shown)."""
        if self.shown is None:
            return ""
        ix, iy = int(np.floor(x + 0.5)), int(np.floor(y + 0.5))
        ny, nx = self.shown.shape
        if not (0 <= ix < nx and 0 <= iy < ny):
            return ""
        text = f"x {ix + 1}  y {iy + 1}  value {self.shown[iy, ix]:.6g}"
        sky = sky_coordinates(self.plane.wcs if self.plane else None, ix, iy)
        return f"{text}  {sky}" if sky else text

    def _mouse_moved(self, pos) -> None:
        vb = self.imv.view.getViewBox() if hasattr(self.imv.view, "getViewBox") else self.imv.view
        p = vb.mapSceneToView(pos)
        # pixel (i, j) covers [i, i+1); centre at i + 0.5 in pyqtgraph coordinates
        text = self.describe_pixel(p.x() - 0.5, p.y() - 0.5)
        if text:
            self.cursor_label.setText(text)
            self.sig_hover.emit(text)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._blink.stop()
        super().closeEvent(event)
