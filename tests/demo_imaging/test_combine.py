"""sigma_clip_combine against astropy's sigma clipping and ccdproc.combine (same settings)."""

import numpy as np
import pytest
from astropy.io import fits

from reflexng.recipes.builtin.combine import sigma_clip_combine


def _stack(n=15, ny=40, nx=30, seed=3):
    rng = np.random.default_rng(seed)
    st = rng.normal(500.0, 4.0, (n, ny, nx)).astype(np.float32)
    st[2, 5:9, 5:9] += 3000.0  # a "cosmic ray"
    st[7, 20, :] -= 400.0
    return st


def test_matches_ccdproc_median_clip():
    ccdproc = pytest.importorskip("ccdproc")
    from astropy.nddata import CCDData

    st = _stack()
    ours = sigma_clip_combine(st, method="median", sigma=3, iters=1)
    ref = ccdproc.combine(
        [CCDData(f, unit="adu") for f in st], method="median", sigma_clip=True,
        sigma_clip_low_thresh=3, sigma_clip_high_thresh=3,
        sigma_clip_func=np.ma.median, sigma_clip_dev_func=np.ma.std,
    )
    # tolerance: float32 arithmetic vs ccdproc's float64 (1e-4 ADU on a level of 500)
    np.testing.assert_allclose(ours, ref.data, atol=1e-3)


def test_mean_iterative_matches_astropy_sigma_clip():
    from astropy.stats import sigma_clip

    st = _stack()
    stats = sigma_clip_combine(st, method="mean", sigma=2.5, iters=5, cenfunc="median",
                               return_stats=True)
    ref = sigma_clip(st, sigma=2.5, maxiters=5, cenfunc="median", stdfunc="std", axis=0)
    np.testing.assert_allclose(stats.data, ref.mean(axis=0).filled(np.nan), atol=1e-3)
    np.testing.assert_array_equal(stats.n_used, (~ref.mask).sum(0))
    # the outliers were rejected
    assert stats.n_used[6, 6] == st.shape[0] - 1
    assert abs(stats.data[6, 6] - 500) < 5


def test_fits_paths_in_small_chunks_equal_array(tmp_path):
    st = _stack()
    paths = []
    st = np.rint(st)  # integers, written as BITPIX=16 with BZERO (like raw frames)
    for i, f in enumerate(st):
        p = tmp_path / f"f{i}.fits"
        fits.PrimaryHDU(f.astype(np.uint16)).writeto(p)
        paths.append(p)
    assert fits.getheader(paths[0])["BZERO"] == 32768
    a = sigma_clip_combine(st)
    b = sigma_clip_combine(paths, memory_limit=1)  # one row per chunk
    np.testing.assert_array_equal(a, b)


def test_nan_and_all_rejected_pixels():
    st = _stack(n=9)
    st[:, 0, 0] = np.nan
    st[1:, 1, 1] = np.nan
    out = sigma_clip_combine(st, return_stats=True)
    assert np.isnan(out.data[0, 0]) and out.n_used[0, 0] == 0
    assert out.data[1, 1] == st[0, 1, 1] and out.n_used[1, 1] == 1


def test_bad_input_messages(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        sigma_clip_combine([])
    with pytest.raises(ValueError, match="method"):
        sigma_clip_combine(_stack(), method="mode")
    bad = tmp_path / "bad.fits"
    bad.write_text("not fits")
    with pytest.raises(ValueError, match="bad.fits"):
        sigma_clip_combine([bad])
