"""Helpers the GUI tests import by name (a uniquely named module: ``from conftest import`` would pick
whichever of the test tree's conftest modules was imported first)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits


def open_window(qtbot, cascade, raw, work, show: bool = True):
    """A main window with ``cascade`` open and ``raw`` organised into work directory ``work``:
    (window, OrganiseResult)."""
    from reflexng.gui.main_window import MainWindow
    from reflexng.gui.preferences import Preferences

    win = MainWindow(Preferences())
    qtbot.addWidget(win)
    if show:
        win.show()
    with qtbot.waitSignal(win.sig_cascade_loaded, timeout=30000):
        win.controller.open_cascade(str(cascade))
    win.session_bar.data_dirs.add_dir(str(raw))
    win.session_bar.workdir.setText(str(work))
    with qtbot.waitSignal(win.sig_organised, timeout=60000) as org:
        win.controller.organise()
    return win, org.args[0]


def write_image(path: Path, data: np.ndarray, header: dict | None = None, wcs: bool = False, extra_ext=None) -> Path:
    hdr = fits.Header()
    for k, v in (header or {}).items():
        hdr[k] = v
    if wcs:
        ny, nx = data.shape
        hdr.update(
            {
                "CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CRPIX1": nx / 2 + 0.5, "CRPIX2": ny / 2 + 0.5,
                "CRVAL1": 150.0, "CRVAL2": 2.0, "CDELT1": -0.0001, "CDELT2": 0.0001,
                "CUNIT1": "deg", "CUNIT2": "deg",
            }
        )
    hdus = [fits.PrimaryHDU(data, hdr)]
    for e in extra_ext or []:
        hdus.append(e)
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return path


def write_spectrum(path: Path, n: int = 500) -> tuple[Path, np.ndarray]:
    flux = 100 + 10 * np.sin(np.arange(n) / 20.0)
    h = fits.Header({"CRVAL1": 4000.0, "CDELT1": 2.0, "CRPIX1": 1.0, "CTYPE1": "WAVE", "CUNIT1": "Angstrom"})
    fits.PrimaryHDU(flux.astype(np.float32), h).writeto(path, overwrite=True)
    return path, flux
