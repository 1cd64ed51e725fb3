"""Scanned header values share their keys (fits/keyshare.py): equal to what was read, in
the same order, stored alike, and smaller than plain dictionaries under CPython."""

from __future__ import annotations

import json
import marshal
import pickle
import platform
import sys
import tracemalloc

import pytest

from reflexng.fits import scan, scanner
from reflexng.fits.keyshare import _MAX_KEYS, shared

from .test_scan import KEYS, fast_copies

CPYTHON = platform.python_implementation() == "CPython"


def _traced(make) -> int:
    """Bytes traced for what ``make()`` builds and returns (kept while measured)."""
    tracemalloc.start()
    try:
        kept = make()  # noqa: F841  (alive while measured)
        return tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("n_keys", [2, 7, 16])
def test_shared_values_are_the_same_dictionaries_smaller(n_keys):
    plain = {"DPR.TYPE": "BIAS", "EXPTIME": 1.5, **{f"INS.PAR{i}": i for i in range(n_keys - 2)}}
    copies = [shared(dict(plain)) for _ in range(3)]
    for d in copies:
        assert type(d) is dict
        assert d == plain and list(d) == list(plain)
        assert marshal.loads(marshal.dumps(d)) == plain
        assert pickle.loads(pickle.dumps(d)) == plain
        assert json.dumps(d) == json.dumps(plain)
    other = shared({k: plain[k] for k in reversed(plain)})  # another order: kept
    assert list(other) == list(reversed(plain)) and other == plain
    copies[1]["NEW"] = 1  # still an ordinary dictionary for whoever changes it
    assert copies[1] == {**plain, "NEW": 1} and copies[0] == plain == copies[2]
    if CPYTHON:
        blob = marshal.dumps([dict(plain) for _ in range(2000)])  # as from the workers
        as_read = _traced(lambda: marshal.loads(blob))
        as_shared = _traced(lambda: [shared(d) for d in marshal.loads(blob)])
        assert as_shared < 0.75 * as_read, (as_shared, as_read)


def test_too_many_or_no_keys_are_left_as_they_are():
    big = {f"K{i}": i for i in range(_MAX_KEYS + 1)}
    assert shared(big) is big
    empty: dict = {}
    assert shared(empty) is empty


def test_a_large_scan_hands_out_key_sharing_values(tmp_path, monkeypatch):
    """From SHARE_FROM files read (lowered here: a real scan of that many takes a while);
    a smaller scan keeps the dictionaries as they arrive (time matters more than memory)."""
    fast_copies(tmp_path / "raw", 600, per_folder=300)
    wide = KEYS + [f"INS.PAR{j}" for j in range(10)]  # cards the files have (test_scan)

    def total_size(files):
        as_read = sum(map(sys.getsizeof, marshal.loads(marshal.dumps([f.values for f in files]))))
        return sum(sys.getsizeof(f.values) for f in files), as_read

    small = scan([tmp_path / "raw"], wide, workers=2)
    assert len(small) == 600 and all(set(f.values) == set(wide) for f in small)
    got, as_read = total_size(small)
    assert got == as_read
    monkeypatch.setattr(scanner, "SHARE_FROM", 500)
    files = scan([tmp_path / "raw"], wide, workers=2)
    assert [f.values for f in files] == [f.values for f in small]
    if CPYTHON:
        got, as_read = total_size(files)
        assert got < 0.75 * as_read
