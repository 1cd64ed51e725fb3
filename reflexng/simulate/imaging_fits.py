"""Fast FITS writing for the demo simulators: headers are formatted card by card in pure
Python (no astropy objects), so tens of thousands of header-only files take seconds.

Cards follow the FITS standard: fixed format for standard keywords (value right-justified to
column 30, strings quoted from column 11), ``HIERARCH ESO ...`` for dotted ESO keywords.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

BLOCK = 2880


def _value(v: Any) -> tuple[str, bool]:
    """FITS value text and whether it is a string (left-justified)."""
    if isinstance(v, bool):
        return ("T" if v else "F"), False
    if isinstance(v, (int, np.integer)):
        return str(int(v)), False
    if isinstance(v, (float, np.floating)):
        f = float(v)
        text = repr(f).upper()
        if "." not in text and "E" not in text:
            text += ".0"
        if len(text) > 20:
            text = f"{f:.13E}"
        if "E" in text and "." not in text.split("E")[0]:
            mant, exp = text.split("E")
            text = f"{mant}.0E{exp}"
        return text, False
    s = str(v).replace("'", "''")
    return f"'{s:<8}'", True


def card(key: str, value: Any = None, comment: str = "") -> str:
    """One 80-character card. ``key`` may be dotted (``DPR.TYPE`` -> ``HIERARCH ESO DPR TYPE``)."""
    if key in ("COMMENT", "HISTORY"):
        return f"{key:<8}{str(value)[:72]}".ljust(80)
    text, is_str = _value(value)
    if "." in key or len(key) > 8 or " " in key:
        name = key if key.startswith("HIERARCH ") else "HIERARCH ESO " + key.replace(".", " ")
        c = f"{name} = {text}"
    elif is_str:
        c = f"{key:<8}= {text}"
    else:
        c = f"{key:<8}= {text:>20}"
    if comment and len(c) + 3 + len(comment) <= 80:
        c = f"{c} / {comment}"
    if len(c) > 80:
        raise ValueError(f"FITS card too long for {key!r}: {c!r}")
    return c.ljust(80)


def header_bytes(cards: Iterable[tuple[str, Any] | tuple[str, Any, str]]) -> bytes:
    """A complete header block (cards + END, padded with blanks to 2880 bytes)."""
    text = "".join(card(*c) for c in cards) + "END".ljust(80)
    pad = (-len(text)) % BLOCK
    return (text + " " * pad).encode("ascii")


def image_cards(shape: tuple[int, int] | None, bitpix: int = 16, bzero: int | None = 32768) -> list[tuple]:
    """The mandatory first cards of a primary HDU (``shape`` None = header only)."""
    cards: list[tuple] = [("SIMPLE", True, "conforms to FITS standard"), ("BITPIX", bitpix)]
    if shape is None:
        cards += [("NAXIS", 0), ("EXTEND", True)]
        return cards
    ny, nx = shape
    cards += [("NAXIS", 2), ("NAXIS1", nx), ("NAXIS2", ny), ("EXTEND", True)]
    if bitpix == 16 and bzero is not None:
        cards += [("BZERO", bzero), ("BSCALE", 1)]
    return cards


def write_uint16_image(path: Path, cards: list[tuple], adu: np.ndarray) -> None:
    """Write a raw frame as 16-bit unsigned integers (BITPIX=16, BZERO=32768), like ESO raw data."""
    data = np.clip(np.rint(adu), 0, 65535).astype(np.int32) - 32768
    body = data.astype(">i2").tobytes()
    head = header_bytes(image_cards(adu.shape) + cards)
    with open(path, "wb") as f:
        f.write(head)
        f.write(body)
        f.write(b"\0" * ((-len(body)) % BLOCK))


def write_header_only(path: Path, cards: list[tuple]) -> None:
    with open(path, "wb") as f:
        f.write(header_bytes(image_cards(None) + cards))
