"""The provenance store: one SQLite file per work directory (``<workdir>/reflexng.sqlite``).

Tables: ``files`` (path, size, mtime, content hash — the hash cache), ``runs``, ``jobs`` (one row
per attempt: task, recipe, version, parameters, cache key, status, times, exit reason, host,
reflexng version), ``job_inputs`` (role main/associated, category, file, hash) and
``job_outputs`` (category, file, size, mtime, hash, QC values). WAL mode with a busy timeout
(the FITS scanner keeps its own table in the same file with its own connection); every state
change is one transaction. The work-directory lock (:mod:`reflexng.provenance.lock`, portable)
keeps a second application instance out of the work directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reflexng import __version__
from reflexng.fits import content_hash
from reflexng.provenance.lock import LOCK_NAME, WorkdirLock, WorkdirLockedError  # noqa: F401 - re-exported

DB_NAME = "reflexng.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS files(
    path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, hash TEXT, hashed_at REAL);
CREATE TABLE IF NOT EXISTS runs(
    id INTEGER PRIMARY KEY, started REAL, finished REAL, cascade TEXT, cascade_path TEXT,
    target TEXT, host TEXT, pid INTEGER, reflexng_version TEXT, status TEXT, summary TEXT);
CREATE TABLE IF NOT EXISTS jobs(
    id INTEGER PRIMARY KEY, job_id TEXT, run_id INTEGER, task TEXT, dataset TEXT, recipe TEXT,
    version TEXT, parameters TEXT, cache_key TEXT, status TEXT, attempt INTEGER, jobdir TEXT,
    started REAL, finished REAL, exit_reason TEXT, host TEXT, reflexng_version TEXT,
    log_tail TEXT, reused_from INTEGER);
CREATE INDEX IF NOT EXISTS jobs_key ON jobs(cache_key, status);
CREATE INDEX IF NOT EXISTS jobs_job_id ON jobs(job_id);
CREATE TABLE IF NOT EXISTS job_inputs(
    attempt_id INTEGER REFERENCES jobs(id), role TEXT, category TEXT, path TEXT, hash TEXT);
CREATE INDEX IF NOT EXISTS job_inputs_attempt ON job_inputs(attempt_id);
CREATE TABLE IF NOT EXISTS job_outputs(
    attempt_id INTEGER REFERENCES jobs(id), category TEXT, path TEXT, size INTEGER,
    mtime_ns INTEGER, hash TEXT, qc TEXT);
CREATE INDEX IF NOT EXISTS job_outputs_attempt ON job_outputs(attempt_id);
CREATE INDEX IF NOT EXISTS job_outputs_path ON job_outputs(path);
"""


# columns added after the first release: (table, column, type); added to older databases on open
ADDED_COLUMNS = (("runs", "description", "TEXT"),)


def _add_missing_columns(db: sqlite3.Connection) -> None:
    for table, column, kind in ADDED_COLUMNS:
        have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")


class DamagedStoreError(sqlite3.DatabaseError):
    """The work directory's database exists but cannot be read (not SQLite, or damaged)."""


class StoreUnavailableError(sqlite3.OperationalError):
    """The database is healthy but cannot be opened or written here (read-only, disk full)."""


class ReadOnlyStoreError(StoreUnavailableError):
    """The work directory (or its database) is read-only: it can be inspected, not run in."""


class StoreFullError(StoreUnavailableError):
    """The disk holding the work directory is full (ENOSPC / SQLITE_FULL); rolled back."""


_DAMAGED = ("not a database", "malformed", "corrupt")


