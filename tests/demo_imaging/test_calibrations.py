"""Master bias / dark / flat statistics against the simulator's truth (tolerances stated)."""

import numpy as np
from astropy.io import fits
from scipy import ndimage

from reflexng.simulate.detector import Detector, bias_structure


def _qc(path, key):
    return fits.getheader(path)[f"HIERARCH ESO QC {key}"]


def test_master_bias_read_noise_level_and_structure(chain, truth):
    res = chain.results["bias"]
    path = res.products[0][0]
    det = truth["detector"]
    # read noise within 3 % (quantisation to integer ADU adds 0.3 % in quadrature)
    assert abs(res.qc["RON"] / det["read_noise_adu"] - 1) < 0.03
    assert abs(_qc(path, "RON E") / det["read_noise_e"] - 1) < 0.03
    data = fits.getdata(path).astype(float)
    assert fits.getheader(path)["HIERARCH ESO PRO CATG"] == "MASTER_BIAS"
    # the master reproduces the injected bias structure; residual noise = RON / sqrt(N) within 15 %
    true_bias = bias_structure(Detector(nx=det["size"], ny=det["size"]), seed=truth["seed"] + 7 + 1)
    resid = data - true_bias
    n = res.qc["NFRAMES"]
    assert abs(np.median(resid)) < 0.1  # ADU
    expected = det["read_noise_adu"] * np.sqrt(np.pi / 2 / n)  # noise of a median of n frames
    assert abs(resid.std() / expected - 1) < 0.15
    var = fits.getdata(path, "VARIANCE")
    assert var.shape == data.shape and np.all(var > 0)


def test_master_dark_rate(chain, truth):
    res = chain.results["dark"]
    # dark current within 5 % of the injected rate (e-/s/pixel)
    assert abs(res.qc["DARK.RATE.E"] / truth["detector"]["dark_rate_e_per_s"] - 1) < 0.05
    h = fits.getheader(res.products[0][0])
    assert h["HIERARCH ESO PRO CATG"] == "MASTER_DARK"
    assert h["BUNIT"] == "adu/s"


def test_master_flat_pattern_and_bad_pixels(chain, truth, imaging_data):
    res = chain.results["flat"]
    path = res.products[0][0]
    flat = fits.getdata(path).astype(float)
    bpm = fits.getdata(path, "BPM")
    true_pix = np.load(imaging_data / "truth_imaging_pixel_flat.npy")
    dead = true_pix < 0.5
    # every injected dead pixel is flagged and (almost) nothing else: at most 2 extra
    assert np.all(bpm[dead] > 0)
    assert (bpm > 0).sum() - dead.sum() <= 2
    good = ~dead
    # pixel-to-pixel rms: injected 1.0 %, plus photon noise of ~5 flats at ~20000 ADU (0.3 %)
    assert abs(res.qc["FLAT.RMS"] / truth["flat"]["pixel_rms"] - 1) < 0.10
    # the master follows the true pattern: master / truth is smooth (illumination only),
    # small-scale residual below 0.5 % (photon noise)
    ratio = np.where(good, flat / np.where(good, true_pix, 1), 1.0)
    small = ratio / ndimage.uniform_filter(ratio, 9, mode="nearest")
    assert np.std(small[good]) < 0.005
    # pixel-scale structure correlates with the truth (expected ~0.96 for 1.0 % vs 0.3 % noise)
    hp = flat / ndimage.uniform_filter(flat, 9, mode="nearest")
    tp = np.where(good, true_pix, 1) / ndimage.uniform_filter(np.where(good, true_pix, 1), 9, mode="nearest")
    assert np.corrcoef(hp[good], tp[good])[0, 1] > 0.9
    assert abs(np.median(flat[good]) - 1) < 1e-3
