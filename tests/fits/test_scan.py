"""The scan: bad files with reasons, folders, symlinks, gzip/fz fallback, cache, workers."""

from __future__ import annotations

import gzip
import marshal
import os
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from reflexng.fits import ScanCancelled, ScannedFile, content_hash, read_header_values, scan

KEYS = ["DPR.TYPE", "DET.BINX", "EXPTIME", "MJD-OBS"]


def eso_header(i: int = 0, dpr: str = "BIAS") -> fits.Header:
    hdr = fits.Header()
    hdr["EXPTIME"] = 1.5 * i
    hdr["MJD-OBS"] = 60000.0 + i / 1000
    hdr["HIERARCH ESO DPR TYPE"] = dpr
    hdr["HIERARCH ESO DET BINX"] = 1 + i % 2
    for j in range(40):
        hdr[f"HIERARCH ESO INS PAR{j}"] = f"value {j}"
    return hdr


def write(path: Path, i: int = 0, dpr: str = "BIAS", data=None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.PrimaryHDU(data=data, header=eso_header(i, dpr)).writeto(path)
    return path


def fast_copies(folder: Path, n: int, per_folder: int = 100) -> None:
    """``n`` ESO-like files quickly: three astropy-written templates, an index patched in."""
    templates = []
    for dpr in ("BIAS", "FLAT", "OBJECT"):
        hdr = eso_header(1, dpr)
        hdr["HIERARCH ESO OBS ID"] = 999999999
        templates.append(fits.PrimaryHDU(header=hdr).header.tostring().encode())
    for i in range(n):
        sub = folder / f"d{i // per_folder}"
        sub.mkdir(parents=True, exist_ok=True)
        blob = templates[i % 3].replace(b"999999999", b"%9d" % i)
        (sub / f"f{i:05d}.fits").write_bytes(blob)


def by_name(result: list[ScannedFile]) -> dict[str, ScannedFile]:
    return {Path(f.path).name: f for f in result}


def test_scan_reads_requested_values(tmp_path):
    write(tmp_path / "a.fits", 1, "FLAT")
    write(tmp_path / "sub" / "deeper" / "b.FITS", 2)
    (tmp_path / "notes.txt").write_text("not considered")
    result = scan([tmp_path], KEYS + ["NOT.THERE"], workers=1)
    files = by_name(result)
    assert set(files) == {"a.fits", "b.FITS"}
    a = files["a.fits"]
    assert a.status == "ok" and a.reason == ""
    assert a.values == {"DPR.TYPE": "FLAT", "DET.BINX": 2, "EXPTIME": 1.5, "MJD-OBS": 60000.001}
    assert a.path == str(tmp_path / "a.fits") and os.path.isabs(a.path)
    st = os.stat(a.path)
    assert (a.size, a.mtime_ns, a.inode) == (st.st_size, st.st_mtime_ns, st.st_ino)
    assert [f.path for f in result] == sorted(f.path for f in result)


def test_bad_files_each_listed_with_reason(tmp_path):
    good = write(tmp_path / "good.fits")
    (tmp_path / "empty.fits").write_bytes(b"")
    blob = good.read_bytes()
    end = blob.index(b"END" + b" " * 77)
    cut = end - end % 2880  # cut inside the header, at a block boundary before END
    (tmp_path / "truncated.fits").write_bytes(blob[:cut])
    (tmp_path / "notfits.fits").write_text("SIMPLE? no, this is a text file\n" * 200)
    (tmp_path / "folder.fits").mkdir()
    write(tmp_path / "folder.fits" / "inside.fits", 3)
    with gzip.open(tmp_path / "ok.fits.gz", "wb") as f:
        f.write(blob)
    gz = (tmp_path / "ok.fits.gz").read_bytes()
    (tmp_path / "broken.fits.gz").write_bytes(gz[: len(gz) // 2])
    (tmp_path / "garbage.fits.gz").write_bytes(b"\x1f\x8b\x08\x00" + os.urandom(3000))
    (tmp_path / "plain-not-gz.fits.gz").write_bytes(blob)
    data = np.zeros((50, 60), dtype=np.int16)
    img = write(tmp_path / "image.fits", data=data)
    (tmp_path / "short-data.fits").write_bytes(img.read_bytes()[:-3000])

    files = by_name(scan([tmp_path], KEYS, workers=1))
    reasons = {name: (f.status, f.reason) for name, f in files.items()}
    assert reasons["good.fits"] == ("ok", "")
    assert reasons["ok.fits.gz"] == ("ok", "")
    assert reasons["image.fits"] == ("ok", "")
    assert reasons["inside.fits"] == ("ok", "")
    assert reasons["empty.fits"] == ("unreadable", "empty file")
    assert reasons["truncated.fits"] == (
        "unreadable",
        f"truncated: header ends at byte {cut} without END",
    )
    assert reasons["notfits.fits"][0] == "unreadable"
    assert reasons["notfits.fits"][1].startswith("not FITS: does not start with a SIMPLE card")
    assert reasons["folder.fits"][0] == "unreadable"
    assert "is a folder" in reasons["folder.fits"][1]
    assert reasons["broken.fits.gz"][0] == "unreadable"
    assert reasons["broken.fits.gz"][1].startswith("broken gzip")
    assert reasons["garbage.fits.gz"][0] == "unreadable"
    assert reasons["garbage.fits.gz"][1].startswith("broken gzip")
    assert reasons["plain-not-gz.fits.gz"][0] == "unreadable"
    assert "gzip" in reasons["plain-not-gz.fits.gz"][1]
    assert reasons["short-data.fits"][0] == "unreadable"
    assert reasons["short-data.fits"][1].startswith("truncated: the data unit needs 6000 bytes")
    assert files["ok.fits.gz"].values == files["good.fits"].values
    for f in files.values():
        if f.status == "unreadable":
            assert f.values == {} and f.reason


def test_not_regular_file(tmp_path):
    os.mkfifo(tmp_path / "pipe.fits")
    (f,) = scan([tmp_path], KEYS, workers=1)
    assert f.status == "unreadable" and "not a regular file" in f.reason


def test_permission_denied():
    """A file the user may not read. Root reads everything, so then scan as user nobody."""
    import json
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="reflexng-perm-"))
    try:
        folder.chmod(0o755)
        write(folder / "secret.fits").chmod(0)
        write(folder / "open.fits").chmod(0o644)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: drop root, scan, report through the pipe
            code = 1
            try:
                os.close(r)
                if os.geteuid() == 0:
                    os.setgid(65534)
                    os.setuid(65534)
                res = scan([folder], KEYS, workers=1)
                os.write(
                    w, json.dumps({Path(f.path).name: [f.status, f.reason] for f in res}).encode()
                )
                code = 0
            finally:
                os._exit(code)
        os.close(w)
        with os.fdopen(r) as pipe:
            text = pipe.read()
        _, status = os.waitpid(pid, 0)
        assert status == 0 and text
        result = json.loads(text)
        assert result["secret.fits"] == ["unreadable", "cannot read: Permission denied"]
        assert result["open.fits"] == ["ok", ""]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_broken_symlink(tmp_path):
    (tmp_path / "dangling.fits").symlink_to(tmp_path / "nowhere.fits")
    (f,) = scan([tmp_path], KEYS, workers=1)
    assert f.status == "unreadable" and "broken symbolic link" in f.reason


def test_hidden_folders_skipped_and_symlink_loop_survived(tmp_path):
    write(tmp_path / "data" / "a.fits")
    write(tmp_path / "data" / ".hidden" / "h.fits")
    write(tmp_path / "data" / "night" / "b.fits", 1)
    (tmp_path / "data" / "night" / "loop").symlink_to(tmp_path / "data")
    (tmp_path / "data" / "night" / "self").symlink_to(tmp_path / "data" / "night")
    result = scan([tmp_path / "data"], KEYS, workers=1)
    names = sorted(Path(f.path).name for f in result)
    assert names == ["a.fits", "b.fits"]


def test_overlapping_roots_list_each_file_once(tmp_path):
    a = write(tmp_path / "a.fits")
    write(tmp_path / "sub" / "b.fits")
    result = scan([tmp_path, a, tmp_path / "sub", tmp_path], KEYS, workers=1)
    assert sorted(Path(f.path).name for f in result) == ["a.fits", "b.fits"]


def test_missing_root_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        scan([tmp_path / "nowhere"], KEYS)


def test_fz_compressed_image_uses_first_extension(tmp_path):
    data = np.arange(64 * 64, dtype=np.int32).reshape(64, 64)
    hdr = eso_header(5, "OBJECT")
    comp = fits.CompImageHDU(data=data, header=hdr)
    fits.HDUList([fits.PrimaryHDU(), comp]).writeto(tmp_path / "c.fits.fz")
    files = by_name(scan([tmp_path], KEYS + ["NAXIS1", "ZIMAGE"], workers=1))
    f = files["c.fits.fz"]
    assert f.status == "ok", f.reason
    assert f.values["DPR.TYPE"] == "OBJECT" and f.values["DET.BINX"] == 2
    assert f.values["EXPTIME"] == 7.5 and f.values["NAXIS1"] == 64
    assert "ZIMAGE" not in f.values  # the image header as astropy presents it


def test_first_extension_when_primary_is_empty(tmp_path):
    ext = fits.ImageHDU(data=np.zeros((4, 4), np.float32), header=eso_header(2, "DARK"))
    primary = fits.PrimaryHDU()
    primary.header["HIERARCH ESO DPR TYPE"] = "PRIMARY WINS"
    fits.HDUList([primary, ext]).writeto(tmp_path / "mef.fits")
    (f,) = scan([tmp_path], KEYS, workers=1)
    assert f.values == {"DPR.TYPE": "PRIMARY WINS", "DET.BINX": 1, "EXPTIME": 3.0,
                        "MJD-OBS": 60000.002}  # fmt: skip
    # a primary with data: the extension is not looked at
    fits.HDUList([fits.PrimaryHDU(np.zeros(3)), ext]).writeto(tmp_path / "mef.fits", overwrite=True)
    assert read_header_values(tmp_path / "mef.fits", KEYS) == {}


def test_continue_long_string_via_astropy(tmp_path):
    hdr = eso_header()
    long = "a long value " * 12
    hdr["HIERARCH ESO OBS NAME"] = long
    hdr["OBJECT"] = "x" * 100
    fits.PrimaryHDU(header=hdr).writeto(tmp_path / "long.fits")
    vals = read_header_values(tmp_path / "long.fits", ["OBS.NAME", "OBJECT", "DPR.TYPE"])
    ref = fits.getheader(tmp_path / "long.fits")
    assert vals == {"OBS.NAME": ref["HIERARCH ESO OBS NAME"], "OBJECT": "x" * 100,
                    "DPR.TYPE": "BIAS"}  # fmt: skip


def test_all_cards_with_keywords_none(tmp_path):
    write(tmp_path / "a.fits", 3)
    (f,) = scan([tmp_path], None, workers=1)
    assert f.values["DPR.TYPE"] == "BIAS" and f.values["INS.PAR39"] == "value 39"
    assert f.values["SIMPLE"] is True and "COMMENT" not in f.values


def test_read_header_values_errors_name_the_file(tmp_path):
    (tmp_path / "empty.fits").write_bytes(b"")
    with pytest.raises(ValueError, match="empty.fits: empty file"):
        read_header_values(tmp_path / "empty.fits", KEYS)


def test_content_hash_and_header_digest(tmp_path):
    a = write(tmp_path / "a.fits", 1)
    b = tmp_path / "copy.fits"
    b.write_bytes(a.read_bytes())
    c = write(tmp_path / "c.fits", 2)
    files = by_name(scan([tmp_path], KEYS, workers=1))
    assert files["a.fits"].header_digest == files["copy.fits"].header_digest
    assert files["a.fits"].header_digest != files["c.fits"].header_digest
    import hashlib

    assert content_hash(a) == content_hash(b) == hashlib.sha256(a.read_bytes()).hexdigest()
    assert content_hash(a) != content_hash(c)


def test_raw_files_never_written(tmp_path):
    for i in range(5):
        write(tmp_path / f"f{i}.fits", i)
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in tmp_path.iterdir()}
    scan([tmp_path], KEYS, cache_db=tmp_path / "work.sqlite", workers=1)
    for p, (mtime, blob) in before.items():
        assert p.stat().st_mtime_ns == mtime and p.read_bytes() == blob


