"""benchmarks/scale.py big on a few hundred files: it runs, its outputs equal a plain organise,
and its memory breakdown (benchmarks/scale_memory.py) reaches every phase and structure."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def test_big_mode_with_memory_breakdown(tmp_path):
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")  # removed for the timed children
    p = subprocess.run(
        [sys.executable, str(BENCH / "scale.py"), "big", "--sizes", "300,600", "--memory-at",
         "300", "--sample", "20", "--dir", str(tmp_path / "big")],
        capture_output=True, text=True, timeout=600, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout
    assert "PYTHONDONTWRITEBYTECODE removed" in out
    assert out.count("same as plain: True") == 2
    assert "growth exponent of the first organise over 300, 600 files: " in out and " CPU" in out
    memory = out[out.index("where the memory goes"):]
    for phase in ("walk", "classify", "store put", "write_json"):
        assert f"    {phase}" in memory, phase
    for row in ("walk entries", "scanned files", "FileRecord objects (named tuples)",
                "headers dicts + their values", "record strings", "jobs (Job", "datasets",
                "text written"):
        assert row in memory, row
    assert "not reached" not in memory and "exit status 0" in memory
    assert "live by allocating module as the JSON is written" in memory


def test_timed_children_may_write_bytecode():
    sys.path.insert(0, str(BENCH))
    try:
        import scale
    finally:
        sys.path.remove(str(BENCH))
        for name in ("scale", "organise"):  # benchmarks/*.py: not to be found by other tests
            sys.modules.pop(name, None)
    assert "PYTHONDONTWRITEBYTECODE" not in scale.ENV
