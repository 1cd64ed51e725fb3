"""The job runner's narrow hook into the executors: one executor per session, made on first use.

The session keeps the executor choice (``executor`` and ``executor_options``; ``RunOptions``
once it exists) and the runner calls :func:`executor_for` to start an attempt, then
:func:`record_trace` when it ended. :func:`release` closes what the session's executor started
(a Dask cluster) when the session closes.
"""

from __future__ import annotations

import threading
from typing import Any

from reflexng.engine.executors import make_executor
from reflexng.engine.executors.base import Executor

_lock = threading.Lock()


def _choice(session: Any) -> tuple[str | None, dict[str, Any]]:
    opts = getattr(session, "run_options", None) or getattr(session, "options", None)
    name = getattr(opts, "executor", None) or getattr(session, "executor_name", None)
    options = dict(getattr(opts, "executor_options", None) or getattr(session, "executor_options", None) or {})
    return name, options


def executor_for(session: Any) -> Executor:
    """The session's executor (made on first use; emits an ``executor`` event with its info).
    Raises :class:`~reflexng.engine.executors.ExecutorError` when it cannot be set up."""
    with _lock:
        ex = getattr(session, "_executor_obj", None)
        if ex is not None:
            return ex
        name, options = _choice(session)
        shared = options.pop("shared", None)
        if isinstance(shared, Executor):  # an executor made elsewhere (tests, a GUI): not ours to close
            ex = shared
            session._executor_owned = False
        else:
            options.setdefault("max_jobs", getattr(session, "max_jobs", None))
            ex = make_executor(name, **options)
            session._executor_owned = True
        session._executor_obj = ex
    emit = getattr(session, "_emit", None)
    if emit is not None:
        emit("executor", **ex.info())
    return ex


def record_trace(session: Any, attempt_id: int, outcome: Any) -> None:
    from reflexng.engine.executors import trace

    try:
        trace.record(session._store, attempt_id, getattr(outcome, "trace", None) or {},
                     getattr(session, "max_jobs", None))
    except Exception:  # the trace is a nice-to-have: never fail a job for it
        import traceback

        traceback.print_exc()


def release(session: Any) -> None:
    with _lock:
        ex = getattr(session, "_executor_obj", None)
        session._executor_obj = None
    if ex is not None and getattr(session, "_executor_owned", True):
        ex.close()
