"""The dask executor: a lost worker is a failed attempt; bad set-ups are one line and exit 2."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from exec_util import wait_dead

if not os.environ.get("CI"):  # CI installs the dask extra (test extra): there these tests must run
    pytest.importorskip("distributed")


def test_worker_killed_mid_job_is_a_failed_attempt_not_a_hang(attempt):
    from reflexng.engine.executors import make_executor

    ex = make_executor("dask", workers=1)
    try:
        adir = attempt("test_half_product", wait=60.0)
        handle = ex.start(adir)
        end = time.monotonic() + 60
        while not (adir / "child.pid").exists() and time.monotonic() < end:
            time.sleep(0.05)
        worker = json.loads((adir / "worker.json").read_text())
        child = int((adir / "child.pid").read_text())
        os.kill(worker["pid"], signal.SIGKILL)
        t0 = time.monotonic()
        out = handle.result(60)
        assert time.monotonic() - t0 < 30
        assert not out.ok and out.worker_lost
        assert "worker" in out.reason and "lost" in out.reason, out.reason
        assert worker["worker"] in (out.trace.get("worker") or "") or worker["worker"] in out.reason
        assert wait_dead(child), "the job's child outlived its worker"
        assert "reflexng: job failed: the Dask worker" in (adir / "log.txt").read_text()
        # the nanny brings a worker back; the next job runs
        ok = ex.start(attempt("test_noop")).result(120)
        assert ok.ok, ok.reason
    finally:
        ex.close()


def test_info_reports_workers_and_dashboard(dask_executor):
    info = dask_executor.info()
    assert info["executor"] == "dask" and info["workers"] == 2
    assert info["dashboard"].startswith("http://") and info["dashboard"].endswith("/status")


def _run_cli(args, tmp_path, prelude=""):
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    code = (prelude + "import sys\nfrom reflexng.cli import main\n"
            f"sys.exit(main({['run', '--cascade', 'demo_imaging', '--data', str(data), '--workdir', str(tmp_path / 'w'), *args]!r}))\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, cwd=tmp_path)


def test_unreachable_scheduler_is_one_line_and_exit_2(tmp_path):
    p = _run_cli(["--executor", "dask", "--scheduler", "tcp://127.0.0.1:9"], tmp_path)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("reflexng: cannot reach the Dask scheduler at tcp://127.0.0.1:9"), p.stderr


def test_missing_extra_is_one_line_and_exit_2(tmp_path):
    p = _run_cli(["--executor", "dask"], tmp_path, prelude="import sys\nsys.modules['distributed'] = None\n")
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [
        "reflexng: the dask executor needs the optional extra: pip install 'reflexng[dask]'"]


@pytest.mark.skipif(any(os.path.exists(os.path.join(d, "sbatch")) for d in os.get_exec_path()),
                    reason="a real Slurm is installed here: its cluster would start")
def test_cluster_that_never_starts_a_worker_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "config.toml").write_text('[dask.slurm]\nqueue = "none"\ncores = 1\nmemory = "1GB"\n')
    t0 = time.monotonic()
    p = _run_cli(["--executor", "dask", "--cluster", "slurm", "--cluster-config", str(tmp_path / "config.toml"),
                  "--start-timeout", "4"], tmp_path)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("reflexng: the slurm cluster started no Dask worker within 4 s"), lines[0]
    assert "sbatch" in lines[0]  # why: the batch command is missing
    assert time.monotonic() - t0 < 60


def test_bad_cluster_config_key_is_one_line(tmp_path):
    (tmp_path / "config.toml").write_text('[dask.slurm]\nqueeu = "x"\n')
    p = _run_cli(["--cluster", "slurm", "--cluster-config", str(tmp_path / "config.toml")], tmp_path)
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [
        f"reflexng: {tmp_path / 'config.toml'}: [dask.slurm] has unknown keys queeu (known: queue, account, cores, "
        "memory, processes, walltime, job_script_prologue, job_extra_directives, interface, local_directory, "
        "log_directory, worker_extra_args, minimum, maximum, lifetime)"]


def test_scheduler_needs_dask_executor(tmp_path):
    p = _run_cli(["--executor", "spawn", "--scheduler", "tcp://x:1"], tmp_path)
    assert p.returncode == 2
    assert p.stderr.strip() == "reflexng: --scheduler tcp://x:1: needs executor dask, not spawn"


def test_worker_lost_in_a_session_fails_the_job_then_the_policy_retries_it(tmp_path):
    """failure policy "ask": the run pauses on the lost job; re-running it (what the GUI's Retry does)
    makes a new attempt on the worker Dask brought back, and the run completes."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "engine"))
    import helpers

    from reflexng.engine import Session
    from reflexng.engine.executors import make_executor

    ex = make_executor("dask", workers=1)
    res = helpers.diamond(tmp_path / "raw", objects=("A",))
    job = res.jobs["left-A"]
    res.jobs["left-A"] = job._replace(recipe="test_sleep", parameters={**job.parameters, "seconds": 60.0})
    s = Session(helpers.CASCADE, workdir=tmp_path / "work", executor="dask", executor_options={"shared": ex},
                ordering="dfs", failure_policy="ask")
    s.options.worker_loss_retries = 0  # no automatic retry (tests/executors/test_worker_loss.py): the policy's
    events = []
    s.subscribe(events.append)
    try:
        s.use_organised(res)
        s.start()
        adir = tmp_path / "work/jobs/left/left-A/attempt-001"
        end = time.monotonic() + 90
        while not any(e.kind == "job_log" and e.job_id == "left-A" for e in events) and time.monotonic() < end:
            time.sleep(0.05)
        os.kill(json.loads((adir / "worker.json").read_text())["pid"], signal.SIGKILL)
        end = time.monotonic() + 60
        while not any(e.kind == "paused" for e in events) and time.monotonic() < end:
            time.sleep(0.05)
        failed = [e for e in events if e.kind == "job_failed"]
        seq = [(e.kind, e.job_id, e.data.get("reason")) for e in events if e.kind != "job_log"]
        assert [e.job_id for e in failed] == ["left-A"], "\n".join(map(str, seq))
        assert "Dask worker" in failed[0].data["reason"] and "lost" in failed[0].data["reason"]
        row = s.store.query("SELECT status, exit_reason FROM jobs WHERE job_id='left-A'")[0]
        assert row["status"] == "failed" and "lost" in row["exit_reason"]
        assert s.job_state("right-A") == "waiting" and s.job_state("final-A") == "skipped"
        s.rerun("left-A", {"seconds": 0.2})  # the retry (a short sleep this time)
        s.resume()
        summary = s.wait(180)
        assert summary is not None and summary.ok, summary
        by_id = {j["id"]: j for j in summary.jobs}
        assert (by_id["left-A"]["status"], by_id["left-A"]["attempt"]) == ("executed", 2)
        assert all(by_id[j]["status"] == "executed" for j in ("right-A", "final-A"))
        rows = s.store.query("SELECT attempt, status FROM jobs WHERE job_id='left-A' ORDER BY id")
        assert [(r["attempt"], r["status"]) for r in rows] == [(1, "failed"), (2, "done")]
    finally:
        s.close()
        ex.close()
