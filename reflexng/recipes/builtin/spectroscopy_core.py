"""Numerical steps of the DEMO long-slit reduction: combination, slit edges, object trace,
sky subtraction and optimal (Horne 1986) extraction. Images are indexed ``[y, x]`` with the
dispersion along x; all functions are pure numpy/scipy (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.polynomial import Polynomial
from scipy.ndimage import median_filter

from reflexng.recipes.builtin.combine import sigma_clip_combine


def combine(frames: list[np.ndarray], method: str = "median", sigma: float = 3.0,
            iters: int = 2) -> np.ndarray:
    """Sigma-clipped combination of equally shaped frames (float64 out)."""
    if len(frames) == 1:
        return frames[0].astype(np.float64)
    stack = np.stack([f.astype(np.float32) for f in frames])
    return np.asarray(sigma_clip_combine(stack, method=method, sigma=sigma, iters=iters),
                      dtype=np.float64)


def robust_std(a: np.ndarray) -> float:
    a = np.asarray(a, dtype=float)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return float("nan")
    return float(1.4826 * np.median(np.abs(a - np.median(a))))


def read_noise_from_pairs(frames: list[np.ndarray]) -> float:
    """Read noise (ADU) from differences of consecutive frames: robust std / sqrt(2)."""
    if len(frames) < 2:
        return robust_std(frames[0] - median_filter(frames[0], size=5))
    vals = [robust_std(a - b) / np.sqrt(2) for a, b in zip(frames[:-1], frames[1:])]
    return float(np.median(vals))


def clipped_polyfit(x: np.ndarray, y: np.ndarray, degree: int, sigma: float = 3.0,
                    iters: int = 5, w: np.ndarray | None = None) -> tuple[Polynomial, np.ndarray]:
    """Polynomial fit with iterative sigma clipping; returns (poly, mask of points used)."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    use = np.isfinite(x) & np.isfinite(y)
    if w is not None:
        use &= np.isfinite(w)
    p = None
    for _ in range(iters):
        if use.sum() <= degree:
            break
        p = Polynomial.fit(x[use], y[use], degree, w=None if w is None else w[use]).convert()
        r = y - p(x)
        s = robust_std(r[use]) if use.sum() > 5 else np.std(r[use])
        new = use & (np.abs(r) <= sigma * max(s, 1e-12))
        if new.sum() == use.sum() or new.sum() <= degree:
            break  # converged, or clipping would leave too few points to fit
        use = new
    if p is None:
        raise ValueError(f"too few points ({int(use.sum())}) for a degree-{degree} fit")
    return p, use


# ----------------------------------------------------------------------------- slit edges


@dataclass
class SlitEdges:
    lower: Polynomial
    upper: Polynomial
    x: np.ndarray  # measured columns
    y_lower: np.ndarray
    y_upper: np.ndarray
    rms: float


def find_slit_edges(flat: np.ndarray, degree: int = 1, step: int = 8, level: float = 0.5) -> SlitEdges:
    """Slit edges of a bias-subtracted lamp flat: where the cross-dispersion profile crosses
    ``level`` times the illumination just inside the edge (sub-pixel, linear interpolation)."""
    ny, nx = flat.shape
    xs, los, his = [], [], []
    for x0 in range(0, nx - step + 1, step):
        prof = np.median(flat[:, x0:x0 + step], axis=1)
        top = np.percentile(prof, 90)
        if not np.isfinite(top) or top <= 0:
            continue
        lit = np.nonzero(prof > 0.5 * top)[0]
        if lit.size < 10:
            continue
        i0, i1 = lit[0], lit[-1]
        lo_level = level * np.median(prof[i0 + 3:i0 + 10])
        hi_level = level * np.median(prof[i1 - 9:i1 - 2])
        lo = _crossing(prof, i0, lo_level, -1)
        hi = _crossing(prof, i1, hi_level, +1)
        if lo is None or hi is None:
            continue
        xs.append(x0 + (step - 1) / 2.0)
        los.append(lo)
        his.append(hi)
    if len(xs) < degree + 2:
        raise ValueError("no illuminated slit found in the flat (is the lamp on? is it bias-subtracted?)")
    x = np.array(xs)
    pl, ul = clipped_polyfit(x, np.array(los), degree)
    ph, uh = clipped_polyfit(x, np.array(his), degree)
    res = np.concatenate([(np.array(los) - pl(x))[ul], (np.array(his) - ph(x))[uh]])
    return SlitEdges(pl, ph, x, np.array(los), np.array(his), float(np.sqrt(np.mean(res ** 2))))


