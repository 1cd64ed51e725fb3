"""Find FITS files under folders: one ``os.scandir`` walk that also yields each file's stat.

Rules: folders are scanned recursively; folders whose name starts with ``.`` are skipped
(hidden files are not); symbolic links are followed, and a folder already visited (same
``st_dev``/``st_ino``) is not entered again, so symlink loops end. A file is considered when
its name ends (case-insensitively) in one of ``FITS_SUFFIXES``. A root given as a file is
always considered. A folder named like a FITS file (``x.fits``) is reported as unreadable
("is a folder") and its contents are scanned like any folder's.

A large walk is shared out: the stat of every file is most of an unchanged re-organise,
and one core would do it all. Once the walk has seen ``SPLIT_AFTER`` entries, the folders
still to list are dealt into ``SHARES`` shares, each listed as if alone (knowing only the
folders seen before the deal); where a process can be forked safely (POSIX, no other
threads: :func:`fork_is_safe`) forked children list some shares, one child per further
core, and send back per folder its entries. Shares are added in order, a folder an earlier
share (or the walk before the deal) entered skipped, so the result is the same, in the same
order, however many processes listed it: an unchanged tree gives the same entries in the
same order every time, in the GUI (threads: no child) as on the command line.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import signal
import stat
import threading
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from pathlib import Path
from typing import BinaryIO, NoReturn

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fits.fz")
# entries seen before the rest of a walk is dealt into SHARES shares (the order of a walk's
# result depends on both: changing them changes every stored file-set digest once)
SPLIT_AFTER = 20000
SHARES = 4
# a folder of this many entries or more, listed before the deal, has half of its entries
# stat'ed by a forked child (where one can be forked safely)
BIG_FOLDER = 4096
# threads that never hold a lock a forked child needs (the CLI's Ctrl-C watcher waits in
# sigwait): they do not stop a walk or a scan from forking
FORK_SAFE_THREADS = frozenset({"reflexng-ctrl-c"})
SPLITS = 0  # children forked by walks in this process (for tests and benchmarks)


def is_fits_name(name: str) -> bool:
    """True when a file name has one of the considered FITS suffixes (any case)."""
    return name.lower().endswith(FITS_SUFFIXES)


def fork_is_safe() -> bool:
    """True when this process may fork a child that runs Python: POSIX, and no thread but
    the main one (and ``FORK_SAFE_THREADS``) could hold a lock the child needs."""
    if not hasattr(os, "fork"):
        return False
    main = threading.main_thread()
    if threading.current_thread() is not main:
        return False
    return all(t is main or t.name in FORK_SAFE_THREADS for t in threading.enumerate())


def exit_after(work: Callable[[], object]) -> NoReturn:
    """In a forked child: run ``work``, then leave without the parent's clean-up, by exit code
    0 when it finished and 1 when it raised (the parent reads the code)."""
    code = 1
    try:
        work()
        code = 0
    except BaseException:  # noqa: BLE001 - the child reports by its exit code
        pass
    finally:
        os._exit(code)


# one entry: (path, size, mtime_ns, inode, problem) — problem is "" or the reason it is unreadable
Entry = tuple[str, int, int, int, str]


def entries_digest(entries: Sequence[tuple]) -> str:
    """Digest of walk entries in walk order (the file set of a stored result).

    The walk lists an unchanged folder in the same order; a folder listed in another order
    only costs a re-organise (a miss), never a wrong hit. marshal format 2 writes no
    back-references, so equal entries give equal bytes in every process, and a list's
    bytes are its length and then its items' bytes: :meth:`Walked.digest` hashes the
    folders' listings as the children sent them, without making the entries.
    """
    return hashlib.sha256(marshal.dumps([tuple(e) for e in entries], 2)).hexdigest()


class Walked:
    """A walk's entries as its folders' listings, in order: lists of entries, (marshal
    format 2) bytes of the listings forked children made, and (list, bytes) pairs of this
    process's listings packed while it waited for them. :meth:`digest` needs no entries
    made: an unchanged re-organise, which needs only the digest, never makes them."""

    __slots__ = ("_parts",)

    def __init__(self, parts: list):
        self._parts = parts

    def digest(self) -> str:
        """``entries_digest(self.entries())``, from the listings as they are."""
        blobs = [_packed(part) for part in self._parts]
        # a listing packed while waiting is kept as its entries only
        self._parts = [part[0] if type(part) is tuple else part for part in self._parts]
        n = sum(int.from_bytes(blob[1:5], "little") for blob in blobs)
        h = hashlib.sha256(b"[" + n.to_bytes(4, "little"))
        for blob in blobs:
            h.update(memoryview(blob)[5:])
        return h.hexdigest()

    def entries(self) -> list[Entry]:
        """The entries (made once; the listings are let go of as they are added)."""
        parts = self._parts
        if len(parts) == 1 and type(parts[0]) is list:
            return parts[0]
        out: list[Entry] = []
        for i, part in enumerate(parts):
            out.extend(_unpacked(part))
            parts[i] = None
        self._parts = [out]
        return out


def _packed(part: list | bytes | tuple) -> bytes:
    """A listing's marshal format 2 bytes (see :class:`Walked`)."""
    if type(part) is bytes:
        return part
    return part[1] if type(part) is tuple else marshal.dumps(part, 2)


