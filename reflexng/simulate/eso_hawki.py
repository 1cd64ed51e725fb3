"""Simulated HAWK-I raw frames and static tables for the CASU recipes run by esorex.

Raw files are HAWK-I-like: an empty primary HDU with the observation keywords, and four
2048 x 2048 detector extensions ``CHIP1.INT1`` .. ``CHIP4.INT1`` (hawki_twilight_flat_combine
rejects smaller detectors: "No images within thresholds"). Pixels are 16-bit integers stored
Rice-compressed (lossless; CFITSIO, and so every CPL recipe, reads them transparently), so a
night stays well under 200 MB.

Per night: 3 darks (DIT 10 s), 5 Ks twilight flats with rising level, one Ks jitter pawprint
of 4 exposures with stars (known positions, a tangent-plane WCS per chip, the detectors laid
out as the recipe's joint astrometric fit expects: see CHIP_ORIGIN) on a sky of
1100 ADU, and one offset sky frame. The static tables hawki_science_process reads are written
in the format it accepts (found by trial against the recipe): MASTER_READGAIN (EXTNAME,
READNOISE, GAIN, COVAR per chip), PHOTCAL_TAB (extension named after the photometric
catalogue, ``PHOTOSYS`` card, columns filter_name, atm_extcoef, mag_offset, coleq_columns,
coleq_errcols, coleq_coefs, gal_extcoef, default_zp, default_zp_err), local astrometric and
photometric catalogues of the injected stars (RA, Dec, Ksmag, Kserr; extension named like
the PHOTCAL_TAB extension) and two small Schlegel maps. No MATCHSTD_PHOTOM: the recipe's help
lists it as required, but the recipe runs without it and crashes (SIGSEGV, no message) on a
matched standards table in a format it does not expect.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from reflexng.simulate.eso_fits import card as _card
from reflexng.simulate.eso_fits import iso as _iso

N = 2048
SCALE = 0.106 / 3600.0  # deg / pixel
RA0, DEC0 = 150.0, 2.0
DIT = 10.0
JITTER = ((0, 0), (15, 10), (-12, 18), (20, -14))  # pixel offsets of the pawprint's exposures
GRADIENT = 0.05  # relative response change across a detector, left to right
# Where each detector's pixel (1, 1) sits in the focal plane, in pixels. hawki_science_process
# fits ONE plate solution to the stars of all four detectors (hawki_wcsfit_multi), placing
# them with its own built-in layout: CHIP3 above CHIP1 and CHIP4 above CHIP2, gaps of ~153 px
# in x and ~141 px in y (read back from the per-detector CRPIX the recipe writes). A layout
# that differs (CHIP3 above CHIP2, as this simulator had first) makes the joint fit
# meaningless: RA scale 0.059"/px instead of 0.106, rotation -12 deg, RMS 4" and no stars
# matched on the stack ("Too few standards (0) in table for 6 coefficient fit").
CHIP_ORIGIN = {1: (0, 0), 2: (2201, 1), 3: (7, 2189), 4: (2207, 2192)}



def _write(path: Path, cards: dict[str, Any], chips: list[np.ndarray], chip_cards) -> None:
    from astropy.io import fits

    primary = fits.PrimaryHDU()
    for k, v in cards.items():
        primary.header[_card(k)] = v
    hdus = [primary]
    for c, data in enumerate(chips, start=1):
        ext = fits.CompImageHDU(np.clip(data, -32000, 32000).astype(np.int16), compression_type="RICE_1")
        ext.header["EXTNAME"] = f"CHIP{c}.INT1"
        ext.header["HIERARCH ESO DET CHIP NO"] = c
        for k, v in chip_cards(c).items():
            ext.header[_card(k)] = v
        hdus.append(ext)
    fits.HDUList(hdus).writeto(path, overwrite=True)


def _wcs(c: int, dx: float = 0.0, dy: float = 0.0) -> dict[str, Any]:
    ox, oy = CHIP_ORIGIN[c]
    return {"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CRVAL1": RA0, "CRVAL2": DEC0,
            "CRPIX1": 2174.0 - ox + dx, "CRPIX2": 2174.0 - oy + dy,
            "CD1_1": -SCALE, "CD1_2": 0.0, "CD2_1": 0.0, "CD2_2": SCALE}


def _stars(rng: np.random.Generator, n: int = 120) -> list[dict]:
    half = 2200 * SCALE
    out = []
    for _ in range(n):
        ra = RA0 + rng.uniform(-half, half) / math.cos(math.radians(DEC0))
        dec = DEC0 + rng.uniform(-half, half)
        mag = float(rng.uniform(12.0, 16.0))
        out.append({"ra": float(ra), "dec": float(dec), "ksmag": mag})
    return out


def _add_stars(img: np.ndarray, c: int, stars: list[dict], dx: float, dy: float, zp: float) -> None:
    w = _wcs(c, dx, dy)
    sigma = 1.5
    yy, xx = np.mgrid[0:15, 0:15]
    for s in stars:
        x = w["CRPIX1"] - 1 + (s["ra"] - RA0) * math.cos(math.radians(DEC0)) / w["CD1_1"]
        y = w["CRPIX2"] - 1 + (s["dec"] - DEC0) / w["CD2_2"]
        if not (10 <= x < N - 10 and 10 <= y < N - 10):
            continue
        flux = 10 ** (-0.4 * (s["ksmag"] - zp)) * DIT
        peak = flux / (2 * math.pi * sigma ** 2)
        x0, y0 = int(x) - 7, int(y) - 7
        img[y0:y0 + 15, x0:x0 + 15] += peak * np.exp(-((xx + x0 - x) ** 2 + (yy + y0 - y) ** 2) / (2 * sigma ** 2))


def _table(path: Path, catg: str, columns: dict[str, Any], extname: str = "1",
           extra: dict[str, Any] | None = None) -> None:
    from astropy.io import fits
    from astropy.table import Table

    primary = fits.PrimaryHDU()
    primary.header["HIERARCH ESO PRO CATG"] = catg
    primary.header["INSTRUME"] = "HAWKI"
    tab = fits.table_to_hdu(Table(columns))
    tab.header["EXTNAME"] = extname
    for k, v in (extra or {}).items():
        tab.header[k] = v
    fits.HDUList([primary, tab]).writeto(path, overwrite=True)


def _statics(out: Path, stars: list[dict], zp: float) -> list[str]:
    from astropy.io import fits

    folder = out / "static"
    folder.mkdir(parents=True, exist_ok=True)
    chips = [f"CHIP{c}.INT1" for c in range(1, 5)]
    _table(folder / "hawki_readgain.fits", "MASTER_READGAIN",
           {"EXTNAME": chips, "READNOISE": [5.0] * 4, "GAIN": [1.7] * 4, "COVAR": [0.0] * 4})
    _table(folder / "hawki_photcal.fits", "PHOTCAL_TAB",
           {"filter_name": ["Ks"], "atm_extcoef": [0.05], "mag_offset": [0.0],
            "coleq_columns": ["Ksmag"], "coleq_errcols": ["Kserr"], "coleq_coefs": ["1.0"],
            "gal_extcoef": [0.35], "default_zp": [zp], "default_zp_err": [0.1]},
           extname="LOCAL", extra={"PHOTOSYS": "VEGA"})
    cols = {"RA": [s["ra"] for s in stars], "Dec": [s["dec"] for s in stars],
            "Ksmag": [s["ksmag"] for s in stars], "Kserr": [0.02] * len(stars)}
    _table(folder / "hawki_astrom_cat.fits", "MASTER_LOCAL_CATALOGUE_ASTROM", cols, "LOCAL")
    _table(folder / "hawki_photom_cat.fits", "MASTER_LOCAL_CATALOGUE_PHOTOM", cols, "LOCAL")
    # no MATCHSTD_PHOTOM: the recipe runs without it, and crashes (SIGSEGV) on a matched
    # standards table it cannot read
    for side, glat in (("NORTH", 90.0), ("SOUTH", -90.0)):
        hdu = fits.PrimaryHDU(np.full((64, 64), 0.02, np.float32))
        for k, v in {"HIERARCH ESO PRO CATG": f"SCHLEGEL_MAP_{side}", "INSTRUME": "HAWKI",
                     "CTYPE1": "GLON-ZEA", "CTYPE2": "GLAT-ZEA", "CRPIX1": 32.5, "CRPIX2": 32.5,
                     "CRVAL1": 0.0, "CRVAL2": glat, "CD1_1": -2.0, "CD2_2": 2.0,
                     "LAM_NSGP": 1 if glat > 0 else -1, "LAM_SCAL": 32}.items():
            hdu.header[k] = v
        hdu.writeto(folder / f"hawki_schlegel_{side.lower()}.fits", overwrite=True)
    return sorted(f"static/{p.name}" for p in folder.glob("*.fits"))


def generate(out: Path, *, nights: int = 1, seed: int = 1, mjd_first: float = 60300.0,
             exposures: int = len(JITTER), sky: bool = True) -> dict:
    """Write ``nights`` nights of HAWK-I calibrations and one Ks pawprint per night
    (``exposures`` jittered frames, 1..4, and an offset sky frame unless ``sky`` is False)."""
    if not 1 <= exposures <= len(JITTER):
        raise ValueError(f"exposures must be 1..{len(JITTER)}")
    rng = np.random.default_rng(seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    zp = 23.5
    stars = _stars(rng)
    files: list[str] = []
    truth_nights = []
    noise = rng.normal(0.0, 5.0, (N, N)).astype(np.float32)  # one noise field, rolled per frame
    response = [1.0 + 0.03 * c for c in range(4)]  # per-chip gain differences
    # pixel response across each detector: +-2.5 % from left to right (what the flat recovers)
    gradient = (1.0 + GRADIENT * (np.arange(N, dtype=np.float32) - N / 2) / N)[None, :]
    for night in range(nights):
        dark_level = 60.0 + 10.0 * night
        mjd0 = mjd_first + night + 0.95
        common = {"INSTRUME": "HAWKI", "ORIGIN": "ESO", "TELESCOP": "ESO-VLT-U4", "EXPTIME": DIT,
                  "DET.DIT": DIT, "DET.NDIT": 1, "DET.NDSAMPLES": 2, "INS.FILT2.NAME": "OPEN",
                  "TEL.AIRM.START": 1.1, "TEL.AIRM.END": 1.1, "RA": RA0, "DEC": DEC0}
        plan: list[tuple[str, str, str, int]] = [
            ("dark", "CALIB", "DARK", 3), ("flat", "CALIB", "FLAT,TWILIGHT", 5),
            ("object", "SCIENCE", "OBJECT", exposures), ("sky", "SCIENCE", "SKY", int(sky))]
        k = 0
        for kind, catg, dpr_type, count in plan:
            tpl_start = _iso(mjd0 + 0.02 * k)
            for i in range(count):
                k += 1
                mjd = mjd0 + 0.02 * k
                dx, dy = JITTER[i] if kind == "object" else (0, 0)
                chips = []
                for c in range(4):
                    img = np.roll(noise, 37 * k + 101 * c, axis=1) + dark_level
                    if kind == "flat":
                        img += (9000.0 + 2500.0 * i) * response[c] * gradient
                    elif kind in ("object", "sky"):
                        img += 1100.0 * response[c] * gradient
                    chips.append(img)
                if kind == "object":
                    for c in range(4):
                        _add_stars(chips[c], c + 1, stars, dx, dy, zp)
                name = f"HAWKI.{_iso(mjd)}.{kind}_n{night}_{i}.fits".replace(":", "-")
                cards = dict(common, **{
                    "DATE-OBS": _iso(mjd), "MJD-OBS": mjd, "ARCFILE": name, "OBJECT": kind.upper(),
                    "DPR.CATG": catg, "DPR.TYPE": dpr_type, "DPR.TECH": "IMAGE",
                    "INS.FILT1.NAME": "Ks", "TPL.START": tpl_start,
                    "TPL.ID": {"dark": "HAWKI_img_cal_Darks", "flat": "HAWKI_img_cal_SkyFlats"}.get(
                        kind, "HAWKI_img_obs_AutoJitter"),
                    "TPL.EXPNO": i + 1, "TPL.NEXP": count,
                    "SEQ.CUMOFFSETX": float(dx), "SEQ.CUMOFFSETY": float(dy)})
                _write(out / name, cards, chips,
                       lambda c, dx=dx, dy=dy, kind=kind: _wcs(c, dx, dy) if kind == "object" else {})
                files.append(name)
        truth_nights.append({"night": night, "dark_level": dark_level,
                             "chip_response": response, "sky_level": 1100.0,
                             "flat_gradient": GRADIENT,
                             # master flat: right-edge / left-edge column medians (x = 1948 / 100)
                             "expected_flat_edge_ratio": (1 + GRADIENT * (1948 - N / 2) / N)
                             / (1 + GRADIENT * (100 - N / 2) / N)})
    statics = _statics(out, stars, zp)
    return {"instrument": "hawki", "files": files + statics, "nights": truth_nights,
            "stars": len(stars), "star_radec": [(s["ra"], s["dec"]) for s in stars],
            "pixel_scale_arcsec": SCALE * 3600.0, "zero_point": zp, "shape": [4, N, N],
            "expected_products": {"dark": ["MASTER_DARK"],
                                  "twilight_flat": ["MASTER_BPM", "MASTER_CONF", "MASTER_TWILIGHT_FLAT"]}}
