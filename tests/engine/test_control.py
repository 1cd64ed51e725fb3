"""Interactive control: pause after each job, breakpoints, step, resume, rerun/stale, skip, orderings."""

from __future__ import annotations

import threading
import time

import helpers
import pytest


def _status(summary) -> dict[str, str]:
    return {j["id"]: j["status"] for j in summary.jobs}


def test_pause_after_each_step_and_resume(make_session, raw_dir):
    s = make_session(helpers.diamond(raw_dir), ordering="dfs", pause_after_each=True)
    rec = s.recorder
    s.start()
    p1 = rec.wait_for("paused", 1)
    assert p1.job_id == "prep-NGC1" and p1.data["reason"] == "after each step"
    time.sleep(0.3)
    assert s.job_state("left-NGC1") == "waiting"  # nothing new starts while paused
    s.set_pause_after_each(False)
    s.step()
    p2 = rec.wait_for("paused", 2)
    assert p2.data["reason"] == "step" and p2.job_id == "left-NGC1"
    assert s.job_state("right-NGC1") == "waiting"
    s.resume()
    summary = s.wait(30)
    assert summary is not None and set(_status(summary).values()) == {"executed"}
    assert len(rec.kinds("paused")) == 2 and len(rec.kinds("resumed")) == 2
    prog = rec.kinds("progress")[-1].data
    assert prog["done"] == prog["total"] == 4 and prog["eta_seconds"] == 0


def test_breakpoint_rerun_while_paused_makes_downstream_stale(make_session, raw_dir):
    s = make_session(helpers.diamond(raw_dir), ordering="dfs")
    s.set_breakpoint("right")
    rec = s.recorder
    s.start()
    p = rec.wait_for("paused")
    assert p.job_id == "right-NGC1" and p.data["reason"] == "breakpoint"
    assert s.job_state("left-NGC1") == "done" and s.job_state("final-NGC1") == "waiting"
    insp = s.inspect("final-NGC1")
    assert insp is not None and insp.images == []  # final has no product yet
    s.rerun("left-NGC1", {"payload": "better"})
    assert s.job_state("left-NGC1") == "stale"
    assert s.why_run("left-NGC1") == "forced (re-run requested): parameter payload '' -> better"
    s.set_breakpoint("right", False)
    s.resume()
    summary = s.wait(30)
    by = {j["id"]: j for j in summary.jobs}
    assert by["left-NGC1"]["status"] == "executed" and by["left-NGC1"]["attempt"] == 2
    assert by["final-NGC1"]["status"] == "executed"
    _specs, eff, _d = s.recipe_parameters("left-NGC1")
    assert eff["payload"] == "better"
    insp = s.inspect("final-NGC1")
    assert insp.title == "final final-NGC1" and insp.images == by["final-NGC1"]["products"]


def test_rerun_after_finish_reruns_stale_downstream(make_session, raw_dir):
    s = make_session(helpers.diamond(raw_dir))
    s.run()
    s.rerun("left-NGC1", {"payload": "x"})
    stale = {e.job_id for e in s.recorder.kinds("job_stale")}
    assert stale == {"left-NGC1", "final-NGC1"}
    assert s.job_state("final-NGC1") == "stale" and s.job_state("right-NGC1") == "done"
    st = _status(s.run())
    assert st == {"prep-NGC1": "reused", "left-NGC1": "executed", "right-NGC1": "reused", "final-NGC1": "executed"}
    # the same parameters again: a forced new attempt, downstream reused (same content)
    s.rerun("left-NGC1", {"payload": "x"})
    st = _status(s.run())
    assert st["left-NGC1"] == "executed" and st["final-NGC1"] == "reused"


def test_skip_while_paused(make_session, raw_dir):
    s = make_session(helpers.diamond(raw_dir), ordering="dfs", pause_after_each=True)
    s.start()
    s.recorder.wait_for("paused")
    s.skip("right-NGC1")
    s.set_pause_after_each(False)
    s.resume()
    st = _status(s.wait(30))
    assert st == {"prep-NGC1": "executed", "left-NGC1": "executed", "right-NGC1": "skipped", "final-NGC1": "skipped"}


def test_user_pause_lets_running_job_finish(make_session, raw_dir):
    s = make_session(helpers.diamond(raw_dir, recipe="test_sleep", params={"seconds": 0.5}), ordering="dfs")
    s.start()
    s.recorder.wait_for("job_started")
    s.pause()
    fin = s.recorder.wait_for("job_finished")
    assert fin.job_id == "prep-NGC1"
    time.sleep(0.3)
    assert s.job_state("left-NGC1") == "waiting"
    assert s.recorder.kinds("paused")[0].data["reason"] == "user"
    s.resume()
    assert set(_status(s.wait(30)).values()) == {"executed"}