def sql_path(path: str) -> str | bytes:
    """A path as the database stores it, losslessly: text, or its bytes (``os.fsencode``) when the
    name is not valid UTF-8 (read back with ``os.fsdecode``)."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return os.fsencode(path)


def _text(text: str) -> str:
    """Text for a TEXT column: characters UTF-8 cannot hold (from file names) as ``\\udcff`` escapes."""
    return text if text.isascii() else text.encode("utf-8", "backslashreplace").decode("utf-8")


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK)


def classify(exc: sqlite3.Error, db: Path) -> sqlite3.Error:
    """The error to raise for ``exc`` on ``db``: damaged, read-only, disk full, or ``exc`` itself."""
    if isinstance(exc, (DamagedStoreError, StoreUnavailableError)):
        return exc
    text = str(exc)
    low = text.lower()
    folder = db.parent
    if any(w in low for w in _DAMAGED):
        return DamagedStoreError(f"{db}: damaged ({text})")
    if "full" in low or ("i/o error" in low and _disk_full(folder)):
        return StoreFullError(f"{db}: the disk is full (ENOSPC, {text}) in {folder}; nothing was half-written; "
                              "free some space there (or choose a work directory on another disk) and run again")
    if "readonly" in low or "read-only" in low or ("unable to open" in low and not _writable(folder)):
        return ReadOnlyStoreError(f"{db}: read-only ({text}); `reflexng organise` and `reflexng provenance` "
                                  "still work there; to run, choose a writable --workdir")
    if "i/o error" in low:
        return StoreUnavailableError(f"{db}: cannot be read or written ({text}); check the disk holding {folder}")
    return exc


def _disk_full(folder: Path) -> bool:
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):  # no statvfs on Windows
        return False
    return st.f_bavail * st.f_frsize < 64 * 1024


def file_hash(path: str | os.PathLike) -> str:
    """Content hash of a file: ``reflexng.fits.content_hash``, else (not readable as FITS) MD5 of the bytes."""
    try:
        return str(content_hash(path))
    except Exception:  # not a FITS file, or unreadable as FITS: hash the bytes
        pass
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class Attempt:
    """One row of ``jobs`` with its inputs and outputs."""

    id: int
    job_id: str
    task: str
    recipe: str
    version: str
    parameters: dict[str, Any]
    cache_key: str
    status: str
    attempt: int
    jobdir: str
    started: float | None
    finished: float | None
    exit_reason: str
    host: str
    reflexng_version: str
    dataset: str = ""
    inputs: list[dict[str, Any]] | None = None
    outputs: list[dict[str, Any]] | None = None


class ProvenanceStore:
    """The SQLite store of one work directory. Thread-safe (one connection behind a lock)."""

    def __init__(self, workdir: str | os.PathLike, *, lock: bool = True) -> None:
        """Open (or create) the work directory's database; ``lock=False`` opens it for reading
        only (inspection: a read-only work directory works too). Open runs SQLite's quick
        integrity check: DamagedStoreError only when the file is damaged, ReadOnlyStoreError
        when a writer finds the folder read-only, StoreFullError when the disk is full."""
        self.workdir = Path(workdir).resolve()
        self.path = self.workdir / DB_NAME
        self._lock: WorkdirLock | None = None
        self._db = None  # type: ignore[assignment]
        self.read_only = not lock and self.path.is_file() and not (
            _writable(self.workdir) and _writable(self.path))
        if lock and self.workdir.is_dir() and not (_writable(self.workdir)
                                                    and (not self.path.exists() or _writable(self.path))):
            raise ReadOnlyStoreError(f"{self.workdir}: the work directory is read-only; `reflexng organise` and "
                                     "`reflexng provenance` still work there; to run, choose a writable --workdir")
        self.workdir.mkdir(parents=True, exist_ok=True)
        if lock:
            self._lock = WorkdirLock(self.workdir)
        self._mutex = threading.RLock()
        try:
            if self.read_only:  # never written: no journal, no schema change, no lock
                uri = "file:" + urllib.parse.quote(str(self.path)) + "?mode=ro" + (
                    "&immutable=1" if not _writable(self.workdir) else "")
                self._db = sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False, isolation_level=None)
            else:
                self._db = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA busy_timeout=30000")
            check = [r[0] for r in self._db.execute("PRAGMA quick_check(3)")]
            if check != ["ok"]:
                what = " ".join("; ".join(map(str, check)).replace("*** in database main ***", "").split())
                raise DamagedStoreError(f"{self.path}: damaged ({what})")
            if not self.read_only:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                with self.transaction() as db:
                    for stmt in SCHEMA.split(";"):
                        if stmt.strip():
                            db.execute(stmt)
                    _add_missing_columns(db)
        except sqlite3.DatabaseError as exc:
            self.close()
            err = classify(exc, self.path)
            if err is exc and not isinstance(exc, DamagedStoreError):
                err = DamagedStoreError(f"{self.path}: not a readable reflexng database ({exc})")
            if err is exc:
                raise
            raise err from exc
        if lock:
            # attempts left 'running' by a process that died (kill -9) are interrupted
            with self.transaction() as db:
                db.execute(
                    "UPDATE jobs SET status='interrupted', exit_reason='the application stopped during the job' "
                    "WHERE status='running'"
                )
                db.execute("UPDATE runs SET status='interrupted' WHERE status='running'")

    def close(self) -> None:
        """Close the database and release the work-directory lock."""
        with self._mutex:
            if self._db is not None:
                self._db.close()
                self._db = None  # type: ignore[assignment]
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> ProvenanceStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ helpers

    class _Tx:
        def __init__(self, store: ProvenanceStore) -> None:
            self.store = store

        def __enter__(self) -> sqlite3.Connection:
            self.store._mutex.acquire()
            try:
                self.store._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as err:
                self.store._mutex.release()
                raise classify(err, self.store.path) from err
            return self.store._db

        def __exit__(self, exc_type, exc, tb) -> None:
            db = self.store._db
            try:
                if exc_type is None:
                    try:
                        db.execute("COMMIT")
                        return
                    except sqlite3.Error as err:  # e.g. SQLITE_FULL: the transaction stays open
                        exc = err
                if db.in_transaction:
                    try:
                        db.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                if isinstance(exc, sqlite3.Error):
                    err = classify(exc, self.store.path)
                    if err is not exc or exc_type is None:
                        raise err from exc
            finally:
                self.store._mutex.release()

    def transaction(self) -> ProvenanceStore._Tx:
        """``with store.transaction() as db:`` — one atomic change."""
        return ProvenanceStore._Tx(self)

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._mutex:
            return list(self._db.execute(sql, args))

    def integrity_check(self) -> str:
        return str(self.query("PRAGMA integrity_check")[0][0])

    # ------------------------------------------------------------------ file hashes

    def hash_file(self, path: str | os.PathLike) -> str:
        """Content hash of a file, cached by (path, size, mtime)."""
        p = os.path.abspath(path)
        st = os.stat(p)
        rows = self.query("SELECT hash FROM files WHERE path=? AND size=? AND mtime_ns=?",
                          (sql_path(p), st.st_size, st.st_mtime_ns))
        if rows and rows[0][0]:
            return rows[0][0]
        h = file_hash(p)
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO files(path, size, mtime_ns, hash, hashed_at) VALUES (?,?,?,?,?)",
                (sql_path(p), st.st_size, st.st_mtime_ns, h, time.time()),
            )
        return h

    # ------------------------------------------------------------------ runs

    def start_run(self, cascade: str, cascade_path: str, target: str, description: str = "") -> int:
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO runs(started, cascade, cascade_path, target, host, pid, reflexng_version, status, "
                "description) VALUES (?,?,?,?,?,?,?, 'running', ?)",
                (time.time(), cascade, cascade_path, target, socket.gethostname(), os.getpid(), __version__,
                 description or None),
            )
            return int(cur.lastrowid)

    def set_run_description(self, run_id: int, text: str) -> None:
        """Describe a run in words (shown in the provenance view, `reflexng provenance --runs`)."""
        with self.transaction() as db:
            db.execute("UPDATE runs SET description=? WHERE id=?", (str(text).strip() or None, run_id))

    def runs(self) -> list[dict[str, Any]]:
        """Every run, newest first: id, started, finished, cascade, target, status, description."""
        return [dict(r) for r in self.query(
            "SELECT id, started, finished, cascade, cascade_path, target, host, status, description "
            "FROM runs ORDER BY id DESC")]

    def finish_run(self, run_id: int, status: str, summary: dict[str, Any]) -> None:
        with self.transaction() as db:
            db.execute("UPDATE runs SET finished=?, status=?, summary=? WHERE id=?",
                       (time.time(), status, json.dumps(summary, default=str), run_id))

    # ------------------------------------------------------------------ attempts

    def start_attempt(self, *, job_id: str, run_id: int | None, task: str, dataset: str, recipe: str,
                      version: str, parameters: dict[str, Any], cache_key: str, attempt: int, jobdir: str,
                      inputs: Iterable[tuple[str, str, str, str]]) -> int:
        """Record a starting attempt with its inputs (role, category, path, hash); returns its id."""
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO jobs(job_id, run_id, task, dataset, recipe, version, parameters, cache_key, status, "
                "attempt, jobdir, started, host, reflexng_version) VALUES (?,?,?,?,?,?,?,?, 'running', ?,?,?,?,?)",
                (job_id, run_id, task, _text(dataset), recipe, version, json.dumps(parameters, sort_keys=True, default=str),
                 cache_key, attempt, jobdir, time.time(), socket.gethostname(), __version__),
            )
            aid = int(cur.lastrowid)
            db.executemany(
                "INSERT INTO job_inputs(attempt_id, role, category, path, hash) VALUES (?,?,?,?,?)",
                [(aid, r, c, sql_path(p), h) for r, c, p, h in inputs],
            )
        return aid

    def finish_attempt(self, attempt_id: int, status: str, *, exit_reason: str = "", log_tail: str = "",
                       outputs: Iterable[tuple[str, str, int, int, str]] = (), qc: dict[str, Any] | None = None) -> None:
        """Close an attempt; ``outputs`` are (category, path, size, mtime_ns, hash) of moved products."""
        qc_json = json.dumps(qc or {}, default=str)
        with self.transaction() as db:
            db.execute(
                "UPDATE jobs SET status=?, finished=?, exit_reason=?, log_tail=? WHERE id=?",
                (status, time.time(), _text(exit_reason), _text(log_tail), attempt_id),
            )
            db.executemany(
                "INSERT INTO job_outputs(attempt_id, category, path, size, mtime_ns, hash, qc) VALUES (?,?,?,?,?,?,?)",
                [(attempt_id, c, sql_path(p), s, m, h, qc_json) for c, p, s, m, h in outputs],
            )
            for _c, p, s, m, h in outputs:
                db.execute("INSERT OR REPLACE INTO files(path, size, mtime_ns, hash, hashed_at) VALUES (?,?,?,?,?)",
                           (sql_path(p), s, m, h, time.time()))

    def record_reuse(self, *, job_id: str, run_id: int | None, task: str, dataset: str, source: Attempt) -> int:
        """Record that ``job_id`` reused the products of an earlier attempt."""
        now = time.time()
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO jobs(job_id, run_id, task, dataset, recipe, version, parameters, cache_key, status, "
                "attempt, jobdir, started, finished, host, reflexng_version, reused_from) "
                "VALUES (?,?,?,?,?,?,?,?, 'reused', ?,?,?,?,?,?,?)",
                (job_id, run_id, task, _text(dataset), source.recipe, source.version, json.dumps(source.parameters),
                 source.cache_key, source.attempt, source.jobdir, now, now, socket.gethostname(), __version__, source.id),
            )
            return int(cur.lastrowid)

    def _attempt(self, row: sqlite3.Row, details: bool = True) -> Attempt:
        a = Attempt(
            id=row["id"], job_id=row["job_id"], task=row["task"], recipe=row["recipe"], version=row["version"],
            parameters=json.loads(row["parameters"] or "{}"), cache_key=row["cache_key"], status=row["status"],
            attempt=row["attempt"], jobdir=row["jobdir"], started=row["started"], finished=row["finished"],
            exit_reason=row["exit_reason"] or "", host=row["host"] or "", reflexng_version=row["reflexng_version"] or "",
            dataset=row["dataset"] or "",
        )
        if details:
            a.inputs = [dict(r) for r in self.query(
                "SELECT role, category, path, hash FROM job_inputs WHERE attempt_id=? ORDER BY rowid", (a.id,))]
            a.outputs = [dict(r) for r in self.query(
                "SELECT category, path, size, mtime_ns, hash, qc FROM job_outputs WHERE attempt_id=? ORDER BY rowid",
                (a.id,))]
            for o in a.outputs:
                o["qc"] = json.loads(o["qc"] or "{}")
            for row in (*a.inputs, *a.outputs):
                if isinstance(row["path"], bytes):
                    row["path"] = os.fsdecode(row["path"])
        return a

    def attempt(self, attempt_id: int) -> Attempt | None:
        rows = self.query("SELECT * FROM jobs WHERE id=?", (attempt_id,))
        return self._attempt(rows[0]) if rows else None

    def successful_attempts(self, cache_key: str) -> list[Attempt]:
        """Earlier successful attempts with this cache key, newest first."""
        rows = self.query("SELECT * FROM jobs WHERE cache_key=? AND status='done' ORDER BY id DESC", (cache_key,))
        return [self._attempt(r) for r in rows]

    def last_attempt(self, job_id: str, status: str | None = None) -> Attempt | None:
        """The newest attempt (executed, not reused) of a job id, optionally with a given status."""
        sql = "SELECT * FROM jobs WHERE job_id=? AND status != 'reused'"
        args: list[Any] = [job_id]
        if status:
            sql += " AND status=?"
            args.append(status)
        rows = self.query(sql + " ORDER BY id DESC LIMIT 1", args)
        return self._attempt(rows[0]) if rows else None

    def run_attempts(self, run_id: int) -> list[Attempt]:
        """Every row (executed or reused) recorded by one run, in order."""
        return [self._attempt(r) for r in self.query("SELECT * FROM jobs WHERE run_id=? ORDER BY id", (run_id,))]

    def latest_attempts(self) -> dict[str, Attempt]:
        """Per job id, its newest recorded row (executed or reused), without inputs/outputs."""
        rows = self.query("SELECT * FROM jobs WHERE id IN (SELECT MAX(id) FROM jobs GROUP BY job_id)")
        return {r["job_id"]: self._attempt(r, details=False) for r in rows}

    def attempts_of(self, job_id: str) -> list[Attempt]:
        """Every executed attempt of a job id (not reuse records), oldest first, with inputs/outputs."""
        rows = self.query("SELECT * FROM jobs WHERE job_id=? AND status != 'reused' ORDER BY id", (job_id,))
        return [self._attempt(r) for r in rows]

    def producer_of(self, path: str) -> Attempt | None:
        """The successful attempt that wrote a product file (None for raw files)."""
        rows = self.query(
            "SELECT j.* FROM job_outputs o JOIN jobs j ON j.id=o.attempt_id WHERE o.path=? AND j.status='done' "
            "ORDER BY j.id DESC LIMIT 1", (sql_path(os.path.abspath(path)),))
        return self._attempt(rows[0]) if rows else None

    def product_unchanged(self, output: dict[str, Any]) -> str:
        """'' when the recorded product is present and unmodified, else why not (in words)."""
        p = output["path"]
        name = os.path.basename(p)
        try:
            st = os.stat(p)
        except OSError:
            return f"product {name} missing"
        if st.st_size != output["size"]:
            return f"product {name} modified"
        if st.st_mtime_ns != output["mtime_ns"]:
            try:
                if file_hash(p) != output["hash"]:
                    return f"product {name} modified"
            except OSError:
                return f"product {name} unreadable"
        return ""
