"""Real ESO recipes (esorex + UVES plugin) through the engine: run, header provenance, reuse, replay."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reflexng.engine import Session

pytestmark = pytest.mark.esorex


@pytest.fixture(scope="module")
def uves_data(tmp_path_factory):
    if shutil.which("esorex") is None and not os.environ.get("CI"):
        pytest.skip("esorex is not installed")
    out = tmp_path_factory.mktemp("uves") / "data"
    subprocess.run([sys.executable, "-m", "reflexng", "demo-data", "--out", str(out), "--instrument", "uves",
                    "--mode", "spectroscopy", "--nights", "1"], check=True, capture_output=True, timeout=300)
    return out


def test_uves_calibration_runs_reuses_and_replays(uves_data, tmp_path):
    with Session("uves_blue_calib", [uves_data], workdir=tmp_path / "w", ordering="dynamic", max_jobs=2) as s:
        s.organise()
        summary = s.run()
        st = {j["task"]: j["status"] for j in summary.jobs}
        assert st == {"master_bias": "executed", "master_dark": "executed"}, summary.jobs
        dark = next(j for j in summary.jobs if j["task"] == "master_dark")
        product = Path(dark["products"][0])
        from astropy.io import fits

        h = fits.getheader(product)
        assert h["HIERARCH ESO PRO REC1 ID"] == "uves_cal_mdark"  # written by the recipe, kept
        assert h["HIERARCH ESO PRO CATG"] == "MASTER_DARK_BLUE"
        cats = {c for _p, c in s.products(dark["id"])}
        assert "MASTER_DARK_BLUE" in cats
        inputs = s.store.query("SELECT role, category FROM job_inputs i JOIN jobs j ON j.id=i.attempt_id "
                               "WHERE j.task='master_dark'")
        assert ("associated", "MASTER_BIAS_BLUE") in {(r[0], r[1]) for r in inputs}
        assert {j["status"] for j in s.run().jobs} == {"reused"}
    replay = product.parent.parent / "replay.sh"
    r = subprocess.run(["sh", str(replay)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    again = list(replay.parent.glob("replay-*/masterdark_blue.fits"))
    assert again, list(replay.parent.iterdir())
