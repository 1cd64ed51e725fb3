"""Simulated VIMOS imaging calibrations for the CASU recipes (vimos_ima_*) run by esorex.

What the recipes need (found by trial against vimos_ima_bias 4.1.7, see docs/eso-pipelines.md):
- one file per quadrant (a single image HDU), all four quadrants of an exposure in one SOF:
  the recipe loops over the detectors ``CCD-59B``, ``CCD-59A``, ``CCD-60A``, ``CCD-60B``
  (``ESO DET CHIP1 ID``) and crashes (SIGSEGV, after "No biases in input list for detector
  CCD-59B") when one is missing;
- the real detector geometry, 50 + 2048 + 50 columns by 2440 rows: the recipe reads a
  50-column underscan of exactly 2440 rows (hard-coded; fewer rows crash it with SIGSEGV and
  no message), and narrower frames are processed but the twilight flat then rejects every
  image ("All CCD-59B images either under or overexposed") and the master dark is all zero.
  To stay small the files are 16-bit integers, gzip-compressed (``.fits.gz``, which CFITSIO
  and so every recipe reads transparently): ~3.4 MB a file, ~125 MB a night.

Per night: 3 biases, 3 darks (60 s) and 3 R-band twilight flats with rising level, each a
set of four quadrant files. Each quadrant has its own bias level, dark current and gain
(``truth.json`` has them); the flats carry a response gradient across each quadrant that
the master flat recovers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from reflexng.simulate.eso_fits import iso as _iso
from reflexng.simulate.eso_fits import write_int16_gzip as _write

QUADRANTS = (("CCD-59B", "BRIAN"), ("CCD-59A", "Keith"), ("CCD-60A", "DAVID"), ("CCD-60B", "Tom"))
NY, NX, PRE, OVER = 2440, 2048, 50, 50
READ_NOISE = 3.0
DARK_EXPTIME = 60.0
GRADIENT = 0.04  # relative response change across a quadrant, left to right
FILTER = "R_CONT"




def _detector(q: int) -> dict[str, Any]:
    cid, name = QUADRANTS[q - 1]
    return {
        "DET.CHIPS": 1, "DET.OUTPUTS": 1, "DET.WINDOWS": 1,
        "DET.CHIP1.ID": cid, "DET.CHIP1.NAME": name, "DET.CHIP1.NX": NX, "DET.CHIP1.NY": NY,
        "DET.CHIP1.PSZX": 15.0, "DET.CHIP1.PSZY": 15.0,
        "DET.WIN1.BINX": 1, "DET.WIN1.BINY": 1, "DET.WIN1.NX": NX + PRE + OVER, "DET.WIN1.NY": NY,
        "DET.WIN1.STRX": 1, "DET.WIN1.STRY": 1,
        "DET.OUT1.PRSCX": PRE, "DET.OUT1.OVSCX": OVER, "DET.OUT1.PRSCY": 0, "DET.OUT1.OVSCY": 0,
        "DET.OUT1.NX": NX, "DET.OUT1.NY": NY, "DET.OUT1.X": 1, "DET.OUT1.Y": 1,
        "DET.OUT1.CONAD": 0.52, "DET.OUT1.GAIN": 1.92, "DET.OUT1.RON": READ_NOISE,
        "DET.READ.CLOCK": "225kHz", "DET.READ.MODE": "normal", "DET.READ.SPEED": "normal",
        "OCS.CON.QUAD": q,
    }


def generate(out: Path, *, nights: int = 1, seed: int = 1, mjd_first: float = 60300.0) -> dict:
    """Write ``nights`` nights of VIMOS imaging biases, darks and twilight flats into ``out``."""
    rng = np.random.default_rng(seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    noise = rng.normal(0.0, READ_NOISE, (NY, NX + PRE + OVER)).astype(np.float32)
    columns = np.arange(NX, dtype=np.float32)
    gradient = (1.0 + GRADIENT * (columns - NX / 2) / NX)[None, :]
    files: list[str] = []
    truth_nights = []
    k = 0
    for night in range(nights):
        bias = [200.0 + 10.0 * q + 15.0 * night for q in range(4)]
        dark = [0.1 + 0.02 * q for q in range(4)]  # ADU per second
        gain = [1.0 + 0.05 * q for q in range(4)]  # relative quadrant response
        mjd0 = mjd_first + night + 0.9
        plan = (("bias", "BIAS", 0.0), ("dark", "DARK", DARK_EXPTIME), ("flat", "FLAT,SKY", 5.0))
        for p, (kind, dpr_type, exptime) in enumerate(plan):
            tpl_start = _iso(mjd0 + 0.02 * p)
            for i in range(3):
                mjd = mjd0 + 0.02 * p + 0.001 * i
                for q in range(1, 5):
                    k += 1
                    img = np.roll(noise, 53 * k, axis=1) + bias[q - 1]
                    if kind == "dark":
                        img[:, PRE:PRE + NX] += dark[q - 1] * exptime
                    elif kind == "flat":
                        level = (8000.0 + 3000.0 * i) * gain[q - 1]
                        img[:, PRE:PRE + NX] += level * gradient + dark[q - 1] * exptime
                    name = f"VIMOS.{_iso(mjd)}.{kind}_n{night}_{i}_q{q}.fits.gz".replace(":", "-")
                    cards = {
                        "INSTRUME": "VIMOS", "ORIGIN": "ESO", "TELESCOP": "ESO-VLT-U3",
                        "DATE-OBS": _iso(mjd), "MJD-OBS": mjd, "EXPTIME": exptime, "ARCFILE": name,
                        "OBJECT": kind.upper(), "DPR.CATG": "CALIB", "DPR.TYPE": dpr_type,
                        "DPR.TECH": "IMAGE", "INS.FILT1.NAME": FILTER, "INS.FILT1.ID": FILTER,
                        "TPL.ID": f"VIMOS_img_cal_{kind.capitalize()}", "TPL.START": tpl_start,
                        "TPL.EXPNO": i + 1, "TPL.NEXP": 3, **_detector(q),
                    }
                    _write(out / name, img, cards)
                    files.append(name)
        truth_nights.append({
            "night": night, "bias_level": bias, "dark_rate": dark, "dark_exptime": DARK_EXPTIME,
            "quadrant_response": gain, "flat_gradient": GRADIENT,
            # master flat (trimmed to the 2048 data columns): right-edge / left-edge column
            # medians (columns 1948 / 100)
            "expected_flat_edge_ratio": (1 + GRADIENT * (1948 - NX / 2) / NX)
            / (1 + GRADIENT * (100 - NX / 2) / NX)})
    return {"instrument": "vimos", "files": files, "nights": truth_nights,
            "quadrants": [c for c, _ in QUADRANTS], "shape": [NY, NX + PRE + OVER],
            "prescan": PRE, "overscan": OVER, "read_noise": READ_NOISE,
            "expected_products": {"bias": ["MASTER_BIAS"], "dark": ["MASTER_DARK"],
                                  "twilight_flat": ["MASTER_BPM", "MASTER_CONF", "MASTER_TWILIGHT_FLAT"]}}
