"""The spectroscopy lessons of docs/teaching-spectroscopy.md, run as a student would.

Every code block of the page runs here, in order (shell blocks with ``bash -e``, python blocks with
this interpreter, ``<!-- file: NAME -->`` blocks written into the home folder), in one temporary
HOME with the docs runner's environment - only the GUI block is left out. Then the QC cards of
the products the CLI runs wrote are read from the FITS headers and checked against the limits
the page states (tolerances = the page's numbers):

* default: every DEMO-GAL-1 exposure QC SCI SKYLINE OFFSET < 0.1 px, SKY RESID RMS < 1.2,
  EXTR METHOD optimal; wavelength solution QC WAVE RMS PX < 0.01 px, WAVE NBLEND = 6;
* lesson 1 (science.flexure_correction=false): SKYLINE OFFSET > 0.8 px in every exposure, and
  within 0.05 px of that exposure's FLEX SHIFT;
* lesson 2 (science.rectify=false): SKY RESID RMS > 2, EXTR NCRREJ more than 150 above the
  default's (which counts the few real cosmic-ray hits in the aperture at the realistic rate,
  0.15 /Mpix/s) and |SKYLINE OFFSET| > 0.3 px in every exposure;
* lesson 3 (science.extraction=box): EXTR SNR of the optimal extraction >= 1.10 x the box one,
  exposure by exposure; box rejects no pixel;
* lesson 4 (wavelength_cal.blend_window=0, clip_sigma=10): WAVE RMS PX > 0.1 px, WAVE NBLEND = 0.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from astropy.io import fits

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "teaching-spectroscopy.md"


def _runner():
    """The docs runner's block parser and environment (tests/docs/test_docs_run.py)."""
    spec = importlib.util.spec_from_file_location("_docs_runner", ROOT / "tests" / "docs" / "test_docs_run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _lesson_blocks(runner):
    lines = DOC.read_text(encoding="utf-8").splitlines()
    out = []
    for line, kind, code, name in runner.blocks(DOC):
        above = "\n".join(lines[max(0, line - 4): line - 1])
        if kind == "skip" and "test_lessons.py" not in above:
            continue  # the GUI block (needs a display)
        out.append((line, "sh" if kind == "skip" else kind, code, name))
    return out


@pytest.fixture(scope="module")
def workshop(tmp_path_factory):
    if shutil.which("bash") is None:
        pytest.skip("the lessons' shell blocks need bash")
    runner = _runner()
    home = tmp_path_factory.mktemp("lessons")
    env = runner._env(home)
    logs = []
    for line, kind, code, name in _lesson_blocks(runner):
        if kind == "file":
            (home / name).write_text(code, encoding="utf-8")
            continue
        cmd = ["bash", "-e", "-o", "pipefail", "-c", code] if kind == "sh" else [sys.executable, "-c", code]
        r = subprocess.run(cmd, cwd=home, env=env, capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, f"{DOC.name}:{line} fails (exit {r.returncode})\n{code}\n{r.stderr[-3000:]}"
        assert "Traceback" not in r.stderr, r.stderr[-3000:]
        logs.append((line, r.stdout))
    return home / "workshop", logs


def _qc(run_json: Path, task: str, obj: str | None = "DEMO-GAL-1") -> list[dict]:
    """The QC cards (without the 'HIERARCH ESO QC ' prefix) of a task's main products in a run."""
    out = []
    for job in json.loads(run_json.read_text())["jobs"]:
        if job["task"] != task:
            continue
        for p in job["products"]:
            if "sci_spectrum_" in p or "wave_solution" in p:
                h = fits.getheader(p)
                if obj is None or h["OBJECT"] == obj:
                    out.append({k.removeprefix("ESO QC "): v for k, v in h.items() if k.startswith("ESO QC ")}
                               | {"file": Path(p).name, "raw": h["HIERARCH ESO PRO REC1 RAW1 NAME"]})
    return sorted(out, key=lambda q: q["raw"])


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_lessons_move_the_qc_values_the_page_states(workshop):
    ws, logs = workshop
    default = _qc(ws / "default.json", "science")
    assert len(default) == 3
    for q in default:
        assert q["SCI EXTR METHOD"] == "optimal"
        assert abs(q["SCI SKYLINE OFFSET"]) < 0.1 and q["SCI SKY RESID RMS"] < 1.2, q
    wave = _qc(ws / "default.json", "wavelength_cal", obj=None)
    assert wave and all(w["WAVE RMS PX"] < 0.01 and w["WAVE NBLEND"] == 6 for w in wave), wave

    # lesson 1: flexure correction off -> the sky lines sit FLEX SHIFT away
    off = _qc(ws / "no-flexure.json", "science")
    assert [q["raw"] for q in off] == [q["raw"] for q in default]
    for q in off:
        assert q["SCI FLEX CORRECTED"] is False
        assert q["SCI SKYLINE OFFSET"] > 0.8 and abs(q["SCI SKYLINE OFFSET"] - q["SCI FLEX SHIFT"]) < 0.05, q

    # lesson 2: no rectification -> sky-line residuals well above the noise, taken for cosmic
    # rays, and the flexure measured on the slit-average sky misses the galaxy's rows
    rect = _qc(ws / "no-rectify.json", "science")
    for q, d in zip(rect, default):
        assert q["SCI RECTIFIED"] is False and q["SCI SKY RESID RMS"] > 2.0, q
        assert q["SCI EXTR NCRREJ"] > d["SCI EXTR NCRREJ"] + 150 and abs(q["SCI SKYLINE OFFSET"]) > 0.3, q

    # lesson 3: box extraction -> at least 10 % lower S/N, exposure by exposure
    box = _qc(ws / "box.json", "science")
    for b, o in zip(box, default):
        assert b["SCI EXTR METHOD"] == "box" and b["SCI EXTR NCRREJ"] == 0
        assert o["SCI EXTR SNR"] >= 1.10 * b["SCI EXTR SNR"], (o["SCI EXTR SNR"], b["SCI EXTR SNR"])

    # lesson 4: blends kept and not clipped -> the wavelength rms leaves its tolerance
    bl = _qc(ws / "blends.json", "wavelength_cal", obj=None)
    assert bl and all(w["WAVE NBLEND"] == 0 and w["WAVE RMS PX"] > 0.1 for w in bl), bl

    # the page's qc.py printed the lines the student reads
    printed = "\n".join(out for _l, out in logs)
    assert "SKYLINE OFFSET=" in printed and "EXTR METHOD=box" in printed and "WAVE NBLEND=0" in printed
    # the figures of the report (pytest -s): offset / sky resid / S/N / CR-rejected per exposure
    for k, v in (("default", default), ("no-flexure", off), ("no-rectify", rect), ("box", box)):
        print(k, "; ".join(f"flex {q['SCI FLEX SHIFT']:.3f} offset {q['SCI SKYLINE OFFSET']:.3f} "
                           f"resid {q['SCI SKY RESID RMS']:.2f} snr {q['SCI EXTR SNR']:.1f} ncr {q['SCI EXTR NCRREJ']}"
                           for q in v))
    print("wave default", [(w["WAVE RMS PX"], w["WAVE NUSED"]) for w in wave],
          "blends", [(w["WAVE RMS PX"], w["WAVE NUSED"]) for w in bl])
