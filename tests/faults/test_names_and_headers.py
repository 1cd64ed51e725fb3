"""Any file name, any header: names that are not UTF-8 go end to end (stored losslessly, shown with
escapes); a header value with a newline or NUL byte is flagged with a reason, never merged as None."""

from __future__ import annotations

import json
import os
import sqlite3
import sys

import pytest

from reflexng.recipes.builtin.testing import write_header_fits

from ._faults import recipe_cascade, run_json, rx

BAD = b"raw_\xff\xfe\xe9.fits"  # not UTF-8


@pytest.fixture
def odd_names(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    try:
        write_header_fits(os.fsdecode(os.path.join(os.fsencode(data), BAD)), {"OBJECT": "ODD", "DPR.TYPE": "SCI"})
    except (OSError, UnicodeError):
        pytest.skip("this file system does not take file names that are not UTF-8")
    write_header_fits(data / "ok.fits", {"OBJECT": "FINE", "DPR.TYPE": "SCI"})
    return data


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="file names there are always Unicode")
def test_a_file_name_that_is_not_utf8_goes_end_to_end(odd_names, tmp_path, raw_guard):
    raw_guard(odd_names)
    cascade = recipe_cascade(tmp_path / "c.py", "test_noop")
    w = tmp_path / "w"
    res = rx("organise", "--cascade", cascade, "--data", odd_names, "--workdir", w)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    assert "datasets: 2 (2 complete" in res.stdout, res.stdout
    summary, _ = run_json(cascade, odd_names, w, code=0)
    assert sorted(j["status"] for j in summary["jobs"]) == ["executed", "executed"]
    # stored losslessly: the database holds the name's own bytes
    with sqlite3.connect(w / "reflexng.sqlite") as db:
        paths = [r[0] for r in db.execute("select path from job_inputs")]
    assert os.path.join(os.fsencode(odd_names), BAD) in [p if isinstance(p, bytes) else os.fsencode(p) for p in paths]
    # the second run finds the cached hash and the cached header: everything is reused
    again, _ = run_json(cascade, odd_names, w, code=0)
    assert {j["status"] for j in again["jobs"]} == {"reused"}
    # shown with escapes, in the summary and in the provenance of its product
    text = rx("run", "--cascade", cascade, "--data", odd_names, "--workdir", w)
    assert text.returncode == 0, text.stderr
    odd = next(j for j in again["jobs"] if "FINE" not in j["dataset"])
    prov = rx("provenance", odd["products"][0])
    assert prov.returncode == 0, prov.stderr
    assert "raw_\\xff\\xfe\\xe9.fits" in prov.stdout, prov.stdout
    from astropy.io import fits

    assert fits.getheader(odd["products"][0])["HIERARCH ESO PRO REC1 RAW1 NAME"] == "raw_\\xff\\xfe\\xe9.fits"


def _with_value(path, raw: bytes):
    write_header_fits(path, {"OBJECT": "XXXX", "DPR.TYPE": "SCI"})
    data = bytearray(path.read_bytes())
    i = data.find(b"'XXXX")
    data[i + 1:i + 1 + len(raw)] = raw
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("raw,words", [(b"A\nBC", "a newline"), (b"C\0DE", "a NUL byte"),
                                       (b"E\rFG", "a carriage return"), (b"\x1b[2J", "0x1b")])
def test_a_header_value_with_a_control_character_is_flagged_never_merged(raw, words, tmp_path, raw_guard):
    data = tmp_path / "data"
    data.mkdir()
    write_header_fits(data / "good.fits", {"OBJECT": "GOOD", "DPR.TYPE": "SCI"})
    _with_value(data / "bad1.fits", raw)
    _with_value(data / "bad2.fits", raw)  # same illegal value: would become one dataset as None
    raw_guard(data)
    res = rx("organise", "--cascade", recipe_cascade(tmp_path / "c.py", "test_noop"), "--data", data, "--workdir",
             tmp_path / "w", "--json")
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    doc = json.loads(res.stdout)
    files = {os.path.basename(f["path"]): f for f in doc["files"]}
    for name in ("bad1.fits", "bad2.fits"):
        assert files[name]["status"] == "unreadable", files[name]
        assert "OBJECT" in files[name]["reason"] and words in files[name]["reason"], files[name]
    assert len(doc["datasets"]) == 1, doc["datasets"]  # only the good file makes a dataset
