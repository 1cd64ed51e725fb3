"""``--executor``, ``--scheduler``, ``--cluster``: where `reflexng run` runs its jobs (shared by verbs)."""

from __future__ import annotations


def add_arguments(p) -> None:
    g = p.add_argument_group("executor (where jobs run)")
    g.add_argument("--executor", choices=["fork", "spawn", "dask"], default=None,
                   help="fork: children of a pre-imported helper (Linux default); spawn: warm worker processes "
                   "(macOS/Windows default); dask: Dask workers (a LocalCluster unless --scheduler/--cluster; "
                   "needs pip install 'reflexng[dask]' and data + work directory at the same path on every worker)")
    g.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="with --executor dask: connect to a running Dask scheduler (e.g. tcp://host:8786)")
    g.add_argument("--cluster", choices=["slurm", "pbs", "sge", "lsf"], default=None,
                   help="with --executor dask: start workers as batch jobs (dask-jobqueue, adaptive); settings "
                   "from the [dask.CLUSTER] section of the config file")
    g.add_argument("--cluster-config", default=None, metavar="FILE",
                   help="config file with the [dask.CLUSTER] section (default: the reflexng config file)")
    g.add_argument("--dask-workers", type=int, default=None, metavar="N",
                   help="workers of the LocalCluster --executor dask starts (default 2)")
    g.add_argument("--start-timeout", type=float, default=None, metavar="S",
                   help="with --executor dask: give up when no worker has joined after S seconds (default 120)")


def options(args) -> tuple[str | None, dict]:
    """(executor name, executor options) from parsed arguments, for the Session, which checks
    them (:class:`~reflexng.engine.state.RunOptions`). ``--scheduler`` or ``--cluster`` alone
    mean ``--executor dask``."""
    name = getattr(args, "executor", None)
    if name is None and (args.scheduler or args.cluster):
        name = "dask"
    opts = {k: v for k, v in {"scheduler": args.scheduler, "cluster": args.cluster, "config": args.cluster_config,
                              "workers": args.dask_workers, "start_timeout": args.start_timeout}.items()
            if v is not None}
    return name, opts


def prepare(session) -> str | None:
    """Set the session's executor up now (a Dask cluster starts here); a one-line problem or None."""
    from reflexng.engine.executors import ExecutorError

    try:
        session.prepare_executor()
    except ExecutorError as exc:
        return str(exc)
    return None
