"""Bad data folders, damaged FITS files, malformed scenario/OCA files; raw files never written."""

from __future__ import annotations

import json

from ._cli import check, rx, tree_hashes, write_cascade, write_raw


def test_empty_data_folder_says_nothing_to_run(tiny, tmp_path):
    cascade, _ = tiny
    empty = tmp_path / "empty"
    empty.mkdir()
    err = check(rx("run", "--cascade", cascade, "--data", empty, "--workdir", tmp_path / "w"), 1, empty)
    assert "nothing to run: no FITS files found" in err and "check --data" in err


def test_non_fits_and_corrupt_files_are_reported_not_fatal(tiny, tmp_path):
    cascade, _ = tiny
    data = tmp_path / "junk"
    data.mkdir()
    (data / "random.fits").write_bytes(bytes(range(256)) * 20)
    (data / "notes.txt").write_text("not data")
    (data / "truncated.fits").write_bytes(b"SIMPLE  =                    T".ljust(80))
    good = write_raw(tmp_path / "good")[0]
    bad = bytearray(good.read_bytes())
    end = bad.index(b"END" + b" " * 77)
    bad[end:end + 80] = b"X" * 80  # no END card: a corrupt header
    (data / "noend.fits").write_bytes(bytes(bad))
    before = tree_hashes(data)
    res = rx("organise", "--cascade", cascade, "--data", data, "--workdir", tmp_path / "w")
    assert res.returncode == 0 and "Traceback" not in res.stderr
    for name in ("random.fits", "truncated.fits", "noend.fits"):
        assert str(data / name) in res.stdout, res.stdout
    err = check(rx("run", "--cascade", cascade, "--data", data, "--workdir", tmp_path / "w"), 1,
                data / "random.fits", data / "truncated.fits", "reflexng organise")
    assert "unreadable" in err
    assert tree_hashes(data) == before


def test_a_run_never_writes_raw_files(tmp_path):
    data = tmp_path / "data"
    write_raw(data, 3)
    cascade = write_cascade(tmp_path / "c.py")
    before = tree_hashes(data)
    modes = {p: p.stat().st_mode for p in data.iterdir()}
    res = rx("run", "--cascade", cascade, "--data", data, "--workdir", tmp_path / "w", "--jobs", "2")
    check(res, 0)
    assert "3 executed" in res.stdout
    res = rx("run", "--cascade", cascade, "--data", data, "--workdir", tmp_path / "w", "--force", "all", "--jobs", "2")
    check(res, 0)
    assert tree_hashes(data) == before
    assert {p: p.stat().st_mode for p in data.iterdir()} == modes
    assert sorted(p.name for p in data.iterdir()) == ["raw_0.fits", "raw_1.fits", "raw_2.fits"]


def test_malformed_scenario_spec(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"cascade": "x.py", "files": [\n')
    check(rx("cascade", "test", bad), 2, "bad.json:2", "not valid JSON")
    arr = tmp_path / "arr.json"
    arr.write_text("[1, 2]")
    check(rx("cascade", "test", arr), 2, "arr.json")
    check(rx("cascade", "test", tmp_path / "missing.json"), 2, "missing.json")
    check(rx("cascade", "test", tmp_path), 2, str(tmp_path))
    nocascade = tmp_path / "nocascade.json"
    nocascade.write_text(json.dumps({"cascade": "nope.py", "files": []}))
    check(rx("cascade", "test", nocascade), 2, "nope.py")


def test_oca_syntax_error_and_no_overwrite(tmp_path):
    bad = tmp_path / "bad.oca"
    bad.write_text('if DPR.CATG == "CALIB" and and\n')
    check(rx("cascade", "from-oca", bad), 2, f"{bad}:1")
    check(rx("cascade", "from-oca", tmp_path / "none.oca"), 2, "none.oca")
    check(rx("cascade", "from-oca", tmp_path), 2, str(tmp_path))
    good = tmp_path / "good.oca"
    good.write_text('if DPR.CATG == "CALIB" and DPR.TYPE == "BIAS" then\n{\n  DO.CATG = "BIAS";\n}\n')
    mine = tmp_path / "mine.py"
    mine.write_text("# my hand-edited cascade\n")
    err = check(rx("cascade", "from-oca", good, "-o", mine), 2, mine)
    assert "--force" in err and mine.read_text() == "# my hand-edited cascade\n"
    res = rx("cascade", "from-oca", good, "-o", tmp_path / "new.py")
    check(res, 2, "new.py", "defines no task")  # written, then validated: a rules-only file has no task
    assert (tmp_path / "new.py").is_file()
