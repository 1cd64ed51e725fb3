"""Simulated raw frames for the ESO UVES (blue arm), NACO (imaging), HAWK-I (imaging, in
:mod:`reflexng.simulate.eso_hawki`), VIMOS (CASU imaging, :mod:`reflexng.simulate.eso_vimos`)
GIRAFFE (:mod:`reflexng.simulate.eso_giraffe`) and MUSE (biases,
:mod:`reflexng.simulate.eso_muse`) recipes run by esorex.

The headers carry what the real recipes read (see docs/eso-pipelines.md) plus the keywords
the instruments' OCA rules classify on (``DPR.CATG/TYPE/TECH``, ``DET.CHIPS``, ...). Data span
``nights`` nights with a different bias/dark level per night (UVES) and two detector settings
(NACO: DIT and read-out mode), so that choosing the right calibration matters; NACO also gets
a Ks jitter sequence with stars for naco_img_jitter.

``generate(instrument, out, *, nights=2, seed=1) -> dict`` writes the files and
``truth.json`` (the injected levels and the values a correct reduction must recover).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from reflexng.simulate.eso_fits import card as _card
from reflexng.simulate.eso_fits import iso as _iso

INSTRUMENTS = ("uves", "naco", "hawki", "vimos", "giraffe", "muse")
MJD_FIRST_NIGHT = 60300.0  # 2023-12-22 00:00 UT, start of the first simulated night (noon UT)



def _write(path: Path, data: np.ndarray, cards: dict[str, Any]) -> None:
    from astropy.io import fits

    hdr = fits.Header()
    for key, value in cards.items():
        hdr[_card(key)] = value
    fits.PrimaryHDU(data.astype(np.float32), hdr).writeto(path, overwrite=True)


# --------------------------------------------------------------------------- UVES


UVES_FLAT_PEAK, UVES_FLAT_EXPTIME = 8000.0, 10.0  # ADU at the blaze peak, s
UVES_ORDERS = 8  # echelle orders across the 512 data columns (blue arm, CD#2)
UVES_SETTING = {"INS.PATH": "BLUE", "INS.MODE": "BLUE", "INS.GRAT1.NAME": "CD#2",
                "INS.GRAT1.WLEN": 437.0, "INS.SLIT1.NAME": "FREE", "INS.SLIT2.WID": 0.4}


def _uves_orders(ny: int, nx: int, pre: int, sigma: float, peak: float) -> np.ndarray:
    """Echelle orders as the raw blue frame has them: running along y (the recipes rotate the
    image so that they run along x), equally spaced across the data columns, slightly tilted
    and curved, with a blaze fall-off towards both ends; Gaussian cross-order profile of width
    ``sigma`` (narrow for the order definition, wide for the flat)."""
    yy, xx = np.mgrid[0:ny, 0:nx]
    img = np.zeros((ny, nx))
    dy = yy - ny / 2
    blaze = np.exp(-0.5 * (dy / (ny / 2.5)) ** 2)
    for c in uves_order_centres(nx - 2 * pre):
        centre = pre + c + 0.02 * dy + 4e-5 * dy ** 2
        img += peak * blaze * np.exp(-0.5 * ((xx - centre) / sigma) ** 2)
    return img


def uves_order_centres(width: int) -> list[float]:
    """Data-column (0-based, after the prescan) of each order at the central row."""
    return [float(c) for c in np.linspace(40, width - 40, UVES_ORDERS)]


def _uves(out: Path, nights: int, rng: np.random.Generator) -> dict:
    """Blue-arm biases, darks, an order-definition flat and lamp flats: 612 x 512 (50 px pre-
    and overscan). uves_cal_orderpos finds the orders from scratch (no guess table) by a Hough
    transform: it needs them running along y in the raw frame, well separated, with a
    background between them, and ``ESO DET OUT1 RON``/``CONAD`` for its noise model."""
    ny, nx, pre, over = 512, 612, 50, 50
    read_noise = 2.0
    dark_exptime = 60.0
    files: list[str] = []
    truth_nights = []
    for night in range(nights):
        bias_level = 150.0 + 20.0 * night
        dark_signal = 30.0 + 10.0 * night  # ADU collected during the dark exposure
        mjd0 = MJD_FIRST_NIGHT + night + 0.9  # ~21:36 UT
        truth_nights.append({
            "night": night, "bias_level": bias_level, "dark_level": bias_level + dark_signal,
            "dark_exptime": dark_exptime, "read_noise": read_noise,
            "expected_master_bias": bias_level,
            "expected_master_dark": dark_signal,
        })
        plan = (("BIAS", 3, 0.0, "IMAGE"), ("DARK", 3, dark_exptime, "IMAGE"),
                ("LAMP,ORDERDEF", 1, 5.0, "ECHELLE"), ("LAMP,FLAT", 3, UVES_FLAT_EXPTIME, "ECHELLE"))
        for kind, n, exptime, tech in plan:
            tpl_start = _iso(mjd0)
            short = {"LAMP,ORDERDEF": "orderdef", "LAMP,FLAT": "flat"}.get(kind, kind.lower())
            for i in range(n):
                mjd = mjd0 + i * 0.002
                level = bias_level + (dark_signal if kind == "DARK" else 0.0)
                img = rng.normal(level, read_noise, (ny, nx))
                if kind == "LAMP,ORDERDEF":
                    img += _uves_orders(ny, nx, pre, 1.5, 4000.0)
                elif kind == "LAMP,FLAT":
                    img += _uves_orders(ny, nx, pre, 4.0, UVES_FLAT_PEAK)
                img[:, :pre] = rng.normal(bias_level, read_noise, (ny, pre))
                img[:, nx - over:] = rng.normal(bias_level, read_noise, (ny, over))
                name = f"UVES.{_iso(mjd)}.{short}_n{night}_{i}.fits".replace(":", "-")
                cards = {
                    "INSTRUME": "UVES", "ORIGIN": "ESO", "TELESCOP": "ESO-VLT-U2",
                    "DATE-OBS": _iso(mjd), "MJD-OBS": mjd, "EXPTIME": exptime,
                    "ARCFILE": name, "OBJECT": kind,
                    "CTYPE1": "PIXEL", "CTYPE2": "PIXEL", "CRVAL1": 1.0, "CRVAL2": 1.0,
                    "CRPIX1": 1.0, "CRPIX2": 1.0, "CDELT1": 1.0, "CDELT2": 1.0,
                    "DPR.CATG": "CALIB", "DPR.TYPE": kind, "DPR.TECH": tech,
                    "DET.CHIPS": 1, "DET.OUTPUTS": 1, **UVES_SETTING,
                    "DET.OUT1.RON": read_noise, "DET.OUT1.CONAD": 0.5, "DET.OUT1.GAIN": 2.0,
                    "DET.CHIP1.ID": "CCD-44b", "DET.CHIP1.NAME": "EEV",
                    "DET.OUT1.PRSCX": pre, "DET.OUT1.OVSCX": over,
                    "DET.WIN1.BINX": 1, "DET.WIN1.BINY": 1,
                    "DET.READ.SPEED": "225kHz,1x1,low",
                    "TPL.ID": f"UVES_blue_cal_{short}", "TPL.START": tpl_start,
                }
                _write(out / name, img, cards)
                files.append(name)
            mjd0 += 0.05
    return {"instrument": "uves", "files": files, "nights": truth_nights,
            "shape": [ny, nx], "tolerance_adu": 1.0,
            # the order table's Yfit at the central row: data column + 1 (FITS pixels)
            "order_centres": [c + 1.0 for c in uves_order_centres(nx - pre - over)],
            # uves_cal_mflat normalises to the exposure time: the orders' peak in ADU/s
            "flat_peak_per_second": UVES_FLAT_PEAK / UVES_FLAT_EXPTIME,
            "expected_products": {"bias_blue": ["MASTER_BIAS_BLUE"], "orderpos_blue": ["ORDER_TABLE_BLUE"],
                                  "flat_blue": ["BKG_FLAT_BLUE", "MASTER_FLAT_BLUE"]}}


# --------------------------------------------------------------------------- NACO


NACO_SETTINGS = (
    # (DIT [s], detector mode, NDIT, dark level above zero [ADU])
    (10.0, "Double_RdRstRd", 1, 120.0),
    (2.0, "FowlerNsamp", 4, 60.0),
)


def _naco(out: Path, nights: int, rng: np.random.Generator, n: int = 1024) -> dict:
    """Darks (3 per setting) and twilight flats (5 per setting, rising level), n x n
    (naco_img_dark's default border window needs n > 400)."""
    read_noise = 5.0
    yy, xx = np.mgrid[0:n, 0:n]
    files: list[str] = []
    settings = []
    jitter: list[dict] = []
    for night in range(nights):
        for s, (dit, mode, ndit, dark_level) in enumerate(NACO_SETTINGS):
            mjd0 = MJD_FIRST_NIGHT + night + 0.95 + 0.02 * s
            # true pixel response: a gentle gradient (normalised to mean 1)
            response = 1.0 + 0.05 * (xx - n / 2) / n
            common = {
                "INSTRUME": "NAOS+CONICA", "ORIGIN": "ESO", "TELESCOP": "ESO-VLT-U4",
                "DET.DIT": dit, "DET.NDIT": ndit, "DET.NCORRS": 0,
                "DET.NCORRS.NAME": mode, "DET.MODE.NAME": mode,
                "INS.OPTI7.NAME": "S27", "INS.OPTI6.NAME": "Ks", "INS.OPTI6.ID": "Ks",
                "DET.WIN.NX": n, "DET.WIN.NY": n, "INS.OPTI5.ID": "Ks",
                "AIRMASS": 1.2, "TEL.AIRM.START": 1.2, "TEL.AIRM.END": 1.2,
            }
            for kind, count in (("DARK", 3), ("FLAT,SKY", 5)):
                tpl = "NACO_img_cal_Darks" if kind == "DARK" else "NACO_img_cal_SkyFlats"
                tpl_start = _iso(mjd0)
                for i in range(count):
                    mjd = mjd0 + i * 0.001
                    if kind == "DARK":
                        img = rng.normal(dark_level, read_noise, (n, n))
                    else:
                        sky = 2000.0 + 1500.0 * i  # twilight sky rising frame by frame
                        img = dark_level + sky * response + rng.normal(0, read_noise, (n, n))
                    short = "dark" if kind == "DARK" else "flat"
                    name = f"NACO.{_iso(mjd)}.{short}_n{night}_s{s}_{i}.fits".replace(":", "-")
                    cards = dict(common)
                    cards.update({
                        "DATE-OBS": _iso(mjd), "MJD-OBS": mjd, "EXPTIME": dit * ndit,
                        "ARCFILE": name, "OBJECT": kind,
                        "DPR.CATG": "CALIB", "DPR.TYPE": kind, "DPR.TECH": "IMAGE",
                        "TPL.ID": tpl, "TPL.START": tpl_start,
                    })
                    _write(out / name, img, cards)
                    files.append(name)
                mjd0 += 0.01
            settings.append({"night": night, "dit": dit, "mode": mode, "ndit": ndit,
                             "dark_level": dark_level, "expected_flat_median": 1.0})
        jitter.append(_naco_jitter(out, night, rng, n, read_noise, files))
    return {"instrument": "naco", "files": files, "settings": settings, "shape": [n, n],
            "read_noise": read_noise, "jitter": jitter}


NACO_OFFSETS = ((0, 0), (20, 10), (-15, 25), (30, -20), (-25, -15))  # jitter pattern [pixel]


def _naco_jitter(out: Path, night: int, rng: np.random.Generator, n: int, read_noise: float,
                 files: list[str]) -> dict:
    """One Ks jitter sequence (5 frames, DIT 10 s, Double_RdRstRd: the first NACO setting):
    25 Gaussian stars on a flat sky, offsets in ``ESO SEQ CUMOFFSETX/Y`` as naco_img_jitter
    reads them."""
    dit, mode, ndit, dark_level = NACO_SETTINGS[0]
    sky, sigma = 1500.0, 2.0
    margin = min(150, n // 4)
    stars = [(float(rng.uniform(margin, n - margin)), float(rng.uniform(margin, n - margin)),
              float(rng.uniform(2000.0, 20000.0))) for _ in range(25)]
    yy, xx = np.mgrid[0:25, 0:25]
    mjd0 = MJD_FIRST_NIGHT + night + 1.05
    tpl_start = _iso(mjd0)
    for i, (dx, dy) in enumerate(NACO_OFFSETS):
        mjd = mjd0 + i * 0.001
        img = dark_level + sky + rng.normal(0.0, read_noise, (n, n))
        for x, y, peak in stars:
            cx, cy = x + dx, y + dy
            x0, y0 = int(cx) - 12, int(cy) - 12
            img[y0:y0 + 25, x0:x0 + 25] += peak * np.exp(
                -((xx + x0 - cx) ** 2 + (yy + y0 - cy) ** 2) / (2 * sigma ** 2))
        name = f"NACO.{_iso(mjd)}.jitter_n{night}_{i}.fits".replace(":", "-")
        _write(out / name, img, {
            "INSTRUME": "NAOS+CONICA", "ORIGIN": "ESO", "TELESCOP": "ESO-VLT-U4",
            "DATE-OBS": _iso(mjd), "MJD-OBS": mjd, "EXPTIME": dit * ndit, "ARCFILE": name,
            "OBJECT": "FIELD", "AIRMASS": 1.2, "TEL.AIRM.START": 1.2, "TEL.AIRM.END": 1.2,
            "DPR.CATG": "SCIENCE", "DPR.TYPE": "OBJECT", "DPR.TECH": "IMAGE,JITTER",
            "DET.DIT": dit, "DET.NDIT": ndit, "DET.NCORRS": 0, "DET.NCORRS.NAME": mode,
            "DET.MODE.NAME": mode, "INS.OPTI7.NAME": "S27", "INS.OPTI6.NAME": "Ks",
            "INS.OPTI6.ID": "Ks", "INS.OPTI5.ID": "Ks", "INS.OPTI4.ID": "empty",
            "INS.OPTI3.NAME": "Full", "INS.OPTI4.NAME": "empty", "INS.PIXSCALE": 0.027,
            "SEQ.CUMOFFSETX": float(dx), "SEQ.CUMOFFSETY": float(dy),
            "TPL.ID": "NACO_img_obs_AutoJitter", "TPL.START": tpl_start,
            "TPL.NEXP": len(NACO_OFFSETS), "OBS.ID": 100 + night,
        })
        files.append(name)
    return {"night": night, "frames": len(NACO_OFFSETS), "sky_level": sky,
            "stars": [{"x": x, "y": y, "peak": p} for x, y, p in stars],
            "offsets": [list(o) for o in NACO_OFFSETS], "expected_product": "COADDED_IMG"}


def generate(instrument: str, out: Path, *, nights: int = 2, seed: int = 1,
             size: int | None = None) -> dict:
    """Write raw frames for ``instrument`` (one of :data:`INSTRUMENTS`) into ``out`` plus ``truth.json``;
    return the summary (also the truth). ``size`` sets the NACO detector size (default 1024;
    a small size makes naco_img_dark fail: the image is smaller than its border window)."""
    instrument = instrument.lower()
    if instrument not in INSTRUMENTS:
        raise ValueError(f"unknown ESO instrument {instrument!r}; choose one of {list(INSTRUMENTS)}")
    if nights < 1:
        raise ValueError("nights must be >= 1")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    if instrument == "hawki":
        from reflexng.simulate import eso_hawki

        summary = eso_hawki.generate(out, nights=nights, seed=seed, mjd_first=MJD_FIRST_NIGHT)
    elif instrument == "vimos":
        from reflexng.simulate import eso_vimos

        summary = eso_vimos.generate(out, nights=nights, seed=seed, mjd_first=MJD_FIRST_NIGHT)
    elif instrument == "muse":
        from reflexng.simulate import eso_muse

        summary = eso_muse.generate(out, nights=nights, seed=seed, mjd_first=MJD_FIRST_NIGHT)
    elif instrument == "giraffe":
        from reflexng.simulate import eso_giraffe

        summary = eso_giraffe.generate(out, nights=nights, seed=seed, mjd_first=MJD_FIRST_NIGHT)
    elif instrument == "uves":
        summary = _uves(out, nights, rng)
    else:
        summary = _naco(out, nights, rng, size or 1024)
    summary["out"] = str(out)
    (out / "truth.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary
