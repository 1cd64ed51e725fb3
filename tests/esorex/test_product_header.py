"""Our ESO product headers against real esorex products, card by card.

``esorex uves_cal_mbias`` runs on simulated UVES biases; a product written by
:mod:`reflexng.recipes.product_header` from the same raw frames must carry the same data-flow
cards (PRO.DID/CATG/TYPE/TECH/SCIENCE, REC1 ID/DRS ID/PIPE ID, RAWi NAME/CATG, DATANCOM,
PARAMi NAME/VALUE as strings), the same inherited observation cards, DATE/PIPEFILE/DATAMD5, and
none of the cards CPL leaves out (DPR, ARCFILE, ORIGFILE). DATAMD5 is checked against a product
whose MD5 CPL computed (NACO's pixel maps; some CPL recipes write data after the checksum, so not
every esorex product's DATAMD5 matches its data).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from astropy.io import fits

from reflexng.recipes.protocol import ParameterSpec, Recipe

# cards the UVES pipeline computes itself (statistics, its own WCS and provenance extras) or that
# name the file; everything else in its primary header is compared
UVES_OWN = {"DATAMIN", "DATAMAX", "CUNIT1", "CUNIT2", "CD1_1", "CD1_2", "CD2_1", "CD2_2", "BUNIT",
            "EXPTIME", "CHECKSUM", "DATASUM", "ARCFILE", "RA", "DEC"}  # RA/DEC: UVES writes 0 when absent
CPL_PRO = re.compile(r"ESO PRO (DID|CATG|TYPE|TECH|SCIENCE|DATANCOM|REC1 (ID|DRS ID|PIPE ID|RAW\d+ (NAME|CATG)|"
                     r"CAL\d+ (NAME|CATG|DATAMD5)|PARAM\d+ (NAME|VALUE)))$")


def _esorex(recipe: str, sof: list[tuple[str, str]], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "in.sof").write_text("".join(f"{p} {c}\n" for p, c in sof))
    subprocess.run(["esorex", f"--output-dir={out}", "--log-dir=" + str(out), recipe, str(out / "in.sof")],
                   check=True, capture_output=True, timeout=300)
    return sorted(out.glob("*.fits"))


class _UvesLike(Recipe):
    """A recipe description with the parameters uves_cal_mbias reports (as strings, like CPL)."""

    name = "uves_cal_mbias"
    version = "1.0"
    parameters = (ParameterSpec("stack_method", "str", "median"), ParameterSpec("klow", "float", 5.0),
                  ParameterSpec("khigh", "float", 5.0), ParameterSpec("niter", "int", 5),
                  ParameterSpec("debug", "bool", False))


def _bare(key: str) -> str:
    return key[9:] if key.startswith("HIERARCH ") else key


def test_master_bias_cards_match_esorex(esorex, uves_data, tmp_path):
    import numpy as np

    from reflexng.recipes.product_header import data_md5, product_header, write_hdus

    raw_dir, truth = uves_data
    biases = sorted(str(raw_dir / f) for f in truth["files"] if "bias_n0" in f)
    (cpl_path,) = _esorex("uves_cal_mbias", [(b, "BIAS_BLUE") for b in biases], tmp_path / "esorex")
    cpl = fits.getheader(cpl_path)

    ours_path = tmp_path / "ours" / "masterbias_blue.fits"
    ours_path.parent.mkdir()
    h = product_header([(b, "BIAS_BLUE") for b in biases], "MASTER_BIAS_BLUE", _UvesLike, {}, {"OUT1 RON": 2.0})
    write_hdus(ours_path, [fits.PrimaryHDU(np.zeros((8, 8), np.float32), header=h)])
    ours = fits.getheader(ours_path)

    # 1. every CPL data-flow card esorex wrote is in ours, with the same value where it must agree
    cpl_pro = [k for k in cpl if CPL_PRO.match(_bare(k))]
    assert len(cpl_pro) >= 20
    for k in cpl_pro:
        if " PARAM" in k:
            continue  # parameters differ by recipe; their form is checked below
        assert k in ours, f"{k} missing from our product"
        if not k.endswith(("DRS ID", "PIPE ID", "REC1 ID")):
            assert ours[k] == cpl[k], (k, ours[k], cpl[k])
        assert type(ours[k]) is type(cpl[k]), (k, type(ours[k]), type(cpl[k]))
    # 2. parameters: NAME/VALUE pairs numbered from 1, values strings, comment "Default: ..."
    for hdr in (cpl, ours):
        n = 1
        while f"HIERARCH ESO PRO REC1 PARAM{n} NAME" in hdr:
            v = f"HIERARCH ESO PRO REC1 PARAM{n} VALUE"
            assert isinstance(hdr[v], str) and hdr.comments[v].startswith("Default: ")
            n += 1
        assert n > 5
    assert ours["HIERARCH ESO PRO REC1 PARAM1 VALUE"] == "median"
    # 3. inherited observation cards: what esorex kept from the first raw frame, ours kept too
    for k in cpl:
        b = _bare(k)
        if b in UVES_OWN or b.startswith(("ESO PRO", "ESO QC", "COMMENT")) or k in ("SIMPLE", "BITPIX", "EXTEND") \
                or k.startswith("NAXIS"):
            continue
        assert k in ours, f"inherited card {k} missing from our product"
        if k not in ("DATE", "DATAMD5", "PIPEFILE"):
            assert ours[k] == cpl[k], (k, ours[k], cpl[k])
    # 4. what CPL leaves out of products
    for k in ours:
        assert not _bare(k).startswith(("ESO DPR ", "ORIGFILE")), k
    assert "ARCFILE" not in ours
    assert ours["PIPEFILE"] == ours_path.name and cpl["PIPEFILE"] == cpl_path.name
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", ours["DATE"])
    assert ours["DATAMD5"] == data_md5(ours_path) and re.fullmatch(r"[0-9a-f]{32}", ours["DATAMD5"])
    assert ours["HIERARCH ESO QC OUT1 RON"] == 2.0


def test_datamd5_is_cpls_checksum_of_the_data_units(esorex, naco_data, tmp_path):
    """CPL's DATAMD5 of NACO's cold-pixel map (written in one go) equals ours; editing a header
    keeps it (the header is not part of it)."""
    from reflexng.recipes.product_header import data_md5

    raw_dir, truth = naco_data
    darks = sorted(str(raw_dir / f) for f in truth["files"] if "dark_n0_s0" in f)
    products = _esorex("naco_img_dark", [(d, "CAL_DARK") for d in darks], tmp_path / "esorex")
    cold = next(p for p in products if p.name.endswith("coldpix.fits"))
    assert data_md5(cold) == fits.getheader(cold)["DATAMD5"]
    copy = tmp_path / "edited.fits"
    with fits.open(cold) as hdul:
        hdul[0].header["OBSERVER"] = "someone else"
        hdul.writeto(copy)
    assert data_md5(copy) == fits.getheader(cold)["DATAMD5"]


@pytest.mark.parametrize("mode", ["imaging", "spectroscopy"])
def test_every_demo_product_carries_the_eso_cards(mode, tmp_path):
    """Every FITS product of a demo reduction (run by the engine in child processes) has the
    data-flow cards, a valid DATAMD5, and BUNIT + WCS on every image HDU."""
    import json
    import os
    import sys

    from reflexng.recipes.product_header import data_md5

    data = tmp_path / "data"
    env = {**os.environ, "PYTHONSAFEPATH": "1"}
    size = ["--size", "256"] if mode == "imaging" else []
    subprocess.run([sys.executable, "-m", "reflexng", "demo-data", "--mode", mode, "--out", str(data), *size],
                   check=True, capture_output=True, env=env, timeout=600)
    cascade = f"demo_{mode}"
    r = subprocess.run([sys.executable, "-m", "reflexng", "run", "--cascade", cascade, "--data", str(data),
                        "--workdir", str(tmp_path / "work"), "--json"], capture_output=True, text=True, env=env,
                       timeout=1200)
    assert r.returncode == 0, r.stderr[-2000:]
    summary = json.loads(r.stdout)
    products = [p for j in summary["jobs"] for p in j["products"] if p.endswith(".fits")]
    assert len(products) >= 8
    for p in products:
        with fits.open(p) as hdul:
            h = hdul[0].header
            for k in ("DATE", "PIPEFILE", "DATAMD5", "HIERARCH ESO PRO DID", "HIERARCH ESO PRO CATG",
                      "HIERARCH ESO PRO TYPE", "HIERARCH ESO PRO SCIENCE", "HIERARCH ESO PRO DATANCOM",
                      "HIERARCH ESO PRO REC1 ID", "HIERARCH ESO PRO REC1 DRS ID", "HIERARCH ESO PRO REC1 PIPE ID",
                      "HIERARCH ESO PRO REC1 PARAM1 NAME", "HIERARCH ESO PRO REC1 PARAM1 VALUE"):
                assert k in h, (p, k)
            assert "HIERARCH ESO PRO REC1 RAW1 NAME" in h and "HIERARCH ESO PRO REC1 RAW1 CATG" in h, p
            assert "ARCFILE" not in h and not any(_bare(k).startswith("ESO DPR") for k in h), p
            assert h["PIPEFILE"] == os.path.basename(p)
            assert h["DATAMD5"] == data_md5(p), p
            for hdu in hdul:
                if hdu.is_image and hdu.data is not None and hdu.data.ndim == 2:
                    assert "BUNIT" in hdu.header and "CTYPE1" in hdu.header, (p, hdu.name)
            names = [hdu.name for hdu in hdul]
            assert "VAR" not in names, p
            if h["HIERARCH ESO PRO CATG"].endswith(("_SPECTRUM", "_SPECTRUM_COMBINED")):
                t = hdul["SPECTRUM"]
                assert len(t.data) == 1 and t.header["VOCLASS"] == "SPECTRUM v2.0"
                assert {"WAVELMIN", "WAVELMAX", "SPEC_BIN", "SPECSYS", "MJD-OBS", "MJD-END", "EXPTIME"} <= set(h)
                assert hdul[0].data is None and "CRVAL1" not in h
            if h["HIERARCH ESO PRO CATG"] in ("COADD_IMG", "SCI_SPECTRUM_COMBINED"):
                n = h["NCOMBINE"]
                assert n >= 2 and h["TEXPTIME"] == h["EXPTIME"] > 0 and h["MJD-END"] > h["MJD-OBS"]
                assert h["HIERARCH ESO PRO DATANCOM"] == n
                names = {h[f"HIERARCH ESO PRO REC1 RAW{i} NAME"] for i in range(1, n + 1)}
                assert len(names) == n  # every input named apart
