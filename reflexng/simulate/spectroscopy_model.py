"""The physics of the DEMO long-slit spectrograph (used by :mod:`reflexng.simulate.spectroscopy`).

Geometry: dispersion runs along x (columns, blue to red), the slit along y (rows). Everything
is rendered on the unbinned ``n x n`` pixel grid and summed into 2x2 bins afterwards, so the
binned truth follows exactly from the unbinned one:

* unbinned pixel centre ``x`` has ``u = (x + 0.5) / n``; binned pixel ``xb`` (binning ``b``)
  has ``u = b (xb + 0.5) / n``;
* wavelength ``lambda(u) = sum(DISPERSION_U[k] u**k)`` in Angstrom (cubic, non-linear);
* arc and sky lines are tilted along the slit: the line of wavelength ``lambda`` whose centre is
  at unbinned column ``x0`` on the reference row ``Y_REF_U = n / 2`` falls at
  ``x0 + tilt(x0) (y - Y_REF_U) + flexure`` on row ``y``, ``tilt(x0) = TILT[0] + TILT[1] (u0 - .5)``
  (dimensionless, the same in every binning); ``flexure`` (unbinned px) moves a whole science or
  standard-star frame along the dispersion relative to the arcs;
* slit edges ``y = n (SLIT_LO + SLIT_TILT u)`` and ``n (SLIT_HI + SLIT_TILT u)`` (unbinned);
* the object trace ``y = n (y0 + TRACE_LIN (u - .5) + TRACE_QUAD (u - .5)**2)`` (unbinned);
* Gaussian line-spread function of ``LSF_SIGMA`` unbinned pixels; the spatial (seeing) profile
  is a Moffat profile (``MOFFAT_BETA``) of a FWHM that varies from frame to frame (or, with the
  realism switched off, a Gaussian of ``SEEING_SIGMA``).
Fluxes are in erg/s/cm2/A; ``throughput`` converts them to electrons/s/A on the detector.
"""

from __future__ import annotations

import numpy as np
from numpy.polynomial import Polynomial
from scipy.special import erf

DISPERSION_U = (4000.0, 2900.0, 150.0, -50.0)  # lambda(u), u in [0, 1]
WAVE_MIN, WAVE_MAX = 4000.0, 7000.0
LSF_SIGMA = 1.5  # unbinned px
SEEING_SIGMA = 2.0  # unbinned px
SLIT_LO, SLIT_HI, SLIT_TILT = 0.12, 0.88, 0.004
TRACE_LIN, TRACE_QUAD = 0.008, 0.012
FLUX_TO_E = 1.0e16  # electrons/s/A per erg/s/cm2/A at unit throughput

# Arc lamp lines (Angstrom, relative intensity): fictitious but realistic, >= 60 A apart.
BASE_ARC_LINES = (
    (4046.6, 0.6), (4158.6, 0.3), (4259.4, 0.5), (4358.3, 1.0), (4471.5, 0.35),
    (4545.1, 0.25), (4658.9, 0.45), (4764.9, 0.3), (4879.9, 0.8), (4965.1, 0.4),
    (5085.8, 0.3), (5187.7, 0.35), (5330.8, 0.55), (5460.7, 1.0), (5572.5, 0.3),
    (5650.7, 0.4), (5769.6, 0.7), (5852.5, 0.9), (5944.8, 0.5), (6030.0, 0.35),
    (6143.1, 0.6), (6217.3, 0.4), (6304.8, 0.3), (6402.2, 1.0), (6506.5, 0.6),
    (6598.9, 0.5), (6678.3, 0.7), (6752.8, 0.3), (6871.3, 0.45), (6965.4, 0.8),
)
# Realism the recipes must cope with (see Realism): faint companions 10-14 A from three lines,
# closer than the LSF FWHM (~20 A) - blends, listed in the line list; and lamp lines the static
# line list does not have (the lamp's impurities).
ARC_BLEND_COMPANIONS = ((4370.9, 0.45), (5473.1, 0.4), (6391.0, 0.5))
ARC_UNLISTED = ((4601.8, 0.4), (5311.5, 0.35), (6462.0, 0.45))
ARC_LINES = BASE_ARC_LINES  # kept for callers of the simple model

