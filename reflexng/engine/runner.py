"""The job runner: everything about one job — its inputs, effective parameters, the smart
re-run decision and why, and running one attempt in a child process (on a worker thread).

The :class:`~reflexng.engine.scheduler.Scheduler` decides *when* a job runs; the runner
decides *whether* it must (cache) and runs it, then reports the outcome through ``finish``.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reflexng import __version__
from reflexng.cascade.runtime import needs_shaping, shape_inputs
from reflexng.engine import cache
from reflexng.engine.context import RunContext
from reflexng.engine.executors.hook import ExecutorSlot
from reflexng.engine.jobdir import job_folder, new_attempt, write_attempt_files, write_sof
from reflexng.engine.recipes import RecipeInfo, recipe_info
from reflexng.engine.state import SUCCEEDED, JobStatus

_WILL_NOT_REUSE = (JobStatus.INCOMPLETE, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.SKIPPED)
Finish = Callable[..., None]  # Scheduler.finish(job_id, status, **details)
WORKER_LOST_RETRY = "worker lost; retried"  # why the attempt after a lost worker's ran


class JobRunner:
    def __init__(self, ctx: RunContext, executors: ExecutorSlot) -> None:
        self.ctx = ctx
        self.executors = executors  # the session's executor (one at a time)
        self.finish: Finish = lambda *a, **k: None  # set by the Session to its scheduler's finish
        self._children: dict[str, Any] = {}  # job id -> the executor's handle of its attempt
        self._children_lock = threading.Lock()

    # ------------------------------------------------------------------ recipe and parameters

    def recipe(self, job) -> RecipeInfo:
        info = self.ctx.recipes.get(job.recipe)
        if info is None:
            info = recipe_info(job, self.ctx.cascade)
            self.ctx.recipes[job.recipe] = info
        return info

    def effective(self, job_id: str) -> dict[str, Any]:
        """The parameters an attempt of the job would run with (recipe default < cascade <
        parameter set < user, then the re-run override), coerced to the recipe's types."""
        from reflexng.cascade.parameters import effective_parameters

        job = self.ctx.result.jobs[job_id]
        info = self.recipe(job)
        values = effective_parameters(info.defaults, {**dict(job.parameters), **self.ctx.state.jobs[job_id].override})
        specs = {s.name: s for s in info.specs}
        return {k: (specs[k].coerce(v) if k in specs else v) for k, v in values.items()}

    def forced(self, job_id: str) -> bool:
        job = self.ctx.result.jobs[job_id]
        force = self.ctx.options.force
        return self.ctx.state.jobs[job_id].force_next or "all" in force or job.task in force

    def _forced_label(self, job_id: str) -> str:
        rec = self.ctx.state.jobs[job_id]
        return "re-run requested" if rec.force_next else f"--force {rec.task}"

    # ------------------------------------------------------------------ inputs

    def inputs(self, job_id: str, memo: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """(path, category, role, hash) of every input, upstream products included (``memo``:
        predicted upstream products, for why_run before upstream jobs ran in this session)."""
        ctx = self.ctx
        jobs = ctx.state.jobs
        job = ctx.result.jobs[job_id]
        out: list[dict[str, Any]] = []

        def products(up: str) -> list[tuple[str, str]]:
            if memo is not None and not jobs[up].products:
                return memo.get(up) or []
            return jobs[up].products

        origins: list[str | None] = []  # the upstream job of each input (filters, see cascade.runtime)

        def add(path: str, category: str | None, role: str, origin: str | None = None) -> None:
            out.append({"path": path, "category": category or "UNKNOWN", "role": role,
                        "hash": ctx.store.hash_file(path)})
            origins.append(origin)

        for p in job.main:
            add(p, ctx.categories.get(p), "main")
        for up in job.main_jobs:
            for p, c in products(up):
                add(p, c, "main", up)
        for a in job.associated.values():
            for c in a.chosen:
                if c.path:
                    add(c.path, ctx.categories.get(c.path), "associated")
                elif c.job_id and c.job_id in jobs:
                    for p, cat in products(c.job_id):
                        add(p, cat, "associated", c.job_id)
        if needs_shaping(ctx.cascade):
            return shape_inputs(ctx.cascade, job, out, origins, ctx.result.jobs)
        return out

    # ------------------------------------------------------------------ why

    def predict(self, job_id: str, memo: dict[str, Any]) -> list[tuple[str, str]] | None:
        """Products a job has or would reuse if run now; None when it would run."""
        if job_id in memo:
            return memo[job_id]
        jobs = self.ctx.state.jobs
        rec = jobs[job_id]
        job = self.ctx.result.jobs[job_id]
        out: list[tuple[str, str]] | None = None
        if rec.status in SUCCEEDED and rec.products:
            out = list(rec.products)
        elif rec.status not in _WILL_NOT_REUSE and not self.forced(job_id) and all(
                self.predict(u, memo) is not None for u in job.depends_on if u in jobs):
            info = self.recipe(job)
            if not info.error:
                try:
                    key = cache.cache_key(job.recipe, info.version, self.effective(job_id), self.inputs(job_id, memo))
                    att, _ = cache.find_reusable(self.ctx.store, key)
                except (OSError, ValueError):
                    att = None
                if att is not None:
                    out = [(o["path"], o["category"]) for o in att.outputs or []]
        memo[job_id] = out
        return out

    def why_run(self, job_id: str) -> str:
        """Why the job would run now (see Session.why_run)."""
        ctx = self.ctx
        rec = ctx.state.jobs[job_id]
        job = ctx.result.jobs[job_id]
        if rec.status in (JobStatus.RUNNING, JobStatus.QUEUED) and rec.why:
            return rec.why
        if rec.status == JobStatus.INCOMPLETE:
            return f"incomplete: {rec.reason}"
        memo: dict[str, Any] = {}
        info = self.recipe(job)
        if self.forced(job_id):
            ready = all(self.predict(u, memo) is not None for u in job.depends_on if u in ctx.state.jobs)
            return cache.forced_reason(ctx.store, job_id, self._forced_label(job_id), job.recipe, info.version,
                                       self.effective(job_id), self.inputs(job_id, memo) if ready else None)
        for up in job.depends_on:
            if up in ctx.state.jobs and self.predict(up, memo) is None:
                return f"upstream job {up} will run first"
        params = self.effective(job_id)
        inputs = self.inputs(job_id, memo)
        key = cache.cache_key(job.recipe, info.version, params, inputs)
        return cache.explain(ctx.store, job_id, key, job.recipe, info.version, params, inputs)

    # ------------------------------------------------------------------ run

    def cancel_all(self) -> None:
        with self._children_lock:
            for child in self._children.values():
                child.cancel()

    def run_job(self, job_id: str, cancelled: Callable[[], bool]) -> None:
        """One job, on its worker thread: reuse, or run a new attempt; always ends in ``finish``."""
        why = ""
        try:
            why = self._run(job_id, cancelled)
        except Exception as exc:  # an engine-side error fails this job, never the session: one line, traceback in log
            from reflexng.engine.reasons import engine_failure

            job = self.ctx.result.jobs[job_id]
            self.finish(job_id, JobStatus.FAILED, why=why,
                        reason=engine_failure(exc, job_folder(self.ctx.workdir, job.task, job_id)))

    def _run(self, jid: str, cancelled: Callable[[], bool]) -> str:
        ctx = self.ctx
        job = ctx.result.jobs[jid]
        rec = ctx.state.jobs[jid]
        info = self.recipe(job)
        if info.error:
            self.finish(jid, JobStatus.FAILED, reason=info.error, why="never ran")
            return ""
        try:
            params = self.effective(jid)
        except ValueError as exc:
            self.finish(jid, JobStatus.FAILED, reason=f"bad parameter: {exc}")
            return ""
        inputs = self.inputs(jid)
        rec.inputs, rec.parameters = inputs, params
        key = cache.cache_key(job.recipe, info.version, params, inputs)
        if not self.forced(jid):
            att, _why_not = cache.find_reusable(ctx.store, key)
            if att is not None:
                ctx.store.record_reuse(job_id=jid, run_id=ctx.run_id, task=job.task, dataset=rec.dataset, source=att)
                outputs = att.outputs or []
                self.finish(jid, JobStatus.REUSED, products=[(o["path"], o["category"]) for o in outputs],
                            qc=outputs[0].get("qc", {}) if outputs else {}, why="unchanged (reused)",
                            attempt=att.attempt)
                return ""
            why = cache.explain(ctx.store, jid, key, job.recipe, info.version, params, inputs)
        else:
            why = cache.forced_reason(ctx.store, jid, self._forced_label(jid), job.recipe, info.version, params, inputs)
        retries = ctx.options.worker_loss_retries
        while True:
            outcome, aid, adir = self._attempt(jid, job, rec, info, params, inputs, key, why, cancelled)
            if outcome.ok or outcome.cancelled or not outcome.worker_lost or retries <= 0 or cancelled():
                break
            retries -= 1  # the worker was lost, not the recipe's fault: a new attempt at once (bounded)
            discard_partial_output(adir, JobStatus.FAILED)
            ctx.store.finish_attempt(aid, "failed", exit_reason=f"{outcome.reason}; retried",
                                     log_tail="\n".join(outcome.log_tail))
            ctx.emit("job_log", jid, line=f"reflexng: {outcome.reason}; retrying as a new attempt", stream="stderr")
            why = WORKER_LOST_RETRY
        if outcome.ok:
            products, outputs = self._move_products(adir, outcome.products)
            ctx.store.finish_attempt(aid, "done", outputs=outputs, qc=outcome.qc, log_tail="\n".join(outcome.log_tail))
            self.finish(jid, JobStatus.DONE, products=products, qc=outcome.qc, seconds=outcome.seconds, why=why)
        else:
            status = JobStatus.CANCELLED if outcome.cancelled else JobStatus.FAILED
            discard_partial_output(adir, status)
            ctx.store.finish_attempt(aid, str(status), exit_reason=outcome.reason, log_tail="\n".join(outcome.log_tail))
            self.finish(jid, status, reason=outcome.reason, seconds=outcome.seconds, log_tail=outcome.log_tail, why=why)
        return why

    def _attempt(self, jid: str, job: Any, rec: Any, info: RecipeInfo, params: dict[str, Any],
                 inputs: list[dict[str, Any]], key: str, why: str,
                 cancelled: Callable[[], bool]) -> tuple[Any, int, Path]:
        """Write a new attempt folder, record it, run it on the session's executor: (Outcome, attempt id, folder)."""
        ctx = self.ctx
        n, adir = new_attempt(job_folder(ctx.workdir, job.task, jid))
        from reflexng.recipes.registry import config_path, recipe_dirs

        spec = {
            "job_id": jid, "task": job.task, "recipe": job.recipe, "recipe_version": info.version,
            "function_task": info.function_task, "cascade_path": getattr(ctx.cascade, "path", ""),
            "inputs": inputs, "parameters": params, "output_dir": str(adir / "tmp"),
            "recipe_path": [str(d) for d in recipe_dirs()], "config": str(config_path()),
            "drs_id": f"reflexng/{__version__}", "attempt": n, "cache_key": key,
        }
        write_sof(adir / "inputs.sof", inputs)  # before asking the recipe for its replay command
        write_attempt_files(adir, spec, info.replay_command(str(adir / "inputs.sof"), params, "."))
        aid = ctx.store.start_attempt(job_id=jid, run_id=ctx.run_id, task=job.task, dataset=rec.dataset,
                                      recipe=job.recipe, version=info.version, parameters=params, cache_key=key,
                                      attempt=n, jobdir=str(adir),
                                      inputs=[(i["role"], i["category"], i["path"], i["hash"]) for i in inputs])
        opts = ctx.options
        child = self.executors.get().start(
            adir, on_line=lambda line, stream: ctx.emit("job_log", jid, line=line, stream=stream),
            timeout=opts.job_timeout, grace=opts.cancel_grace)
        with self._children_lock:
            self._children[jid] = child
        try:
            with ctx.locked():
                rec.status, rec.attempt, rec.attempt_id, rec.why = JobStatus.RUNNING, n, aid, why
                ctx.emit("job_started", jid, attempt=n, why=why, jobdir=str(adir))
            if cancelled():
                child.cancel()
            outcome = child.result()
            self.executors.record_trace(aid, outcome)
        finally:
            with self._children_lock:
                self._children.pop(jid, None)
        return outcome, aid, adir

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
            outputs.append((c, path, stt.st_size, stt.st_mtime_ns, self.ctx.store.hash_file(path)))
        return out, outputs


FAILED_OUTPUT = "failed-output"  # what a failed attempt had written, kept to diagnose; never reused


def discard_partial_output(adir: Path, status: JobStatus) -> None:
    """``tmp/`` of an attempt that did not succeed never stays where products are looked for: a
    cancelled attempt's is removed (cut off mid-write by the user's Stop), a failed attempt's is
    renamed ``failed-output/`` (see docs/session-api.md, "Stop, cancelled jobs and tmp/")."""
    tmp = adir / "tmp"
    if not tmp.exists():
        return
    if status == JobStatus.FAILED:
        try:
            os.replace(tmp, adir / FAILED_OUTPUT)
            return
        except OSError:
            pass  # e.g. a name clash on Windows: remove it instead
    shutil.rmtree(tmp, ignore_errors=True)