def cache_rows(db: Path) -> dict[str, tuple]:
    with sqlite3.connect(db) as con:
        return {
            r[0]: r[1:]
            for r in con.execute("SELECT path, size, mtime_ns, vals FROM fits_scan_cache")
        }


def test_cache_hit_miss_invalidation(tmp_path):
    data = tmp_path / "raw"
    db = tmp_path / "work" / "reflexng.sqlite"
    db.parent.mkdir()
    for i in range(6):
        write(data / f"f{i}.fits", i)
    first = scan([data], KEYS, cache_db=db, workers=1)
    rows = cache_rows(db)
    assert len(rows) == 6
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    # unchanged: served from the cache (prove it by making the file unreadable to the reader:
    # overwrite the cached values in the database and see them come back)
    with sqlite3.connect(db) as con:
        con.execute("UPDATE fits_scan_cache SET vals = ? WHERE path LIKE '%f0.fits'",
                    (marshal.dumps({"DPR.TYPE": "FROM CACHE"}),))  # fmt: skip
    second = by_name(scan([data], KEYS, cache_db=db, workers=1))
    assert second["f0.fits"].values == {"DPR.TYPE": "FROM CACHE"}
    assert second["f1.fits"].values == by_name(first)["f1.fits"].values

    # touched: re-read
    st = os.stat(data / "f0.fits")
    os.utime(data / "f0.fits", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    third = by_name(scan([data], KEYS, cache_db=db, workers=1))
    assert third["f0.fits"].values["DPR.TYPE"] == "BIAS"

    # a keyword the cached rows lack: re-read; the row then knows both sets
    fourth = by_name(scan([data], ["INS.PAR3"], cache_db=db, workers=1))
    assert fourth["f2.fits"].values == {"INS.PAR3": "value 3"}
    fifth = by_name(scan([data], KEYS + ["INS.PAR3"], cache_db=db, workers=1))
    assert (
        fifth["f2.fits"].values["INS.PAR3"] == "value 3"
        and fifth["f2.fits"].values["DET.BINX"] == 1
    )

    # deleted: dropped from the cache; other roots' rows stay
    other = tmp_path / "other"
    write(other / "o.fits")
    scan([other], KEYS, cache_db=db, workers=1)
    (data / "f5.fits").unlink()
    result = scan([data], KEYS, cache_db=db, workers=1)
    assert len(result) == 5
    rows = cache_rows(db)
    assert str(data / "f5.fits") not in rows and str(other / "o.fits") in rows
    assert len(rows) == 6

    # a file turned bad: reported, and its row dropped
    (data / "f4.fits").write_bytes(b"garbage" * 500)
    f4 = by_name(scan([data], KEYS, cache_db=db, workers=1))["f4.fits"]
    assert f4.status == "unreadable" and f4.reason.startswith("not FITS")
    assert str(data / "f4.fits") not in cache_rows(db)


def test_parallel_scan_equals_serial(tmp_path):
    fast_copies(tmp_path, 900)
    (tmp_path / "d1" / "bad.fits").write_bytes(b"nope" * 1000)
    serial = scan([tmp_path], KEYS + ["OBS.ID"], workers=1)
    calls = []
    parallel = scan(
        [tmp_path], KEYS + ["OBS.ID"], workers=2, progress=lambda d, t: calls.append((d, t))
    )
    assert parallel == serial
    db = tmp_path.parent / f"{tmp_path.name}.sqlite"
    assert scan([tmp_path], KEYS + ["OBS.ID"], workers=2, cache_db=db) == serial
    assert scan([tmp_path], KEYS + ["OBS.ID"], workers=2, cache_db=db) == serial  # from cache
    assert len(serial) == 901
    assert sorted(f.values["OBS.ID"] for f in serial if f.status == "ok") == list(range(900))
    assert calls[-1] == (901, 901) and len(calls) > 2
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:]))


