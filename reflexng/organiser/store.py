"""Stored organise results: nothing is done twice for an unchanged folder.

An organise result is stored in the work directory's SQLite database (table
``organise_results``) under a *request key* and the *file-set digest* it was computed from:

- the request key hashes the cascade's contents (the cascade file, its parameter-set files
  and the helper modules beside it), reflexng's code (version, and size + mtime of the
  organiser, cascade and fits modules), and the request: data folders, target, workflow
  parameters, parameter set, recipe parameters, excluded files, raw/processed preference;
- the file-set digest hashes every considered file's (path, size, mtime_ns, inode) and the
  walk's per-file problem, as found by :func:`reflexng.fits.walk.walk`.

A stored result is returned only when both match. When only the files changed, the newest
stored result of the same cascade and code (:func:`StoredResult.records`) gives back the
classification of every unchanged file, so only the changed files are read and classified.
Rendered output (the CLI's ``--json`` text) may be attached to a stored result so that an
unchanged ``reflexng organise --json`` only writes it out; when only files' times changed,
not their headers, :mod:`reflexng.organiser.restat` stores the result again for the new
file set (the CLI then writes the output without loading the cascade).

Layout: a row's records and walk entries are a *base* shared by rows plus the row's own
*delta*. Base records are pieces of ``storepack.CHUNK`` records sorted by path, each marshal data
compressed on its own, with an index (a few records are decoded without the others); base
walk entries are columns (paths, then sizes, mtimes and inodes as 64-bit arrays). Every
blob is written as it is packed (a first organise's peak memory).

This module is cheap to import (no cascade, numpy or networkx): the CLI's fast path uses it
before loading the cascade.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from reflexng.organiser.storepack import (
    _dicts,
    _records,
    _unpickled,
    _unz,
    _z,
    entry_columns,
    pack_entries,
    pack_records,
    pickled_records,
    records_of,
    unpack_entries,
    unpack_records,
    write_chunks,
    write_pickled,
)

TABLE = "organise_results"
# bump when what is stored changes meaning: rows of another format are never used
FORMAT = "4"
KEEP = 8  # stored results per work directory (the newest are kept)
_COLUMNS = ["key", "class_key", "files", "created", "base", "delta", "result", "targets", "quick"]
_BASE_COLUMNS = ["id", "records", "entries"]
BASES = "organise_bases"  # records and walk entries shared by rows (rows keep a delta)
# per base, the header keywords its files were scanned for: a base is also the header cache
# of its files (see ResultStore.scanned)
BASE_KEYWORDS = "organise_base_keywords"
_UNREADABLE = "unreadable"  # organiser.model.UNREADABLE (this module does not import the model)
OUTPUTS = "organise_outputs"  # rendered output of a stored result (apart: rows stay unchanged)

# reflexng packages whose code decides an organise result
_CODE_PACKAGES = ("organiser", "cascade", "fits")
_code_fp: str | None = None


def db_path(workdir: str | os.PathLike) -> str:
    return os.path.join(os.fspath(workdir), "reflexng.sqlite")


# ---------------------------------------------------------------------------- fingerprints


def code_fingerprint() -> str:
    """reflexng's version plus size and mtime of the modules that decide a result."""
    global _code_fp
    if _code_fp is None:
        import reflexng

        base = os.path.dirname(os.path.abspath(reflexng.__file__))
        h = hashlib.sha256(f"{FORMAT}|{reflexng.__version__}".encode())
        for pkg in _CODE_PACKAGES:
            folder = os.path.join(base, pkg)
            try:
                names = sorted(n for n in os.listdir(folder) if n.endswith(".py"))
            except OSError:
                continue
            for n in names:
                try:
                    st = os.stat(os.path.join(folder, n))
                except OSError:
                    continue
                h.update(f"{pkg}/{n}|{st.st_size}|{st.st_mtime_ns}\n".encode())
        _code_fp = h.hexdigest()
    return _code_fp


def cascade_files(cascade_path: str | os.PathLike) -> list[str]:
    """The files whose contents define a cascade: the cascade file, its parameter-set files
    and every ``.py`` file beside it (helper modules it may import), sorted."""
    p = Path(cascade_path)
    folder = p.parent
    out = {str(p)}
    for suffix in (".params.yaml", ".params.yml", ".params.toml"):
        f = p.with_name(p.stem + suffix)
        if f.is_file():
            out.add(str(f))
    try:
        out.update(str(folder / n) for n in os.listdir(folder) if n.endswith(".py"))
    except OSError:
        pass
    return sorted(out)


def cascade_fingerprint(cascade_path: str | os.PathLike) -> str:
    """SHA-256 over the names and contents of :func:`cascade_files`."""
    h = hashlib.sha256()
    for f in cascade_files(cascade_path):
        h.update(os.path.basename(f).encode() + b"\0")
        try:
            with open(f, "rb") as fh:
                h.update(fh.read())
        except OSError as exc:  # unreadable helper: its error text stands for its content
            h.update(f"<{exc}>".encode())
        h.update(b"\0")
    return h.hexdigest()


