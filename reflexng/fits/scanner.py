"""Scan folders of FITS files: walk, consult the cache, read the rest in worker processes."""

from __future__ import annotations

import marshal
import multiprocessing
import os
import pickle
import threading
import time
from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any, BinaryIO

from reflexng.fits.cache import ScanCache, dumps, loads_many
from reflexng.fits.keyshare import shared
from reflexng.fits.reader import OK, UNREADABLE, KeywordSpec, is_cold, prefetch, read_file
from reflexng.fits.walk import FORK_SAFE_THREADS, ForkedChild, exit_after, fork_is_safe, walk

# below this many files to read, worker processes cost more than they save
MIN_FILES_PER_WORKER = 200
# a cold page cache is detected on one file in PROBE_EVERY; then PREFETCH files are requested
# ahead of the one being read
PROBE_EVERY = 128
PREFETCH = 32
# from this many files to read, their values dictionaries share their keys (fits.keyshare):
# half the memory of the largest part of a record, for ~1 µs a file (3-5 % of reading it)
SHARE_FROM = 50_000
# chunks handed to each worker ahead of the results this process has taken
AHEAD = 3
# the rows of files read are written to the cache in transactions of about this many
WRITE_ROWS = 2048
# where a writer process can be forked (see _deferred_writes), rows wait for it unless the scan
# has been reading this long since the last write (a slow scan keeps its progress meanwhile)
WRITE_EVERY_S = 2.0


class ScanCancelled(Exception):
    """Raised by ``scan`` when its ``cancelled`` callback answered True."""


class ScannedFile(namedtuple("_ScannedFileFields", ("path", "size", "mtime_ns", "inode",
                                                    "status", "reason", "values",
                                                    "header_digest"))):
    """One file found by a scan: path, size, mtime_ns, inode, status, reason, values,
    header_digest (the last three with defaults).

    ``values`` holds the requested keywords the file has (cascade names -> astropy-equal
    values); ``reason`` says why a file is ``unreadable``. ``header_digest`` is a cheap hash of
    the primary header bytes and the file size: equal digests mean "maybe a copy", to be
    confirmed with ``content_hash``. Immutable, and a tuple underneath (made for every file
    of a scan: a tuple is made in one C call, a frozen dataclass a field at a time).
    """

    __slots__ = ()

    def __new__(cls, path: str, size: int, mtime_ns: int, inode: int, status: str,
                reason: str = "", values: dict[str, Any] | None = None,
                header_digest: str = ""):
        return _tuple_new(cls, (path, size, mtime_ns, inode, status, reason,
                                {} if values is None else values, header_digest))


_tuple_new = tuple.__new__


# ---------------------------------------------------------------------------- worker side

_SPECS: dict[Any, KeywordSpec] = {}


def _spec(keywords: tuple[str, ...] | None) -> KeywordSpec:
    spec = _SPECS.get(keywords)
    if spec is None:
        spec = _SPECS[keywords] = KeywordSpec(keywords)
    return spec


def _read_chunk(job: tuple) -> tuple[list[tuple], list[bytes | None] | None] | bytes:
    """Read a chunk of (path, size): ``(results, blobs)``, a result (status, reason, values,
    digest) per file and, with ``for_cache``, each readable file's values in the form the cache
    stores (None when it has none). With ``packed`` (in a worker process) the pair travels as
    one marshal string: one C call each way, several times cheaper than pickling the dicts."""
    keywords, files, for_cache, packed = job
    spec = _spec(keywords)
    results = []
    n = len(files)
    cold = False
    for start in range(0, n, PROBE_EVERY):
        block = files[start : start + PROBE_EVERY]
        # after a cold block the next PREFETCH files were requested already: probe beyond them
        cold = is_cold(block[min(PREFETCH if cold else 0, len(block) - 1)][0])
        if not cold:
            results.extend([read_file(path, size, spec) for path, size in block])
            continue
        # cold page cache: ask the kernel for the next files' headers while reading this one,
        # so the disk has several requests in flight
        ahead = files[start : start + PROBE_EVERY + PREFETCH]
        for path, _ in ahead[:PREFETCH]:
            prefetch(path)
        for i, (path, size) in enumerate(block):
            if i + PREFETCH < len(ahead):
                prefetch(ahead[i + PREFETCH][0])
            results.append(read_file(path, size, spec))
    blobs = [dumps(r[2]) if r[0] == OK else None for r in results] if for_cache else None
    if packed:
        try:
            return marshal.dumps((results, blobs))
        except ValueError:  # a value marshal cannot hold: the pool pickles the pair instead
            pass
    return results, blobs


