"""A worker lost mid-job (its process killed from outside) is a failed attempt with the reason,
then a new attempt at once (``RunOptions.worker_loss_retries``, default 1) with the reason
"worker lost; retried"; a recipe's own failure is not retried. Real processes: a spawn pool
worker, a Dask LocalCluster worker, each killed with SIGKILL while the job runs."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "engine"))

import helpers  # noqa: E402

from reflexng.engine import Session  # noqa: E402

RECIPE = r'''
import os, time
from pathlib import Path
from reflexng.recipes.protocol import Recipe, RecipeResult
from reflexng.recipes.builtin.testing import write_header_fits

class SlowFirst(Recipe):
    """The first attempt of a job waits (to be killed); later attempts write their product at once."""
    name = "loss_slow_first"
    version = "1"

    def run(self, inputs, parameters, output_dir):
        marker = Path(output_dir).parents[1] / "first-attempt.pid"
        first = not marker.exists()
        if first:
            marker.write_text(str(os.getpid()))
        print("started", "first" if first else "again", flush=True)
        if first:
            time.sleep(120)
        p = Path(output_dir) / "out.fits"
        write_header_fits(p, {"OBJECT": "ONE", "HIERARCH ESO PRO CATG": "TEST_PRODUCT"})
        return RecipeResult([(str(p), "TEST_PRODUCT")])

RECIPES = [SlowFirst]
'''


@pytest.fixture
def loss_recipes(tmp_path, monkeypatch):
    from reflexng.recipes import registry

    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "loss_recipes.py").write_text(RECIPE)
    monkeypatch.setenv("REFLEXNG_RECIPE_PATH", str(folder))
    registry.reload()
    yield folder
    registry.reload()


def _wait(pred, seconds: float, what: str):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = pred()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"no {what} within {seconds} s")


def _worker_pid(adir: Path, name: str) -> int:
    if name == "dask":  # the Dask worker process (the recipe runs in a child of it)
        return json.loads((adir / "worker.json").read_text())["pid"]
    return int((adir.parent / "first-attempt.pid").read_text())  # spawn: the pool worker runs the recipe


@pytest.mark.parametrize("name", ["spawn", "dask"])
def test_a_killed_worker_is_a_failed_attempt_then_a_retry(name, tmp_path, loss_recipes):
    opts = {}
    ex = None
    if name == "dask":
        pytest.importorskip("distributed")
        from reflexng.engine.executors import make_executor

        ex = make_executor("dask", workers=1)  # its own cluster: the test kills its worker
        opts = {"shared": ex}
    res = helpers.single(tmp_path / "raw", "loss_slow_first")
    s = Session(helpers.CASCADE, workdir=tmp_path / "work", executor=name, executor_options=opts)
    events = []
    s.subscribe(events.append)
    try:
        assert s.options.worker_loss_retries == 1
        s.use_organised(res)
        s.start()
        adir = tmp_path / "work/jobs/prep/job-1/attempt-001"
        _wait(lambda: any(e.kind == "job_log" and "started first" in e.data["line"] for e in events), 120,
              "log line of the first attempt")
        os.kill(_worker_pid(adir, name), signal.SIGKILL)
        summary = s.wait(180)
        assert summary is not None and summary.ok, summary
        rows = s.store.query("SELECT attempt, status, exit_reason FROM jobs WHERE job_id='job-1' ORDER BY id")
        assert [(r["attempt"], r["status"]) for r in rows] == [(1, "failed"), (2, "done")]
        assert "was lost" in rows[0]["exit_reason"] and rows[0]["exit_reason"].endswith("; retried")
        started = [e for e in events if e.kind == "job_started"]
        assert [(e.data["attempt"], e.data["why"]) for e in started][1] == (2, "worker lost; retried")
        assert [e.kind for e in events].count("job_failed") == 0  # the failure policy never saw a failure
        assert summary.jobs[0]["status"] == "executed" and summary.jobs[0]["attempt"] == 2
        assert (tmp_path / "work/jobs/prep/job-1/attempt-002/products/out.fits").is_file()
    finally:
        s.close()
        if ex is not None:
            ex.close()


def test_a_recipe_that_crashes_is_not_retried(tmp_path):
    res = helpers.single(tmp_path / "raw", "test_segfault")
    with Session(helpers.CASCADE, workdir=tmp_path / "work", executor="spawn") as s:
        s.use_organised(res)
        summary = s.run()
        rows = s.store.query("SELECT attempt, status, exit_reason FROM jobs WHERE job_id='job-1'")
        assert [(r["attempt"], r["status"]) for r in rows] == [(1, "failed")]
        assert "SIGSEGV" in rows[0]["exit_reason"] and not summary.ok


def test_retries_can_be_turned_off(tmp_path, loss_recipes):
    res = helpers.single(tmp_path / "raw", "loss_slow_first")
    with Session(helpers.CASCADE, workdir=tmp_path / "work", executor="spawn") as s:
        s.options.worker_loss_retries = 0
        s.use_organised(res)
        events = []
        s.subscribe(events.append)
        s.start()
        adir = tmp_path / "work/jobs/prep/job-1/attempt-001"
        _wait(lambda: any(e.kind == "job_log" and "started first" in e.data["line"] for e in events), 120,
              "log line of the first attempt")
        os.kill(_worker_pid(adir, "spawn"), signal.SIGKILL)
        summary = s.wait(120)
        assert summary is not None and not summary.ok
        rows = s.store.query("SELECT attempt, status, exit_reason FROM jobs WHERE job_id='job-1'")
        assert [(r["attempt"], r["status"]) for r in rows] == [(1, "failed")]
        assert "spawn worker" in rows[0]["exit_reason"] and "was lost" in rows[0]["exit_reason"]
