"""How stored organise results are packed (:mod:`reflexng.organiser.store`'s blobs).

- Records: tuples of their fields as marshal data (:func:`pack_records`); a base's records in
  pieces of :data:`CHUNK` sorted by path, each compressed on its own, with an index, written
  into one buffer (:func:`pack_chunks`; :func:`records_of` decodes only the pieces asked for).
- Walk entries: columns (paths, then sizes, mtimes and inodes as little-endian 64-bit arrays,
  problems by position), compressed a piece at a time (:func:`pack_entries`).
- A result shell (jobs, datasets, notes): pickles of :data:`_JOB_PIECE` jobs, compressed as
  written (:func:`write_pickled`).

Values without a marshal form fall back to pickle. Cheap to import (no organiser model).
"""

from __future__ import annotations

import marshal
import sys
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import Any

from reflexng.organiser.record_fields import RECORD_FIELDS

CHUNK = 32  # records per separately compressed piece of a base (a few are read alone)
# a stored record is a tuple of the FileRecord fields (a "raw" record, for code that need not
# import the model, a dictionary of them)


def _row(f: Any) -> tuple:
    """A record (a FileRecord, or a raw record: a dictionary of its fields) as the plain
    tuple stored (marshal writes no tuple subclass)."""
    if f.__class__ is dict:
        return tuple([f[k] for k in RECORD_FIELDS])
    return tuple(f)


def raw_record(row: tuple) -> dict[str, Any]:
    """A stored row as a raw record (a dictionary of the FileRecord fields)."""
    return dict(zip(RECORD_FIELDS, row))


def pack_records(files: Sequence[Any]) -> bytes:
    """FileRecords (or raw records) as marshal data: each record's fields as a tuple, headers
    included (marshal writes and reads tuples and dictionaries in C, and the key strings are
    shared on loading). Falls back to pickle when a value has no marshal form."""
    rows = [_row(f) for f in files]
    try:
        return b"T" + marshal.dumps(rows)
    except ValueError:
        import pickle

        return b"Q" + pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL)


def pack_chunks(files: Sequence[Any]) -> bytes:
    """FileRecords sorted by path, in pieces of :data:`CHUNK` records, each marshal data
    compressed on its own, then an index (first path and end of each piece): :func:`records_of`
    decodes only the pieces holding the paths asked for. (Records holding a value without a
    marshal form: all pickled, compressed whole.)"""
    parts: list[bytes] = []
    try:
        write_chunks(files, parts.append)
    except ValueError:
        return pickled_records(files)
    return b"".join(parts)


def write_chunks(files: Sequence[Any], write: Callable[[bytes], Any]) -> None:
    """:func:`pack_chunks` data, passed to ``write`` a part at a time as it is made (the store
    spools it: the whole is never in memory, the peak memory of a first organise). Raises
    ValueError (some parts written) for a value without a marshal form: then the records are
    stored as :func:`pickled_records`."""
    import zlib

    recs = files if isinstance(files, list) else list(files)
    if any(recs[i][0] > recs[i + 1][0] for i in range(len(recs) - 1)):
        recs = sorted(recs, key=lambda r: r[0])
    dumps, compress = marshal.dumps, zlib.compress
    ends: list[int] = []
    at = 1
    write(b"K")
    for i in range(0, len(recs), CHUNK):
        piece = compress(dumps([tuple(r) for r in recs[i : i + CHUNK]]), 1)
        write(piece)
        at += len(piece)
        ends.append(at)
    index = marshal.dumps(([r[0] for r in recs[::CHUNK]], ends))
    write(index)
    write(len(index).to_bytes(8, "little"))


def pickled_records(files: Sequence[Any]) -> bytes:
    """Records sorted by path, pickled and compressed whole (:func:`pack_chunks` data for
    records holding a value marshal has no form for)."""
    import pickle

    rows = sorted([tuple(r) for r in files], key=lambda r: r[0])
    return b"Z" + _z(pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL))


