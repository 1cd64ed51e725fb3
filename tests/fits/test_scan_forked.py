"""The scan's reading by forked children without a pool (reflexng.fits.scanner._read_forked,
where forking is safe): the same files, values and reasons as the pool and as one process;
a child that fails has its chunks read by the parent; a cancelled scan leaves no child."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .test_scan import KEYS, fast_copies
from .test_scan_transport import tricky_tree

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")

# run in a child interpreter: pytest's process may run threads, which rule forking out
SCRIPT = r"""
import json, os, sys
from reflexng.fits import scanner
from reflexng.fits import scan

roots, keys = sys.argv[1:-1], json.loads(sys.argv[-1])
parent = os.getpid()
real_read, real_safe = scanner._read_chunk, scanner.fork_is_safe
forked = []
real_forked = scanner._read_forked
scanner._read_forked = lambda *a, **k: (forked.append(1), real_forked(*a, **k))[1]

def rows(files):
    return [list(f[:6]) + [sorted(f.values.items()), f.header_digest] for f in files]

out = {"forked": rows(scan(roots, keys, workers=2)), "forked_used": len(forked)}
scanner.fork_is_safe = lambda: False  # the pool (as beside other threads)
out["pool"] = rows(scan(roots, keys, workers=2))
out["pool_used"] = len(forked)
scanner.fork_is_safe = real_safe
out["one"] = rows(scan(roots, keys, workers=1))

def failing(job):  # every child fails: the parent reads their chunks
    if os.getpid() != parent:
        raise RuntimeError("a child that dies")
    return real_read(job)

scanner._read_chunk = failing
out["children_failed"] = rows(scan(roots, keys, workers=2))
scanner._read_chunk = real_read
calls = []
try:
    scan(roots, keys, workers=2, cancelled=lambda: (calls.append(1), len(calls) > 1)[1])
    out["cancelled"] = False
except scanner.ScanCancelled:
    out["cancelled"] = True
try:
    os.waitpid(-1, os.WNOHANG)
    out["children_left"] = True
except ChildProcessError:
    out["children_left"] = False
print(json.dumps(out))
"""


def test_forked_reading_equals_the_pool_and_one_process(tmp_path):
    fast_copies(tmp_path / "many", 1500)
    data = tricky_tree(tmp_path)
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "many"), str(data),
                           json.dumps(KEYS + ["OBS.ID"])],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["forked_used"] >= 1 and got["pool_used"] == got["forked_used"]
    assert len(got["one"]) == 1500 + 9  # the tricky tree: nine entries
    assert got["forked"] == got["pool"] == got["one"] == got["children_failed"]
    assert sum(1 for r in got["one"] if r[4] == "ok") >= 1500
    assert got["cancelled"] is True and got["children_left"] is False
