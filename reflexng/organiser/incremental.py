"""Organise with a work directory: stored results and incremental re-organising.

- Unchanged request (cascade contents, code, parameters, data folders) on an unchanged set of
  files (path, size, mtime_ns, inode): the stored result is returned (from memory when this
  process made it, else from ``<workdir>/reflexng.sqlite``).
- The same request, files touched or rewritten with their headers unchanged (a new size
  of the data, mtime or inode, the same header): the stored result is restamped with the
  new sizes and times and stored for the new file set (:mod:`reflexng.organiser.restat`:
  only those files are read; nothing is classified or planned).
- Same cascade, code and workflow parameters, some files changed: the classification of
  every unchanged file is taken from the newest stored result; only new and changed files
  (and files whose header digest now clashes with another's: duplicate candidates) are
  read and classified; jobs and datasets are planned again from all records.
- Another request (an edited cascade, other workflow parameters) with nothing stored for its
  cascade, code and workflow parameters: every file is classified, but only files no stored
  result knows the headers of are read (``store.ResultStore.scanned``: a stored result is the
  organiser's header cache; it writes no header cache rows of its own).
- After organising, the folders' modification times are checked (a file added, removed or
  renamed changes its folder's). When they changed, the folders are walked again and
  organising is repeated on the new state (at most twice more); files that disappeared get
  status ``unreadable`` with the reason, files that keep changing get a reason too, and
  such a result is not stored. A file rewritten in place during organising keeps the state
  that was read; its new mtime makes the next organise read it again.
"""

from __future__ import annotations

import copy
import sqlite3
import sys
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reflexng.cascade.parameters import workflow_values
from reflexng.organiser import store as _store
from reflexng.organiser._gcpause import paused
from reflexng.organiser.model import DUPLICATE, UNREADABLE, OrganiseResult
from reflexng.organiser.planning import _parameter_set, resolve_targets
from reflexng.organiser.restat import plan_reads_headers_only, refresh

GONE = "disappeared while organising (the file or its folder was removed); organise again"
CHANGING = "changed while organising (still being written?); organise again once it is complete"
ATTEMPTS = 3
_MEMO: dict[tuple[str, str], tuple[str, OrganiseResult]] = {}
_MEMO_SIZE = 2


def organise_stored(
    cascade,
    roots: Sequence[str],
    target,
    *,
    workflow_parameters: Mapping[str, Any] | None,
    parameter_set,
    recipe_parameters,
    workdir,
    excluded: set[str],
    prefer: str,
    progress: Callable[..., Any] | None,
    cancelled: Callable[[], bool] | None,
    workers: int,
    build_graph: bool,
    store_later: bool = False,
) -> OrganiseResult:
    """``organise()`` with a work directory (see the module docstring); ``store_later``: see
    ``organise()``."""
    # many small objects, none freed: the collector pauses meanwhile (organiser._gcpause)
    with paused() as made:
        result = _organise_stored(
            cascade, roots, target, workflow_parameters=workflow_parameters,
            parameter_set=parameter_set, recipe_parameters=recipe_parameters, workdir=workdir,
            excluded=excluded, prefer=prefer, progress=progress, cancelled=cancelled,
            workers=workers, build_graph=build_graph, store_later=store_later)
        made.append(result)
    # the scan's cache rows, written by a forked child while this process planned, are all
    # in the work directory before organise returns (fits.scanner, deferred writes)
    scanner = sys.modules.get("reflexng.fits.scanner")
    if scanner is not None:
        scanner.wait_writers()
    return result


