"""Where jobs run is a RunOptions setting: the Session makes its executor from it, makes a new
one when it changed between runs, and shows its live info through ``executor_info()``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "engine"))

import helpers  # noqa: E402

from reflexng.engine import OptionError, Session  # noqa: E402
from reflexng.engine.executors.fork import available  # noqa: E402


@pytest.mark.skipif(not available(), reason="the fork executor needs Linux")
def test_changing_the_executor_between_runs_makes_a_new_one(tmp_path):
    res = helpers.single(tmp_path / "raw", "test_noop")
    s = Session(helpers.CASCADE, workdir=tmp_path / "work", executor="spawn")
    events = []
    s.subscribe(events.append)
    try:
        assert s.executor_info() is None  # nothing set up before the first job
        s.use_organised(res)
        assert s.run().ok
        assert s.executor_info()["executor"] == "spawn" and s.executor_name == "spawn"
        s.options.executor = "fork"
        assert s.executor_info() is None  # the spawn pool is no longer the session's executor
        s.options.force = {"all"}
        assert s.run().ok
        assert [e.data["executor"] for e in events if e.kind == "executor"] == ["spawn", "fork"]
        assert s.executor_info()["executor"] == "fork"
        rows = s.store.query("SELECT status FROM jobs ORDER BY id")
        assert [r["status"] for r in rows] == ["done", "done"]
    finally:
        s.close()


def test_bad_executor_settings_are_refused_before_the_work_directory_is_made(tmp_path):
    w = tmp_path / "w"
    with pytest.raises(OptionError, match="needs executor dask, not spawn"):
        Session(helpers.CASCADE, workdir=w, executor="spawn", executor_options={"scheduler": "tcp://h:1"})
    with pytest.raises(ValueError, match="executor_options: no option 'queue'"):
        Session(helpers.CASCADE, workdir=w, executor="dask", executor_options={"queue": "q"})
    assert not w.exists()


def test_two_jobs_at_once_use_the_warm_spawn_workers_and_start_no_other(tmp_path):
    """The spawn pool keeps its size counting busy workers: while both run a job, no third worker is
    started (it would import on the cores the jobs need, then be closed again)."""
    from reflexng.engine.executors import spawn

    res = helpers.diamond(tmp_path / "raw", objects=("A", "B"), recipe="test_cpu", params={"work": 300_000})
    with Session(helpers.CASCADE, workdir=tmp_path / "work", executor="spawn", ordering="dynamic", max_jobs=2) as s:
        s.prepare_executor()  # warms the pool (2 workers at least)
        pool = spawn.pool()
        assert len(pool.idle) >= 2
        warm = {p.pid for p in pool.idle}
        s.use_organised(res)
        assert s.run().ok
        used = {r["worker"].rsplit(" ", 1)[-1] for r in s.store.query("SELECT worker FROM attempt_resources")}
        assert used and used <= {str(pid) for pid in warm}, (used, warm)
        assert {p.pid for p in pool.idle} == warm  # the same processes: none started, none closed
        assert pool.busy == 0
