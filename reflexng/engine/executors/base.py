"""The executor interface: how the job runner starts, watches, cancels and collects a job attempt.

The job runner prepares an attempt folder (``job.json`` with the staged inputs and parameters,
``inputs.sof``, the replay command) and calls :meth:`Executor.start`; the returned
:class:`JobHandle` streams the attempt's log lines to ``on_line``, can be cancelled from any
thread, and gives the :class:`~reflexng.engine.executor.Outcome` (exit status in words,
products, QC, log tail, resource trace). FITS data never pass through an executor: the child
reads its inputs and writes its products in the attempt folder, which every executor must see
at the same path (for ``dask`` on several machines: a shared filesystem).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from reflexng.engine.executor import Outcome

LineCallback = Callable[[str, str], None]


class ExecutorError(RuntimeError):
    """An executor cannot be set up (missing extra, unreachable scheduler, no workers): one line."""


class JobHandle:
    """One started attempt. ``result()`` blocks until it ended; ``cancel()`` may come from any thread."""

    def cancel(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def done(self) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def result(self, timeout: float | None = None) -> Outcome:  # pragma: no cover - interface
        raise NotImplementedError


class Executor:
    """Runs job attempts somewhere (a forked child, a warm worker process, a Dask worker)."""

    name = "executor"

    def start(self, attempt_dir: str | os.PathLike, *, on_line: LineCallback | None = None,
              timeout: float | None = None, grace: float = 5.0, priority: int = 0) -> JobHandle:
        """Start the attempt whose ``job.json`` is in ``attempt_dir``; returns at once."""
        raise NotImplementedError  # pragma: no cover - interface

    def info(self) -> dict[str, Any]:
        """What a front end shows: ``{"executor", "workers", "dashboard"}`` (None when unknown)."""
        return {"executor": self.name, "workers": None, "dashboard": None}

    def close(self) -> None:
        """Release what this executor started (a Dask cluster); shared local helpers stay."""


class ThreadHandle(JobHandle):
    """A handle running a blocking attempt runner (``run() -> Outcome``, ``cancel()``) on a thread."""

    def __init__(self, runner: Any, name: str = "reflexng-attempt") -> None:
        self._runner = runner
        self._outcome: Outcome | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._outcome = self._runner.run()
        except Exception as exc:  # an executor error is a failed attempt, never a dead runner
            self._outcome = Outcome(ok=False, reason=f"cannot run the job: {type(exc).__name__}: {exc}")
        finally:
            self._done.set()

    @property
    def pid(self) -> int | None:
        return getattr(self._runner, "pid", None)

    def cancel(self) -> None:
        self._runner.cancel()

    def done(self) -> bool:
        return self._done.is_set()

    def result(self, timeout: float | None = None) -> Outcome:
        if not self._done.wait(timeout):
            raise TimeoutError("the job is still running")
        assert self._outcome is not None
        return self._outcome
