"""The session's state in one place (Qt-free): job records, run options, selection, events.

:class:`SessionState` is the only holder of run state; the CLI prints from it and the GUI
draws from it (``session.state``), keeping no copy. Every change of state is announced by an
:class:`Event` whose kind is an :class:`EventKind`; statuses are :class:`JobStatus`. Both are
``str`` enums whose values are the words used in events, JSON and the database, so
``status == "done"`` keeps working. :class:`RunOptions` checks every value when it is set, so
the CLI, the GUI and scripts get the same messages (:class:`OptionError`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from reflexng.engine import checks
from reflexng.engine.checks import OptionError
from reflexng.engine.export import DEFAULT_PATTERN


class _Words(str, Enum):
    """A str enum that prints and formats as its value."""

    __str__ = str.__str__
    __format__ = str.__format__


class JobStatus(_Words):
    WAITING = "waiting"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    REUSED = "reused"
    FAILED = "failed"
    CANCELLED = "cancelled"  # stopped by the user while queued or running
    INTERRUPTED = "interrupted"  # the application ended during the job (found on the next start)
    SKIPPED = "skipped"
    INCOMPLETE = "incomplete"
    STALE = "stale"


#: statuses a job may end a run with
FINISHED = frozenset({JobStatus.DONE, JobStatus.REUSED, JobStatus.FAILED, JobStatus.CANCELLED,
                      JobStatus.SKIPPED, JobStatus.INCOMPLETE})
#: statuses whose products downstream jobs may use
SUCCEEDED = frozenset({JobStatus.DONE, JobStatus.REUSED})
#: the word for a job's status in a run summary ("done" is "executed")
SUMMARY_WORDS = {JobStatus.DONE: "executed"}


class EventKind(_Words):
    ORGANISED = "organised"
    RUN_STARTED = "run_started"
    JOB_QUEUED = "job_queued"
    JOB_STARTED = "job_started"
    JOB_LOG = "job_log"
    JOB_FINISHED = "job_finished"
    JOB_FAILED = "job_failed"
    JOB_CANCELLED = "job_cancelled"
    JOB_REUSED = "job_reused"
    JOB_SKIPPED = "job_skipped"
    JOB_STALE = "job_stale"
    END_PRODUCTS = "end_products"  # data: what export() did for one dataset
    EXECUTOR = "executor"  # data: the executor's info (first use)
    PAUSED = "paused"
    RESUMED = "resumed"
    PROGRESS = "progress"
    RUN_FINISHED = "run_finished"
    OPTIONS_CHANGED = "options_changed"  # data: option, value
    SELECTION_CHANGED = "selection_changed"  # data: datasets (None = every complete dataset)
    EXCLUSIONS_CHANGED = "exclusions_changed"  # data: files
    WORKFLOW_PARAMETERS_CHANGED = "workflow_parameters_changed"  # data: values
    DESCRIPTION_CHANGED = "description_changed"  # data: text (the next run's description)


#: the status an event puts its job in
EVENT_STATUS = {
    EventKind.JOB_QUEUED: JobStatus.QUEUED, EventKind.JOB_STARTED: JobStatus.RUNNING,
    EventKind.JOB_FINISHED: JobStatus.DONE, EventKind.JOB_FAILED: JobStatus.FAILED,
    EventKind.JOB_CANCELLED: JobStatus.CANCELLED, EventKind.JOB_REUSED: JobStatus.REUSED,
    EventKind.JOB_SKIPPED: JobStatus.SKIPPED, EventKind.JOB_STALE: JobStatus.STALE,
}


@dataclass
class Event:
    """Something that happened; ``kind`` is an :class:`EventKind` (docs/session-api.md)."""

    kind: str
    job_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            self.kind = EventKind(self.kind)
        except ValueError:  # a kind this version does not know: kept as given
            pass


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
class JobRecord:
    """What the session knows about one job (its latest attempt in this work directory)."""

    id: str
    task: str = ""
    dataset: str = ""
    status: JobStatus = JobStatus.WAITING
    attempt: int | None = None
    attempt_id: int | None = None
    products: list[tuple[str, str]] = field(default_factory=list)
    qc: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""
    why: str = ""
    seconds: float = 0.0
    log_tail: list[str] = field(default_factory=list)
    override: dict[str, Any] = field(default_factory=dict)  # user's parameters for the next attempt
    force_next: bool = False  # a re-run was asked for: run even when unchanged

    @property
    def state(self) -> JobStatus:  # the name used by Session.job_state()
        return self.status


# ---------------------------------------------------------------------- options

ORDERINGS = ("dfs", "bfs", "dynamic")
POLICIES = ("continue", "stop", "ask")


def check_pattern(pattern: str) -> str:
    """The end-product pattern, checked ("" is the default naming: category + setup words)."""
    if pattern == DEFAULT_PATTERN:
        return pattern
    left = re.sub(r"\{[^{}]+\}", "", pattern or "")
    if "{" in left or "}" in left or not str(pattern or "").strip():
        raise OptionError("end_product_pattern", repr(pattern), "unbalanced braces or empty; write header "
                          "keywords in braces, e.g. {OBJECT}_{PRO.CATG}.fits")
    return str(pattern)


def _choice(name: str, allowed: tuple[str, ...]) -> Callable[[Any, RunOptions], str]:
    def check(value: Any, _o: RunOptions) -> str:
        if value not in allowed:
            raise OptionError(name, repr(value), f"must be one of {', '.join(allowed)}")
        return str(value)

    return check


def _jobs(value: Any, _o: RunOptions) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise OptionError("max_jobs", repr(value), "must be a whole number of at least 1") from None
    if n < 1:
        raise OptionError("max_jobs", n, "must be at least 1")
    return n


def _retries(value: Any, _o: RunOptions) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise OptionError("worker_loss_retries", repr(value), "must be a whole number of at least 0")
    return value


def _seconds(name: str, allow_none: bool) -> Callable[[Any, RunOptions], float | None]:
    def check(value: Any, _o: RunOptions) -> float | None:
        if value is None and allow_none:
            return None
        try:
            x = float(value)
        except (TypeError, ValueError):
            raise OptionError(name, repr(value), "give a time in seconds") from None
        if not x > 0:
            raise OptionError(name, x, "give a time limit in seconds greater than 0")
        return x

    return check


def _force(value: Any, o: RunOptions) -> frozenset[str]:
    names = frozenset([value] if isinstance(value, str) else (value or ()))
    if o.tasks is not None:
        unknown = sorted(names - set(o.tasks) - {"all"})
        if unknown:
            raise OptionError("force", ", ".join(unknown), f"no such task; tasks: {', '.join(o.tasks)}")
    return names


def _breakpoints(value: Any, o: RunOptions) -> frozenset[str]:
    names = frozenset([value] if isinstance(value, str) else (value or ()))
    if o.tasks is not None:
        unknown = sorted(names - set(o.tasks))
        if unknown:
            raise OptionError("breakpoints", ", ".join(unknown), f"no such task; tasks: {', '.join(o.tasks)}")
    return names


def _recipe_parameters(value: Any, o: RunOptions) -> dict[str, dict[str, Any]]:
    params = {str(t): dict(v) for t, v in (value or {}).items()}
    if o.check_recipe_parameters is not None:
        o.check_recipe_parameters(params)
    return params


class RunOptions:
    """How the session runs jobs. Every assignment is checked (:class:`OptionError`, a
    ``ValueError``) and, once the session listens, announced as ``options_changed``.

    ``tasks`` (the cascade's task names), ``check_recipe_parameters`` (raises OptionError
    for a bad ``{task: {name: value}}``) and ``busy`` (true while a run is in progress: where
    jobs run cannot change then) are the context the checks need; the Session sets them.

    ``worker_loss_retries`` (default 1): how often a job whose worker was lost (not a failure
    of the recipe itself; :attr:`~reflexng.engine.executor.Outcome.worker_lost`) is started
    again at once, as a new attempt, before ``failure_policy`` sees it fail.

    Where jobs run: ``executor`` (``fork`` | ``spawn`` | ``dask``; None: the platform's
    default), and for ``dask`` ``scheduler`` (address of a running scheduler) or ``cluster``
    (slurm|pbs|sge|lsf, settings from ``cluster_config``'s ``[dask.CLUSTER]`` section),
    ``dask_workers`` (LocalCluster size) and ``start_timeout`` (seconds to wait for a worker).
    """

    _CHECKS: dict[str, Callable[[Any, RunOptions], Any]] = {
        "ordering": _choice("ordering", ORDERINGS),
        "max_jobs": _jobs,
        "failure_policy": _choice("failure_policy", POLICIES),
        "worker_loss_retries": _retries,
        "job_timeout": _seconds("job_timeout", allow_none=True),
        "cancel_grace": _seconds("cancel_grace", allow_none=False),
        "end_product_pattern": lambda v, _o: check_pattern(v),
        "link_end_products": lambda v, _o: bool(v),
        "pause_after_each": lambda v, _o: bool(v),
        "force": _force,
        "breakpoints": _breakpoints,
        "recipe_parameters": _recipe_parameters,
        "executor": checks.executor,
        "scheduler": checks.scheduler,
        "cluster": checks.cluster,
        "cluster_config": checks.cluster_config,
        "dask_workers": checks.dask_workers,
        "start_timeout": checks.start_timeout,
    }
    FIELDS = tuple(_CHECKS)

    ordering: str
    max_jobs: int
    failure_policy: str
    worker_loss_retries: int
    job_timeout: float | None
    cancel_grace: float
    end_product_pattern: str
    link_end_products: bool
    pause_after_each: bool
    force: frozenset[str]
    breakpoints: frozenset[str]
    recipe_parameters: dict[str, dict[str, Any]]
    executor: str
    scheduler: str | None
    cluster: str | None
    cluster_config: str | None
    dask_workers: int | None
    start_timeout: float | None

    def __init__(self, *, ordering: str = "dfs", max_jobs: int | None = None, failure_policy: str = "continue",
                 job_timeout: float | None = None, cancel_grace: float = 5.0,
                 end_product_pattern: str = DEFAULT_PATTERN, link_end_products: bool = False,
                 pause_after_each: bool = False, force: Iterable[str] = (), breakpoints: Iterable[str] = (),
                 recipe_parameters: Mapping[str, Mapping[str, Any]] | None = None, worker_loss_retries: int = 1,
                 executor: str | None = None, scheduler: str | None = None, cluster: str | None = None,
                 cluster_config: str | None = None, dask_workers: int | None = None,
                 start_timeout: float | None = None, tasks: Iterable[str] | None = None,
                 check_recipe_parameters: Callable[[dict[str, dict[str, Any]]], None] | None = None,
                 busy: Callable[[], bool] | None = None) -> None:
        import os

        object.__setattr__(self, "tasks", list(tasks) if tasks is not None else None)
        object.__setattr__(self, "check_recipe_parameters", check_recipe_parameters)
        object.__setattr__(self, "busy", busy)
        object.__setattr__(self, "_listener", None)
        self.update(ordering=ordering, max_jobs=max_jobs if max_jobs is not None else (os.cpu_count() or 1),
                    failure_policy=failure_policy, worker_loss_retries=worker_loss_retries, job_timeout=job_timeout, cancel_grace=cancel_grace,
                    end_product_pattern=end_product_pattern, link_end_products=link_end_products,
                    pause_after_each=pause_after_each, force=force, breakpoints=breakpoints,
                    recipe_parameters=recipe_parameters, executor=executor, scheduler=scheduler, cluster=cluster,
                    cluster_config=cluster_config, dask_workers=dask_workers, start_timeout=start_timeout)

    def __setattr__(self, name: str, value: Any) -> None:
        self.update(**{name: value})

    def update(self, **values: Any) -> None:
        """Set several options; none is changed when one of them is bad."""
        checked = {k: self._CHECKS[k](v, self) if k in self._CHECKS else _unknown(k) for k, v in values.items()}
        busy = bool(self.busy is not None and "executor" in self.__dict__ and self.busy())
        checks.executor_combination({**self.__dict__, **checked}, checked, busy)
        for k, v in checked.items():
            old = self.__dict__.get(k, _MISSING)
            object.__setattr__(self, k, v)
            if old is not _MISSING and old != v and self._listener is not None:
                self._listener(k, v)

    def listen(self, callback: Callable[[str, Any], None] | None) -> None:
        object.__setattr__(self, "_listener", callback)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.FIELDS}

    def __repr__(self) -> str:
        return "RunOptions(" + ", ".join(f"{k}={v!r}" for k, v in self.as_dict().items()) + ")"


_MISSING = object()


def _unknown(name: str) -> Any:
    raise AttributeError(f"RunOptions has no option {name!r}; options: {', '.join(RunOptions.FIELDS)}")


# ---------------------------------------------------------------------- session state

DATASET_STATUSES = ("incomplete", "failed", "cancelled", "stale", "reduced", "new")


def dataset_status(complete: bool, statuses: Iterable[str]) -> str:
    """One word for a dataset: incomplete, failed, cancelled, stale, reduced (every job done or
    reused) or new."""
    states = list(statuses)
    if not complete:
        return "incomplete"
    for word in ("failed", "cancelled", "stale"):
        if word in states:
            return word
    if states and all(s in SUCCEEDED for s in states):
        return "reduced"
    return "new"


def task_status(counts: Mapping[str, int]) -> str | None:
    """One status summarising a task's jobs (failed > running > queued > ... ; "partial" when
    some are finished and some waiting)."""
    if not counts:
        return None
    finished = counts.get("done", 0) + counts.get("reused", 0)
    for s in ("failed", "cancelled", "interrupted", "running", "queued", "incomplete", "stale", "waiting",
              "skipped", "done", "reused"):
        if counts.get(s):
            if s == "waiting" and finished:
                return "partial"
            if s in ("done", "reused") and counts.get("done") and counts.get("reused"):
                return "done"
            return s
    return None


@dataclass
class SessionState:
    """Everything about a session's run, in one place. Changed only by the Session (which
    announces every change as an event); read by anyone."""

    jobs: dict[str, JobRecord] = field(default_factory=dict)
    selection: list[str] | None = None  # dataset ids or names; None = every complete dataset
    exclusions: list[str] = field(default_factory=list)  # excluded raw files (absolute paths)
    workflow_overrides: dict[str, Any] = field(default_factory=dict)
    running: bool = False  # a run is in progress (possibly paused)
    paused: bool = False
    paused_job: str | None = None  # the job to inspect while paused
    pause_reason: str = ""
    description: str = ""  # the description the next run is recorded with
    summary: RunSummary | None = None  # of the last finished run
    progress: tuple[int, int] = (0, 0)  # (finished, total) of the current run
    eta_seconds: float | None = None
    datasets_complete: dict[str, bool] = field(default_factory=dict)  # dataset id -> complete
    dataset_jobs: dict[str, tuple[str, ...]] = field(default_factory=dict)  # dataset id -> job ids

    def status(self, job_id: str) -> JobStatus:
        return self.jobs[job_id].status

    def jobs_of_task(self, task: str) -> list[str]:
        return sorted(j for j, r in self.jobs.items() if r.task == task)

    def task_counts(self) -> dict[str, Counter]:
        """Per task: how many of its jobs are in each status."""
        out: dict[str, Counter] = {}
        for r in list(self.jobs.values()):
            c = out.get(r.task)
            if c is None:  # (not setdefault: a Counter made per job cost 20 ms at 20k jobs)
                c = out[r.task] = Counter()
            c[str(r.status)] += 1
        return out

    def task_statuses(self, counts: dict[str, Counter] | None = None) -> dict[str, str | None]:
        """Per task: its status (from ``counts``, :meth:`task_counts`, when given)."""
        if counts is None:
            counts = self.task_counts()
        return {t: task_status(c) for t, c in counts.items()}

    def dataset_status(self, dataset_id: str) -> str:
        return dataset_status(self.datasets_complete.get(dataset_id, False),
                              [self.jobs[j].status for j in self.dataset_jobs.get(dataset_id, ()) if j in self.jobs])

    def dataset_statuses(self) -> dict[str, str]:
        return {d: self.dataset_status(d) for d in self.dataset_jobs}