def _organise_stored(cascade, roots, target, *, workflow_parameters, parameter_set,
                     recipe_parameters, workdir, excluded, prefer, progress, cancelled, workers,
                     build_graph, store_later=False) -> OrganiseResult:
    from reflexng.fits.walk import walk_parts

    db = _store.db_path(workdir)
    key, class_key = _store.keys(
        cascade.path, roots, target, workflow_parameters=workflow_parameters,
        parameter_set=parameter_set, recipe_parameters=recipe_parameters, excluded=excluded,
        prefer=prefer)
    from reflexng.fits.walk import folders_unchanged

    ps = _parameter_set(cascade, parameter_set)
    workflow_values(cascade, ps, workflow_parameters)  # bad parameters raise before any work
    walked = _store.take_walk(roots)  # the CLI's look-up walked the folders a moment ago
    if walked is None:
        folders: list[tuple[str, int]] = []
        parts = walk_parts(roots, folders)  # a missing data folder raises FileNotFoundError
        files = parts.digest()
    else:
        parts, folders, files = walked
    entries = parts.entries()
    del walked, parts
    memo = _MEMO.get((db, key))
    if memo is not None and memo[0] == files:
        return _handout(memo[1], build_graph, (db, key, files))
    st = _store.ResultStore(db)
    run = None
    try:
        # targets resolved for this very request before (resolving needs the cascade graph)
        targets = st.targets(key)
        if targets is None:
            targets = resolve_targets(cascade, target)
        row = st.get(key, files)
        if row is None:
            run = _Run(cascade, roots, targets, workflow_parameters, parameter_set,
                       recipe_parameters, db, excluded, prefer, progress, cancelled, workers)
        if row is None and not _store.declined(db, key, files):
            try:  # only files' times changed, not their headers? (organiser.restat)
                row = refresh(st, key, entries, files, folders,
                              lambda todo, _keywords: run.scan(todo, subset=True))
            except sqlite3.OperationalError:  # a full disk: organised below, not stored
                row = None
        if row is not None:
            result = row.result()
            _remember(db, key, files, result)
            return _handout(result, build_graph, (db, key, files))
        assert run is not None
        since = st.latest(class_key)
        prev = None if since is None else since.state()
        if since is None:  # read only what no stored result knows the headers of
            run.known = st.scanned(run.keywords)
            run.prespool = True  # a new base: its records packed while planning
        quick = run.keywords if plan_reads_headers_only(cascade) else None
        gone: dict[str, tuple] = {}
        changing: set[str] = set()
        for attempt in range(ATTEMPTS):
            # while organising, the walk entries are kept packed (a first organise's peak
            # memory): the scan and the classification get the only list of them
            packed = _store.pack_entries(entries)
            box = [_work(entries, gone, changing), prev]
            entries = prev = None
            if since is not None:
                since.forget()  # put() needs only its delta
            result = run.organise(box)
            if folders_unchanged(folders):
                after, after_files = None, files
            else:
                folders = []
                after = _walk_existing(roots, folders)
                after_files = _store.files_digest(after)
            if after_files == files:
                if not gone and not changing and store_later and since is None:
                    # a new base: stored when the caller has written the result out
                    # (store_now), the records packed meanwhile by a forked child
                    put = (key, class_key, files, packed, result, targets)
                    later = dict(keywords=quick, scanned=run.keywords, records=run.spooled)
                    run.spooled = None  # (kept for the put)
                    out = _handout(result, build_graph)
                    out.__dict__["_pending"] = (db, put, later)
                    return out
                if not gone and not changing:
                    try:
                        st.put(key, class_key, files, packed, result, targets, since, run.changes,
                               quick, scanned=run.keywords, records=run.spooled)
                    except sqlite3.OperationalError:  # a full disk: organised, not stored
                        return _handout(result, build_graph)
                    _remember(db, key, files, result)
                    return _handout(result, build_graph, (db, key, files))
                return _handout(result, build_graph)
            # the folders changed while organising: never hand out what they no longer hold
            entries = _store.unpack_entries(packed)
            work = _work(entries, gone, changing)  # what this attempt organised
            now = {e[0]: e for e in after}
            before = {e[0]: e for e in entries}
            for p in before.keys() - now.keys():
                gone[p] = (p, 0, 0, 0, GONE)
            for p in now:
                gone.pop(p, None)
            if attempt == ATTEMPTS - 2:  # the last attempt: files still changing say so
                changing = {p for p, e in now.items() if p in before and before[p] != e}
            prev = ({r.path: r for r in result.files}, {e[0]: e for e in work})
            since = None
            entries, files = after, after_files
        return _handout(result, build_graph)
    finally:
        if run is not None:
            run.discard()
        st.close()


def _work(entries: list[tuple], gone: dict[str, tuple], changing: set[str]) -> list[tuple]:
    """The entries to organise: the walk's, files gone meanwhile, files still changing."""
    work = entries + list(gone.values())
    if changing:
        work = [(e[0], e[1], e[2], e[3], CHANGING) if e[0] in changing else e for e in work]
    return work


