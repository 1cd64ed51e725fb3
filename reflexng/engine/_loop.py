"""The run loop of :class:`reflexng.engine.session.Session` (methods bound into the class).

One scheduling loop picks ready jobs in the ordering's priority (dfs: dataset by dataset;
bfs: level by level across datasets; dynamic: like dfs but up to ``max_jobs`` at once) and
hands each to a worker thread (:func:`_run_job`). Workers report back through
:func:`_finish_job`, which updates states, emits events, applies the failure policy and
pauses when asked.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from reflexng import __version__
from reflexng.engine import cache
from reflexng.engine.executors.hook import executor_for, record_trace
from reflexng.engine.export import export
from reflexng.engine.jobdir import (
    job_folder,
    new_attempt,
    safe_name,
    write_attempt_files,
    write_sof,
)

RUNNABLE = ("waiting", "stale")


def _order(self) -> list[str]:
    import networkx as nx

    res = self._result
    seq: list[str] = []
    seen: set[str] = set()
    for ds in self.datasets():
        for jid in ds.jobs:
            if jid in res.jobs and jid not in seen:
                seen.add(jid)
                seq.append(jid)
    if self.ordering == "bfs":
        g = res.job_graph.subgraph(seq)
        depth: dict[str, int] = {}
        for jid in nx.topological_sort(g):
            depth[jid] = max((depth[p] + 1 for p in g.predecessors(jid)), default=0)
        index = {j: i for i, j in enumerate(seq)}
        seq.sort(key=lambda j: (depth[j], index[j]))
    return seq


def _deps_ok(self, jid: str) -> bool:
    return all(self._states[d].state in ("done", "reused") for d in self._result.jobs[jid].depends_on if d in self._states)


def run(self):
    """Run every job of the selected datasets; blocks until finished or stopped. Returns a RunSummary."""
    from reflexng.engine.session import RunSummary

    self._require()
    with self._cond:
        if getattr(self, "_active", False):
            raise RuntimeError("a run is already in progress in this session")
        self._active = True
        self._stop = False
        self._stop_reason = ""
        self._step_started = False
        plan = self._order()
        self._plan = plan
        self._plan_set = set(plan)
        for jid in plan:
            st = self._states[jid]
            if st.state in ("done", "reused", "failed", "skipped", "queued", "running"):
                st.state, st.reason, st.why = "waiting", "", ""
        self._run_id = self._store.start_run(getattr(self.cascade, "name", ""), getattr(self.cascade, "path", ""),
                                             str(self._result.target))
        self._started_at = time.monotonic()
        self._durations = []
    self._emit("run_started", total=len(plan), ordering=self.ordering, workdir=str(self.workdir))
    with self._cond:
        for jid in plan:
            if self._states[jid].state == "incomplete":
                self._skip_downstream(jid, f"upstream job {jid} is incomplete ({self._states[jid].reason})")
    try:
        while True:
            with self._cond:
                if self._stop:
                    if not self._running:
                        break
                    self._cond.wait(0.2)
                    continue
                if self._paused:
                    self._cond.wait(0.5)
                    continue
                ready = [j for j in plan if self._states[j].state in RUNNABLE and _deps_ok(self, j)]
                if not ready and not self._running:
                    break
                limit = self.max_jobs if self.ordering == "dynamic" and not self._step else 1
                while ready and len(self._running) < limit and not (self._step and self._step_started):
                    jid = ready.pop(0)
                    self._states[jid].state = "queued"
                    self._emit("job_queued", jid)
                    t = threading.Thread(target=self._run_job, args=(jid,), name=f"reflexng-job-{jid}", daemon=True)
                    self._running[jid] = t
                    if self._step:
                        self._step_started = True
                    t.start()
                self._cond.wait(0.5)
    finally:
        with self._cond:
            left = "run stopped" + (f": {self._stop_reason}" if self._stop_reason else " by the user")
            for jid in plan:
                st = self._states[jid]
                if st.state in ("waiting", "stale", "queued"):
                    self._set_skipped(jid, left if self._stop else "not run: an upstream job did not succeed")
            summary = RunSummary(stopped=self._stop)
            for jid in plan + [j for ds in self._result.datasets if not ds.complete for j in ds.jobs
                               if j not in self._plan_set and self._states[j].state == "incomplete"]:
                st = self._states[jid]
                job = self._result.jobs[jid]
                summary.jobs.append({
                    "id": jid, "task": job.task, "dataset": st.dataset,
                    "status": {"done": "executed"}.get(st.state, st.state), "attempt": st.attempt,
                    "products": [p for p, _c in st.products], "seconds": round(st.seconds, 3), "reason": st.reason,
                    "why": st.why,
                })
            summary.ok = not any(j["status"] == "failed" for j in summary.jobs) and not self._stop
        _export_end_products(self, summary)
        self._store.finish_run(self._run_id, "stopped" if self._stop else ("ok" if summary.ok else "failed"),
                               summary.to_json())
        self._summary = summary
        with self._cond:
            self._active = False
            self._stop = False
            self._cond.notify_all()
        self._emit("run_finished", summary=summary.to_json())
    return summary


def _export_end_products(self, summary) -> None:
    """Export the target products of the datasets that succeeded (only what changed; see
    reflexng.engine.export); emits ``end_products`` per dataset with what is new/updated/unchanged."""
    from reflexng.organiser.labels import dataset_labels, setup_words

    labels = dataset_labels(self._result, self.cascade)
    for ds in self.datasets():
        st = self._states.get(ds.target_job)
        if st is None or st.state not in ("done", "reused") or not st.products:
            continue
        if self._result.jobs[ds.target_job].recipe.startswith("placeholder:"):
            continue  # placeholder products are never exported
        label = labels.get(ds.id) or safe_name(ds.name or ds.id)
        folder = self.workdir / "end_products" / label
        try:
            done = export(st.products, folder, self.end_product_pattern, self.link_end_products,
                          setup=setup_words(self._result, ds, self.cascade), label=label)
        except OSError as exc:
            self._emit("job_log", ds.target_job, line=f"reflexng: cannot export end products: {exc}",
                       stream="stderr")
            continue
        summary.end_products += done.current
        summary.exported.append(done.to_json())
        self._emit("end_products", ds.target_job, **done.to_json())


def start(self) -> None:
    """Run in a background thread and return at once (events report progress)."""
    if self._run_thread is not None and self._run_thread.is_alive():
        raise RuntimeError("a run is already in progress in this session")
    self._summary = None

    def target() -> None:
        try:
            self.run()
        except Exception as exc:  # reported as an event in one line (traceback with REFLEXNG_DEBUG=1)
            from reflexng.engine.reasons import engine_failure

            self._emit("run_finished", summary={"ok": False, "error": engine_failure(exc), "jobs": [],
                                                 "end_products": []})

    self._run_thread = threading.Thread(target=target, name="reflexng-session", daemon=True)
    self._run_thread.start()


def wait(self, timeout: float | None = None):
    """Wait for a run started with ``start()``; returns its RunSummary (None on timeout)."""
    t = self._run_thread
    if t is not None:
        t.join(timeout)
        if t.is_alive():
            return None
    return self._summary


def _set_skipped(self, jid: str, reason: str) -> None:
    st = self._states[jid]
    st.state, st.reason = "skipped", reason
    self._emit("job_skipped", jid, reason=reason)


def _skip_downstream(self, jid: str, reason: str) -> None:
    import networkx as nx

    plan = getattr(self, "_plan_set", set(self._states))
    for d in nx.descendants(self._result.job_graph, jid):
        if d in plan and self._states[d].state in ("waiting", "stale", "queued"):
            self._set_skipped(d, reason)


def _progress(self) -> None:
    plan = self._plan
    done = sum(1 for j in plan if self._states[j].state in ("done", "reused", "failed", "skipped", "incomplete"))
    eta = None
    if self._durations:
        mean = sum(self._durations) / len(self._durations)
        par = self.max_jobs if self.ordering == "dynamic" else 1
        eta = round(mean * (len(plan) - done) / par, 1)
    self._emit("progress", done=done, total=len(plan), eta_seconds=eta)


def _finish_job(self, jid: str, state: str, *, reason: str = "", products=None, qc=None, seconds: float = 0.0,
                log_tail=None, why: str = "") -> None:
    with self._cond:
        st = self._states[jid]
        st.state, st.reason, st.seconds, st.child = state, reason, seconds, None
        if why:
            st.why = why
        if products is not None:
            st.products = list(products)
            st.qc = dict(qc or {})
        self._running.pop(jid, None)
        self._last_finished = jid
        if state == "done":
            st.force_next = False
            self._durations.append(seconds)
            self._emit("job_finished", jid, products=[list(p) for p in st.products], seconds=round(seconds, 3),
                       qc=st.qc, attempt=st.attempt)
        elif state == "reused":
            self._emit("job_reused", jid, products=[list(p) for p in st.products], attempt=st.attempt)
        else:
            self._emit("job_failed", jid, reason=reason, log_tail=list(log_tail or []), attempt=st.attempt)
            self._skip_downstream(jid, f"upstream job {jid} ({self._result.jobs[jid].task}) failed")
            if self.failure_policy == "stop" and not self._stop:
                self._stop = True
                self._stop_reason = f"job {jid} failed"
            elif self.failure_policy == "ask" and not self._stop:
                self._paused = True
                self._emit("paused", jid, reason="failure")
        _progress(self)
        task = self._result.jobs[jid].task
        if not self._stop and not self._paused and state in ("done", "reused", "failed"):
            # pause-after-each skips reused jobs (nothing new to look at); breakpoints and step do not
            pause_reason = ("step" if self._step else "breakpoint" if task in self._breakpoints
                            else "after each step" if self._pause_after_each and state != "reused" else "")
            if pause_reason:
                self._step = False
                self._step_started = False
                self._paused = True
                self._emit("paused", jid, reason=pause_reason)
        self._cond.notify_all()


def _run_job(self, jid: str) -> None:
    job = self._result.jobs[jid]
    st = self._states[jid]
    why = ""
    try:
        info = self._recipe(job)
        if info.error:
            self._finish_job(jid, "failed", reason=info.error, why="never ran")
            return
        try:
            params = self._effective(jid)
        except ValueError as exc:
            self._finish_job(jid, "failed", reason=f"bad parameter: {exc}")
            return
        inputs = self._inputs(jid)
        st.inputs, st.parameters = inputs, params
        key = cache.cache_key(job.recipe, info.version, params, inputs)
        forced = self._forced(jid)
        if not forced:
            att, _why_not = cache.find_reusable(self._store, key)
            if att is not None:
                self._store.record_reuse(job_id=jid, run_id=self._run_id, task=job.task, dataset=st.dataset, source=att)
                st.attempt = att.attempt
                self._finish_job(jid, "reused", products=[(o["path"], o["category"]) for o in att.outputs or []],
                                 qc=(att.outputs or [{}])[0].get("qc", {}) if att.outputs else {},
                                 why="unchanged (reused)")
                return
            why = cache.explain(self._store, jid, key, job.recipe, info.version, params, inputs)
        else:
            why = cache.forced_reason(self._store, jid, "re-run requested" if st.force_next else f"--force {job.task}",
                                      job.recipe, info.version, params, inputs)
        n, adir = new_attempt(job_folder(self.workdir, job.task, jid))
        from reflexng.recipes.registry import config_path, recipe_dirs

        spec = {
            "job_id": jid, "task": job.task, "recipe": job.recipe, "recipe_version": info.version,
            "function_task": info.function_task, "cascade_path": getattr(self.cascade, "path", ""),
            "inputs": inputs, "parameters": params, "output_dir": str(adir / "tmp"),
            "recipe_path": [str(d) for d in recipe_dirs()], "config": str(config_path()),
            "drs_id": f"reflexng/{__version__}", "attempt": n, "cache_key": key,
        }
        write_sof(adir / "inputs.sof", inputs)  # before asking the recipe for its replay command
        write_attempt_files(adir, spec, info.replay_command(str(adir / "inputs.sof"), params, "."))
        aid = self._store.start_attempt(job_id=jid, run_id=self._run_id, task=job.task, dataset=st.dataset,
                                        recipe=job.recipe, version=info.version, parameters=params, cache_key=key,
                                        attempt=n, jobdir=str(adir),
                                        inputs=[(i["role"], i["category"], i["path"], i["hash"]) for i in inputs])
        child = executor_for(self).start(adir, on_line=lambda line, stream: self._emit("job_log", jid, line=line,
                                                                                       stream=stream),
                                         timeout=self.job_timeout, grace=self.cancel_grace)
        with self._cond:
            st.state, st.attempt, st.attempt_id, st.child, st.why = "running", n, aid, child, why
            if self._stop:
                child.cancel()
        self._emit("job_started", jid, attempt=n, why=why, jobdir=str(adir))
        outcome = child.result()
        record_trace(self, aid, outcome)
        if outcome.ok:
            products, outputs = _move_products(self, adir, outcome.products)
            self._store.finish_attempt(aid, "done", outputs=outputs, qc=outcome.qc, log_tail="\n".join(outcome.log_tail))
            self._finish_job(jid, "done", products=products, qc=outcome.qc, seconds=outcome.seconds, why=why)
        else:
            self._store.finish_attempt(aid, "cancelled" if outcome.cancelled else "failed", exit_reason=outcome.reason,
                                       log_tail="\n".join(outcome.log_tail))
            self._finish_job(jid, "failed", reason=outcome.reason, seconds=outcome.seconds, log_tail=outcome.log_tail,
                             why=why)
    except Exception as exc:  # an engine-side error fails this job, never the session: one line, traceback in log
        from reflexng.engine.reasons import engine_failure

        self._finish_job(jid, "failed", reason=engine_failure(exc, job_folder(self.workdir, job.task, jid)), why=why)


def _move_products(self, adir: Path, products: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[Any]]:
    """Rename ``tmp/`` to ``products/`` (only now do products become visible) and describe them."""
    tmp = adir / "tmp"
    final = adir / "products"
    real_tmp = os.path.realpath(tmp)
    os.rename(tmp, final)
    out, outputs = [], []
    for p, c in products:
        rel = os.path.relpath(os.path.realpath(p), real_tmp)
        path = str(final / rel)
        stt = os.stat(path)
        out.append((path, c))
        outputs.append((c, path, stt.st_size, stt.st_mtime_ns, self._store.hash_file(path)))
    return out, outputs