def _pieces(blob: bytes) -> tuple[list[str], list[memoryview]]:
    """(first paths, pieces) of :func:`pack_chunks` data."""
    n = int.from_bytes(blob[-8:], "little")
    firsts, ends = marshal.loads(blob[-8 - n : -8])
    view = memoryview(blob)
    return firsts, [view[a:b] for a, b in zip([1, *ends], ends)]


def _records(rows: Iterable[Any]) -> list[Any]:
    """FileRecords of stored rows (tuples) or raw records (dictionaries)."""
    from reflexng.organiser.model import FileRecord

    new = tuple.__new__
    return [new(FileRecord, r if r.__class__ is tuple else _row(r)) for r in rows]


def _rows(blob: bytes) -> list[tuple]:
    """The stored rows (tuples of the record fields) of :func:`pack_records` or
    :func:`pack_chunks` data (no FileRecord made: this module is used before the
    organiser's model is imported)."""
    kind = blob[:1]
    if kind in (b"Q", b"Z"):
        import pickle

        return pickle.loads(blob[1:] if kind == b"Q" else _unz(blob[1:]))
    if kind == b"K":
        import zlib

        loads, unz = marshal.loads, zlib.decompress
        out: list[tuple] = []
        for piece in _pieces(blob)[1]:
            out += loads(unz(piece))
        return out
    if kind != b"T":
        raise ValueError(f"not stored records (format {kind!r})")
    return marshal.loads(blob[1:])


def _dicts(blob: bytes) -> list[dict]:
    """The raw records (dictionaries of the fields) of :func:`pack_records` or
    :func:`pack_chunks` data."""
    return [raw_record(r) for r in _rows(blob)]


def unpack_records(blob: bytes) -> list[Any]:
    """The records of :func:`pack_records` or :func:`pack_chunks` data."""
    return _records(_rows(blob))


def records_of(blob: bytes, paths: Iterable[str], raw: bool = False) -> dict[str, Any]:
    """``{path: FileRecord}`` (``raw``: its field dictionary) of those ``paths`` that ``blob``
    holds, decoding only the pieces of :func:`pack_chunks` data they are in (other data:
    decoded whole)."""
    wanted = set(paths)
    if blob[:1] != b"K":
        got = [r for r in _rows(blob) if r[0] in wanted]
    else:
        import zlib
        from bisect import bisect_right

        firsts, pieces = _pieces(blob)
        got = []
        for i in sorted({bisect_right(firsts, p) - 1 for p in wanted} - {-1}):
            got += [r for r in marshal.loads(zlib.decompress(pieces[i])) if r[0] in wanted]
    if raw:
        return {r[0]: raw_record(r) for r in got}
    return {r.path: r for r in _records(got)}


_ENTRY_PIECE = 4096  # walk entries per piece of the columns (packing holds one at a time)


def _le(a):
    """An array's bytes little-endian (the stored order on every machine)."""
    if sys.byteorder != "little":
        a.byteswap()
    return a.tobytes()


def pack_entries(entries: Sequence[tuple]) -> bytes:
    """Walk entries as columns: paths, then sizes, mtimes and inodes as little-endian 64-bit
    arrays (read back in microseconds), the problems by position; compressed as they are
    written, a piece of :data:`_ENTRY_PIECE` entries at a time (each piece's marshal data
    after its length)."""
    import zlib
    from array import array

    z = zlib.compressobj(1)
    out = [b"A"]

    def put(obj: Any) -> None:
        data = marshal.dumps(obj)
        out.append(z.compress(len(data).to_bytes(8, "little") + data))

    problems: dict[int, str] = {}
    try:
        for i in range(0, len(entries), _ENTRY_PIECE):
            part = entries[i : i + _ENTRY_PIECE]
            put(([e[0] for e in part], _le(array("Q", [e[1] for e in part])),
                 _le(array("q", [e[2] for e in part])), _le(array("Q", [e[3] for e in part]))))
            problems.update((i + j, e[4]) for j, e in enumerate(part) if e[4])
    except (OverflowError, TypeError):  # not 64-bit integers: as they are
        return b"L" + _z(marshal.dumps(list(entries)))
    put(problems)
    out.append(z.flush())
    return b"".join(out)