def test_cancel(tmp_path):
    fast_copies(tmp_path, 900)
    polls = []
    with pytest.raises(ScanCancelled):
        scan([tmp_path], KEYS, workers=2, cancelled=lambda: polls.append(1) or len(polls) > 1)


def test_warm_rescan_is_fast(tmp_path):
    fast_copies(tmp_path / "raw", 2000)
    db = tmp_path / "reflexng.sqlite"
    scan([tmp_path / "raw"], KEYS, cache_db=db)

    def cpu(**kw) -> float:
        best = 1e9
        for _ in range(3):
            t0 = time.process_time()
            result = scan([tmp_path / "raw"], KEYS, **kw)
            best = min(best, time.process_time() - t0)
            assert len(result) == 2000 and all(f.status == "ok" for f in result)
        return best

    cached = cpu(cache_db=db)
    # The wall-clock target (20,000 files in < 0.3 s) is measured by benchmarks/scan.py; on a
    # shared test machine, bound the CPU time instead: 40 us per file (reading costs ~50-100)
    assert cached < 2000 * 40e-6, cached


def test_scan_from_a_thread_uses_forkserver_and_matches(tmp_path):
    """A GUI scans from a worker thread: fork is unsafe then; the result must not change."""
    import threading

    fast_copies(tmp_path, 900)
    serial = scan([tmp_path], KEYS + ["OBS.ID"], workers=1)
    box: dict = {}
    stop = threading.Event()
    idle = threading.Thread(target=stop.wait)  # another thread alive, as in a Qt app
    idle.start()
    try:
        worker = threading.Thread(
            target=lambda: box.update(r=scan([tmp_path], KEYS + ["OBS.ID"], workers=2))
        )
        worker.start()
        worker.join(120)
    finally:
        stop.set()
        idle.join()
    assert box["r"] == serial


