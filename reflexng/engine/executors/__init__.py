"""Executors: where a job attempt runs. ``fork`` (Linux default), ``spawn`` (macOS/Windows
default, portable), ``dask`` (a LocalCluster, a running scheduler, or a Slurm/PBS/SGE/LSF cluster).

The job runner calls ``executor.start(attempt_dir, on_line=..., timeout=..., grace=...)`` and
then ``handle.result()`` / ``handle.cancel()`` (:mod:`reflexng.engine.executors.base`). Choose
one with :func:`make_executor` (the CLI's ``--executor``, the GUI preference, ``RunOptions``).
This package imports nothing heavy: each backend is imported when chosen.
"""

from __future__ import annotations

from typing import Any

from reflexng.engine.executors.base import Executor, ExecutorError, JobHandle
from reflexng.engine.executors.local import LOCAL_EXECUTORS, default_executor, make_local_executor

EXECUTORS = ("fork", "spawn", "dask")
CLUSTERS = ("slurm", "pbs", "sge", "lsf")
DASK_MISSING = "the dask executor needs the optional extra: pip install 'reflexng[dask]'"

__all__ = ["CLUSTERS", "DASK_MISSING", "EXECUTORS", "Executor", "ExecutorError", "JobHandle", "default_executor",
           "make_executor"]


def check_name(name: str | None) -> str:
    """The executor name, checked (``None`` or ``"auto"``: the platform's default)."""
    if name in (None, "", "auto"):
        return default_executor()
    if name not in EXECUTORS:
        raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, not {name!r}")
    return name


def make_executor(name: str | None = None, *, max_jobs: int | None = None, scheduler: str | None = None,
                  cluster: str | None = None, workers: int | None = None, config: str | None = None,
                  start_timeout: float | None = None, **options: Any) -> Executor:
    """Build an executor. ``dask`` options: ``scheduler`` (address of a running scheduler),
    ``cluster`` (slurm|pbs|sge|lsf, settings from the ``[dask.CLUSTER]`` section of ``config``),
    ``workers`` (LocalCluster size, default 2), ``start_timeout`` (seconds to wait for a worker).
    Raises :class:`ExecutorError` (one line) when the executor cannot be set up."""
    name = check_name(name)
    if name != "dask" and (scheduler or cluster):
        raise ExecutorError("--scheduler and --cluster need --executor dask")
    if name in LOCAL_EXECUTORS:
        return make_local_executor(name, max_jobs)
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ExecutorError(DASK_MISSING) from None
    from reflexng.engine.executors.dask import DaskExecutor

    return DaskExecutor(scheduler=scheduler, cluster=cluster, workers=workers, config=config,
                        start_timeout=start_timeout, **options)
