"""The scan cache: table ``fits_scan_cache`` in the work directory's SQLite database.

A row is valid while the file's (path, size, mtime_ns, inode) are unchanged and holds the values
extracted for a keyword set; a scan asking for keywords outside that set re-reads the file.
Only readable files are cached (a bad file is looked at again on every scan). The cache has
its own connection (WAL mode); a scan writes the rows of the files it read in short
transactions while it reads (a few thousand rows each), never holding the write lock while
waiting for its workers.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sqlite3
from collections.abc import Iterable, Sequence
from operator import itemgetter
from pathlib import Path

TABLE = "fits_scan_cache"
KEYSETS = "fits_scan_keysets"  # keyset id -> the keyword names (one row per keyword set)
# bump when the reader's semantics change: rows of another version are never trusted (the
# values are marshal data: the marshal version is part of the format)
FORMAT = f"2m{marshal.version}"
# one B-tree keyed by path (WITHOUT ROWID: a rowid table would keep a second one for the key)
_CREATE = (f"CREATE TABLE IF NOT EXISTS {TABLE} (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER,"
           " inode INTEGER, keyset TEXT, vals BLOB, digest TEXT) WITHOUT ROWID")

Row = tuple[str, int, int, int, str, bytes, str]  # path, size, mtime_ns, inode, keyset, vals, digest


class ScanCache:
    """Read all rows at once; write changed rows and drop stale ones in one transaction."""

    def __init__(self, db_path: str | Path):
        self.path = os.fspath(db_path)
        folder = os.path.dirname(os.path.abspath(self.path))
        # a read-only work directory is still organised: the cache is read (or empty), never written
        self.read_only = os.path.isdir(folder) and not (os.access(folder, os.W_OK) and (
            not os.path.exists(self.path) or os.access(self.path, os.W_OK)))
        if self.read_only:
            self._open_read_only(folder)
            return
        self.con = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            self.con.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:  # a full disk: organise anyway, without updating the cache
            self.con.close()
            if "full" not in str(exc).lower() and not _disk_full(folder):
                raise
            self._full(exc)
            self.read_only = True
            self._open_read_only(folder)
            return
        self.con.execute("PRAGMA busy_timeout=30000")
        # a commit appends to the WAL without waiting for the disk (checkpoints still sync): a
        # crash may lose the last rows written, never damage the database; a lost row only
        # means that file is read again
        self.con.execute("PRAGMA synchronous=NORMAL")
        found = self.con.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                                 (TABLE,)).fetchone()
        if found is not None and found[0] != _CREATE.replace(" IF NOT EXISTS", ""):
            self.con.execute(f"DROP TABLE IF EXISTS {TABLE}")  # another layout: rows of an older format
        self.con.execute(_CREATE)
        self.con.execute(f"CREATE TABLE IF NOT EXISTS {KEYSETS} (id TEXT PRIMARY KEY, names TEXT)")
        self._keysets: dict[str, frozenset[str] | None | bool] = {}
        self._new_keysets: dict[str, str] = {}
        for kid, names in self.con.execute(f"SELECT id, names FROM {KEYSETS}"):
            self._keysets[kid] = self._parse(kid, names)

    def _open_read_only(self, folder: str) -> None:
        from urllib.parse import quote

        self._keysets: dict[str, frozenset[str] | None | bool] = {}
        self._new_keysets: dict[str, str] = {}
        self.con = sqlite3.connect(":memory:")
        if os.path.isfile(self.path):
            ro = sqlite3.connect(f"file:{quote(self.path)}?mode=ro" + ("" if os.access(folder, os.W_OK) else
                                                                    "&immutable=1"), uri=True)
            try:
                ro.backup(self.con)  # one read of the file; the copy in memory is what this scan uses
            except sqlite3.DatabaseError:
                pass  # unreadable: scan without the cache
            finally:
                ro.close()
        found = self.con.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                                 (TABLE,)).fetchone()
        if found is not None and found[0] != _CREATE.replace(" IF NOT EXISTS", ""):
            self.con.execute(f"DROP TABLE IF EXISTS {TABLE}")
        self.con.execute(_CREATE)
        self.con.execute(f"CREATE TABLE IF NOT EXISTS {KEYSETS} (id TEXT PRIMARY KEY, names TEXT)")
        for kid, names in self.con.execute(f"SELECT id, names FROM {KEYSETS}"):
            self._keysets[kid] = self._parse(kid, names)

    def load(self, paths: Sequence[str] | None = None) -> dict[str, Row]:
        """Cached rows (path, size, mtime_ns, inode, keyset, vals, digest) by path: all of
        them, or those of ``paths``."""
        sql = f"SELECT path, size, mtime_ns, inode, keyset, vals, digest FROM {TABLE}"
        if paths is None:
            rows = self.con.execute(sql).fetchall()
        else:
            paths = list(paths)
            rows = []
            for i in range(0, len(paths), 500):
                part = paths[i : i + 500]
                where = f" WHERE path IN ({','.join('?' * len(part))})"
                rows.extend(self.con.execute(sql + where, part).fetchall())
        if any(isinstance(r[0], bytes) for r in rows):  # names that are not UTF-8, stored as bytes
            rows = [(os.fsdecode(r[0]), *r[1:]) if isinstance(r[0], bytes) else r for r in rows]
        return dict(zip(map(itemgetter(0), rows), rows))

    @staticmethod
    def _parse(kid: str, names: str) -> frozenset[str] | None | bool:
        if not kid.startswith(FORMAT + "|"):
            return False
        if names == "*":
            return None
        return frozenset(names.split("\n")) if names else frozenset()

    def keyset(self, kid: str) -> frozenset[str] | None | bool:
        """The names a row's keyset holds; None for every card; False when unknown/outdated."""
        return self._keysets.get(kid, False)

    def keyset_id(self, names: Iterable[str] | None) -> str:
        """The short id stored in each row for a keyword set (registered on the next write)."""
        text = "*" if names is None else "\n".join(sorted(set(names)))
        kid = FORMAT + "|" + hashlib.sha1(text.encode()).hexdigest()[:16]
        if kid not in self._keysets:
            self._keysets[kid] = self._parse(kid, text)
            self._new_keysets[kid] = text
        return kid

    def write(
        self,
        rows: Sequence[Row],
        drop: Iterable[str],
    ) -> None:
        """Insert or replace ``rows`` and delete the ``drop`` paths, in one transaction (a scan
        writes its rows in parts while it reads, the last part with the paths to drop)."""
        drop = list(drop)
        if (not rows and not drop) or self.read_only:
            return
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        try:
            if self._new_keysets:
                con.executemany(
                    f"INSERT OR IGNORE INTO {KEYSETS} VALUES (?, ?)", self._new_keysets.items()
                )
            if drop:
                con.executemany(f"DELETE FROM {TABLE} WHERE path = ?", ((sql_path(p),) for p in drop))
            if rows:
                con.executemany(f"INSERT OR REPLACE INTO {TABLE} VALUES (?,?,?,?,?,?,?)",
                                (r if r[0].isascii() else (sql_path(r[0]), *r[1:]) for r in rows))
            con.execute("COMMIT")
            self._new_keysets.clear()
        except BaseException as exc:
            if con.in_transaction:
                con.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError) and "full" in str(exc).lower():
                self._full(exc)  # the scan goes on; only its cache is not updated
                self.read_only = True  # no more writes in this scan (one warning)
                return
            raise

    def _full(self, exc: Exception) -> None:
        import warnings

        warnings.warn(f"{self.path}: the disk is full (ENOSPC, {exc}); the header cache is not updated — free "
                      f"some space in {os.path.dirname(os.path.abspath(self.path))}", stacklevel=3)

    def close(self) -> None:
        self.con.close()


def sql_path(path: str) -> str | bytes:
    """A path as SQLite stores it losslessly: text, or its bytes when the name is not UTF-8."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return os.fsencode(path)


def _disk_full(folder: str) -> bool:
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):  # no statvfs on Windows
        return False
    return st.f_bavail * st.f_frsize < 64 * 1024


def dumps(values: dict) -> bytes | None:
    """The stored form of extracted values (marshal: exact for every header value type, and
    several times faster than JSON both ways), or None when a value has no such form."""
    try:
        return marshal.dumps(values)
    except ValueError:
        return None


def loads_many(blobs: Sequence[bytes]) -> list[dict]:
    """The values of many stored rows."""
    return list(map(marshal.loads, blobs))
