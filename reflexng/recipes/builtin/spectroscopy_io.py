"""Reading inputs and writing products for the DEMO spectroscopy recipes.

Product conventions (all recipes):

* 2-D products: primary HDU = the image (float32, BUNIT adu), extension ``VARIANCE`` = its
  variance, ``BPM`` (uint8, 1 = bad) where a bad-pixel map belongs; every image HDU carries BUNIT
  and a WCS (a pixel WCS when the frame has none).
* 1-D spectra (``*_SPECTRUM``, ``*_SPECTRUM_COMBINED``): ESO's Phase-3 spectrum format
  (:func:`write_spectrum`): extension ``SPECTRUM`` is one row of array columns ``WAVE``
  (Angstrom), ``FLUX``, ``ERR`` (1-sigma) and extra columns; read them with :func:`spectrum_columns`.
* Other tables (order table, wavelength solution, response): one row per entry.
* Every product header carries ESO's data-flow cards (:mod:`reflexng.recipes.product_header`)
  and ``HIERARCH ESO QC ...`` values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from reflexng.recipes.protocol import RecipeError

KEEP = ("INSTRUME", "TELESCOP", "OBJECT", "RA", "DEC", "DATE-OBS", "MJD-OBS", "EXPTIME",
        "AIRMASS", "ORIGIN")
KEEP_PREFIX = ("ESO DET ", "ESO INS ", "ESO TPL ", "ESO OBS ", "ESO DPR ")


def by_category(inputs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path, cat in inputs:
        out.setdefault(cat, []).append(path)
    return out


def need(groups: Mapping[str, list[str]], *cats: str, what: str) -> list[str]:
    """Files of the first category present; RecipeError naming what is missing."""
    for c in cats:
        if groups.get(c):
            return groups[c]
    have = ", ".join(sorted(groups)) or "nothing"
    raise RecipeError(f"no {what} among the inputs (expected category {' or '.join(cats)}; got {have})")


def read_image(path: str) -> tuple[np.ndarray, fits.Header]:
    try:
        with fits.open(path, memmap=False) as hdul:
            data = hdul[0].data
            if data is None or data.ndim != 2:
                raise RecipeError(f"{path}: expected a 2-D image in the primary HDU")
            return data.astype(np.float64), hdul[0].header.copy()
    except OSError as exc:
        raise RecipeError(f"{path}: cannot read FITS file ({exc}); check the file is complete") from exc


def read_product(path: str) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, fits.Header]:
    """(image, variance or None, bad-pixel map or None, header) of a 2-D product."""
    try:
        with fits.open(path, memmap=False) as hdul:
            img = hdul[0].data.astype(np.float64)
            name = "VARIANCE" if "VARIANCE" in hdul else "VAR"  # VAR: products of reflexng < 0.2
            var = hdul[name].data.astype(np.float64) if name in hdul else None
            bpm = hdul["BPM"].data.astype(bool) if "BPM" in hdul else None
            return img, var, bpm, hdul[0].header.copy()
    except (OSError, KeyError, AttributeError) as exc:
        raise RecipeError(f"{path}: not a readable 2-D product ({exc})") from exc


def read_table(path: str, ext: int | str = 1) -> tuple[fits.FITS_rec, fits.Header, fits.Header]:
    """(table data, table header, primary header)."""
    try:
        with fits.open(path, memmap=False) as hdul:
            return hdul[ext].data.copy(), hdul[ext].header.copy(), hdul[0].header.copy()
    except (OSError, KeyError, IndexError) as exc:
        raise RecipeError(f"{path}: expected a FITS table in extension {ext!r} ({exc})") from exc


def binning(header: Mapping[str, Any]) -> tuple[int, int]:
    return int(header.get("HIERARCH ESO DET BINX", 1)), int(header.get("HIERARCH ESO DET BINY", 1))


def check_same_binning(ref: fits.Header, other: fits.Header, path: str) -> None:
    if binning(ref) != binning(other):
        raise RecipeError(f"{path}: binning {binning(other)} differs from the main input's {binning(ref)}; "
                          "associate calibrations of the same DET.BINX/BINY")


def product_header(
    main: fits.Header | None,
    catg: str,
    recipe,
    parameters: Mapping[str, Any],
    raws: Iterable[str],
    qc: Mapping[str, Any],
    *,
    inputs: Sequence[tuple[str, str]] = (),
    combined: Sequence[Mapping[str, Any]] | None = None,
) -> fits.Header:
    """A product header with ESO's data-flow cards (see :mod:`reflexng.recipes.product_header`),
    inheriting from ``main`` (the main raw frame's header); ``raws``: the raw frames used."""
    from reflexng.recipes.product_header import product_header as eso_header

    raws = [str(r) for r in raws]
    if not inputs:
        inputs = [(r, "UNKNOWN") for r in raws]
    return eso_header(inputs, catg, recipe, parameters, qc, raws=raws, combined=combined, inherit=main)


def write_image(path: Path, header: fits.Header, img: np.ndarray, var: np.ndarray | None = None,
                bpm: np.ndarray | None = None, bunit: str = "adu",
                extra: Sequence[tuple[str, np.ndarray, str]] = ()) -> str:
    """A 2-D product: primary = image (BUNIT ``bunit``), ``VARIANCE`` and ``BPM`` extensions, each
    with BUNIT and the primary's (pixel) WCS."""
    from reflexng.recipes.product_header import VARIANCE, ensure_wcs, image_hdu, write_hdus

    header = header.copy()
    if "BUNIT" not in header:
        header["BUNIT"] = (bunit, "physical unit of the data")
    ensure_wcs(header)
    unit = header["BUNIT"]
    hdus: list[Any] = [fits.PrimaryHDU(img.astype(np.float32), header=header)]
    if var is not None:
        hdus.append(image_hdu(var.astype(np.float32), VARIANCE, f"({unit})**2" if unit else "", header))
    if bpm is not None:
        hdus.append(image_hdu(bpm.astype(np.uint8), "BPM", "", header))
        hdus[-1].header["COMMENT"] = "1 = bad pixel"
    for name, data, unit in extra:  # further planes: (EXTNAME, image, BUNIT)
        hdus.append(image_hdu(np.asarray(data, dtype=np.float32), name, unit, header))
    return write_hdus(path, hdus)


def write_table(path: Path, header: fits.Header, columns: Mapping[str, tuple[np.ndarray, str]],
                name: str = "SPECTRUM", extra: Sequence[fits.BinTableHDU] = ()) -> str:
    from reflexng.recipes.product_header import write_hdus

    cols = [fits.Column(k, "D" if np.asarray(a).dtype.kind == "f" else "K", unit=u or None,
                        array=np.asarray(a)) for k, (a, u) in columns.items()]
    t = fits.BinTableHDU.from_columns(cols, name=name)
    header = header.copy()
    for k in [k for k in header if k.startswith(("CTYPE", "CRPIX", "CRVAL", "CDELT", "CUNIT", "CD1_", "CD2_"))]:
        del header[k]
    return write_hdus(path, [fits.PrimaryHDU(header=header), t, *extra])


# units of 1-D spectra in the FITS standard's notation (astropy and specutils parse them)
FITS_UNITS = {"Angstrom": "Angstrom", "adu": "adu", "adu/s/Angstrom": "adu.s**-1.Angstrom**-1",
              "erg/s/cm2/Angstrom": "erg.s**-1.cm**-2.Angstrom**-1", "": ""}
_UCD = {"WAVE": ("spec:Data.SpectralAxis.Value", "em.wl"), "FLUX": ("spec:Data.FluxAxis.Value", "phot.flux.density;em.wl"),
        "ERR": ("spec:Data.FluxAxis.Accuracy.StatError", "stat.error;phot.flux.density;em.wl")}


def write_spectrum(path: Path, header: fits.Header, columns: Mapping[str, tuple[np.ndarray, str]],
                   science: bool = True) -> str:
    """A 1-D spectrum in ESO's Phase-3 format: no data in the primary HDU; extension ``SPECTRUM``
    is one table row whose array columns are ``WAVE`` (Angstrom), ``FLUX``, ``ERR`` and any other
    columns; the primary carries PRODCATG, SPECSYS, WAVELMIN/WAVELMAX/SPEC_BIN (nm), EXPTIME,
    MJD-OBS/MJD-END and PROVi (the raw frames), the extension VOCLASS, NELEM and TUTYPi/TUCDi."""
    from reflexng.recipes.product_header import write_hdus

    header = header.copy()
    for k in [k for k in header if k.startswith(("CTYPE", "CRPIX", "CRVAL", "CDELT", "CUNIT", "CD1_", "CD2_"))]:
        del header[k]
    wave = np.asarray(columns["WAVE"][0], float)
    n = wave.size
    if science:
        header["PRODCATG"] = ("SCIENCE.SPECTRUM", "Data product category")
    header["SPECSYS"] = ("TOPOCENT", "Reference frame of the spectral coordinates")
    if n:
        header["WAVELMIN"] = (float(np.nanmin(wave)) / 10.0, "[nm] Minimum wavelength")
        header["WAVELMAX"] = (float(np.nanmax(wave)) / 10.0, "[nm] Maximum wavelength")
        header["SPEC_BIN"] = (float(np.nanmedian(np.diff(wave))) / 10.0 if n > 1 else 0.0, "[nm] Wavelength bin size")
    header["EXTEND"] = True
    if "MJD-OBS" in header and "MJD-END" not in header:
        header["MJD-END"] = (float(header["MJD-OBS"]) + float(header.get("EXPTIME", 0) or 0) / 86400.0,
                             "[d] End of observation")
    raws = [v for k, v in header.items() if k.startswith("HIERARCH ESO PRO REC1 RAW") and k.endswith("NAME")]
    for i, r in enumerate(raws, 1):
        header[f"PROV{i}"] = (r, "Originating file")
    cols = []
    for k, (a, u) in columns.items():
        a = np.asarray(a)
        fmt = f"{n}D" if a.dtype.kind == "f" else f"{n}K"
        cols.append(fits.Column(k, fmt, unit=FITS_UNITS.get(u, u) or None, array=a.reshape(1, n)))
    t = fits.BinTableHDU.from_columns(cols, name="SPECTRUM")
    t.header["VOCLASS"] = ("SPECTRUM v2.0", "VO class of the data")
    t.header["VOPUB"] = ("ESO/SAF", "VO publishing authority")
    t.header["NELEM"] = (n, "Length of the data arrays")
    for i, k in enumerate(columns, 1):
        if k in _UCD:
            t.header[f"TUTYP{i}"] = _UCD[k][0]
            t.header[f"TUCD{i}"] = _UCD[k][1]
    if n:
        t.header["TDMIN1"] = float(np.nanmin(wave))
        t.header["TDMAX1"] = float(np.nanmax(wave))
    return write_hdus(path, [fits.PrimaryHDU(header=header), t])


def spectrum_columns(data) -> dict[str, np.ndarray]:
    """The columns of a 1-D spectrum table as 1-D arrays (Phase-3 single row or one row per pixel)."""
    out = {}
    for name in data.columns.names:
        a = np.asarray(data[name])
        out[name] = a[0] if (a.ndim == 2 and a.shape[0] == 1) else a
    return out


def detector_noise(header: Mapping[str, Any]) -> tuple[float, float]:
    """(gain e-/ADU, read noise ADU) from DET OUT1 GAIN / RON (RON in e-)."""
    gain = float(header.get("HIERARCH ESO DET OUT1 GAIN", 1.0) or 1.0)
    ron_e = float(header.get("HIERARCH ESO DET OUT1 RON", 0.0) or 0.0)
    return gain, ron_e / gain