def entry_columns(blob: bytes) -> tuple[list[str], Any, Any, Any, dict[int, str]] | None:
    """(paths, sizes, mtimes, inodes, problems by position) of :func:`pack_entries` data;
    None for data kept as it was."""
    from array import array

    if blob[:1] != b"A":
        return None
    data = memoryview(_unz(blob[1:]))
    objs = []
    at = 0
    while at < len(data):
        n = int.from_bytes(data[at : at + 8], "little")
        objs.append(marshal.loads(data[at + 8 : at + 8 + n]))
        at += 8 + n
    problems = objs.pop()
    paths: list[str] = []
    arrays = [array("Q"), array("q"), array("Q")]
    for part, *raw in objs:
        paths += part
        for a, col in zip(arrays, raw):
            a.frombytes(col)
    if sys.byteorder != "little":
        for a in arrays:
            a.byteswap()
    return paths, arrays[0], arrays[1], arrays[2], problems


def unpack_entries(blob: bytes) -> list[tuple]:
    cols = entry_columns(blob)
    if cols is None:
        return marshal.loads(_unz(blob[1:]))
    paths, sizes, mtimes, inodes, problems = cols
    probs = [""] * len(paths)
    for i, p in problems.items():
        probs[i] = p
    return list(zip(paths, sizes, mtimes, inodes, probs))


def _z(blob: bytes) -> bytes:
    """Stored blobs are compressed (zlib level 1: ~7x smaller for ~4 ms a MB; writing less
    matters more on a busy disk)."""
    import zlib

    return zlib.compress(blob, 1)


def _unz(blob: bytes) -> bytes:
    import zlib

    return zlib.decompress(blob)


_JOB_PIECE = 128  # jobs (or datasets) per pickle of a stored result (its memo: peak memory)


def write_pickled(shell: Any, write: Callable[[bytes], Any]) -> None:
    """A result shell as compressed pickles, passed to ``write`` a part at a time: the shell
    without jobs and datasets, then those in pieces of :data:`_JOB_PIECE`, compressed as
    written (neither the whole pickle nor one memo of every object in memory: peak memory of
    a first organise)."""
    import copy
    import pickle
    import zlib

    class _Sink:
        def __init__(self) -> None:
            self.z = zlib.compressobj(1)

        def write(self, b) -> int:
            part = self.z.compress(b)
            if part:
                write(part)
            return len(b)

    sink = _Sink()
    pickler = pickle.Pickler(sink, protocol=pickle.HIGHEST_PROTOCOL)
    head = copy.copy(shell)
    head.jobs, head.datasets = {}, []
    jobs, datasets = shell.jobs, shell.datasets
    pickler.dump((head, -(-len(jobs) // _JOB_PIECE), -(-len(datasets) // _JOB_PIECE)))
    for items in (iter(jobs.items()), iter(datasets)):  # (no list of every job's item)
        while piece := list(islice(items, _JOB_PIECE)):
            pickler.clear_memo()
            pickler.dump(piece)
    write(sink.z.flush())


def _unpickled(blob: bytes) -> Any:
    import io
    import pickle

    f = io.BytesIO(_unz(blob))
    head, job_pieces, dataset_pieces = pickle.load(f)
    jobs: dict[str, Any] = {}
    for _ in range(job_pieces):
        jobs.update(pickle.load(f))
    datasets: list[Any] = []
    for _ in range(dataset_pieces):
        datasets += pickle.load(f)
    head.jobs, head.datasets = jobs, datasets
    return head
