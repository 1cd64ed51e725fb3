"""Fast FITS header scan with a SQLite cache (the data organiser's input).

``scan(roots, keywords, cache_db=..., workers=2)`` walks folders, reads only the requested header
cards of each FITS file in worker processes and caches the values in the work directory's
SQLite database. The rules, in one place:

- Files considered: names ending in ``.fits .fit .fts .fits.gz .fit.gz .fits.fz`` (any case),
  found recursively; folders starting with ``.`` are skipped; symbolic links are followed and
  a folder is entered once (symlink loops end). A root given as a file is always read.
- Keywords are cascade names: ``DPR.TYPE`` is the card ``HIERARCH ESO DPR TYPE``; ``EXPTIME``
  is a standard card. ``None`` means every valued card (COMMENT/HISTORY/blank cards left out).
- Which header: the primary one. When it has ``NAXIS = 0`` and an extension follows, keywords
  it lacks are taken from the first extension (for ``.fits.fz``: the compressed image's header
  as astropy presents it).
- Values equal astropy's (str without trailing blanks, int, float, bool, complex; an empty
  value is None). ``.gz`` files are decompressed as far as the headers go; astropy reads
  CONTINUE cards, odd cards, and the table/Z keywords of tile-compressed (``.fits.fz``) images.
- Bad files never raise: each comes back with status ``unreadable`` and a reason
  ("empty file", "truncated: header ends at byte 5760 without END", "not FITS: ...",
  "broken gzip: ...", "cannot read: Permission denied", "is a folder, not a file", ...).
- The cache (table ``fits_scan_cache``) is keyed on (path, size, mtime_ns, inode) and the
  keyword set; changed files are re-read, files gone from a scanned root are dropped.

``read_header_values(path, keywords)`` reads one file with the same rules;
``content_hash(path)`` is the SHA-256 of a file (confirms duplicates found by
``ScannedFile.header_digest``). Raw files are only ever opened for reading.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# names imported on first use: ``reflexng.fits.walk`` alone (the organiser's check for
# unchanged folders) does not pay for the reader, the scanner and multiprocessing
_WHERE = {
    "OK": "reader", "UNREADABLE": "reader",
    "ScanCancelled": "scanner", "ScannedFile": "scanner", "scan": "scanner",
    "FITS_SUFFIXES": "walk", "is_fits_name": "walk",
}

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


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'reflexng.fits' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"reflexng.fits.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


def content_hash(path: str | Path) -> str:
    """SHA-256 (hex) of the whole file, as stored on disk."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def read_header_values(path: str | Path, keywords: Iterable[str] | None) -> dict[str, Any]:
    """Header values of one file, with the same rules as ``scan``.

    Raises ValueError naming the file and the reason when the file is unreadable.
    """
    from reflexng.fits.reader import OK, KeywordSpec, read_file

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