def _unpacked(part: list | bytes | tuple) -> list[Entry]:
    """A listing's entries (see :class:`Walked`)."""
    if type(part) is bytes:
        return marshal.loads(part)
    return part[0] if type(part) is tuple else part


def walk(roots: Sequence[str | Path], folders: list[tuple[str, int]] | None = None) -> list[Entry]:
    """Every candidate file under ``roots`` with its stat, in an order that depends only on
    the tree (not on whether the walk was shared out).

    ``folders``, when given, receives (path, mtime_ns) of every folder entered: a file
    added, removed or renamed in a folder changes the folder's mtime (see
    :func:`folders_unchanged`). Raises FileNotFoundError when a root does not exist.
    """
    return walk_parts(roots, folders).entries()


def walk_parts(roots: Sequence[str | Path], folders: list[tuple[str, int]] | None = None) -> Walked:
    """:func:`walk`, its entries made only when asked for (:class:`Walked`)."""
    out: list[Entry] = []
    seen: set[tuple[int, int]] = set()
    stack: list[tuple[str, tuple[int, int]]] = []
    found: list[tuple[str, int]] = [] if folders is None else folders
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
            key = (st.st_dev, st.st_ino)
            if key not in seen:
                seen.add(key)
                stack.append((path, key))
                found.append((path, st.st_mtime_ns))
        else:
            out.append(_file_entry(path, st))
    split = fork_is_safe()
    while stack and (len(out) < SPLIT_AFTER or len(stack) < 2):
        folder, _ = stack.pop()
        _list(folder, out, stack, seen, found, split)
    parts: list = [out]
    if stack:
        _walk_shares(stack, seen, parts, found)
    if len(roots) > 1:  # a file given as a root and found in a folder root too: once
        return Walked([list({e[0]: e for e in Walked(parts).entries()}.values())])
    return Walked(parts)


def _list(folder: str, out: list, stack: list, seen: set, found: list, split: bool = False) -> None:
    """List one folder: its candidate files and problems into ``out``, its sub-folders not
    yet seen onto ``stack`` (and their (path, mtime_ns) into ``found``). ``split`` (where a
    child can be forked safely): a folder of ``BIG_FOLDER`` entries or more has the second
    half of its entries stat'ed by a forked child meanwhile."""
    try:
        listing = _Listing(folder)
    except OSError as exc:
        out.append((folder, 0, 0, 0, f"cannot list folder: {exc.strerror or exc}"))
        return
    prefix = listing.prefix
    subs: list[tuple[str, tuple[int, int], int]] = []
    with listing as entries:
        if split:
            first = list(islice(entries, BIG_FOLDER))
            if len(first) < BIG_FOLDER:
                _entries(first, prefix, out, subs)
            else:
                _entries_split(first + list(entries), prefix, out, subs)
        else:
            _entries(entries, prefix, out, subs)
    for path, key, mtime_ns in subs:
        if key not in seen:
            seen.add(key)
            stack.append((path, key))
            found.append((path, mtime_ns))


