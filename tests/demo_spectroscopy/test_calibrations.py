"""Science acceptance of the calibration recipes against the simulator's truth.

Tolerances:
* master bias: read noise (QC BIAS RON) within 5 % of the injected value; bias level within
  0.5 ADU; variance plane = RON**2 * (pi/2) / N within 10 %.
* master flat: the recovered pixel-to-pixel pattern correlates with the injected one
  (r > 0.9 in 1x1, > 0.8 in 2x2 where the binned pattern is only 0.5 % rms); the residuals
  are photon-noise limited (their std in units of the VARIANCE plane's sigma is 0.8-1.25) and, in
  1x1, below half the injected rms;
  the slit illumination profile matches the truth within 1 %.
* fit_order: slit edges within 0.2 px of the truth at every column.
* wavelength_cal: solution RMS against the true solution (on the solution's reference row) < 0.1 px
  over all columns; every used line centre within 0.2 resolution elements (FWHM) of its true
  position; QC RMS < 0.1 px; the line tilt within 3e-4 px/px of the truth at every column (so
  < 0.06 px at the slit ends, 195 rows from the reference row); blended line-list lines left out
  (QC WAVE NBLEND = both members of every blend) and never used; the lamp's unlisted lines found
  but not identified.
"""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from numpy.polynomial import Polynomial

from reflexng.recipes.builtin.spectroscopy_calib import read_slit, read_tilt, read_wave_solution
from reflexng.simulate import spectroscopy_model as m


def test_master_bias_matches_injected_noise(data, calib):
    for b in (1, 2):
        path = calib[b]["MASTER_BIAS"][0][0]
        with fits.open(path) as hdul:
            h = hdul[0].header
            assert h["HIERARCH ESO PRO CATG"] == "MASTER_BIAS"
            ron = h["HIERARCH ESO QC BIAS RON"]
            truth = data.truth["detector"]["read_noise_adu"]
            assert abs(ron / truth - 1) < 0.05, (b, ron, truth)
            assert abs(h["HIERARCH ESO QC BIAS RON ELECTRONS"] / data.truth["detector"]["read_noise_e"] - 1) < 0.05
            assert abs(np.median(hdul[0].data) - data.truth["detector"]["bias_level"]) < 0.5
            var = hdul["VARIANCE"].data
            assert abs(np.median(var) / (truth ** 2 * np.pi / 2 / 5) - 1) < 0.10


