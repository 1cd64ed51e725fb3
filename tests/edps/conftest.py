"""Fixtures for the EDPS layer: the test workflow package (written for reflexng in EDPS
style, tests/edps/workflows/edpsdemo) copied into tmp_path, and helpers that write small
EDPS workflow packages and header-only FITS files."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from reflexng.organiser.spectest import write_header_fits

WORKFLOWS = Path(__file__).resolve().parent / "workflows"


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


def write(root: Path, name: str, **kw) -> str:
    """A header-only FITS file; ``DPR_TYPE`` -> ``DPR.TYPE``, ``MJD__OBS`` -> ``MJD-OBS``."""
    path = root / name
    write_header_fits(path, {k.replace("__", "-").replace("_", "."): v for k, v in kw.items()})
    return str(path.resolve())


def cli(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """``reflexng ARGS`` in a child process (the installed package)."""
    return subprocess.run([sys.executable, "-m", "reflexng", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)