def _walk_existing(roots: Sequence[str], folders: list) -> list[tuple]:
    """Walk entries of the roots that still exist (a vanished root contributes nothing)."""
    from reflexng.fits.walk import walk

    out: list[tuple] = []
    for r in roots:
        try:
            out.extend(walk([r], folders))
        except FileNotFoundError:
            continue
    if len(roots) > 1:
        out = list({e[0]: e for e in out}.values())
    return out


def _remember(db: str, key: str, files: str, result: OrganiseResult) -> None:
    while len(_MEMO) >= _MEMO_SIZE:
        _MEMO.pop(next(iter(_MEMO)))
    _MEMO[(db, key)] = (files, result)


def store_now(result: OrganiseResult) -> bool:
    """Store a result ``organise(..., store_later=True)`` left to store (see there); True
    when it is stored (now or before), False when it was not (a full disk: the next request
    organises again) or is not to be."""
    pending = result.__dict__.pop("_pending", None)
    if pending is None:
        return result.__dict__.get("_stored") is not None
    db, put, later = pending
    records = later["records"]
    try:
        st = _store.ResultStore(db)
        try:
            st.put(*put, **later)
        finally:
            st.close()
    except sqlite3.OperationalError:  # a full or read-only disk: organised, not stored
        return False
    finally:
        if records is not None:
            records.close()
    key, files, organised = put[0], put[2], put[4]
    _remember(db, key, files, organised)
    result.__dict__["_stored"] = (db, key, files)
    return True


def _handout(result: OrganiseResult, build_graph: bool, stored=None) -> OrganiseResult:
    """A shallow copy (callers may set ``job_graph``), with the job graph when asked for.

    ``stored`` (database, request key, file-set digest) is kept as ``_stored`` on a result
    that is in the store (rendered output may be attached to it: :func:`attach_output`)."""
    from reflexng.organiser.planning import job_graph

    out = copy.copy(result)
    out.__dict__.pop("_file_index", None)
    out.__dict__.pop("_stored", None)
    out.__dict__.pop("_pending", None)
    if stored is not None:
        out.__dict__["_stored"] = stored
    if build_graph and out.job_graph is None:
        out.job_graph = job_graph(out.jobs)
    elif not build_graph:
        out.job_graph = None
    return out


