"""Files touched or rewritten with the same header: the stored result, restamped (issue 17).

Real header-only FITS files, a real SQLite work directory, real ``reflexng organise``
processes. Every incremental result is compared with a full organise of the same files.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reflexng.cascade import load
from reflexng.organiser import organise
from reflexng.organiser import store as _store
from reflexng.organiser.incremental import GONE, clear_memory
from reflexng.organiser.report import to_json
from reflexng.organiser.restat import plan_reads_headers_only, refresh
from reflexng.organiser.spectest import write_header_fits

from .conftest import MINI
from .test_stored import header_of

_clock = [1_950_000_000 * 10**9]


def _later(path: Path) -> None:
    _clock[0] += 10**9
    os.utime(path, ns=(_clock[0], _clock[0]))


def put(path: Path, header: dict) -> None:
    write_header_fits(path, header)
    _later(path)


def dump(result) -> str:
    return json.dumps(to_json(result), sort_keys=True)


def _quick_cascade(folder: Path) -> Path:
    """The mini cascade without its dynamic parameter (cascade code reading a RuleContext)."""
    folder.mkdir(parents=True, exist_ok=True)
    text = MINI.read_text()
    cut = '    .with_dynamic_parameter("half_exptime", exptime_half)\n'
    assert cut in text
    path = folder / "mini_quick.py"
    path.write_text(text.replace(cut, ""))
    return path


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return load(_quick_cascade(tmp_path_factory.mktemp("cascade")))


def test_only_cascades_whose_plan_reads_headers_alone_are_restamped(quick):
    assert plan_reads_headers_only(quick)
    assert not plan_reads_headers_only(load(MINI))  # a dynamic parameter sees RuleContext.files


headers = st.builds(header_of, st.sampled_from(["BIAS", "BIAS", "FLAT", "LAMP,WAVE", "SKY", "OBJECT",
                                                "LINE_LIST", "DARK"]),
                    st.integers(0, 2), st.integers(0, 4), st.sampled_from([1, 2]))
ops = st.lists(st.one_of(
    st.tuples(st.just("touch"), st.lists(st.integers(0, 99), min_size=1, max_size=4)),
    st.tuples(st.just("same"), st.integers(0, 99)),  # rewritten with its own header
    st.tuples(st.just("replace"), st.integers(0, 99)),  # an identical copy moved over it
    st.tuples(st.just("add"), headers),
    st.tuples(st.just("remove"), st.integers(0, 99)),
    st.tuples(st.just("modify"), st.integers(0, 99), headers),
    st.tuples(st.just("copy"), st.integers(0, 99)),
    st.tuples(st.just("exclude"), st.integers(0, 99)),
    st.tuples(st.just("junk"), st.integers(0, 1)),  # unreadable files beside the touched ones
), min_size=1, max_size=6)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(initial=st.lists(headers, min_size=3, max_size=10), changes=ops,
       target=st.sampled_from([None, "flat"]), which=st.sampled_from(["quick", "mini"]))
def test_touched_and_rewritten_files_equal_a_full_organise(quick, initial, changes, target, which):
    cascade = quick if which == "quick" else load(MINI)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw"
        (raw / "sub").mkdir(parents=True)
        names: dict[Path, dict] = {}
        for n, h in enumerate(initial):
            p = raw / ("sub" if n % 3 == 0 else "") / f"f{n:03d}.fits"
            put(p, h)
            names[p] = h
        excluded: set[str] = set()
        work = Path(tmp) / "work"
        organise(cascade, raw, target, workdir=work, excluded_files=excluded)
        serial = len(initial)
        for op in changes:
            existing = [p for p in names if p.exists()]
            if op[0] == "touch" and existing:
                for i in op[1]:
                    _later(existing[i % len(existing)])
            elif op[0] == "same" and existing:
                p = existing[op[1] % len(existing)]
                put(p, names[p])
            elif op[0] == "replace" and existing:
                p = existing[op[1] % len(existing)]
                tmp_copy = p.with_suffix(".tmp")
                shutil.copyfile(p, tmp_copy)
                os.replace(tmp_copy, p)  # a new inode, the same contents
            elif op[0] == "add":
                p = raw / f"f{serial:03d}.fits"
                serial += 1
                put(p, op[1])
                names[p] = op[1]
            elif op[0] == "remove" and existing:
                existing[op[1] % len(existing)].unlink()
            elif op[0] == "modify" and existing:
                p = existing[op[1] % len(existing)]
                put(p, op[2])
                names[p] = op[2]
            elif op[0] == "copy" and existing:
                src = existing[op[1] % len(existing)]
                p = raw / f"f{serial:03d}.fits"
                serial += 1
                shutil.copyfile(src, p)
                _later(p)
                names[p] = names[src]
            elif op[0] == "exclude" and existing:
                excluded ^= {str(existing[op[1] % len(existing)])}
            elif op[0] == "junk":
                p = raw / f"junk{op[1]}.fits"
                p.write_bytes(b"not a FITS file at all" * op[1])
                _later(p)
            clear_memory()  # from the store, as a new process would
            incremental = organise(cascade, raw, target, workdir=work, excluded_files=excluded)
            plain = organise(cascade, raw, target, excluded_files=excluded)
            assert dump(incremental) == dump(plain)
            assert incremental.files == plain.files  # sizes and times too
            clear_memory()  # the stored row itself: base records with the delta merged in
            again = organise(cascade, raw, target, workdir=work, excluded_files=excluded)
            assert dump(again) == dump(plain) and again.files == plain.files


def _night(raw: Path) -> list[Path]:
    out = []
    for i in range(3):
        out.append(raw / f"bias_{i}.fits")
        put(out[-1], header_of("BIAS", 0, i, 1))
    for i in range(2):
        out.append(raw / "flats" / f"flat_{i}.fits")
        put(out[-1], header_of("FLAT", 0, i, 1))
    return out


def _request(cascade, raw: Path, work: Path) -> tuple[str, list, list, str]:
    roots = [str(raw.resolve())]
    key, _ = _store.keys(cascade.path, roots, "flat", workflow_parameters=None, parameter_set=None,
                         recipe_parameters=None, excluded=(), prefer="raw")
    folders: list = []
    from reflexng.fits.walk import walk

    entries = walk(roots, folders)
    return key, entries, folders, _store.files_digest(entries)


def _scanner(roots):
    def scan(todo, keywords):
        from reflexng.fits import scan

        return scan(roots, keywords, entries=todo, subset=True)
    return scan


def test_refresh_restamps_touched_files_and_declines_changed_headers(quick, tmp_path):
    raw = tmp_path / "raw"
    files = _night(raw)
    (raw / "junk.fits").write_bytes(b"not FITS")  # unreadable, untouched: no obstacle
    work = tmp_path / "w"
    first = organise(quick, raw, "flat", workdir=work)
    assert first.file(str(raw / "junk.fits")).status == "unreadable"
    st = _store.ResultStore(_store.db_path(work))
    try:
        _later(files[0])
        put(files[3], header_of("FLAT", 0, 0, 1))  # the same header written again
        key, entries, folders, digest = _request(quick, raw, work)
        row = refresh(st, key, entries, digest, folders, _scanner([str(raw)]))
        assert row is not None and row.files == digest
        restamped = row.result()
        assert dump(restamped) == dump(first) == dump(organise(quick, raw, "flat"))
        assert restamped.files == organise(quick, raw, "flat").files
        assert restamped.file(str(files[0])).mtime_ns == os.stat(files[0]).st_mtime_ns
        # a header that changed: not restamped (organised instead)
        put(files[1], header_of("BIAS", 0, 1, 2))
        key, entries, folders, digest = _request(quick, raw, work)
        assert refresh(st, key, entries, digest, folders, _scanner([str(raw)])) is None
        changed = organise(quick, raw, "flat", workdir=work)
        assert changed.file(str(files[1])).headers["DET.BINX"] == 2
        assert dump(changed) == dump(organise(quick, raw, "flat"))
        # a file added: not restamped either
        put(raw / "bias_9.fits", header_of("BIAS", 0, 9, 1))
        key, entries, folders, digest = _request(quick, raw, work)
        assert refresh(st, key, entries, digest, folders, _scanner([str(raw)])) is None
    finally:
        st.close()


def test_no_restamp_when_cascade_code_sees_the_records(tmp_path):
    mini = load(MINI)
    raw = tmp_path / "raw"
    files = _night(raw)
    work = tmp_path / "w"
    organise(mini, raw, "flat", workdir=work)
    st = _store.ResultStore(_store.db_path(work))
    try:
        key, *_ = _request(mini, raw, work)
        assert st.get(key).quick is None
    finally:
        st.close()
    _later(files[0])
    clear_memory()
    again = organise(mini, raw, "flat", workdir=work)
    assert dump(again) == dump(organise(mini, raw, "flat"))
    assert again.files == organise(mini, raw, "flat").files


def test_folder_disappearing_while_touched_files_are_read(quick, tmp_path):
    raw = tmp_path / "raw"
    files = _night(raw)
    work = tmp_path / "w"
    organise(quick, raw, "flat", workdir=work)
    for p in files:
        _later(p)
    flats = [str(p) for p in files[3:]]

    def remove_flats(done, total):
        if (raw / "flats").exists():
            shutil.rmtree(raw / "flats")

    clear_memory()
    result = organise(quick, raw, "flat", workdir=work, progress=remove_flats)
    for p in flats:
        rec = result.file(p)
        assert rec is not None and rec.status == "unreadable" and rec.reason == GONE
    clear_memory()
    after = organise(quick, raw, "flat", workdir=work)
    assert dump(after) == dump(organise(quick, raw, "flat"))


# (an exit handler: organise leaves by os._exit after running them, skipping the shutdown)
PROBE = """import atexit, sys, runpy
atexit.register(lambda: print("PLANNED:" + str("reflexng.organiser.plan" in sys.modules),
                              file=sys.stderr))
