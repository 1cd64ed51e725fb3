"""A simple CCD model shared by the demo simulators (imaging and spectroscopy).

Electrons in, ADU out: ``adu = bias + (signal_e + dark_e) / gain + read noise``, with a bias
structure, Poisson noise, a pixel-to-pixel flat pattern, cosmic rays and saturation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Detector:
    nx: int = 1024
    ny: int = 1024
    gain: float = 1.5  # e-/ADU
    read_noise_e: float = 4.5  # e- rms
    bias_level: float = 1000.0  # ADU
    dark_rate_e: float = 0.02  # e-/s/pixel
    saturation_adu: float = 60000.0
    binx: int = 1
    biny: int = 1

    @property
    def read_noise_adu(self) -> float:
        return self.read_noise_e / self.gain

    @property
    def shape(self) -> tuple[int, int]:
        return (self.ny // self.biny, self.nx // self.binx)


def bias_structure(det: Detector, seed: int = 7) -> np.ndarray:
    """Fixed (frame-independent) bias pattern in ADU: a column gradient plus a weak row ripple."""
    ny, nx = det.shape
    rng = np.random.default_rng(seed)
    x = np.linspace(-1, 1, nx)
    y = np.linspace(0, 4 * np.pi, ny)
    cols = 3.0 * x + rng.normal(0, 0.5, nx)
    rows = 0.8 * np.sin(y)
    return (det.bias_level + cols[None, :] + rows[:, None]).astype(np.float32)


def pixel_flat(det: Detector, rms: float = 0.01, seed: int = 11) -> np.ndarray:
    """The true pixel-to-pixel sensitivity pattern (mean 1, ``rms`` scatter)."""
    ny, nx = det.shape
    rng = np.random.default_rng(seed)
    return (1.0 + rng.normal(0.0, rms, (ny, nx))).astype(np.float32)


def expose(
    det: Detector,
    signal_e: np.ndarray | float,
    exptime: float,
    rng: np.random.Generator,
    *,
    flat: np.ndarray | None = None,
    bias: np.ndarray | None = None,
    cosmics_per_mpix_s: float = 0.0,
) -> np.ndarray:
    """Simulate one read-out in ADU (float32). ``signal_e`` is the expected electrons per pixel
    before the flat pattern; dark current adds ``dark_rate_e * exptime``."""
    ny, nx = det.shape
    sig = np.broadcast_to(np.asarray(signal_e, dtype=np.float64), (ny, nx))
    if flat is not None:
        sig = sig * flat
    expected = sig + det.dark_rate_e * exptime
    electrons = rng.poisson(np.clip(expected, 0, None)).astype(np.float64)
    if cosmics_per_mpix_s > 0 and exptime > 0:
        n = rng.poisson(cosmics_per_mpix_s * exptime * nx * ny / 1e6)
        ys = rng.integers(0, ny, n)
        xs = rng.integers(0, nx, n)
        electrons[ys, xs] += rng.uniform(2000, 20000, n)
    base = bias if bias is not None else bias_structure(det)
    adu = base + electrons / det.gain + rng.normal(0.0, det.read_noise_adu, (ny, nx))
    return np.clip(adu, 0, det.saturation_adu).astype(np.float32)
