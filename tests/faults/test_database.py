"""The work directory's database under stress: damaged pages, read-only folders, a full disk
(a real 2 MB tmpfs where the machine allows mounting one; skipped elsewhere)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from ._faults import jobs_by_task, recipe_cascade, run_json, rx, tracebacks, write_raw

TINY = recipe_cascade  # one job per raw file of test_noop


def _mount(path, size="2m"):
    path.mkdir(parents=True, exist_ok=True)
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root on Linux")
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.decode(errors='replace').strip()}")
    return path


@pytest.fixture
def small_disk(tmp_path):
    """A real 2 MB file system; unmounted after the test."""
    disk = _mount(tmp_path / "disk")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def _fill(disk):
    """Fill the disk to the last byte; returns the filler file."""
    filler = disk / "filler"
    with open(filler, "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    try:  # the last few bytes too
        with open(filler, "ab", buffering=0) as fh:
            while True:
                fh.write(b"\0" * 512)
    except OSError:
        pass
    return filler


def _says_damaged(text):
    return ": damaged (" in text or "damaged file" in text


def _ok(db):
    with sqlite3.connect(db) as con:
        return con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_damaged_database_is_found_on_open_and_never_written(tmp_path, raw_guard):
    data = raw_guard(tmp_path / "data")
    write_raw(data, 3)
    cascade = TINY(tmp_path / "c.py", "test_noop")
    w = tmp_path / "w"
    run_json(cascade, data, w, code=0)
    db = w / "reflexng.sqlite"
    raw = bytearray(db.read_bytes())
    page = 4096
    assert len(raw) >= 4 * page
    raw[2 * page:3 * page] = os.urandom(page)  # an overwritten page in the middle
    db.write_bytes(bytes(raw))
    before = db.read_bytes()
    res = rx("run", "--cascade", cascade, "--data", data, "--workdir", w)
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert str(db) in res.stderr and _says_damaged(res.stderr), res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert db.read_bytes() == before  # not written on
    # a healthy database is never called damaged
    w2 = tmp_path / "w2"
    run_json(cascade, data, w2, code=0)
    summary, err = run_json(cascade, data, w2, code=0)
    assert not _says_damaged(err) and {j["status"] for j in summary["jobs"]} == {"reused"}


def test_a_read_only_work_directory_is_organised_and_inspected_not_run(tmp_path, raw_guard):
    data = raw_guard(tmp_path / "data")
    write_raw(data, 2)
    cascade = TINY(tmp_path / "c.py", "test_noop")
    disk = _mount(tmp_path / "disk", "8m")
    try:
        w = disk / "w"
        summary, _ = run_json(cascade, data, w, code=0)
        product = summary["jobs"][0]["products"][0]
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        res = rx("organise", "--cascade", cascade, "--data", data, "--workdir", w)
        assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
        assert "datasets: 2" in res.stdout and not _says_damaged(res.stderr), res.stdout + res.stderr
        res = rx("provenance", product)
        assert res.returncode == 0 and "made by job" in res.stdout, res.stdout + res.stderr
        res = rx("run", "--cascade", cascade, "--data", data, "--workdir", w)
        assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
        assert "read-only" in res.stderr and str(w) in res.stderr and not _says_damaged(res.stderr), res.stderr
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def test_a_full_disk_rolls_back_names_the_folder_and_the_next_run_continues(tmp_path, small_disk, raw_guard):
    data = raw_guard(tmp_path / "data")
    write_raw(data, 3)
    cascade = TINY(tmp_path / "c.py", "test_noop")
    w = small_disk / "w"
    run_json(cascade, data, w, code=0)
    filler = _fill(small_disk)
    for verb in ("run", "run"):  # twice: a failed write leaves nothing open behind it
        res = rx(verb, "--cascade", cascade, "--data", data, "--workdir", w, "--force", "all")
        assert res.returncode != 0 and "Traceback" not in res.stderr + res.stdout, res.stderr
        assert not _says_damaged(res.stderr), res.stderr
        assert "disk is full" in res.stderr and "ENOSPC" in res.stderr and str(w) in res.stderr, res.stderr
    res = rx("organise", "--cascade", cascade, "--data", data, "--workdir", w)  # organised anyway
    assert res.returncode == 0 and "datasets: 3" in res.stdout and "Traceback" not in res.stderr, res.stderr
    filler.unlink()
    assert _ok(w / "reflexng.sqlite")
    summary, _ = run_json(cascade, data, w, "--force", "all", code=0)
    assert {j["status"] for j in summary["jobs"]} == {"executed"}


def test_a_disk_that_fills_during_a_job_fails_that_job_and_the_next_run_continues(tmp_path, small_disk, raw_guard):
    data = raw_guard(tmp_path / "data")
    write_raw(data, 2)
    from ._faults import function_cascade

    body = ("def fn(inputs, parameters, output_dir):\n"
            "    big = Path(os.environ['FILL_DISK']) / 'filler'\n"
            "    if not big.exists():\n"
            "        with open(big, 'wb') as fh:\n"
            "            try:\n"
            "                while True:\n"
            "                    fh.write(b'0' * 65536); fh.flush()\n"
            "            except OSError:\n"
            "                pass\n"
            "    write_header_fits(output_dir / 'p.fits', {'OBJECT': 'X', 'BIG': 'x' * 60})\n")
    cascade = function_cascade(tmp_path / "c.py", body)
    w = small_disk / "w"
    env = dict(os.environ, FILL_DISK=str(small_disk))
    res = rx("run", "--cascade", cascade, "--data", data, "--workdir", w, "--json", env=env)
    assert res.returncode != 0 and not tracebacks(res.stderr + res.stdout), res.stderr
    assert "No space left on device" in res.stderr or "disk is full" in res.stderr, res.stderr
    assert not _says_damaged(res.stderr), res.stderr
    (small_disk / "filler").unlink()
    assert _ok(w / "reflexng.sqlite")
    env["FILL_DISK"] = str(tmp_path)  # the filler now goes elsewhere
    (tmp_path / "filler").write_bytes(b"")
    summary, _ = run_json(cascade, data, w, code=0, env=env)
    assert {j["status"] for j in jobs_by_task(summary)["prep"]} == {"executed"}


def test_a_damaged_stored_output_is_a_message_naming_the_work_directory(tmp_path, raw_guard):
    """The stored ``--json`` text of an unchanged re-organise is inflated as it is written out;
    a damaged one ends the command with one line naming the work directory, no traceback."""
    data = raw_guard(tmp_path / "data")
    write_raw(data, 3)
    cascade = TINY(tmp_path / "c.py", "test_noop")
    w = tmp_path / "w"
    first = rx("organise", "--cascade", cascade, "--data", data, "--workdir", w, "--json")
    assert first.returncode == 0, first.stderr
    again = rx("organise", "--cascade", cascade, "--data", data, "--workdir", w, "--json")
    assert again.returncode == 0 and again.stdout == first.stdout, again.stderr  # the stored output
    with sqlite3.connect(w / "reflexng.sqlite") as con:
        (blob,) = con.execute("SELECT text FROM organise_outputs WHERE kind = 'json'").fetchone()
        assert blob[:1] == b"Z"
        con.execute("UPDATE organise_outputs SET text = ? WHERE kind = 'json'",
                    (blob[:1] + blob[1:3] + bytes(b ^ 0x5A for b in blob[3:]),))
    res = rx("organise", "--cascade", cascade, "--data", data, "--workdir", w, "--json")
    assert res.returncode != 0 and "Traceback" not in res.stderr, res.stderr
    assert str(w) in res.stderr and "damaged" in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
