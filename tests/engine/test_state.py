"""The session state in one place: typed statuses and events, checked run options, a restart
that shows what is already done, and events delivered without the session's lock held."""

from __future__ import annotations

import json
import sqlite3
import threading

import helpers
import pytest

from reflexng.engine import EventKind, JobStatus, OptionError, RunOptions, Session
from reflexng.engine.state import dataset_status


def test_statuses_and_kinds_are_the_words_used_everywhere():
    assert JobStatus.DONE == "done" and f"{JobStatus.CANCELLED}" == "cancelled" and str(JobStatus.STALE) == "stale"
    assert json.dumps({"s": JobStatus.INTERRUPTED}) == '{"s": "interrupted"}'
    assert EventKind("job_cancelled") is EventKind.JOB_CANCELLED
    assert {s.value for s in JobStatus} >= {"waiting", "queued", "running", "done", "reused", "failed", "cancelled",
                                            "interrupted", "skipped", "incomplete", "stale"}


@pytest.mark.parametrize("option,value,words", [
    ("ordering", "random", "must be one of dfs, bfs, dynamic"),
    ("max_jobs", 0, "must be at least 1"),
    ("max_jobs", "many", "whole number"),
    ("failure_policy", "panic", "must be one of continue, stop, ask"),
    ("job_timeout", -1, "greater than 0"),
    ("job_timeout", 0, "greater than 0"),
    ("cancel_grace", 0, "greater than 0"),
    ("end_product_pattern", "{OBJECT}_{PRO.CATG", "unbalanced braces"),
    ("end_product_pattern", "  ", "empty"),
    ("force", ["prep", "nosuch"], "nosuch: no such task; tasks: prep, left"),
    ("breakpoints", ["nosuch"], "no such task"),
    ("executor", "slurm", "must be one of fork, spawn, dask"),
    ("scheduler", "not an address", "address of a running Dask scheduler"),
    ("cluster", "condor", "must be one of slurm, pbs, sge, lsf"),
    ("cluster_config", "/no/such/cluster.toml", "no such file"),
    ("dask_workers", 0, "must be at least 1"),
    ("dask_workers", "two", "whole number"),
    ("start_timeout", 0, "greater than 0"),
    ("scheduler", "tcp://h:8786", "needs executor dask, not spawn"),  # the executor is spawn here
    ("cluster", "slurm", "needs executor dask, not spawn"),
])
def test_every_option_is_checked_when_set(option, value, words):
    opts = RunOptions(tasks=["prep", "left"], executor="spawn")
    before = opts.as_dict()
    with pytest.raises(OptionError) as err:
        setattr(opts, option, value)
    assert words in str(err.value) and err.value.option == option
    assert opts.as_dict() == before  # a bad value changes nothing
    with pytest.raises(OptionError):
        RunOptions(tasks=["prep", "left"], **{"executor": "spawn", option: value})


def test_update_is_all_or_nothing_and_unknown_options_are_refused():
    opts = RunOptions(tasks=["prep"])
    with pytest.raises(OptionError):
        opts.update(ordering="bfs", max_jobs=0)
    assert opts.ordering == "dfs"
    with pytest.raises(AttributeError, match="no option 'colour'"):
        opts.colour = "red"


def test_executor_settings_are_checked_together(tmp_path):
    opts = RunOptions(executor="dask")
    assert opts.executor == "dask" and RunOptions().executor in ("fork", "spawn")  # None: the platform's
    opts.update(scheduler="tcp://h:8786")
    with pytest.raises(OptionError, match="not both") as err:
        opts.cluster = "slurm"
    assert err.value.option == "scheduler" and opts.cluster is None
    with pytest.raises(OptionError, match="needs executor dask, not fork"):
        opts.executor = "fork"  # the scheduler is still set
    opts.update(executor="fork", scheduler=None)  # together: fine
    assert (opts.executor, opts.scheduler) == ("fork", None)
    cfg = tmp_path / "c.toml"
    cfg.write_text("[dask.slurm]\nqueue = 'q'\n")
    opts.update(executor="dask", cluster="slurm", cluster_config=str(cfg), dask_workers=3, start_timeout=5)
    assert (opts.cluster, opts.cluster_config, opts.dask_workers, opts.start_timeout) == ("slurm", str(cfg), 3, 5.0)
    busy = RunOptions(executor="spawn", busy=lambda: True)
    with pytest.raises(OptionError, match="cannot change where jobs run during a run"):
        busy.executor = "fork"
    busy.max_jobs = 3  # other options may change during a run


def test_session_checks_options_before_touching_the_work_directory(tmp_path):
    w = tmp_path / "w"
    with pytest.raises(OptionError, match="no such task"):
        Session(helpers.CASCADE, workdir=w, force=["nosuch"])
    with pytest.raises(OptionError, match="has no task 'nosuch'"):
        Session(helpers.CASCADE, workdir=w, recipe_parameters={"nosuch": {"x": 1}})
    with pytest.raises(OptionError, match="has no parameter 'sigma'"):
        Session(helpers.CASCADE, workdir=w, recipe_parameters={"prep": {"sigma": 1}})
    assert not w.exists()


def test_setting_an_option_emits_an_event_and_old_attribute_names_still_work(make_session, raw_dir):
    s = make_session(helpers.diamond(raw_dir))
    s.ordering = "bfs"
    s.max_jobs = 3
    s.set_breakpoint("left")
    s.set_pause_after_each(True)
    changes = [(e.data["option"], e.data["value"]) for e in s.recorder.kinds("options_changed")]
    assert changes == [("ordering", "bfs"), ("max_jobs", 3), ("breakpoints", ["left"]), ("pause_after_each", True)]
    assert s.options.ordering == "bfs" and s.max_jobs == 3
    with pytest.raises(OptionError):
        s.failure_policy = "panic"
    assert s.options.failure_policy == "continue"