def _entries(entries: Iterable[os.DirEntry], prefix: str, out: list, subs: list) -> None:
    """A folder's entries: candidate files and problems into ``out``, (path, (st_dev,
    st_ino), mtime_ns) of each sub-folder (not hidden) into ``subs``."""
    fits_suffixes, regular, append = FITS_SUFFIXES, stat.S_IFREG, out.append
    for entry in entries:
        name = entry.name
        if name.lower().endswith(fits_suffixes):
            try:
                st = entry.stat()
            except OSError as exc:
                reason = exc.strerror or str(exc)
                if entry.is_symlink():
                    reason = f"broken symbolic link ({reason})"
                append((prefix + name, 0, 0, 0, f"cannot read: {reason}"))
                continue
            mode = st.st_mode & 0o170000
            if mode == regular:
                append((prefix + name, st.st_size, st.st_mtime_ns, st.st_ino, ""))
                continue
            if mode != stat.S_IFDIR:
                append(_file_entry(prefix + name, st))
                continue
            append((prefix + name, 0, st.st_mtime_ns, st.st_ino, "is a folder, not a file"))
        else:
            try:
                if not entry.is_dir():
                    continue
                st = entry.stat()
            except OSError:
                continue
        if name[0] != ".":
            subs.append((prefix + name, (st.st_dev, st.st_ino), st.st_mtime_ns))


def _entries_split(items: list[os.DirEntry], prefix: str, out: list, subs: list) -> None:
    """:func:`_entries` of a big folder, its second half in a forked child (the stat of each
    file is most of a walk, and it is a system call per file); what the child found is
    added after the first half's, so the order is that of one process."""
    half = len(items) // 2

    def second() -> bytes:
        more: list = []
        more_subs: list = []
        _entries(items[half:], prefix, more, more_subs)
        return marshal.dumps((more, more_subs), 2)

    child = ForkedChild.fork(lambda pipe: pipe.write(second()))
    if child is None:
        _entries(items, prefix, out, subs)
        return
    try:
        _entries(items[:half], prefix, out, subs)
        data = child.data()
    except BaseException:
        child.stop()
        raise
    got = None
    if data is not None:
        try:
            got = marshal.loads(data)
        except (EOFError, ValueError, TypeError):
            got = None
    if type(got) is not tuple or len(got) != 2:
        _entries(items[half:], prefix, out, subs)  # the child failed: here, then
        return
    out.extend(got[0])
    subs.extend(got[1])


def _walk_shares(stack: list, seen: set, parts: list, found: list) -> None:
    """The rest of a walk: the folders on ``stack`` dealt into ``SHARES`` shares, each
    listed as if alone (with the folders seen so far), by this process and forked children
    (one per further core) where that is safe; what they found is added to ``parts`` share
    by share (a child's listings as it sent them: :class:`Walked`), a folder entered by an
    earlier share (or before) skipped."""
    global SPLITS
    shares = [stack[i::SHARES] for i in range(SHARES)]
    entered = seen - {key for _, key in stack}
    procs = min(SHARES, os.cpu_count() or 1) if fork_is_safe() else 1
    children: list[_Part] = []
    results: dict[int, list] = {}
    try:
        for p in range(1, procs):
            mine = list(range(p, SHARES, procs))
            part = _Part.fork(mine, [shares[i] for i in mine], seen, children)
            if part is None:
                break
            SPLITS += 1
            children.append(part)
        here = [i for i in range(SHARES)
                if not any(i in part.shares for part in children)]
        for i in here:
            results[i] = _walk_share(shares[i], seen)
        if children:  # while the children finish: this process's listings packed for the digest
            parts[:] = [(p, marshal.dumps(p, 2)) if type(p) is list else p for p in parts]
            for i in here:
                results[i] = [(key, (entries, marshal.dumps(entries, 2)), sub) for key, entries, sub in results[i]]
        for part in children:
            got = part.result()
            for n, i in enumerate(part.shares):  # a child that failed: its shares here
                results[i] = got[n] if got is not None else _walk_share(shares[i], seen)
    except BaseException:  # interrupted: the children are stopped, not left behind
        for part in children:
            part.stop()
        raise
    for i in range(SHARES):
        for key, entries, subfolders in results[i]:
            if key not in entered:
                entered.add(key)
                parts.append(entries)
                found.extend(subfolders)


def _walk_share(share: list, seen: set, packed: bool = False) -> list:
    """One share as if alone: per folder entered, (key, its entries, its new sub-folders);
    ``packed`` (in a child): the entries as marshal format 2 bytes (see :class:`Walked`)."""
    records = []
    seen = set(seen)
    stack = list(share)
    while stack:
        folder, key = stack.pop()
        entries: list[Entry] = []
        subfolders: list[tuple[str, int]] = []
        _list(folder, entries, stack, seen, subfolders)
        records.append((key, marshal.dumps(entries, 2) if packed else entries, subfolders))
    return records


