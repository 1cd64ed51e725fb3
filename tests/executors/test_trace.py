"""The per-attempt resource trace: recorded for every executor, shown by `reflexng timeline`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "engine"))

import helpers  # noqa: E402

from reflexng.engine import Session  # noqa: E402
from reflexng.engine.executors import trace  # noqa: E402


@pytest.fixture
def session_for(tmp_path, request):
    made = []

    def make(executor, result, **kw):
        opts = {}
        if executor.name == "dask":
            opts = {"shared": executor}
        s = Session(helpers.CASCADE, workdir=tmp_path / "work", executor=executor.name, executor_options=opts, **kw)
        s.use_organised(result)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def test_every_attempt_has_wall_cpu_peak_memory_and_worker(executor, session_for, tmp_path):
    res = helpers.diamond(tmp_path / "raw", objects=("A",), recipe="test_cpu", params={"work": 1_500_000})
    s = session_for(executor, res, ordering="dfs")
    seen = []
    s.subscribe(lambda ev: seen.append(ev) if ev.kind == "executor" else None)
    summary = s.run()
    assert summary.ok, summary.jobs
    assert seen and seen[0].data["executor"] == executor.name
    rows = trace.timeline(s.store)
    assert [r["job_id"] for r in rows] == ["prep-A", "left-A", "right-A", "final-A"]
    for r in rows:
        assert r["executor"] == executor.name
        assert r["cpu_s"] > 0.03, r  # ~0.1 s of arithmetic: CPU time, whatever the load
        assert r["wall_s"] >= 0.9 * r["cpu_s"], r  # single-threaded: wall never much below CPU
        assert r["peak_rss_kb"] > 10_000, r  # a Python with reflexng imported
        assert r["worker"]
        if executor.name == "dask":
            assert r["worker"].startswith("tcp://127.0.0.1:")
        elif executor.name == "spawn":
            assert " pid " in r["worker"]
    line = trace.describe(trace.of_attempt(s.store, rows[0]["id"]))
    assert line.startswith("wall ") and " · CPU " in line and " · peak " in line and f"({executor.name})" in line


def test_failed_attempt_has_a_trace_too(session_for, tmp_path):
    from reflexng.engine.executors import make_executor

    res = helpers.single(tmp_path / "raw", "test_exit", {"status": 4})
    s = session_for(make_executor("spawn"), res)
    assert s.run().jobs[0]["reason"] == "exited with status 4"
    row = trace.timeline(s.store)[0]
    assert row["status"] == "failed" and row["wall_s"] > 0 and row["worker"]


def test_timeline_cli(tmp_path):
    res = helpers.diamond(tmp_path / "raw", objects=("A", "B"))
    s = Session(helpers.CASCADE, workdir=tmp_path / "work", executor="fork", ordering="dynamic", max_jobs=2)
    s.use_organised(res)
    s.run()
    s.close()
    p = subprocess.run([sys.executable, "-m", "reflexng", "timeline", str(tmp_path / "work")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split()[:6] == ["job", "worker", "start", "wall", "cpu", "peak"]
    jobs = [ln.split()[0] for ln in lines[1:9]]
    assert sorted(jobs) == sorted(f"{t}-{o}#1" for t in ("prep", "left", "right", "final") for o in "AB")
    assert all("|" in ln and "#" in ln for ln in lines[1:9])
    bad = subprocess.run([sys.executable, "-m", "reflexng", "timeline", str(tmp_path)], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.strip().startswith(f"reflexng: {tmp_path}: no reflexng.sqlite there")


def _rows(n, wall, cpu, gap, slots):
    """n attempts of ``wall`` s each with ``cpu`` s of CPU, one starting every ``gap`` s."""
    return [{"started": i * gap, "finished": i * gap + wall, "wall_s": wall, "cpu_s": cpu, "slots": slots,
             "worker": "w"} for i in range(n)]


def test_hints():
    # one at a time, single-threaded, CPU-bound, on 4 cores: more parallel jobs
    h = trace.hints(_rows(8, 1.0, 0.95, 1.0, 1), cores=4)
    assert len(h) == 1 and "more parallel jobs (--ordering dynamic --jobs 4)" in h[0] and "only 1.0 ran" in h[0]
    # four at once, each keeping 3 cores busy, on 4 cores: fewer threads
    h = trace.hints(_rows(8, 1.0, 3.0, 0.25, 4), cores=4)
    assert len(h) == 1 and "fewer threads per job" in h[0] and "OMP_NUM_THREADS=1" in h[0]
    # two at once, single-threaded, on 2 cores: nothing to say
    assert trace.hints(_rows(8, 1.0, 0.95, 0.5, 2), cores=2) == []
    # waiting on I/O (little CPU): no CPU advice
    assert trace.hints(_rows(8, 1.0, 0.1, 1.0, 1), cores=4) == []
