"""Fixtures of the fault tests: raw files hashed before and after (no process left: tests/conftest.py)."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest


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
