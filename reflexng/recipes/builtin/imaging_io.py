"""Input and product helpers shared by the demo imaging recipes (reading frames, writing
products with ESO PRO/QC cards, data/VARIANCE/BPM planes)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from reflexng.recipes.protocol import RecipeError

# bits of the BPM plane
BPM_BAD = 1  # bad pixel from the master flat (dead / low sensitivity)
BPM_SATURATED = 2
BPM_COSMIC = 4
BPM_NODATA = 8

# header cards not copied from a raw frame into a product
_STRUCTURAL = {"SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND", "BZERO", "BSCALE",
               "PCOUNT", "GCOUNT", "XTENSION", "CHECKSUM", "DATASUM", "BUNIT"}


def effective_parameters(recipe, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Recipe defaults overlaid with ``parameters`` (coerced and checked)."""
    vals = recipe.defaults()
    for k, v in parameters.items():
        spec = recipe.parameter(k)
        if spec is None:
            raise RecipeError(f"{recipe.name}: unknown parameter {k!r}; known: "
                              + ", ".join(s.name for s in recipe.parameters))
        try:
            vals[k] = spec.coerce(v)
        except ValueError as exc:
            raise RecipeError(f"{recipe.name}: {exc}") from None
    return vals


def by_category(inputs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path, cat in inputs:
        out.setdefault(cat, []).append(str(path))
    return out


def need(groups: Mapping[str, list[str]], category: str, recipe: str, minimum: int = 1,
         maximum: int | None = None) -> list[str]:
    """The files of ``category``; RecipeError with advice when there are too few or too many."""
    files = list(groups.get(category, []))
    if len(files) < minimum:
        got = ", ".join(f"{k} x{len(v)}" for k, v in groups.items()) or "nothing"
        raise RecipeError(
            f"{recipe}: needs at least {minimum} input(s) of category {category}, got {len(files)} "
            f"(inputs: {got}). Check the classification of your files or add the missing frames."
        )
    if maximum is not None and len(files) > maximum:
        raise RecipeError(f"{recipe}: expects at most {maximum} {category} file(s), got {len(files)}: "
                          + ", ".join(Path(f).name for f in files))
    return files


def read_image(path: str, ext: int | str = 0) -> tuple[np.ndarray, fits.Header]:
    """Data (float32) and primary header of a FITS image; RecipeError naming the file."""
    try:
        with fits.open(path, memmap=False) as hl:
            data = hl[ext].data
            header = hl[0].header.copy()
            if data is None:
                raise RecipeError(f"{path}: HDU {ext!r} has no image data (a header-only file?)")
            return np.asarray(data, dtype=np.float32), header
    except (OSError, KeyError, IndexError, ValueError, TypeError) as exc:
        raise RecipeError(f"cannot read image {path}: {exc}") from None


def read_plane(path: str, name: str) -> np.ndarray | None:
    """An extension plane (e.g. VARIANCE, BPM) of a product, or None when absent."""
    try:
        with fits.open(path, memmap=False) as hl:
            if name in hl:
                return np.asarray(hl[name].data)
    except (OSError, ValueError) as exc:
        raise RecipeError(f"cannot read {name} of {path}: {exc}") from None
    return None


def gain_of(header: Mapping[str, Any], override: float = 0.0) -> float:
    if override and override > 0:
        return float(override)
    g = header.get("HIERARCH ESO DET OUT1 GAIN")
    if g is None or float(g) <= 0:
        raise RecipeError("the gain is not in the header (ESO DET OUT1 GAIN); set the recipe "
                          "parameter 'gain' (e-/ADU)")
    return float(g)


def check_shapes(reference: np.ndarray, other: np.ndarray, what: str, path: str) -> None:
    if reference.shape != other.shape:
        raise RecipeError(f"{what} {path} has shape {other.shape} but the frames have {reference.shape}; "
                          "check binning (DET.BINX/BINY) and the association of calibrations")


def product_header(template: Mapping[str, Any] | fits.Header | None, pro_catg: str,
                   recipe: str, qc: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> fits.Header:
    """A product header: the template's non-structural cards, then PRO and QC cards."""
    h = fits.Header()
    if template is not None:
        for card in fits.Header(template).cards if not isinstance(template, fits.Header) else template.cards:
            key = card.keyword
            if key in _STRUCTURAL or key.startswith("HIERARCH ESO PRO") or key.startswith("ESO PRO") \
                    or key in ("", "COMMENT", "HISTORY"):
                continue
            if key.startswith("ESO QC") or key.startswith("HIERARCH ESO QC"):
                continue
            if len(key) > 8 or " " in key:
                key = "HIERARCH " + key
            try:
                h[key] = (card.value, card.comment)
            except (ValueError, TypeError):
                continue
    h["HIERARCH ESO PRO CATG"] = pro_catg
    h["HIERARCH ESO PRO REC1 ID"] = recipe
    for k, v in (extra or {}).items():
        h[k] = v
    for k, v in qc.items():
        if isinstance(v, (float, np.floating)):
            v = float(v) if np.isfinite(v) else -999.0
        elif isinstance(v, np.integer):
            v = int(v)
        h[f"HIERARCH ESO QC {k.replace('.', ' ')}"] = v
    return h


def write_product(path: Path, data: np.ndarray, header: fits.Header,
                  variance: np.ndarray | None = None, bpm: np.ndarray | None = None,
                  extra: Sequence[fits.ImageHDU] = ()) -> Path:
    hdus: list[Any] = [fits.PrimaryHDU(np.asarray(data, dtype=np.float32), header=header)]
    if variance is not None:
        hdus.append(fits.ImageHDU(np.asarray(variance, dtype=np.float32), name="VARIANCE"))
    if bpm is not None:
        hdus.append(fits.ImageHDU(np.asarray(bpm, dtype=np.uint8), name="BPM"))
    hdus.extend(extra)
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return path


def robust_std(x: np.ndarray) -> float:
    """1.4826 x median absolute deviation of the finite values."""
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return float("nan")
    return float(1.482602218505602 * np.median(np.abs(x - np.median(x))))


def clipped_stats(x: np.ndarray, sigma: float = 3.0, iters: int = 5) -> tuple[float, float, int]:
    """Sigma-clipped (mean, std, n) of the finite values."""
    x = np.asarray(x, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    for _ in range(iters):
        if x.size < 3:
            break
        m, s = np.median(x), x.std()
        keep = np.abs(x - m) <= sigma * s
        if keep.all():
            break
        x = x[keep]
    if x.size == 0:
        return float("nan"), float("nan"), 0
    return float(x.mean()), float(x.std()), int(x.size)


def block_background(img: np.ndarray, mask: np.ndarray | None, mesh: int) -> np.ndarray:
    """Smooth background: sigma-clipped medians in ``mesh`` x ``mesh`` boxes, bilinearly
    interpolated; ``mesh <= 0`` gives one clipped median for the whole image."""
    from scipy.ndimage import zoom

    data = np.where(mask, np.nan, img) if mask is not None else img.astype(np.float64)
    if mesh <= 0 or mesh >= min(img.shape):
        m, _, _ = clipped_stats(data)
        return np.full(img.shape, m, dtype=np.float32)
    ny, nx = img.shape
    by, bx = max(1, ny // mesh), max(1, nx // mesh)
    grid = np.empty((by, bx))
    ys = np.linspace(0, ny, by + 1).astype(int)
    xs = np.linspace(0, nx, bx + 1).astype(int)
    for i in range(by):
        for j in range(bx):
            grid[i, j] = clipped_stats(data[ys[i]:ys[i + 1], xs[j]:xs[j + 1]])[0]
    if not np.isfinite(grid).all():
        fill = np.nanmedian(grid)
        grid[~np.isfinite(grid)] = fill
    if grid.size == 1:
        return np.full(img.shape, grid[0, 0], dtype=np.float32)
    bg = zoom(grid, (ny / by, nx / bx), order=1, mode="nearest", grid_mode=True)
    return bg[:ny, :nx].astype(np.float32)
