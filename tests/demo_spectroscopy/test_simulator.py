"""The DEMO long-slit simulator: headers, frame inventory, truth consistency, header-only mode."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from numpy.polynomial import Polynomial

from reflexng.simulate import spectroscopy_model as m
from reflexng.simulate.spectroscopy import generate

REQUIRED = ["INSTRUME", "DATE-OBS", "MJD-OBS", "EXPTIME", "OBJECT", "RA", "DEC",
            "HIERARCH ESO DPR CATG", "HIERARCH ESO DPR TYPE", "HIERARCH ESO DPR TECH",
            "HIERARCH ESO DET BINX", "HIERARCH ESO DET BINY", "HIERARCH ESO DET DIT",
            "HIERARCH ESO INS MODE", "HIERARCH ESO INS GRAT NAME", "HIERARCH ESO TPL START",
            "HIERARCH ESO OBS NAME"]


def test_inventory_and_headers(data):
    counts = {}
    for p, h in data.headers.items():
        for k in REQUIRED:
            assert k in h, f"{p.name} lacks {k}"
        assert h["INSTRUME"] == "DEMO" and h["HIERARCH ESO DPR TECH"] == "SPECTRUM"
        assert h["HIERARCH ESO INS MODE"] == "LSS"
        b = h["HIERARCH ESO DET BINX"]
        assert fits.getdata(p).shape == (512 // b, 512 // b)
        key = (h["HIERARCH ESO DPR TYPE"], b)
        counts[key] = counts.get(key, 0) + 1
    # per binning: 5 biases, 5 + 3 flats, 2 arcs, 1 standard, 3 science exposures
    for b in (1, 2):
        assert counts[("BIAS", b)] == 5
        assert counts[("FLAT,LAMP", b)] == 8
        assert counts[("WAVE,LAMP", b)] == 2
        assert counts[("STD", b)] == 1
        assert counts[("OBJECT", b)] == 3
    assert data.truth["files"] == {"BIAS": 10, "FLAT,LAMP": 16, "WAVE,LAMP": 4, "STD": 2, "OBJECT": 6}


def test_static_calibrations(data):
    ll = fits.open(data.line_list)
    assert ll[0].header["HIERARCH ESO DPR TYPE"] == "LINE_LIST"
    assert np.allclose(ll[1].data["WAVE"], [w for w, _ in data.truth["line_list"]])
    sf = fits.open(data.std_flux)
    assert sf[0].header["OBJECT"] == data.truth["standard"]["name"]
    w = sf[1].data["WAVE"]
    assert np.allclose(sf[1].data["FLUX"], np.interp(w, data.truth["standard"]["wave"], data.truth["standard"]["flux"]),
                       rtol=1e-3)


def test_truth_wavelength_solution_is_consistent(data):
    """The per-binning polynomials map each line's true pixel back to its wavelength (< 1e-3 A)
    and 2x2 pixels sit where the 1x1 solution puts them."""
    waves = np.array([w for w, _ in data.truth["line_list"]])
    for b in ("1", "2"):
        tb = data.truth["binnings"][b]
        p = Polynomial(tb["wavelength_coefficients"])
        assert np.max(np.abs(p(np.array(tb["line_pixels"])) - waves)) < 1e-3
        assert 3990 < p(0) < 4020 and 6980 < p(tb["shape"][1] - 1) < 7010
    p1 = Polynomial(data.truth["binnings"]["1"]["wavelength_coefficients"])
    p2 = Polynomial(data.truth["binnings"]["2"]["wavelength_coefficients"])
    xb = np.arange(256.0)
    assert np.allclose(p2(xb), p1(2 * xb + 0.5), atol=1e-6)


def test_arc_lines_fall_where_the_truth_says(data):
    """The brightest arc line's pixel peak in the raw frame is at the truth's position (+-1 px)."""
    arc = data.raw("WAVE,LAMP", 1)[0]
    img = fits.getdata(arc).astype(float)
    spec = np.median(img[200:300], axis=0)
    i = int(np.argmax([s for _w, s in data.truth["line_list"]]))
    x = data.truth["binnings"]["1"]["line_pixels"][i]
    lo = int(x) - 4
    assert abs(lo + np.argmax(spec[lo:lo + 9]) - x) <= 1.0


def test_science_frame_has_sky_object_and_cosmics(data):
    sci = data.raw("OBJECT", 1)[0]
    h = fits.getheader(sci)
    assert h["OBJECT"] == "DEMO-GAL-1" and h["HIERARCH ESO DPR CATG"] == "SCIENCE"
    img = fits.getdata(sci).astype(float)
    trace = Polynomial(data.truth["binnings"]["1"]["traces"]["DEMO-GAL-1"])
    yc = int(round(trace(256)))
    assert np.median(img[yc, 100:400]) > np.median(img[yc + 40, 100:400]) + 100  # object above sky
    # cosmic rays at the realistic rate, 0.15 events per Mpix per s (4 /cm2/min, 15-um pixels), on
    # 0.26 Mpix for 1800 s: ~71 events; the truth lists each (centre, charge), their number lies
    # within 4 Poisson sigma of that (the old 1.5 /Mpix/s would give ~700), and the charge is in
    # the image: >= 90 % of them stand > 5 sigma (read + sky noise) above their column neighbours
    from scipy.ndimage import median_filter

    fr = data.truth["frames"][Path(sci).name]
    assert fr["exptime"] == h["EXPTIME"] == 1800.0 and fr["cosmics_per_mpix_s"] == pytest.approx(0.15)
    expected = fr["cosmics_per_binned_mpix_s"] * fr["exptime"] * img.size / 1e6
    events = fr["cosmics"]["events"]
    assert fr["cosmics"]["n"] == len(events)
    assert abs(len(events) - expected) < 4 * np.sqrt(expected), (len(events), expected)
    det = data.truth["detector"]
    med = median_filter(img, size=(7, 1))
    seen = 0
    for x, y, _q in events:
        sl = (slice(max(int(y) - 2, 0), int(y) + 3), slice(max(int(x) - 2, 0), int(x) + 3))
        sigma = np.sqrt(det["read_noise_adu"] ** 2 + max(np.median(med[sl]) - det["bias_level"], 0) / det["gain"])
        seen += (img[sl] - med[sl]).max() > 5 * sigma
    assert seen >= 0.9 * len(events), (seen, len(events))


def test_headers_only_and_scale(tmp_path):
    t0 = time.perf_counter()
    s = generate(tmp_path / "h", nights=2, scale=10, headers_only=True, seed=2)
    dt = time.perf_counter() - t0
    files = sorted((tmp_path / "h").glob("DEMO.*.fits"))
    assert s["files"] == len(files) == 20 * 38 and s["nights"] == 20
    assert dt < 10, f"{len(files)} header-only files took {dt:.1f} s"
    h = fits.getheader(files[7])
    assert h["NAXIS"] == 0 and h["INSTRUME"] == "DEMO" and "HIERARCH ESO DPR TYPE" in h
    assert json.loads((tmp_path / "h" / "truth_spectroscopy.json").read_text())["nights"] == 20
    assert len({f.name for f in files}) == len(files)


@pytest.mark.parametrize("kwargs", [{"nights": 0}, {"scale": 0}, {"size": 100}, {"size": 514}])
def test_bad_arguments(tmp_path, kwargs):
    with pytest.raises(ValueError):
        generate(tmp_path / "x", **kwargs)


def test_model_trace_polynomial_matches_rendering():
    n = 512
    for b in (1, 2):
        p = m.trace_poly(n, b, 0.47)
        xu = np.arange(n)
        yu = m.trace_unbinned(n, 0.47)
        xb = np.arange(n // b)
        assert np.allclose(p(xb), (np.interp(b * xb + (b - 1) / 2, xu, yu) - (b - 1) / 2) / b, atol=1e-3)


def test_realism_is_recorded_and_switchable(data, tmp_path):
    """Every effect is on in the default data and recorded in the truth; Realism.none() gives the
    idealised data (no flexure, no tilt, the line list = the lamp)."""
    from reflexng.simulate.spectroscopy import Realism

    r = data.truth["realism"]
    assert r["flexure"] and r["tilt"] and r["sky_lines"] and r["arc_defects"] and r["seeing"]
    assert r["cosmics_per_mpix_s"] > 0
    sci = [f for f in data.truth["frames"].values() if f["kind"] == "science"]
    std = [f for f in data.truth["frames"].values() if f["kind"] == "std"]
    assert len(sci) == 6 and len(std) == 2
    assert all(0.9 <= f["flexure_px"] <= 1.9 for f in sci) and all(0.1 <= f["flexure_px"] <= 0.4 for f in std)
    assert len({round(f["seeing_fwhm_px"] * f["binning"], 3) for f in sci}) == 6  # seeing varies
    assert len(data.truth["lamp_lines"]) == len(data.truth["line_list"]) + len(data.truth["missing_from_line_list"])
    generate(tmp_path / "ideal", nights=1, seed=3, size=128, realism=Realism.none())
    t = json.loads((tmp_path / "ideal" / "truth_spectroscopy.json").read_text())
    assert not any(t["realism"][k] for k in ("flexure", "tilt", "sky_lines", "arc_defects", "seeing"))
    assert all(f["flexure_px"] == 0 for f in t["frames"].values())
    assert t["binnings"]["1"]["tilt_coefficients"] == [0.0] and t["lamp_lines"] == t["line_list"]


def test_sky_lines_are_tilted_and_shifted_by_flexure(data):
    """The [OI] 5577 sky line in a raw science frame sits where the truth puts it (tilt and the
    frame's flexure) on rows near both slit ends, to 0.1 px."""
    from reflexng.recipes.builtin.spectroscopy_wave import line_centres

    sci = data.raw("OBJECT", 1)[0]
    img = fits.getdata(sci).astype(float)
    fr = data.truth["frames"][Path(sci).name]
    tb = data.truth["binnings"]["1"]
    x0 = float(m.pixel_of_wave(np.array([5577.3]), 512, 1)[0])
    tilt = Polynomial(tb["tilt_coefficients"])(x0)
    for y in (90, 420):
        prof = np.median(img[y - 5:y + 6], axis=0) - np.median(img[y - 5:y + 6, int(x0) - 15:int(x0) - 8])
        want = x0 + tilt * (y - tb["y_ref"]) + fr["flexure_px"]
        got = line_centres(prof, np.array([want]))[0]
        assert abs(got - want) < 0.1, (y, got, want)
    static = fits.open(data.root / "static" / "DEMO_SKY_LINES.fits")
    assert static[0].header["HIERARCH ESO DPR TYPE"] == "SKY_LINE_LIST"
    assert np.allclose(static[1].data["WAVE"], [w for w, _ in data.truth["sky_lines"]])
