"""Cache rows written by a forked child after the reading (fits/scanner.py, deferred writes):
every row arrives, the next scan answers from them alone, the child's exit is waited for,
and where no child can be forked (another thread runs) the rows are written in the scan."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading

import pytest

from reflexng.fits import scan
from reflexng.fits import scanner as scanner_module
from reflexng.fits.scanner import WRITE_ROWS

from .test_scan import KEYS, cache_rows, fast_copies

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")


def _child(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (no other thread there: a writer can be forked)."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return out


def test_deferred_rows_all_arrive_and_answer_the_next_scan(tmp_path):
    """In a child process (no other thread there: a writer child is forked)."""
    n = WRITE_ROWS + 500
    fast_copies(tmp_path / "raw", n, per_folder=500)
    db = tmp_path / "work.sqlite"
    code = textwrap.dedent(f'''
        from reflexng.fits import scan
        from reflexng.fits import scanner
        keys = {KEYS!r}
        first = scan([{str(tmp_path / "raw")!r}], keys, cache_db={str(db)!r}, workers=2,
                     defer_cache_write=True)
        forked = len(scanner._WRITERS)
        scanner.wait_writers()
        print(forked, len(scanner._WRITERS), len(first))
    ''')
    out = _child(code)
    assert out.stdout.split() == ["1", "0", str(n)]  # a writer was forked, then waited for
    rows = cache_rows(db)
    assert len(rows) == n


def test_the_next_scan_waits_for_the_writer(tmp_path):
    """A scan right after a deferred one (no explicit wait) finds every row: it waits."""
    n = WRITE_ROWS + 10
    fast_copies(tmp_path / "raw", n, per_folder=1000)
    db = tmp_path / "work.sqlite"
    code = textwrap.dedent(f'''
        import sys
        from reflexng.fits import scan
        from reflexng.fits import scanner
        keys = {KEYS!r}
        scan([{str(tmp_path / "raw")!r}], keys, cache_db={str(db)!r}, workers=2,
             defer_cache_write=True)
        forked = bool(scanner._WRITERS)
        real = scanner._read_all
        sizes = []
        scanner._read_all = lambda todo, *a, **k: (sizes.append(len(todo)), real(todo, *a, **k))[1]
        scan([{str(tmp_path / "raw")!r}], keys, cache_db={str(db)!r}, workers=2,
             defer_cache_write=True)
        print(forked, sizes)
    ''')
    out = _child(code)
    assert out.stdout.split() == ["True", "[0]"]
    # the process exited after its writer: every row is there
    assert len(cache_rows(db)) == n


def test_rows_are_written_in_the_scan_while_another_thread_runs(tmp_path):
    n = WRITE_ROWS + 10
    fast_copies(tmp_path / "raw", n, per_folder=1000)
    db = tmp_path / "work.sqlite"
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, name="another")
    other.start()
    try:
        scan([tmp_path / "raw"], KEYS, cache_db=db, workers=2, defer_cache_write=True)
        assert not scanner_module._WRITERS  # nothing forked beside a running thread
        assert len(cache_rows(db)) == n
    finally:
        stop.set()
        other.join()
