"""`reflexng demo` on a machine without a display: one line saying so, then a headless reduction."""

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_demo_without_display_runs_headless(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    out = subprocess.run(
        [sys.executable, "-m", "reflexng", "demo", "--out", str(tmp_path / "demo"), "--size", "256"],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    no_display = [line for line in out.stderr.splitlines() if "no display" in line]
    assert len(no_display) == 1, out.stderr
    assert "Traceback" not in out.stderr
    assert "End products:" in out.stdout
    folders = [Path(line.strip()) for line in out.stdout.split("End products:")[1].splitlines() if line.strip().startswith("/")]
    assert folders and all(f.is_dir() for f in folders)
    assert any(p.suffix == ".fits" for f in folders for p in f.iterdir())
    # the data were generated once: a second run re-uses data and products
    again = subprocess.run(
        [sys.executable, "-m", "reflexng", "demo", "--headless", "--out", str(tmp_path / "demo"), "--size", "256"],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert again.returncode == 0, again.stderr
    assert "writing simulated" not in again.stderr
    assert " 0 executed" in again.stdout, again.stdout
