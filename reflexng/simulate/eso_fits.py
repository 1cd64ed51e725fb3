"""What the synthetic ESO raw frames share: ESO's timestamps, keyword names and file writing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def iso(mjd: float) -> str:
    """ESO's DATE-OBS form of ``mjd``: ISO time to the millisecond."""
    from astropy.time import Time

    return Time(mjd, format="mjd", scale="utc").isot[:23]


def card(key: str) -> str:
    """A cascade keyword name as a FITS card: ``DPR.TYPE`` -> ``HIERARCH ESO DPR TYPE``."""
    return "HIERARCH ESO " + key.replace(".", " ") if "." in key else key


def write_gzip(path: Path, hdus: list) -> None:
    """Write an HDU list gzip-compressed (level 1: fast, ~3x smaller for noise-limited frames)."""
    import gzip
    import io

    from astropy.io import fits

    buf = io.BytesIO()
    fits.HDUList(hdus).writeto(buf)
    path.write_bytes(gzip.compress(buf.getvalue(), compresslevel=1))


def write_int16_gzip(path: Path, data: np.ndarray, cards: dict[str, Any]) -> None:
    """One 16-bit raw frame (values clipped to 0..32000) with ``cards``, gzip-compressed."""
    from astropy.io import fits

    hdu = fits.PrimaryHDU(np.clip(np.rint(data), 0, 32000).astype(np.int16))
    for key, value in cards.items():
        hdu.header[card(key)] = value
    write_gzip(path, [hdu])
