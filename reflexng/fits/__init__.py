"""Fast FITS header scan with a SQLite cache (the data organiser's input).

``scan`` walks folders, reads only the requested header cards of each FITS file in worker
processes, and caches the values in the work directory's SQLite database.
See ``reflexng.fits.reader`` (which header a keyword comes from, value types) and
``reflexng.fits.walk`` (which files are considered).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from reflexng.fits.reader import OK, UNREADABLE, KeywordSpec, read_file
from reflexng.fits.scan import ScanCancelled, ScannedFile, scan
from reflexng.fits.walk import FITS_SUFFIXES, is_fits_name

__all__ = [
    "FITS_SUFFIXES",
    "OK",
    "UNREADABLE",
    "ScanCancelled",
    "ScannedFile",
    "content_hash",
    "is_fits_name",
    "read_header_values",
    "scan",
]


def content_hash(path: str | Path) -> str:
    """SHA-256 (hex) of the whole file, as stored on disk."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def read_header_values(path: str | Path, keywords: Iterable[str] | None) -> dict[str, Any]:
    """Header values of one file, with the same rules as ``scan``.

    Raises ValueError naming the file and the reason when the file is unreadable.
    """
    p = os.path.abspath(os.fspath(path))
    if os.path.isdir(p):
        raise ValueError(f"{p}: is a folder, not a file")
    try:
        size = os.stat(p).st_size
    except OSError as exc:
        raise ValueError(f"{p}: cannot read: {exc.strerror or exc}") from None
    status, reason, values, _ = read_file(p, size, KeywordSpec(keywords))
    if status != OK:
        raise ValueError(f"{p}: {reason}")
    return values
