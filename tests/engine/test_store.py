"""The work-directory store: exclusive lock, crash safety (kill -9 of a whole session process)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import helpers
import pytest

from reflexng.provenance.store import ProvenanceStore, WorkdirLockedError


def test_two_sessions_on_one_workdir_in_one_process(make_session, tmp_path):
    make_session(workdir=tmp_path / "w")
    with pytest.raises(WorkdirLockedError) as err:
        make_session(workdir=tmp_path / "w")
    assert f"PID {os.getpid()}" in str(err.value) and str(tmp_path / "w") in str(err.value)


def test_second_process_gets_clear_error_naming_the_holder(tmp_path):
    store = ProvenanceStore(tmp_path / "w")
    try:
        code = ("import sys\nfrom reflexng.provenance.store import ProvenanceStore, WorkdirLockedError\n"
                f"try:\n    ProvenanceStore({str(tmp_path / 'w')!r})\nexcept WorkdirLockedError as e:\n"
                "    print(e); sys.exit(3)\n")
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert r.returncode == 3, r.stderr
        assert f"PID {os.getpid()}" in r.stdout and "in use by another reflexng instance" in r.stdout
    finally:
        store.close()
    # released: now it opens
    ProvenanceStore(tmp_path / "w").close()


def _wait_for(predicate, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = predicate()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["fork", "spawn", "dask"])
def test_kill9_of_session_process_then_same_run_again(tmp_path, executor):
    work, raw = tmp_path / "work", tmp_path / "raw"
    helpers.raw_file(raw, "raw_NGC1.fits", "NGC1")
    cascade = tmp_path / "half_cascade.py"
    cascade.write_text(Path(helpers.CASCADE).read_text().replace(
        'task("left").with_recipe("test_noop").with_main_input(prep).with_recipe_parameters({"category": "LEFT"})',
        'task("left").with_recipe("test_half_product").with_main_input(prep)'
        '.with_recipe_parameters({"category": "LEFT", "wait": 60.0})'))
    cmd = [sys.executable, "-m", "reflexng", "run", "--cascade", str(cascade), "--data", str(raw),
           "--workdir", str(work), "--ordering", "dfs", "--json", "--executor", executor]
    env = {k: v for k, v in os.environ.items() if k != "REFLEXNG_TEST_COMPLETE"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    left = work / "jobs" / "left"
    _wait_for(lambda: left.is_dir() and any(left.iterdir()), 90, "the left job folder")
    attempt1 = next(left.iterdir()) / "attempt-001"
    try:
        _wait_for(lambda: (attempt1 / "log.txt").exists() and "half a product written" in
                  (attempt1 / "log.txt").read_text(), 90, "the half product")
        child = int((attempt1 / "child.pid").read_text())
        assert _alive(child)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # the recipe child dies with the application (no orphan keeps writing)
    _wait_for(lambda: not _alive(child), 10, "the orphaned recipe child to die")
    assert (attempt1 / "tmp" / "half.fits").exists() and not (attempt1 / "products").exists()

    # the same run again (this time the recipe completes)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env={**env, "REFLEXNG_TEST_COMPLETE": "1"})
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    st = {j["task"]: (j["status"], j["attempt"]) for j in summary["jobs"]}
    assert st == {"prep": ("reused", 1), "left": ("executed", 2), "right": ("executed", 1), "final": ("executed", 1)}
    store = ProvenanceStore(work)
    try:
        assert store.integrity_check() == "ok"
        rows = store.query("SELECT attempt, status, exit_reason FROM jobs WHERE task='left' ORDER BY id")
        assert [(r["attempt"], r["status"]) for r in rows] == [(1, "interrupted"), (2, "done")]
        # no partial product was ever recorded or used
        assert store.query("SELECT count(*) FROM job_outputs WHERE path LIKE ?",
                           (str(attempt1) + "%",))[0][0] == 0
        used = [r[0] for r in store.query("SELECT path FROM job_inputs")]
        job_inputs = [p for p in used if str(work / "jobs") in p]
        assert job_inputs and all("/products/" in p and "half.fits" not in p for p in job_inputs)
    finally:
        store.close()


def test_wal_mode_and_scanner_can_share_the_file(tmp_path):
    store = ProvenanceStore(tmp_path / "w")
    try:
        assert store.query("PRAGMA journal_mode")[0][0] == "wal"
        import sqlite3

        other = sqlite3.connect(str(tmp_path / "w" / "reflexng.sqlite"), timeout=10)
        other.execute("CREATE TABLE IF NOT EXISTS fits_scan_cache(path TEXT PRIMARY KEY, data TEXT)")
        other.execute("INSERT INTO fits_scan_cache VALUES ('a', 'b')")
        other.commit()
        h = store.hash_file(helpers.raw_file(tmp_path / "raw", "x.fits").path)
        assert len(h) >= 32
        other.close()
    finally:
        store.close()
