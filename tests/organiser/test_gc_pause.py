"""The organiser pauses the cyclic garbage collector while it works and freezes a large result
out of its passes when it resumes (reflexng/organiser/_gcpause.py). Run in a child process:
``gc.freeze`` is process-wide and would reach the other tests."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from reflexng.organiser._gcpause import FREEZE_FROM

from .conftest import MINI

CHILD = textwrap.dedent('''
    import gc, sys, time, weakref
    from reflexng.fits.scanner import ScannedFile
    from reflexng.organiser import organise_scanned
    from reflexng.cascade import load

    cascade = load(sys.argv[2])
    class Marker:  # a header value a weak reference can watch
        pass
    def scanned(n):
        return [ScannedFile(f"/d/f{i:06d}.fits", 2880, i, i + 1, "ok", "",
                            {"DPR.TYPE": "BIAS", "DET.BINX": 1, "TPL.START": f"t{i // 5}",
                             "MJD-OBS": 61000.0 + i * 1e-4, "X.MARK": Marker()}, f"{i:016x}")
                for i in range(n)]
    n = int(sys.argv[1])
    before = gc.get_freeze_count()
    assert gc.isenabled()
    result = organise_scanned(cascade, scanned(n), build_graph=False)
    assert gc.isenabled(), "the collector resumes"
    frozen = gc.get_freeze_count() - before
    # no pass walks the result now: a full collection costs little
    t = time.process_time(); gc.collect(); collect = time.process_time() - t
    # a frozen result is still freed by reference counting (it forms no cycles)
    ref = weakref.ref(result.files[0].headers["X.MARK"])
    del result
    print(frozen, f"{collect:.4f}", ref() is None)
''')


def _run(n: int) -> tuple[int, float, bool]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(n), str(MINI)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    frozen, collect, freed = out.stdout.split()
    return int(frozen), float(collect), freed == "True"


def test_a_large_result_is_frozen_and_still_freed():
    frozen, collect, freed = _run(FREEZE_FROM)
    assert frozen >= FREEZE_FROM  # at least an object per file left the collector's passes
    assert collect < 0.2  # a full pass skips the frozen result (unfrozen: ~0.06 s per 20k files)
    assert freed


def test_a_small_result_is_not_frozen():
    frozen, _, freed = _run(FREEZE_FROM - 1)
    assert frozen == 0
    assert freed
