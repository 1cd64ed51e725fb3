"""The imaging simulator: headers, truth, the association traps, header-only speed."""

import json
import subprocess
import sys
import time

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from reflexng.simulate.imaging import generate


def test_headers_wcs_and_truth(imaging_data, truth):
    files = sorted((imaging_data / "raw").glob("*.fits"))
    assert len(files) == len(truth["frames"])
    kinds = {}
    for f in files:
        with fits.open(f) as hl:
            hl.verify("exception")
            h = hl[0].header
            kinds[h["HIERARCH ESO DPR TYPE"]] = kinds.get(h["HIERARCH ESO DPR TYPE"], 0) + 1
            assert h["INSTRUME"] == "DEMO" and h["HIERARCH ESO INS MODE"] == "IMAGING"
            for k in ("MJD-OBS", "DATE-OBS", "EXPTIME", "OBJECT", "RA", "DEC", "HIERARCH ESO TPL START",
                      "HIERARCH ESO OBS NAME", "HIERARCH ESO DET BINX", "HIERARCH ESO DET DIT",
                      "HIERARCH ESO INS FILT NAME", "HIERARCH ESO DPR CATG", "HIERARCH ESO DPR TECH"):
                assert k in h, (f.name, k)
            assert hl[0].data.dtype == np.uint16
    assert kinds == {"BIAS": 5, "DARK": 3, "FLAT,SKY": 10, "OBJECT": 10}
    # a science frame's header WCS is within a few pixels of the true star positions
    name, rec = next((n, r) for n, r in truth["frames"].items() if r["type"] == "SCIENCE")
    w = WCS(fits.getheader(imaging_data / "raw" / name))
    stars = truth["fields"][rec["field"]]["stars"]
    x, y = w.world_to_pixel_values([s["ra"] for s in stars], [s["dec"] for s in stars])
    err = np.hypot(x - np.array(rec["star_xy"])[:, 0], y - np.array(rec["star_xy"])[:, 1])
    assert np.allclose(err, np.hypot(*rec["wcs_error"]), atol=1e-3)
    # the truth documents the detector and zero points
    assert truth["detector"]["gain_e_per_adu"] == fits.getheader(files[0])["HIERARCH ESO DET OUT1 GAIN"]
    assert set(truth["zero_points"]) == {"V", "R"}
    cat = fits.open(imaging_data / "static" / "DEMO_REFCAT.fits")
    assert cat[0].header["HIERARCH ESO PRO CATG"] == "REF_CATALOG"
    assert {"RA", "DEC", "MAG_V", "MAG_R"} <= set(cat[1].columns.names)


def test_missing_flats_and_incomplete_sequence(tmp_path):
    out = tmp_path / "d"
    s = generate(out, nights=3, seed=2, headers_only=True, size=256)
    truth = json.loads((out / "truth_imaging.json").read_text())
    assert truth["missing_flats"] == [{"night": 1, "filter": "R"}]
    flats_r = {r["night"] for r in truth["frames"].values() if r["type"] == "FLAT" and r["filter"] == "R"}
    assert flats_r == {0, 2}
    binned = [r for r in truth["frames"].values() if r["binning"] == 2]
    assert binned and all(r["type"] == "SCIENCE" for r in binned)
    assert s["files"] == len(list((out / "raw").glob("*.fits"))) + 1


def test_same_seed_same_pixels(tmp_path):
    a = generate(tmp_path / "a", nights=1, seed=9, size=64)
    b = generate(tmp_path / "b", nights=1, seed=9, size=64)
    assert a["files"] == b["files"]
    for f in (tmp_path / "a" / "raw").glob("*.fits"):
        assert f.read_bytes() == (tmp_path / "b" / "raw" / f.name).read_bytes()


def test_headers_only_scale_is_fast(tmp_path):
    t0 = time.perf_counter()
    s = generate(tmp_path / "h", headers_only=True, scale=6)  # 18 nights, 6x longer groups
    dt = time.perf_counter() - t0
    assert s["files"] > 2500 and s["nights"] == 18
    names = list((tmp_path / "h" / "raw").glob("*.fits"))
    assert len(names) == s["files"] - 1  # unique names (the catalogue is in static/)
    h = fits.getheader(names[0])
    assert h["NAXIS"] == 0 and h["INSTRUME"] == "DEMO"
    # ~0.4 ms per file on the reference machine; 20,000 files in ~10 s
    assert dt < 20, f"{s['files']} header-only files took {dt:.1f} s"


def test_cli_demo_data(tmp_path):
    res = subprocess.run([sys.executable, "-m", "reflexng", "demo-data", "--mode", "imaging", "--out",
                          str(tmp_path / "cli"), "--nights", "1", "--size", "64", "--headers-only", "--json"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["imaging"]["files"] == 29
    assert (tmp_path / "cli" / "truth_imaging.json").exists()