def _plain(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in sorted(v.items(), key=lambda kv: str(kv[0]))}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, (str, int, float, bool)) or v is None:
        return [type(v).__name__, v]
    return [type(v).__name__, repr(v)]


def _parameter_set_plain(parameter_set: Any) -> Any:
    if parameter_set is None or isinstance(parameter_set, str):
        return parameter_set
    return {"name": getattr(parameter_set, "name", None),
            "workflow_parameters": _plain(getattr(parameter_set, "workflow_parameters", {}) or {}),
            "recipe_parameters": _plain(getattr(parameter_set, "recipe_parameters", {}) or {}),
            "repr": repr(parameter_set)}


def keys(
    cascade_path: str | os.PathLike,
    roots: Sequence[str],
    target: str | Sequence[str] | None,
    *,
    workflow_parameters: Mapping[str, Any] | None,
    parameter_set: Any,
    recipe_parameters: Mapping[str, Mapping[str, Any]] | None,
    excluded: Iterable[str],
    prefer: str,
) -> tuple[str, str]:
    """(request key, classification key) of an organise request.

    The classification key leaves out what classification does not depend on (target,
    excluded files, recipe parameters, preference), so a changed selection still reuses
    the classification of unchanged files.
    """
    cfp = cascade_fingerprint(cascade_path)
    deps = _DEPENDENCIES.get(os.fspath(cascade_path))
    base = {
        "dependencies": _stats(deps) if deps else [],
        "format": FORMAT,
        "code": code_fingerprint(),
        "cascade": cfp,
        "cascade_path": os.fspath(cascade_path),
        "workflow_parameters": _plain(workflow_parameters or {}),
        "parameter_set": _parameter_set_plain(parameter_set),
    }
    class_key = _hash(base)
    full = dict(base, roots=sorted(roots), target=_plain(target),
                recipe_parameters=_plain(recipe_parameters or {}),
                excluded=sorted({os.fspath(p) for p in excluded}), prefer=prefer)
    return _hash(full), class_key


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=repr).encode()).hexdigest()


def files_digest(entries: Sequence[tuple]) -> str:
    """Digest of walk entries (path, size, mtime_ns, inode, problem) in walk order
    (:func:`reflexng.fits.walk.entries_digest`; a walk's own: ``walk_parts(...).digest()``)."""
    from reflexng.fits.walk import entries_digest

    return entries_digest(entries)


