"""Qt-free helpers for the viewers: read FITS extensions, display limits, world coordinates."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SCALES = ("zscale", "minmax", "99.5%", "99%", "98%", "95%", "90%")  # display limits
STRETCHES = ("linear", "log", "sqrt", "asinh", "histeq")  # as in ds9's Scale menu
_SAMPLE = 250_000  # pixels used to compute limits on large images


@dataclass
class Extension:
    index: int
    name: str
    kind: str  # "image" | "table" | "empty"
    shape: tuple[int, ...] = ()
    columns: tuple[str, ...] = ()

    def label(self) -> str:
        dims = "×".join(str(s) for s in reversed(self.shape)) if self.shape else ""
        return f"[{self.index}] {self.name or 'PRIMARY'} {self.kind} {dims}".strip()


@dataclass
class Plane:
    """One 2-D image with its header and (optional) celestial WCS."""

    data: np.ndarray
    header: Any
    wcs: Any = None
    extensions: list[Extension] = field(default_factory=list)
    ext: int = 0
    limits: dict[str, tuple[float, float]] = field(default_factory=dict)  # computed in the worker
    binning: int = 1  # a huge image is shown as the mean of binning x binning blocks
    full_shape: tuple[int, ...] = ()  # (ny, nx) of the image in the file


MAX_DISPLAY_SIDE = 4096  # larger images are binned for display (in the worker), never drawn whole


def binned(data: np.ndarray, factor: int) -> np.ndarray:
    """The mean of ``factor`` x ``factor`` blocks (the ragged edge dropped), read band by band so
    a memory-mapped 8k x 8k float64 image never needs a second full-size copy."""
    ny, nx = data.shape[0] // factor, data.shape[1] // factor
    out = np.empty((ny, nx), np.float32)
    for r in range(ny):
        band = np.asarray(data[r * factor:(r + 1) * factor, : nx * factor], dtype=np.float64)
        out[r] = band.reshape(factor, nx, factor).mean(axis=(0, 2))
    return out


WAVE_COLUMNS = ("wave", "wavelength", "lambda", "wl")
FLUX_COLUMNS = ("flux", "counts", "spec", "data", "response")


def spectrum_columns(columns) -> tuple[str, str] | None:
    """(wavelength column, flux column) when a table looks like a spectrum."""
    low = [c.lower() for c in columns]
    wl = next((columns[low.index(n)] for n in WAVE_COLUMNS if n in low), None)
    fl = next((columns[low.index(n)] for n in FLUX_COLUMNS if n in low), None)
    return (wl, fl) if wl and fl else None


def list_extensions(path: str | os.PathLike) -> list[Extension]:
    from astropy.io import fits

    out: list[Extension] = []
    with fits.open(path, memmap=True) as hdul:
        for i, h in enumerate(hdul):
            hdr = h.header
            naxis = int(hdr.get("NAXIS", 0))
            shape = tuple(int(hdr.get(f"NAXIS{k}", 0)) for k in range(naxis, 0, -1))
            columns: tuple[str, ...] = ()
            if isinstance(h, (fits.BinTableHDU, fits.TableHDU)):
                kind = "table"
                columns = tuple(h.columns.names)
            elif naxis >= 1 and all(shape):
                kind = "image"
            else:
                kind = "empty"
            out.append(Extension(i, h.name if i else (h.name if h.name != "PRIMARY" else ""), kind, shape, columns))
    return out


def first_image_extension(exts: list[Extension]) -> int | None:
    for e in exts:
        if e.kind == "image" and len(e.shape) >= 2:
            return e.index
    return None


def read_plane(path: str | os.PathLike, ext: int | None = None) -> Plane:
    """Read a 2-D image (the first plane of a cube) as float32, with its WCS when it has one."""
    from astropy.io import fits

    exts = list_extensions(path)
    if ext is None:
        ext = first_image_extension(exts)
        if ext is None:
            raise ValueError(f"{path}: no 2-D image in any extension")
    with fits.open(path, memmap=True) as hdul:  # a huge image is read band by band (binned below)
        h = hdul[ext]
        data = h.data
        if data is None or data.ndim < 2:
            raise ValueError(f"{path}[{ext}]: not a 2-D image")
        while data.ndim > 2:
            data = data[0]
        full = tuple(int(n) for n in data.shape)
        factor = -(-max(full) // MAX_DISPLAY_SIDE)
        data = binned(data, factor) if factor > 1 else np.array(data, dtype=np.float32)  # a copy: the file closes
        header = h.header.copy()
        del h
    return Plane(data, header, celestial_wcs(header), exts, ext, binning=factor, full_shape=full)


def celestial_wcs(header: Any) -> Any:
    """An astropy WCS when the header has celestial axes, else None."""
    if "CTYPE1" not in header:
        return None
    import warnings

    from astropy.wcs import WCS, FITSFixedWarning

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            w = WCS(header, naxis=2)
        return w if w.has_celestial else None
    except Exception:
        return None


def _sample(data: np.ndarray) -> np.ndarray:
    step = max(1, int(np.sqrt(data.size / _SAMPLE)))
    s = data[::step, ::step].ravel()
    return s[np.isfinite(s)]


def display_limits(data: np.ndarray, scale: str = "zscale") -> tuple[float, float]:
    """(low, high) for ``scale``: zscale (IRAF), minmax, or a central percentile like ``99.5%``."""
    s = _sample(data)
    if s.size == 0:
        return (0.0, 1.0)
    if scale == "zscale":
        from astropy.visualization import ZScaleInterval

        lo, hi = ZScaleInterval().get_limits(s)
    elif scale == "minmax":
        lo, hi = float(s.min()), float(s.max())
    elif scale.endswith("%"):
        p = float(scale[:-1])
        lo, hi = np.percentile(s, [(100 - p) / 2, 100 - (100 - p) / 2])
    else:
        raise ValueError(f"unknown scale {scale!r}; use one of {SCALES}")
    lo, hi = float(lo), float(hi)
    if not hi > lo:
        hi = lo + 1.0
    return lo, hi


def stretch_curve(stretch: str, n: int = 256, sample: np.ndarray | None = None,
                  limits: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """``n`` display values in 0..1 for evenly spaced data values between the limits, through
    an astropy.visualization stretch (``histeq`` needs a ``sample`` of the image's pixels)."""
    from astropy import visualization as vis

    x = np.linspace(0.0, 1.0, n)
    if stretch == "linear":
        return x
    if stretch == "log":
        st = vis.LogStretch(a=1000)
    elif stretch == "sqrt":
        st = vis.SqrtStretch()
    elif stretch == "asinh":
        st = vis.AsinhStretch(a=0.1)
    elif stretch == "histeq":
        lo, hi = limits
        s = np.asarray(sample if sample is not None else x, dtype=float)
        s = np.clip((s - lo) / (hi - lo if hi > lo else 1.0), 0.0, 1.0)
        st = vis.HistEqStretch(s if s.size else x)
    else:
        raise ValueError(f"unknown stretch {stretch!r}; use one of {', '.join(STRETCHES)}")
    return np.clip(np.asarray(st(x, clip=True), dtype=float), 0.0, 1.0)


def symmetric_limits(data: np.ndarray, percent: float = 99.5) -> tuple[float, float]:
    """(-m, m) around zero for a difference image: m is the ``percent`` percentile of |data|
    (its maximum when that is zero), so negative and positive differences show alike."""
    s = np.abs(_sample(data))
    if s.size == 0:
        return (-1.0, 1.0)
    m = float(np.percentile(s, percent))
    if not m > 0:
        m = float(s.max())
    return (-m, m) if m > 0 else (-1.0, 1.0)


def sky_coordinates(wcs: Any, x: float, y: float) -> str:
    """'RA hh:mm:ss.ss Dec ±dd:mm:ss.s' for 0-based pixel (x, y), or '' without a WCS."""
    if wcs is None:
        return ""
    try:
        ra, dec = wcs.pixel_to_world_values(x, y)
    except Exception:
        return ""
    from astropy.coordinates import Angle

    ra_s = Angle(float(ra), "deg").to_string(unit="hourangle", sep=":", precision=2, pad=True)
    dec_s = Angle(float(dec), "deg").to_string(unit="deg", sep=":", precision=1, alwayssign=True, pad=True)
    return f"RA {ra_s}  Dec {dec_s}"


ERROR_COLUMNS = ("err", "error", "sigma", "noise", "flux_err", "err_flux", "fluxerr")
ERROR_EXTENSIONS = ("ERR", "ERROR", "SIGMA", "NOISE", "ERRS")


def _error_column(columns) -> str | None:
    low = [c.lower() for c in columns]
    return next((columns[low.index(n)] for n in ERROR_COLUMNS if n in low), None)


def read_spectrum(path: str | os.PathLike, ext: int | None = None, with_error: bool = False) -> tuple:
    """(x, flux, x label, y label) from a 1-D image (CRVAL1/CDELT1) or a table with
    wavelength and flux columns; with ``with_error`` a fifth item, the 1-sigma error (an
    error column, or a 1-D ERR extension of the same length) or None."""
    from astropy.io import fits

    def done(x, y, xl, yl, err=None):
        return (x, y, xl, yl, err) if with_error else (x, y, xl, yl)

    with fits.open(path, memmap=False) as hdul:
        indices = [ext] if ext is not None else range(len(hdul))
        for i in indices:
            h = hdul[i]
            if isinstance(h, (fits.BinTableHDU, fits.TableHDU)) and h.data is not None:
                cols = spectrum_columns(h.columns.names)
                if cols:
                    col_w, col_f = cols
                    unit = h.columns[col_w].unit or ""
                    col_e = _error_column(h.columns.names)
                    err = np.asarray(h.data[col_e], float).ravel() if col_e else None
                    return done(
                        np.asarray(h.data[col_w], float).ravel(),
                        np.asarray(h.data[col_f], float).ravel(),
                        f"{col_w} [{unit}]" if unit else col_w,
                        col_f, err,
                    )
            elif h.data is not None and h.data.ndim == 1:
                hdr = h.header
                n = h.data.shape[0]
                crval = float(hdr.get("CRVAL1", 0.0))
                cdelt = float(hdr.get("CDELT1", hdr.get("CD1_1", 1.0)))
                crpix = float(hdr.get("CRPIX1", 1.0))
                x = crval + (np.arange(n) + 1 - crpix) * cdelt
                unit = hdr.get("CUNIT1", "")
                xl = f"{hdr.get('CTYPE1', 'pixel')} [{unit}]" if unit else str(hdr.get("CTYPE1", "pixel"))
                err = None
                for e in hdul:
                    if e is not h and e.name.upper() in ERROR_EXTENSIONS and e.data is not None \
                            and e.data.ndim == 1 and e.data.shape[0] == n:
                        err = np.asarray(e.data, float)
                        break
                return done(x, np.asarray(h.data, float), xl, str(hdr.get("BUNIT", "flux")), err)
    raise ValueError(f"{path}: no 1-D spectrum (1-D image or table with wavelength and flux columns)")


@dataclass
class LoadedProduct:
    """What the inspection panel shows of one product, read off the GUI thread."""

    path: str
    kind: str = "other"  # image | spectrum | table | other
    extensions: list[Extension] = field(default_factory=list)
    header: str = ""
    plane: Plane | None = None
    spectrum: tuple[Any, ...] | None = None  # x, y, x label, y label, error (or None)
    table: tuple[list[str], list[list[str]]] | None = None  # column names, rows as text
    error: str = ""
    note: str = ""  # e.g. "shown binned 2 x 2"


def product_kind_of(exts: list[Extension]) -> str:
    """'image', 'spectrum', 'table' or 'other' for a FITS file's extensions."""
    if any(e.kind == "image" and len(e.shape) >= 2 for e in exts):
        return "image"
    if any(e.kind == "image" and len(e.shape) == 1 for e in exts):
        return "spectrum"
    if any(e.kind == "table" and spectrum_columns(e.columns) for e in exts):
        return "spectrum"
    if any(e.kind == "table" for e in exts):
        return "table"
    return "other"


def table_rows(path: str | os.PathLike, ext: int | None = None, max_rows: int = 2000) -> tuple[list[str], list[list[str]]]:
    """Column names and the first ``max_rows`` rows (as text) of a FITS table extension."""
    from astropy.io import fits

    with fits.open(path, memmap=True) as hdul:
        idx = ext
        if idx is None:
            idx = next((i for i, h in enumerate(hdul) if isinstance(h, (fits.BinTableHDU, fits.TableHDU))), None)
        if idx is None:
            raise ValueError(f"{path}: no table extension")
        data = hdul[idx].data
        names = list(data.columns.names)
        n = min(len(data), max_rows)
        cols = [[str(v) for v in data[name][:n]] for name in names]
    return names, [[c[r] for c in cols] for r in range(n)]


def load_product(path: str | os.PathLike) -> LoadedProduct:
    """Read everything the panel shows of a product; a damaged file gives ``error``, never raises."""
    out = LoadedProduct(str(path))
    try:
        out.extensions = list_extensions(path)
        out.kind = product_kind_of(out.extensions)
        out.header = header_text(path, 0)
        if out.kind == "image":
            out.plane = read_plane(path)
            out.plane.limits["zscale"] = display_limits(out.plane.data, "zscale")  # off the GUI thread
            if out.plane.binning > 1:
                f, (ny, nx) = out.plane.binning, out.plane.full_shape
                out.note = (f"{nx} x {ny} pixels: shown binned {f} x {f} (block means); pixel values under "
                            "the cursor are those means, coordinates are of the full image")
        elif out.kind == "spectrum":
            out.spectrum = read_spectrum(path, with_error=True)
            if any(e.kind == "table" for e in out.extensions):
                out.table = table_rows(path)
        elif out.kind == "table":
            out.table = table_rows(path)
    except Exception as exc:  # noqa: BLE001 - a damaged product is shown as a message
        out.error = f"cannot show {os.path.basename(str(path))}: {exc}"
    return out


def header_text(path: str | os.PathLike, ext: int = 0) -> str:
    from astropy.io import fits

    with fits.open(path, memmap=True) as hdul:
        if ext >= len(hdul):
            raise ValueError(f"{path}: no extension {ext}")
        return hdul[ext].header.tostring(sep="\n", padding=False)
