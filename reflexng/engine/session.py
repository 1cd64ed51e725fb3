"""The interactive session: organise, then run jobs with pause/step/re-run control (Qt-free).

The CLI, the GUI and the tests drive the same :class:`Session`; the contract is
``docs/session-api.md``. The Session is a facade over three parts sharing one
:class:`~reflexng.engine.context.RunContext`: the state (``session.state``, a
:class:`~reflexng.engine.state.SessionState`, and ``session.options``, checked
:class:`~reflexng.engine.state.RunOptions`), the :class:`~reflexng.engine.scheduler.Scheduler`
(when jobs run) and the :class:`~reflexng.engine.runner.JobRunner` (whether and how a job runs).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import networkx as nx

from reflexng.engine.context import RunContext
from reflexng.engine.executors.hook import ExecutorSlot
from reflexng.engine.jobdir import job_folder, safe_name
from reflexng.engine.recipes import check_values, parameter_checker
from reflexng.engine.runner import JobRunner
from reflexng.engine.scheduler import Scheduler
from reflexng.engine.state import (
    DEFAULT_PATTERN,
    ORDERINGS,
    POLICIES,
    SUCCEEDED,
    Event,
    JobRecord,
    JobStatus,
    RunOptions,
    RunSummary,
    SessionState,
)
from reflexng.provenance.store import ProvenanceStore

__all__ = ["ORDERINGS", "POLICIES", "Event", "RunSummary", "Session"]

# the status a job's latest recorded attempt gives it when a session opens the work directory
_RESTORED = {"done": JobStatus.DONE, "reused": JobStatus.REUSED, "failed": JobStatus.FAILED,
             "cancelled": JobStatus.CANCELLED, "interrupted": JobStatus.INTERRUPTED}


class Session:
    """One reduction: a cascade, data folders, a target and a work directory. See docs/session-api.md."""

    def __init__(self, cascade: Any, data_dirs: Iterable[str | os.PathLike] = (), target: Any = None, *,
                 workdir: str | os.PathLike | None = None, parameter_set: str | None = None,
                 workflow_parameters: Mapping[str, Any] | None = None,
                 recipe_parameters: Mapping[str, Mapping[str, Any]] | None = None, ordering: str = "dfs",
                 max_jobs: int | None = None, pause_after_each: bool = False, failure_policy: str = "continue",
                 force: Iterable[str] = (), job_timeout: float | None = None, cancel_grace: float = 5.0,
                 end_product_pattern: str = DEFAULT_PATTERN, link_end_products: bool = False,
                 placeholder_recipes: bool = False,
                 executor: str | None = None, executor_options: Mapping[str, Any] | None = None) -> None:
        if isinstance(cascade, (str, os.PathLike)):
            from reflexng.cascade import load

            cascade = load(cascade)
        tasks = getattr(cascade, "tasks", None)
        where = _executor_settings(executor_options)
        shared = where.pop("shared", None)
        # checked before the work directory is touched: a bad option changes nothing on disk
        self.options = RunOptions(
            ordering=ordering, max_jobs=max_jobs, failure_policy=failure_policy, job_timeout=job_timeout,
            cancel_grace=cancel_grace, end_product_pattern=end_product_pattern, link_end_products=link_end_products,
            pause_after_each=pause_after_each, force=force, recipe_parameters=recipe_parameters,
            executor=executor, **where, tasks=list(tasks) if tasks is not None else None,
            check_recipe_parameters=parameter_checker(cascade) if tasks is not None else None,
            busy=lambda: self.state.running)
        self.cascade = cascade
        self.data_dirs = [Path(d) for d in data_dirs]
        self.target = target
        if workdir is None:
            import platformdirs

            workdir = Path(platformdirs.user_data_dir("reflexng")) / "work" / safe_name(getattr(cascade, "name", "cascade"))
        self.workdir = Path(workdir).resolve()
        self.parameter_set = parameter_set
        # every job writes placeholder products instead of running its recipe (recipes/placeholder.py)
        self.placeholder_recipes = placeholder_recipes
        self.state = SessionState(workflow_overrides=dict(workflow_parameters or {}))
        self._ctx = ctx = RunContext(cascade, self.workdir, ProvenanceStore(self.workdir), self.options, self.state)
        self._executors = ExecutorSlot(self.options, ctx.emit, ctx.store, shared)
        self._runner = JobRunner(ctx, self._executors)
        self._scheduler = Scheduler(ctx, self._runner, self.datasets)
        self._runner.finish = self._scheduler.finish
        self.options.listen(lambda name, value: ctx.emit("options_changed", option=name, value=_words(value)))

    # ------------------------------------------------------------------ basics

    @property
    def store(self) -> ProvenanceStore:
        return self._ctx.store

    @property
    def result(self):
        """The OrganiseResult (None before organise)."""
        return self._ctx.result

    def close(self) -> None:
        """Stop a running run, then release the work directory."""
        t = self._scheduler.run_thread
        if t is not None and t.is_alive():
            self.stop()
            t.join()
        self._executors.close()
        self._ctx.store.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Receive every event (possibly on a worker thread, never with the session's lock held);
        returns an unsubscribe function."""
        ctx = self._ctx
        with ctx.locked():
            ctx.subscribers.append(callback)

        def unsubscribe() -> None:
            with ctx.locked():
                if callback in ctx.subscribers:
                    ctx.subscribers.remove(callback)

        return unsubscribe

    # ------------------------------------------------------------------ where jobs run

    @property
    def executor_name(self) -> str:
        """``fork`` | ``spawn`` | ``dask``: ``options.executor`` (set it there)."""
        return self.options.executor

    def prepare_executor(self) -> dict[str, Any]:
        """Set the executor up now (a Dask cluster starts here, not at the first job) and return
        its info. Raises :class:`~reflexng.engine.executors.ExecutorError` (one line)."""
        self._executors.get()
        return self.executor_info() or {}

    def executor_info(self) -> dict[str, Any] | None:
        """The executor's live info ``{executor, workers, dashboard, where?}``, None before it is
        set up (the ``executor`` event says when). With Dask this asks the scheduler: may block."""
        return self._executors.info() if self._executors.ready else None

    # ------------------------------------------------------------------ options (old attribute names)

    ordering = property(lambda self: self.options.ordering, lambda self, v: setattr(self.options, "ordering", v))
    max_jobs = property(lambda self: self.options.max_jobs, lambda self, v: setattr(self.options, "max_jobs", v))
    failure_policy = property(lambda self: self.options.failure_policy,
                              lambda self, v: setattr(self.options, "failure_policy", v))
    force = property(lambda self: self.options.force, lambda self, v: setattr(self.options, "force", v))
    job_timeout = property(lambda self: self.options.job_timeout,
                           lambda self, v: setattr(self.options, "job_timeout", v))
    cancel_grace = property(lambda self: self.options.cancel_grace,
                            lambda self, v: setattr(self.options, "cancel_grace", v))
    end_product_pattern = property(lambda self: self.options.end_product_pattern,
                                   lambda self, v: setattr(self.options, "end_product_pattern", v))
    link_end_products = property(lambda self: self.options.link_end_products,
                                 lambda self, v: setattr(self.options, "link_end_products", v))
    user_recipe_parameters = property(lambda self: self.options.recipe_parameters,
                                      lambda self, v: setattr(self.options, "recipe_parameters", v))

    @property
    def workflow_parameters(self) -> dict[str, Any]:
        """The user's workflow-parameter overrides (used by the next organise())."""
        return self.state.workflow_overrides

    @workflow_parameters.setter
    def workflow_parameters(self, values: Mapping[str, Any]) -> None:
        values = dict(values or {})
        with self._ctx.locked():
            if values != self.state.workflow_overrides:
                self.state.workflow_overrides = values
                self._ctx.emit("workflow_parameters_changed", values=dict(values))

    def set_description(self, text: str) -> None:
        """The description the next run is recorded with (``runs.description`` in the store)."""
        text = str(text or "").strip()
        with self._ctx.locked():
            if text != self.state.description:
                self.state.description = text
                self._ctx.emit("description_changed", text=text)

    # ------------------------------------------------------------------ organise

    def organise(self, progress: Callable[..., Any] | None = None, cancelled: Callable[[], bool] | None = None):
        """Scan the data folders and organise them into jobs and datasets (emits ``organised``)."""
        from reflexng.organiser import organise

        result = organise(
            self.cascade, self.data_dirs, self.target, workflow_parameters=dict(self.state.workflow_overrides),
            parameter_set=self.parameter_set, recipe_parameters=self.options.recipe_parameters,
            workdir=self.workdir, excluded_files=tuple(self.state.exclusions), progress=progress, cancelled=cancelled,
        )
        from reflexng.organiser.overrides import apply_overrides, load_overrides

        result = apply_overrides(result, load_overrides(self.workdir))  # the user's association overrides
        self.use_organised(result)
        return result

    def use_organised(self, result) -> None:
        """Take an OrganiseResult made elsewhere (e.g. by the GUI's organiser view or a test).

        Jobs that ran before in this work directory show their latest attempt's status (done,
        reused, failed, cancelled, interrupted) instead of "waiting"."""
        ctx = self._ctx
        if self.placeholder_recipes:
            from reflexng.recipes.placeholder_jobs import placeholder_jobs

            placeholder_jobs(result, self.cascade)
        with ctx.locked():
            if self.state.running:
                raise RuntimeError("a run is in progress; stop it before organising again")
            if result.job_graph is None:
                g = nx.DiGraph()
                g.add_nodes_from(result.jobs)
                g.add_edges_from((d, j) for j, job in result.jobs.items() for d in job.depends_on if d in result.jobs)
                result.job_graph = g
            ctx.result = result
            ctx.categories = {f.path: f.category for f in result.files}
            old = self.state.jobs
            recorded = ctx.store.latest_attempts()
            jobs: dict[str, JobRecord] = {}
            for jid, job in result.jobs.items():
                rec = old.get(jid) or JobRecord(jid)
                rec.task = job.task
                if not job.complete:
                    rec.status, rec.reason = JobStatus.INCOMPLETE, "; ".join(job.missing) or "incomplete"
                elif jid not in old or rec.status == JobStatus.INCOMPLETE:
                    last = recorded.get(jid)
                    rec.status = _RESTORED.get(last.status, JobStatus.WAITING) if last else JobStatus.WAITING
                    rec.reason = last.exit_reason if last and rec.status != JobStatus.WAITING else ""
                    rec.attempt = last.attempt if last else None
                jobs[jid] = rec
            for ds in result.datasets:
                for jid in ds.jobs:
                    if jid in jobs and not jobs[jid].dataset:
                        jobs[jid].dataset = ds.name
            self.state.jobs = jobs
            self.state.selection = None
            self.state.datasets_complete = {ds.id: ds.complete for ds in result.datasets}
            self.state.dataset_jobs = {ds.id: tuple(ds.jobs) for ds in result.datasets}
            ctx.emit("organised", datasets=len(result.datasets), jobs=len(result.jobs))
        ctx.settle()

    def select_datasets(self, dataset_ids: Iterable[str] | None) -> None:
        """Run only these datasets (ids or names); None = every complete dataset."""
        chosen = None if dataset_ids is None else list(dataset_ids)
        with self._ctx.locked():
            if chosen != self.state.selection:
                self.state.selection = chosen
                self._ctx.emit("selection_changed", datasets=chosen)

    def exclude_files(self, paths: Iterable[str | os.PathLike]) -> None:
        """Drop single frames; organises again when already organised."""
        files = [str(Path(p).resolve()) for p in paths]
        with self._ctx.locked():
            self.state.exclusions = files
            self._ctx.emit("exclusions_changed", files=list(files))
        if self._ctx.result is not None and self.data_dirs:
            self.organise()

    def datasets(self) -> list:
        res = self._require()
        sel = self.state.selection
        return [d for d in res.datasets if d.complete] if sel is None else [
            d for d in res.datasets if d.id in sel or d.name in sel]

    def _require(self):
        if self._ctx.result is None:
            self.organise()
        return self._ctx.result

    # ------------------------------------------------------------------ run control

    def run(self) -> RunSummary:
        """Run every job of the selected datasets; blocks until finished or stopped."""
        self._require()
        return self._scheduler.run()

    def start(self) -> None:
        """Run in a background thread and return at once (events report progress)."""
        self._scheduler.start()

    def wait(self, timeout: float | None = None) -> RunSummary | None:
        """Wait for a run started with ``start()``; returns its RunSummary (None on timeout)."""
        return self._scheduler.wait(timeout)

    @property
    def paused(self) -> bool:
        return self.state.paused

    def set_pause_after_each(self, enabled: bool) -> None:
        self.options.pause_after_each = bool(enabled)

    def set_breakpoint(self, task: str, enabled: bool = True) -> None:
        bps = set(self.options.breakpoints)
        (bps.add if enabled else bps.discard)(task)
        self.options.breakpoints = frozenset(bps)

    def pause(self) -> None:
        """Start no new job (running ones finish); emits ``paused`` with reason "user"."""
        self._scheduler.pause()

    def resume(self) -> None:
        self._scheduler.resume()

    def step(self) -> None:
        """Run one job, then pause again."""
        self._scheduler.resume(step=True)

    def stop(self) -> None:
        """Cancel running jobs (SIGTERM, then SIGKILL); they end ``cancelled``, what needs them
        "not run (upstream cancelled)"; the run ends as stopped."""
        self._scheduler.stop()

    def skip(self, job_id: str) -> None:
        """Do not run this job (nor what needs it)."""
        ctx = self._ctx
        with ctx.locked():
            rec = self.state.jobs[job_id]
            if rec.status in (JobStatus.WAITING, JobStatus.STALE) or (
                    job_id in self._scheduler.pending and rec.status not in (JobStatus.QUEUED, JobStatus.RUNNING)):
                self._scheduler.set_skipped(job_id, "skipped by the user")
                for d in nx.descendants(ctx.result.job_graph, job_id):
                    drec = self.state.jobs.get(d)
                    if drec is not None and (drec.status in (JobStatus.WAITING, JobStatus.STALE)
                                             or d in self._scheduler.pending):
                        self._scheduler.set_skipped(d, f"upstream job {job_id} was skipped")
            ctx.notify()

    def rerun(self, job_id: str, parameters: Mapping[str, Any] | None = None, force: bool = True) -> None:
        """A new attempt of this job with these parameter overrides; downstream jobs become stale.
        ``force=False``: an earlier attempt with the same recipe, parameters and inputs is
        reused instead (how an attempt is kept, see reflexng.engine.attempts)."""
        ctx = self._ctx
        with ctx.locked():
            rec = self.state.jobs[job_id]
            if rec.status in (JobStatus.RUNNING, JobStatus.QUEUED):
                raise RuntimeError(f"job {job_id} is running; pause or wait for it to finish first")
            if rec.status == JobStatus.INCOMPLETE:
                raise RuntimeError(f"job {job_id} is incomplete ({rec.reason}) and cannot run")
            if parameters:
                check_values(self._runner.recipe(ctx.result.jobs[job_id]), rec.task, dict(parameters))
            rec.override.update(dict(parameters or {}))
            rec.force_next = force
            rec.status = JobStatus.STALE
            ctx.emit("job_stale", job_id, reason="re-run requested")
            stale = [job_id]
            for d in nx.descendants(ctx.result.job_graph, job_id):
                drec = self.state.jobs.get(d)
                if drec is not None and drec.status in (SUCCEEDED | {JobStatus.FAILED, JobStatus.SKIPPED,
                                                                     JobStatus.CANCELLED, JobStatus.INTERRUPTED}):
                    drec.status = JobStatus.STALE
                    ctx.emit("job_stale", d, reason=f"upstream job {job_id} re-runs")
                    stale.append(d)
            self._scheduler.requeue(stale)
            ctx.notify()

    # ------------------------------------------------------------------ queries

    def job_state(self, job_id: str) -> JobStatus:
        return self.state.jobs[job_id].status

    def job_info(self, job_id: str) -> dict[str, Any]:
        """State, dataset, attempt, reason, products, QC and the attempt folder (log, replay) of a job."""
        rec = self.state.jobs[job_id]
        job = self._ctx.result.jobs[job_id]
        folder = job_folder(self.workdir, job.task, job_id)
        attempt = folder / f"attempt-{rec.attempt:03d}" if rec.attempt else None
        if rec.status == JobStatus.REUSED or attempt is None or not attempt.is_dir():
            last = self.store.last_attempt(job_id, "done") if rec.status == JobStatus.REUSED else None
            attempt = Path(last.jobdir) if last else (folder / "latest" if (folder / "latest").exists() else None)
        return {
            "id": job_id, "task": job.task, "recipe": job.recipe, "dataset": rec.dataset, "state": rec.status,
            "attempt": rec.attempt, "reason": rec.reason, "seconds": rec.seconds, "qc": dict(rec.qc),
            "products": list(rec.products) or self.products(job_id),
            "jobdir": str(attempt) if attempt else None,
            "log": str(attempt / "log.txt") if attempt else None,
            "replay": str(attempt / "replay.sh") if attempt else None,
        }

    def recipe_parameters(self, job_id: str):
        """(parameter specs, effective values, recipe defaults) of a job."""
        info = self._runner.recipe(self._ctx.result.jobs[job_id])
        return list(info.specs), self._runner.effective(job_id), dict(info.defaults)

    def products(self, job_id: str) -> list[tuple[str, str]]:
        rec = self.state.jobs[job_id]
        if rec.products:
            return list(rec.products)
        att = self.store.last_attempt(job_id, "done")
        return [(o["path"], o["category"]) for o in (att.outputs or [])] if att else []

    def why_run(self, job_id: str) -> str:
        """Why the job would run now: "never ran", "parameter sigma 3 -> 4", "unchanged (reused)", ...

        For a running job: why it was started. (Why a finished job ran is in its ``job_started``
        event and in the run summary's ``why``.)"""
        return self._runner.why_run(job_id)

    def inspect(self, job_id: str):
        """What the task's inspector returns for the job's latest products (None without inspector)."""
        from reflexng.recipes.inspection import Inspection, InspectionContext

        job = self._ctx.result.jobs[job_id]
        task = self.cascade.tasks.get(job.task) if hasattr(self.cascade, "tasks") else None
        if task is None or task.inspector is None:
            return None
        rec = self.state.jobs[job_id]
        ctx = InspectionContext(job_id=job_id, task=job.task, parameters=self._runner.effective(job_id),
                                qc=dict(rec.qc), inputs=[(i["path"], i["category"]) for i in rec.inputs])
        try:
            return task.inspector(self.products(job_id), ctx)
        except Exception as exc:
            return Inspection(title=job.task, notes=f"the inspector of task {job.task} failed: {type(exc).__name__}: {exc}")


def _words(value: Any) -> Any:
    """An option value as plain JSON-able data (for events)."""
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return value


_SETTINGS = {"scheduler": "scheduler", "cluster": "cluster", "config": "cluster_config", "workers": "dask_workers",
             "start_timeout": "start_timeout", "shared": "shared"}


def _executor_settings(executor_options: Mapping[str, Any] | None) -> dict[str, Any]:
    """``executor_options`` (``scheduler``, ``cluster``, ``config``, ``workers``, ``start_timeout``,
    ``shared``) as RunOptions field names."""
    out = {}
    for k, v in (executor_options or {}).items():
        if k not in _SETTINGS:
            raise ValueError(f"executor_options: no option {k!r}; options: {', '.join(_SETTINGS)}")
        out[_SETTINGS[k]] = v
    return out
