"""``dask`` executor: job attempts as Dask futures on a LocalCluster, a running scheduler, or a
Slurm/PBS/SGE/LSF cluster (dask-jobqueue, adaptive).

reflexng's scheduler stays in charge (pause, step, re-run, failure policy, ordering): a job is
submitted only when the engine starts it, i.e. when its parents are done; futures never depend on
other futures (Dask would fail every dependent itself and hide our failure policy). Each future
has a unique key, ``pure=False``, a priority (earlier-started first: the engine's depth-first
order) and optional worker ``resources``; one collector thread follows them with
``as_completed``. The task body (:mod:`reflexng.engine.executors.dask_task`) runs the recipe in a
child process on the worker and returns a small record; the SQLite database stays with the
client (single writer). Data, calibrations and the work directory must be at the same path on
every worker (a shared filesystem); a LocalCluster shares this machine's.

A lost worker becomes a failed attempt with its reason (``Outcome.worker_lost``); Dask is told
not to re-run a task whose worker died (``allowed-failures`` 0 on clusters we start), and a
re-run that happens anyway (a scheduler we only connect to) reports the loss instead of
running the job a second time.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import uuid
from pathlib import Path
from typing import Any

from reflexng.engine.executor import LOG_TAIL, Outcome
from reflexng.engine.executors.base import Executor, ExecutorError, JobHandle, LineCallback

CLUSTER_CLASSES = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "sge": "SGECluster", "lsf": "LSFCluster"}
# keys of a [dask.CLUSTER] config section passed to the dask-jobqueue cluster class
CLUSTER_KEYS = ("queue", "account", "cores", "memory", "processes", "walltime", "job_script_prologue",
                "job_extra_directives", "interface", "local_directory", "log_directory", "worker_extra_args")
DEFAULT_START_TIMEOUT = 120.0


def cluster_settings(cluster: str, config: str | os.PathLike | None = None) -> dict[str, Any]:
    """The ``[dask.<cluster>]`` section of the reflexng config file (``config`` or the default)."""
    from reflexng.recipes.registry import config_path

    path = Path(config) if config else config_path()
    if not path.is_file():
        if config:
            raise ExecutorError(f"{path}: no such config file (it needs a [dask.{cluster}] section)")
        return {}
    try:
        try:
            import tomllib
        except ImportError:  # Python 3.10
            import tomli as tomllib
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ExecutorError(f"{path}: cannot read the config file ({exc})") from None
    section = (data.get("dask") or {}).get(cluster) or {}
    unknown = sorted(set(section) - set(CLUSTER_KEYS) - {"minimum", "maximum", "lifetime"})
    if unknown:
        raise ExecutorError(f"{path}: [dask.{cluster}] has unknown keys {', '.join(unknown)} "
                            f"(known: {', '.join(CLUSTER_KEYS)}, minimum, maximum, lifetime)")
    return dict(section)


class _DaskLog(logging.Handler):
    """Dask's and tornado's log records while an executor lives: kept (the last error explains a
    cluster that does not start) and, once running, errors shown as one line each, never a traceback."""

    NAMES = ("distributed", "tornado", "dask_jobqueue", "asyncio")

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.last_error = ""
        self.quiet = True
        self._seen: set[str] = set()
        self._saved = []
        import distributed  # noqa: F401 - its logging set-up first, then ours over it

        names = set(self.NAMES) | {n for n in logging.root.manager.loggerDict
                                   if n.split(".")[0] in self.NAMES}
        for name in sorted(names):
            lg = logging.getLogger(name)
            self._saved.append((lg, lg.propagate, list(lg.handlers)))
            lg.handlers = [self]
            lg.propagate = False

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage().splitlines()[0] if record.getMessage() else ""
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            msg = f"{type(exc).__name__}: {exc}"
        if record.levelno >= logging.ERROR:
            self.last_error = msg
            if not self.quiet and msg not in self._seen:
                self._seen.add(msg)
                import sys

                print(f"reflexng: dask: {msg}", file=sys.stderr)

    def restore(self) -> None:
        for lg, propagate, handlers in self._saved:
            lg.handlers = handlers
            lg.propagate = propagate


class _DaskHandle(JobHandle):
    def __init__(self, attempt_dir: Path, on_line: LineCallback | None) -> None:
        self.attempt_dir = attempt_dir
        self.on_line = on_line
        self.future: Any = None
        self._done = threading.Event()
        self._cancel = threading.Event()
        self._record: dict[str, Any] | None = None
        self._error: BaseException | None = None
        self.on_done: Any = None  # called with the handle on the collector thread when the task ended
        self._log_pos = 0
        self._buf = b""
        self._lines_seen = 0

    def cancel(self) -> None:
        self._cancel.set()
        try:
            (self.attempt_dir / "cancel").touch()  # the worker-side task stops the child
        except OSError:
            pass
        fut = self.future
        if fut is not None and fut.status == "pending":
            try:
                fut.cancel()  # not started yet on a worker
            except Exception:
                pass

    def done(self) -> bool:
        return self._done.is_set()

    def _finish(self, fut: Any) -> None:
        try:
            if fut.status == "finished":
                self._record = fut.result()
            elif fut.status == "cancelled":
                self._error = _Cancelled()
            else:
                self._error = fut.exception()
        except BaseException as exc:  # noqa: BLE001 - any failure is this attempt's
            self._error = exc
        self._done.set()
        if self.on_done is not None:
            self.on_done(self)

    def _follow(self, final: bool) -> None:
        """Pass new lines of ``log.txt`` to ``on_line`` (stream from ``.log-streams``)."""
        if self.on_line is None:
            return
        try:
            with open(self.attempt_dir / "log.txt", "rb") as fh:
                fh.seek(self._log_pos)
                data = fh.read()
        except OSError:
            data = b""
        self._log_pos += len(data)
        self._buf += data
        if b"\n" not in self._buf and not (final and self._buf):
            return
        try:
            with open(self.attempt_dir / ".log-streams", "rb") as fh:
                streams = fh.read()
        except OSError:
            streams = b""
        while True:
            nl = self._buf.find(b"\n")
            if nl < 0:
                break
            i = self._lines_seen
            if i >= len(streams) and not final:
                break  # its stream is not written yet
            raw, self._buf = self._buf[:nl], self._buf[nl + 1:]
            self._lines_seen += 1
            line = raw.decode("utf-8", "replace").rstrip("\r")
            if i >= len(streams) and line.startswith("reflexng: "):
                continue  # the engine's own note ("reflexng: job failed: ..."), not the recipe's output
            self._emit(line, "stderr" if streams[i:i + 1] == b"e" else "stdout")
        if final and self._buf:
            self._emit(self._buf.decode("utf-8", "replace"), "stdout")
            self._buf = b""

    def _emit(self, line: str, stream: str) -> None:
        try:
            self.on_line(line, stream)
        except Exception:  # an observer must not break the job
            pass

    def result(self, timeout: float | None = None) -> Outcome:
        import time

        end = None if timeout is None else time.monotonic() + timeout
        while not self._done.wait(0.2):  # the log follows 5 times a second; the end is seen at once
            self._follow(False)
            if end is not None and time.monotonic() > end:
                raise TimeoutError("the job is still running")
        self._follow(True)
        return self._outcome()

    def _outcome(self) -> Outcome:
        rec = self._record
        if rec is not None:
            o = Outcome(ok=bool(rec.get("ok")), reason=str(rec.get("reason") or ""),
                        products=[(p, c) for p, c in rec.get("products") or []], qc=dict(rec.get("qc") or {}),
                        log_tail=list(rec.get("log_tail") or []), seconds=float(rec.get("seconds") or 0.0),
                        exitcode=rec.get("exitcode"), cancelled=bool(rec.get("cancelled")),
                        trace=dict(rec.get("trace") or {"worker": rec.get("worker"), "executor": "dask"}),
                        worker_lost=bool(rec.get("worker_lost")))
        elif isinstance(self._error, _Cancelled) or self._cancel.is_set():
            o = Outcome(ok=False, reason="cancelled (stopped by the user)", cancelled=True)
        else:
            err = self._error
            lost = type(err).__name__ in ("KilledWorker", "CommClosedError", "FutureCancelledError",
                                          "CancelledError", "WorkerLost")
            worker = _worker_of(self.attempt_dir)
            first = (str(err).splitlines() or [""])[0][:300]
            o = Outcome(ok=False, worker_lost=lost,
                        reason=(f"the Dask worker {worker or ''} running the job was lost ({type(err).__name__})"
                                .replace("worker  ", "worker ") if lost
                                else f"the Dask task failed: {type(err).__name__}: {first}".rstrip(": ")),
                        trace={"executor": "dask", "worker": worker})
        if not o.log_tail:
            try:
                o.log_tail = (self.attempt_dir / "log.txt").read_text(errors="replace").splitlines()[-LOG_TAIL:]
            except OSError:
                pass
        if not o.ok and (self._record is None or o.worker_lost):
            try:
                with open(self.attempt_dir / "log.txt", "a", encoding="utf-8") as fh:
                    fh.write(f"reflexng: job failed: {o.reason}\n")
            except OSError:
                pass
        return o


class _Cancelled(Exception):
    pass


def _worker_of(adir: Path) -> str | None:
    try:
        import json

        return json.loads((adir / "worker.json").read_text()).get("worker")
    except (OSError, ValueError):
        return None


class DaskExecutor(Executor):
    """See the module docstring. ``resources``: worker resources each job needs (e.g. ``{"job": 1}``)."""

    name = "dask"

    def __init__(self, scheduler: str | None = None, cluster: str | None = None, workers: int | None = None,
                 config: str | None = None, start_timeout: float | None = None,
                 resources: dict[str, float] | None = None, connect_timeout: float = 10.0,
                 worker_executor: str | None = "spawn") -> None:
        self.resources = resources
        # how a worker runs the job's child process: spawn (default: a warm process per Dask worker; in
        # benchmarks/engine.py half the per-job cost of fork there) | fork | None (the platform's default)
        self.worker_executor = worker_executor
        self._cluster = None
        self.where = "LocalCluster"
        limit = DEFAULT_START_TIMEOUT if start_timeout is None else float(start_timeout)
        quiet = logging.ERROR
        self._log = _DaskLog()
        try:
            self._setup(scheduler, cluster, workers, config, limit, connect_timeout, quiet)
        except BaseException:
            self._log.restore()
            raise
        self._log.quiet = False

    def _setup(self, scheduler, cluster, workers, config, limit, connect_timeout, quiet) -> None:
        import dask
        from distributed import Client, as_completed

        # CPU the jobs need is not spent on sampling: no statistical profiler in the workers (every
        # 10 ms by default), event-loop ticks twice a second, system and memory monitors once a second
        # (measured on a 2-core machine: an idle 2-worker LocalCluster used 7 % of a core, now under 1 %;
        # benchmarks/engine.py, the 2-job speed-up's overhead CPU)
        with dask.config.set({"distributed.scheduler.allowed-failures": 0,
                              "distributed.admin.system-monitor.gil.enabled": False,
                              "distributed.worker.profile.enabled": False,
                              "distributed.admin.tick.interval": "500ms",  # every event loop: 20 ms by default
                              "distributed.admin.system-monitor.interval": "1s",
                              "distributed.worker.memory.monitor-interval": "1s"}):
            if scheduler:
                self.where = scheduler
                try:
                    self.client = Client(scheduler, timeout=connect_timeout, set_as_default=False)
                except (OSError, TimeoutError, ValueError) as exc:
                    raise ExecutorError(f"cannot reach the Dask scheduler at {scheduler}: "
                                        f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                                        ) from None
            elif cluster:
                self._cluster = _jobqueue_cluster(cluster, config)
                self.where = f"{cluster} cluster"
                self.client = Client(self._cluster, set_as_default=False)
            else:
                from distributed import LocalCluster

                self._cluster = LocalCluster(n_workers=int(workers or 2), threads_per_worker=1, processes=True,
                                             dashboard_address=":0", silence_logs=quiet)
                self.client = Client(self._cluster, set_as_default=False)
        try:
            self.client.wait_for_workers(1, timeout=limit)
        except (TimeoutError, OSError) as exc:
            self.close()
            why = f"last error: {self._log.last_error}" if self._log.last_error else type(exc).__name__
            raise ExecutorError(f"the {self.where} started no Dask worker within {limit:g} s ({why}); check the "
                                f"queue and the [dask.{cluster or 'cluster'}] settings") from None
        self._ac = as_completed([], loop=self.client.loop, with_results=False)
        self._lock = threading.Condition()
        self._handles: dict[str, _DaskHandle] = {}
        self._counter = itertools.count()
        self._closed = False
        self._collector = threading.Thread(target=self._collect, name="reflexng-dask-collector", daemon=True)
        self._collector.start()

    def _collect(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: self._handles or self._closed)
                if self._closed:
                    return
            for fut in self._ac:
                with self._lock:
                    handle = self._handles.pop(fut.key, None)
                if handle is not None:
                    handle._finish(fut)
                if self._closed:
                    return

    def start(self, attempt_dir: str | os.PathLike, *, on_line: LineCallback | None = None,
              timeout: float | None = None, grace: float = 5.0, priority: int | None = None) -> JobHandle:
        from reflexng.engine.executors.dask_task import run_attempt

        adir = Path(attempt_dir)
        key = f"reflexng-{adir.parent.name}-{adir.name}-{uuid.uuid4().hex[:8]}"
        return self.submit(_DaskHandle(adir, on_line), run_attempt, str(adir), timeout, grace, self.worker_executor,
                           key=key, priority=priority)

    def submit(self, handle: _DaskHandle, fn: Any, *args: Any, key: str, priority: int | None = None) -> _DaskHandle:
        """Submit ``fn(*args)`` for ``handle`` (unique key, ``pure=False``, earlier first, resources) and
        follow it with the ``as_completed`` collector. ``start`` uses it; so does the scale benchmark."""
        n = next(self._counter)
        fut = self.client.submit(fn, *args, key=key, pure=False, priority=-n if priority is None else priority,
                                 resources=self.resources)
        handle.future = fut  # the handle holds the future: Dask keeps the task while we need it
        with self._lock:
            self._handles[fut.key] = handle
            self._ac.add(fut)
            self._lock.notify_all()
        return handle

    def info(self) -> dict[str, Any]:
        try:
            workers = len(self.client.nthreads())
        except Exception:
            workers = None
        try:
            dashboard = self.client.dashboard_link
        except Exception:
            dashboard = None
        return {"executor": self.name, "workers": workers, "dashboard": dashboard, "where": self.where}

    def close(self) -> None:
        if hasattr(self, "_lock"):
            with self._lock:
                self._closed = True
                self._lock.notify_all()
        self._log.quiet = True
        try:
            self.client.close()
        except Exception:
            pass
        if self._cluster is not None:
            try:
                self._cluster.close()
            except Exception:
                pass


def _jobqueue_cluster(cluster: str, config: str | None):
    try:
        import dask_jobqueue
    except ImportError:
        raise ExecutorError("--cluster needs dask-jobqueue: pip install 'reflexng[dask]'") from None
    if cluster not in CLUSTER_CLASSES:
        raise ExecutorError(f"--cluster must be one of {', '.join(CLUSTER_CLASSES)}, not {cluster!r}")
    settings = cluster_settings(cluster, config)
    minimum = int(settings.pop("minimum", 0))
    maximum = int(settings.pop("maximum", 10))
    lifetime = settings.pop("lifetime", None)
    settings.setdefault("cores", 1)
    settings.setdefault("memory", "2GB")
    if lifetime:  # workers leave before the batch system's walltime kills them mid-job
        extra = list(settings.get("worker_extra_args") or [])
        settings["worker_extra_args"] = extra + ["--lifetime", str(lifetime), "--lifetime-stagger", "2m"]
    cls = getattr(dask_jobqueue, CLUSTER_CLASSES[cluster])
    try:
        c = cls(**settings)
    except Exception as exc:
        raise ExecutorError(f"cannot set up the {cluster} cluster: {type(exc).__name__}: {exc}") from None
    c.adapt(minimum=minimum, maximum=maximum)
    if minimum == 0:
        c.scale(1)  # at least one worker to start with; adapt takes over from there
    return c
