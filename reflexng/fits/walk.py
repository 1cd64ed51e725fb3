"""Find FITS files under folders: one ``os.scandir`` walk that also yields each file's stat.

Rules: folders are scanned recursively; folders whose name starts with ``.`` are skipped
(hidden files are not); symbolic links are followed, and a folder already visited (same
``st_dev``/``st_ino``) is not entered again, so symlink loops end. A file is considered when
its name ends (case-insensitively) in one of ``FITS_SUFFIXES``. A root given as a file is
always considered. A folder named like a FITS file (``x.fits``) is reported as unreadable
("is a folder") and its contents are scanned like any folder's.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fits.fz")


def is_fits_name(name: str) -> bool:
    """True when a file name has one of the considered FITS suffixes (any case)."""
    return name.lower().endswith(FITS_SUFFIXES)


# one entry: (path, size, mtime_ns, inode, problem) — problem is "" or the reason it is unreadable
Entry = tuple[str, int, int, int, str]


def walk(roots: Sequence[str | Path], folders: list[tuple[str, int]] | None = None) -> list[Entry]:
    """Every candidate file under ``roots`` with its stat, in no particular order.

    ``folders``, when given, receives (path, mtime_ns) of every folder entered: a file
    added, removed or renamed in a folder changes the folder's mtime (see
    :func:`folders_unchanged`). Raises FileNotFoundError when a root does not exist.
    """
    out: list[Entry] = []
    seen: set[tuple[int, int]] = set()
    stack: list[str] = []
    for root in roots:
        path = os.path.abspath(os.fspath(root))
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise FileNotFoundError(f"data folder not found: {path}") from None
        except OSError as exc:
            out.append((path, 0, 0, 0, f"cannot read: {exc.strerror or exc}"))
            continue
        if stat.S_ISDIR(st.st_mode):
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                stack.append(path)
                if folders is not None:
                    folders.append((path, st.st_mtime_ns))
        else:
            out.append(_file_entry(path, st))
    fits_suffixes, regular, append = FITS_SUFFIXES, stat.S_IFREG, out.append
    while stack:
        folder = stack.pop()
        try:
            listing = _Listing(folder)
        except OSError as exc:
            out.append((folder, 0, 0, 0, f"cannot list folder: {exc.strerror or exc}"))
            continue
        prefix = listing.prefix
        with listing as entries:
            for entry in entries:
                name = entry.name
                if name.lower().endswith(fits_suffixes):
                    try:
                        st = entry.stat()
                    except OSError as exc:
                        reason = exc.strerror or str(exc)
                        if entry.is_symlink():
                            reason = f"broken symbolic link ({reason})"
                        out.append((prefix + name, 0, 0, 0, f"cannot read: {reason}"))
                        continue
                    mode = st.st_mode & 0o170000
                    if mode == regular:
                        append((prefix + name, st.st_size, st.st_mtime_ns, st.st_ino, ""))
                        continue
                    if mode != stat.S_IFDIR:
                        out.append(_file_entry(prefix + name, st))
                        continue
                    out.append(
                        (prefix + name, 0, st.st_mtime_ns, st.st_ino, "is a folder, not a file")
                    )
                else:
                    try:
                        if not entry.is_dir():
                            continue
                        st = entry.stat()
                    except OSError:
                        continue
                if name[0] == ".":
                    continue
                key = (st.st_dev, st.st_ino)
                if key not in seen:
                    seen.add(key)
                    stack.append(prefix + name)
                    if folders is not None:
                        folders.append((prefix + name, st.st_mtime_ns))
    if len(roots) > 1:  # a file given as a root and found in a folder root too: once
        out = list({e[0]: e for e in out}.values())
    return out


# scandir on an open folder: each entry's stat is an fstatat relative to it, which skips the
# look-up of the folder's path (~10 % of the walk); Windows lists by path
_BY_FD = os.scandir in os.supports_fd and os.stat in os.supports_dir_fd
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)


class _Listing:
    """One folder's entries (``with listing as entries``); ``prefix + entry.name`` is the
    entry's path (``entry.path`` is only the name when the folder is listed by descriptor)."""

    def __init__(self, folder: str):
        self.prefix = folder if folder.endswith(os.sep) else folder + os.sep
        self.fd = os.open(folder, _DIR_FLAGS) if _BY_FD else None
        try:
            self.it = os.scandir(folder if self.fd is None else self.fd)
        except BaseException:
            if self.fd is not None:
                os.close(self.fd)
            raise

    def __enter__(self):
        return self.it

    def __exit__(self, *exc) -> None:
        self.it.close()
        if self.fd is not None:
            os.close(self.fd)


def folders_unchanged(folders: Sequence[tuple[str, int]]) -> bool:
    """True when every folder still has the mtime :func:`walk` saw (no file added, removed
    or renamed in it since)."""
    for path, mtime_ns in folders:
        try:
            if os.stat(path).st_mtime_ns != mtime_ns:
                return False
        except OSError:
            return False
    return True


def _file_entry(path: str, st: os.stat_result) -> Entry:
    if stat.S_ISREG(st.st_mode):
        return (path, st.st_size, st.st_mtime_ns, st.st_ino, "")
    return (path, 0, st.st_mtime_ns, st.st_ino, "not a regular file (a device, pipe or socket)")
