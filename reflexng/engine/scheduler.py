"""The scheduler: which job runs when, pausing, stepping, stopping and the failure policy.

One loop (the caller's thread for ``run()``, a background thread for ``start()``) picks ready
jobs in the ordering's priority — dfs: dataset by dataset; bfs: level by level across
datasets; dynamic: up to ``max_jobs`` at once, the ready job with the longest chain of jobs
still to come after it first (then dfs order), so that no core idles at the end of the run while
one dataset's last jobs run one after another — and hands each to a worker
thread running :meth:`JobRunner.run_job`. Workers report back through :meth:`finish`.

A job keeps the status it had (e.g. ``done`` from an earlier run) until this run looks at it
again: it then becomes ``queued`` and ends ``reused``, ``done``, ``failed`` or ``cancelled``.
Nothing is reset silently.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import networkx as nx

from reflexng.cascade.runtime import passed_on
from reflexng.engine.context import RunContext
from reflexng.engine.export import export
from reflexng.engine.jobdir import safe_name
from reflexng.engine.runner import JobRunner
from reflexng.engine.state import FINISHED, SUCCEEDED, SUMMARY_WORDS, JobStatus, RunSummary

UPSTREAM_CANCELLED = "not run (upstream cancelled)"


class Scheduler:
    def __init__(self, ctx: RunContext, runner: JobRunner, datasets: Callable[[], list]) -> None:
        self.ctx = ctx
        self.runner = runner
        self.datasets = datasets  # the selected datasets, in order
        self.plan: list[str] = []
        self.pending: set[str] = set()  # jobs of the plan this run has not decided yet
        self.threads: dict[str, threading.Thread] = {}
        self.stop_requested = False
        self.stop_reason = ""
        self.stepping = False  # step(): run one job, then pause
        self.step_started = False
        self.durations: list[float] = []
        self.last_finished: str | None = None
        self.run_thread: threading.Thread | None = None
        self.summary: RunSummary | None = None
        self.rank: dict[str, int] = {}  # dynamic ordering: job -> jobs on the longest chain from it to the end

    # ------------------------------------------------------------------ plan

    def order(self) -> list[str]:
        res = self.ctx.result
        seq: list[str] = []
        seen: set[str] = set()
        for ds in self.datasets():
            for jid in ds.jobs:
                if jid in res.jobs and jid not in seen:
                    seen.add(jid)
                    seq.append(jid)
        if self.ctx.options.ordering == "bfs":
            g = res.job_graph.subgraph(seq)
            depth: dict[str, int] = {}
            for jid in nx.topological_sort(g):
                depth[jid] = max((depth[p] + 1 for p in g.predecessors(jid)), default=0)
            index = {j: i for i, j in enumerate(seq)}
            seq.sort(key=lambda j: (depth[j], index[j]))
        return seq

    def _ready(self, jid: str) -> bool:
        jobs = self.ctx.state.jobs
        if jobs[jid].status in (JobStatus.QUEUED, JobStatus.RUNNING):
            return False
        return all(d not in self.pending and jobs[d].status in SUCCEEDED
                   for d in self.ctx.result.jobs[jid].depends_on if d in jobs)

    # ------------------------------------------------------------------ run

    def run(self) -> RunSummary:
        ctx = self.ctx
        state, opts = ctx.state, ctx.options
        with ctx.locked():
            if state.running:
                raise RuntimeError("a run is already in progress in this session")
            state.running = True
            self.stop_requested, self.stop_reason, self.step_started = False, "", False
            self.plan = plan = self.order()
            self.rank = _chain_lengths(ctx.result.job_graph, plan) if opts.ordering == "dynamic" else {}
            self.pending = {j for j in plan if state.jobs[j].status != JobStatus.INCOMPLETE}
            self.durations = []
            state.progress, state.eta_seconds = (0, len(plan)), None
            ctx.run_id = ctx.store.start_run(getattr(ctx.cascade, "name", ""), getattr(ctx.cascade, "path", ""),
                                             str(ctx.result.target), description=state.description)
            ctx.emit("run_started", total=len(plan), ordering=opts.ordering, workdir=str(ctx.workdir))
            for jid in plan:
                if state.jobs[jid].status == JobStatus.INCOMPLETE:
                    self.skip_downstream(jid, f"upstream job {jid} is incomplete ({state.jobs[jid].reason})")
        try:
            self._loop()
        finally:
            summary = self._finish_run()
        return summary

    def _loop(self) -> None:
        ctx = self.ctx
        state = ctx.state
        while True:
            with ctx.locked():
                gen = ctx.generation
                if self.stop_requested:
                    if not self.threads:
                        return
                elif not state.paused:
                    ready = [j for j in self.plan if j in self.pending and self._ready(j)]
                    if self.rank:
                        ready.sort(key=lambda j: -self.rank.get(j, 0))  # stable: dfs order among equals
                    if not ready and not self.threads:
                        return
                    dynamic = ctx.options.ordering == "dynamic" and not self.stepping
                    limit = ctx.options.max_jobs if dynamic else 1
                    while ready and len(self.threads) < limit and not (self.stepping and self.step_started):
                        self._queue(ready.pop(0))
            ctx.wait(gen, 0.5)

    def _queue(self, jid: str) -> None:
        rec = self.ctx.state.jobs[jid]
        rec.status, rec.reason, rec.why, rec.log_tail = JobStatus.QUEUED, "", "", []
        self.ctx.emit("job_queued", jid)
        t = threading.Thread(target=self.runner.run_job, args=(jid, lambda: self.stop_requested),
                             name=f"reflexng-job-{jid}", daemon=True)
        self.threads[jid] = t
        if self.stepping:
            self.step_started = True
        t.start()

    def _finish_run(self) -> RunSummary:
        ctx = self.ctx
        state = ctx.state
        with ctx.locked():
            left = "run stopped" + (f": {self.stop_reason}" if self.stop_reason else " by the user")
            for jid in self.plan:
                if jid in self.pending:
                    self.set_skipped(jid, left if self.stop_requested else "not run: an upstream job did not succeed")
            summary = RunSummary(stopped=self.stop_requested)
            planned = set(self.plan)
            extra = [j for ds in ctx.result.datasets if not ds.complete for j in ds.jobs
                     if j not in planned and j in state.jobs and state.jobs[j].status == JobStatus.INCOMPLETE]
            for jid in self.plan + extra:
                rec = state.jobs[jid]
                summary.jobs.append({
                    "id": jid, "task": rec.task, "dataset": rec.dataset,
                    "status": SUMMARY_WORDS.get(rec.status, str(rec.status)), "attempt": rec.attempt,
                    "products": [p for p, _c in rec.products], "seconds": round(rec.seconds, 3),
                    "reason": rec.reason, "why": rec.why,
                })
            summary.ok = not any(j["status"] in ("failed", "cancelled") for j in summary.jobs) and not self.stop_requested
        self._export_end_products(summary)
        ctx.store.finish_run(ctx.run_id, "stopped" if self.stop_requested else ("ok" if summary.ok else "failed"),
                             summary.to_json())
        with ctx.locked():
            self.summary = state.summary = summary
            state.running = state.paused = False
            state.paused_job, state.pause_reason = None, ""
            self.stop_requested = False
            self.pending = set()
            ctx.notify()
            ctx.emit("run_finished", summary=summary.to_json())
        ctx.settle()
        return summary

    def _export_end_products(self, summary: RunSummary) -> None:
        """Export the target products of the datasets that succeeded (only what changed; see
        reflexng.engine.export); emits ``end_products`` per dataset with what is new/updated/unchanged."""
        from reflexng.organiser.labels import dataset_labels, setup_words

        ctx = self.ctx
        labels = dataset_labels(ctx.result, ctx.cascade)
        for ds in self.datasets():
            rec = ctx.state.jobs.get(ds.target_job)
            if rec is None or rec.status not in SUCCEEDED or not rec.products:
                continue
            if ctx.result.jobs[ds.target_job].recipe.startswith("placeholder:"):
                continue  # placeholder products are never exported
            label = labels.get(ds.id) or safe_name(ds.name or ds.id)
            try:
                products = passed_on(ctx.cascade, ctx.result.jobs[ds.target_job].task, rec.products)  # output filter
                done = export(products, ctx.workdir / "end_products" / label, ctx.options.end_product_pattern,
                              ctx.options.link_end_products, setup=setup_words(ctx.result, ds, ctx.cascade),
                              label=label)
            except OSError as exc:
                ctx.emit("job_log", ds.target_job, line=f"reflexng: cannot export end products: {exc}",
                         stream="stderr")
                continue
            summary.end_products += done.current
            summary.exported.append(done.to_json())
            ctx.emit("end_products", ds.target_job, **done.to_json())

    def start(self) -> None:
        """Run in a background thread and return at once (events report progress)."""
        if self.run_thread is not None and self.run_thread.is_alive():
            raise RuntimeError("a run is already in progress in this session")
        self.summary = None

        def target() -> None:
            try:
                self.run()
            except Exception as exc:  # reported as an event in one line (traceback with REFLEXNG_DEBUG=1)
                from reflexng.engine.reasons import engine_failure

                self.ctx.emit("run_finished", summary={"ok": False, "error": engine_failure(exc), "jobs": [],
                                                       "end_products": []})

        self.run_thread = threading.Thread(target=target, name="reflexng-session", daemon=True)
        self.run_thread.start()

    def wait(self, timeout: float | None = None) -> RunSummary | None:
        t = self.run_thread
        if t is not None:
            t.join(timeout)
            if t.is_alive():
                return None
        self.ctx.settle()
        return self.summary

    # ------------------------------------------------------------------ control (callers hold no lock)

    def set_paused(self, paused: bool, job_id: str | None, reason: str) -> None:
        """Pause (``reason``) or resume; call inside ``ctx.locked()``."""
        state = self.ctx.state
        if paused and not state.paused:
            state.paused, state.paused_job, state.pause_reason = True, job_id, reason
            self.ctx.emit("paused", job_id, reason=reason)
        elif not paused and state.paused:
            state.paused, state.paused_job, state.pause_reason = False, None, ""
            self.ctx.emit("resumed")
        self.ctx.notify()

    def pause(self) -> None:
        with self.ctx.locked():
            self.set_paused(True, self.last_finished, "user")

    def resume(self, step: bool = False) -> None:
        with self.ctx.locked():
            self.stepping = step
            self.step_started = False
            self.set_paused(False, None, "")

    def stop(self) -> None:
        with self.ctx.locked():
            self.stop_requested = True
            self.set_paused(False, None, "")
        self.runner.cancel_all()

    def requeue(self, job_ids: list[str]) -> None:
        """Jobs a re-run made stale: this run (when one is going on) looks at them again."""
        if self.ctx.state.running:
            self.pending.update(j for j in job_ids if j in set(self.plan))

    # ------------------------------------------------------------------ outcomes

    def set_skipped(self, jid: str, reason: str) -> None:
        rec = self.ctx.state.jobs[jid]
        rec.status, rec.reason = JobStatus.SKIPPED, reason
        self.pending.discard(jid)
        self.ctx.emit("job_skipped", jid, reason=reason)

    def skip_downstream(self, jid: str, reason: str) -> None:
        jobs = self.ctx.state.jobs
        for d in nx.descendants(self.ctx.result.job_graph, jid):
            if d in self.pending and jobs[d].status not in (JobStatus.QUEUED, JobStatus.RUNNING):
                self.set_skipped(d, reason)

    def _progress(self) -> None:
        ctx = self.ctx
        jobs = ctx.state.jobs
        done = sum(1 for j in self.plan if j not in self.pending and jobs[j].status in FINISHED)
        eta = None
        if self.durations:
            mean = sum(self.durations) / len(self.durations)
            par = ctx.options.max_jobs if ctx.options.ordering == "dynamic" else 1
            eta = round(mean * (len(self.plan) - done) / par, 1)
        ctx.state.progress, ctx.state.eta_seconds = (done, len(self.plan)), eta
        ctx.emit("progress", done=done, total=len(self.plan), eta_seconds=eta)

    def finish(self, jid: str, status: JobStatus, *, reason: str = "", products=None, qc=None, seconds: float = 0.0,
               log_tail=None, why: str = "", attempt: int | None = None) -> None:
        """A worker's report: the job ended with ``status``."""
        ctx = self.ctx
        opts = ctx.options
        with ctx.locked():
            rec = ctx.state.jobs[jid]
            rec.status, rec.reason, rec.seconds = status, reason, seconds
            rec.log_tail = list(log_tail or [])
            if why:
                rec.why = why
            if attempt is not None:
                rec.attempt = attempt
            if products is not None:
                rec.products = list(products)
                rec.qc = dict(qc or {})
            self.threads.pop(jid, None)
            self.pending.discard(jid)
            self.last_finished = jid
            if status == JobStatus.DONE:
                rec.force_next = False
                self.durations.append(seconds)
                ctx.emit("job_finished", jid, products=[list(p) for p in rec.products], seconds=round(seconds, 3),
                         qc=rec.qc, attempt=rec.attempt)
            elif status == JobStatus.REUSED:
                rec.force_next = False
                ctx.emit("job_reused", jid, products=[list(p) for p in rec.products], attempt=rec.attempt)
            elif status == JobStatus.CANCELLED:
                ctx.emit("job_cancelled", jid, reason=reason, log_tail=rec.log_tail, attempt=rec.attempt)
                self.skip_downstream(jid, UPSTREAM_CANCELLED)
            else:
                ctx.emit("job_failed", jid, reason=reason, log_tail=rec.log_tail, attempt=rec.attempt)
                self.skip_downstream(jid, f"upstream job {jid} ({rec.task}) failed")
                if opts.failure_policy == "stop" and not self.stop_requested:
                    self.stop_requested = True
                    self.stop_reason = f"job {jid} failed"
                elif opts.failure_policy == "ask" and not self.stop_requested:
                    self.set_paused(True, jid, "failure")
            self._progress()
            state = ctx.state
            if not self.stop_requested and not state.paused and status in (JobStatus.DONE, JobStatus.REUSED,
                                                                           JobStatus.FAILED):
                # pause-after-each skips reused jobs (nothing new to look at); breakpoints and step do not
                pause_reason = ("step" if self.stepping else "breakpoint" if rec.task in opts.breakpoints
                                else "after each step" if opts.pause_after_each and status != JobStatus.REUSED
                                else "")
                if pause_reason:
                    self.stepping = False
                    self.step_started = False
                    self.set_paused(True, jid, pause_reason)
            ctx.notify()


def _chain_lengths(graph: nx.DiGraph, plan: list[str]) -> dict[str, int]:
    """Each planned job's longest chain of planned jobs from it to the end, itself included."""
    g = graph.subgraph(plan)
    rank: dict[str, int] = {}
    for jid in reversed(list(nx.topological_sort(g))):
        rank[jid] = 1 + max((rank[c] for c in g.successors(jid)), default=0)
    return rank
