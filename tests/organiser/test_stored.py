"""Stored organise results and incremental re-organising (issue 17).

Real header-only FITS files in temporary folders, a real SQLite work directory; the
incremental result is compared with a full organise of the same files in a fresh work
directory and without one.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reflexng.cascade import load
from reflexng.organiser import organise
from reflexng.organiser.incremental import CHANGING, GONE, clear_memory
from reflexng.organiser.report import to_json
from reflexng.organiser.spectest import write_header_fits

from .conftest import MINI, T0

_clock = [1_900_000_000 * 10**9]


def put(path: Path, header: dict) -> None:
    """Write a file and give it a new, later mtime (as a real write does)."""
    write_header_fits(path, header)
    _clock[0] += 10**9
    os.utime(path, ns=(_clock[0], _clock[0]))


def header_of(kind: str, night: int, i: int, binx: int) -> dict:
    mjd = T0 + night + i * 0.001
    if kind == "OBJECT":
        return {"DPR.CATG": "SCIENCE", "DPR.TYPE": "OBJECT", "DET.BINX": binx, "OBS.ID": 1 + i % 2,
                "OBJECT": "NGC 253", "EXPTIME": 100.0, "MJD-OBS": mjd}
    if kind == "LINE_LIST":
        return {"PRO.CATG": "LINE_LIST"}
    return {"DPR.TYPE": kind, "DET.BINX": binx, "TPL.START": f"{kind}-{night}", "MJD-OBS": mjd}


headers = st.builds(header_of, st.sampled_from(["BIAS", "BIAS", "FLAT", "LAMP,WAVE", "SKY", "OBJECT",
                                                "LINE_LIST", "DARK"]),
                    st.integers(0, 2), st.integers(0, 4), st.sampled_from([1, 2]))
ops = st.lists(st.one_of(
    st.tuples(st.just("add"), headers),
    st.tuples(st.just("remove"), st.integers(0, 99)),
    st.tuples(st.just("modify"), st.integers(0, 99), headers),
    st.tuples(st.just("copy"), st.integers(0, 99)),
    st.tuples(st.just("exclude"), st.integers(0, 99)),
    st.tuples(st.just("junk"), st.integers(0, 1)),
), min_size=1, max_size=6)


def dump(result) -> str:
    return json.dumps(to_json(result), sort_keys=True)


@pytest.fixture(scope="module")
def mini():
    return load(MINI)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(initial=st.lists(headers, min_size=3, max_size=10), changes=ops, target=st.sampled_from([None, "flat"]))
def test_incremental_equals_full(mini, initial, changes, target):
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw"
        (raw / "sub").mkdir(parents=True)
        names: list[Path] = []
        for n, h in enumerate(initial):
            p = raw / ("sub" if n % 3 == 0 else "") / f"f{n:03d}.fits"
            put(p, h)
            names.append(p)
        excluded: set[str] = set()
        work = Path(tmp) / "work"
        first = organise(mini, raw, target, workdir=work, excluded_files=excluded)
        assert dump(first) == dump(organise(mini, raw, target, excluded_files=excluded))
        serial = len(initial)
        for op in changes:
            existing = [p for p in names if p.exists()]
            if op[0] == "add":
                p = raw / f"f{serial:03d}.fits"
                serial += 1
                put(p, op[1])
                names.append(p)
            elif op[0] == "remove" and existing:
                existing[op[1] % len(existing)].unlink()
            elif op[0] == "modify" and existing:
                put(existing[op[1] % len(existing)], op[2])
            elif op[0] == "copy" and existing:  # an identical copy: a duplicate
                p = raw / f"f{serial:03d}.fits"
                serial += 1
                shutil.copyfile(existing[op[1] % len(existing)], p)
                _clock[0] += 10**9
                os.utime(p, ns=(_clock[0], _clock[0]))
                names.append(p)
            elif op[0] == "exclude" and existing:
                excluded ^= {str(existing[op[1] % len(existing)])}
            elif op[0] == "junk":
                p = raw / f"junk{op[1]}.fits"
                p.write_bytes(b"not a FITS file at all" * op[1])
            # from the store (a new process would see the same) and from this process' memory
            clear_memory()
            incremental = organise(mini, raw, target, workdir=work, excluded_files=excluded)
            full = organise(mini, raw, target, workdir=Path(tmp) / f"fresh{serial}_{len(excluded)}",
                            excluded_files=excluded)
            plain = organise(mini, raw, target, excluded_files=excluded)
            assert dump(incremental) == dump(full) == dump(plain)
            assert incremental.files == plain.files
            again = organise(mini, raw, target, workdir=work, excluded_files=excluded)
            assert dump(again) == dump(plain)


def _night(raw: Path) -> None:
    for i in range(3):
        put(raw / f"bias_{i}.fits", header_of("BIAS", 0, i, 1))
    for i in range(2):
        put(raw / "flats" / f"flat_{i}.fits", header_of("FLAT", 0, i, 1))


def test_unchanged_folder_is_not_read_again(mini, tmp_path):
    raw = tmp_path / "raw"
    _night(raw)
    calls: list[tuple] = []
    first = organise(mini, raw, "flat", workdir=tmp_path / "w", progress=lambda *a: calls.append(a))
    assert calls  # the first organise scans
    for forget in (False, True):
        if forget:
            clear_memory()  # as in a new process: the result comes from the database
        calls.clear()
        again = organise(mini, raw, "flat", workdir=tmp_path / "w", progress=lambda *a: calls.append(a))
        assert calls == []  # nothing scanned, nothing classified
        assert dump(again) == dump(first)
        assert again is not first and again.files == first.files
    con = sqlite3.connect(tmp_path / "w" / "reflexng.sqlite")
    assert con.execute("SELECT count(*) FROM organise_results").fetchone()[0] == 1
    # another request (target) on the same files: organised, classification reused
    other = organise(mini, raw, "bias", workdir=tmp_path / "w")
    assert other.targets == ("bias",)
    assert dump(other) == dump(organise(mini, raw, "bias"))


def test_stored_result_never_used_when_cascade_or_parameter_set_changed(tmp_path):
    folder = tmp_path / "cascade"
    folder.mkdir()
    cascade_file = folder / "mini.py"
    shutil.copyfile(MINI, cascade_file)
    raw = tmp_path / "raw"
    _night(raw)
    work = tmp_path / "w"
    first = organise(load(cascade_file), raw, "flat", workdir=work)
    assert {f.category for f in first.files} == {"BIAS", "FLAT"}
    # the cascade file changes: a rule gives another category
    text = cascade_file.read_text()
    cascade_file.write_text(text.replace('classification_rule("BIAS"', 'classification_rule("ZERO"'))
    changed = organise(load(cascade_file), raw, "flat", workdir=work)
    assert {f.category for f in changed.files} == {"ZERO", "FLAT"}
    # back to the first text: the first stored result is right again
    cascade_file.write_text(text)
    assert dump(organise(load(cascade_file), raw, "flat", workdir=work)) == dump(first)
    # a parameter-set file beside the cascade changes the workflow parameters
    params = folder / "mini.params.yaml"
    params.write_text("default:\n  workflow_parameters: {group_by: OBS.ID}\n")
    a = organise(load(cascade_file), raw, "flat", workdir=work, parameter_set="default")
    params.write_text("default:\n  workflow_parameters: {group_by: OBJECT}\n")
    b = organise(load(cascade_file), raw, "flat", workdir=work, parameter_set="default")
    assert a.workflow_parameters["group_by"] == "OBS.ID"
    assert b.workflow_parameters["group_by"] == "OBJECT"
    # a helper module beside the cascade is part of it too
    (folder / "_helper.py").write_text("X = 1\n")
    clear_memory()
    calls: list = []
    organise(load(cascade_file), raw, "flat", workdir=work, parameter_set="default",
             progress=lambda *x: calls.append(x))
    assert calls  # organised again, not taken from the store


def test_folder_disappearing_during_organise_gives_a_reason_per_file(mini, tmp_path):
    raw = tmp_path / "raw"
    _night(raw)
    flats = sorted(str(p) for p in (raw / "flats").iterdir())
    work = tmp_path / "w"

    def remove_flats(done, total):
        if (raw / "flats").exists():
            shutil.rmtree(raw / "flats")

    result = organise(mini, raw, "flat", workdir=work, progress=remove_flats)
    for p in flats:
        rec = result.file(p)
        assert rec is not None and rec.status == "unreadable" and rec.reason == GONE
    assert all(f.status == "ok" for f in result.files if f.path not in flats)
    # nothing stale was stored: the next organise sees only what is there
    clear_memory()
    after = organise(mini, raw, "flat", workdir=work)
    assert sorted(f.path for f in after.files) == sorted(str(p) for p in raw.glob("bias_*.fits"))
    assert dump(after) == dump(organise(mini, raw, "flat"))


def test_file_changing_during_organise_is_not_stored_stale(mini, tmp_path):
    raw = tmp_path / "raw"
    _night(raw)
    work = tmp_path / "w"
    victim = raw / "bias_0.fits"

    def rewrite(done, total):  # changes on every scan: the last attempt says so
        put(victim, header_of("BIAS", 0, 0, 2))

    result = organise(mini, raw, "flat", workdir=work, progress=rewrite)
    rec = result.file(str(victim))
    assert rec.status == "unreadable" and rec.reason == CHANGING
    clear_memory()
    calm = organise(mini, raw, "flat", workdir=work)
    assert calm.file(str(victim)).headers["DET.BINX"] == 2
    assert dump(calm) == dump(organise(mini, raw, "flat"))


def test_changed_file_once_during_organise_is_organised_again(mini, tmp_path):
    raw = tmp_path / "raw"
    _night(raw)
    work = tmp_path / "w"
    victim = raw / "bias_1.fits"
    done = []

    def rewrite_once(*_):
        if not done:
            done.append(1)
            put(victim, header_of("FLAT", 0, 7, 1))

    result = organise(mini, raw, "flat", workdir=work, progress=rewrite_once)
    assert result.file(str(victim)).category == "FLAT"  # the state after the change
    assert dump(result) == dump(organise(mini, raw, "flat"))


# (an exit handler: organise leaves by os._exit after running them, skipping the shutdown)
PROBE = """import atexit, sys, runpy

