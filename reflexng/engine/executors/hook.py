"""The session's executor: one at a time, made on first use from the executor settings of
:class:`~reflexng.engine.state.RunOptions`, made anew when those settings changed (between
runs), closed with the session.

The job runner calls :meth:`ExecutorSlot.get` to start an attempt and
:meth:`ExecutorSlot.record_trace` when it ended; the Session exposes
:meth:`ExecutorSlot.info` as ``Session.executor_info()`` (what the GUI shows: workers, dashboard).
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from reflexng.engine.checks import EXECUTOR_FIELDS
from reflexng.engine.executors import make_executor
from reflexng.engine.executors.base import Executor


class ExecutorSlot:
    """Holds the session's executor. ``shared``: an executor made elsewhere (tests, a GUI
    keeping one cluster), used while ``options.executor`` names it and never closed here."""

    def __init__(self, options: Any, emit: Callable[..., None], store: Any, shared: Executor | None = None) -> None:
        self._options = options
        self._emit = emit
        self._store = store
        self._shared = shared
        self._lock = threading.Lock()
        self._executor: Executor | None = None
        self._owned = False
        self._settings: tuple = ()

    def _wanted(self) -> tuple:
        return tuple(getattr(self._options, k) for k in EXECUTOR_FIELDS)

    def get(self) -> Executor:
        """The executor for the current settings (made now when there is none, or the settings
        changed: the old one is closed first). Emits an ``executor`` event with its info when it
        is made. Raises :class:`~reflexng.engine.executors.ExecutorError` when it cannot be set up."""
        with self._lock:
            wanted = self._wanted()
            if self._executor is not None and wanted == self._settings:
                return self._executor
            self._close_locked()
            o = self._options
            if self._shared is not None and self._shared.name == o.executor:
                ex, owned = self._shared, False
            else:
                opts = {"scheduler": o.scheduler, "cluster": o.cluster, "config": o.cluster_config,
                        "workers": o.dask_workers, "start_timeout": o.start_timeout}
                ex = make_executor(o.executor, max_jobs=o.max_jobs, **{k: v for k, v in opts.items() if v is not None})
                owned = True
            self._executor, self._owned, self._settings = ex, owned, wanted
        self._emit("executor", **ex.info())
        return ex

    @property
    def ready(self) -> bool:
        """Whether an executor for the current settings is set up."""
        return self._executor is not None and self._settings == self._wanted()

    def info(self) -> dict[str, Any] | None:
        """The executor's live info ``{executor, workers, dashboard, where?}`` (None before it is
        set up). For Dask this asks the scheduler: call it off a GUI thread."""
        ex = self._executor
        return None if ex is None else ex.info()

    def record_trace(self, attempt_id: int, outcome: Any) -> None:
        from reflexng.engine.executors import trace

        try:
            trace.record(self._store, attempt_id, getattr(outcome, "trace", None) or {}, self._options.max_jobs)
        except Exception:  # the trace is a nice-to-have: never fail a job for it
            traceback.print_exc()

    def _close_locked(self) -> None:
        ex, owned = self._executor, self._owned
        self._executor, self._owned, self._settings = None, False, ()
        if ex is not None and owned:
            ex.close()

    def close(self) -> None:
        """Close what this slot started (a Dask cluster); a shared executor stays."""
        with self._lock:
            self._close_locked()
