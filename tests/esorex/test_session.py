"""Both esorex cascades end to end through the engine's Session (real esorex, real files)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
from astropy.io import fits

from reflexng.engine import Session
from reflexng.provenance.trace import tree
from reflexng.simulate import eso

CASCADES = Path(__file__).resolve().parents[2] / "cascades"


def _night(path: str) -> int:
    return int(re.search(r"_n(\d)", Path(path).name).group(1))


def _setting(path: str) -> int:
    return int(re.search(r"_s(\d)_", Path(path).name).group(1))


def _leaves(node: dict) -> list[dict]:
    if not node.get("inputs"):
        return [node]
    return [leaf for i in node["inputs"] for leaf in _leaves(i)]


def test_uves_cascade_science_reuse_rerun_provenance(esorex, uves_data, tmp_path):
    raw, truth = uves_data
    expected = {n["night"]: n for n in truth["nights"]}
    s = Session(CASCADES / "uves_blue_calib.py", data_dirs=[raw], workdir=tmp_path / "wd")
    result = s.organise()
    assert len(result.datasets) == 2 and all(d.complete for d in result.datasets)
    summary = s.run()
    assert summary.ok, [j["reason"] for j in summary.jobs]
    assert sorted(j["status"] for j in summary.jobs) == ["executed"] * 4
    darks = [j for j in summary.jobs if j["task"] == "master_dark"]
    for j in darks:
        job = result.jobs[j["id"]]
        night = _night(job.main[0])
        # the master bias comes from the same night (biases differ by 20 ADU between nights)
        bias_job = result.jobs[job.associated["master_bias"].chosen[0].job_id]
        assert {_night(p) for p in bias_job.main} == {night}
        (product, category), = s.products(j["id"])
        assert category == "MASTER_DARK_BLUE"
        # master dark = injected dark level - bias level; 0.5 ADU >> noise of the median
        median = float(np.median(fits.getdata(product)))
        assert abs(median - expected[night]["expected_master_dark"]) < 0.5, (night, median)

    # provenance of an esorex product reaches the raw files (darks and, via the master
    # bias, the biases of the same night)
    (product, _), = s.products(darks[0]["id"])
    node = tree(s.store, product)
    assert node["kind"] == "product" and node["job"]["recipe"] == "esorex:uves_cal_mdark"
    assert node["job"]["version"] == "6.1.8" or node["job"]["version"]
    leaves = _leaves(node)
    assert all(leaf["kind"] == "raw" for leaf in leaves)
    names = sorted(Path(leaf["path"]).name for leaf in leaves)
    assert sum("dark_" in n for n in names) == 3 and sum("bias_" in n for n in names) == 3
    assert all(Path(leaf["path"]).parent == raw for leaf in leaves)

    # the replay script re-runs the exact esorex command and reproduces the product
    replay = Path(node["job"]["replay"])
    assert "esorex" in replay.read_text() and "uves_cal_mdark" in replay.read_text()
    subprocess.run(["sh", str(replay)], check=True, capture_output=True, timeout=60)
    again = next(replay.parent.glob("replay-*/" + Path(product).name))
    assert np.array_equal(fits.getdata(again), fits.getdata(product))
    s.close()

    # a second run reuses everything
    s2 = Session(CASCADES / "uves_blue_calib.py", data_dirs=[raw], workdir=tmp_path / "wd")
    s2.organise()
    again_summary = s2.run()
    assert sorted(j["status"] for j in again_summary.jobs) == ["reused"] * 4
    s2.close()

    # a parameter change of master_dark re-runs exactly the two master_dark jobs
    s3 = Session(CASCADES / "uves_blue_calib.py", data_dirs=[raw], workdir=tmp_path / "wd",
                 recipe_parameters={"master_dark": {"uves_cal_mdark.stack_method": "mean"}})
    s3.organise()
    changed = s3.run()
    status = {(j["task"], j["id"]): j["status"] for j in changed.jobs}
    assert sorted(v for (t, _), v in status.items() if t == "master_dark") == ["executed"] * 2
    assert sorted(v for (t, _), v in status.items() if t == "master_bias") == ["reused"] * 2
    for j in changed.jobs:
        if j["task"] == "master_dark":
            (p, _), = s3.products(j["id"])
            hdr = fits.getheader(p)
            params = {hdr[k]: hdr[k.replace("NAME", "VALUE")] for k in hdr
                      if k.startswith("ESO PRO REC1 PARAM") and k.endswith("NAME")}
            assert str(params.get("stack_method")).lower() == "mean"
    s3.close()


def test_naco_cascade_flat_and_dark_association(esorex, naco_data, tmp_path):
    raw, truth = naco_data
    s = Session(CASCADES / "naco_imaging.py", data_dirs=[raw], workdir=tmp_path / "wd")
    result = s.organise()
    summary = s.run()
    assert summary.ok, [j["reason"] for j in summary.jobs]
    flats = [j for j in summary.jobs if j["task"] == "twilight_flat"]
    assert len(flats) == 2
    for j in flats:
        job = result.jobs[j["id"]]
        setting = _setting(job.main[0])
        # the dark with the flats' DIT and read-out mode
        dark_job = result.jobs[job.associated["dark"].chosen[0].job_id]
        assert {_setting(p) for p in dark_job.main} == {setting}
        (product, category), = s.products(j["id"])
        assert category == "MASTER_IMG_FLAT"
        # normalised flat: median 1 within 1 % (the injected response has mean 1)
        assert abs(float(np.median(fits.getdata(product))) - 1.0) < 0.01
        # the dark's AVG product reached naco_img_twflat under the SOF tag CAL_DARK
        sof = (Path(tree(s.store, product)["job"]["jobdir"]) / "inputs.sof").read_text()
        assert re.search(r"naco_img_dark_set01_avg\.fits CAL_DARK", sof)
    s.close()


def test_recipe_failure_is_a_failed_job_and_the_run_carries_on(esorex, tmp_path):
    """Night 0: 256 x 256 darks, smaller than naco_img_dark's 200 px border window.
    Night 1: normal frames, which must still be reduced."""
    small, normal = tmp_path / "small", tmp_path / "normal"
    eso.generate("naco", small, nights=1, seed=5, size=256)
    eso.generate("naco", normal, nights=2, seed=6, size=1024)
    for f in normal.glob("*_n0_*.fits"):
        f.unlink()
    events = []
    s = Session(CASCADES / "naco_imaging.py", data_dirs=[small, normal], workdir=tmp_path / "wd")
    s.subscribe(lambda e: events.append(e))
    result = s.organise()
    summary = s.run()
    assert not summary.ok
    by_task: dict[tuple[str, int], list[dict]] = {}
    for j in summary.jobs:
        job = result.jobs[j["id"]]
        main = job.main or result.jobs[job.main_jobs[0]].main
        by_task.setdefault((j["task"], _night(main[0])), []).append(j)
    failed = by_task[("dark", 0)]
    assert [j["status"] for j in failed] == ["failed", "failed"]
    for j in failed:
        assert "border window" in j["reason"] and "exit code 14" in j["reason"]
    fail_events = [e for e in events if e.kind == "job_failed"]
    assert len(fail_events) == 2 and "border window" in fail_events[0].data["reason"]
    assert all(j["status"] != "executed" for j in by_task[("twilight_flat", 0)])
    assert [j["status"] for j in by_task[("dark", 1)]] == ["executed", "executed"]
    assert [j["status"] for j in by_task[("twilight_flat", 1)]] == ["executed", "executed"]
    s.close()
    shutil.rmtree(small)
