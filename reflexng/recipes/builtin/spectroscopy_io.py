"""Reading inputs and writing products for the DEMO spectroscopy recipes.

Product conventions (all recipes):

* 2-D products: primary HDU = the image (float32), extension ``VAR`` = its variance, ``BPM``
  (uint8, 1 = bad) where a bad-pixel map belongs.
* 1-D spectra: a FITS binary table in extension ``SPECTRUM`` with columns ``WAVE`` (Angstrom,
  vacuum-free demo wavelengths), ``FLUX``, ``ERR`` (1-sigma) and extra columns per product.
* Every product header carries the main input's observation keywords, ``HIERARCH ESO PRO CATG``,
  ``HIERARCH ESO PRO REC1 ID/PARAMi NAME/VALUE/RAWi NAME`` and ``HIERARCH ESO QC ...`` values.
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
            var = hdul["VAR"].data.astype(np.float64) if "VAR" in hdul else None
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
    recipe: str,
    parameters: Mapping[str, Any],
    raws: Iterable[str],
    qc: Mapping[str, Any],
) -> fits.Header:
    h = fits.Header()
    if main is not None:
        for card in main.cards:
            k = card.keyword
            if k in KEEP or any(k.startswith(p) for p in KEEP_PREFIX):
                h[k if not k.startswith("ESO ") else "HIERARCH " + k] = (card.value, card.comment)
    h["HIERARCH ESO PRO CATG"] = catg
    h["HIERARCH ESO PRO REC1 ID"] = recipe
    for i, (k, v) in enumerate(sorted(parameters.items()), 1):
        h[f"HIERARCH ESO PRO REC1 PARAM{i} NAME"] = k
        h[f"HIERARCH ESO PRO REC1 PARAM{i} VALUE"] = str(v)
    for i, r in enumerate(raws, 1):
        h[f"HIERARCH ESO PRO REC1 RAW{i} NAME"] = Path(r).name
    for k, v in qc.items():
        if isinstance(v, (np.floating, np.integer)):
            v = v.item()
        if isinstance(v, float) and not np.isfinite(v):
            print(f"QC {k} is not finite ({v}) - left out of the product header")
            continue
        h[f"HIERARCH ESO QC {k}"] = v
    return h


def write_image(path: Path, header: fits.Header, img: np.ndarray, var: np.ndarray | None = None,
                bpm: np.ndarray | None = None) -> str:
    hdus: list[fits.hdu.base.ExtensionHDU | fits.PrimaryHDU] = [
        fits.PrimaryHDU(img.astype(np.float32), header=header)]
    if var is not None:
        hdus.append(fits.ImageHDU(var.astype(np.float32), name="VAR"))
    if bpm is not None:
        hdus.append(fits.ImageHDU(bpm.astype(np.uint8), name="BPM"))
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return str(path)


def write_table(path: Path, header: fits.Header, columns: Mapping[str, tuple[np.ndarray, str]],
                name: str = "SPECTRUM", extra: Sequence[fits.BinTableHDU] = ()) -> str:
    cols = [fits.Column(k, "D" if np.asarray(a).dtype.kind == "f" else "K", unit=u or None,
                        array=np.asarray(a)) for k, (a, u) in columns.items()]
    t = fits.BinTableHDU.from_columns(cols, name=name)
    fits.HDUList([fits.PrimaryHDU(header=header), t, *extra]).writeto(path, overwrite=True)
    return str(path)


def detector_noise(header: Mapping[str, Any]) -> tuple[float, float]:
    """(gain e-/ADU, read noise ADU) from DET OUT1 GAIN / RON (RON in e-)."""
    gain = float(header.get("HIERARCH ESO DET OUT1 GAIN", 1.0) or 1.0)
    ron_e = float(header.get("HIERARCH ESO DET OUT1 RON", 0.0) or 0.0)
    return gain, ron_e / gain
