"""Detector and sky corrections of the demo science reduction (``demo_img_science``):
non-linearity, saturation masks, the illumination correction from the science sky, fringe maps,
and the residual measures the QC cards report (cosmic rays left, fringe amplitude left)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from reflexng.recipes.builtin.imaging_phot import find_cosmics


def linearise(e: np.ndarray, coeff: float, full_well: float) -> np.ndarray:
    """Invert ``e_read = e - coeff * e**2 / full_well`` (electrons); ``coeff <= 0``: unchanged."""
    if coeff <= 0:
        return e
    k = coeff / full_well
    x = np.clip(e, 0, None)
    disc = np.clip(1.0 - 4.0 * k * x, 0.0, None)
    lin = (1.0 - np.sqrt(disc)) / (2.0 * k)
    return np.where(e > 0, lin, e)


def saturation_mask(raw: np.ndarray, level: float, grow: int = 2) -> tuple[np.ndarray, int]:
    """Pixels at or above ``level`` ADU, grown by ``grow`` px (and 2 px more along columns,
    where bled charge tapers off); returns (mask, number of saturated stars/regions)."""
    sat = raw >= level
    if not sat.any():
        return sat, 0
    _, n = ndimage.label(sat)
    grown = ndimage.binary_dilation(sat, iterations=grow) if grow > 0 else sat
    grown |= ndimage.binary_dilation(sat, structure=np.ones((2 * grow + 5, 1), bool))
    return grown, int(n)


def illumination_map(skies: list[np.ndarray]) -> np.ndarray:
    """The science frames' own illumination: the median over frames of each smooth sky map
    normalised to its median (the sky is flat on the sky, so what remains after flat-fielding
    is the twilight flat's error)."""
    norm = np.stack([s / np.median(s) for s in skies])
    ill = np.median(norm, axis=0)
    return (ill / np.median(ill)).astype(np.float32)


def _source_mask(img: np.ndarray, noise: np.ndarray, bad: np.ndarray) -> np.ndarray:
    """Compact sources (stars, galaxies' cores) and bad pixels: a difference of Gaussians
    (sigma 1 minus sigma 3 px) above 3 times its noise, grown by 3 px. Fringes (25-45 px
    waves) mostly cancel in the difference, so their crests are not taken for sources."""
    work = np.where(bad, 0.0, img).astype(np.float32)
    dog = ndimage.gaussian_filter(work, 1.0) - ndimage.gaussian_filter(work, 3.0)
    # noise of the DoG: white noise through (G1 - G3); variance factor 1/(4 pi) (1 + 1/9 - 2/5)
    k = np.sqrt((1.0 + 1.0 / 9.0 - 2.0 / 5.0) / (4.0 * np.pi))
    det = dog > 3.0 * k * noise
    lab, n = ndimage.label(det)
    if n:  # noise spikes are single pixels; sources cover several
        sizes = np.bincount(lab.ravel())
        det = (sizes >= 4)[lab] & det
    return ndimage.binary_dilation(det, iterations=3) | bad


def fringe_map(frames: list[np.ndarray], noises: list[np.ndarray], bads: list[np.ndarray],
               skies: list[float], smooth: float = 1.0) -> np.ndarray | None:
    """Fringe pattern per unit sky from the jittered science frames themselves: each
    sky-subtracted frame, sources and bad pixels masked, divided by its sky level; the median
    over frames (stars move between frames, the fringes do not), lightly smoothed. ``None``
    with fewer than 3 frames."""
    if len(frames) < 3:
        return None
    stack = []
    for img, noise, bad, sky in zip(frames, noises, bads, skies):
        m = _source_mask(img, noise, bad)
        stack.append(np.where(m, np.nan, img / max(sky, 1e-9)))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(np.stack(stack), axis=0)
    # stars move with the jitter, the fringes stay: the median rejects the stars; where every
    # frame was masked, fill from the surrounding fringes (normalised convolution at two scales)
    ok = np.isfinite(med)
    med0 = np.where(ok, med, 0.0)
    out = np.zeros(med.shape)
    filled = np.zeros(med.shape, bool)
    for sig in (smooth, 4.0):
        w = ndimage.gaussian_filter(ok.astype(np.float64), sig)
        v = ndimage.gaussian_filter(med0, sig) / np.maximum(w, 1e-9)
        use = (w > 0.3) & ~filled
        out[use] = v[use]
        filled |= use
    return out.astype(np.float32)


def fit_fringe(img: np.ndarray, noise: np.ndarray, bad: np.ndarray, fmap: np.ndarray) -> float:
    """Least-squares scale of ``fmap`` in ``img`` over source-free pixels."""
    m = ~_source_mask(img, noise, bad)
    den = float(np.sum(fmap[m] ** 2))
    return float(np.sum(img[m] * fmap[m]) / den) if den > 0 else 0.0


def fringe_residual(img: np.ndarray, noise: np.ndarray, bad: np.ndarray, sky: float) -> float:
    """Amplitude (rms, fraction of the sky) of the large-scale (> 4 px) pattern left in a
    sky-subtracted frame, sources masked, with the noise's share removed."""
    m = ~_source_mask(img, noise, bad)
    if m.sum() < 100 or sky <= 0:
        return float("nan")
    w = ndimage.gaussian_filter(m.astype(np.float64), 2.0)
    sm = ndimage.gaussian_filter(np.where(m, img, 0.0), 2.0) / np.maximum(w, 1e-9)
    core = ndimage.binary_erosion(m, iterations=4)
    if core.sum() < 100:
        core = m
    var = float(np.var(sm[core]))
    # white noise through a Gaussian of sigma 2 px keeps 1 / (4 pi sigma^2) of its variance
    noise_var = float(np.median(noise[m]) ** 2) / (4 * np.pi * 4.0)
    return float(np.sqrt(max(var - noise_var, 0.0)) / sky)


def residual_cosmics(img: np.ndarray, var: np.ndarray, bad: np.ndarray, protect: np.ndarray | None) -> int:
    """Sharp hits still in a cleaned frame: connected groups 8 noise units above their 3x3
    median and 3 times sharper than the local structure (a fixed, stricter version of the
    cleaning criterion, so the count does not depend on the cleaning parameters)."""
    m = find_cosmics(img, var, bad, sigma=8.0, contrast=3.0, iters=1, protect=protect)
    if not m.any():
        return 0
    return int(ndimage.label(m, structure=np.ones((3, 3), bool))[1])
