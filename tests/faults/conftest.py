"""Fixtures of the fault tests: no process left behind, raw files hashed before and after."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

from . import _procs


@pytest.fixture(autouse=True)
def no_process_left(monkeypatch):
    """Fail the test if it leaves a process behind (checked on Linux, where /proc exists)."""
    if not os.path.isdir("/proc/self"):
        yield
        return
    token = _procs.new_token()
    monkeypatch.setenv(_procs.TAG, token)
    yield
    left = _procs.check_none_left(token)
    if left:
        pytest.fail("processes left behind (killed now): " + "; ".join(f"{p} {c}" for p, c in left), pytrace=False)


def hash_tree(folder: Path) -> dict[str, tuple[str, int, int]]:
    """name -> (sha256, mtime_ns, st_nlink) of every file under ``folder``."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and not p.is_symlink():
            st = p.stat()
            out[os.fsdecode(p)] = (hashlib.sha256(p.read_bytes()).hexdigest(), st.st_mtime_ns, st.st_nlink)
    return out


@pytest.fixture
def raw_guard():
    """``guard(folder)`` records every raw file's hash; after the test none may have changed."""
    watched: list[tuple[Path, dict]] = []

    def guard(folder: Path) -> Path:
        watched.append((folder, hash_tree(folder)))
        return folder

    yield guard
    for folder, before in watched:
        after = {k: v[0] for k, v in hash_tree(folder).items()}
        changed = [k for k, v in before.items() if after.get(k, v[0]) != v[0]]
        assert not changed, f"raw files changed: {changed}"


@pytest.fixture
def python_exe():
    return sys.executable