def report():
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("numpy", "astropy", "networkx"))
    print("HEAVY:" + ",".join(heavy), file=sys.stderr)

atexit.register(report)
sys.argv = ["reflexng", *sys.argv[1:]]
runpy.run_module("reflexng", run_name="__main__")
"""


def _cli(*args):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-c", PROBE, "organise", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def _heavy(p) -> str:
    return [line for line in p.stderr.splitlines() if line.startswith("HEAVY:")][-1][6:]


@pytest.mark.parametrize("as_json", [True, False])
def test_cli_unchanged_writes_the_stored_output_without_heavy_imports(tmp_path, as_json):
    folder = tmp_path / "cascade"
    folder.mkdir()
    cascade_file = folder / "mini.py"
    shutil.copyfile(MINI, cascade_file)
    raw = tmp_path / "raw"
    _night(raw)
    args = ["--cascade", cascade_file, "--data", raw, "--target", "flat", "--workdir", tmp_path / "w"]
    if as_json:
        args.append("--json")
    first = _cli(*args)
    assert first.returncode == 0, first.stderr
    again = _cli(*args)
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    assert _heavy(again) == ""  # no numpy, astropy or networkx on the unchanged path
    plain = _cli(*[a for a in args if a not in ("--workdir", tmp_path / "w")])
    assert plain.stdout == first.stdout  # the same as organising without a work directory
    # a changed cascade file is never answered from the store
    cascade_file.write_text(cascade_file.read_text().replace('classification_rule("BIAS"',
                                                             'classification_rule("ZERO"'))
    changed = _cli(*args)
    assert changed.returncode == 0, changed.stderr
    assert "ZERO" in changed.stdout and changed.stdout != first.stdout
    # a changed file is organised again: its new contents show
    put(raw / "bias_0.fits", header_of("FLAT", 0, 9, 1))
    after = _cli(*args)
    assert after.stdout != changed.stdout
    assert after.stdout == _cli(*[a for a in args if a not in ("--workdir", tmp_path / "w")]).stdout


def test_cli_unchanged_checks_modules_the_cascade_imports(tmp_path):
    """A helper module outside the cascade's folder (here on PYTHONPATH) is part of it too."""
    import subprocess
    import sys

    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "site_names.py").write_text('BIAS = "BIAS"\n')
    folder = tmp_path / "cascade"
    folder.mkdir()
    text = MINI.read_text().replace('classification_rule("BIAS"', 'classification_rule(site_names.BIAS')
    (folder / "mini.py").write_text("import site_names\n" + text)
    raw = tmp_path / "raw"
    _night(raw)
    env = dict(os.environ, PYTHONPATH=str(lib))
    cmd = [sys.executable, "-m", "reflexng", "organise", "--cascade", str(folder / "mini.py"),
           "--data", str(raw), "--target", "flat", "--workdir", str(tmp_path / "w"), "--json"]

    def run():
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout)

    first = run()
    assert {f["category"] for f in first["files"]} == {"BIAS", "FLAT"}
    assert run() == first
    _clock[0] += 10**9
    (lib / "site_names.py").write_text('BIAS = "OFFSET"\n')
    os.utime(lib / "site_names.py", ns=(_clock[0], _clock[0]))
    assert {f["category"] for f in run()["files"]} == {"OFFSET", "FLAT"}


def test_cli_recipe_parameters_are_part_of_the_request(tmp_path):
    """An unchanged folder with another --param is never answered with the stored output:
    a bad recipe parameter is still rejected."""
    import subprocess
    import sys

    raw = tmp_path / "raw"
    _night(raw)
    base = [sys.executable, "-m", "reflexng", "organise", "--cascade", str(MINI), "--data", str(raw),
            "--target", "flat", "--workdir", str(tmp_path / "w"), "--json"]

    def run(*extra):
        return subprocess.run([*base, *extra], capture_output=True, text=True, timeout=120)

    plain = run()
    assert plain.returncode == 0, plain.stderr
    assert run().stdout == plain.stdout
    bad = run("--param", "nosuchtask.sigma=9")
    assert bad.returncode == 2 and "nosuchtask" in bad.stderr and bad.stdout == ""
    assert run().stdout == plain.stdout
