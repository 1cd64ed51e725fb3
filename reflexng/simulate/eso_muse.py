"""Simulated MUSE biases (one IFU) for muse_bias run by esorex.

A MUSE raw file has 24 IFU extensions (``CHAN01`` .. ``CHAN24``) of 4224 x 4240 pixels; these
files carry only ``CHAN01`` (the recipes reduce one IFU with ``--nifu=1``; with the default
``--nifu=0`` muse_bias stops at "No raw images loaded for IFU 2"). What muse_bias needs
(found by trial against muse 2.8.7): ``ESO DET CHIP ID/NAME/DATE`` in the extension
("Data not found: ESO DET CHIP ID" otherwise), and per output n = 1..4 ``ESO DET OUTn NX/NY``
(2048 x 2056), ``PRSCX/PRSCY/OVSCX/OVSCY`` (32 each), ``X/Y`` (the output's corner in the
trimmed 4096 x 4112 image: 1 or 4096, 1 or 4112; otherwise "Input data do not match" in
muse_quadrants_overscan_get_window), ``GAIN``, ``RON``. 16-bit integers, gzip-compressed.

Each quadrant has its own bias level (truth.json); the master bias keeps the quadrants' levels
relative to their overscans, so the test checks its shape, its category and its noise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reflexng.simulate.eso_fits import iso as _iso
from reflexng.simulate.eso_fits import write_gzip

NX, NY, SCAN = 2048, 2056, 32  # one output (quadrant) and its pre/overscan width
READ_NOISE = 2.5
CORNERS = ((1, 1), (2 * NX, 1), (2 * NX, 2 * NY), (1, 2 * NY))  # OUT1..4 X/Y
PARAMS = {"muse.muse_bias.nifu": 1}  # the recipe parameter these files need



def generate(out: Path, *, nights: int = 1, seed: int = 1, mjd_first: float = 60300.0) -> dict:
    """Write ``nights`` nights of three MUSE biases (IFU 1 only) into ``out``."""
    from astropy.io import fits

    rng = np.random.default_rng(seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    shape = (2 * (NY + 2 * SCAN), 2 * (NX + 2 * SCAN))  # 4240 x 4224
    noise = rng.normal(0.0, READ_NOISE, shape).astype(np.float32)
    files: list[str] = []
    truth_nights = []
    for night in range(nights):
        levels = [1000.0 + 20.0 * q + 5.0 * night for q in range(4)]
        level_map = np.empty(shape, np.float32)
        h, w = shape[0] // 2, shape[1] // 2
        level_map[:h, :w], level_map[:h, w:] = levels[0], levels[1]
        level_map[h:, w:], level_map[h:, :w] = levels[2], levels[3]
        mjd0 = mjd_first + night + 0.6
        for i in range(3):
            mjd = mjd0 + 0.001 * i
            name = f"MUSE.{_iso(mjd)}.bias_n{night}_{i}.fits.gz".replace(":", "-")
            primary = fits.PrimaryHDU()
            for k, v in {"INSTRUME": "MUSE", "ORIGIN": "ESO", "TELESCOP": "ESO-VLT-U4",
                         "DATE-OBS": _iso(mjd), "MJD-OBS": mjd, "EXPTIME": 0.0, "ARCFILE": name,
                         "OBJECT": "BIAS", "DPR CATG": "CALIB", "DPR TYPE": "BIAS",
                         "DPR TECH": "IFU", "INS MODE": "WFM-NOAO-N", "DET BINX": 1, "DET BINY": 1,
                         "DET READ CURID": 1, "DET READ CURNAME": "SCI1.0",
                         "TPL ID": "MUSE_gen_cal_bias", "TPL START": _iso(mjd0)}.items():
                primary.header[k if k.isupper() and " " not in k else "HIERARCH ESO " + k] = v
            data = np.rint(np.roll(noise, 97 * (i + 3 * night), axis=1) + level_map).astype(np.int16)
            ext = fits.ImageHDU(data)
            ext.header["EXTNAME"] = "CHAN01"
            for k, v in {"DET CHIP NAME": "Tom", "DET CHIP ID": "CCD-1", "DET CHIP DATE": "2013-01-01"}.items():
                ext.header["HIERARCH ESO " + k] = v
            for n, (x, y) in enumerate(CORNERS, start=1):
                for k, v in {"NX": NX, "NY": NY, "PRSCX": SCAN, "PRSCY": SCAN, "OVSCX": SCAN,
                             "OVSCY": SCAN, "X": x, "Y": y, "GAIN": 1.1, "RON": READ_NOISE}.items():
                    ext.header[f"HIERARCH ESO DET OUT{n} {k}"] = v
            write_gzip(out / name, [primary, ext])
            files.append(name)
        truth_nights.append({"night": night, "quadrant_bias": levels})
    return {"instrument": "muse", "files": files, "nights": truth_nights, "ifus": [1],
            "read_noise": READ_NOISE, "trimmed_shape": [2 * NY, 2 * NX], "parameters": PARAMS,
            "expected_products": {"bias": ["MASTER_BIAS"]}}