# Night-sky emission lines (Angstrom, relative strength): [OI], Na D, [OI] 6300/6364, Hg (city
# lights) and OH bands. Na D and the 6863/6867 OH pair are blends at this resolution.
SKY_LINES = ((4358.3, 0.6), (5460.7, 0.5), (5577.3, 3.0), (5890.0, 1.0), (5895.9, 0.8),
             (6300.3, 1.5), (6363.8, 0.6), (6498.7, 0.5), (6553.6, 0.45), (6604.3, 0.5),
             (6834.1, 0.5), (6863.9, 0.8), (6867.2, 0.4), (6923.2, 0.6), (6948.9, 0.55))

TILT = (0.012, 0.006)  # line tilt dx/dy: TILT[0] + TILT[1] (u0 - 0.5)
MOFFAT_BETA = 3.0

STANDARD = {"name": "DEMO-STD-1", "ra": 150.125, "dec": -20.5, "teff": 12000.0, "f5500": 1.0e-13}
TARGETS = (
    # a faint galaxy: its spectrum is sky-dominated (optimal extraction pays)
    {"name": "DEMO-GAL-1", "ra": 161.25, "dec": -12.75, "f5500": 1.5e-16, "slope": -1.0,
     "y0": 0.47, "redshift": 0.02,
     "emission": ((4861.3, 1.25e-15, 4.0), (5006.8, 3.75e-15, 4.0), (6562.8, 5.0e-15, 5.0)),
     "absorption": ((5175.0, 0.35, 8.0), (5892.9, 0.3, 6.0))},
    {"name": "DEMO-QSO-2", "ra": 201.5, "dec": -30.25, "f5500": 2.0e-15, "slope": -1.5,
     "y0": 0.55, "redshift": 0.0,
     "emission": ((4500.0, 1.5e-13, 25.0), (6100.0, 2.0e-13, 30.0)),
     "absorption": ((5400.0, 0.4, 5.0), (6750.0, 0.3, 5.0))},
)


def wavelength_poly(n: int, binning: int) -> Polynomial:
    """lambda(xb) for binned pixel index ``xb`` (0-based) - exact composition of lambda(u)."""
    p_u = Polynomial(DISPERSION_U)
    u_of_x = Polynomial([binning / (2.0 * n), binning / float(n)])
    return p_u(u_of_x)


def pixel_of_wave(wave: np.ndarray, n: int, binning: int) -> np.ndarray:
    """Inverse of :func:`wavelength_poly` (binned pixel coordinate, may be fractional)."""
    nb = n // binning
    grid = np.linspace(-2, nb + 1, 20 * (nb + 3))
    return np.interp(wave, wavelength_poly(n, binning)(grid), grid)


def tilt_of(x0_u: np.ndarray, n: int, on: bool = True) -> np.ndarray:
    """Line tilt dx/dy at unbinned column ``x0_u`` (of the reference row)."""
    if not on:
        return np.zeros_like(np.asarray(x0_u, dtype=float))
    return TILT[0] + TILT[1] * ((np.asarray(x0_u, dtype=float) + 0.5) / n - 0.5)


def x0_of(x_u: np.ndarray, y_u: np.ndarray | float, n: int, flexure: float = 0.0,
          tilt: bool = True) -> np.ndarray:
    """Reference-row column ``x0`` (unbinned) of the light falling on unbinned ``(x, y)``:
    the exact inverse of ``x = x0 + tilt(x0) (y - n/2) + flexure``."""
    dy = np.asarray(y_u, dtype=float) - n / 2.0
    if not tilt:
        return np.asarray(x_u, dtype=float) - flexure
    a = TILT[1] / n  # tilt(x0) = c + a x0
    c = TILT[0] + TILT[1] * (0.5 / n - 0.5)
    return (np.asarray(x_u, dtype=float) - flexure - c * dy) / (1.0 + a * dy)


def true_wavelength(n: int, binning: int, xb: np.ndarray, yb: np.ndarray | float,
                    flexure_b: float = 0.0, tilt: bool = True) -> np.ndarray:
    """Wavelength (A) at binned pixel ``(xb, yb)`` of a frame shifted by ``flexure_b`` binned px."""
    b = binning
    xu = b * np.asarray(xb, dtype=float) + (b - 1) / 2.0
    yu = b * np.asarray(yb, dtype=float) + (b - 1) / 2.0
    return wavelength_poly(n, 1)(x0_of(xu, yu, n, flexure_b * b, tilt))


