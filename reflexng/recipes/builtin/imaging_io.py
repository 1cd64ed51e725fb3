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
                   recipe, qc: Mapping[str, Any], extra: Mapping[str, Any] | None = None, *,
                   inputs: Sequence[tuple[str, str]] = (), parameters: Mapping[str, Any] | None = None,
                   raws: Sequence[str] | None = None, combined: Sequence[Mapping[str, Any]] | None = None) -> fits.Header:
    """A product header with ESO's data-flow cards (:func:`reflexng.recipes.product_header.product_header`),
    inheriting from ``template`` (the raw frame's header, possibly with an updated WCS)."""
    from reflexng.recipes.product_header import product_header as eso_header

    return eso_header(inputs, pro_catg, recipe, parameters, qc, raws=raws, combined=combined, extra=extra,
                      inherit=template)


def write_product(path: Path, data: np.ndarray, header: fits.Header,
                  variance: np.ndarray | None = None, bpm: np.ndarray | None = None,
                  extra: Sequence[Any] = ()) -> Path:
    """Write an image product: primary = data, then VARIANCE (BUNIT squared), BPM (bits, see the
    module), and ``extra`` HDUs; every image extension carries BUNIT and the primary WCS."""
    from reflexng.recipes.product_header import VARIANCE, ensure_wcs, image_hdu, write_hdus

    data = np.asarray(data, dtype=np.float32)
    ensure_wcs(header)
    if "BUNIT" not in header:
        header["BUNIT"] = ("", "dimensionless")
    bunit = header.get("BUNIT")
    hdus: list[Any] = [fits.PrimaryHDU(data, header=header)]
    if variance is not None:
        hdus.append(image_hdu(np.asarray(variance, dtype=np.float32), VARIANCE,
                              f"({bunit})**2" if bunit else "", header))
    if bpm is not None:
        hdus.append(image_hdu(np.asarray(bpm, dtype=np.uint8), "BPM", "", header))
        hdus[-1].header["COMMENT"] = ("bad-pixel bits: 1 bad flat pixel, 2 saturated, 4 cosmic ray, "
                                      "8 no data")
    for hdu in extra:
        if isinstance(hdu, fits.ImageHDU) and hdu.data is not None and hdu.data.shape == data.shape:
            from reflexng.recipes.product_header import wcs_cards

            if "BUNIT" not in hdu.header:
                hdu.header["BUNIT"] = ("", "dimensionless")
            for k, v, c in wcs_cards(header):
                if k not in hdu.header:
                    hdu.header[k] = (v, c)
        hdus.append(hdu)
    write_hdus(path, hdus)
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
