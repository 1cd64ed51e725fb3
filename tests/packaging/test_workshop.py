"""packaging/workshop.py: the offline workshop install says what to do when the wheelhouse is wrong.

The full build → offline install → `reflexng demo --headless` path runs in `.ci/run` (it downloads
~200 MB of wheels once); these tests cover the bad-input paths with real child processes and a real
venv, and never touch the network.
"""

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "packaging" / "workshop.py"


def _run(*args, cwd=None):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=cwd)


def _one_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) >= 1
    assert "Traceback" not in stderr
    return lines[-1]


def test_install_from_missing_folder_says_copy_it(tmp_path):
    proc = _run("install", str(tmp_path / "nowhere"), "--no-demo")
    assert proc.returncode == 2
    assert "no such folder" in _one_line(proc.stderr)


def test_install_without_reflexng_wheel_says_rebuild(tmp_path):
    (tmp_path / "house").mkdir()
    proc = _run("install", str(tmp_path / "house"), "--no-demo")
    assert proc.returncode == 2
    line = _one_line(proc.stderr)
    assert "no reflexng wheel" in line and "build" in line


def _minimal_wheel(folder: Path, requires: list[str]) -> Path:
    """A real, installable reflexng wheel (metadata only) whose dependencies are not in the folder."""
    name = folder / "reflexng-0.1.0-py3-none-any.whl"
    meta = "Metadata-Version: 2.1\nName: reflexng\nVersion: 0.1.0\n" + "".join(
        f"Requires-Dist: {r}\n" for r in requires)
    wheel = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    with zipfile.ZipFile(name, "w") as z:
        z.writestr("reflexng_placeholder.py", "")
        z.writestr("reflexng-0.1.0.dist-info/METADATA", meta)
        z.writestr("reflexng-0.1.0.dist-info/WHEEL", wheel)
        z.writestr("reflexng-0.1.0.dist-info/RECORD", "")
    return name


@pytest.mark.timeout(180)
def test_wheelhouse_missing_a_dependency_names_it(tmp_path):
    house = tmp_path / "house"
    house.mkdir()
    _minimal_wheel(house, ["definitely-not-in-the-wheelhouse-pkg>=1.0"])
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    proc = _run("install", str(house), "--python", str(py), "--no-demo")
    assert proc.returncode == 2, proc.stderr
    line = _one_line(proc.stderr)
    assert "has no wheel of definitely-not-in-the-wheelhouse-pkg" in line
    assert "rebuild the wheelhouse" in line
    # nothing was installed
    check = subprocess.run([str(py), "-c", "import reflexng_placeholder"], capture_output=True)
    assert check.returncode != 0
