"""Fixtures for engine tests: sessions on the tiny cascade in a temporary work directory."""

from __future__ import annotations

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


@pytest.fixture
def make_session(tmp_path):
    made = []

    def make(result=None, workdir=None, **kw):
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
