"""The interactive session: organise, then run jobs with pause/step/re-run control (Qt-free).

The CLI, the GUI and the tests drive the same :class:`Session`; the contract is
``docs/session-api.md``. Scheduling happens in one loop (the caller's thread for ``run()``, a
background thread for ``start()``); each running job has a worker thread that prepares its
inputs, decides reuse (smart re-run), runs the child process and records provenance.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reflexng.cascade.runtime import needs_shaping, shape_inputs
from reflexng.engine import cache
from reflexng.engine.export import DEFAULT_PATTERN
from reflexng.engine.jobdir import safe_name
from reflexng.engine.recipes import RecipeInfo, recipe_info
from reflexng.provenance.store import ProvenanceStore

ORDERINGS = ("dfs", "bfs", "dynamic")
POLICIES = ("continue", "stop", "ask")
TERMINAL = ("done", "reused", "failed", "skipped", "incomplete")
SUMMARY_STATUS = {"done": "executed", "reused": "reused", "failed": "failed", "skipped": "skipped",
                  "incomplete": "incomplete"}


@dataclass
class Event:
    """Something that happened; ``kind`` is one of the kinds listed in docs/session-api.md."""

    kind: str
    job_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunSummary:
    jobs: list[dict[str, Any]] = field(default_factory=list)
    end_products: list[str] = field(default_factory=list)
    ok: bool = True
    stopped: bool = False
    # per dataset: {dataset (label), folder, new, updated, unchanged} (see reflexng.engine.export)
    exported: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "stopped": self.stopped, "jobs": self.jobs, "end_products": self.end_products,
                "exported": self.exported}


@dataclass
class _JobState:
    state: str = "waiting"
    dataset: str = ""
    attempt: int | None = None
    attempt_id: int | None = None
    products: list[tuple[str, str]] = field(default_factory=list)
    qc: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""
    why: str = ""
    seconds: float = 0.0
    override: dict[str, Any] = field(default_factory=dict)
    force_next: bool = False
    child: Any = None


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
        if ordering not in ORDERINGS:
            raise ValueError(f"ordering must be one of {', '.join(ORDERINGS)}, not {ordering!r}")
        if failure_policy not in POLICIES:
            raise ValueError(f"failure policy must be one of {', '.join(POLICIES)}, not {failure_policy!r}")
        if isinstance(cascade, (str, os.PathLike)):
            from reflexng.cascade import load

            cascade = load(cascade)
        self.cascade = cascade
        self.data_dirs = [Path(d) for d in data_dirs]
        self.target = target
        if workdir is None:
            import platformdirs

            workdir = Path(platformdirs.user_data_dir("reflexng")) / "work" / safe_name(getattr(cascade, "name", "cascade"))
        self.workdir = Path(workdir).resolve()
        self.parameter_set = parameter_set
        self.workflow_parameters = dict(workflow_parameters or {})
        self.user_recipe_parameters = {k: dict(v) for k, v in (recipe_parameters or {}).items()}
        self.ordering = ordering
        self.max_jobs = max(1, int(max_jobs or os.cpu_count() or 1))
        self.failure_policy = failure_policy
        self.force = set(force)
        self.job_timeout = job_timeout
        self.cancel_grace = cancel_grace
        self.end_product_pattern = end_product_pattern
        self.link_end_products = link_end_products
        # every job writes placeholder products instead of running its recipe (recipes/placeholder.py)
        self.placeholder_recipes = placeholder_recipes
        from reflexng.engine.executors import check_name

        self.executor_name = check_name(executor)  # fork | spawn | dask (see engine/executors)
        self.executor_options = dict(executor_options or {})
        self._store = ProvenanceStore(self.workdir)
        self._subscribers: list[Callable[[Event], None]] = []
        self._cond = threading.Condition(threading.RLock())
        self._result = None
        self._selected: list[str] | None = None
        self._excluded: list[str] = []
        self._states: dict[str, _JobState] = {}
        self._pause_after_each = pause_after_each
        self._breakpoints: set[str] = set()
        self._paused = False
        self._step = False
        self._stop = False
        self._running: dict[str, threading.Thread] = {}
        self._run_thread: threading.Thread | None = None
        self._summary: RunSummary | None = None
        self._recipes: dict[str, RecipeInfo] = {}
        self._run_id: int | None = None
        self._plan: list[str] = []
        self._durations: list[float] = []
        self._last_finished: str | None = None

    # ------------------------------------------------------------------ basics

    @property
    def store(self) -> ProvenanceStore:
        return self._store

    @property
    def result(self):
        """The OrganiseResult (None before organise)."""
        return self._result

    def close(self) -> None:
        """Stop a running run, then release the work directory."""
        if self._run_thread is not None and self._run_thread.is_alive():
            self.stop()
            self._run_thread.join()
        from reflexng.engine.executors.hook import release

        release(self)
        self._store.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Receive every event (possibly on a worker thread); returns an unsubscribe function."""
        with self._cond:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._cond:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def _emit(self, kind: str, job_id: str | None = None, **data: Any) -> None:
        ev = Event(kind, job_id, data)
        for cb in list(self._subscribers):
            try:
                cb(ev)
            except Exception:  # an observer's bug must not stop the run
                import traceback

                traceback.print_exc()

    # ------------------------------------------------------------------ organise

    def organise(self, progress: Callable[..., Any] | None = None, cancelled: Callable[[], bool] | None = None):
        """Scan the data folders and organise them into jobs and datasets (emits ``organised``)."""
        from reflexng.organiser import organise

        result = organise(
            self.cascade, self.data_dirs, self.target, workflow_parameters=self.workflow_parameters,
            parameter_set=self.parameter_set, recipe_parameters=self.user_recipe_parameters,
            workdir=self.workdir, excluded_files=tuple(self._excluded), progress=progress, cancelled=cancelled,
        )
        from reflexng.organiser.overrides import apply_overrides, load_overrides

        result = apply_overrides(result, load_overrides(self.workdir))  # the user's association overrides
        self.use_organised(result)
        return result

    def use_organised(self, result) -> None:
        """Take an OrganiseResult made elsewhere (e.g. by the GUI's organiser view or a test)."""
        import networkx as nx

        if self.placeholder_recipes:
            from reflexng.recipes.placeholder import placeholder_jobs

            placeholder_jobs(result, self.cascade)
        with self._cond:
            self._result = result
            if result.job_graph is None:
                g = nx.DiGraph()
                g.add_nodes_from(result.jobs)
                g.add_edges_from((d, j) for j, job in result.jobs.items() for d in job.depends_on if d in result.jobs)
                result.job_graph = g
            self._categories = {f.path: f.category for f in result.files}
            old = self._states
            self._states = {}
            for jid, job in result.jobs.items():
                st = old.get(jid) or _JobState()
                st.state = "waiting" if job.complete else "incomplete"
                if not job.complete:
                    st.reason = "; ".join(job.missing) or "incomplete"
                self._states[jid] = st
            for ds in result.datasets:
                for jid in ds.jobs:
                    if jid in self._states and not self._states[jid].dataset:
                        self._states[jid].dataset = ds.name
            self._selected = None
        self._emit("organised", datasets=len(result.datasets), jobs=len(result.jobs))

    def select_datasets(self, dataset_ids: Iterable[str]) -> None:
        self._selected = list(dataset_ids)

    def exclude_files(self, paths: Iterable[str | os.PathLike]) -> None:
        """Drop single frames; organises again when already organised."""
        self._excluded = [str(Path(p).resolve()) for p in paths]
        if self._result is not None and self.data_dirs:
            self.organise()

    def datasets(self) -> list:
        res = self._require()
        chosen = [d for d in res.datasets if d.complete] if self._selected is None else [
            d for d in res.datasets if d.id in self._selected or d.name in self._selected]
        return chosen

    def _require(self):
        if self._result is None:
            self.organise()
        return self._result

    # ------------------------------------------------------------------ control

    def set_pause_after_each(self, enabled: bool) -> None:
        self._pause_after_each = bool(enabled)

    def set_breakpoint(self, task: str, enabled: bool = True) -> None:
        (self._breakpoints.add if enabled else self._breakpoints.discard)(task)

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        """Start no new job (running ones finish); emits ``paused`` with reason "user"."""
        with self._cond:
            if not self._paused:
                self._paused = True
                self._emit("paused", self._last_finished, reason="user")
            self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            self._step = False
            if self._paused:
                self._paused = False
                self._emit("resumed")
            self._cond.notify_all()

    def step(self) -> None:
        """Run one job, then pause again."""
        with self._cond:
            self._step = True
            if self._paused:
                self._paused = False
                self._emit("resumed")
            self._cond.notify_all()

    def stop(self) -> None:
        """Cancel running jobs (SIGTERM, then SIGKILL) and end the run."""
        with self._cond:
            self._stop = True
            self._paused = False
            for st in self._states.values():
                if st.child is not None:
                    st.child.cancel()
            self._cond.notify_all()

    def skip(self, job_id: str) -> None:
        """Do not run this job (nor what needs it)."""
        with self._cond:
            st = self._states[job_id]
            if st.state in ("waiting", "queued", "stale"):
                self._set_skipped(job_id, "skipped by the user")
                self._skip_downstream(job_id, f"upstream job {job_id} was skipped")
            self._cond.notify_all()

    def rerun(self, job_id: str, parameters: Mapping[str, Any] | None = None, force: bool = True) -> None:
        """A new attempt of this job with these parameter overrides; downstream jobs become stale.
        ``force=False``: an earlier attempt with the same recipe, parameters and inputs is
        reused instead (how an attempt is kept, see reflexng.engine.attempts)."""
        import networkx as nx

        with self._cond:
            st = self._states[job_id]
            if st.state in ("running", "queued"):
                raise RuntimeError(f"job {job_id} is running; pause or wait for it to finish first")
            if st.state == "incomplete":
                raise RuntimeError(f"job {job_id} is incomplete ({st.reason}) and cannot run")
            st.override.update(dict(parameters or {}))
            st.force_next = force
            st.state = "stale"
            self._emit("job_stale", job_id, reason="re-run requested")
            for d in nx.descendants(self._result.job_graph, job_id):
                ds = self._states.get(d)
                if ds is not None and ds.state in ("done", "reused", "failed", "skipped"):
                    ds.state = "stale"
                    self._emit("job_stale", d, reason=f"upstream job {job_id} re-runs")
            self._cond.notify_all()

    # ------------------------------------------------------------------ queries

    def job_state(self, job_id: str) -> str:
        return self._states[job_id].state

    def job_info(self, job_id: str) -> dict[str, Any]:
        """State, dataset, attempt, reason, products, QC and the attempt folder (log, replay) of a job."""
        from reflexng.engine.jobdir import job_folder

        st = self._states[job_id]
        job = self._result.jobs[job_id]
        folder = job_folder(self.workdir, job.task, job_id)
        attempt = folder / f"attempt-{st.attempt:03d}" if st.attempt else None
        if st.state == "reused" or attempt is None or not attempt.is_dir():
            last = self._store.last_attempt(job_id, "done") if st.state == "reused" else None
            attempt = Path(last.jobdir) if last else (folder / "latest" if (folder / "latest").exists() else None)
        return {
            "id": job_id, "task": job.task, "recipe": job.recipe, "dataset": st.dataset, "state": st.state,
            "attempt": st.attempt, "reason": st.reason, "seconds": st.seconds, "qc": dict(st.qc),
            "products": list(st.products) or self.products(job_id),
            "jobdir": str(attempt) if attempt else None,
            "log": str(attempt / "log.txt") if attempt else None,
            "replay": str(attempt / "replay.sh") if attempt else None,
        }

    def _recipe(self, job) -> RecipeInfo:
        info = self._recipes.get(job.recipe)
        if info is None:
            info = recipe_info(job, self.cascade)
            self._recipes[job.recipe] = info
        return info

    def recipe_parameters(self, job_id: str):
        """(parameter specs, effective values, recipe defaults) of a job."""
        job = self._result.jobs[job_id]
        info = self._recipe(job)
        return list(info.specs), self._effective(job_id), dict(info.defaults)

    def _effective(self, job_id: str) -> dict[str, Any]:
        from reflexng.cascade.parameters import effective_parameters

        job = self._result.jobs[job_id]
        info = self._recipe(job)
        values = effective_parameters(info.defaults, {**dict(job.parameters), **self._states[job_id].override})
        specs = {s.name: s for s in info.specs}
        return {k: (specs[k].coerce(v) if k in specs else v) for k, v in values.items()}

    def products(self, job_id: str) -> list[tuple[str, str]]:
        st = self._states[job_id]
        if st.products:
            return list(st.products)
        att = self._store.last_attempt(job_id, "done")
        return [(o["path"], o["category"]) for o in (att.outputs or [])] if att else []

    def why_run(self, job_id: str) -> str:
        """Why the job would run now: "never ran", "parameter sigma 3 -> 4", "unchanged (reused)", ...

        For a running job: why it was started. (Why a finished job ran is in its ``job_started``
        event and in the run summary's ``why``.)"""
        st = self._states[job_id]
        job = self._result.jobs[job_id]
        if st.state in ("running", "queued") and st.why:
            return st.why
        if st.state == "incomplete":
            return f"incomplete: {st.reason}"
        memo: dict[str, Any] = {}
        if self._forced(job_id):
            label = "re-run requested" if st.force_next else f"--force {job.task}"
            ready = all(self._predict(u, memo) is not None for u in job.depends_on if u in self._states)
            info = self._recipe(job)
            return cache.forced_reason(self._store, job_id, label, job.recipe, info.version, self._effective(job_id),
                                       self._inputs(job_id, memo) if ready else None)
        for up in job.depends_on:
            if up in self._states and self._predict(up, memo) is None:
                return f"upstream job {up} will run first"
        info = self._recipe(job)
        params = self._effective(job_id)
        inputs = self._inputs(job_id, memo)
        key = cache.cache_key(job.recipe, info.version, params, inputs)
        return cache.explain(self._store, job_id, key, job.recipe, info.version, params, inputs)

    def _predict(self, job_id: str, memo: dict[str, Any]) -> list[tuple[str, str]] | None:
        """Products a job has or would reuse if run now; None when it would run."""
        if job_id in memo:
            return memo[job_id]
        st = self._states[job_id]
        job = self._result.jobs[job_id]
        out: list[tuple[str, str]] | None = None
        if st.state in ("done", "reused") and st.products:
            out = list(st.products)
        elif st.state not in ("incomplete", "failed", "skipped") and not self._forced(job_id) and all(
                self._predict(u, memo) is not None for u in job.depends_on if u in self._states):
            info = self._recipe(job)
            if not info.error:
                try:
                    params = self._effective(job_id)
                    key = cache.cache_key(job.recipe, info.version, params, self._inputs(job_id, memo))
                    att, _ = cache.find_reusable(self._store, key)
                except (OSError, ValueError):
                    att = None
                if att is not None:
                    out = [(o["path"], o["category"]) for o in att.outputs or []]
        memo[job_id] = out
        return out

    def inspect(self, job_id: str):
        """What the task's inspector returns for the job's latest products (None without inspector)."""
        from reflexng.engine.inspection import Inspection, InspectionContext

        job = self._result.jobs[job_id]
        task = self.cascade.tasks.get(job.task) if hasattr(self.cascade, "tasks") else None
        if task is None or task.inspector is None:
            return None
        st = self._states[job_id]
        ctx = InspectionContext(job_id=job_id, task=job.task, parameters=self._effective(job_id), qc=dict(st.qc),
                                inputs=[(i["path"], i["category"]) for i in st.inputs])
        try:
            return task.inspector(self.products(job_id), ctx)
        except Exception as exc:
            return Inspection(title=job.task, notes=f"the inspector of task {job.task} failed: {type(exc).__name__}: {exc}")

    def _forced(self, job_id: str) -> bool:
        job = self._result.jobs[job_id]
        return self._states[job_id].force_next or "all" in self.force or job.task in self.force

    # ------------------------------------------------------------------ inputs

    def _inputs(self, job_id: str, memo: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """(path, category, role, hash) of every input, upstream products included (``memo``:
        predicted upstream products, for why_run before upstream jobs ran in this session)."""
        job = self._result.jobs[job_id]
        out: list[dict[str, Any]] = []
        origins: list[str | None] = []  # the upstream job of each input (filters, see cascade.runtime)

        def products(up: str) -> list[tuple[str, str]]:
            if memo is not None and not self._states[up].products:
                return memo.get(up) or []
            return self._states[up].products

        def add(path: str, category: str | None, role: str, origin: str | None = None) -> None:
            out.append({"path": path, "category": category or "UNKNOWN", "role": role,
                        "hash": self._store.hash_file(path)})
            origins.append(origin)

        for p in job.main:
            add(p, self._categories.get(p), "main")
        for up in job.main_jobs:
            for p, c in products(up):
                add(p, c, "main", up)
        for a in job.associated.values():
            for c in a.chosen:
                if c.path:
                    add(c.path, self._categories.get(c.path), "associated")
                elif c.job_id and c.job_id in self._states:
                    for p, cat in products(c.job_id):
                        add(p, cat, "associated", c.job_id)
        if needs_shaping(self.cascade):
            return shape_inputs(self.cascade, job, out, origins, self._result.jobs)
        return out

    from reflexng.engine._loop import (  # noqa: E402 - the run loop lives in its own module
        _finish_job,
        _order,
        _run_job,
        _set_skipped,
        _skip_downstream,
        run,
        start,
        wait,
    )