# ---------------------------------------------------------------------------- parent side

# files are read in inode order: a cold disk is read in fewer seeks on most file systems
_INODE = itemgetter(3)


def _as_read(values: dict) -> dict:
    return values


def _paths(todo: list[tuple], start: int, n: int) -> list[tuple[str, int]]:
    """(path, size) of ``n`` walk entries from ``start`` (what a worker needs of them)."""
    return [(e[0], e[1]) for e in todo[start : start + n]]


def _covers(cache: ScanCache | None, keyset_text: str, names: tuple[str, ...] | None) -> bool:
    """Whether a cached row read for another keyword set answers this request."""
    if cache is None:
        return False
    ks = cache.keyset(keyset_text)
    if ks is False:
        return False
    if names is None:
        return ks is None
    if ks is None:
        return True  # every card was read; a missing name is absent from the file
    return ks.issuperset(names)




def _pool_context() -> Any:
    # fork is cheapest, but unsafe once other threads run (Qt); forkserver then, with only this
    # module preloaded in the server so workers start small
    main = threading.main_thread()
    others = [t for t in threading.enumerate()
              if t is not main and t.name not in FORK_SAFE_THREADS]
    method = "fork" if not others else "forkserver"
    if method not in multiprocessing.get_all_start_methods():
        method = "spawn"
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(["reflexng.fits.scanner"])
    return ctx