def throughput(wave: np.ndarray) -> np.ndarray:
    """Electrons/s/A per erg/s/cm2/A: a smooth bell peaking near 5300 A."""
    w = np.asarray(wave, dtype=float)
    return FLUX_TO_E * 0.5 * np.exp(-0.5 * ((w - 5300.0) / 1800.0) ** 2)


def blackbody_shape(wave: np.ndarray, teff: float) -> np.ndarray:
    """Planck B_lambda normalised to 1 at 5500 A."""
    w = np.asarray(wave, dtype=float) * 1e-8
    c2 = 1.438777  # hc/k in cm K

    def b(x):
        return x ** -5 / np.expm1(c2 / (x * teff))

    return b(w) / b(5500e-8)


def standard_flux(wave: np.ndarray) -> np.ndarray:
    """The flux standard's true spectrum (erg/s/cm2/A): a smooth 12000 K Planck curve."""
    return STANDARD["f5500"] * blackbody_shape(wave, STANDARD["teff"])


def target_continuum(target: dict, wave: np.ndarray) -> np.ndarray:
    return target["f5500"] * (np.asarray(wave, dtype=float) / 5500.0) ** target["slope"]


def target_flux(target: dict, wave: np.ndarray) -> np.ndarray:
    """Continuum x absorption lines + emission lines (Gaussians; centres redshifted)."""
    w = np.asarray(wave, dtype=float)
    z = 1.0 + target["redshift"]
    f = target_continuum(target, w)
    for lam, depth, sig in target["absorption"]:
        f = f * (1.0 - depth * np.exp(-0.5 * ((w - lam * z) / sig) ** 2))
    for lam, flux, sig in target["emission"]:
        f = f + flux / (np.sqrt(2 * np.pi) * sig) * np.exp(-0.5 * ((w - lam * z) / sig) ** 2)
    return f


def target_line_windows(target: dict) -> list[tuple[float, float]]:
    """Wavelength windows (A) affected by the target's lines (for continuum comparisons)."""
    z = 1.0 + target["redshift"]
    out = []
    for lam, _a, sig in (*target["absorption"], *target["emission"]):
        half = 4 * sig + 50.0
        out.append((lam * z - half, lam * z + half))
    return out


def lamp_shape(wave: np.ndarray) -> np.ndarray:
    """Relative spectral shape of the flat-field lamp (a 3200 K halogen)."""
    return blackbody_shape(wave, 3200.0)


# ----------------------------------------------------------------------------- rendering


def _gauss_kernel(sigma: float) -> np.ndarray:
    half = int(np.ceil(5 * sigma))
    k = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    return k / k.sum()


def render_continuum(n: int, flux_fn, oversample: int = 8, y_u: float | None = None,
                     flexure: float = 0.0, tilt: bool = True) -> np.ndarray:
    """Electrons/s per unbinned column for a source of true flux ``flux_fn(wave)``
    (erg/s/cm2/A), convolved with the LSF and integrated over each pixel; on row ``y_u`` of a
    frame shifted by ``flexure`` (unbinned px) when ``y_u`` is given (tilted lines)."""
    xf = (np.arange(n * oversample) + 0.5) / oversample - 0.5
    p = wavelength_poly(n, 1)
    if y_u is None:
        x0, jac = xf, 1.0
    else:
        x0 = x0_of(xf, y_u, n, flexure, tilt)
        jac = np.gradient(x0, xf)
    wave = p(x0)
    dens = flux_fn(wave) * throughput(wave) * p.deriv()(x0) * jac / oversample
    conv = np.convolve(dens, _gauss_kernel(LSF_SIGMA * oversample), mode="same")
    return conv.reshape(n, oversample).sum(axis=1)


def render_lines_2d(n: int, lines, scale: float, flexure: float = 0.0, tilt: bool = True) -> np.ndarray:
    """(n, n) electrons/s per unbinned pixel and row from unresolved lines ``(wave, strength)``,
    tilted along the slit and shifted by ``flexure``: exact Gaussian LSF integrals per pixel."""
    x0 = pixel_of_wave(np.array([w for w, _ in lines]), n, 1)
    dy = np.arange(n, dtype=float) - n / 2.0
    out = np.zeros((n, n))
    half = int(np.ceil(6 * LSF_SIGMA)) + 1
    rows = np.arange(n)[:, None]
    for xi, (_w, s) in zip(x0, lines):
        c = xi + tilt_of(xi, n, tilt) * dy + flexure  # centre per row
        lo = np.floor(c).astype(int)[:, None] + np.arange(-half, half + 1)[None, :]
        cdf_hi = 0.5 * (1 + erf((lo + 0.5 - c[:, None]) / (np.sqrt(2) * LSF_SIGMA)))
        cdf_lo = 0.5 * (1 + erf((lo - 0.5 - c[:, None]) / (np.sqrt(2) * LSF_SIGMA)))
        ok = (lo >= 0) & (lo < n)
        np.add.at(out, (np.broadcast_to(rows, lo.shape)[ok], lo[ok]), (scale * s * (cdf_hi - cdf_lo))[ok])
    return out