class ForkedChild:
    """A forked child that sends bytes back through a pipe (``pipe``: this process's end),
    and how to collect them: whole (:meth:`data`) or as they come (read ``pipe``, then
    :meth:`wait`)."""

    def __init__(self, pid: int, pipe: BinaryIO):
        self.pid: int | None = pid
        self.pipe = pipe

    @classmethod
    def fork(cls, send: Callable[[BinaryIO], object],
             others: Sequence[ForkedChild] = ()) -> ForkedChild | None:
        """A child writing with ``send(pipe)`` (it closes the pipes of ``others``, forked
        before it); None when it cannot be forked."""
        try:
            r, w = os.pipe()
        except OSError:
            return None
        try:
            pid = os.fork()
        except OSError:
            os.close(r)
            os.close(w)
            return None
        if pid == 0:  # the child: send, leave

            def run() -> None:
                os.close(r)
                for other in others:
                    other.pipe.close()
                with open(w, "wb") as pipe:
                    send(pipe)

            exit_after(run)
        os.close(w)
        return cls(pid, open(r, "rb"))

    def stop(self) -> None:
        """The child killed (if it still runs) and reaped."""
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
        self.wait()

    def wait(self) -> bool:
        """Reap the child (once); True when it finished, False when it failed."""
        self.pipe.close()
        pid, self.pid = self.pid, None
        if pid is None:
            return False
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            return False
        return status == 0

    def data(self) -> bytes | None:
        """What the child sent (waits for it); None when it failed."""
        try:
            data = self.pipe.read()
        finally:
            ok = self.wait()
        return data if ok else None


class _Part:
    """Shares of a walk listed by a forked child, and how to collect what it found."""

    def __init__(self, shares: list[int], child: ForkedChild):
        self.shares, self.child = shares, child

    @classmethod
    def fork(cls, numbers: list[int], shares: list, seen: set, others: list) -> _Part | None:
        """A child listing ``shares`` (numbered ``numbers``); None when it cannot be forked."""
        child = ForkedChild.fork(
            lambda pipe: pipe.write(
                marshal.dumps([_walk_share(share, seen, packed=True) for share in shares], 4)),
            [other.child for other in others])
        return None if child is None else cls(numbers, child)

    def stop(self) -> None:
        self.child.stop()

    def result(self) -> list | None:
        """The child's records per share (see :func:`_walk_share`); None when it failed."""
        data = self.child.data()
        if data is None:
            return None
        try:
            got = marshal.loads(data)
        except (EOFError, ValueError, TypeError):
            return None
        return got if isinstance(got, list) and len(got) == len(self.shares) else None


class WalkAhead:
    """A walk of ``roots`` started now in a forked child and taken later: the command line
    walks the data folders on the core that would idle while it loads the cascade."""

    def __init__(self, child: ForkedChild):
        self._child: ForkedChild | None = child

    @classmethod
    def start(cls, roots: Sequence[str]) -> WalkAhead | None:
        """The walk, started; None where forking is not safe (see :func:`fork_is_safe`)."""
        if not fork_is_safe():
            return None

        def send(pipe: BinaryIO) -> None:
            folders: list[tuple[str, int]] = []
            walked = walk_parts(roots, folders)
            blobs = [_packed(part) for part in walked._parts]
            pipe.write(marshal.dumps((Walked(blobs).digest(), blobs, folders), 4))

        child = ForkedChild.fork(send)
        return None if child is None else cls(child)

    def take(self) -> tuple[Walked, list[tuple[str, int]], str] | None:
        """(walk, folders entered, file-set digest), waited for; None when the child failed
        (a root missing, say: the caller walks, and reports it) or it was taken already."""
        child, self._child = self._child, None
        if child is None:
            return None
        data = child.data()
        if data is None:
            return None
        try:
            digest, blobs, folders = marshal.loads(data)
        except (EOFError, ValueError, TypeError):
            return None
        if type(digest) is not str or type(blobs) is not list or type(folders) is not list:
            return None
        return Walked(blobs), folders, digest

    def stop(self) -> None:
        """Not taken after all: the child is stopped and reaped."""
        child, self._child = self._child, None
        if child is not None:
            child.stop()


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
