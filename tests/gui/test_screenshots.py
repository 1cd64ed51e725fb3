"""Screenshots of the main views under Xvfb (a real X server and the xcb platform).

Saved into docs/screenshots/ when REFLEXNG_UPDATE_SCREENSHOTS=1, else into tmp_path. Needs
xvfb-run: missing it fails the test when CI=true, skips it otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.xvfb, pytest.mark.slow]
SCRIPT = Path(__file__).with_name("_screenshot_app.py")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
EXPECTED = ["main_organised", "files", "datasets", "main_task_details", "task_details",
            "main_paused_inspection", "cascade_running",
            "inspection", "inspector_figures", "main_finished_provenance", "cascade_finished",
            "compare_difference", "main_stopped_run", "association_override", "cascade_spectroscopy",
            "esorex_parameters", "esorex_task_details"]


def test_screenshots_under_xvfb(tmp_path):
    if shutil.which("xvfb-run") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("xvfb-run is missing (install xvfb and xauth)")
        pytest.skip("xvfb-run is not installed")
    out = DOCS if os.environ.get("REFLEXNG_UPDATE_SCREENSHOTS") == "1" else tmp_path / "shots"
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env["QT_QPA_PLATFORM"] = "xcb"
    env["REFLEXNG_CONFIG_DIR"] = str(tmp_path / "config")
    proc = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1920x1200x24", sys.executable, "-X", "faulthandler", str(SCRIPT), str(out)],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert "Fatal Python error" not in proc.stderr, proc.stderr[-3000:]
    if "could not load the Qt platform plugin" in proc.stderr.lower() or "xcb-cursor0" in proc.stderr:
        pytest.fail("Qt's xcb platform plugin cannot load under Xvfb: install libxcb-cursor0 libxcb-icccm4 "
                    "libxcb-image0 libxcb-keysyms1 libxcb-render-util0 libxcb-xinerama0 libxcb-xkb1 "
                    "libxkbcommon-x11-0 libxcb-randr0 libxcb-shape0 libegl1\n" + proc.stderr[-2000:])
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    from PySide6.QtGui import QImage

    for name in EXPECTED:
        p = out / f"{name}.png"
        assert p.is_file(), f"{name}.png missing"
        img = QImage(str(p))
        assert img.width() > 200 and img.height() > 150, (name, img.size())
        # a real picture, not a blank: many distinct colours in a downscaled copy
        small = img.scaled(64, 64)
        colours = {small.pixel(x, y) for x in range(64) for y in range(64)}
        assert len(colours) > 20, (name, len(colours))
    assert (out / "cascade.svg").read_text().lstrip().startswith("<?xml")
