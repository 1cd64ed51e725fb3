"""Bad paths for every verb: missing, a file for a folder and back, unwritable, damaged database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from ._cli import check, rx, write_raw


def test_missing_cascade_and_folder_as_cascade(tiny, tmp_path):
    cascade, data = tiny
    err = check(rx("run", "--cascade", tmp_path / "nope.py", "--data", data, "--workdir", tmp_path / "w"), 2, "nope.py")
    assert "not found" in err and "reflexng cascade list" in err
    err = check(rx("organise", "--cascade", data, "--data", data), 2, data)
    assert "is a folder, not a cascade file" in err
    check(rx("cascade", "show", tmp_path / "nope.py"), 2, "nope.py")
    res = rx("cascade", "validate", "no_such_cascade_name")
    assert res.returncode == 2 and "no cascade named 'no_such_cascade_name'" in res.stdout


def test_data_missing_or_a_file(tiny, tmp_path):
    cascade, data = tiny
    for verb in ("run", "organise"):
        err = check(rx(verb, "--cascade", cascade, "--data", tmp_path / "nodata", "--workdir", tmp_path / "w"),
                    2, "nodata")
        assert "not a folder (nothing at this path)" in err
        err = check(rx(verb, "--cascade", cascade, "--data", cascade, "--workdir", tmp_path / "w"), 2, cascade)
        assert "is a file, not a folder" in err
    assert not (tmp_path / "w").exists()


def test_workdir_is_a_file_or_under_a_file(tiny, tmp_path):
    cascade, data = tiny
    a_file = tmp_path / "notes.txt"
    a_file.write_text("my notes\n")
    for verb in ("run", "organise"):
        err = check(rx(verb, "--cascade", cascade, "--data", data, "--workdir", a_file), 2, a_file)
        assert "is a file, not a folder" in err
        err = check(rx(verb, "--cascade", cascade, "--data", data, "--workdir", a_file / "sub"), 2, a_file)
        assert "choose another path" in err
    assert a_file.read_text() == "my notes\n"  # never touched


def _read_only_prefix(folder) -> list[str] | None:
    """A command prefix under which ``folder`` is read-only: none needed for a normal user; for
    root (who ignores permissions) a private read-only bind mount; None when neither works."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return []
    if shutil.which("unshare") is None:
        return None
    script = f"mount --bind '{folder}' '{folder}' && mount -o remount,bind,ro '{folder}' && exec \"$@\""
    prefix = ["unshare", "-m", "sh", "-c", script, "sh"]
    probe = subprocess.run([*prefix, "touch", str(folder / "probe")], capture_output=True)
    return prefix if probe.returncode != 0 and not (folder / "probe").exists() else None


def test_read_only_workdir(tiny, tmp_path):
    cascade, data = tiny
    ro = tmp_path / "ro"
    ro.mkdir()
    prefix = _read_only_prefix(ro)
    if prefix is None:
        pytest.skip("cannot make a read-only folder here (root without unshare/mount)")
    try:
        for verb in ("run", "organise"):
            for w in (ro / "w", ro):
                res = subprocess.run([*prefix, sys.executable, "-m", "reflexng", verb, "--cascade", str(cascade),
                                      "--data", str(data), "--workdir", str(w)], capture_output=True, text=True,
                                     timeout=60)
                if verb == "organise" and w == ro:  # an existing read-only work directory is still organised
                    check(res, 0)
                    assert "datasets: 1" in res.stdout, res.stdout
                    continue
                err = check(res, 2, w)
                assert "--workdir" in err, err
    finally:
        ro.chmod(0o755)


def test_damaged_work_directory_database(tiny, tmp_path):
    cascade, data = tiny
    w = tmp_path / "w"
    w.mkdir()
    db = w / "reflexng.sqlite"
    junk = b"this is not sqlite" + bytes(range(256)) * 40
    db.write_bytes(junk)
    for verb in ("run", "organise"):
        err = check(rx(verb, "--cascade", cascade, "--data", data, "--workdir", w), 2, "reflexng.sqlite")
        assert "move the damaged file aside or choose another --workdir" in err
    product = write_raw(tmp_path / "elsewhere")[0]
    check(rx("provenance", product, "--workdir", w), 2, "reflexng.sqlite")
    assert db.read_bytes() == junk  # the damaged file is left for the user, not overwritten


def test_demo_data_out_is_a_file_or_someone_elses_folder(tmp_path):
    a_file = tmp_path / "f.txt"
    a_file.write_text("x")
    err = check(rx("demo-data", "--out", a_file, "--mode", "imaging"), 2, a_file)
    assert "is a file, not a folder" in err
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    err = check(rx("demo-data", "--out", mine, "--mode", "imaging", "--size", "64"), 2, mine)
    assert "choose an empty or new folder" in err
    assert [p.name for p in mine.iterdir()] == ["thesis.tex"]
    err = check(rx("demo-data", "--out", tmp_path / "new", "--mode", "imaging", "--size", "3"), 2)
    assert "size must be an even number" in err
    err = check(rx("demo", "--headless", "--out", tmp_path / "demo", "--size", "3"), 2)
    assert "size must be an even number" in err


def test_gui_without_display_and_bad_paths(tiny, tmp_path):
    cascade, data = tiny
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    res = rx("gui", "--cascade", cascade, "--data", data, env=env)
    err = check(res, 2)
    assert len(err.strip().splitlines()) == 1 and "display" in err
    env["QT_QPA_PLATFORM"] = "offscreen"  # a display: the paths are checked before any window opens
    check(rx("gui", "--data", tmp_path / "nodata", env=env, timeout=30), 2, "nodata")
    check(rx("gui", "--cascade", tmp_path / "nope.py", env=env, timeout=30), 2, "nope.py")
    check(rx("gui", "--workdir", cascade, env=env, timeout=30), 2, cascade)


def test_provenance_of_files_not_made_by_reflexng(tiny, tmp_path):
    cascade, data = tiny
    raw = next(data.iterdir())
    err = check(rx("provenance", raw), 2, raw)
    assert "give --workdir" in err
    err = check(rx("provenance", tmp_path / "missing.fits"), 2, "missing.fits")
    assert "check the path" in err
    err = check(rx("provenance", data), 2, data)
    assert "is a folder" in err
    err = check(rx("provenance", raw, "--workdir", tmp_path), 2, tmp_path)
    assert "not a reflexng work directory" in err
    # a work directory that exists, and a raw file (not a product) of it
    w = tmp_path / "w"
    check(rx("organise", "--cascade", cascade, "--data", data, "--workdir", w), 0)
    res = rx("run", "--cascade", cascade, "--data", data, "--workdir", w)
    assert res.returncode == 0, res.stderr
    err = check(rx("provenance", raw, "--workdir", w), 2, raw)
    assert "not a product" in err
    product = next((w / "end_products").rglob("*.fits"))
    res = rx("provenance", product, "--workdir", w, "--prov-json", tmp_path / "no" / "such" / "dir" / "p.json")
    check(res, 2, tmp_path / "no" / "such" / "dir" / "p.json")
