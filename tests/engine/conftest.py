"""Fixtures for engine tests: sessions on the tiny cascade in a temporary work directory.

Every test that makes a session runs once per executor: ``fork``, ``spawn`` and ``dask`` (one
LocalCluster with 2 workers shared by the whole test run). ``REFLEXNG_TEST_EXECUTORS=fork,spawn``
narrows the list; ``dask`` is left out (with a note) only when the ``dask`` extra is missing
and CI is not set.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import helpers  # noqa: E402

from reflexng.engine import Session  # noqa: E402


class Recorder:
    """Collects events (thread-safe) and lets a test wait for one."""

    def __init__(self) -> None:
        self.events = []
        self.cond = threading.Condition()

    def __call__(self, ev) -> None:
        with self.cond:
            self.events.append(ev)
            self.cond.notify_all()

    def kinds(self, kind: str) -> list:
        with self.cond:
            return [e for e in self.events if e.kind == kind]

    def wait_for(self, kind: str, n: int = 1, timeout: float = 30.0):
        with self.cond:
            ok = self.cond.wait_for(lambda: len([e for e in self.events if e.kind == kind]) >= n, timeout)
        assert ok, f"no {kind} event #{n} within {timeout} s; got {[e.kind for e in self.events]}"
        return self.kinds(kind)[n - 1]


def _executors() -> list[str]:
    names = [n for n in os.environ.get("REFLEXNG_TEST_EXECUTORS", "fork,spawn,dask").split(",") if n]
    if "dask" in names and not os.environ.get("CI"):
        try:
            import distributed  # noqa: F401
        except ImportError:  # pip install -e '.[test]' installs it; CI fails instead of skipping
            names.remove("dask")
    return names


@pytest.fixture(scope="session")
def dask_executor():
    """One LocalCluster (2 workers) for every dask-parametrised test."""
    from reflexng.engine.executors import make_executor

    ex = make_executor("dask", workers=2)
    yield ex
    ex.close()


@pytest.fixture(params=_executors())
def executor(request):
    """The executor a test's sessions use: (name, options)."""
    if request.param == "dask":
        return "dask", {"shared": request.getfixturevalue("dask_executor")}
    return request.param, {}


@pytest.fixture
def make_session(tmp_path, executor):
    made = []
    name, options = executor

    def make(result=None, workdir=None, **kw):
        kw.setdefault("executor", name)
        kw.setdefault("executor_options", options)
        s = Session(helpers.CASCADE, workdir=workdir or tmp_path / "work", **kw)
        rec = Recorder()
        s.subscribe(rec)
        s.recorder = rec
        if result is not None:
            s.use_organised(result)
        made.append(s)
        return s

    yield make
    for s in made:
        try:
            s.close()
        except Exception:
            pass


@pytest.fixture
def raw_dir(tmp_path):
    return tmp_path / "raw"