def _crossing(prof: np.ndarray, start: int, level: float, direction: int) -> float | None:
    """Walk from ``start`` outwards (direction -1 = down, +1 = up) to where prof drops below level."""
    i = start
    n = prof.size
    while 0 <= i < n and prof[i] >= level:
        i += direction
    if not (0 <= i < n):
        return None
    j = i - direction  # inside, >= level
    a, b = prof[i], prof[j]
    if b == a:
        return float(j)
    return float(i + (level - a) / (b - a) * (j - i))


def slit_mask(shape: tuple[int, int], edges: SlitEdges, margin: float = 0.0) -> np.ndarray:
    ny, nx = shape
    x = np.arange(nx)
    y = np.arange(ny)[:, None]
    return (y >= edges.lower(x)[None, :] + margin) & (y <= edges.upper(x)[None, :] - margin)


# ----------------------------------------------------------------------------- object trace


@dataclass
class Trace:
    poly: Polynomial
    x: np.ndarray
    y: np.ndarray
    used: np.ndarray
    sigma: float  # Gaussian sigma of the spatial profile (px)
    rms: float


def find_trace(img: np.ndarray, inslit: np.ndarray, degree: int = 2, step: int = 16,
               y_guess: float | None = None) -> Trace:
    """Trace the brightest object in the slit: centroids of column bins, polynomial fit."""
    ny, nx = img.shape
    data = np.where(inslit, img, np.nan)
    sky = np.nanmedian(data, axis=0)
    obj = np.where(inslit, img - sky[None, :], 0.0)
    if y_guess is None:
        prof = np.median(obj[:, nx // 4: 3 * nx // 4], axis=1)
        y_guess = float(np.argmax(prof))
    xs, ys, ws, sig = [], [], [], []
    yy = np.arange(ny, dtype=float)
    for x0 in range(0, nx - step + 1, step):
        prof = obj[:, x0:x0 + step].sum(axis=1)
        c = y_guess
        for _ in range(4):
            win = np.abs(yy - c) <= 6
            w = np.clip(prof[win], 0, None)
            if w.sum() <= 0:
                break
            c_new = float(np.sum(yy[win] * w) / w.sum())
            if abs(c_new - c) < 1e-3:
                c = c_new
                break
            c = c_new
        win = np.abs(yy - c) <= 6
        w = np.clip(prof[win], 0, None)
        if w.sum() <= 0:
            continue
        var = np.sum((yy[win] - c) ** 2 * w) / w.sum()
        xs.append(x0 + (step - 1) / 2.0)
        ys.append(c)
        ws.append(np.sqrt(w.sum()))
        sig.append(np.sqrt(max(var - 1 / 12.0, 0.01)))
        y_guess = c
    if len(xs) < degree + 2:
        raise ValueError("no object found in the slit to trace")
    x, y = np.array(xs), np.array(ys)
    p, used = clipped_polyfit(x, y, degree, w=np.array(ws))
    rms = float(np.sqrt(np.mean((y - p(x))[used] ** 2)))
    fwhm = profile_fwhm(obj, p)
    sigma = fwhm / 2.3548 if np.isfinite(fwhm) else float(np.median(np.array(sig)[used]))
    return Trace(p, x, y, used, sigma, rms)


def profile_fwhm(obj: np.ndarray, trace: Polynomial, half: int = 40) -> float:
    """FWHM (px) of the spatial profile stacked along the trace (each column shifted to the
    trace, 0.25-px sampling): the width measure that scales with the seeing whatever its shape."""
    ny, nx = obj.shape
    off = np.arange(-half, half + 0.25, 0.25)
    yy = np.arange(ny, dtype=float)
    stack = np.zeros(off.size)
    ty = trace(np.arange(nx, dtype=float))
    for x in range(nx):
        stack += np.interp(ty[x] + off, yy, obj[:, x], left=0.0, right=0.0)
    stack -= np.median(stack[np.abs(off) > 0.75 * half]) if np.any(np.abs(off) > 0.75 * half) else 0.0
    i0 = int(np.argmax(stack))
    peak = stack[i0]
    if not peak > 0:
        return float("nan")
    lo = _crossing(stack, i0, 0.5 * peak, -1)
    hi = _crossing(stack, i0, 0.5 * peak, +1)
    if lo is None or hi is None:
        return float("nan")
    return float((hi - lo) * 0.25)


# ----------------------------------------------------------------------------- sky and extraction


def fit_sky(img: np.ndarray, var: np.ndarray, inslit: np.ndarray, trace_y: np.ndarray,
            exclude: float, degree: int = 1, sigma: float = 3.0) -> np.ndarray:
    """Per-column polynomial sky along the slit, excluding ``|y - trace| <= exclude``."""
    ny, nx = img.shape
    yy = np.arange(ny, dtype=float)
    sky = np.zeros_like(img)
    for x in range(nx):
        use = inslit[:, x] & (np.abs(yy - trace_y[x]) > exclude)
        if use.sum() < degree + 3:
            continue
        yv, dv = yy[use], img[use, x]
        w = 1.0 / np.sqrt(np.clip(var[use, x], 1e-6, None))
        for _ in range(3):
            c = np.polynomial.polynomial.polyfit(yv, dv, degree, w=w)
            r = dv - np.polynomial.polynomial.polyval(yv, c)
            keep = np.abs(r) * w < sigma
            if keep.all() or keep.sum() < degree + 3:
                break
            yv, dv, w = yv[keep], dv[keep], w[keep]
        sky[:, x] = np.polynomial.polynomial.polyval(yy, c)
    return sky


def fit_sky_rectified(img: np.ndarray, var: np.ndarray, use: np.ndarray, xr: np.ndarray,
                      spacing: float = 0.5, sigma: float = 4.0, iters: int = 3):
    """Sky as one spectrum ``S(xr)`` of the rectified column ``xr`` (constant-wavelength
    coordinate) - a least-squares cubic B-spline with knots every ``spacing`` px through all
    sky pixels ``use`` (Kelson 2003) - so tilted lines leave no residuals. Returns (sky image,
    spline) or raises ValueError when the pixels do not constrain the knots."""
    from scipy.interpolate import make_lsq_spline

    xv, dv = xr[use], img[use]
    wv = 1.0 / np.sqrt(np.clip(var[use], 1e-6, None))
    o = np.argsort(xv, kind="stable")
    xv, dv, wv = xv[o], dv[o], wv[o]
    keep = np.ones(xv.size, bool)
    spl = None
    for _ in range(iters):
        xs = xv[keep]
        inner = np.arange(xs[0] + spacing, xs[-1] - 0.5 * spacing, spacing)
        counts = np.histogram(xs, bins=np.concatenate([[xs[0]], inner, [xs[-1]]]))[0]
        if np.any(counts < 4):
            raise ValueError("the sky pixels do not sample every knot interval (no line tilt?)")
        t = np.concatenate([[xs[0]] * 4, inner, [xs[-1]] * 4])
        spl = make_lsq_spline(xs, dv[keep], t, k=3, w=wv[keep])
        r = (dv - spl(xv)) * wv
        new = np.abs(r) < sigma
        if new.sum() == keep.sum():
            break
        keep = new
    return spl(xr), spl


def box_extract(data: np.ndarray, sky: np.ndarray, var: np.ndarray, trace_y: np.ndarray,
                half_width: float, bad: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Plain sum over the aperture (no weights, no cosmic-ray rejection) and its variance."""
    ny, _nx = data.shape
    yy = np.arange(ny, dtype=float)[:, None]
    ap = np.abs(yy - trace_y[None, :]) <= half_width
    good = ap & np.isfinite(data)
    if bad is not None:
        good &= ~bad
    return np.where(good, data - sky, 0.0).sum(axis=0), np.where(good, var, 0.0).sum(axis=0)


@dataclass
class Extraction:
    flux: np.ndarray  # per column, in the image's units
    var: np.ndarray
    boxcar: np.ndarray
    sky: np.ndarray  # sky per column summed over the aperture
    nrejected: int
    profile: np.ndarray


def horne_extract(data: np.ndarray, sky: np.ndarray, flat: np.ndarray, trace_y: np.ndarray,
                  half_width: float, gain: float, ron: float, *, smooth: int = 21,
                  clip: float = 5.0, iters: int = 10, bad: np.ndarray | None = None) -> Extraction:
    """Optimal extraction (Horne 1986) of a flat-fielded frame ``data`` with sky ``sky``.

    The spatial profile is the sky-subtracted frame normalised per column and smoothed along
    the dispersion (running median over ``smooth`` columns, per row); the variance model is
    ``(ron**2 + max(flat * (F P + sky), 0) / gain) / flat**2`` in flat-fielded ADU, revised
    with the fitted flux; cosmic rays (``(D - F P)**2 > clip**2 V``) are rejected iteratively.
    """
    ny, nx = data.shape
    yy = np.arange(ny, dtype=float)[:, None]
    ap = np.abs(yy - trace_y[None, :]) <= half_width
    good = ap & np.isfinite(data)
    if bad is not None:
        good &= ~bad
    d = np.where(good, data - sky, 0.0)
    box = d.sum(axis=0)
    tot = np.where(np.abs(box) > 0, box, np.nan)
    p_raw = np.where(ap, d / tot[None, :], 0.0)
    p_raw = np.nan_to_num(p_raw)
    prof = median_filter(p_raw, size=(1, max(int(smooth), 1)), mode="nearest")
    prof = np.where(ap, np.clip(prof, 0.0, None), 0.0)
    norm = prof.sum(axis=0)
    prof = prof / np.where(norm > 0, norm, 1.0)[None, :]
    mask = good.copy()
    flux = box.copy()
    ff = np.where(flat > 0, flat, 1.0)
    for _ in range(iters):
        model = flux[None, :] * prof
        v = (ron ** 2 + np.clip(ff * (model + sky), 0, None) / gain) / ff ** 2
        num = np.sum(np.where(mask, prof * d / v, 0.0), axis=0)
        den = np.sum(np.where(mask, prof ** 2 / v, 0.0), axis=0)
        flux = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
        resid2 = np.where(mask, (d - flux[None, :] * prof) ** 2 / v, 0.0)
        worst = np.argmax(resid2, axis=0)
        cols = np.nonzero(resid2[worst, np.arange(nx)] > clip ** 2)[0]
        if cols.size == 0:
            break
        mask[worst[cols], cols] = False
    model = flux[None, :] * prof
    v = (ron ** 2 + np.clip(ff * (model + sky), 0, None) / gain) / ff ** 2
    den = np.sum(np.where(mask, prof ** 2 / v, 0.0), axis=0)
    psum = np.sum(np.where(mask, prof, 0.0), axis=0)
    var = np.where(den > 0, psum / np.where(den > 0, den, 1.0), np.inf)
    nrej = int((good & ~mask).sum())
    return Extraction(flux, var, box, np.sum(np.where(ap, sky, 0.0), axis=0), nrej, prof)


def reduce_frame(raw: np.ndarray, bias: np.ndarray, flat: np.ndarray | None, gain: float,
                 ron: float, bias_var: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Bias-subtract and flat-field a raw frame; variance from the CCD noise model."""
    d = raw - bias
    var = ron ** 2 + np.clip(d, 0, None) / gain
    if bias_var is not None:
        var = var + bias_var
    if flat is not None:
        f = np.where(flat > 0, flat, 1.0)
        d = d / f
        var = var / f ** 2
    return d, var
