"""The scan's faster paths: the walk by folder descriptor, marshal transport and cache rows,
cache rows written while workers read, damaged or older-format rows, layouts read in C."""

from __future__ import annotations

import marshal
import os
import sqlite3
from pathlib import Path

import pytest
from astropy.io import fits

from reflexng.fits import scan
from reflexng.fits import walk as walk_module
from reflexng.fits.cache import TABLE
from reflexng.fits.reader import KeywordSpec, read_file
from reflexng.fits.scanner import WRITE_ROWS, ScanCancelled
from reflexng.fits.walk import walk

from .test_scan import KEYS, by_name, cache_rows, fast_copies, write


def tricky_tree(root: Path) -> Path:
    """Every kind of entry the walk tells apart, in nested folders."""
    data = root / "data"
    write(data / "a.fits")
    write(data / "night" / "b.fit", 1)
    write(data / "night" / "deeper" / "c.FTS", 2)
    write(data / ".hidden" / "h.fits")
    (data / "notes.txt").write_text("not considered")
    (data / "folder.fits").mkdir()
    write(data / "folder.fits" / "inside.fits", 3)
    (data / "dangling.fits").symlink_to(root / "nowhere.fits")
    (data / "linked.fits").symlink_to(data / "a.fits")
    (data / "night" / "loop").symlink_to(data)
    (data / "night" / "self").symlink_to(data / "night")
    os.mkfifo(data / "pipe.fits")
    (data / "empty.fits").write_bytes(b"")
    return data


def test_walk_by_descriptor_equals_walk_by_path(tmp_path, monkeypatch):
    """The descriptor listing (POSIX) and the path listing (Windows) give the same entries in
    the same order, and the same folders (the stored result's file-set digest depends on it)."""
    data = tricky_tree(tmp_path)
    roots = [data, data / "a.fits", data / "night"]
    folders_fd: list = []
    by_fd = walk(roots, folders_fd)
    monkeypatch.setattr(walk_module, "_BY_FD", False)
    folders_path: list = []
    by_path = walk(roots, folders_path)
    assert by_fd == by_path and folders_fd == folders_path
    entries = {Path(e[0]).relative_to(data).as_posix(): e for e in by_fd}
    assert sorted(entries) == sorted(["a.fits", "night/b.fit", "night/deeper/c.FTS", "folder.fits",
                                      "folder.fits/inside.fits", "dangling.fits", "linked.fits",
                                      "pipe.fits", "empty.fits"])
    assert entries["folder.fits"][4] == "is a folder, not a file"
    assert entries["dangling.fits"][4].startswith("cannot read: broken symbolic link")
    assert entries["pipe.fits"][4].startswith("not a regular file")
    assert entries["linked.fits"][1:4] == entries["a.fits"][1:4] and not entries["linked.fits"][4]
    assert entries["empty.fits"][1] == 0 and not entries["empty.fits"][4]
    st = os.stat(data / "night" / "b.fit")
    assert entries["night/b.fit"][1:] == (st.st_size, st.st_mtime_ns, st.st_ino, "")
    assert sorted(Path(p).relative_to(data).as_posix() for p, _ in folders_fd) == sorted(
        [".", "night", "night/deeper", "folder.fits"])


