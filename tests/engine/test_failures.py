"""Failure injection: every crash becomes a failed job with its reason and log tail; the run goes on."""

from __future__ import annotations

import os
import time
from pathlib import Path

import helpers
import pytest


def _with_recipe(result, job_id, recipe, params=None):
    job = result.jobs[job_id]
    result.jobs[job_id] = job._replace(recipe=recipe, parameters={**job.parameters, **(params or {})})
    return result


@pytest.mark.parametrize("recipe, params, reason, log_line", [
    ("test_segfault", {}, "killed by SIGSEGV", "reading address 0"),
    ("test_abort", {}, "killed by SIGABRT", "calling abort()"),
    ("test_raise", {"message": "no flat field found"}, "recipe raised RecipeError: no flat field found", "about to fail"),
    ("test_raise", {"message": "bad", "kind": "ValueError"}, "recipe raised ValueError: bad", "ValueError: bad"),
    ("test_exit", {"status": 7}, "exited with status 7", "exiting"),
    ("test_half_product", {}, "killed by SIGKILL", "half a product written"),
])
def test_crash_fails_one_job_and_other_datasets_go_on(make_session, raw_dir, recipe, params, reason, log_line):
    res = _with_recipe(helpers.diamond(raw_dir, objects=("A", "B")), "left-A", recipe, params)
    s = make_session(res, ordering="dfs")
    summary = s.run()
    by_id = {j["id"]: j for j in summary.jobs}
    assert by_id["left-A"]["status"] == "failed"
    assert reason in by_id["left-A"]["reason"]
    assert by_id["final-A"]["status"] == "skipped"
    assert "left-A" in by_id["final-A"]["reason"] and "failed" in by_id["final-A"]["reason"]
    assert by_id["right-A"]["status"] == "executed"
    assert all(by_id[f"{t}-B"]["status"] == "executed" for t in ("prep", "left", "right", "final"))
    failed = s.recorder.kinds("job_failed")[0]
    assert failed.job_id == "left-A" and log_line in "\n".join(failed.data["log_tail"])
    assert not summary.ok
    # nothing of the failed attempt became a product
    attempt = Path(s.workdir) / "jobs" / "left" / "left-A" / "attempt-001"
    assert not (attempt / "products").exists()
    assert s.products("left-A") == []
    assert log_line in (attempt / "log.txt").read_text()
    row = s.store.query("SELECT status, exit_reason, log_tail FROM jobs WHERE job_id='left-A'")[0]
    assert row["status"] == "failed" and reason in row["exit_reason"] and log_line in row["log_tail"]
    assert s.store.query("SELECT count(*) FROM job_outputs o JOIN jobs j ON j.id=o.attempt_id "
                         "WHERE j.job_id='left-A'")[0][0] == 0
    # the end product of the healthy dataset exists
    assert any("/B/" in p for p in summary.end_products) and not any("/A/" in p for p in summary.end_products)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purpose
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _wait_dead(pid: int, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not _pid_alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_hang_times_out_and_grandchild_dies(make_session, raw_dir):
    res = helpers.single(raw_dir, "test_hang", {"grandchild": True})
    s = make_session(res, job_timeout=1.0)
    t0 = time.monotonic()
    summary = s.run()
    assert time.monotonic() - t0 < 6
    job = summary.jobs[0]
    assert job["status"] == "failed" and job["reason"].startswith("timed out after 1 s (killed by SIGTERM)")
    gpid = int((Path(s.workdir) / "jobs/prep/job-1/attempt-001/grandchild.pid").read_text())
    assert _wait_dead(gpid), "the recipe's grandchild survived the timeout"


def test_sigterm_ignored_gets_sigkill_after_grace(make_session, raw_dir):
    res = helpers.single(raw_dir, "test_hang", {"ignore_sigterm": True})
    s = make_session(res, job_timeout=0.5, cancel_grace=0.5)
    summary = s.run()
    assert summary.jobs[0]["reason"] == "timed out after 0.5 s (killed by SIGKILL)"


def test_stop_cancels_running_child(make_session, raw_dir):
    res = helpers.diamond(raw_dir, objects=("A",), recipe="test_hang")
    s = make_session(res)
    s.start()
    s.recorder.wait_for("job_started")
    t0 = time.monotonic()
    s.stop()
    summary = s.wait(10)
    assert summary is not None and time.monotonic() - t0 < 5
    by_id = {j["id"]: j for j in summary.jobs}
    # a stopped job is cancelled (its own status, not "failed"); what needs it is not run
    assert by_id["prep-A"]["status"] == "cancelled" and "cancelled" in by_id["prep-A"]["reason"]
    assert by_id["final-A"]["status"] == "skipped" and by_id["final-A"]["reason"] == "not run (upstream cancelled)"
    assert summary.stopped and not summary.ok
    assert [e.job_id for e in s.recorder.kinds("job_cancelled")] == ["prep-A"] and not s.recorder.kinds("job_failed")
    assert s.job_state("prep-A") == "cancelled" and s.store.last_attempt("prep-A").status == "cancelled"


def test_log_streams_line_by_line(make_session, raw_dir):
    res = helpers.single(raw_dir, "test_sleep", {"seconds": 1.0})
    s = make_session(res)
    s.run()
    logs = s.recorder.kinds("job_log")
    assert [e.data["line"] for e in logs] == [f"sleeping {i}/10" for i in range(1, 11)]
    assert all(e.data["stream"] == "stdout" for e in logs)


def test_big_log_is_complete(make_session, raw_dir):
    res = helpers.single(raw_dir, "test_big_log", {"lines": 5000})
    s = make_session(res)
    summary = s.run()
    assert summary.jobs[0]["status"] == "executed"
    logs = s.recorder.kinds("job_log")
    assert len(logs) == 5000
    assert sum(e.data["stream"] == "stderr" for e in logs) == 500
    text = (Path(s.workdir) / "jobs/prep/job-1/latest/log.txt").read_text().splitlines()
    assert len(text) == 5000 and "log line 5000 of 5000" in text


def test_unknown_recipe_is_a_failed_job(make_session, raw_dir):
    s = make_session(helpers.single(raw_dir, "no_such_recipe"))
    summary = s.run()
    assert summary.jobs[0]["status"] == "failed"
    assert "no recipe named 'no_such_recipe'" in summary.jobs[0]["reason"]


def test_bad_parameter_value_is_a_failed_job(make_session, raw_dir):
    s = make_session(helpers.single(raw_dir, "test_sleep", {"seconds": "soon"}))
    summary = s.run()
    assert "parameter seconds: 'soon' is not a valid float" in summary.jobs[0]["reason"]
