"""The executors that run a job on this machine (``fork``, ``spawn``): the platform's default
and their construction. The Dask task uses these on the worker; :func:`make_executor` in the
package adds ``dask`` on top."""

from __future__ import annotations

import sys

from reflexng.engine.executors.base import Executor, ExecutorError

LOCAL_EXECUTORS = ("fork", "spawn")


def default_executor() -> str:
    """``fork`` on Linux (fastest), ``spawn`` elsewhere (no fork server, no AF_UNIX sockets)."""
    if sys.platform.startswith("linux"):
        from reflexng.engine.executors.fork import available

        if available():
            return "fork"
    return "spawn"


def make_local_executor(name: str | None = None, max_jobs: int | None = None) -> Executor:
    """A ``fork`` or ``spawn`` executor (``None``: the platform's default). Raises
    :class:`ExecutorError` (one line) when the executor cannot run here."""
    name = name or default_executor()
    if name == "fork":
        from reflexng.engine.executors.fork import ForkExecutor, available

        if not available():
            raise ExecutorError("the fork executor needs Linux (fork and AF_UNIX SOCK_SEQPACKET); use --executor spawn")
        return ForkExecutor()
    if name == "spawn":
        from reflexng.engine.executors.spawn import SpawnExecutor

        return SpawnExecutor(max_jobs)
    raise ExecutorError(f"a local executor is one of {', '.join(LOCAL_EXECUTORS)}, not {name!r}")