@dataclass(eq=False)
class _Run:
    """One organise request: scan what needs reading, classify it, plan everything."""

    cascade: Any
    roots: Sequence[str]
    target: list[str]
    wp: Mapping[str, Any] | None  # workflow parameters
    ps: Any  # parameter set
    rp: Any  # recipe parameters
    db: str
    excluded: set[str]
    prefer: str
    progress: Callable[..., Any] | None
    cancelled: Callable[[], bool] | None
    workers: int
    # what the last organise() changed against ``prev``: path -> record / entry or None
    changes: tuple[dict, dict] | None = None
    # what a stored result knows of the files' headers (store.ResultStore.scanned), for the
    # next full scan: path -> (size, mtime_ns, inode, values, header digest)
    known: dict[str, tuple] | None = None
    # a first organise: the records' stored form is packed by a forked child while planning
    # (store.records_spool), for the put that follows
    prespool: bool = False
    spooled: Any = None

    def __post_init__(self) -> None:
        from reflexng.organiser.classify import needed_keywords

        self.keywords = needed_keywords(self.cascade)

    def scan(self, entries: list[tuple], subset: bool) -> list:
        from reflexng.fits import scan
        from reflexng.organiser.planning import OrganiseCancelled

        # no header cache of its own: the stored results are the header cache (each file's
        # headers are stored once, in the result it was organised into)
        known = None if subset else self.known
        if not subset:
            self.known = None  # (once: memory)
        try:
            out = scan(self.roots, self.keywords, workers=self.workers, progress=self.progress,
                       cancelled=self.cancelled, entries=entries, subset=subset, known=known)
        except Exception as exc:
            if type(exc).__name__ == "ScanCancelled":
                raise OrganiseCancelled("organising was cancelled during the scan") from exc
            raise
        if self.cancelled is not None and self.cancelled():
            raise OrganiseCancelled("organising was cancelled")
        return out

    def organise(self, box: list) -> OrganiseResult:
        """Organise ``box`` = [walk entries, previous state or None], emptied here (so the
        entries and the previous state are not kept while planning)."""
        from reflexng.organiser.classify import classify
        from reflexng.organiser.planning import _content_hash, _plan

        entries, prev = box
        box.clear()
        content_hash = _content_hash()
        self.changes = None
        if prev is None:
            scanned = self.scan(entries, subset=False)
            del entries
            records = classify(scanned, self.cascade, excluded=self.excluded,
                               content_hash=content_hash)
            del scanned  # the scan's records are not needed while planning
            self.discard()
            if self.prespool:
                self.spooled = _store.records_spool(records)
        else:
            records = self._classify_changed(entries, prev, content_hash)
            del entries, prev
        return _plan(self.cascade, records, self.target, workflow_parameters=self.wp,
                     parameter_set=self.ps, recipe_parameters=self.rp, prefer=self.prefer,
                     build_graph=False, resolved=True)

    def discard(self) -> None:
        """Reap the records spool (used by a put, or not: an attempt organised again, a row
        that keeps its base, an error)."""
        if self.spooled is not None:
            self.spooled.close()
            self.spooled = None

    def _classify_changed(self, entries, prev, content_hash) -> list:
        """Records of all files: unchanged ones from ``prev``, the others classified anew."""
        from reflexng.organiser.classify import classify

        old_rec, old_entry = prev  # path -> FileRecord, path -> walk entry
        excluded = self.excluded
        keep: dict[str, Any] = {}
        todo: list[tuple] = []
        kept_digests: list[str] = []
        flipped: list[str] = []  # kept files whose exclusion changed
        get_rec, get_entry = old_rec.get, old_entry.get
        # one pass: each kept record is read while it is in the CPU cache (separate passes
        # over 300k records wait on memory for every one)
        for e in entries:
            p = e[0]
            r = get_rec(p)
            if r is not None and not e[4] and get_entry(p) == e:
                status = r.status
                if status != UNREADABLE and status != DUPLICATE:
                    keep[p] = r
                    kept_digests.append(r.header_digest)
                    if r.excluded != (p in excluded):
                        flipped.append(p)
                    continue
            todo.append(e)
        present = {e[0] for e in entries}
        forget = [p for p in old_entry if p not in present]
        scanned = self.scan(todo, subset=True) if todo else []
        # duplicates depend on other files: every file sharing a header digest with another
        # is classified again, together with the others of its digest
        seen = Counter(kept_digests)
        seen.update([s.header_digest for s in scanned if s.status == "ok"])
        seen.pop("", None)
        clash = {d for d, n in seen.items() if n > 1}
        if clash:
            again = [p for p, r in keep.items() if r.header_digest in clash]
            if again:
                by_path = {e[0]: e for e in entries}
                scanned += self.scan([by_path[p] for p in again], subset=True)
                for p in again:
                    del keep[p]
        fresh = classify(scanned, self.cascade, excluded=excluded, content_hash=content_hash)
        rec_changes: dict[str, Any] = {r.path: r for r in fresh}
        for p in [p for p in flipped if p in keep]:
            keep[p] = rec_changes[p] = keep[p]._replace(excluded=p in excluded)
        by_path = dict(keep)
        by_path.update({r.path: r for r in fresh})
        rec_changes.update(dict.fromkeys(forget))
        ent_changes: dict[str, Any] = {e[0]: e for e in todo}
        ent_changes.update(dict.fromkeys(forget))
        self.changes = (rec_changes, ent_changes)
        return [by_path[p] for p in sorted(by_path)]


def attach_output(result: OrganiseResult, kind: str, text: bytes) -> bool:
    """Keep rendered output of a stored ``result`` (the CLI's ``--json`` text, or its summary)
    for the next unchanged request; False when the result is not stored."""
    if not store_now(result):
        return False
    db, key, files = result.__dict__["_stored"]
    st = _store.ResultStore(db)
    try:
        st.attach(key, files, kind, text)
    finally:
        st.close()
    return True


def clear_memory() -> None:
    """Forget results kept in this process (tests; a store is still consulted)."""
    _MEMO.clear()


__all__ = ["CHANGING", "GONE", "attach_output", "clear_memory", "organise_stored", "store_now"]
