"""Wavelength calibration from arc lines, the response curve, and spectrum combination
for the DEMO long-slit recipes (pure numpy/scipy)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.polynomial import Polynomial
from scipy.interpolate import LSQUnivariateSpline
from scipy.ndimage import percentile_filter
from scipy.optimize import curve_fit
from scipy.signal import find_peaks

from reflexng.recipes.builtin.spectroscopy_core import clipped_polyfit, robust_std


@dataclass
class ArcLine:
    x: float  # centre (px)
    fwhm: float  # px
    peak: float
    x_err: float


def find_arc_lines(spec: np.ndarray, threshold: float = 10.0, fwhm_guess: float = 3.0,
                   max_lines: int = 200, noise: float | None = None) -> tuple[list[ArcLine], float]:
    """Emission lines in a 1-D arc spectrum: peaks above ``threshold`` x ``noise`` (the
    background noise of ``spec``; default: clipped std of the continuum-subtracted spectrum),
    Gaussian fits. Returns the lines and the noise used."""
    cont = percentile_filter(spec, 10, size=max(31, int(12 * fwhm_guess)), mode="nearest")
    s = spec - cont
    if noise is None:
        noise = max(robust_std(s), 1e-6)
        for _ in range(10):  # sigma-clipped: lines must not inflate the estimate
            new = max(float(np.std(s[np.abs(s) < 3 * noise])), 1e-6)
            if abs(new - noise) < 1e-3 * noise:
                break
            noise = new
    noise = max(float(noise), 1e-6)
    peaks, _ = find_peaks(s, height=threshold * noise, distance=max(2, int(fwhm_guess)))
    peaks = peaks[np.argsort(s[peaks])[::-1][:max_lines]]
    half = max(3, int(np.ceil(1.5 * fwhm_guess)))
    out = []
    for p in sorted(peaks):
        lo, hi = max(0, p - half), min(s.size, p + half + 1)
        xx = np.arange(lo, hi, dtype=float)
        yy = s[lo:hi]
        if xx.size < 5:
            continue
        sig0 = fwhm_guess / 2.3548
        try:
            popt, pcov = curve_fit(_gauss, xx, yy, p0=(s[p], float(p), sig0, 0.0), maxfev=2000)
        except (RuntimeError, ValueError):
            continue
        amp, cen, sig, _b = popt
        if not (lo <= cen <= hi - 1) or sig <= 0.2 or sig > 4 * fwhm_guess or amp <= 0:
            continue
        err = float(np.sqrt(abs(pcov[1, 1]))) if np.all(np.isfinite(pcov)) else np.nan
        out.append(ArcLine(float(cen), float(2.3548 * abs(sig)), float(amp), err))
    return out, float(noise)


def _gauss(x, a, c, s, b):
    return a * np.exp(-0.5 * ((x - c) / s) ** 2) + b


@dataclass
class WaveFit:
    poly: Polynomial
    x: np.ndarray  # matched line centres (px)
    wave: np.ndarray  # catalogue wavelengths (A)
    used: np.ndarray  # bool: kept in the final fit
    rms_ang: float
    rms_px: float
    shift_px: float  # cross-correlation shift of the first guess


def identify_and_fit(lines: list[ArcLine], catalogue: np.ndarray, nx: int, guess: Polynomial,
                     degree: int = 3, tolerance: float = 25.0, clip: float = 3.0,
                     spec: np.ndarray | None = None, max_shift: float = 100.0) -> WaveFit:
    """Identify measured lines with catalogue wavelengths starting from a first-guess
    solution ``guess`` (pixel -> A), refining the polynomial degree by degree."""
    if len(lines) < degree + 2:
        raise ValueError(f"only {len(lines)} arc lines found; need at least {degree + 2}")
    xs = np.array([ln.x for ln in lines])
    shift = 0.0
    if spec is not None:
        shift = _xcorr_shift(spec, catalogue, guess, lines, max_shift)
    sol = Polynomial(guess.coef.copy())
    sol = sol + (sol(nx / 2.0 + shift) - sol(nx / 2.0))  # move the guess by the shift
    tol = tolerance
    used = np.zeros(xs.size, bool)
    match = np.full(xs.size, np.nan)
    for deg in [1, *range(1, degree + 1), degree, degree]:
        match = _match(sol(xs), catalogue, tol)
        ok = np.isfinite(match)
        if ok.sum() < deg + 2:
            raise ValueError(f"only {int(ok.sum())} lines identified within {tol:.1f} A of the "
                             "first guess; check wave_guess_start/end or raise match_tolerance")
        sol, used_ok = clipped_polyfit(xs[ok], match[ok], deg, sigma=clip)
        used = np.zeros(xs.size, bool)
        used[np.nonzero(ok)[0][used_ok]] = True
        resid = match[used] - sol(xs[used])
        disp = abs(sol.deriv()(nx / 2.0))
        tol = max(min(tol, 5 * robust_std(resid) + 0.5 * disp), disp)
    resid = match[used] - sol(xs[used])
    disp_x = np.abs(sol.deriv()(xs[used]))
    rms_ang = float(np.sqrt(np.mean(resid ** 2)))
    rms_px = float(np.sqrt(np.mean((resid / disp_x) ** 2)))
    return WaveFit(sol, xs, match, used, rms_ang, rms_px, float(shift))


def _match(pred: np.ndarray, catalogue: np.ndarray, tol: float) -> np.ndarray:
    """Nearest catalogue line within ``tol`` (A), each catalogue line used at most once."""
    out = np.full(pred.size, np.nan)
    cat = np.sort(catalogue)
    idx = np.clip(np.searchsorted(cat, pred), 1, cat.size - 1)
    left, right = cat[idx - 1], cat[idx]
    near = np.where(np.abs(pred - left) < np.abs(pred - right), left, right)
    d = np.abs(pred - near)
    for i in np.argsort(d):
        if d[i] <= tol and not np.any(out == near[i]):
            out[i] = near[i]
    return out


def _xcorr_shift(spec: np.ndarray, catalogue: np.ndarray, guess: Polynomial,
                 lines: list[ArcLine], max_shift_ang: float) -> float:
    """Pixel shift of the observed line pattern relative to the first guess (cross-correlation
    of delta-comb models, 0.25 px resolution)."""
    nx = spec.size
    disp = abs(guess.deriv()(nx / 2.0))
    max_px = max_shift_ang / max(disp, 1e-6)
    grid = np.linspace(-2, nx + 2, 4 * (nx + 4))
    wave_of_grid = guess(grid)
    cat_px = np.interp(catalogue, wave_of_grid, grid)
    obs = np.array([ln.x for ln in lines])
    w = np.array([np.sqrt(max(ln.peak, 0)) for ln in lines])
    shifts = np.arange(-max_px, max_px + 0.25, 0.25)
    score = np.zeros(shifts.size)
    for i, sh in enumerate(shifts):
        d = (obs[:, None] - (cat_px[None, :] + sh)) / 1.5
        score[i] = np.sum(w[:, None] * np.exp(-0.5 * d ** 2))
    return float(shifts[int(np.argmax(score))])


# ----------------------------------------------------------------------------- line tilt


def line_centres(prof: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Sub-pixel centre of the peak nearest each ``x`` (integer search +-2 px, then the
    three-point Gaussian (log-parabola) interpolation); NaN where there is no clean peak."""
    n = prof.size
    out = np.full(len(x), np.nan)
    for i, x0 in enumerate(x):
        j0 = int(round(x0))
        lo, hi = max(j0 - 2, 1), min(j0 + 3, n - 1)
        if hi <= lo:
            continue
        j = lo + int(np.argmax(prof[lo:hi]))
        a, b, c = prof[j - 1], prof[j], prof[j + 1] if j + 1 < n else -1.0
        if min(a, b, c) <= 0 or b < a or b < c:
            continue
        la, lb, lc = np.log(a), np.log(b), np.log(c)
        den = la - 2 * lb + lc
        if den >= 0:
            continue
        out[i] = j + 0.5 * (la - lc) / den
    return out


