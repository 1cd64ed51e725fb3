"""Image viewer as a ds9 user expects it: stretches (linear, log, sqrt, asinh, histogram
equalisation) with zscale / min-max / percentile limits, a colour bar, pixel value and sky
coordinates under the cursor, zoom / pan with Fit and 1:1, a window of its own, and A/B
comparison of two attempts of a job (blink, or a symmetric A − B difference)."""

from __future__ import annotations

import os

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QStackedLayout,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from reflexng.gui.imaging import (
    SCALES,
    STRETCHES,
    Plane,
    _sample,
    display_limits,
    read_plane,
    sky_coordinates,
    stretch_curve,
    symmetric_limits,
)

pg.setConfigOptions(imageAxisOrder="row-major")


def _no_pyplot_at_startup() -> None:
    """pyqtgraph >= 0.13.4 imports matplotlib.pyplot (about 1 s) while building the
    colour-map menu, only to list matplotlib's uncategorised maps ("Others"). Skip that list
    so the window opens fast; every categorised matplotlib map stays in the menu."""
    try:
        from pyqtgraph.widgets import ColorMapMenu
    except ImportError:  # an older pyqtgraph without the menu
        return
    if hasattr(ColorMapMenu, "find_mpl_leftovers"):
        ColorMapMenu.find_mpl_leftovers = lambda: []


_no_pyplot_at_startup()

COLOUR_MAPS = ("grey", "viridis", "inferno", "magma", "plasma", "cividis")
DIFFERENCE_MAP = "CET-D1"  # pyqtgraph's diverging blue-white-red map: zero is white
COMPARE_MODES = ("A", "B", "A − B", "blink")


def colour_map(name: str) -> pg.ColorMap:
    if name == "grey":
        return pg.ColorMap([0.0, 1.0], [(0, 0, 0), (255, 255, 255)])
    return pg.colormap.get(name)


def stretched_map(base: pg.ColorMap, curve: np.ndarray) -> pg.ColorMap:
    """The colour map the image is drawn with: ``base`` at the stretched positions, so the
    colour bar shows exactly the colours of the image (ds9's colour bar does the same)."""
    pos = np.linspace(0.0, 1.0, len(curve))
    colours = base.map(curve, mode="byte")
    return pg.ColorMap(pos, colours)