def render_lines(n: int, lines, scale: float) -> np.ndarray:
    """Electrons/s per unbinned column from unresolved lines ``(wave, strength)``: exact
    Gaussian LSF integrals over each pixel."""
    x = pixel_of_wave(np.array([w for w, _ in lines]), n, 1)
    edges = np.arange(n + 1) - 0.5
    out = np.zeros(n)
    for xi, (_w, s) in zip(x, lines):
        cdf = 0.5 * (1 + erf((edges - xi) / (np.sqrt(2) * LSF_SIGMA)))
        out += scale * s * np.diff(cdf)
    return out


def slit_edges(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Unbinned lower/upper slit edge per column."""
    u = (np.arange(n) + 0.5) / n
    return n * (SLIT_LO + SLIT_TILT * u), n * (SLIT_HI + SLIT_TILT * u)


def slit_illumination(n: int) -> np.ndarray:
    """(n, n) fraction of light reaching each unbinned pixel through the slit: soft edges
    times a smooth illumination profile along the slit (slit-width variations)."""
    lo, hi = slit_edges(n)
    y = np.arange(n)[:, None].astype(float)
    soft = 0.25 * (1 + erf((y - lo[None, :]) / 1.0)) * (1 + erf((hi[None, :] - y) / 1.0))
    t = (y / n - 0.5) / 0.38
    prof = 1.0 + 0.05 * t + 0.025 * np.sin(3 * np.pi * t)
    return soft * prof


def trace_unbinned(n: int, y0: float) -> np.ndarray:
    u = (np.arange(n) + 0.5) / n
    return n * (y0 + TRACE_LIN * (u - 0.5) + TRACE_QUAD * (u - 0.5) ** 2)


def trace_poly(n: int, binning: int, y0: float) -> Polynomial:
    """Object trace y(xb) in binned pixel coordinates."""
    yu = Polynomial([n * (y0 - 0.5 * TRACE_LIN + 0.25 * TRACE_QUAD), n * (TRACE_LIN - TRACE_QUAD),
                     n * TRACE_QUAD])  # y_unbinned(u)
    u_of_x = Polynomial([binning / (2.0 * n), binning / float(n)])
    y_unb = yu(u_of_x)
    return (y_unb - (binning - 1) / 2.0) / binning


def object_profile(n: int, y0: float, fwhm: float | None = None, beta: float | None = MOFFAT_BETA) -> np.ndarray:
    """(n, n) fraction of an object's light per unbinned pixel along y: a Moffat profile of
    ``fwhm`` unbinned px (``beta``), or the Gaussian of ``SEEING_SIGMA`` when ``fwhm`` is None."""
    yc = trace_unbinned(n, y0)
    edges = np.arange(n + 1)[:, None] - 0.5
    if fwhm is None or beta is None:
        sig = SEEING_SIGMA if fwhm is None else fwhm / 2.3548
        cdf = 0.5 * (1 + erf((edges - yc[None, :]) / (np.sqrt(2) * sig)))
        return np.diff(cdf, axis=0)
    alpha = fwhm / (2.0 * np.sqrt(2.0 ** (1.0 / beta) - 1.0))
    # 1-D Moffat integrated over each pixel (8 sub-samples), normalised to 1 per column
    sub = (np.arange(n * 8)[:, None] + 0.5) / 8 - 0.5
    prof = (1 + ((sub - yc[None, :]) / alpha) ** 2) ** -beta
    prof = prof.reshape(n, 8, n).sum(axis=1)
    return prof / prof.sum(axis=0, keepdims=True)


def bin_image(img: np.ndarray, b: int) -> np.ndarray:
    """Sum ``b x b`` blocks (on-chip binning adds charge)."""
    if b == 1:
        return img
    ny, nx = img.shape
    return img[: ny - ny % b, : nx - nx % b].reshape(ny // b, b, nx // b, b).sum(axis=(1, 3))