class StoredResult:
    """One stored row; the result and the records are decoded on demand.

    A row's records and walk entries are a *base* (table ``organise_bases``, shared by rows)
    plus the row's own *delta* (records and entries added, changed or removed since the
    base), so re-organising after a few changes writes only those."""

    def __init__(self, store: ResultStore, row: tuple):
        self._store = store
        (self.key, self.class_key, self.files, self.created, self.base, self._delta,
         self._result, self.targets, self.quick) = row
        self._state: tuple[dict, dict] | None = None
        self._deltas: tuple[dict, dict] | None = None

    def delta(self, raw: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
        """(path -> FileRecord (``raw``: its field dictionary) or None, path -> walk entry or
        None) against the base (a new pair of dictionaries on every call)."""
        if self._deltas is None:
            recs, gone_recs, ents, gone_ents = marshal.loads(_unz(self._delta))
            rd: dict[str, Any] = {d["path"]: d for d in _dicts(recs)}
            rd.update(dict.fromkeys(gone_recs))
            ed: dict[str, Any] = {e[0]: e for e in ents}
            ed.update(dict.fromkeys(gone_ents))
            self._deltas = (rd, ed)
        rd, ed = self._deltas
        if raw:
            return dict(rd), dict(ed)
        made = {r.path: r for r in _records([d for d in rd.values() if d is not None])}
        return {p: made.get(p) for p in rd}, dict(ed)

    def _base(self, column: str) -> bytes:
        got = self._store.con.execute(
            f"SELECT {column} FROM {BASES} WHERE id = ?", (self.base,)).fetchone()
        if got is None:
            raise LookupError(f"stored organise base {self.base} is missing")
        return got[0]

    def entries(self) -> dict[str, tuple]:
        """path -> walk entry of this row (records not decoded)."""
        if self._state is not None:
            return self._state[1]
        entries = {e[0]: e for e in unpack_entries(self._base("entries"))}
        _apply(entries, self.delta(raw=True)[1])
        return entries

    def changed_entries(self, entries: Sequence[tuple]) -> list[tuple] | None:
        """The walk ``entries`` that differ from this row's, when both list the same paths in
        the same order (else None): compared column by column, no entry rebuilt."""
        cols = entry_columns(self._base("entries"))
        if cols is None:
            return None
        paths, sizes, mtimes, inodes, problems = cols
        ed = self.delta(raw=True)[1]
        if ed:
            pos = {p: i for i, p in enumerate(paths)}
            for p, e in ed.items():
                i = pos.get(p)
                if e is None or i is None:
                    return None  # files added or removed since the base
                sizes[i], mtimes[i], inodes[i] = e[1], e[2], e[3]
                if e[4]:
                    problems[i] = e[4]
                else:
                    problems.pop(i, None)
        if len(paths) != len(entries) or [e[0] for e in entries] != paths:
            return None
        out = [e for e, s, m, i in zip(entries, sizes, mtimes, inodes)
               if e[2] != m or e[1] != s or e[3] != i]
        # and those whose walk problem changed, the stat the same
        now = {i: e[4] for i, e in enumerate(entries) if e[4]}
        for i in sorted(now.keys() | problems.keys()):
            e = entries[i]
            if now.get(i, "") != problems.get(i, "") and e[1:4] == (sizes[i], mtimes[i], inodes[i]):
                out.append(e)
        return out

    def records_of(self, paths: Iterable[str], raw: bool = False) -> dict[str, Any]:
        """path -> FileRecord (``raw``: its field dictionary) of those ``paths`` this row
        holds (only their pieces decoded)."""
        paths = list(paths)
        if self._state is not None:
            got = self._state[0]
            return {p: (got[p]._asdict() if raw else got[p]) for p in paths if p in got}
        rd = self.delta(raw)[0]
        out = records_of(self._base("records"), [p for p in paths if p not in rd], raw)
        out.update({p: rd[p] for p in paths if rd.get(p) is not None})
        return out

    def state(self) -> tuple[dict[str, Any], dict[str, tuple]]:
        """(path -> FileRecord, path -> walk entry) of this row."""
        if self._state is None:
            records = {r.path: r for r in unpack_records(self._base("records"))}
            entries = self.entries()
            _apply(records, self.delta()[0])
            self._state = (records, entries)
        return self._state

    def forget(self) -> None:
        """Drop the decoded :meth:`state` (memory; it is decoded again when asked for)."""
        self._state = None

    def records(self) -> list[Any]:
        """This row's records sorted by path (the base is; a delta is merged in)."""
        if self._state is not None:
            records = self._state[0]
            return [records[p] for p in sorted(records)]
        base = unpack_records(self._base("records"))
        rd = self.delta()[0]
        if not rd:
            return base
        if all(v is not None for v in rd.values()):  # changed records only: in place
            for i, r in enumerate(base):
                got = rd.pop(r.path, None)
                if got is not None:
                    base[i] = got
            if not rd:
                return base
            base.extend(rd.values())  # added files
            base.sort(key=lambda r: r.path)
            return base
        by_path = {r.path: r for r in base}
        _apply(by_path, rd)
        return [by_path[p] for p in sorted(by_path)]

    def result(self):
        """The stored :class:`OrganiseResult` (``job_graph`` None)."""
        shell = _unpickled(self._result)
        shell.files = self.records()
        return shell


def _small(rd: Mapping, ed: Mapping, total: int) -> bool:
    """Whether a delta of these changes stays small against a base of ``total`` files."""
    return len(rd) + len(ed) <= _limit(total)


def _limit(total: int) -> int:
    return max(2000, total // 5)


def _delta_blob(rd: Mapping[str, Any], ed: Mapping[str, Any]) -> bytes:
    return _z(marshal.dumps((
        pack_records([r for r in rd.values() if r is not None]),
        [p for p, r in rd.items() if r is None],
        [e for e in ed.values() if e is not None],
        [p for p, e in ed.items() if e is None])))


def _apply(d: dict, changes: Mapping[str, Any]) -> None:
    for p, v in changes.items():
        if v is None:
            d.pop(p, None)
        else:
            d[p] = v


_EMPTY_DELTA = _z(marshal.dumps((pack_records([]), [], [], [])))


class ResultStore:
    """Tables ``organise_results``, ``organise_bases`` and ``organise_outputs`` of a work
    directory's database (own connection, WAL)."""

    def __init__(self, path: str | os.PathLike, create: bool = True):
        self.path = os.fspath(path)
        self.con = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        self.con.execute("PRAGMA busy_timeout=30000")
        # a stored result is a cache: losing the last one to a power cut costs a re-organise
        self.con.execute("PRAGMA synchronous=NORMAL")
        if create:
            self.con.execute("PRAGMA journal_mode=WAL")
            cols = [r[1] for r in self.con.execute(f"PRAGMA table_info({TABLE})")]
            if cols and cols != _COLUMNS:
                for t in (TABLE, OUTPUTS, BASES, BASE_KEYWORDS):
                    self.con.execute(f"DROP TABLE IF EXISTS {t}")
            self.con.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} (key TEXT PRIMARY KEY, class_key TEXT,"
                " files TEXT, created INTEGER, base TEXT, delta BLOB, result BLOB,"
                " targets TEXT, quick TEXT)"
            )
            self.con.execute(
                f"CREATE TABLE IF NOT EXISTS {BASES} (id TEXT PRIMARY KEY, records BLOB,"
                " entries BLOB)"
            )
            self.con.execute(
                f"CREATE TABLE IF NOT EXISTS {BASE_KEYWORDS} (base TEXT PRIMARY KEY, keywords TEXT)"
            )
            self.con.execute(
                f"CREATE TABLE IF NOT EXISTS {OUTPUTS} (key TEXT, files TEXT, kind TEXT,"
                " text BLOB, PRIMARY KEY (key, kind))"
            )

    @classmethod
    def open_existing(cls, workdir: str | os.PathLike) -> ResultStore | None:
        """The store of ``workdir`` when its database and table exist (no file is created)."""
        path = db_path(workdir)
        if not os.path.isfile(path):
            return None
        try:
            store = cls(path, create=False)
            store.con.execute(f"SELECT 1 FROM {TABLE} LIMIT 0")
        except sqlite3.Error:
            return None
        return store

    def get(self, key: str, files: str | None = None) -> StoredResult | None:
        """The row of ``key`` (and file-set digest ``files`` when given)."""
        cols = ", ".join(_COLUMNS)
        try:
            row = self.con.execute(f"SELECT {cols} FROM {TABLE} WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:
            return None
        if row is None or (files is not None and row[2] != files):
            return None
        return StoredResult(self, row)

    def latest(self, class_key: str) -> StoredResult | None:
        """The newest row organised with this cascade, code and workflow parameters."""
        cols = ", ".join(_COLUMNS)
        try:
            row = self.con.execute(
                f"SELECT {cols} FROM {TABLE} WHERE class_key = ? ORDER BY created DESC LIMIT 1",
                (class_key,),
            ).fetchone()
        except sqlite3.Error:
            return None
        return None if row is None else StoredResult(self, row)

    def scanned(self, keywords: Sequence[str]) -> dict[str, tuple] | None:
        """What the newest stored row scanned for (at least) ``keywords`` knows of its files'
        headers: path -> (size, mtime_ns, inode, values of ``keywords``, header digest), for
        each file it read (not the unreadable ones); None without such a row.

        A stored result holds every file's header values: it answers a later scan of the
        unchanged files for another request (other workflow parameters, an edited cascade),
        so the organiser writes no header cache of its own (each header is stored once)."""
        wanted = set(keywords)
        cols = ", ".join(f"r.{c}" for c in _COLUMNS)
        try:
            rows = self.con.execute(
                f"SELECT {cols}, k.keywords FROM {TABLE} r JOIN {BASE_KEYWORDS} k"
                " ON k.base = r.base ORDER BY r.created DESC").fetchall()
        except sqlite3.Error:
            return None
        for *row, got in rows:
            have = set(json.loads(got))
            if not wanted <= have:
                continue
            try:
                records, entries = StoredResult(self, tuple(row)).state()
            except (LookupError, sqlite3.Error, ValueError, EOFError, TypeError):
                continue
            narrow = have != wanted
            out: dict[str, tuple] = {}
            for path, r in records.items():
                e = entries.get(path)
                if e is None or e[4] or r.status == _UNREADABLE:
                    continue
                values = r.headers
                if narrow:
                    values = {k: v for k, v in values.items() if k in wanted}
                out[path] = (e[1], e[2], e[3], values, r.header_digest)
            return out
        return None

    def targets(self, key: str) -> list[str] | None:
        """The task names a request of ``key`` resolved its target to (any file set)."""
        try:
            row = self.con.execute(f"SELECT targets FROM {TABLE} WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:
            return None
        return None if row is None or row[0] is None else json.loads(row[0])

    def put(self, key: str, class_key: str, files: str, entries: Sequence[tuple] | bytes, result,
            targets: Sequence[str], since: StoredResult | None = None,
            changes: tuple[dict, dict] | None = None,
            keywords: Sequence[str] | None = None,
            scanned: Sequence[str] | None = None,
            records: _Spooled | None = None) -> None:
        """Store ``result`` (its ``job_graph`` is not stored; it is rebuilt on demand) and the
        walk ``entries`` it was organised from (or their :func:`pack_entries` data).

        ``since`` is the stored row the result was organised from and ``changes`` (path ->
        FileRecord or None, path -> walk entry or None) what differs from it: then only the
        changes are written (until they exceed a fifth of the files: then a new base).
        ``keywords`` (the scanned header keywords), when given, let :meth:`restat` answer
        the same request later for files whose headers are unchanged (see
        :mod:`reflexng.organiser.restat`): give them only when the jobs and datasets depend
        on the files' paths and headers alone, not on their size or time. ``scanned`` (the
        header keywords the files were scanned for) makes a new base the header cache of its
        files for later requests (:meth:`scanned`). ``records`` is :func:`records_spool` of
        ``result.files``, started earlier (the caller closes it: a row that keeps its base
        does not use it)."""
        import time

        delta = _EMPTY_DELTA
        base = None
        if since is not None and changes is not None:
            rd, ed = since.delta()
            rd.update(changes[0])
            ed.update(changes[1])
            if _small(rd, ed, len(result.files)):
                base = since.base
                delta = _delta_blob(rd, ed)
        shell = _shell(result)
        new_base = None
        if base is None:
            base = hashlib.sha256(f"{key}|{files}".encode()).hexdigest()[:32]
            if records is None or records.files is not result.files:
                records = _records_spool(result.files, fork=False)
            packed = entries if isinstance(entries, (bytes, bytearray)) else pack_entries(entries)
            new_base = (base, records, packed)
        quick = None
        if keywords is not None:
            digests = [f.header_digest for f in result.files]
            digests.sort()
            shared = sorted({a for a, b in zip(digests, digests[1:]) if a == b})
            del digests
            quick = json.dumps({"keywords": list(keywords), "shared": shared})
        row = (key, class_key, files, time.time_ns(), base, delta,
               _Spooled(lambda w: write_pickled(shell, w)),
               json.dumps(list(targets)), quick)
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        try:
            if new_base is not None:
                _insert(con, BASES, _BASE_COLUMNS, new_base)
                if scanned is not None:
                    con.execute(f"INSERT OR REPLACE INTO {BASE_KEYWORDS} VALUES (?, ?)",
                                (base, json.dumps(sorted(set(scanned)))))
            _insert(con, TABLE, _COLUMNS, row)
            con.execute(
                f"DELETE FROM {TABLE} WHERE key NOT IN "
                f"(SELECT key FROM {TABLE} ORDER BY created DESC LIMIT {KEEP})"
            )
            con.execute(f"DELETE FROM {BASES} WHERE id NOT IN (SELECT base FROM {TABLE})")
            con.execute(f"DELETE FROM {BASE_KEYWORDS} WHERE base NOT IN (SELECT base FROM {TABLE})")
            con.execute(f"DELETE FROM {OUTPUTS} WHERE key NOT IN (SELECT key FROM {TABLE})"
                        f" OR key = ?", (key,))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def restat(self, row: StoredResult, files: str, records: Sequence[dict],
               entries: Sequence[tuple], total: int) -> bool:
        """Store ``row``'s result again for file-set digest ``files``: the same jobs, datasets
        and rendered output, with ``records`` (field dictionaries) and walk ``entries`` (of
        the changed files) replacing the row's. False (nothing stored) when the delta would outgrow the base
        (of ``total`` files) or the row changed meanwhile (another process stored)."""
        import time

        rd, ed = row.delta(raw=True)
        rd.update({d["path"]: d for d in records})
        ed.update({e[0]: e for e in entries})
        if not _small(rd, ed, total):
            return False
        new = (row.key, row.class_key, files, time.time_ns(), row.base, _delta_blob(rd, ed),
               row._result, row.targets, row.quick)
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        try:
            now = con.execute(f"SELECT files, base FROM {TABLE} WHERE key = ?", (row.key,)).fetchone()
            if now != (row.files, row.base):
                con.execute("ROLLBACK")
                return False
            con.execute(f"INSERT OR REPLACE INTO {TABLE} VALUES (?,?,?,?,?,?,?,?,?)", new)
            con.execute(f"UPDATE {OUTPUTS} SET files = ? WHERE key = ? AND files = ?",
                        (files, row.key, row.files))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return True

    def attach(self, key: str, files: str, kind: str, text: bytes) -> None:
        """Keep rendered output (``kind`` "json" or "summary") with the stored result it was
        made from."""
        if kind.split(":")[0] not in ("json", "summary"):
            raise ValueError(f"unknown output kind {kind!r}")
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        try:
            if con.execute(f"SELECT 1 FROM {TABLE} WHERE key = ? AND files = ?",
                           (key, files)).fetchone():
                con.execute(f"INSERT OR REPLACE INTO {OUTPUTS} VALUES (?,?,?,?)",
                            (key, files, kind, text))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def has_output(self, key: str, files: str, kind: str) -> bool:
        """Whether rendered output of ``kind`` is attached to the row of ``key`` and ``files``."""
        try:
            return self.con.execute(
                f"SELECT 1 FROM {OUTPUTS} WHERE key = ? AND kind = ? AND files = ?",
                (key, kind, files)).fetchone() is not None
        except sqlite3.Error:
            return False

    def delta_fits(self, row: StoredResult, changed: int, total: int) -> bool:
        """Whether ``changed`` more records and entries keep ``row``'s delta small."""
        rd, ed = row.delta(raw=True)
        return len(rd) + len(ed) + 2 * changed <= _limit(total)

    def output(self, key: str, files: str, kind: str) -> Iterator[bytes] | None:
        """Rendered output attached to the row of ``key`` and ``files`` (only that column),
        in pieces (:func:`output_pieces`)."""
        if kind.split(":")[0] not in ("json", "summary"):
            raise ValueError(f"unknown output kind {kind!r}")
        try:
            row = self.con.execute(
                f"SELECT o.text FROM {OUTPUTS} o JOIN {TABLE} r ON r.key = o.key AND "
                "r.files = o.files WHERE o.key = ? AND o.kind = ? AND o.files = ?",
                (key, kind, files)).fetchone()
        except sqlite3.Error:
            return None
        return None if row is None else output_pieces(row[0])

    def close(self) -> None:
        self.con.close()


class _Spooled:
    """A blob made a part at a time by ``make(write)`` (``instead()``: the whole blob, when
    ``make`` raised ValueError); :func:`_insert` spools it into a temporary file, then copies
    it into the row's blob, so neither the whole blob nor a copy of it is ever in memory
    (sqlite3 copies a bound value whole: the peak memory of storing a large result)."""

    def __init__(self, make: Callable[[Callable[[bytes], Any]], None],
                 instead: Callable[[], bytes] | None = None):
        self.make, self.instead = make, instead

    child: tuple[int, Any] | None = None  # a forked child spooling it (pid, the file)
    files: list | None = None  # the records it is the stored form of (records_spool)

    @classmethod
    def forked(cls, make: Callable[[Callable[[bytes], Any]], None],
               instead: Callable[[], bytes] | None = None) -> _Spooled:
        """A blob a forked child starts spooling now (where a child can be forked safely:
        :func:`reflexng.fits.walk.fork_is_safe`), while this process goes on: the records of
        a first organise are packed on the core the planning leaves idle."""
        import tempfile

        from reflexng.fits.walk import exit_after, fork_is_safe

        out = cls(make, instead)
        if not fork_is_safe():
            return out
        f = tempfile.TemporaryFile()
        try:
            pid = os.fork()
        except OSError:
            f.close()
            return out
        if pid == 0:  # the child: spool, flush (its exit skips that), leave
            exit_after(lambda: (make(f.write), f.flush()))
        out.child = (pid, f)
        return out

    def close(self) -> None:
        """Wait for the spooling child and drop its file, if the blob was not used."""
        self._taken()

    def _taken(self):
        """The spooling child's file, complete (None without a child or when it failed)."""
        if self.child is None:
            return None
        pid, f = self.child
        self.child = None
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            status = 1
        if status != 0:
            f.close()
            return None
        f.seek(0)
        return f

    def whole(self) -> bytes:
        with self.spool() as f:
            return f.read()

    def spool(self):
        import tempfile

        got = self._taken()
        if got is not None:
            return got
        f = tempfile.TemporaryFile()
        try:
            try:
                self.make(f.write)
            except ValueError:
                if self.instead is None:
                    raise
                f.seek(0)
                f.truncate()
                f.write(self.instead())
            f.seek(0)
            return f
        except BaseException:
            f.close()
            raise


def records_spool(files: list) -> _Spooled:
    """The stored form of the records ``files``, packed by a forked child from now on (where
    one can be forked) for :meth:`ResultStore.put` (``records=``); the caller
    closes it (:meth:`_Spooled.close`) once the put is done."""
    return _records_spool(files, fork=True)


def _records_spool(files: list, fork: bool) -> _Spooled:
    make = _Spooled.forked if fork else _Spooled
    out = make(lambda w: write_chunks(files, w), lambda: pickled_records(files))
    out.files = files
    return out


_COPY = 1 << 20  # bytes copied into a blob at a time (and values this large are copied)


def _insert(con: sqlite3.Connection, table: str, columns: Sequence[str], values: Sequence) -> None:
    """INSERT OR REPLACE a row; its :class:`_Spooled` values are spooled, then copied into the
    row's blobs a megabyte at a time, and so are its other large values (SQLite would build a
    row holding a bound blob, or a zero blob followed by other values, whole in memory).
    Without ``blobopen`` (Python < 3.11) the values are bound."""
    if not hasattr(con, "blobopen"):
        con.execute(f"INSERT OR REPLACE INTO {table} VALUES ({', '.join('?' * len(values))})",
                    [v.whole() if isinstance(v, _Spooled) else v for v in values])
        return
    big = {c: v for c, v in zip(columns, values) if isinstance(v, _Spooled)
           or (isinstance(v, (bytes, bytearray)) and len(v) >= _COPY)}
    spooled = {c: v.spool() for c, v in big.items() if isinstance(v, _Spooled)}
    try:
        marks = ", ".join(["zeroblob(?)" if c in big else "?" for c in columns])
        params = [(os.fstat(spooled[c].fileno()).st_size if c in spooled else len(v))
                  if c in big else v for c, v in zip(columns, values)]
        rowid = con.execute(f"INSERT OR REPLACE INTO {table} VALUES ({marks})", params).lastrowid
        for column, v in big.items():
            with con.blobopen(table, column, rowid) as blob:
                if column in spooled:
                    while part := spooled[column].read(_COPY):
                        blob.write(part)
                else:
                    view = memoryview(v)
                    for i in range(0, len(view), _COPY):
                        blob.write(view[i : i + _COPY])
    finally:
        for f in spooled.values():
            f.close()


def _shell(result):
    """A copy of ``result`` without files and job graph (those are stored apart / rebuilt)."""
    import copy

    shell = copy.copy(result)
    shell.__dict__.pop("_file_index", None)
    shell.files = []
    shell.job_graph = None
    return shell


# ---------------------------------------------------------------------------- CLI fast path

VALIDATED = "organise_validated"  # cascade fingerprints (with the code's) that validated clean


def _validated_id(cascade_path: str) -> str:
    return hashlib.sha256(f"{code_fingerprint()}|{cascade_fingerprint(cascade_path)}".encode()).hexdigest()


DEPS = "organise_cascade_deps"  # modules a cascade imported when it was loaded
# cascade path -> source files of the modules it imported when loaded in this process
# (registered by whoever loaded it; part of the request key)
_DEPENDENCIES: dict[str, list[str]] = {}


def register_dependencies(cascade_path: str, files: Iterable[str]) -> None:
    """Make the modules a cascade imported part of its stored results' keys (the CLI
    registers what ``load`` imported; without it only the cascade's folder counts)."""
    _DEPENDENCIES[os.fspath(cascade_path)] = sorted(set(files))


def module_files(names: Iterable[str]) -> list[str]:
    """Source files of the named (loaded) modules."""
    import sys

    out = []
    for n in names:
        f = getattr(sys.modules.get(n), "__file__", None)
        if f:
            out.append(os.path.abspath(f))
    return sorted(set(out))


def _stats(files: Iterable[str]) -> list[list]:
    out = []
    for f in files:
        try:
            st = os.stat(f)
            out.append([f, st.st_size, st.st_mtime_ns])
        except OSError:
            out.append([f, -1, -1])
    return out


def remember_dependencies(workdir: str | os.PathLike, cascade_path: str, files: Iterable[str]) -> None:
    """Keep size + mtime of the modules a cascade imported (helpers anywhere: an instrument
    package, a shared module); the CLI's fast path re-checks them."""
    con = sqlite3.connect(db_path(workdir), timeout=30.0, isolation_level=None)
    try:
        con.execute(f"CREATE TABLE IF NOT EXISTS {DEPS} (id TEXT PRIMARY KEY, deps TEXT)")
        con.execute(f"INSERT OR REPLACE INTO {DEPS} VALUES (?, ?)",
                    (_validated_id(cascade_path), json.dumps(_stats(files))))
    finally:
        con.close()


def dependencies_unchanged(st: ResultStore, cascade_path: str) -> list[str] | None:
    """The modules the cascade imported at its last load when they are all unchanged,
    else None."""
    try:
        row = st.con.execute(f"SELECT deps FROM {DEPS} WHERE id = ?",
                             (_validated_id(cascade_path),)).fetchone()
    except sqlite3.Error:
        return None
    if row is None:
        return None
    deps = json.loads(row[0])
    files = [d[0] for d in deps]
    return files if _stats(files) == deps else None


def writable(workdir: str | os.PathLike) -> bool:
    """Whether results can be stored in ``workdir`` (a read-only one is organised without)."""
    folder = os.fspath(workdir)
    path = db_path(folder)
    if not os.path.isdir(folder):
        return True  # created by organise()
    return os.access(folder, os.W_OK) and (not os.path.exists(path) or os.access(path, os.W_OK))


def was_validated(workdir: str | os.PathLike, cascade_path: str) -> bool:
    """True when this cascade, with these contents and this code, loaded without validation
    errors before in ``workdir`` (the CLI then loads it without validating again)."""
    path = db_path(workdir)
    if not os.path.isfile(path):
        return False
    try:
        con = sqlite3.connect(path, timeout=30.0)
        try:
            row = con.execute(f"SELECT 1 FROM {VALIDATED} WHERE id = ?",
                              (_validated_id(cascade_path),)).fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return False
    return row is not None


def mark_validated(workdir: str | os.PathLike, cascade_path: str) -> None:
    """Remember a validated cascade (best effort: a read-only or full work directory skips it)."""
    try:
        con = sqlite3.connect(db_path(workdir), timeout=30.0, isolation_level=None)
        try:
            con.execute(f"CREATE TABLE IF NOT EXISTS {VALIDATED} (id TEXT PRIMARY KEY)")
            con.execute(f"INSERT OR IGNORE INTO {VALIDATED} VALUES (?)", (_validated_id(cascade_path),))
        finally:
            con.close()
    except sqlite3.OperationalError:
        pass



class OutputPacker:
    """Compresses rendered output as it is written (the CLI keeps no second copy of a large
    ``--json`` document in memory); :meth:`blob` is what :meth:`ResultStore.attach` takes."""

    def __init__(self, encoding: str = "utf-8", errors: str = "strict") -> None:
        import zlib

        self._z = zlib.compressobj(1)
        self._parts: list[bytes] = [b"Z"]
        self.encoding, self.errors = encoding, errors

    def add(self, text: str) -> None:
        self._parts.append(self._z.compress(text.encode(self.encoding, self.errors)))

    def blob(self) -> bytes:
        self._parts.append(self._z.flush())
        return b"".join(self._parts)


_PIECE = 1 << 16  # compressed bytes inflated at a time


def output_pieces(blob: bytes | None) -> Iterator[bytes] | None:
    """The text of a stored output, inflated a piece at a time (written out as it comes,
    the pieces reuse memory the cache holds: for the 65 MB of 300,000 files ~0.1 s against
    0.2-0.3 s for inflating it whole, then writing it). Raises ``zlib.error`` on a damaged blob."""
    if blob is None or blob[:1] != b"Z":
        return None
    import zlib

    def pieces() -> Iterator[bytes]:
        inflate = zlib.decompressobj()
        view = memoryview(blob)[1:]
        for i in range(0, len(view), _PIECE):
            yield inflate.decompress(view[i : i + _PIECE])
        yield inflate.flush()
        if not inflate.eof:
            raise zlib.error("stored output ends early")

    return pieces()


# roots -> (Walked, folders, file-set digest), or the WalkAhead that will give them
_LAST_WALK: dict[tuple[str, ...], Any] = {}
# (database, request key, file-set digest) that organise.restat declined in this process
_DECLINED: set[tuple[str, str, str]] = set()


def declined(db: str, key: str, files: str) -> bool:
    """Whether :func:`stored_output` found in this process that the stored result of ``key``
    cannot be restamped for file set ``files`` (once)."""
    try:
        _DECLINED.remove((db, key, files))
    except KeyError:
        return False
    return True


def walk_ahead(data_dirs: Sequence[str]) -> None:
    """Start walking ``data_dirs`` in a forked child where that is safe
    (``reflexng.fits.walk.WalkAhead``), for organise to take (the command line, into a work
    directory with nothing stored: :func:`stored_output` walks at once itself)."""
    from reflexng.fits.walk import WalkAhead

    drop_walks()
    roots = tuple(str(Path(d).resolve()) for d in data_dirs)
    ahead = WalkAhead.start(roots)
    if ahead is not None:
        _LAST_WALK[roots] = ahead


def drop_walks() -> None:
    """Forget the walks made for organise (a walk ahead not taken is stopped)."""
    for walked in _LAST_WALK.values():
        if hasattr(walked, "stop"):
            walked.stop()
    _LAST_WALK.clear()


def take_walk(roots: Sequence[str]) -> tuple[Any, list, str] | None:
    """The walk :func:`stored_output` made (or :func:`walk_ahead` started) of ``roots`` in
    this process (once): its ``Walked``, folders and file-set digest; None without one.
    Using it is safe: organise checks the folders again when it has finished."""
    walked = _LAST_WALK.pop(tuple(roots), None)
    return walked.take() if hasattr(walked, "take") else walked


def locate_cascade(name_or_path: str) -> str | None:
    """Where ``reflexng.cascade.find_cascade`` finds a cascade, without importing the cascade
    package (None when not found: the slow path then reports the error)."""
    p = Path(name_or_path)
    if p.suffix == ".py" or os.sep in str(name_or_path) or p.exists():
        return str(p.resolve()) if p.is_file() else None
    folders = [Path(d) for d in os.environ.get("REFLEXNG_CASCADE_PATH", "").split(os.pathsep) if d]
    try:
        import platformdirs

        folders.append(Path(platformdirs.user_data_dir("reflexng", appauthor=False)) / "cascades")
    except Exception:
        pass
    from reflexng._paths import cascades_dir

    folders.append(cascades_dir())
    for folder in folders:
        candidate = folder / f"{name_or_path}.py"
        if candidate.is_file():
            return str(candidate.resolve())
    return None


def stored_output(
    cascade: str,
    data_dirs: Sequence[str],
    workdir: str,
    kind: str,
    *,
    target: str | None = None,
    workflow_parameters: Mapping[str, Any] | None = None,
    parameter_set: str | None = None,
    recipe_parameters: Mapping[str, Mapping[str, Any]] | None = None,
    prefer: str = "raw",
) -> Iterator[bytes] | None:
    """The stored ``kind`` output ("json"/"summary", in pieces) of ``reflexng organise`` with these
    arguments when the cascade, the code and the files are unchanged, or when only files'
    times changed, not their headers (restamped: :mod:`reflexng.organiser.restat`); else
    None."""
    from reflexng.fits.walk import walk_parts

    path = locate_cascade(cascade)
    if path is None:
        return None
    st = ResultStore.open_existing(workdir)
    if st is None:
        return None
    try:
        deps = dependencies_unchanged(st, path)
        if deps is None:
            return None
        register_dependencies(path, deps)  # the key the slow path used
        roots = [str(Path(d).resolve()) for d in data_dirs]
        key, _ = keys(path, roots, target, workflow_parameters=workflow_parameters,
                      parameter_set=parameter_set, recipe_parameters=recipe_parameters,
                      excluded=(), prefer=prefer)
        folders: list[tuple[str, int]] = []
        try:
            walked = walk_parts(roots, folders)  # a hit needs only the digest, not the entries
        except OSError:
            return None
        files = walked.digest()
        drop_walks()
        _LAST_WALK[tuple(roots)] = (walked, folders, files)  # for organise(), if this is a miss
        text = st.output(key, files, kind)
        if text is None:  # only files' times changed, not their headers? (organise.restat)
            from reflexng.organiser.restat import refresh

            def scan(todo: list[tuple], keywords: list[str]) -> list:
                from reflexng.fits import scan

                return scan(roots, keywords, cache_db=st.path, entries=todo, subset=True)

            row = st.get(key)
            if row is None or not st.has_output(key, row.files, kind):
                return None
            try:
                if refresh(st, key, walked.entries(), files, folders, scan) is None:
                    _DECLINED.add((st.path, key, files))  # organise() need not try again
                    return None
            except sqlite3.OperationalError:  # a full or read-only disk: organise instead
                return None
            text = st.output(key, files, kind)
        return text
    finally:
        st.close()
