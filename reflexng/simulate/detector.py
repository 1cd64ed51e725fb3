"""A simple CCD model shared by the demo simulators (imaging and spectroscopy).

Electrons in, ADU out: ``adu = bias + (signal_e + dark_e) / gain + read noise``, with a bias
structure, Poisson noise, a pixel-to-pixel flat pattern, cosmic rays and saturation.

The effects are small functions that both simulators use through :func:`expose`:

- :func:`cosmic_ray_image` — multi-pixel hits ("spots", charge diffused over 2-6 pixels) and
  oblique tracks (a few to ~30 pixels long), with deposited charge drawn from a long-tailed
  (log-normal) distribution; the rate is events per Mpix per second of exposure
  (:func:`cosmics_per_mpix_s` converts from events per cm² per second);
- :func:`bleed_columns` — charge above the full well spills along the column (CCD blooming);
- :func:`apply_nonlinearity` — the response falls short of linear near full well
  (``e_read = e - a * e**2 / full_well``, ``a`` = fractional loss at full well).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PIXEL_SIZE_UM = 15.0  # demo detector pixel pitch (micron), for rates per cm^2


# The demo data's format: written into each truth file; bump it when the simulators change what
# they write, so `reflexng demo` knows a folder written by an older reflexng must be written again.
DATA_FORMAT = 2


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
    full_well_e: float = 90000.0  # e- per (binned) pixel; used by bleed/nonlinearity only

    @property
    def read_noise_adu(self) -> float:
        return self.read_noise_e / self.gain

    @property
    def shape(self) -> tuple[int, int]:
        return (self.ny // self.biny, self.nx // self.binx)


def cosmics_per_mpix_s(per_cm2_s: float, pixel_um: float = PIXEL_SIZE_UM) -> float:
    """Convert a cosmic-ray rate in events/cm²/s into events/Mpix/s for ``pixel_um`` pixels."""
    return per_cm2_s * 1e6 * (pixel_um * 1e-4) ** 2


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


def cosmic_ray_image(shape: tuple[int, int], n: int, rng: np.random.Generator, *,
                     track_fraction: float = 0.35, median_e: float = 1500.0) -> tuple[np.ndarray, dict]:
    """Electrons deposited by ``n`` cosmic rays, and a summary (n, n_tracks, pixels hit).

    A spot deposits log-normal charge (median ``median_e``) spread by charge diffusion
    (Gaussian, sigma 0.3-0.7 px) over a few pixels; a track (``track_fraction`` of events,
    an oblique muon) is a straight segment 3-30 px long whose charge per pixel is a log-normal
    of median ``median_e / 2``, with 10 % of it shared into the neighbouring pixels. All events
    are sampled at once (no per-pixel Python).
    """
    ny, nx = shape
    img = np.zeros(shape, dtype=np.float64)
    if n <= 0:
        return img, {"n": 0, "n_tracks": 0, "pixels": 0}
    is_track = rng.random(n) < track_fraction
    length = np.where(is_track, np.clip(rng.lognormal(np.log(8.0), 0.6, n), 3, 30), 0.0)
    ang = rng.uniform(0, np.pi, n)
    x0 = rng.uniform(0, nx, n)
    y0 = rng.uniform(0, ny, n)
    # sample points: spots 12 sub-deposits, tracks one every 0.5 px
    npts = np.where(is_track, np.ceil(length * 2).astype(int) + 1, 12)
    ev = np.repeat(np.arange(n), npts)
    start = np.cumsum(npts) - npts
    k = np.arange(ev.size) - start[ev]
    frac = np.where(is_track[ev], k / np.maximum(npts[ev] - 1, 1) - 0.5, 0.0)
    px = x0[ev] + frac * length[ev] * np.cos(ang[ev])
    py = y0[ev] + frac * length[ev] * np.sin(ang[ev])
    spot_sig = rng.uniform(0.3, 0.7, n)[ev]
    spot = ~is_track[ev]
    px = px + np.where(spot, rng.normal(0, 1, ev.size) * spot_sig, rng.normal(0, 0.15, ev.size))
    py = py + np.where(spot, rng.normal(0, 1, ev.size) * spot_sig, rng.normal(0, 0.15, ev.size))
    total = np.where(is_track, rng.lognormal(np.log(median_e / 2), 0.5, n) * np.maximum(length, 1),
                     rng.lognormal(np.log(median_e), 0.7, n))
    q = total[ev] / npts[ev]
    ix = np.floor(px).astype(int)
    iy = np.floor(py).astype(int)
    ok = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
    share = np.where(is_track[ev], 0.10, 0.0)
    np.add.at(img, (iy[ok], ix[ok]), (q * (1 - share))[ok])
    for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        jx, jy = ix + dx, iy + dy
        m = ok & (jx >= 0) & (jx < nx) & (jy >= 0) & (jy < ny) & (share > 0)
        np.add.at(img, (jy[m], jx[m]), (q * share / 4)[m])
    # each event's centre (x, y, 0-based pixels) and total charge (e-): what a test needs to find it
    events = np.round(np.column_stack([x0, y0, total]), 1).tolist()
    return img, {"n": int(n), "n_tracks": int(is_track.sum()), "pixels": int((img > 50).sum()), "events": events}


def bleed_columns(electrons: np.ndarray, full_well: float) -> int:
    """Spill charge above ``full_well`` along columns (in place), symmetric up and down.

    Each run of over-full pixels in a column keeps its total charge: the pixels around the
    run's centre fill to the full well until the charge is spent. Returns the number of
    columns that bled. Loops over the affected columns only (a few per bright star).
    """
    over = electrons > full_well
    if not over.any():
        return 0
    ny = electrons.shape[0]
    cols = np.nonzero(over.any(axis=0))[0]
    for c in cols:
        col = electrons[:, c]
        rows = np.nonzero(col > full_well)[0]
        # split into contiguous runs (with a gap tolerance of 1 row)
        breaks = np.nonzero(np.diff(rows) > 2)[0]
        for run in np.split(rows, breaks + 1):
            lo, hi = int(run[0]), int(run[-1]) + 1
            excess = float(np.sum(col[lo:hi] - full_well))
            col[lo:hi] = full_well
            up, down = hi, lo - 1
            while excess > 1e-9 and (up < ny or down >= 0):
                rows_now = [r for r in (up, down) if 0 <= r < ny]
                share = excess / len(rows_now)  # half up, half down (all of it at an edge)
                for r in rows_now:
                    take = min(max(full_well - col[r], 0.0), share)
                    col[r] += take
                    excess -= take
                up += 1
                down -= 1
        electrons[:, c] = col
    return int(len(cols))


def apply_nonlinearity(electrons: np.ndarray, coeff: float, full_well: float) -> np.ndarray:
    """Read-out response ``e - coeff * e**2 / full_well`` (``coeff`` = fractional loss at full well)."""
    if coeff <= 0:
        return electrons
    e = np.clip(electrons, 0, None)
    return electrons - coeff * e * e / full_well


def expose(
    det: Detector,
    signal_e: np.ndarray | float,
    exptime: float,
    rng: np.random.Generator,
    *,
    flat: np.ndarray | None = None,
    bias: np.ndarray | None = None,
    cosmics_per_mpix_s: float = 0.0,
    cosmic_track_fraction: float = 0.35,
    bleed: bool = False,
    nonlinearity: float = 0.0,
    truth: dict | None = None,
) -> np.ndarray:
    """Simulate one read-out in ADU (float32). ``signal_e`` is the expected electrons per pixel
    before the flat pattern; dark current adds ``dark_rate_e * exptime``.

    ``cosmics_per_mpix_s``: cosmic-ray events per Mpix per second (multi-pixel spots and tracks,
    :func:`cosmic_ray_image`); ``bleed``: charge above ``det.full_well_e`` spills along columns;
    ``nonlinearity``: fractional response loss at full well. ``truth`` (a dict), when given,
    receives what was injected: ``cosmics`` (n, n_tracks, pixels), ``bled_columns``.
    """
    ny, nx = det.shape
    sig = np.broadcast_to(np.asarray(signal_e, dtype=np.float64), (ny, nx))
    if flat is not None:
        sig = sig * flat
    expected = sig + det.dark_rate_e * exptime
    electrons = rng.poisson(np.clip(expected, 0, None)).astype(np.float64)
    info: dict = {}
    if cosmics_per_mpix_s > 0 and exptime > 0:
        n = int(rng.poisson(cosmics_per_mpix_s * exptime * nx * ny / 1e6))
        cr, info["cosmics"] = cosmic_ray_image((ny, nx), n, rng, track_fraction=cosmic_track_fraction)
        electrons += cr
    if bleed:
        info["bled_columns"] = bleed_columns(electrons, det.full_well_e)
    if nonlinearity > 0:
        electrons = apply_nonlinearity(np.minimum(electrons, det.full_well_e) if bleed else electrons,
                                       nonlinearity, det.full_well_e)
    if truth is not None:
        truth.update(info)
    base = bias if bias is not None else bias_structure(det)
    adu = base + electrons / det.gain + rng.normal(0.0, det.read_noise_adu, (ny, nx))
    return np.clip(adu, 0, det.saturation_adu).astype(np.float32)