sys.argv = ["reflexng", *sys.argv[1:]]
runpy.run_module("reflexng", run_name="__main__")
"""


def _cli(*args):
    p = subprocess.run([sys.executable, "-c", PROBE, "organise", *map(str, args)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    planned = [line for line in p.stderr.splitlines() if line.startswith("PLANNED:")][-1]
    return p.stdout, planned == "PLANNED:True"


@pytest.mark.parametrize("as_json", [True, False])
def test_cli_touched_files_answered_without_loading_the_cascade(tmp_path, as_json):
    cascade_file = _quick_cascade(tmp_path / "cascade")
    raw = tmp_path / "raw"
    files = _night(raw)
    args = ["--cascade", cascade_file, "--data", raw, "--target", "flat", "--workdir", tmp_path / "w"]
    if as_json:
        args.append("--json")
    plain_args = [a for a in args if a not in ("--workdir", tmp_path / "w")]
    first, planned = _cli(*args)
    assert planned
    _later(files[0])
    put(files[4], header_of("FLAT", 0, 1, 1))  # rewritten, the same header
    touched, planned = _cli(*args)
    assert not planned  # restamped: no classification, no planning
    assert touched == first == _cli(*plain_args)[0]
    assert _cli(*args) == (touched, False)  # and now unchanged
    # a changed header is organised again
    put(files[4], header_of("BIAS", 0, 5, 1))
    changed, planned = _cli(*args)
    assert planned and changed != first
    assert changed == _cli(*plain_args)[0]
    # a changed cascade file is never answered from the store, touched files or not
    _later(files[1])
    cascade_file.write_text(cascade_file.read_text().replace('classification_rule("BIAS"',
                                                             'classification_rule("ZERO"'))
    renamed, planned = _cli(*args)
    assert planned and "ZERO" in renamed
    assert renamed == _cli(*plain_args)[0]