def measure_tilt(arc: np.ndarray, inslit: np.ndarray, xs: np.ndarray, y_ref: float, degree: int = 1,
                 band: int = 12, clip: float = 3.0) -> tuple[Polynomial, np.ndarray, float]:
    """Tilt dx/dy of the arc lines along the slit: each line's centre in bands of ``band`` rows,
    a straight line x(y) per arc line, then a clipped polynomial tilt(x) of ``degree``.
    Returns (tilt polynomial, per-line slopes (NaN = not measured), rms of the slopes about it)."""
    ny, nx = arc.shape
    rows = np.nonzero(inslit.sum(axis=1) > nx // 2)[0]
    if rows.size < 3 * band:
        raise ValueError("the slit is too short to measure the line tilt")
    edges = np.arange(rows[0] + 2, rows[-1] - 2 - band + 1, band)
    yc = edges + (band - 1) / 2.0
    cen = np.full((edges.size, xs.size), np.nan)
    for k, y0 in enumerate(edges):
        prof = np.median(arc[y0:y0 + band], axis=0)
        cen[k] = line_centres(prof, xs)
    slopes = np.full(xs.size, np.nan)
    for i in range(xs.size):
        ok = np.isfinite(cen[:, i])
        if ok.sum() < 5:
            continue
        p, used = clipped_polyfit(yc[ok] - y_ref, cen[ok, i], 1, sigma=3.0)
        slopes[i] = p.coef[1] if p.coef.size > 1 else 0.0
    good = np.isfinite(slopes)
    if good.sum() < degree + 3:
        raise ValueError(f"the tilt of only {int(good.sum())} arc lines could be measured")
    tilt, used = clipped_polyfit(xs[good], slopes[good], degree, sigma=clip)
    rms = float(np.sqrt(np.mean((slopes[good] - tilt(xs[good]))[used] ** 2)))
    return tilt, slopes, rms


def isolated(waves: np.ndarray, window: float) -> np.ndarray:
    """Mask of catalogue lines with no other line within ``window`` (A): blends are dropped."""
    w = np.asarray(waves, float)
    d = np.abs(w[:, None] - w[None, :])
    np.fill_diagonal(d, np.inf)
    return d.min(axis=1) > window if w.size > 1 else np.ones(w.size, bool)


# ----------------------------------------------------------------------------- response


def fit_response(wave: np.ndarray, ratio: np.ndarray, err: np.ndarray, knot_spacing: float = 400.0,
                 clip: float = 3.0, iters: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Smooth fit of log(ratio) against wavelength: cubic spline with interior knots every
    ``knot_spacing`` A, weighted, sigma-clipped. Returns (fitted response, mask of points used)."""
    ok = np.isfinite(ratio) & (ratio > 0) & np.isfinite(err) & (err > 0)
    order = np.argsort(wave)
    wave, ratio, err, ok = wave[order], ratio[order], err[order], ok[order]
    y = np.log(np.where(ok, ratio, 1.0))
    w = np.where(ok, ratio / np.where(ok, err, 1.0), 0.0)
    use = ok.copy()
    fit = None
    for _ in range(iters):
        wv = wave[use]
        if wv.size < 10:
            raise ValueError("too few good points to fit the response")
        nk = max(int((wv[-1] - wv[0]) / knot_spacing), 1)
        knots = np.linspace(wv[0], wv[-1], nk + 1)[1:-1]
        spl = LSQUnivariateSpline(wv, y[use], knots, w=w[use], k=3)
        fit = spl(wave)
        r = (y - fit) * w
        s = robust_std(r[use])
        new = ok & (np.abs(r) < clip * max(s, 1e-9))
        if new.sum() == use.sum():
            break
        use = new
    out = np.empty_like(fit)
    out[order] = np.exp(fit)
    used = np.empty_like(use)
    used[order] = use
    return out, used


# ----------------------------------------------------------------------------- combination


def combine_spectra(spectra: list[tuple[np.ndarray, np.ndarray, np.ndarray]], step: float | None = None,
                    clip: float = 5.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Inverse-variance weighted mean of 1-D spectra (wave, flux, err) resampled (linear
    interpolation of flux and variance) onto a common linear grid over their overlap.
    Points deviating from the weighted median by more than ``clip`` sigma are rejected.
    Returns (wave, flux, err, number of spectra used per point)."""
    lo = max(float(np.nanmin(w)) for w, _f, _e in spectra)
    hi = min(float(np.nanmax(w)) for w, _f, _e in spectra)
    if hi <= lo:
        raise ValueError("the spectra do not overlap in wavelength")
    if step is None or step <= 0:
        step = min(float(np.nanmedian(np.abs(np.diff(w)))) for w, _f, _e in spectra)
    grid = np.arange(lo, hi + 0.5 * step, step)
    fl = np.empty((len(spectra), grid.size))
    va = np.empty_like(fl)
    for i, (w, f, e) in enumerate(spectra):
        o = np.argsort(w)
        fl[i] = np.interp(grid, w[o], f[o])
        ev = np.where(np.isfinite(e[o]) & (e[o] > 0), e[o] ** 2, np.inf)
        va[i] = np.interp(grid, w[o], np.where(np.isfinite(ev), ev, 1e300))
    good = np.isfinite(fl) & (va < 1e299)
    if len(spectra) >= 3:
        med = np.nanmedian(np.where(good, fl, np.nan), axis=0)
        good &= np.abs(fl - med[None, :]) <= clip * np.sqrt(va)
    wgt = np.where(good, 1.0 / np.where(good, va, 1.0), 0.0)
    sw = wgt.sum(axis=0)
    flux = np.where(sw > 0, (wgt * np.where(good, fl, 0.0)).sum(axis=0) / np.where(sw > 0, sw, 1), np.nan)
    err = np.where(sw > 0, 1.0 / np.sqrt(np.where(sw > 0, sw, 1)), np.nan)
    return grid, flux, err, good.sum(axis=0)