def test_a_new_session_shows_finished_jobs_as_done_then_reused(make_session, raw_dir, tmp_path):
    res = helpers.diamond(raw_dir)
    first = make_session(res, workdir=tmp_path / "w")
    first.run()
    first.close()
    again = make_session(res, workdir=tmp_path / "w")
    assert {j: again.job_state(j) for j in res.jobs} == dict.fromkeys(res.jobs, "done")
    assert again.state.dataset_status("ds-NGC1") == "reduced"
    assert again.job_info("final-NGC1")["products"]  # from the store
    summary = again.run()
    assert {j["status"] for j in summary.jobs} == {"reused"}
    # no job went back to "waiting": each was queued, then reused, with an event for every change
    per_job: dict[str, list[str]] = {}
    for e in again.recorder.events:
        if e.job_id and e.kind not in ("job_log", "end_products"):  # end_products: a dataset's export
            per_job.setdefault(e.job_id, []).append(str(e.kind))
    assert per_job == dict.fromkeys(res.jobs, ["job_queued", "job_reused"])
    third = make_session(res, workdir=tmp_path / "w3")
    assert set(third.state.jobs[j].status for j in res.jobs) == {JobStatus.WAITING}


def test_a_second_run_in_the_same_session_keeps_done_until_looked_at(make_session, raw_dir):
    s = make_session(helpers.diamond(raw_dir))
    s.run()
    seen = []
    s.subscribe(lambda ev: seen.append((str(ev.kind), ev.job_id, s.job_state("final-NGC1")))
                if ev.kind == "run_started" else None)
    s.run()
    assert seen == [("run_started", None, "done")]


def test_cancelled_and_interrupted_attempts_are_shown_after_a_restart(make_session, raw_dir, tmp_path):
    res = helpers.diamond(raw_dir, objects=("A",), recipe="test_hang")
    s = make_session(res, workdir=tmp_path / "w")
    s.start()
    s.recorder.wait_for("job_started")
    s.stop()
    s.wait(20)
    s.close()
    db = sqlite3.connect(tmp_path / "w" / "reflexng.sqlite")
    with db:  # an attempt left "running" by a process that was killed
        db.execute("INSERT INTO jobs(job_id, status, attempt) VALUES ('right-A', 'running', 1)")
    db.close()
    again = make_session(res, workdir=tmp_path / "w")
    assert again.job_state("prep-A") == "cancelled"
    assert again.job_state("right-A") == "interrupted"
    assert again.job_state("final-A") == "waiting"


def test_events_are_delivered_without_the_lock_held(make_session, raw_dir):
    """A subscriber whose callback waits for another thread that uses the session must not
    deadlock (it would if events were emitted while the session's lock is held)."""
    s = make_session(helpers.diamond(raw_dir))
    blocked = []

    def callback(ev) -> None:
        if ev.kind in ("job_queued", "job_finished", "progress", "paused"):
            t = threading.Thread(target=lambda: (s.job_state("prep-NGC1"), s.set_description("x"),
                                                 s.select_datasets(None)))
            t.start()
            t.join(5)
            if t.is_alive():
                blocked.append(ev.kind)

    s.subscribe(callback)
    s.set_breakpoint("left")
    s.start()
    s.recorder.wait_for("paused")
    s.resume()
    assert s.wait(60) is not None
    assert blocked == []


def test_events_keep_their_order_for_every_subscriber(make_session, raw_dir):
    s = make_session(helpers.diamond(raw_dir, objects=("A", "B", "C")), ordering="dynamic", max_jobs=4)
    order = []
    s.subscribe(lambda ev: order.append((str(ev.kind), ev.job_id)) if ev.kind not in ("job_log", "end_products")
                else None)
    s.run()
    for jid in s.result.jobs:
        kinds = [k for k, j in order if j == jid]
        assert kinds == ["job_queued", "job_started", "job_finished"], (jid, kinds)
    assert order[0][0] == "run_started" and order[-1][0] == "run_finished"
    recorded = [str(e.kind) for e in s.recorder.events if e.kind not in ("job_log", "end_products")]
    assert recorded[recorded.index("run_started"):] == [k for k, _ in order]  # the same order for both


def test_state_summaries_per_task_and_dataset(make_session, raw_dir):

    res = helpers.diamond(raw_dir, objects=("A", "B"))
    res.jobs["left-A"] = res.jobs["left-A"]._replace(recipe="test_raise")
    s = make_session(res)
    s.run()
    counts = s.state.task_counts()
    assert counts["left"] == {"failed": 1, "done": 1} and counts["final"] == {"skipped": 1, "done": 1}
    assert s.state.task_statuses()["left"] == "failed"
    assert s.state.dataset_statuses() == {"ds-A": "failed", "ds-B": "reduced"}
    assert dataset_status(False, []) == "incomplete" and dataset_status(True, ["waiting"]) == "new"


def test_selection_exclusions_and_description_are_state_with_events(make_session, raw_dir):
    s = make_session(helpers.diamond(raw_dir, objects=("A", "B")))
    s.select_datasets(["ds-B"])
    assert s.state.selection == ["ds-B"] and [d.id for d in s.datasets()] == ["ds-B"]
    s.set_description("first look")
    s.workflow_parameters = {"flat": "dome"}
    kinds = [str(e.kind) for e in s.recorder.events]
    assert kinds[-3:] == ["selection_changed", "description_changed", "workflow_parameters_changed"]
    summary = s.run()
    assert {j["dataset"] for j in summary.jobs} == {"B"}
    assert s.store.runs()[0]["description"] == "first look"
