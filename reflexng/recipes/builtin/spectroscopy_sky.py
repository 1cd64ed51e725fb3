"""Night-sky lines for the DEMO long-slit science reduction: flexure measured against the sky
lines, the sky-line offset of the final wavelength scale, and the sky-subtraction residual in
the sky-line windows (the QC values the workshop lessons read). Pure numpy/scipy."""

from __future__ import annotations

import numpy as np
from numpy.polynomial import Polynomial
from scipy.optimize import curve_fit

from reflexng.recipes.builtin.spectroscopy_core import robust_std
from reflexng.recipes.builtin.spectroscopy_wave import isolated


def usable_sky_lines(waves: np.ndarray, sol: Polynomial, nx: int, fwhm_px: float,
                     margin: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """(wavelengths, reference-row pixel positions) of the isolated list lines on the detector:
    lines closer than 2 FWHM to another (unresolved doublets such as Na D) are left out."""
    waves = np.asarray(waves, float)
    disp = abs(float(sol.deriv()(nx / 2.0)))
    waves = waves[isolated(waves, 2.0 * fwhm_px * disp)]
    grid = np.linspace(-5, nx + 5, 8 * (nx + 10))
    lam = sol(grid)
    o = np.argsort(lam)
    x = np.interp(waves, lam[o], grid[o], left=np.nan, right=np.nan)
    ok = np.isfinite(x) & (x > margin) & (x < nx - 1 - margin)
    return waves[ok], x[ok]


def _gauss_lin(x, a, c, s, b0, b1):
    return a * np.exp(-0.5 * ((x - c) / s) ** 2) + b0 + b1 * (x - c)


def line_centre(x: np.ndarray, y: np.ndarray, x_guess: float, search: float, fwhm: float,
                min_contrast: float = 3.0) -> float:
    """Centre of the emission line nearest ``x_guess`` (within ``search`` px) in the sampled
    spectrum ``y(x)``: a Gaussian plus linear background; NaN when the line is not clear
    (amplitude under ``min_contrast`` times the local scatter)."""
    win = np.abs(x - x_guess) <= search + fwhm
    if win.sum() < 5:
        return float("nan")
    xw, yw = x[win], y[win]
    j = int(np.argmax(yw))
    sig = fwhm / 2.3548
    fit = np.abs(x - xw[j]) <= 2.5 * sig + 1.0
    xf, yf = x[fit], y[fit]
    if xf.size < 5:
        return float("nan")
    bg = float(np.median(y[(np.abs(x - xw[j]) > 2.5 * fwhm) & (np.abs(x - xw[j]) < 5 * fwhm)])) \
        if np.any((np.abs(x - xw[j]) > 2.5 * fwhm) & (np.abs(x - xw[j]) < 5 * fwhm)) else float(np.min(yf))
    try:
        popt, _ = curve_fit(_gauss_lin, xf, yf, p0=(yw[j] - bg, xw[j], sig, bg, 0.0), maxfev=2000)
    except (RuntimeError, ValueError):
        return float("nan")
    a, c, s = popt[:3]
    local = robust_std(np.diff(y[(np.abs(x - xw[j]) < 6 * fwhm)])) / np.sqrt(2)
    if not (a > min_contrast * max(local, 1e-9) and 0.3 * sig < abs(s) < 3 * sig and abs(c - x_guess) <= search + 1):
        return float("nan")
    return float(c)


def measure_flexure(x: np.ndarray, sky: np.ndarray, line_x: np.ndarray, fwhm: float,
                    max_shift: float) -> tuple[float, int, float]:
    """Shift (px) of the sky lines in ``sky(x)`` from their positions ``line_x`` predicted by
    the arc solution: median of the per-line offsets. Returns (shift, lines used, their scatter)."""
    d = np.array([line_centre(x, sky, xl, max_shift, fwhm) - xl for xl in line_x])
    d = d[np.isfinite(d)]
    if d.size == 0:
        return 0.0, 0, float("nan")
    shift = float(np.median(d))
    return shift, int(d.size), float(robust_std(d)) if d.size > 2 else 0.0


def sky_line_offset(wave: np.ndarray, sky1d: np.ndarray, line_waves: np.ndarray, fwhm: float) -> tuple[float, int]:
    """Median offset (px) of the sky lines in an extracted sky spectrum ``sky1d`` (per column)
    from their catalogue wavelengths, on the spectrum's own wavelength scale ``wave``: what is
    left of flexure and tilt errors after the reduction. Returns (offset, lines measured)."""
    x = np.arange(wave.size, dtype=float)
    disp = np.gradient(wave)
    o = np.argsort(wave)
    offs = []
    for lam in line_waves:
        xg = float(np.interp(lam, wave[o], x[o]))
        if not (5 < xg < wave.size - 6):
            continue
        c = line_centre(x, sky1d, xg, 3.0, fwhm)
        if np.isfinite(c):
            offs.append((np.interp(c, x, wave) - lam) / np.interp(c, x, disp))
    if not offs:
        return float("nan"), 0
    return float(np.median(offs)), len(offs)


def sky_residual_rms(resid: np.ndarray, var: np.ndarray, use: np.ndarray, line_x: np.ndarray,
                     half: float) -> float:
    """Scatter, in units of the expected noise, of the sky-subtracted pixels ``use`` in the
    columns of the sky lines (+- ``half`` px): the 68.3rd percentile of ``|residual / sigma|``,
    1.0 for a perfect sky model and pure noise, unmoved by a few cosmic-ray hits."""
    cols = np.zeros(resid.shape[1], bool)
    xi = np.arange(resid.shape[1])
    for xl in line_x:
        cols |= np.abs(xi - xl) <= half
    m = use & cols[None, :] & (var > 0)
    if m.sum() < 10:
        return float("nan")
    return float(np.percentile(np.abs(resid[m]) / np.sqrt(var[m]), 68.27))
