"""Helpers of the EDPS-layer tests: where the test workflow package lives, header-only FITS
files, the CLI in a child process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from reflexng.organiser.spectest import write_header_fits

WORKFLOWS = Path(__file__).resolve().parent / "workflows"


def write(root: Path, name: str, **kw) -> str:
    """A header-only FITS file; ``DPR_TYPE`` -> ``DPR.TYPE``, ``MJD__OBS`` -> ``MJD-OBS``."""
    path = root / name
    write_header_fits(path, {k.replace("__", "-").replace("_", "."): v for k, v in kw.items()})
    return str(path.resolve())


def cli(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """``reflexng ARGS`` in a child process (the installed package)."""
    return subprocess.run([sys.executable, "-m", "reflexng", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)
