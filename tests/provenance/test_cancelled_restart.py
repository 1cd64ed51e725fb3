"""Stop gives "cancelled" everywhere the core keeps it, and a restart shows it: real FITS files,
real child processes (the testing recipes), the real SQLite store, PROV-JSON read back with
`prov`, and `reflexng status` as a user runs it (a child process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

from flow_data import STOP_CASCADE, make_flow_data


def _by_task(session):
    return {session.result.jobs[j].task: j for j in session.result.jobs}


def _stop_while_writing(session) -> None:
    """Start the run and Stop once the science job has written half a product."""
    half = threading.Event()
    unsubscribe = session.subscribe(
        lambda ev: half.set() if ev.kind == "job_log" and "half a product" in ev.data.get("line", "") else None)
    session.start()
    assert half.wait(60), "the science job never wrote its half product"
    session.stop()
    unsubscribe()


def test_stop_is_cancelled_in_state_store_prov_status_and_after_a_restart(tmp_path):
    from prov.model import ProvDocument

    from reflexng.engine import Session
    from reflexng.provenance.trace import write_run_prov_json

    cascade, raw, work = make_flow_data(tmp_path)
    cascade.write_text(STOP_CASCADE)
    with Session(str(cascade), [raw], None, workdir=work) as s:
        s.organise()
        jobs = _by_task(s)
        _stop_while_writing(s)
        summary = s.wait(60)
        assert summary is not None and summary.stopped and not summary.ok
        by_id = {j["id"]: j for j in summary.jobs}
        assert by_id[jobs["bias"]]["status"] == "executed"
        assert by_id[jobs["science"]]["status"] == "cancelled"
        assert by_id[jobs["combined"]]["status"] == "skipped"
        assert by_id[jobs["combined"]]["reason"] == "not run (upstream cancelled)"
        assert s.job_state(jobs["science"]) == "cancelled"
        att = s.store.last_attempt(jobs["science"])
        assert att.status == "cancelled" and att.exit_reason.startswith("cancelled")
        # tmp/ of the cancelled attempt is gone: its half-written file is nowhere a later run looks
        adir = att.jobdir
        assert not os.path.exists(os.path.join(adir, "tmp")) and not os.path.exists(os.path.join(adir, "products"))
        assert not [f for _r, _d, fs in os.walk(adir) for f in fs if f == "half.fits"]
        ds = s.result.datasets[0].id
        assert s.state.dataset_status(ds) == "cancelled"
        assert s.state.task_statuses()["science"] == "cancelled"
        out = tmp_path / "run.prov.json"
        write_run_prov_json(s.store, out)

    doc = ProvDocument.deserialize(str(out), format="json")  # valid for `prov`
    acts = {str(r.identifier): {str(k): v for k, v in r.attributes} for r in doc.get_records()
            if r.get_type().localpart == "Activity"}
    sci = next(a for a in acts.values() if a.get("rng:job") == jobs["science"])
    assert sci["rng:status"] == "cancelled"
    assert next(a for a in acts.values() if a.get("rng:job") == jobs["bias"])["rng:status"] == "done"

    # `reflexng status` (a child process, as a user runs it) lists it as cancelled, not failed
    env = {**os.environ, "REFLEXNG_DEBUG": ""}
    st = subprocess.run([sys.executable, "-m", "reflexng", "status", str(work)], capture_output=True, text=True,
                        env=env, timeout=120)
    assert st.returncode == 0, st.stderr
    assert "failed jobs: none" in st.stdout and "cancelled jobs (1" in st.stdout
    assert f"{jobs['science']} (science, attempt 1): cancelled: cancelled" in st.stdout
    st = subprocess.run([sys.executable, "-m", "reflexng", "status", str(work), "--json"], capture_output=True,
                        text=True, env=env, timeout=120)
    info = json.loads(st.stdout)
    assert [(f["job"], f["status"]) for f in info["failed"]] == [(jobs["science"], "cancelled")]
    assert info["runs"][0]["status"] == "stopped"

    # a restart: a new session on the same work directory shows what happened
    with Session(str(cascade), [raw], None, workdir=work) as s2:
        s2.organise()
        assert s2.job_state(jobs["bias"]) == "done"
        assert s2.job_state(jobs["science"]) == "cancelled"
        assert s2.job_state(jobs["combined"]) == "waiting"  # it never ran
        assert s2.state.dataset_status(ds) == "cancelled"
    # the user mends the science task; the next run re-runs the cancelled job and reuses the finished one
    cascade.write_text(STOP_CASCADE.replace('with_recipe("test_half_product")', 'with_recipe("test_noop")'))
    with Session(str(cascade), [raw], None, workdir=work) as s2:
        s2.organise()
        summary = s2.run()
        assert summary.ok, summary.to_json()
        by_id = {j["id"]: j["status"] for j in summary.jobs}
        assert by_id == {jobs["bias"]: "reused", jobs["science"]: "executed", jobs["combined"]: "executed"}
    with Session(str(cascade), [raw], None, workdir=work) as s3:
        s3.organise()
        assert {t: str(s3.job_state(j)) for t, j in jobs.items()} == {
            "bias": "reused", "science": "done", "combined": "done"}


def test_failed_attempt_keeps_its_output_only_as_failed_output(tmp_path):
    """A failed attempt's partial output is renamed failed-output/ (kept to diagnose), never
    left as tmp/ or products/; the next attempt does not read it."""
    from reflexng.engine import Session
    from reflexng.engine.runner import FAILED_OUTPUT

    cascade, raw, work = make_flow_data(tmp_path)
    cascade.write_text(STOP_CASCADE.replace('"wait": 60.0', '"wait": 0.0'))  # writes half, then SIGKILL
    with Session(str(cascade), [raw], None, workdir=work) as s:
        s.organise()
        jobs = _by_task(s)
        summary = s.run()
        by_id = {j["id"]: j for j in summary.jobs}
        assert by_id[jobs["science"]]["status"] == "failed"
        assert by_id[jobs["combined"]]["reason"].startswith("upstream job")  # failed, not cancelled
        adir = s.store.last_attempt(jobs["science"]).jobdir
        assert sorted(os.listdir(os.path.join(adir, FAILED_OUTPUT))) == ["half.fits"]
        assert not os.path.exists(os.path.join(adir, "tmp")) and not os.path.exists(os.path.join(adir, "products"))
        assert s.products(jobs["science"]) == []