class ImageViewer(QWidget):
    """``show_file(path)``, ``show_plane(plane)``, ``show_array(data)``; ``sig_hover(text)``
    under the cursor, ``sig_shown(path)`` once an image is on screen."""

    sig_hover = Signal(str)
    sig_shown = Signal(str)

    def __init__(self, parent=None, *, detachable: bool = True) -> None:
        super().__init__(parent)
        # a PlotWidget (one GraphicsView, the PlotItem as its central item) with the colour bar
        # in the PlotItem's own layout: a GraphicsLayoutWidget crashed now and then at
        # interpreter exit (its grid layout deleted twice)
        self.glw = pg.PlotWidget(self)
        self.glw.setObjectName("imageView")
        self.plot = self.glw.getPlotItem()
        self.view = self.plot.getViewBox()
        self.view.invertY(False)  # FITS: first row at the bottom
        self.view.setAspectLocked(True)
        self.item = pg.ImageItem(axisOrder="row-major", autoDownsample=True)
        self.plot.addItem(self.item)
        self.colour_bar = pg.ColorBarItem(values=(0, 1), colorMap=colour_map("grey"), interactive=False,
                                          colorMapMenu=False, width=18)
        self.colour_bar.setObjectName("colourBar")
        self.colour_bar.setImageItem(self.item, insert_in=self.plot)
        self.placeholder = QLabel("No image shown yet: pause after a step, or open a product.", self)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setObjectName("imagePlaceholder")
        self.ext_combo = QComboBox(self)
        self.ext_combo.setObjectName("extensionSelector")
        self.ext_combo.setToolTip("FITS extension")
        self.ext_combo.activated.connect(self._ext_chosen)
        self.stretch_combo = QComboBox(self)
        self.stretch_combo.setObjectName("stretchSelector")
        self.stretch_combo.setToolTip("Stretch: how data values between the limits map to colours")
        self.stretch_combo.addItems(STRETCHES)
        self.stretch_combo.currentTextChanged.connect(lambda _s: self._apply_levels())
        self.scale_combo = QComboBox(self)
        self.scale_combo.setObjectName("scaleSelector")
        self.scale_combo.setToolTip("Limits: zscale (IRAF), min-max or a central percentile")
        self.scale_combo.addItems(SCALES)
        self.scale_combo.currentTextChanged.connect(lambda _s: self._apply_levels())
        self.cmap_combo = QComboBox(self)
        self.cmap_combo.setObjectName("colourMapSelector")
        self.cmap_combo.addItems(COLOUR_MAPS)
        self.cmap_combo.currentTextChanged.connect(self.set_colour_map)
        self.compare_combo = QComboBox(self)
        self.compare_combo.setObjectName("compareMode")
        self.compare_combo.setToolTip("Compare two attempts: A, B, the difference A − B, or blink")
        self.compare_combo.addItems(COMPARE_MODES)
        self.compare_combo.setEnabled(False)
        self.compare_combo.currentTextChanged.connect(self._compare_mode)
        self.fit_button = QToolButton(self)
        self.fit_button.setText("Fit")
        self.fit_button.setObjectName("zoomFit")
        self.fit_button.setToolTip("Show the whole image (mouse wheel zooms, dragging pans)")
        self.fit_button.clicked.connect(self.zoom_fit)
        self.one_button = QToolButton(self)
        self.one_button.setText("1:1")
        self.one_button.setObjectName("zoomOne")
        self.one_button.setToolTip("One image pixel per screen pixel, around the centre of the view")
        self.one_button.clicked.connect(self.zoom_one)
        self.window_button = QToolButton(self)
        self.window_button.setText("Window")
        self.window_button.setObjectName("detachViewer")
        self.window_button.setToolTip("Open this image in a window of its own (maximised)")
        self.window_button.clicked.connect(self.detach)
        self.window_button.setVisible(detachable)
        self.cursor_label = QLabel(" ", self)
        self.cursor_label.setObjectName("pixelValue")
        self.cursor_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bar = QHBoxLayout()
        for w in (self.ext_combo, self.stretch_combo, self.scale_combo, self.cmap_combo, self.compare_combo,
                  self.fit_button, self.one_button, self.window_button):
            bar.addWidget(w)
        for c in (self.ext_combo, self.stretch_combo, self.scale_combo, self.cmap_combo, self.compare_combo):
            c.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        bar.addStretch(1)
        self.stack = QStackedLayout()
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(self.glw)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addLayout(self.stack, 1)
        lay.addWidget(self.cursor_label)
        self.plane: Plane | None = None
        self.other: Plane | None = None  # attempt B when comparing
        self.path: str | None = None
        self.shown: np.ndarray | None = None
        self.difference = False  # the shown image is A − B (symmetric limits, diverging map)
        self.windows: list[QDialog] = []
        self._levels: tuple[float, float] = (0.0, 1.0)
        self._blink = QTimer(self)
        self._blink.setInterval(600)
        self._blink.timeout.connect(self._blink_step)
        self._blink_b = False
        self.glw.scene().sigMouseMoved.connect(self._mouse_moved)
        self._cmap_name = "grey"

    # ------------------------------------------------------------------ content
    def show_file(self, path: str, ext: int | None = None) -> None:
        """Read and show (on the calling thread: the inspection panel reads in a worker and
        calls :meth:`show_plane`)."""
        self.show_plane(read_plane(path, ext), path)

    def show_plane(self, plane: Plane, path: str | None = None) -> None:
        self.path = str(path) if path is not None else None
        self.plane = plane
        self.other = None
        self.compare_combo.blockSignals(True)
        self.compare_combo.setCurrentText("A")
        self.compare_combo.setEnabled(False)
        self.compare_combo.blockSignals(False)
        self._blink.stop()
        self.ext_combo.blockSignals(True)
        self.ext_combo.clear()
        for e in plane.extensions:
            self.ext_combo.addItem(e.label(), e.index)
            if e.kind != "image" or len(e.shape) < 2:
                item = self.ext_combo.model().item(self.ext_combo.count() - 1)
                item.setEnabled(False)
        self.ext_combo.setCurrentIndex(self.ext_combo.findData(plane.ext))
        images = [e for e in plane.extensions if e.kind == "image" and len(e.shape) >= 2]
        self.ext_combo.setVisible(len(images) > 1 or (len(plane.extensions) > 1 and bool(images)))
        self.ext_combo.blockSignals(False)
        self._display(plane.data, auto_range=True)
        self.sig_shown.emit(self.path or "<array>")

    def show_array(self, data: np.ndarray, header=None) -> None:
        self.show_plane(Plane(np.asarray(data, dtype=np.float32), header))

    def clear(self) -> None:
        """Back to the placeholder (a new cascade, a new organise)."""
        self._blink.stop()
        self.plane = self.other = None
        self.path = None
        self.shown = None
        self.difference = False
        self.item.clear()
        self.ext_combo.clear()
        self.compare_combo.setEnabled(False)
        self.cursor_label.setText(" ")
        self.stack.setCurrentWidget(self.placeholder)

    def _display(self, data: np.ndarray, auto_range: bool = False, difference: bool = False) -> None:
        self.shown = data
        self.difference = difference
        self.stack.setCurrentWidget(self.glw)
        self.item.setImage(data, autoLevels=False)
        self._apply_levels()
        if auto_range:
            self.zoom_fit()

    def _apply_levels(self) -> None:
        if self.shown is None:
            return
        if self.difference:
            lo, hi = symmetric_limits(self.shown)
            curve = stretch_curve("linear")
            base = colour_map(DIFFERENCE_MAP)
        else:
            scale = self.scale_combo.currentText()
            cached = self.plane.limits.get(scale) if self.plane is not None and self.shown is self.plane.data else None
            lo, hi = cached if cached is not None else display_limits(self.shown, scale)
            stretch = self.stretch_combo.currentText()
            sample = _sample(self.shown) if stretch == "histeq" else None
            curve = stretch_curve(stretch, 256, sample, (lo, hi))
            base = colour_map(self._cmap_name)
        self._levels = (lo, hi)
        self.colour_bar.setColorMap(stretched_map(base, curve))
        self.colour_bar.setLevels((lo, hi))
        self.item.setLevels((lo, hi))

    def levels(self) -> tuple[float, float]:
        return (float(self._levels[0]), float(self._levels[1]))

    def set_scale(self, scale: str) -> None:
        """The limits: ``zscale``, ``minmax`` or a percentile such as ``99.5%``."""
        self.scale_combo.setCurrentText(scale)

    def set_stretch(self, stretch: str) -> None:
        if stretch not in STRETCHES:
            raise ValueError(f"unknown stretch {stretch!r}; use one of {', '.join(STRETCHES)}")
        self.stretch_combo.setCurrentText(stretch)

    def set_colour_map(self, name: str) -> None:
        self._cmap_name = name
        if self.cmap_combo.currentText() != name:
            self.cmap_combo.setCurrentText(name)
        self._apply_levels()

    def displayed_colours(self) -> np.ndarray:
        """The RGBA lookup table the image is drawn with (256 entries, low to high)."""
        return self.colour_bar.colorMap().getLookupTable(nPts=256, alpha=True)

    def _ext_chosen(self, _index: int) -> None:
        ext = self.ext_combo.currentData()
        if self.path is not None and ext is not None:
            self.show_file(self.path, int(ext))

    # ------------------------------------------------------------------ zoom, window
    def zoom_fit(self) -> None:
        if self.shown is not None:
            ny, nx = self.shown.shape
            self.view.setRange(xRange=(0, nx), yRange=(0, ny), padding=0.02)

    def zoom_one(self) -> None:
        """One image pixel per screen pixel, keeping the centre of the view."""
        (x0, x1), (y0, y1) = self.view.viewRange()
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        w, h = max(1.0, self.view.width()), max(1.0, self.view.height())
        self.view.setRange(xRange=(cx - w / 2, cx + w / 2), yRange=(cy - h / 2, cy + h / 2), padding=0)

    def zoom_factor(self) -> float:
        """Screen pixels per image pixel."""
        (x0, x1), _ = self.view.viewRange()
        return float(self.view.width()) / max(1e-9, x1 - x0)

    def detach(self) -> QDialog | None:
        """A maximised window of its own showing the same image (and comparison)."""
        if self.plane is None:
            return None
        dlg = QDialog(self, Qt.WindowType.Window)
        dlg.setObjectName("imageWindow")
        dlg.setWindowTitle(os.path.basename(self.path) if self.path else "image")
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        viewer = ImageViewer(dlg, detachable=False)
        lay = QVBoxLayout(dlg)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(viewer)
        viewer.show_plane(self.plane, self.path)
        viewer.set_colour_map(self._cmap_name)
        viewer.stretch_combo.setCurrentText(self.stretch_combo.currentText())
        viewer.scale_combo.setCurrentText(self.scale_combo.currentText())
        if self.other is not None:
            viewer.other = self.other
            viewer.compare_combo.setEnabled(True)
            viewer.compare_combo.setCurrentText(self.compare_combo.currentText())
        dlg.viewer = viewer
        self.windows.append(dlg)
        dlg.destroyed.connect(lambda *_a, d=dlg: self.windows.remove(d) if d in self.windows else None)
        dlg.showMaximized()
        return dlg

    # ------------------------------------------------------------------ compare
    def compare_with(self, path_b: str) -> None:
        """Keep the current image as attempt A and load ``path_b`` as attempt B."""
        if self.plane is None:
            raise ValueError("show an image before comparing")
        self.compare_with_plane(read_plane(path_b, self.plane.ext if self.plane.extensions else None), path_b)

    def compare_with_plane(self, other: Plane, path_b: str = "B") -> None:
        if self.plane is None:
            raise ValueError("show an image before comparing")
        if other.data.shape != self.plane.data.shape:
            raise ValueError(f"{os.path.basename(path_b)}: image shapes differ; cannot compare")
        self.other = other
        self.compare_combo.setEnabled(True)
        if self.compare_combo.currentText() == "A − B":
            self._compare_mode("A − B")
        else:
            self.compare_combo.setCurrentText("A − B")

    def _compare_mode(self, mode: str) -> None:
        if self.plane is None:
            return
        self._blink.stop()
        if mode == "A" or self.other is None:
            self._display(self.plane.data)
        elif mode == "B":
            self._display(self.other.data)
        elif mode == "A − B":
            self._display(self.plane.data - self.other.data, difference=True)
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
        self.item.setImage(data, autoLevels=False, levels=self._levels)  # the same limits for A and B

    # ------------------------------------------------------------------ cursor
    def describe_pixel(self, x: float, y: float) -> str:
        """Text for the pixel at 0-based (x, y): value and sky coordinates (FITS 1-based shown)."""
        if self.shown is None:
            return ""
        ix, iy = int(np.floor(x + 0.5)), int(np.floor(y + 0.5))
        ny, nx = self.shown.shape
        if not (0 <= ix < nx and 0 <= iy < ny):
            return ""
        what = "A − B" if self.difference else "value"
        f = self.plane.binning if self.plane is not None and self.shown is self.plane.data else 1
        fx, fy = ix * f + (f - 1) / 2, iy * f + (f - 1) / 2  # the block's centre in the full image
        where = f"x {fx + 1:g}  y {fy + 1:g}" + (f" (block {f}x{f})" if f > 1 else "")
        text = f"{where}  {what} {self.shown[iy, ix]:.6g}"
        sky = sky_coordinates(self.plane.wcs if self.plane else None, fx, fy)
        return f"{text}  {sky}" if sky else text

    def _mouse_moved(self, pos) -> None:
        p = self.view.mapSceneToView(pos)
        # pixel (i, j) covers [i, i+1); centre at i + 0.5 in pyqtgraph coordinates
        text = self.describe_pixel(p.x() - 0.5, p.y() - 0.5)
        if text:
            self.cursor_label.setText(text)
            self.sig_hover.emit(text)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._blink.stop()
        super().closeEvent(event)