def _read_all(
    todo: list[tuple],
    keywords: tuple[str, ...] | None,
    workers: int,
    on_chunk: Callable[[int, tuple], None],
    cancelled: Callable[[], bool] | None,
    for_cache: bool = False,
) -> None:
    """Read ``todo`` (walk entries: path, size, ...) in chunks; ``on_chunk(first index,
    (results, blobs))`` in order (see ``_read_chunk``)."""
    n = len(todo)
    if workers <= 1 or n < MIN_FILES_PER_WORKER * 2:
        step = 256
        for i in range(0, n, step):
            if cancelled is not None and cancelled():
                raise ScanCancelled("scan cancelled")
            on_chunk(i, _read_chunk((keywords, _paths(todo, i, step), for_cache, False)))
        return
    size = max(64, min(1024, -(-n // (workers * 8))))
    starts = range(0, n, size)
    if fork_is_safe():
        _read_forked(todo, keywords, min(workers, len(starts)), size, on_chunk, cancelled,
                     for_cache)
        return
    # at most AHEAD chunks per worker are given out before this process has taken the results
    # of earlier ones: on a busy machine the workers outpace it, and what they send would pile
    # up here (the peak memory of a large first organise)
    slots = threading.Semaphore(AHEAD * workers)
    stop = False

    def jobs():  # consumed by the pool's task thread
        for i in starts:
            slots.acquire()
            if stop:
                return
            yield (keywords, _paths(todo, i, size), for_cache, True)

    ctx = _pool_context()
    pool = ctx.Pool(min(workers, len(starts)))
    try:
        for start, res in zip(starts, pool.imap(_read_chunk, jobs())):
            on_chunk(start, marshal.loads(res) if type(res) is bytes else res)
            del res
            slots.release()
            if cancelled is not None and cancelled():
                raise ScanCancelled("scan cancelled")
        pool.close()
    except BaseException:
        stop = True  # the task thread leaves the generator (terminate() waits for it)
        for _ in starts:
            slots.release()
        pool.terminate()
        raise
    finally:
        pool.join()


def _read_forked(todo: list[tuple], keywords: tuple[str, ...] | None, workers: int, size: int,
                 on_chunk: Callable[[int, tuple], None], cancelled: Callable[[], bool] | None,
                 for_cache: bool) -> None:
    """:func:`_read_all` by ``workers`` forked children (where forking is safe: POSIX, no
    other threads), without a pool: each child reads every ``workers``-th chunk of ``todo``
    (which it has from the fork: nothing is sent to it) and sends each chunk's results
    through its own pipe as soon as they are read, the parent takes them in order. A pool
    would pickle every chunk's paths to its worker and move every result through two threads
    of this process, which competes with the children for the cores. A pipe holds little:
    a child waits while this process is behind (the peak memory stays that of a chunk or two
    per child). A child that fails, or cannot be forked, has its chunks read here."""
    starts = range(0, len(todo), size)
    children: list[ForkedChild] = []

    def send(mine: range, pipe: BinaryIO) -> None:
        for start in mine:
            res = _read_chunk((keywords, _paths(todo, start, size), for_cache, True))
            data = res if type(res) is bytes else b"P" + pickle.dumps(res, 5)
            pipe.write(len(data).to_bytes(8, "little") + data)

    try:
        for w in range(workers):
            child = ForkedChild.fork(lambda pipe, mine=starts[w::workers]: send(mine, pipe),
                                     children)
            if child is None:
                break
            children.append(child)
        dead: set[int] = set()
        for k, start in enumerate(starts):
            w = k % workers
            payload = None
            if w < len(children) and w not in dead:
                f = children[w].pipe
                head = f.read(8)
                data = f.read(int.from_bytes(head, "little")) if len(head) == 8 else b""
                if len(head) == 8 and len(data) == int.from_bytes(head, "little"):
                    payload = (pickle.loads(memoryview(data)[1:]) if data[:1] == b"P"
                               else marshal.loads(data))
                else:
                    dead.add(w)  # the child failed: its chunks are read here
            if payload is None:
                payload = _read_chunk((keywords, _paths(todo, start, size), for_cache, False))
            on_chunk(start, payload)
            del payload
            if cancelled is not None and cancelled():
                raise ScanCancelled("scan cancelled")
    except BaseException:
        for child in children:
            child.stop()
        raise
    finally:
        for child in children:
            child.wait()


def scan(
    roots: Sequence[str | Path],
    keywords: Iterable[str] | None,
    *,
    cache_db: str | Path | None = None,
    workers: int = 2,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    entries: Sequence[tuple] | None = None,
    subset: bool = False,
    forget: Iterable[str] = (),
    defer_cache_write: bool = False,
    known: Mapping[str, tuple] | None = None,
) -> list[ScannedFile]:
    """Scan folders (recursively) and files for FITS headers; sorted by path.

    ``keywords`` are cascade names (``DPR.TYPE``, ``EXPTIME``); None reads every card.
    ``cache_db`` is the work directory's SQLite file (table ``fits_scan_cache``).
    ``progress(done, total)`` is called from this thread; ``cancelled()`` is polled between
    chunks and, when True, stops the scan with ``ScanCancelled``. A missing root raises
    FileNotFoundError; a bad file never raises: it is returned with status ``unreadable``.

    ``entries`` are walk entries (``reflexng.fits.walk.walk``) found already: no walk then.
    With ``subset=True`` they are only some of the files under ``roots`` (the changed ones):
    only their cache rows are consulted and only theirs may be dropped, plus the ``forget``
    paths (files gone since the last scan).

    ``defer_cache_write=True`` lets a forked child write the cache rows after the reading, where
    that is possible (see ``_fork_writer_ok``): the scan returns before they are all written;
    :func:`wait_writers` waits for them (the next scan and the interpreter's exit do).

    ``known`` (path -> (size, mtime_ns, inode, values, header digest)) is what is known of
    some files' headers already (an earlier organise's stored result): a file with the same
    size, mtime and inode is not read.
    """
    names = None if keywords is None else tuple(dict.fromkeys(keywords))
    wait_writers()  # an earlier scan's rows are all in the cache before this one reads it
    if entries is None:
        entries = walk(roots)
        subset = False
    total = len(entries)
    out: list[ScannedFile] = []
    cache = ScanCache(cache_db) if cache_db is not None else None
    try:
        if cache is None:
            cached = {}
        else:
            cached = cache.load([e[0] for e in entries] if subset else None)
        todo: list[tuple] = []  # walk entries of the files to read
        hits: list[tuple] = []  # cache rows (path, size, mtime_ns, inode, keyset, vals, digest)
        # rows of unchanged files read for other keywords: what they knew is kept (by path)
        merge: dict[str, tuple] = {}
        keyset_text = cache.keyset_id(names) if cache is not None else ""
        get = cached.get
        kget = known.get if known else None
        for e in entries:
            path, size, mtime_ns, inode, problem = e
            if problem:
                out.append(ScannedFile(path, size, mtime_ns, inode, UNREADABLE, problem))
                continue
            if kget is not None:
                k = kget(path)
                if k is not None and k[0] == size and k[1] == mtime_ns and k[2] == inode:
                    out.append(_tuple_new(ScannedFile, (path, size, mtime_ns, inode, OK, "",
                                                        k[3], k[4])))
                    continue
            row = get(path)
            if row is not None and row[1] == size and row[2] == mtime_ns and row[3] == inode:
                if row[4] == keyset_text or _covers(cache, row[4], names):
                    hits.append(row)
                    continue
                if names is not None:
                    merge[path] = row
            todo.append(e)
        hit_values = _decode_hits(hits, todo)
        todo.sort(key=_INODE)
        _add_hits(out, hits, hit_values, names, keyset_text)
        done = len(out)
        if progress is not None:
            progress(done, total)

        new_rows: list[tuple] = []
        # the values of a large scan share their keys: ~120 bytes less per file for ~1 µs
        share = len(todo) >= SHARE_FROM
        deferred = (defer_cache_write and cache is not None and len(todo) >= WRITE_ROWS
                    and _fork_writer_ok())
        # rows a forked child writes hold the values, not their stored form: the child makes
        # that (the workers need not send it, and this process need not keep it), and it
        # makes them from the scanned files (this process keeps no rows while reading)
        later = deferred and not merge
        pending = [len(out)]  # later: the files out[pending[0]:] have no row written yet
        last_write = time.monotonic()

        def later_rows() -> list[tuple]:
            return [(path, size, mtime_ns, inode, keyset_text, values, digest)
                    for path, size, mtime_ns, inode, status, _, values, digest
                    in out[pending[0]:] if status == OK]

        def on_chunk(start: int, payload: tuple) -> None:
            nonlocal last_write
            nonlocal done
            results, blobs = payload
            part = todo[start : start + len(results)]
            if merge:
                _merge_chunk(out, new_rows, part, results, blobs, cache, merge, names, keyset_text)
            else:
                if blobs is not None:
                    new_rows.extend([
                        (path, size, mtime_ns, inode, keyset_text, blob, r[3])
                        for (path, size, mtime_ns, inode, _), r, blob in zip(part, results, blobs)
                        if blob is not None
                    ])
                new, keep = _tuple_new, shared if share else _as_read
                out.extend([
                    new(ScannedFile, (path, size, mtime_ns, inode, status, reason, keep(values),
                                      digest))
                    for (path, size, mtime_ns, inode, _), (status, reason, values, digest)
                    in zip(part, results)
                ])
            if (later and len(out) - pending[0] >= WRITE_ROWS
                    and time.monotonic() - last_write >= WRITE_EVERY_S):
                cache.write(_stored_form(later_rows()), ())  # a slow scan keeps its progress
                pending[0] = len(out)
                last_write = time.monotonic()
            elif (len(new_rows) >= WRITE_ROWS and cache is not None
                    and (not deferred or time.monotonic() - last_write >= WRITE_EVERY_S)):
                cache.write(new_rows, ())  # while reading
                new_rows.clear()
                last_write = time.monotonic()
            done += len(results)
            if progress is not None:
                progress(done, total)

        read = False
        try:
            _read_all(todo, names, workers, on_chunk, cancelled,
                      for_cache=cache is not None and not later)
            read = True
        finally:
            if cache is not None:
                drop: list[str] = list(forget)
                if len(hits) < len(cached) and len(out) == total:  # some rows may be stale
                    ok_paths = {f.path for f in out if f.status == OK}
                    drop += _stale(cached, ok_paths, roots)
                if read and deferred and (new_rows or drop or len(out) > pending[0]):
                    keysets = dict(cache._new_keysets)
                    cache.close()
                    cache = None
                    _write_in_child(cache_db, later_rows if later else new_rows, drop, keysets,
                                    later)
                else:
                    cache.write(_stored_form(later_rows()) if later else new_rows, drop)
    finally:
        if cache is not None:
            cache.close()
    out.sort(key=attrgetter("path"))
    return out


# ---------------------------------------------------------------------------- deferred writes
#
# Reading is CPU-bound on every core (the workers read, this process decodes what they send),
# while what follows a scan (classification, planning) runs on one core. Where a process can be
# forked cheaply (POSIX, no other threads), the rows of a scan are written by a forked child
# after the reading, on the core the rest would leave idle (threads would not do: binding each
# row's values needs the interpreter lock). The next scan in this process, and its exit, wait
# for the child, so a later scan never misses a row; a killed child loses only cache rows (the
# files are read again), never the database (one transaction per write).

_WRITERS: list[int] = []
_REAPER = False


def _fork_writer_ok() -> bool:
    return hasattr(os, "fork") and _pool_context().get_start_method() == "fork"


def _stored_form(rows: list[tuple]) -> list[tuple]:
    """Cache rows holding values as rows holding their stored form (a value with no stored
    form: the row is left out, as a worker leaves it out)."""
    out = []
    for path, size, mtime_ns, inode, keyset, values, digest in rows:
        blob = dumps(values)
        if blob is not None:
            out.append((path, size, mtime_ns, inode, keyset, blob, digest))
    return out


def _write_in_child(db, rows: list[tuple] | Callable[[], list[tuple]], drop: list[str],
                    keysets: dict[str, str], values: bool = False) -> None:
    """Write ``rows`` (or the rows ``rows()`` makes, made in the child) in a forked child."""
    global _REAPER

    def write() -> None:
        _write_rows(db, rows() if callable(rows) else rows, drop, keysets, values)

    try:
        pid = os.fork()
    except OSError:  # no memory for a child: written here
        write()
        return
    if pid == 0:  # the child: write, then leave without the parent's clean-up
        exit_after(write)
    _WRITERS.append(pid)
    if not _REAPER:
        import atexit

        atexit.register(wait_writers)
        _REAPER = True


def _write_rows(db, rows: list[tuple], drop: list[str], keysets: dict[str, str],
                values: bool = False) -> None:
    """The deferred rows (``values``: holding values, see :func:`_stored_form`), in parts:
    the parent's own writes (its stored result) wait for one part at most."""
    cache = ScanCache(db)
    try:
        cache._new_keysets.update(keysets)
        parts = [rows[i : i + WRITE_ROWS] for i in range(0, len(rows), WRITE_ROWS)] or [[]]
        form = _stored_form if values else list
        for part in parts[:-1]:
            cache.write(form(part), ())
        cache.write(form(parts[-1]), drop)
    finally:
        cache.close()


def wait_writers() -> None:
    """Wait until the cache rows of earlier scans in this process are written."""
    while _WRITERS:
        pid = _WRITERS.pop()
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def _decode_hits(hits: list[tuple], todo: list[tuple]) -> list[dict]:
    """The values of the cached rows in ``hits``; a row that does not decode to values (a
    damaged database) is dropped from ``hits`` and its file added to ``todo`` (read again)."""
    blobs = [h[5] for h in hits]
    try:
        values = loads_many(blobs)
        if all(type(v) is dict for v in values):
            return values
    except (ValueError, EOFError, TypeError):
        pass
    good, values = [], []
    for h in hits:
        try:
            v = loads_many([h[5]])[0]
        except (ValueError, EOFError, TypeError):
            v = None
        if type(v) is dict:
            good.append(h)
            values.append(v)
        else:
            todo.append((h[0], h[1], h[2], h[3], ""))
    hits[:] = good
    return values


def _add_hits(out: list[ScannedFile], hits: list[tuple], decoded: list[dict], names,
              keyset_text: str) -> None:
    """Cached files; rows read for more names are narrowed to the requested ones."""
    wanted = None if names is None else set(names)
    append, new = out.append, _tuple_new
    for (path, size, mtime_ns, inode, ks, _, digest), values in zip(hits, decoded):
        if ks != keyset_text and wanted is not None:
            values = {k: v for k, v in values.items() if k in wanted}
        append(new(ScannedFile, (path, size, mtime_ns, inode, OK, "", values, digest)))


def _merge_chunk(out, new_rows, part, results, blobs, cache, merge, names, keyset_text) -> None:
    """``on_chunk`` when some files' older rows (other keywords) are kept: merged per file."""
    for i, ((path, size, mtime_ns, inode, _), (status, reason, values, digest)) in enumerate(
        zip(part, results)
    ):
        if status == OK and cache is not None:
            blob = blobs[i] if blobs is not None else None
            row = merge.get(path)
            ks_text = keyset_text
            if row is not None:
                values, ks_text = _merge_cached(cache, row, values, names, keyset_text)
                blob = dumps(values)
            if blob is not None:
                new_rows.append((path, size, mtime_ns, inode, ks_text, blob, digest))
            if len(values) > len(names):
                values = {k: values[k] for k in names if k in values}
        out.append(ScannedFile(path, size, mtime_ns, inode, status, reason, values, digest))


def _merge_cached(cache: ScanCache, row: tuple, values: dict, names, keyset_text: str):
    """Keep what an unchanged file's older row knew about other keywords."""
    ks = cache.keyset(row[4])
    if not ks:  # another format, or a row of every card (which would have been a hit)
        return values, keyset_text
    try:
        old = loads_many([row[5]])[0]
    except (ValueError, EOFError, TypeError):
        return values, keyset_text
    if type(old) is not dict:
        return values, keyset_text
    merged = {k: v for k, v in old.items() if k not in names}
    merged.update(values)
    return merged, cache.keyset_id(ks.union(names))


def _stale(cached: dict, ok_paths: set[str], roots: Sequence[str | Path]) -> list[str]:
    """Cached paths under the scanned roots that are gone or no longer readable."""
    exact = {os.path.abspath(os.fspath(r)) for r in roots}
    folders = tuple(p.rstrip(os.sep) + os.sep for p in exact)
    return [p for p in cached if p not in ok_paths and (p in exact or p.startswith(folders))]