def evict(paths) -> None:
    """Drop files from the page cache (clean pages only, hence the sync)."""
    os.sync()
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def test_cold_page_cache_prefetch_path(tmp_path):
    from reflexng.fits.reader import is_cold

    fast_copies(tmp_path, 300)
    files = sorted(tmp_path.rglob("*.fits"))
    warm = scan([tmp_path], KEYS + ["OBS.ID"], workers=1)
    evict(files)
    if not is_cold(str(files[0])):
        pytest.skip("this file system does not report uncached pages (RWF_NOWAIT)")
    # the probe itself may start the kernel's read-ahead of that file (RWF_NOWAIT returns
    # EAGAIN but queues the read): let that read finish, then evict again so the scan, not
    # the probe, is the first to find the file cold
    time.sleep(0.2)
    evict(files)
    assert scan([tmp_path], KEYS + ["OBS.ID"], workers=1) == warm
    assert not is_cold(str(files[0]))


def test_benchmark_script_runs(tmp_path):
    """benchmarks/scan.py on a small corpus (warm only): it runs and checks values itself."""
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "scan.py"
    out = subprocess.run(
        [sys.executable, str(script), "--files", "300", "--sample", "30", "--no-cold",
         "--dir", str(tmp_path / "corpus")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "re-scan, all files cached" in out.stdout and "not measured: skipped" in out.stdout


@pytest.mark.skipif("fork" not in __import__("multiprocessing").get_all_start_methods(),
                    reason="no fork on this platform")
def test_scan_workers_fork_beside_the_ctrl_c_watcher_only(tmp_path):
    """The CLI's Ctrl-C watcher thread (waiting in sigwait) does not make the scan start a
    forkserver; any other thread does (fork is unsafe beside threads that may hold locks).
    Checked in a fresh interpreter: this test process may hold threads of earlier tests."""
    import subprocess
    import sys
    import textwrap
    import threading

    probe = textwrap.dedent("""
        import threading
        from reflexng.fits import scanner
        stop = threading.Event()
        def start(name):
            t = threading.Thread(target=stop.wait, name=name, daemon=True)
            t.start()
            return t
        start("reflexng-ctrl-c")
        print(scanner._pool_context().get_start_method())
        start("some-worker")
        print(scanner._pool_context().get_start_method())
        stop.set()
    """)
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["fork", "forkserver"]

    stop = threading.Event()

    def start(name):
        t = threading.Thread(target=stop.wait, name=name, daemon=True)
        t.start()
        return t

    # and a scan with worker processes beside the watcher reads every file
    fast_copies(tmp_path, 500)
    stop.clear()
    watcher = start("reflexng-ctrl-c")
    try:
        got = scan([str(tmp_path)], ["EXPTIME"], workers=2)
    finally:
        stop.set()
        watcher.join()
    assert len(got) == 500 and all(f.status == "ok" and "EXPTIME" in f.values for f in got)
    assert got == scan([str(tmp_path)], ["EXPTIME"], workers=1)  # the same as read in-process
