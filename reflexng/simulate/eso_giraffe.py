"""Simulated GIRAFFE raw frames (Medusa, HR10) for gimasterbias, gimasterdark and gimasterflat.

What the recipes need (found by trial against giraf 2.16.10, see docs/eso-pipelines.md):
- the detector cards ``ESO DET OUT1 PRSCX/PRSCY/OVSCX/OVSCY``, ``ESO DET OUT1 CONAD/RON``,
  ``ESO DET WIN1 NX/NY/BINX/BINY``, ``ESO DET CHIP1 PSZX/PSZY`` and the setting
  ``ESO INS EXP MODE``, ``ESO INS SLIT NAME``, ``ESO INS FILT NAME``, ``ESO INS GRAT NAME/ORDER/WLEN``:
  without them gimasterbias crashes while saving MASTER_BIAS (SIGSEGV, no message);
- the full detector, 48 + 2048 + 48 columns by 4096 rows: gimasterbias crashes (SIGSEGV while
  saving MASTER_BIAS, no message) on narrower frames, and the bias removal of gimasterdark and
  gimasterflat fits a plane to the default bias area ``5:40:0:4095`` (x 5..40, all 4096 rows),
  stopping with "Bias Areas: Validation failed, aborting..." on fewer rows. To stay small the
  files are 16-bit integers, gzip-compressed (``.fits.gz``, read transparently by CFITSIO):
  ~6 MB a frame.

Per night: 3 biases, 3 darks (600 s) and 3 fibre flats (Medusa fibres as Gaussian traces
along the dispersion axis, y). The master flat cannot be made from synthetic data alone:
gimasterflat needs GRATING_DATA (a static table of the giraf-calib kit) before it localises
the fibres.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reflexng.simulate.eso_fits import iso as _iso
from reflexng.simulate.eso_fits import write_int16_gzip as _write

NY, NX, PRE, OVER = 4096, 2048, 48, 48
READ_NOISE = 4.0
DARK_EXPTIME = 600.0
N_FIBRES = 60




DETECTOR = {
    "DET.CHIPS": 1, "DET.OUTPUTS": 1, "DET.CHIP1.ID": "CCD-44", "DET.CHIP1.NAME": "EEV44-82",
    "DET.CHIP1.PSZX": 15.0, "DET.CHIP1.PSZY": 15.0,
    "DET.WIN1.NX": NX, "DET.WIN1.NY": NY, "DET.WIN1.BINX": 1, "DET.WIN1.BINY": 1,
    "DET.OUT1.PRSCX": PRE, "DET.OUT1.OVSCX": OVER, "DET.OUT1.PRSCY": 0, "DET.OUT1.OVSCY": 0,
    "DET.OUT1.CONAD": 0.55, "DET.OUT1.GAIN": 1.82, "DET.OUT1.RON": READ_NOISE,
    "DET.READ.MODE": "normal", "DET.READ.SPEED": "225kHz",
}
SETTING = {
    "INS.MODE": "MED", "INS.EXP.MODE": "MED", "INS.SLIT.NAME": "Medusa1", "INS.FILT.NAME": "HR10",
    "INS.GRAT.NAME": "HR", "INS.GRAT.ORDER": 15, "INS.GRAT.WLEN": 548.8,
}


def generate(out: Path, *, nights: int = 1, seed: int = 1, mjd_first: float = 60300.0) -> dict:
    """Write ``nights`` nights of GIRAFFE biases, darks and fibre flats into ``out``."""
    rng = np.random.default_rng(seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    noise = rng.normal(0.0, READ_NOISE, (NY, NX + PRE + OVER)).astype(np.float32)
    x = np.arange(NX, dtype=np.float32)
    centres = np.linspace(40, NX - 40, N_FIBRES)
    profile = sum(np.exp(-0.5 * ((x - c) / 1.5) ** 2) for c in centres)
    blaze = 1.0 - 0.5 * ((np.arange(NY, dtype=np.float32) - NY / 2) / NY) ** 2
    files: list[str] = []
    truth_nights = []
    k = 0
    for night in range(nights):
        bias = 250.0 + 20.0 * night
        dark_rate = 0.02  # ADU per second
        mjd0 = mjd_first + night + 0.85
        plan = (("bias", "BIAS", "IMAGE", 0.0), ("dark", "DARK", "IMAGE", DARK_EXPTIME),
                ("flat", "FLAT,LAMP", "MOS", 20.0))
        for p, (kind, dpr_type, tech, exptime) in enumerate(plan):
            tpl_start = _iso(mjd0 + 0.03 * p)
            for i in range(3):
                k += 1
                mjd = mjd0 + 0.03 * p + 0.002 * i
                img = np.roll(noise, 41 * k, axis=0) + bias
                data = img[:, PRE:PRE + NX]
                if kind == "dark":
                    data += dark_rate * exptime
                elif kind == "flat":
                    data += 6000.0 * profile[None, :] * blaze[:, None]
                name = f"GIRAF.{_iso(mjd)}.{kind}_n{night}_{i}.fits.gz".replace(":", "-")
                cards = {
                    "INSTRUME": "GIRAFFE", "ORIGIN": "ESO", "TELESCOP": "ESO-VLT-U2",
                    "DATE-OBS": _iso(mjd), "MJD-OBS": mjd, "EXPTIME": exptime, "ARCFILE": name,
                    "OBJECT": kind.upper(), "DPR.CATG": "CALIB", "DPR.TYPE": dpr_type,
                    "DPR.TECH": tech, "TPL.ID": f"GIRAF_gen_cal_{kind.capitalize()}",
                    "TPL.START": tpl_start, "TPL.EXPNO": i + 1, "TPL.NEXP": 3,
                    **DETECTOR, **SETTING,
                }
                _write(out / name, img, cards)
                files.append(name)
        truth_nights.append({"night": night, "bias_level": bias, "dark_rate": dark_rate,
                             "dark_exptime": DARK_EXPTIME,
                             "expected_master_bias": bias,
                             "expected_master_dark_rate": dark_rate})
    return {"instrument": "giraffe", "files": files, "nights": truth_nights,
            "shape": [NY, NX + PRE + OVER], "prescan": PRE, "overscan": OVER,
            "fibres": [float(c) + PRE for c in centres], "read_noise": READ_NOISE,
            "expected_products": {"bias": ["BAD_PIXEL_MAP", "MASTER_BIAS"], "dark": ["MASTER_DARK"]}}