def test_master_flat_recovers_pixel_pattern_and_illumination(data, calib):
    truth_arrays = np.load(data.root / "truth_spectroscopy_arrays.npz")
    for b in (1, 2):
        with fits.open(calib[b]["MASTER_FLAT"][0][0]) as hdul:
            flat = hdul[0].data.astype(float)
            bpm = hdul["BPM"].data.astype(bool)
            assert hdul[0].header["HIERARCH ESO PRO CATG"] == "MASTER_FLAT"
            assert "VARIANCE" in hdul and "SLIT_ILLUM" in hdul
            illum_meas = hdul["SLIT_ILLUM"].data.astype(float)
            var = hdul["VARIANCE"].data.astype(float)
        edges = read_slit(calib[b]["ORDER_TABLE"][0][0])
        true_pf = truth_arrays[f"PIXFLAT_{b}X{b}"].astype(float)
        true_il = truth_arrays[f"ILLUM_{b}X{b}"].astype(float)
        ny, nx = flat.shape
        y = np.arange(ny)[:, None]
        x = np.arange(nx)
        inside = (y > edges.lower(x)[None, :] + 3) & (y < edges.upper(x)[None, :] - 3)
        assert not bpm[inside].any()
        # pixel pattern: divide out the smooth slit illumination (row medians)
        rows = np.array([np.median(flat[j, inside[j]]) if inside[j].any() else 1.0 for j in range(ny)])
        rec = flat / rows[:, None]
        r = np.corrcoef(rec[inside], true_pf[inside])[0, 1]
        resid = np.std(rec[inside] - true_pf[inside])
        inj = np.std(true_pf[inside])
        z = (rec - true_pf)[inside] / (np.sqrt(var) / rows[:, None])[inside]
        assert 0.8 < np.std(z) < 1.25, (b, np.std(z))
        if b == 1:
            assert resid < 0.5 * inj, (resid, inj)
        assert r > (0.9 if b == 1 else 0.8), (b, r)
        # illumination along the slit: relative profile (normalised to its median)
        rows_in = np.nonzero(inside[:, nx // 2])[0]
        t = np.median(true_il[rows_in], axis=1)
        meas = illum_meas[rows_in]
        assert np.max(np.abs(meas / np.median(meas) - t / np.median(t))) < 0.01


def test_fit_order_finds_slit_edges(data, calib):
    for b in (1, 2):
        edges = read_slit(calib[b]["ORDER_TABLE"][0][0])
        tb = data.truth["binnings"][str(b)]
        x = np.arange(tb["shape"][1])
        assert np.max(np.abs(edges.lower(x) - Polynomial(tb["slit_lower"])(x))) < 0.2
        assert np.max(np.abs(edges.upper(x) - Polynomial(tb["slit_upper"])(x))) < 0.2


@pytest.mark.parametrize("b", [1, 2])
def test_wavelength_solution_against_truth(data, calib, b):
    path = calib[b]["WAVE_SOLUTION"][0][0]
    sol = read_wave_solution(path)
    _tilt, y_ref = read_tilt(path)
    tb = data.truth["binnings"][str(b)]
    x = np.arange(tb["shape"][1], dtype=float)
    true = m.true_wavelength(data.truth["size"], b, x, y_ref)  # the truth on the solution's row
    dpx = (sol(x) - true) / np.abs(np.gradient(true))
    rms = float(np.sqrt(np.mean(dpx ** 2)))
    assert rms < 0.1, f"binning {b}: solution rms {rms:.3f} px against truth"
    h = fits.getheader(path)
    assert h["HIERARCH ESO QC WAVE RMS PX"] < 0.1
    assert h["HIERARCH ESO QC WAVE NUSED"] >= 20
    lines = fits.getdata(path, "LINES")
    used = lines["USED"] == 1
    waves = np.array([w for w, _ in data.truth["line_list"]])
    true_x = np.interp(lines["WAVE_CAT"][used], waves, np.array(tb["line_pixels"]))
    err = np.abs(lines["X"][used] - true_x) / tb["lsf_fwhm_px"]
    assert err.max() < 0.2, f"worst line centre {err.max():.3f} resolution elements off"
    assert abs(lines["FWHM"][used].mean() / tb["lsf_fwhm_px"] - 1) < 0.15


@pytest.mark.parametrize("b", [1, 2])
def test_line_tilt_blends_and_unlisted_lines(data, calib, b):
    path = calib[b]["WAVE_SOLUTION"][0][0]
    tilt, _y_ref = read_tilt(path)
    tb = data.truth["binnings"][str(b)]
    x = np.arange(tb["shape"][1], dtype=float)
    true_tilt = Polynomial(tb["tilt_coefficients"])(x)
    assert abs(true_tilt.mean()) > 0.005  # the realistic data have tilted lines
    err = np.max(np.abs(tilt(x) - true_tilt))
    assert err < 3e-4, f"tilt off by {err:.2e} px/px"
    h = fits.getheader(path)
    blends = data.truth["blended_lines"]
    assert len(blends) == 3 and h["HIERARCH ESO QC WAVE NBLEND"] == 2 * len(blends)
    lines = fits.getdata(path, "LINES")
    used_waves = lines["WAVE_CAT"][lines["USED"] == 1]
    assert not np.isin(np.round(used_waves, 1), np.round(np.ravel(blends), 1)).any()
    assert h["HIERARCH ESO QC WAVE NUNIDENT"] >= len(data.truth["missing_from_line_list"])


def test_wavecal_fails_clearly_with_a_wrong_first_guess(data, calib, tmp_path):
    from reflexng.recipes.protocol import RecipeError

    from .conftest import run_recipe

    inputs = [(f, "ARC") for f in data.raw("WAVE,LAMP", 1)] + calib[1]["MASTER_BIAS"] + [(data.line_list, "LINE_LIST")]
    with pytest.raises(RecipeError, match="wave_guess|lines"):
        run_recipe("demo_spec_wavecal", inputs, tmp_path, wave_guess_start=8000.0, wave_guess_end=11000.0,
                   max_shift=0.0)
