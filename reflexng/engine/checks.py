"""Checks of run options that need more than a type: :class:`OptionError` and the executor
settings of :class:`~reflexng.engine.state.RunOptions` (where jobs run: ``executor``,
``scheduler``, ``cluster``, ``cluster_config``, ``dask_workers``, ``start_timeout``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reflexng.engine.executors import CLUSTERS, EXECUTORS, default_executor

EXECUTOR_FIELDS = ("executor", "scheduler", "cluster", "cluster_config", "dask_workers", "start_timeout")


class OptionError(ValueError):
    """A run option with a value that cannot be used. ``option`` is the RunOptions field,
    ``value`` the value in words, ``detail`` what is wrong and what to do."""

    def __init__(self, option: str, value: Any, detail: str) -> None:
        self.option, self.value, self.detail = option, value, detail
        super().__init__(f"{option} {value}: {detail}" if value not in (None, "") else f"{option}: {detail}")


def executor(value: Any, _o: Any = None) -> str:
    """``fork`` | ``spawn`` | ``dask``; ``None``, ``""`` or ``"auto"``: the platform's default."""
    if value in (None, "", "auto"):
        return default_executor()
    if value not in EXECUTORS:
        raise OptionError("executor", repr(value), f"must be one of {', '.join(EXECUTORS)}")
    return str(value)


def scheduler(value: Any, _o: Any = None) -> str | None:
    """The address of a running Dask scheduler (``tcp://host:8786``, ``host:8786``), or None."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    if not isinstance(value, str) or not text or any(c.isspace() for c in text) or ":" not in text:
        raise OptionError("scheduler", repr(value), "give the address of a running Dask scheduler, "
                          "e.g. tcp://host:8786")
    return text


def cluster(value: Any, _o: Any = None) -> str | None:
    if value in (None, ""):
        return None
    if value not in CLUSTERS:
        raise OptionError("cluster", repr(value), f"must be one of {', '.join(CLUSTERS)}")
    return str(value)


def cluster_config(value: Any, _o: Any = None) -> str | None:
    """A config file with the ``[dask.CLUSTER]`` section (None: the reflexng config file)."""
    if value in (None, ""):
        return None
    path = Path(str(value)).expanduser()
    if not path.is_file():
        raise OptionError("cluster_config", str(value), "no such file; give the config file that holds "
                          "the [dask.CLUSTER] section")
    return str(path)


def dask_workers(value: Any, _o: Any = None) -> int | None:
    """How many workers the LocalCluster starts (None: 2)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise OptionError("dask_workers", repr(value), "must be a whole number of at least 1")
    if value < 1:
        raise OptionError("dask_workers", value, "must be at least 1")
    return value


def start_timeout(value: Any, _o: Any = None) -> float | None:
    """Seconds to wait for a first Dask worker (None: 120)."""
    if value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise OptionError("start_timeout", repr(value), "give a time in seconds") from None
    if not x > 0:
        raise OptionError("start_timeout", x, "give a time limit in seconds greater than 0")
    return x


def executor_combination(values: Mapping[str, Any], changed: Mapping[str, Any], busy: bool) -> None:
    """Settings that are fine alone but not together; ``values`` are all settings after the
    change, ``changed`` the ones being set, ``busy`` whether a run is in progress."""
    if busy and any(k in EXECUTOR_FIELDS for k in changed):
        name = next(k for k in changed if k in EXECUTOR_FIELDS)
        raise OptionError(name, changed[name], "cannot change where jobs run during a run; stop it first")
    if values.get("scheduler") and values.get("cluster"):
        raise OptionError("scheduler", values["scheduler"], "give a scheduler address or a cluster kind "
                          f"({values['cluster']}), not both")
    for name in ("scheduler", "cluster"):
        if values.get(name) and values.get("executor") != "dask":
            raise OptionError(name, values[name], f"needs executor dask, not {values.get('executor')}")