@pytest.mark.parametrize("ordering, expected", [
    ("dfs", ["prep-A", "left-A", "right-A", "final-A", "prep-B", "left-B", "right-B", "final-B"]),
    ("bfs", ["prep-A", "prep-B", "left-A", "right-A", "left-B", "right-B", "final-A", "final-B"]),
])
def test_orderings(make_session, raw_dir, ordering, expected):
    s = make_session(helpers.diamond(raw_dir, objects=("A", "B")), ordering=ordering)
    s.run()
    assert [e.job_id for e in s.recorder.kinds("job_started")] == expected


def test_dynamic_starts_the_longest_chains_first(make_session, raw_dir):
    """dynamic: a ready job with more jobs still after it goes first (dfs order among equals), so the
    last dataset's chain does not run alone at the end while a core idles."""
    s = make_session(helpers.diamond(raw_dir, objects=("A", "B", "C")), ordering="dynamic", max_jobs=2)
    assert s.run().ok
    queued = [e.job_id for e in s.recorder.kinds("job_queued")]  # in the scheduler's order
    assert queued[:3] == ["prep-A", "prep-B", "prep-C"], queued  # dfs order would queue final-A before prep-C
    assert set(queued[-3:]) == {"final-A", "final-B", "final-C"}, queued


def test_dynamic_two_workers_run_in_parallel(make_session, raw_dir):
    s = make_session(helpers.diamond(raw_dir, objects=("A", "B"), recipe="test_sleep", params={"seconds": 0.6}),
                     ordering="dynamic", max_jobs=2)
    running, peak, lock = set(), [0], threading.Lock()

    def watch(ev):
        with lock:
            if ev.kind == "job_started":
                running.add(ev.job_id)
                peak[0] = max(peak[0], len(running))
            elif ev.kind in ("job_finished", "job_failed"):
                running.discard(ev.job_id)

    s.subscribe(watch)
    t0 = time.monotonic()
    summary = s.run()
    elapsed = time.monotonic() - t0
    assert set(_status(summary).values()) == {"executed"}
    assert peak[0] == 2
    # 8 jobs x 0.6 s = 4.8 s sequential; the critical path is 3 jobs (1.8 s); 2 workers need ~2.4 s
    assert elapsed < 4.0, elapsed
    # dependencies respected: final-A started after left-A and right-A finished
    order = [(e.kind, e.job_id) for e in s.recorder.events if e.kind in ("job_started", "job_finished")]
    assert order.index(("job_started", "final-A")) > order.index(("job_finished", "left-A"))
    assert order.index(("job_started", "final-A")) > order.index(("job_finished", "right-A"))


@pytest.mark.parametrize("policy", ["stop", "ask"])
def test_failure_policies(make_session, raw_dir, policy):

    res = helpers.diamond(raw_dir, objects=("A", "B"))
    res.jobs["prep-A"] = res.jobs["prep-A"]._replace(recipe="test_raise")
    s = make_session(res, ordering="dfs", failure_policy=policy)
    if policy == "stop":
        st = _status(s.run())
        assert st["prep-A"] == "failed" and st["prep-B"] == "skipped"
        assert next(j for j in s.state.summary.jobs if j["id"] == "prep-B")["reason"] == "run stopped: job prep-A failed"
    else:
        s.start()
        p = s.recorder.wait_for("paused")
        assert p.job_id == "prep-A" and p.data["reason"] == "failure"
        s.rerun("prep-A", {"message": "still bad"})  # the user may try again: still fails, pauses again
        s.resume()
        s.recorder.wait_for("paused", 2)
        s.resume()
        st = _status(s.wait(30))
        assert st["prep-A"] == "failed" and st["final-B"] == "executed"


def test_job_info_points_at_log_and_replay(make_session, raw_dir):
    s = make_session(helpers.diamond(raw_dir))
    s.run()
    info = s.job_info("left-NGC1")
    assert info["state"] == "done" and info["attempt"] == 1 and info["task"] == "left"
    assert info["jobdir"].endswith("jobs/left/left-NGC1/attempt-001")
    assert open(info["replay"]).read().startswith("#!/bin/sh")
    assert info["products"][0][1] == "LEFT"
    s.run()
    info = s.job_info("left-NGC1")
    assert info["state"] == "reused" and info["jobdir"].endswith("attempt-001")


def test_pause_after_each_skips_reused_but_breakpoints_do_not(make_session, raw_dir):
    s = make_session(helpers.diamond(raw_dir), ordering="dfs")
    s.run()
    s.set_pause_after_each(True)
    s.set_breakpoint("final")
    s.start()
    p = s.recorder.wait_for("paused")
    assert p.job_id == "final-NGC1" and p.data["reason"] == "breakpoint"
    assert [s.job_state(j) for j in ("prep-NGC1", "left-NGC1", "right-NGC1")] == ["reused"] * 3
    s.resume()
    assert s.wait(30) is not None