def test_walk_folders_the_user_may_not_list_or_search():
    """As user nobody (root may do everything): a folder without read permission is listed as
    unreadable, the files of a folder without search permission each get a reason; both
    listings agree. The walk runs in a forked child that drops root."""
    import json
    import shutil
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="reflexng-walk-perm-"))
    try:
        base.chmod(0o755)
        for d in ("ok", "closed", "nosearch"):
            write(base / d / f"{d}.fits").chmod(0o644)
        (base / "ok").chmod(0o755)
        (base / "closed").chmod(0o000)
        (base / "nosearch").chmod(0o644)  # listable, not searchable
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: drop root, walk both ways, report through the pipe
            code = 1
            try:
                os.close(r)
                if os.geteuid() == 0:
                    os.setgid(65534)
                    os.setuid(65534)
                got = []
                for by_fd in (True, False):
                    walk_module._BY_FD = by_fd
                    got.append(sorted([Path(e[0]).relative_to(base).as_posix(), e[4]]
                                      for e in walk([base])))
                os.write(w, json.dumps(got).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(w)
        with os.fdopen(r) as pipe:
            text = pipe.read()
        _, status = os.waitpid(pid, 0)
        assert status == 0 and text
        by_fd, by_path = json.loads(text)
        assert by_fd == by_path
        assert by_fd == [["closed", "cannot list folder: Permission denied"],
                         ["nosearch/nosearch.fits", "cannot read: Permission denied"],
                         ["ok/ok.fits", ""]]
    finally:
        for d in ("closed", "nosearch"):
            (base / d).chmod(0o755)
        shutil.rmtree(base, ignore_errors=True)


def test_walk_prefix_of_the_file_system_root():
    """The root folder's entries are ``/name``, not ``//name``."""
    if not os.path.isdir("/"):
        pytest.skip("no POSIX root")
    listing = walk_module._Listing(os.path.abspath(os.sep))
    with listing as entries:
        names = [e.name for e in entries]
    assert listing.prefix == os.path.abspath(os.sep) and names


def test_cache_rows_are_marshal_and_written_while_reading(tmp_path):
    """More files than one write holds: every readable file gets a row (marshal values equal to
    the scan's), in several transactions, and the next scan answers from them alone."""
    n = 2 * WRITE_ROWS + 300
    fast_copies(tmp_path / "raw", n, per_folder=1000)
    db = tmp_path / "work.sqlite"
    seen = []  # rows another connection sees while the scan is still reading

    def progress(done: int, total: int) -> None:
        if db.exists() and done < total:
            with sqlite3.connect(db) as con:
                seen.append(con.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0])

    first = scan([tmp_path / "raw"], KEYS + ["OBS.ID"], cache_db=db, workers=2, progress=progress)
    assert max(seen) >= WRITE_ROWS
    rows = cache_rows(db)
    assert len(rows) == n == len(first)
    for f in first[:: 97]:
        size, mtime_ns, vals = rows[f.path]
        assert (size, mtime_ns) == (f.size, f.mtime_ns) and marshal.loads(vals) == f.values
    # served from the rows: make the files unreadable to the reader by changing the rows only
    with sqlite3.connect(db) as con:
        con.execute(f"UPDATE {TABLE} SET vals = ?", (marshal.dumps({"DPR.TYPE": "ROW"}),))
    again = scan([tmp_path / "raw"], KEYS + ["OBS.ID"], cache_db=db, workers=2)
    assert {f.values["DPR.TYPE"] for f in again} == {"ROW"}


def test_cancelled_scan_keeps_the_rows_of_files_read(tmp_path):
    n = 3 * WRITE_ROWS
    fast_copies(tmp_path / "raw", n, per_folder=1000)
    db = tmp_path / "work.sqlite"
    polls = []
    with pytest.raises(ScanCancelled):
        scan([tmp_path / "raw"], KEYS, cache_db=db, workers=2,
             cancelled=lambda: polls.append(1) or len(polls) > 7)
    kept = cache_rows(db)
    assert 0 < len(kept) < n
    full = scan([tmp_path / "raw"], KEYS, cache_db=db, workers=2)
    assert len(full) == n and all(f.status == "ok" for f in full)
    assert full == scan([tmp_path / "raw"], KEYS, workers=1)
    assert len(cache_rows(db)) == n


def test_damaged_cache_rows_are_read_again(tmp_path):
    for i in range(6):
        write(tmp_path / "raw" / f"f{i}.fits", i)
    db = tmp_path / "work.sqlite"
    first = scan([tmp_path / "raw"], KEYS, cache_db=db, workers=1)
    with sqlite3.connect(db) as con:
        con.execute(f"UPDATE {TABLE} SET vals = ? WHERE path LIKE '%f1.fits'", (b"\x00garbage",))
        con.execute(f"UPDATE {TABLE} SET vals = ? WHERE path LIKE '%f2.fits'", ('{"a": 1}',))
        con.execute(f"UPDATE {TABLE} SET vals = ? WHERE path LIKE '%f3.fits'",
                    (marshal.dumps(["not", "a", "dict"]),))
    again = scan([tmp_path / "raw"], KEYS, cache_db=db, workers=1)
    assert again == first
    rows = cache_rows(db)
    assert all(marshal.loads(rows[f.path][2]) == f.values for f in first)


