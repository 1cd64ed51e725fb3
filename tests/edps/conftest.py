"""Fixtures for the EDPS layer: the test workflow package (written for reflexng in EDPS
style, tests/edps/workflows/edpsdemo) copied into tmp_path, and a writer of small EDPS
workflow packages. Helpers are in _edps_testutil.py."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from _edps_testutil import WORKFLOWS


@pytest.fixture
def edpsdemo(tmp_path) -> Path:
    """A fresh copy of the edpsdemo workflow package (tests may edit it)."""
    dst = tmp_path / "wkf" / "edpsdemo"
    shutil.copytree(WORKFLOWS / "edpsdemo", dst, ignore=shutil.ignore_patterns("__pycache__"))
    return dst


@pytest.fixture
def write_workflow(tmp_path):
    """``write_workflow({"x_wkf.py": text, ...}, name="x")`` -> the package folder."""

    def write(files: dict[str, str], name: str = "mini") -> Path:
        folder = tmp_path / "wkfs" / name
        folder.mkdir(parents=True, exist_ok=True)
        for fname, text in files.items():
            (folder / fname).write_text(textwrap.dedent(text), encoding="utf-8")
        return folder

    return write
