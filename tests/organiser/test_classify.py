"""Classification: categories, reasons for unclassified files, ambiguous, duplicates,
processed calibrations, unreadable files."""

from __future__ import annotations

import shutil

import numpy as np
from astropy.io import fits

from reflexng.organiser import organise
from reflexng.organiser.model import AMBIGUOUS, DUPLICATE, OK, UNCLASSIFIED, UNREADABLE

from .conftest import T0


def by_name(result):
    return {f.path.rsplit("/", 1)[-1]: f for f in result.files}


def test_every_file_gets_a_category_or_a_reason(data, mini):
    data.night()
    data.science("sci.fits", T0)
    data.write("odd_arc.fits", DPR_TYPE="LAMP,ARC", DET_BINX=1, MJD__OBS=T0)
    data.write("calib_object.fits", DPR_CATG="CALIB", DPR_TYPE="OBJECT", MJD__OBS=T0)
    files = by_name(organise(mini, data.root))
    assert files["n1_bias_0.fits"].category == "BIAS"
    assert files["n1_bias_0.fits"].data_source == "RAW_BIAS"
    assert files["n1_arc.fits"].category == "ARC"  # function rule
    assert files["sci.fits"].category == "SCIENCE"  # alternatives in a rule
    assert files["sci.fits"].mjd == T0
    odd = files["odd_arc.fits"]
    assert odd.status == UNCLASSIFIED and odd.category is None
    assert odd.reason.startswith("nearest rule BIAS (mini.py:")
    assert "DPR.TYPE is 'LAMP,ARC', expected 'BIAS'" in odd.reason
    # nearest = fewest mismatches, then most matching keywords: the SCIENCE rule
    calib = files["calib_object.fits"]
    assert calib.status == UNCLASSIFIED
    assert "nearest rule SCIENCE (mini.py:" in calib.reason
    assert "DPR.CATG is 'CALIB', expected 'SCIENCE'" in calib.reason


def test_ambiguous_names_both_rules(data, mini):
    data.write("lampflat.fits", DPR_TYPE="FLAT", INS_LAMP="ON", MJD__OBS=T0)
    f = by_name(organise(mini, data.root))["lampflat.fits"]
    assert f.status == AMBIGUOUS and f.category is None
    assert "FLAT of RAW_FLAT" in f.reason and "LAMP_FLAT of RAW_LAMP" in f.reason


def test_identical_copies_are_duplicates_used_once(data, mini):
    data.night()
    sci = data.science("a_sci.fits", T0)
    (data.root / "z_copy").mkdir()
    shutil.copy(sci, data.root / "z_copy" / "sci_copy.fits")
    result = organise(mini, data.root, "science")
    files = by_name(result)
    dup = files["sci_copy.fits"]
    assert dup.status == DUPLICATE and dup.duplicate_of == str(sci)
    assert "identical to" in dup.reason
    assert files["a_sci.fits"].status == OK
    mains = [p for j in result.jobs.values() if j.task == "science" for p in j.main]
    assert mains == [str(sci)]
    assert len(result.datasets) == 1


def test_same_header_different_pixels_is_not_duplicate(data, mini):
    hdr = fits.Header()
    hdr["HIERARCH ESO DPR TYPE"] = "DARK"
    hdr["MJD-OBS"] = T0
    fits.PrimaryHDU(np.zeros((4, 4), np.int16), hdr).writeto(data.root / "d1.fits")
    fits.PrimaryHDU(np.ones((4, 4), np.int16), hdr).writeto(data.root / "d2.fits")
    files = by_name(organise(mini, data.root))
    assert files["d1.fits"].status == OK and files["d2.fits"].status == OK
    assert files["d1.fits"].header_digest == files["d2.fits"].header_digest


def test_processed_calibrations_are_recognised(data, mini):
    data.write("mbias.fits", PRO_CATG="MASTER_BIAS", PRO_REC1_ID="test_bias", DPR_TYPE="BIAS",
               DET_BINX=1, MJD__OBS=T0 - 0.3)
    f = by_name(organise(mini, data.root))["mbias.fits"]
    # a product keeps DPR.TYPE=BIAS but is not a raw bias
    assert f.status == OK and f.processed and f.category == "MASTER_BIAS"
    assert f.data_source is None
    assert "processed calibration" in f.reason


def test_bad_files_are_listed_not_fatal(data, mini):
    data.night()
    data.science("sci.fits", T0)
    (data.root / "empty.fits").write_bytes(b"")
    (data.root / "text.fits").write_text("not a fits file at all\n" * 200)
    result = organise(mini, data.root)
    files = by_name(result)
    for name in ("empty.fits", "text.fits"):
        assert files[name].status == UNREADABLE and files[name].reason
    assert len(result.datasets) == 1 and result.datasets[0].complete


def test_excluded_files_are_not_associated(data, mini):
    data.night()
    sci = data.science("sci.fits", T0)
    extra = data.write("n1_sky_x.fits", DPR_TYPE="SKY", MJD__OBS=T0 + 0.001)
    result = organise(mini, data.root, "science", excluded_files=[extra])
    assert result.file(str(extra)).excluded
    (job,) = [j for j in result.jobs.values() if j.main == (str(sci),)]
    assert str(extra) not in [c.path for c in job.associated["RAW_SKY"].chosen]


def test_cancel_and_progress(data, mini):
    import pytest

    from reflexng.organiser import OrganiseCancelled

    data.night()
    data.science("sci.fits", T0)
    seen = []
    result = organise(mini, data.root, progress=lambda done, total: seen.append((done, total)))
    assert result.datasets and seen and seen[-1][0] == seen[-1][1]
    with pytest.raises(OrganiseCancelled):
        organise(mini, data.root, cancelled=lambda: True)


def test_overlapping_data_folders_count_each_file_once(data, mini):
    data.night()
    (data.root / "sub").mkdir()
    sci = data.science("sub/sci.fits", T0)
    result = organise(mini, [data.root, data.root / "sub"])
    assert [f.path for f in result.files].count(str(sci)) == 1
    assert result.file(str(sci)).status == OK and len(result.datasets) == 1
