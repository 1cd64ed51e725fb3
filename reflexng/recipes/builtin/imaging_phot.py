"""Numpy/scipy image analysis for the demo imaging recipes: cosmic-ray detection, source
detection, windowed centroids, FWHM, circular-aperture photometry and point matching."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def _box_median(a: np.ndarray, size: int, axes: tuple[int, ...] = (0, 1)) -> np.ndarray:
    """Median over a ``size``-wide box along ``axes`` (edges replicated), via one partition of
    stacked shifted views: several times faster than ``ndimage.median_filter``."""
    r = size // 2
    pad = [(r, r) if ax in axes else (0, 0) for ax in range(a.ndim)]
    p = np.pad(a, pad, mode="edge")
    ny, nx = a.shape
    offs_y = range(size) if 0 in axes else [0]
    offs_x = range(size) if 1 in axes else [0]
    stack = np.stack([p[dy:dy + ny, dx:dx + nx] for dy in offs_y for dx in offs_x])
    k = stack.shape[0] // 2
    stack.partition(k, axis=0)
    return stack[k]


def median3(a: np.ndarray) -> np.ndarray:
    """3x3 median filter (edges replicated)."""
    return _box_median(a, 3)


def find_cosmics(img: np.ndarray, var: np.ndarray, bad: np.ndarray, *, sigma: float = 6.0,
                 contrast: float = 2.0, iters: int = 3, protect: np.ndarray | None = None,
                 grow: float | None = None) -> np.ndarray:
    """Cosmic-ray mask by median deviation (a simplified L.A.Cosmic idea).

    A pixel is a cosmic ray when it stands ``sigma`` noise units above the 3x3 median of its
    neighbours *and* its excess is ``contrast`` times larger than the local structure
    (3x3 median minus a 7-pixel separable median, spread over 3x3): sharp hits pass, star cores
    and wings (smooth on the 3x3 scale) do not. ``img`` must be sky-subtracted; ``var`` its
    variance. ``protect``: pixels never flagged (e.g. around saturated stars, whose flat-topped
    cores make the structure estimate fail). ``grow``: afterwards, pixels touching the mask that
    stand ``grow`` noise units above the 7-pixel background join it (the diffused edges of
    multi-pixel hits and the charge shared along tracks); None = ``0.5 * sigma`` on the 3x3 test only.
    """
    work = img.astype(np.float32).copy()
    if protect is not None:
        bad = bad | protect
    mask = np.zeros(img.shape, dtype=bool)
    noise = np.sqrt(np.maximum(var, 1e-12)).astype(np.float32)
    m3 = median3(work)
    m7 = _box_median(_box_median(m3, 7, (1,)), 7, (0,))
    # local structure, spread over 3x3 so that the wings of a star inherit its core's
    structure = ndimage.maximum_filter(np.maximum(m3 - m7, 0.0), size=3)
    for i in range(iters):
        if i:  # after cleaning, wide hits (2-px diagonal tracks) no longer lift the medians
            m3 = median3(work)
            m7 = _box_median(_box_median(m3, 7, (1,)), 7, (0,))
            structure = ndimage.maximum_filter(np.maximum(m3 - m7, 0.0), size=3)
        resid = work - m3
        sharp = resid > contrast * structure
        new = (resid > sigma * noise) & sharp & ~bad & ~mask
        if not new.any():
            break
        # include neighbours of a hit that are also significantly high (hits spanning pixels)
        grown = ndimage.binary_dilation(new) & (resid > 0.5 * sigma * noise) & sharp & ~bad
        mask |= new | grown
        work[mask] = m3[mask]
    if grow is not None and mask.any():
        # never into stars: their pixels sit on smooth structure (3x3 median above the 7-px one)
        high = ((img - m7) > grow * noise) & (structure < grow * noise) & ~bad
        for _ in range(3):
            nxt = mask | (ndimage.binary_dilation(mask, structure=np.ones((3, 3), bool)) & high)
            if (nxt == mask).all():
                break
            mask = nxt
    return mask


def replace_masked(img: np.ndarray, mask: np.ndarray, half: int = 2) -> np.ndarray:
    """Replace masked pixels by the median of the unmasked pixels in a (2 half + 1)^2 box."""
    out = img.copy()
    ny, nx = img.shape
    for y, x in zip(*np.nonzero(mask)):
        y0, y1, x0, x1 = max(y - half, 0), min(y + half + 1, ny), max(x - half, 0), min(x + half + 1, nx)
        box, m = img[y0:y1, x0:x1], mask[y0:y1, x0:x1]
        vals = box[~m]
        out[y, x] = np.median(vals) if vals.size else np.median(box)
    return out


def detect(img: np.ndarray, noise: float | np.ndarray, *, threshold: float = 5.0, fwhm: float = 3.0,
           mask: np.ndarray | None = None, border: int = 5) -> np.ndarray:
    """Peaks of the Gaussian-smoothed image above ``threshold`` x the smoothed noise.

    Returns an (N, 2) float array of integer peak positions (x, y), brightest first.
    """
    sig = max(fwhm / 2.3548, 0.5)
    work = np.where(mask, 0.0, img) if mask is not None else img
    sm = ndimage.gaussian_filter(work.astype(np.float32), sig)
    # noise of the smoothed image: the kernel sums to 1, its effective area is 4 pi sigma^2
    sm_noise = np.asarray(noise) / (2.0 * np.sqrt(np.pi) * sig)
    peaks = (sm == ndimage.maximum_filter(sm, size=max(3, int(2 * fwhm) | 1))) & (sm > threshold * sm_noise)
    if mask is not None:
        peaks &= ~mask
    peaks[:border, :] = peaks[-border:, :] = False
    peaks[:, :border] = peaks[:, -border:] = False
    ys, xs = np.nonzero(peaks)
    order = np.argsort(-sm[ys, xs])
    return np.column_stack([xs[order], ys[order]]).astype(np.float64)


def centroid(img: np.ndarray, xy: np.ndarray, fwhm: float = 3.0, iters: int = 8) -> np.ndarray:
    """Gaussian-windowed centroids (iterated, like SExtractor's XWIN) of the sky-subtracted
    image around each (x, y). Returns an (N, 2) array; NaN when the window leaves the image."""
    sig = fwhm / 2.3548
    r = int(np.ceil(3 * sig)) + 2
    ny, nx = img.shape
    out = np.full((len(xy), 2), np.nan)
    for k, (x, y) in enumerate(xy):
        cx, cy = float(x), float(y)
        for _ in range(iters):
            ix, iy = int(round(cx)), int(round(cy))
            if ix - r < 0 or iy - r < 0 or ix + r >= nx or iy + r >= ny:
                cx = cy = np.nan
                break
            sub = img[iy - r:iy + r + 1, ix - r:ix + r + 1].astype(np.float64)
            yy, xx = np.mgrid[iy - r:iy + r + 1, ix - r:ix + r + 1]
            w = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sig**2)) * sub
            tot = w.sum()
            if not np.isfinite(tot) or tot <= 0:
                cx = cy = np.nan
                break
            nxc = cx + 2.0 * ((w * (xx - cx)).sum() / tot)
            nyc = cy + 2.0 * ((w * (yy - cy)).sum() / tot)
            if abs(nxc - x) > r or abs(nyc - y) > r:
                cx = cy = np.nan
                break
            done = abs(nxc - cx) < 1e-4 and abs(nyc - cy) < 1e-4
            cx, cy = nxc, nyc
            if done:
                break
        out[k] = (cx, cy)
    return out


def fwhm_of(img: np.ndarray, xy: np.ndarray, r: int = 6) -> np.ndarray:
    """FWHM from second moments (Gaussian equivalent) around centroids."""
    ny, nx = img.shape
    res = np.full(len(xy), np.nan)
    for k, (x, y) in enumerate(xy):
        if not np.isfinite(x):
            continue
        ix, iy = int(round(x)), int(round(y))
        if ix - r < 0 or iy - r < 0 or ix + r >= nx or iy + r >= ny:
            continue
        sub = img[iy - r:iy + r + 1, ix - r:ix + r + 1].astype(np.float64)
        yy, xx = np.mgrid[iy - r:iy + r + 1, ix - r:ix + r + 1]
        sub = np.clip(sub, 0, None)
        tot = sub.sum()
        if tot <= 0:
            continue
        m2 = ((sub * ((xx - x) ** 2 + (yy - y) ** 2)).sum() / tot) / 2.0
        if m2 > 0:
            res[k] = 2.3548 * np.sqrt(m2)
    return res


def _overlap(x: float, y: float, radius: float, x0: int, y0: int, shape, sub: int = 5) -> np.ndarray:
    """Fraction of each pixel of a stamp inside a circle (``sub`` x ``sub`` sampling)."""
    ny, nx = shape
    off = (np.arange(sub) + 0.5) / sub - 0.5
    yy = (np.arange(y0, y0 + ny)[:, None] + off[None, :]).ravel()
    xx = (np.arange(x0, x0 + nx)[:, None] + off[None, :]).ravel()
    inside = ((yy[:, None] - y) ** 2 + (xx[None, :] - x) ** 2) <= radius**2
    return inside.reshape(ny, sub, nx, sub).mean(axis=(1, 3))


def aperture_photometry(img: np.ndarray, var: np.ndarray, bad: np.ndarray, xy: np.ndarray, radius: float,
                        r_in: float, r_out: float) -> dict[str, np.ndarray]:
    """Circular-aperture sums with a sigma-clipped median background from an annulus.

    Returns flux, flux_err, bkg (per pixel), nbad (bad pixels in the aperture), area.
    """
    n = len(xy)
    res = {k: np.full(n, np.nan) for k in ("flux", "flux_err", "bkg", "area")}
    res["nbad"] = np.zeros(n, dtype=int)
    ny, nx = img.shape
    R = int(np.ceil(r_out)) + 1
    for k, (x, y) in enumerate(xy):
        if not np.isfinite(x):
            continue
        ix, iy = int(round(x)), int(round(y))
        x0, y0 = ix - R, iy - R
        if x0 < 0 or y0 < 0 or ix + R >= nx or iy + R >= ny:
            continue
        sl = (slice(y0, iy + R + 1), slice(x0, ix + R + 1))
        sub, sv, sb = img[sl].astype(np.float64), var[sl].astype(np.float64), bad[sl]
        frac = _overlap(x, y, radius, x0, y0, sub.shape)
        yy, xx = np.mgrid[y0:iy + R + 1, x0:ix + R + 1]
        d2 = (xx - x) ** 2 + (yy - y) ** 2
        ann = (d2 >= r_in**2) & (d2 <= r_out**2) & ~sb
        vals = sub[ann]
        if vals.size < 10:
            continue
        for _ in range(5):
            m, s = np.median(vals), vals.std()
            keep = np.abs(vals - m) <= 3 * s
            if keep.all():
                break
            vals = vals[keep]
        bkg = float(np.median(vals))
        use = frac > 0
        res["nbad"][k] = int((sb & use).sum())
        good = use & ~sb
        area = float(frac[use].sum())
        flux = float((frac * (sub - bkg))[good].sum())
        if res["nbad"][k]:  # scale up for the lost area (flagged anyway)
            got = float(frac[good].sum())
            flux *= area / max(got, 1e-9)
        var_sum = float((frac**2 * sv)[good].sum()) + area**2 * float(vals.var()) / vals.size
        res["flux"][k], res["flux_err"][k], res["bkg"][k], res["area"][k] = flux, np.sqrt(var_sum), bkg, area
    return res


def match(a: np.ndarray, b: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Nearest-neighbour matches of points ``a`` to points ``b`` within ``radius`` (one to one,
    closest pairs first). Returns index arrays (ia, ib)."""
    from scipy.spatial import cKDTree

    if len(a) == 0 or len(b) == 0:
        return np.array([], dtype=int), np.array([], dtype=int)
    ok_a = np.all(np.isfinite(a), axis=1)
    ok_b = np.all(np.isfinite(b), axis=1)
    ia_map, ib_map = np.nonzero(ok_a)[0], np.nonzero(ok_b)[0]
    if len(ia_map) == 0 or len(ib_map) == 0:
        return np.array([], dtype=int), np.array([], dtype=int)
    tree = cKDTree(b[ok_b])
    d, j = tree.query(a[ok_a], distance_upper_bound=radius)
    pairs = sorted((float(dd), int(i), int(jj)) for i, (dd, jj) in enumerate(zip(d, j)) if np.isfinite(dd))
    used_a, used_b, ia, ib = set(), set(), [], []
    for _, i, jj in pairs:
        if i in used_a or jj in used_b:
            continue
        used_a.add(i)
        used_b.add(jj)
        ia.append(ia_map[i])
        ib.append(ib_map[jj])
    return np.array(ia, dtype=int), np.array(ib, dtype=int)


def offset_by_voting(a: np.ndarray, b: np.ndarray, max_shift: float, tol: float = 1.5) -> tuple[float, float, int]:
    """The translation t with b ~ a + t found by voting over all pair differences (robust to
    a poor initial guess): returns (dx, dy, n_votes)."""
    if len(a) == 0 or len(b) == 0:
        return 0.0, 0.0, 0
    a, b = a[:80], b[:80]
    d = (b[None, :, :] - a[:, None, :]).reshape(-1, 2)
    d = d[np.all(np.abs(d) <= max_shift, axis=1)]
    if len(d) == 0:
        return 0.0, 0.0, 0
    from scipy.spatial import cKDTree

    tree = cKDTree(d)
    counts = np.array([len(c) for c in tree.query_ball_point(d, tol)])
    best = d[np.argmax(counts)]
    near = d[np.all(np.abs(d - best) <= tol, axis=1)]
    m = np.median(near, axis=0)
    return float(m[0]), float(m[1]), int(counts.max())


# --------------------------------------------------------------------------- catalogue purity

# A source is catalogued only where the coadd has at least this fraction of the full weight
# (the WEIGHT plane of COADD_IMG: summed frame weights / sum of all weights; 1 = every frame
# covers the pixel). 0.6 means about 3 of 5 equally weighted frames: where only one or two
# dithered frames overlap, noise and uncorrected cosmic rays make false detections.
COVERAGE_MIN = 0.6

# FLAGS bits of SOURCE_CATALOG rows (also written into the SOURCES header)
FLAG_BAD_PIXEL = 1
FLAG_EDGE = 2
FLAG_BITS = {
    FLAG_BAD_PIXEL: "bad/no-data pixel in the aperture (flux scaled up)",
    FLAG_EDGE: "aperture reaches coverage below the threshold",
}


def coverage_mask(weight: np.ndarray | None, minimum: float, shape: tuple[int, int]) -> np.ndarray:
    """True where the coadd's coverage (WEIGHT plane) is below ``minimum`` (no plane: all False)."""
    if weight is None or minimum <= 0:
        return np.zeros(shape, bool)
    w = np.asarray(weight, dtype=np.float64)
    if w.shape != shape:
        return np.zeros(shape, bool)
    return ~(np.isfinite(w) & (w >= minimum))


def aperture_touches(mask: np.ndarray, xy: np.ndarray, radius: float) -> np.ndarray:
    """For each (x, y): does a circle of ``radius`` around it include a masked pixel?"""
    out = np.zeros(len(xy), bool)
    ny, nx = mask.shape
    r = int(np.ceil(radius))
    for k, (x, y) in enumerate(xy):
        ix, iy = int(round(x)), int(round(y))
        y0, y1, x0, x1 = max(iy - r, 0), min(iy + r + 1, ny), max(ix - r, 0), min(ix + r + 1, nx)
        yy, xx = np.mgrid[y0:y1, x0:x1]
        inside = (xx - x) ** 2 + (yy - y) ** 2 <= radius**2
        out[k] = bool(mask[y0:y1, x0:x1][inside].any()) or y0 != iy - r or x0 != ix - r or y1 != iy + r + 1 \
            or x1 != ix + r + 1
    return out


def safe_filter(name: str) -> str:
    """A filter name fit for a file name (``V``, ``Ks``, ``NB_2.17``)."""
    import re

    return re.sub(r"[^A-Za-z0-9.+-]+", "_", str(name)).strip("_") or "nofilter"
