"""The longest chains real esorex runs on reflexng's synthetic data, through `reflexng run`.

Each test writes the instrument's demo data, runs the shipped cascade with the CLI (child
processes, real esorex) and checks every product's ``ESO PRO CATG`` against what the
recipe declares, plus the physics the synthetic data lets us check.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from astropy.io import fits

CASCADES = Path(__file__).resolve().parents[2] / "cascades"


def _run(cascade: str, data: Path, workdir: Path, target: str | None = None, timeout: int = 600) -> dict:
    cmd = [sys.executable, "-m", "reflexng", "run", "--cascade", str(CASCADES / f"{cascade}.py"),
           "--data", str(data), "--workdir", str(workdir), "--json"]
    if target:
        cmd += ["--target", target]
    got = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert got.returncode == 0, got.stdout[-2000:] + got.stderr[-2000:]
    return json.loads(got.stdout)


def _products(workdir: Path, task: str) -> list[Path]:
    """The FITS products of the task's (successful) jobs in the work directory."""
    return sorted(p for p in (workdir / "jobs" / task).glob("*/latest/products/*.fits"))


def _catg(path: Path) -> str:
    return str(fits.getheader(path).get("HIERARCH ESO PRO CATG"))


def test_naco_dark_flat_jitter(esorex, tmp_path):
    """NACO: dark -> twilight flat -> jitter: a sky-subtracted, combined image in which the
    injected stars are found where the jitter offsets put them."""
    from reflexng.simulate import eso

    raw = tmp_path / "raw"
    truth = eso.generate("naco", raw, nights=1, seed=11)
    summary = _run("naco_imaging", raw, tmp_path / "wd", target="jitter")
    assert summary["ok"], summary
    status = {(j["task"], j["status"]) for j in summary["jobs"]}
    assert status == {("dark", "executed"), ("twilight_flat", "executed"), ("jitter", "executed")}
    wd = tmp_path / "wd"
    cats = {t: sorted({_catg(p) for p in _products(wd, t)}) for t in ("dark", "twilight_flat", "jitter")}
    assert cats["dark"] == ["NACO_IMG_DARK_AVG", "NACO_IMG_DARK_COLD", "NACO_IMG_DARK_DEV", "NACO_IMG_DARK_HOT"]
    assert "MASTER_IMG_FLAT" in cats["twilight_flat"]
    assert cats["jitter"] == ["COADDED_IMG"]
    (combined,) = _products(wd, "jitter")
    img = fits.getdata(combined)
    # sky removed: the background is ~0 (sky was 1500 ADU + dark), the stars remain
    assert abs(float(np.median(img))) < 20
    stars = truth["jitter"][0]["stars"]
    brightest = max(stars, key=lambda s: s["peak"])
    assert float(img.max()) > 0.5 * brightest["peak"]
    # the jitter sequence got the Ks flat of its night, not none
    sof = next((wd / "jobs" / "jitter").glob("*/latest/inputs.sof")).read_text()
    assert "MASTER_IMG_FLAT" in sof and sof.count("IM_JITTER_OBJ") == 5


def test_hawki_dark_and_twilight_flat(esorex, tmp_path):
    """HAWK-I (CASU recipes): dark -> twilight flat on 4 x 2048^2 synthetic detectors; the
    master flat (normalised per detector) recovers the injected response gradient."""
    from reflexng.simulate import eso

    raw = tmp_path / "raw"
    truth = eso.generate("hawki", raw, nights=1, seed=12)
    assert sum(f.stat().st_size for f in raw.rglob("*.fits")) < 200e6
    summary = _run("hawki_imaging", raw, tmp_path / "wd", target="twilight_flat")
    assert summary["ok"], summary
    assert sorted((j["task"], j["status"]) for j in summary["jobs"]) == [
        ("dark", "executed"), ("twilight_flat", "executed")]
    wd = tmp_path / "wd"
    for task, expected in truth["expected_products"].items():
        assert sorted(_catg(p) for p in _products(wd, task)) == expected
    flat = next(p for p in _products(wd, "twilight_flat") if _catg(p) == "MASTER_TWILIGHT_FLAT")
    want = truth["nights"][0]["expected_flat_edge_ratio"]
    with fits.open(flat) as hdus:
        for h in hdus[1:5]:
            assert abs(float(np.median(h.data)) - 1.0) < 0.02
            ratio = float(np.median(h.data[:, 1938:1958])) / float(np.median(h.data[:, 90:110]))
            assert abs(ratio - want) < 0.005, (h.name, ratio, want)
    # the flat was made with the dark of the same DIT (the only one): tag MASTER_DARK in its SOF
    sof = next((wd / "jobs" / "twilight_flat").glob("*/latest/inputs.sof")).read_text()
    assert sof.count("FLAT_TWILIGHT") == 5 and "MASTER_DARK" in sof
