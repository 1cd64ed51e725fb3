"""Teacher controls of `reflexng demo`: --lesson, --seed, --reset, --regenerate and the damaged
demo folder, with real child processes and real (small, 128 px) simulated data."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def _demo(tmp_path, *args):
    env = {**os.environ, "REFLEXNG_DEMO_SIZE": "128", "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)}
    env.pop("REFLEXNG_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "reflexng", "demo", "--out", str(tmp_path / "demo"), *args],
                          capture_output=True, text=True, env=env, timeout=600)


def _one_line_error(proc) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("reflexng:")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("demo_controls")
    proc = _demo(home, "--lesson", "1")
    assert proc.returncode == 0, proc.stderr
    return home


def test_unknown_lesson_says_which_exist(tmp_path):
    line = _one_line_error(_demo(tmp_path, "--lesson", "42"))
    assert "no lesson 42" in line and "1, 2, 3, 4, 5" in line and "teaching.md" in line
    assert not (tmp_path / "demo").exists()  # nothing written for a bad request


def test_lesson_headless_is_one_line_naming_the_state(demo_home):
    proc = _demo(demo_home, "--lesson", "2")
    assert proc.returncode == 0, proc.stderr
    out = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    assert len(out) == 1
    assert "lesson 2" in out[0] and "no display" in out[0] and "nothing is reduced yet" in out[0]
    assert "reflexng gui --cascade demo_imaging" in out[0]


def test_seed_gives_another_sky_in_its_own_folder(demo_home):
    proc = _demo(demo_home, "--seed", "7", "--lesson", "1")
    assert proc.returncode == 0, proc.stderr
    t1 = json.loads((demo_home / "demo" / "imaging" / "truth_imaging.json").read_text())
    t7 = json.loads((demo_home / "demo" / "imaging-seed7" / "truth_imaging.json").read_text())
    assert t1["seed"] == 1 and t7["seed"] == 7
    s1 = t1["fields"]["DEMO_FIELD_A"]["stars"][1]
    s7 = t7["fields"]["DEMO_FIELD_A"]["stars"][1]
    assert (s1["x0"], s1["y0"]) != (s7["x0"], s7["y0"])
    assert (demo_home / "demo" / "work-imaging-seed7" / "reflexng.sqlite").exists()


def test_reset_gives_a_fresh_work_directory_and_keeps_the_data(demo_home):
    work = demo_home / "demo" / "work-imaging"
    marker = work / "left-over.txt"
    marker.write_text("from an earlier student")
    truth = demo_home / "demo" / "imaging" / "truth_imaging.json"
    before = truth.stat().st_mtime_ns
    proc = _demo(demo_home, "--reset", "--lesson", "1")
    assert proc.returncode == 0, proc.stderr
    assert "fresh work directory" in proc.stderr
    assert not marker.exists() and (work / "reflexng.sqlite").exists()
    assert truth.stat().st_mtime_ns == before


def test_reset_refuses_a_folder_that_is_not_a_work_directory(demo_home, tmp_path):
    other = tmp_path / "thesis"
    other.mkdir()
    (other / "chapter1.tex").write_text("precious")
    line = _one_line_error(_demo(demo_home, "--reset", "--workdir", str(other), "--lesson", "1"))
    assert "not a reflexng work directory" in line
    assert (other / "chapter1.tex").exists()


def test_damaged_demo_folder_says_regenerate(tmp_path):
    assert _demo(tmp_path, "--lesson", "1").returncode == 0
    raw = sorted((tmp_path / "demo" / "imaging" / "raw").iterdir())
    with open(raw[2], "r+b") as f:  # a truncated copy
        f.truncate(raw[2].stat().st_size - 4000)
    line = _one_line_error(_demo(tmp_path, "--lesson", "1"))
    assert raw[2].name in line and "truncated" in line and "--regenerate" in line
    raw[3].unlink()
    truth = tmp_path / "demo" / "imaging" / "truth_imaging.json"
    truth.unlink()
    line = _one_line_error(_demo(tmp_path, "--lesson", "1"))
    assert "truth_imaging.json is missing" in line and "--regenerate" in line
    proc = _demo(tmp_path, "--regenerate", "--lesson", "1")
    assert proc.returncode == 0, proc.stderr
    assert truth.is_file() and (tmp_path / "demo" / "imaging" / "raw" / raw[3].name).is_file()


def test_demo_data_of_an_older_format_are_written_again(demo_home):
    """Demo data an older reflexng wrote (before the realistic simulators: no ``data_format`` in the
    truth file) would leave jobs incomplete; `reflexng demo` says so in one line and writes them again."""
    from reflexng.simulate.detector import DATA_FORMAT

    data = demo_home / "demo" / "imaging-seed3"
    assert _demo(demo_home, "--seed", "3", "--lesson", "1").returncode == 0
    truth = data / "truth_imaging.json"
    t = json.loads(truth.read_text())
    assert t["data_format"] == DATA_FORMAT
    del t["data_format"]
    truth.write_text(json.dumps(t))
    stale = data / "raw" / "left-by-an-older-version.fits"
    stale.write_bytes(b"")
    proc = _demo(demo_home, "--seed", "3", "--lesson", "1")
    assert proc.returncode == 0, proc.stderr
    notes = [ln for ln in proc.stderr.splitlines() if "older reflexng" in ln]
    assert len(notes) == 1 and "data format 1" in notes[0] and str(data) in notes[0]
    assert json.loads(truth.read_text())["data_format"] == DATA_FORMAT and not stale.exists()