def test_rows_of_the_older_layout_are_replaced(tmp_path):
    """A work directory of an earlier version (a rowid table with JSON values): its rows are
    never trusted, the table is rebuilt, the values are read from the files."""
    for i in range(3):
        write(tmp_path / "raw" / f"f{i}.fits", i)
    db = tmp_path / "work.sqlite"
    expected = scan([tmp_path / "raw"], KEYS, workers=1)
    with sqlite3.connect(db) as con:
        con.execute(f"CREATE TABLE {TABLE} (path TEXT PRIMARY KEY, size INTEGER,"
                    " mtime_ns INTEGER, inode INTEGER, keyset TEXT, vals TEXT, digest TEXT)")
        for f in expected:
            con.execute(f"INSERT INTO {TABLE} VALUES (?,?,?,?,?,?,?)",
                        (f.path, f.size, f.mtime_ns, f.inode, "1|0000", '{"DPR.TYPE":"OLD"}', "x"))
    assert scan([tmp_path / "raw"], KEYS, cache_db=db, workers=1) == expected
    with sqlite3.connect(db) as con:
        (sql,) = con.execute("SELECT sql FROM sqlite_master WHERE name = ?", (TABLE,)).fetchone()
    assert sql.endswith("WITHOUT ROWID")
    assert scan([tmp_path / "raw"], KEYS, cache_db=db, workers=1) == expected


def test_complex_values_are_cached(tmp_path):
    """marshal holds every header value type (JSON held no complex: such files were re-read)."""
    hdr = fits.Header()
    hdr["HIERARCH ESO DET CPLX"] = 1.5 + 2j
    hdr["EXPTIME"] = 2.5
    fits.PrimaryHDU(header=hdr).writeto(tmp_path / "c.fits")
    db = tmp_path / "work.sqlite"
    (first,) = scan([tmp_path], ["DET.CPLX", "EXPTIME"], cache_db=db, workers=1)
    assert first.values["DET.CPLX"] == 1.5 + 2j
    (row,) = cache_rows(db).values()
    stored = marshal.loads(row[2])
    assert stored == {"DET.CPLX": 1.5 + 2j, "EXPTIME": 2.5}
    (second,) = scan([tmp_path], ["DET.CPLX", "EXPTIME"], cache_db=db, workers=1)
    assert second.values["DET.CPLX"] == 1.5 + 2j and second.header_digest == first.header_digest


def test_layout_shortcut_with_a_card_answering_two_names(tmp_path):
    """Two requested names for one card (a cascade name and its HIERARCH form): the layout
    shortcut takes its per-card path and gives the full search's answer."""
    names = ["DPR.TYPE", "HIERARCH ESO DPR TYPE", "EXPTIME", "NOT.THERE"]
    spec = KeywordSpec(names)
    paths = [write(tmp_path / f"f{i}.fits", i, dpr) for i, dpr in enumerate(["BIAS", "FLAT"] * 3)]
    for p in paths:
        size = p.stat().st_size
        got = read_file(str(p), size, spec)
        assert got == read_file(str(p), size, KeywordSpec(names))
        assert got[2]["DPR.TYPE"] == got[2]["HIERARCH ESO DPR TYPE"] and "NOT.THERE" not in got[2]
    assert by_name(scan([tmp_path], names, workers=1))["f1.fits"].values["DPR.TYPE"] == "FLAT"


def test_layout_shortcut_meets_a_value_only_astropy_reads(tmp_path):
    """A learnt layout whose card holds a value this reader does not parse exactly (here a
    number with two decimal points, in a file otherwise like the others): the shortcut gives
    up and the answer equals that of a reader that never learnt the layout."""
    names = ["DPR.TYPE", "EXPTIME", "DET.BINX"]
    spec = KeywordSpec(names)
    paths = [write(tmp_path / f"f{i}.fits", i) for i in range(4)]
    blob = paths[3].read_bytes()
    p = blob.index(b"EXPTIME = ")
    odd = tmp_path / "odd.fits"
    odd.write_bytes(blob[: p + 10] + b"1.0.0".rjust(20) + b" " * 50 + blob[p + 80 :])
    for f in paths:  # learn the layout
        read_file(str(f), f.stat().st_size, spec)
    assert spec.layouts.match_any(odd.read_bytes(), b"END" + b" " * 77) is not None
    size = odd.stat().st_size
    got = read_file(str(odd), size, spec)
    assert got == read_file(str(odd), size, KeywordSpec(names))
    assert got[0] == "ok" and got[2]["DPR.TYPE"] == "BIAS" and got[2].get("EXPTIME") != 1.0
