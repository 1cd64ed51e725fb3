"""Fast sigma-clipped combination of a stack of frames (median or mean), in row chunks.

Stable public API (other recipes import it; the signature only grows, never changes)::

    sigma_clip_combine(stack_or_paths, method="median", sigma=3.0, iters=1, axis=0,
                       memory_limit=128_000_000, *, sigma_low=None, sigma_high=None,
                       cenfunc="median", stdfunc="std", hdu=0, return_stats=False)

- ``stack_or_paths``: an array (frames along ``axis``), a sequence of 2-D arrays, or a sequence
  of FITS paths (read chunk by chunk through ``ImageHDU.section``, so the whole stack is never
  held in memory).
- Rejection per pixel: values with ``value < centre - sigma_low*dev`` or
  ``value > centre + sigma_high*dev`` are rejected, where centre is the median (or mean) and dev
  the standard deviation (or MAD-based sigma) of the values kept so far; repeated ``iters`` times
  (or until nothing changes). ``iters=1`` with ``cenfunc="median", stdfunc="std"`` is exactly what
  ``ccdproc.combine(sigma_clip=True, sigma_clip_func=np.ma.median, sigma_clip_dev_func=np.ma.std)``
  does. Non-finite values are always rejected.
- Returns the combined float32 image, or with ``return_stats=True`` a :class:`CombineStats`
  (``data``, ``n_used`` per pixel, ``std`` of the kept values per pixel).

How it is fast: each chunk is sorted once along the frame axis; a symmetric clip interval then
keeps a contiguous run ``[lo, hi)`` of the sorted values, so the clipped median is two indexed
reads and no masked arrays are needed. Working memory is bounded by ``memory_limit`` bytes and,
for an in-memory stack, by half the stack's size (so the peak stays under twice the input).
Measured by ``benchmarks/combine.py``: 20 x 2k x 2k float32 in ~1.3 s vs ~31 s for ccdproc.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["CombineStats", "sigma_clip_combine"]

_WORK_ARRAYS = 12  # float32-sized working arrays per input value (sorted copy, float64 cumulative sums, masks)


@dataclass
class CombineStats:
    data: np.ndarray  # combined image (float32)
    n_used: np.ndarray  # number of frames kept per pixel (int16)
    std: np.ndarray  # standard deviation of the kept values per pixel (float32, ddof=0)


class _FitsStack:
    """Read row ranges of a list of FITS images without loading them whole."""

    def __init__(self, paths: Sequence[str | Path], hdu: int | str) -> None:
        from astropy.io import fits

        self.paths = [str(p) for p in paths]
        self._hdul = []
        shape = None
        for p in self.paths:
            try:
                hl = fits.open(p, memmap=False, lazy_load_hdus=True)
            except OSError as exc:
                raise ValueError(f"cannot read FITS file {p}: {exc}") from None
            self._hdul.append(hl)
            try:
                h = hl[hdu]
            except (IndexError, KeyError):
                raise ValueError(f"{p} has no HDU {hdu!r}") from None
            if h.header.get("NAXIS", 0) != 2:
                raise ValueError(f"{p} HDU {hdu!r} is not a 2-D image")
            s = (h.header["NAXIS2"], h.header["NAXIS1"])
            if shape is None:
                shape = s
            elif s != shape:
                raise ValueError(f"{p} has shape {s}, the first frame has {shape}: frames must match")
        self.shape = (len(self.paths), *shape)
        self.hdu = hdu

    def rows(self, r0: int, r1: int) -> np.ndarray:
        out = np.empty((self.shape[0], r1 - r0, self.shape[2]), dtype=np.float32)
        for i, hl in enumerate(self._hdul):
            out[i] = hl[self.hdu].section[r0:r1, :]
        return out

    def close(self) -> None:
        for hl in self._hdul:
            hl.close()


def _as_source(stack_or_paths, axis: int, hdu):
    if isinstance(stack_or_paths, np.ndarray):
        arr = stack_or_paths
        if arr.ndim != 3:
            raise ValueError(f"expected a 3-D stack, got an array of shape {arr.shape}")
        return np.moveaxis(arr, axis, 0), None
    items = list(stack_or_paths)
    if not items:
        raise ValueError("nothing to combine: the list of frames is empty")
    if all(isinstance(x, (str, Path)) for x in items):
        fs = _FitsStack(items, hdu)
        return fs, fs
    arrs = [np.asarray(x) for x in items]
    shapes = {a.shape for a in arrs}
    if len(shapes) != 1 or arrs[0].ndim != 2:
        raise ValueError(f"frames must be 2-D arrays of one shape, got shapes {sorted(shapes)}")
    return _ListStack(arrs), None


class _ListStack:
    def __init__(self, arrs: list[np.ndarray]) -> None:
        self.arrs = arrs
        self.shape = (len(arrs), *arrs[0].shape)

    def rows(self, r0: int, r1: int) -> np.ndarray:
        return np.stack([a[r0:r1] for a in self.arrs]).astype(np.float32, copy=False)


def _range_median(s: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    k = hi - lo
    i1 = lo + np.maximum(k - 1, 0) // 2
    i2 = lo + np.maximum(k, 1) // 2
    i2 = np.minimum(i2, s.shape[0] - 1)
    a = np.take_along_axis(s, i1[None], 0)[0]
    b = np.take_along_axis(s, i2[None], 0)[0]
    out = 0.5 * (a + b)
    out[k == 0] = np.nan
    return out


class _Moments:
    """Mean and std of any contiguous run ``[lo, hi)`` of the sorted values, from cumulative
    sums (float64, shifted by a per-pixel reference value to avoid cancellation)."""

    def __init__(self, s: np.ndarray, nvalid: np.ndarray) -> None:
        mid = np.clip(nvalid.astype(np.intp) // 2, 0, s.shape[0] - 1)
        self.shift = np.take_along_axis(s, mid[None], 0)[0].astype(np.float64)
        self.shift[~np.isfinite(self.shift)] = 0.0
        self.c1 = np.zeros((s.shape[0] + 1, *s.shape[1:]), dtype=np.float64)
        self.c2 = np.zeros_like(self.c1)
        d = np.empty(s.shape[1:], dtype=np.float64)
        for i in range(s.shape[0]):  # plane by plane: much faster than cumsum along axis 0
            np.subtract(s[i], self.shift, out=d)
            d[~np.isfinite(d)] = 0.0
            np.add(self.c1[i], d, out=self.c1[i + 1])
            np.multiply(d, d, out=d)
            np.add(self.c2[i], d, out=self.c2[i + 1])

    def __call__(self, lo: np.ndarray, hi: np.ndarray):
        lo_i, hi_i = lo.astype(np.intp)[None], hi.astype(np.intp)[None]
        s1 = (np.take_along_axis(self.c1, hi_i, 0) - np.take_along_axis(self.c1, lo_i, 0))[0]
        s2 = (np.take_along_axis(self.c2, hi_i, 0) - np.take_along_axis(self.c2, lo_i, 0))[0]
        n = (hi - lo).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            m = s1 / n
            var = np.maximum(s2 / n - m * m, 0.0)
        return self.shift + m, np.sqrt(var), (hi - lo)


def _clip_chunk(chunk, method, sig_lo, sig_hi, iters, cenfunc, stdfunc):
    n = chunk.shape[0]
    s = np.sort(chunk, axis=0)  # NaN sort to the end
    idx = np.arange(n, dtype=np.int16).reshape(n, 1, 1)
    nvalid = np.isfinite(chunk).sum(0).astype(np.int16)
    moments = _Moments(s, nvalid)
    lo = np.zeros(chunk.shape[1:], dtype=np.int16)
    hi = nvalid.copy()
    for _ in range(max(iters, 0)):
        mean, std, _k = moments(lo, hi)
        centre = _range_median(s, lo, hi) if cenfunc == "median" else mean
        if stdfunc == "std":
            dev = std
        else:  # mad_std: 1.4826 * median(|x - median|) of the kept values
            med = _range_median(s, lo, hi)
            keep = (idx >= lo[None]) & (idx < hi[None])
            ad = np.where(keep, np.abs(s - med[None]), np.inf)
            ad.sort(axis=0)
            dev = 1.482602218505602 * _range_median(ad, np.zeros_like(lo), hi - lo)
        lower = (centre - sig_lo * dev).astype(np.float32)
        upper = (centre + sig_hi * dev).astype(np.float32)
        new_lo = np.maximum((s < lower[None]).sum(0, dtype=np.int16), lo)
        new_hi = np.minimum((s <= upper[None]).sum(0, dtype=np.int16), hi)
        new_hi = np.maximum(new_hi, new_lo)
        changed = bool(np.any(new_lo != lo) or np.any(new_hi != hi))
        lo, hi = new_lo, new_hi
        if not changed:
            break
    mean, std, nused = moments(lo, hi)
    data = _range_median(s, lo, hi) if method == "median" else mean
    return data.astype(np.float32), nused.astype(np.int16), std.astype(np.float32)


def sigma_clip_combine(
    stack_or_paths,
    method: str = "median",
    sigma: float = 3.0,
    iters: int = 1,
    axis: int = 0,
    memory_limit: int = 128_000_000,
    *,
    sigma_low: float | None = None,
    sigma_high: float | None = None,
    cenfunc: str = "median",
    stdfunc: str = "std",
    hdu: int | str = 0,
    return_stats: bool = False,
) -> np.ndarray | CombineStats:
    """Sigma-clipped median/mean of a stack of frames; see the module docstring."""
    if method not in ("median", "mean", "average"):
        raise ValueError(f"method must be 'median' or 'mean', got {method!r}")
    if cenfunc not in ("median", "mean"):
        raise ValueError(f"cenfunc must be 'median' or 'mean', got {cenfunc!r}")
    if stdfunc not in ("std", "mad_std"):
        raise ValueError(f"stdfunc must be 'std' or 'mad_std', got {stdfunc!r}")
    sig_lo = float(sigma if sigma_low is None else sigma_low)
    sig_hi = float(sigma if sigma_high is None else sigma_high)
    src, closer = _as_source(stack_or_paths, axis, hdu)
    try:
        n, ny, nx = src.shape
        if n > 32000:
            raise ValueError(f"too many frames to combine ({n})")
        per_row = max(1, n * nx * 4 * _WORK_ARRAYS)
        budget = int(memory_limit)
        if closer is None:  # the stack is in memory: keep the working set under half of it
            budget = min(budget, max(n * ny * nx * 2, 8_000_000))
        rows = int(max(1, min(ny, budget // per_row)))
        data = np.empty((ny, nx), dtype=np.float32)
        nused = np.empty((ny, nx), dtype=np.int16)
        std = np.empty((ny, nx), dtype=np.float32)
        for r0 in range(0, ny, rows):
            r1 = min(ny, r0 + rows)
            if isinstance(src, np.ndarray):
                chunk = np.asarray(src[:, r0:r1], dtype=np.float32)
            else:
                chunk = src.rows(r0, r1)
            d, u, s = _clip_chunk(chunk, method, sig_lo, sig_hi, iters, cenfunc, stdfunc)
            data[r0:r1], nused[r0:r1], std[r0:r1] = d, u, s
    finally:
        if closer is not None:
            closer.close()
    if return_stats:
        return CombineStats(data, nused, std)
    return data
