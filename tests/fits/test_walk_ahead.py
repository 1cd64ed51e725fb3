"""The command line's walk ahead (reflexng.fits.walk.WalkAhead, reflexng.organiser.store
.walk_ahead): the data folders walked in a forked child while the request is looked up give
the walk this process would make — entries, folders, file-set digest — and a walk that
cannot be made, or is not taken, leaves no process behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .test_walk_shares import shared_tree

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")

# run in a child interpreter: pytest's process may run threads, which rule forking out
SCRIPT = r"""
import json, os, sys
from reflexng.fits import walk as w
from reflexng.organiser import store

roots = sys.argv[1:]
out = {}
for split_after in (10**9, 1):  # a walk alone, and one dealt into shares (children of the child)
    w.SPLIT_AFTER = split_after
    folders = []
    here = w.walk_parts(roots, folders)
    digest = here.digest()
    ahead = w.WalkAhead.start(roots)
    got = ahead.take()
    walked, ahead_folders, ahead_digest = got
    out[str(split_after)] = {
        "same_entries": walked.entries() == here.entries(),
        "n": len(here.entries()),
        "same_folders": [list(f) for f in ahead_folders] == [list(f) for f in folders],
        "same_digest": ahead_digest == digest == walked.digest(),
        "taken_twice": ahead.take(),
    }

def no_children():
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False

out["all_reaped"] = no_children()
# a missing root: no walk (the caller walks and reports it), the child reaped
out["missing"] = w.WalkAhead.start([roots[0] + "-missing"]).take()
out["missing_reaped"] = no_children()
# started and never taken: stopped and reaped
w.WalkAhead.start(roots).stop()
out["stopped_reaped"] = no_children()
# the organiser's store: a walk ahead is taken by the request for the same folders only
store.walk_ahead(roots)
out["pending"] = type(store._LAST_WALK.get(tuple(os.path.realpath(r) for r in roots))).__name__
taken = store.take_walk([os.path.realpath(r) for r in roots])
out["taken_digest"] = taken is not None and taken[2] == w.walk_parts(roots).digest()
store.walk_ahead(roots)
out["other_folders"] = store.take_walk([os.path.realpath(roots[0]) + "/night"])
store.drop_walks()
out["dropped_reaped"] = no_children()
print(json.dumps(out))
"""


def test_a_walk_ahead_is_the_walk_this_process_would_make(tmp_path):
    data = shared_tree(tmp_path)
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(data)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    for mode in ("1000000000", "1"):
        run = got[mode]
        assert run["n"] == 9 + 20 * 3 + 1
        assert run["same_entries"] and run["same_folders"] and run["same_digest"], (mode, run)
        assert run["taken_twice"] is None
    assert got["all_reaped"] and got["missing_reaped"] and got["stopped_reaped"]
    assert got["missing"] is None
    assert got["pending"] == "WalkAhead" and got["taken_digest"] is True
    assert got["other_folders"] is None and got["dropped_reaped"]
