"""ESO-style provenance in product FITS headers (``HIERARCH ESO PRO REC1 ...``).

Written into each FITS product a job makes, unless the recipe already wrote ``PRO REC1 ID``
(ESO CPL recipes do). Main inputs are listed as ``RAWi``, associated inputs as ``CALi``, each
with name, category and content checksum; recipe parameters as ``PARAMi NAME/VALUE``.
Only products are ever written — never an input file: the cards go into a private copy of the
product, which then replaces the product's directory entry (``os.replace``), so a product that
is (wrongly) a link never writes through to the file it links to.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

FITS_SUFFIXES = (".fits", ".fit", ".fts")
REC = "HIERARCH ESO PRO REC1"


def provenance_cards(recipe: str, recipe_version: str, drs_id: str, inputs: Sequence[Mapping[str, Any]],
                     parameters: Mapping[str, Any]) -> list[tuple[str, Any, str]]:
    """The cards as (keyword, value, comment). ``inputs`` carry path, category, role, hash."""
    cards: list[tuple[str, Any, str]] = [
        (f"{REC} ID", recipe[:60], "recipe name"),
        (f"{REC} DRS ID", drs_id[:60], "data reduction system"),
        (f"{REC} PIPE ID", f"{recipe}/{recipe_version}"[:60], "recipe and version"),
    ]
    raw = cal = 0
    for inp in inputs:
        if inp.get("role") == "main":
            raw += 1
            prefix = f"{REC} RAW{raw}"
        else:
            cal += 1
            prefix = f"{REC} CAL{cal}"
        cards.append((f"{prefix} NAME", _ascii(os.path.basename(str(inp["path"])))[:60], "input file"))
        cards.append((f"{prefix} CATG", str(inp.get("category", ""))[:60], "input category"))
        if inp.get("hash"):
            cards.append((f"{prefix} DATAMD5", str(inp["hash"])[:60], "input checksum"))
    for i, (name, value) in enumerate(sorted(parameters.items()), 1):
        cards.append((f"{REC} PARAM{i} NAME", str(name)[:60], ""))
        v = value if isinstance(value, (bool, int, float)) else str(value)[:60]
        cards.append((f"{REC} PARAM{i} VALUE", v, ""))
    return cards


def _ascii(text: str) -> str:
    """Header text: printable ASCII, other characters (and undecodable bytes of a file name) escaped."""
    raw = text.encode("utf-8", "surrogateescape")
    return "".join(chr(b) if 32 <= b < 127 else f"\\x{b:02x}" for b in raw)


def _has_rec_id(product: str) -> bool:
    """True when the primary header already has ``PRO REC1 ID`` (read from the raw header blocks)."""
    key = f"{REC} ID".encode()
    with open(product, "rb") as fh:
        while True:
            block = fh.read(2880)
            if len(block) < 2880:
                return False
            for i in range(0, 2880, 80):
                card = block[i:i + 80]
                if card.startswith(key) and card[len(key):].lstrip(b" ").startswith(b"="):
                    return True
                if card.startswith(b"END") and not card[3:].strip():
                    return False


def write_provenance(product: str, category: str, cards: list[tuple[str, Any, str]]) -> bool:
    """Add the cards to the primary header of a FITS product; False when not FITS or already there.

    The product is copied to a private file beside it, the copy is updated and then moved into
    place: the file the product name pointed to is never opened for writing."""
    if not product.lower().endswith(FITS_SUFFIXES):
        return False
    import shutil
    import tempfile
    import warnings

    from astropy.io import fits

    if _has_rec_id(product):
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        folder, name = os.path.split(os.path.abspath(product))
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".reflexng-tmp", dir=folder)
        try:
            os.close(fd)
            shutil.copyfile(product, tmp)  # the bytes, into a new file of our own (not through a link)
            shutil.copymode(product, tmp)
            with fits.open(tmp, mode="update", memmap=False) as hdul:
                hdr = hdul[0].header
                if "HIERARCH ESO PRO CATG" not in hdr and category:
                    hdr["HIERARCH ESO PRO CATG"] = (category, "product category")
                for key, value, comment in cards:
                    hdr[key] = (value, comment)
            os.replace(tmp, product)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    return True
