"""The astropy fallback: compressed-image table keywords, CONTINUE cards, anything odd.

The header objects are used for one file and dropped (20,000 of them would take gigabytes).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

from reflexng.fits.cards import cascade_name, fits_card_name


class AstropyFailed(Exception):
    """astropy could not read the file either; the message says why."""


def astropy_result(path: str, size: int, spec: Any, digest: str) -> tuple[str, str, dict, str]:
    """("ok", "", values, digest) read with astropy; raises AstropyFailed."""
    try:
        values = astropy_values(path, spec)
    except Exception as exc:
        raise AstropyFailed(f"astropy cannot read it: {exc}") from None
    return "ok", "", values, digest or f"astropy-{size:x}"


def _header_values(header: Any, spec: Any, want: Iterable[str]) -> dict:
    from astropy.io.fits.card import Undefined
    from astropy.io.fits.verify import VerifyError

    out: dict[str, Any] = {}
    if spec.all:
        for card in header.cards:
            kw = card.keyword
            if kw in ("COMMENT", "HISTORY", "", "END"):
                continue
            if card.field_specifier:  # a record-valued card: astropy names it DP1.AXIS.1
                name = kw
            elif " " in kw or len(kw) > 8:
                name = cascade_name("HIERARCH " + kw)
            else:
                name = kw
            if name in out:
                continue
            try:
                value = card.value
            except VerifyError:
                continue
            out[name] = None if isinstance(value, Undefined) else value
        return out
    for name in want:
        card_name = fits_card_name(name)
        try:
            if card_name not in header:
                continue
            value = header[card_name]
        except (VerifyError, KeyError, ValueError):
            continue
        out[name] = None if isinstance(value, Undefined) else value
    return out


def astropy_values(path: str, spec: Any) -> dict:
    """The same values read with astropy (slow path; the header objects are dropped)."""
    from astropy.io import fits

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path, memmap=False, lazy_load_hdus=True) as hdul:
            h0 = hdul[0].header
            values = _header_values(h0, spec, spec.names)
            missing = [n for n in spec.names if n not in values]
            if (spec.all or missing) and h0.get("NAXIS", 0) == 0:
                try:
                    h1 = hdul[1].header
                except IndexError:
                    return values
                for k, v in _header_values(h1, spec, missing).items():
                    values.setdefault(k, v)
            return values
