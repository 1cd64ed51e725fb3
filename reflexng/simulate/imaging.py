"""Simulated raw imaging data for the demo instrument ``INSTRUME='DEMO'``, with known truth.

``generate(out, *, nights=3, seed=1, headers_only=False, scale=1, size=1024) -> dict`` writes:

- ``out/raw/DEMO.<date-obs>.fits``: biases, darks, twilight flats (filters V and R) and jittered
  science sequences of three star fields, over ``nights * scale`` nights (each group of files
  ``scale`` times longer). Raw frames are 16-bit unsigned (BZERO=32768) with ESO-style headers.
  Nights follow a cycle of three: night 1 of each cycle has no R-band flats (its R science
  must use a neighbouring night's flats, association quality level 1) and also holds a science
  sequence binned 2x2 for which no 2x2 calibrations exist (a deliberately incomplete dataset).
- ``out/static/DEMO_REFCAT.fits``: the reference catalogue (a static calibration, binary table
  RA, DEC, MAG_V, MAG_R; ``DPR.TYPE='REFERENCE_CATALOG'``, ``PRO.CATG='REF_CATALOG'``).
- ``out/truth_imaging.json``: the truth, with these keys
    ``detector``: gain_e_per_adu, read_noise_e, read_noise_adu, bias_level_adu,
        dark_rate_e_per_s, saturation_adu, size;
    ``flat``: pixel_rms (of the pixel-to-pixel pattern), n_dead, illumination (per filter);
    ``zero_points``: per filter, ``mag = -2.5 log10(flux) + zp`` with flux in e-/s;
    ``sky_e_per_s``: per filter; ``pixel_scale_arcsec``;
    ``fields``: name -> ra, dec, stars (id, ra, dec, x0, y0, flux {V, R} in e-/s, mag {V, R},
        saturated);
    ``frames``: file name -> type, night, mjd, filter, exptime, binning, obs_name, and for
        science frames field, jitter [dx, dy] (true offset in pixels, star x = x0 + dx), wcs_error
        [ex, ey] (error of the header WCS in pixels), fwhm (pixels), star_xy ([x, y] per star);
    ``missing_flats``: [{night, filter}]; ``incomplete``: [{obs_name, reason}].
  Pixel positions are 0-based (numpy column x, row y; FITS pixel = x + 1).
- ``out/truth_imaging_pixel_flat.npy``: the true pixel-to-pixel flat of the 1x1 detector
  (mean 1, dead pixels at 0.05; not written with ``headers_only``).

``headers_only=True`` writes header-only files (NAXIS=0) for organiser benchmarks: 20,000 files
take a few seconds since headers are formatted directly as FITS cards.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from reflexng.simulate.detector import Detector, bias_structure, expose, pixel_flat
from reflexng.simulate.imaging_fits import write_header_only, write_uint16_image

FILTERS = ("V", "R")
ZERO_POINTS = {"V": 25.0, "R": 25.2}
SKY_E_PER_S = {"V": 10.0, "R": 15.0}
ILLUMINATION = {"V": 0.08, "R": 0.05}  # fractional drop from centre to corner
PIXEL_SCALE = 0.25  # arcsec / unbinned pixel
FLAT_RMS = 0.01
DEAD_FRACTION = 0.001
COSMICS_PER_MPIX_S = 3.0
MJD0 = 60700.0
FIELDS = (("DEMO_FIELD_A", 150.10, 2.20), ("DEMO_FIELD_B", 150.60, 2.45), ("DEMO_FIELD_C", 151.05, 1.95))
SCI_EXPTIME = 60.0
DARK_EXPTIME = 600.0


@dataclass
class Frame:
    kind: str  # BIAS, DARK, FLAT, SCIENCE
    night: int
    mjd: float
    exptime: float
    filt: str | None = None
    binning: int = 1
    field_name: str | None = None
    obs_name: str = ""
    obs_id: int = 0
    tpl_start: str = ""
    expno: int = 1
    nexp: int = 1
    jitter: tuple[float, float] = (0.0, 0.0)
    wcs_error: tuple[float, float] = (0.0, 0.0)
    fwhm: float = 3.0
    level: float = 0.0  # flat level in e- per pixel
    name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _date(mjd: float) -> str:
    t = datetime(1858, 11, 17) + timedelta(days=mjd)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}"


def _plan(nights: int, scale: int, size: int, rng: np.random.Generator) -> tuple[list[Frame], dict]:
    frames: list[Frame] = []
    notes: dict[str, list] = {"missing_flats": [], "incomplete": []}
    obs_id = 100000
    jit = max(3.0, 0.015 * size)

    cursor = 0.0

    def seq(kind, night, t0, n, dt, exptime, **kw):
        nonlocal obs_id, cursor
        obs_id += 1
        if kind != "SCIENCE":  # calibrations of a scaled-up data set: denser in time
            dt = dt / scale
        t0 = max(t0, cursor + 2e-5)
        cursor = t0 + (n - 1) * dt
        start = _date(t0)
        for i in range(n):
            frames.append(Frame(kind, night, t0 + i * dt, exptime, obs_id=obs_id, tpl_start=start,
                                expno=i + 1, nexp=n, **kw))
        return frames[-n:]

    for night in range(nights * scale):
        base = MJD0 + night
        cycle = night % 3
        fname, _, _ = FIELDS[night % len(FIELDS)]
        seq("BIAS", night, base + 0.55, 5 * scale, 0.0012, 0.0, obs_name="calib_bias")
        flat_filters = ("V",) if cycle == 1 else FILTERS
        if cycle == 1:
            notes["missing_flats"].append({"night": night, "filter": "R"})
        for k, f in enumerate(flat_filters):
            for fr in seq("FLAT", night, base + 0.97 + 0.01 * k, 5 * scale, 0.0008, 0.0,
                          filt=f, obs_name=f"calib_skyflat_{f}"):
                fr.level = float(rng.uniform(18000, 30000))
                fr.exptime = round(float(rng.uniform(3, 20)), 2)
        t = base + 1.05
        for f in FILTERS:
            for fr in seq("SCIENCE", night, t, 5 * scale, 0.0012, SCI_EXPTIME, filt=f,
                          field_name=fname, obs_name=f"{fname}_{f}"):
                fr.jitter = (float(rng.uniform(-jit, jit)), float(rng.uniform(-jit, jit)))
                fr.wcs_error = (float(rng.normal(0, 1.0)), float(rng.normal(0, 1.0)))
                fr.fwhm = float(rng.uniform(2.6, 3.4))
            t += 0.05
        if cycle == 1:
            name = f"{fname}_V_binned"
            for fr in seq("SCIENCE", night, t, 3 * scale, 0.0012, SCI_EXPTIME, filt="V", binning=2,
                          field_name=fname, obs_name=name):
                fr.jitter = (float(rng.uniform(-jit, jit)), float(rng.uniform(-jit, jit)))
                fr.fwhm = float(rng.uniform(2.6, 3.4))
            notes["incomplete"].append({"obs_name": name, "night": night,
                                        "reason": "binning 2x2: no 2x2 biases, darks or flats exist"})
        seq("DARK", night, base + 1.40, 3 * scale, 0.008, DARK_EXPTIME, obs_name="calib_dark")
    for fr in frames:
        fr.name = f"DEMO.{_date(fr.mjd).replace(':', '_')}.fits"
    return frames, notes


def _field_wcs(ra: float, dec: float, size: int, binning: int = 1):
    from astropy.wcs import WCS

    w = WCS(naxis=2)
    n = size // binning
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [ra, dec]
    w.wcs.crpix = [n / 2 + 0.5, n / 2 + 0.5]
    s = PIXEL_SCALE * binning / 3600.0
    w.wcs.cd = [[-s, 0.0], [0.0, s]]
    w.wcs.cunit = ["deg", "deg"]
    return w


def _make_stars(size: int, rng: np.random.Generator) -> list[dict]:
    n = max(30, int(220 * (size / 1024) ** 2))
    margin = 0.03 * size + 14
    xs: list[float] = []
    ys: list[float] = []
    tries = 0
    while len(xs) < n and tries < 50 * n:
        tries += 1
        x, y = rng.uniform(margin, size - 1 - margin, 2)
        if all((x - a) ** 2 + (y - b) ** 2 > 15.0**2 for a, b in zip(xs, ys)):
            xs.append(float(x))
            ys.append(float(y))
    stars = []
    for i, (x, y) in enumerate(zip(xs, ys)):
        fv = float(10 ** rng.uniform(2.0, math.log10(6000)))
        sat = i == 0  # one saturated star per field
        if sat:
            fv = 80000.0
        fr = fv * float(rng.uniform(0.7, 1.6))
        stars.append({"id": i + 1, "x0": x, "y0": y, "flux": {"V": fv, "R": fr}, "saturated": sat})
    return stars


def _render(shape: tuple[int, int], xs, ys, fluxes, fwhm: float) -> np.ndarray:
    """Pixel-integrated circular Gaussians (total electrons ``fluxes``) at 0-based (x, y)."""
    from scipy.special import erf

    img = np.zeros(shape, dtype=np.float64)
    sig = fwhm / 2.3548
    r = int(math.ceil(5 * sig)) + 1
    k = 1.0 / (math.sqrt(2.0) * sig)
    ny, nx = shape
    for x, y, f in zip(xs, ys, fluxes):
        ix, iy = int(round(x)), int(round(y))
        x0, x1 = max(ix - r, 0), min(ix + r + 1, nx)
        y0, y1 = max(iy - r, 0), min(iy + r + 1, ny)
        if x0 >= x1 or y0 >= y1:
            continue
        ex = np.arange(x0, x1 + 1) - 0.5 - x
        ey = np.arange(y0, y1 + 1) - 0.5 - y
        px = 0.5 * np.diff(erf(ex * k))
        py = 0.5 * np.diff(erf(ey * k))
        img[y0:y1, x0:x1] += f * np.outer(py, px)
    return img


def _illumination(shape: tuple[int, int], drop: float) -> np.ndarray:
    ny, nx = shape
    yy, xx = np.mgrid[0:ny, 0:nx]
    r2 = ((xx - (nx - 1) / 2) / (nx / 2)) ** 2 + ((yy - (ny - 1) / 2) / (ny / 2)) ** 2
    ill = 1.0 - drop * r2 / 2.0
    return (ill / np.median(ill)).astype(np.float32)


def _cards(fr: Frame, size: int, fields: dict) -> list[tuple]:
    date = _date(fr.mjd)
    dpr = {"BIAS": ("CALIB", "BIAS", "IMAGE"), "DARK": ("CALIB", "DARK", "IMAGE"),
           "FLAT": ("CALIB", "FLAT,SKY", "IMAGE"), "SCIENCE": ("SCIENCE", "OBJECT", "IMAGE,JITTER")}[fr.kind]
    obj = {"BIAS": "BIAS", "DARK": "DARK", "FLAT": "SKY_FLAT"}.get(fr.kind, fr.field_name or "")
    ra, dec = (fields[fr.field_name]["ra"], fields[fr.field_name]["dec"]) if fr.field_name else (0.0, 0.0)
    det = Detector(nx=size, ny=size)
    c: list[tuple] = [
        ("ORIGIN", "reflexng demo simulator"), ("TELESCOP", "DEMO-TEL"), ("INSTRUME", "DEMO"),
        ("OBJECT", obj), ("RA", round(ra, 6), "pointing RA (deg)"), ("DEC", round(dec, 6), "pointing Dec (deg)"),
        ("EQUINOX", 2000.0), ("RADESYS", "ICRS"), ("EXPTIME", float(fr.exptime), "exposure time (s)"),
        ("MJD-OBS", round(fr.mjd, 8), "start of exposure"), ("DATE-OBS", date), ("ARCFILE", fr.name),
        ("DPR.CATG", dpr[0]), ("DPR.TYPE", dpr[1]), ("DPR.TECH", dpr[2]),
        ("DET.BINX", fr.binning), ("DET.BINY", fr.binning), ("DET.DIT", float(fr.exptime)), ("DET.NDIT", 1),
        ("DET.OUT1.GAIN", det.gain, "e-/ADU"), ("DET.OUT1.RON", det.read_noise_e, "e-"),
        ("INS.MODE", "IMAGING"), ("INS.FILT.NAME", fr.filt or "FREE"),
        ("OBS.NAME", fr.obs_name), ("OBS.ID", fr.obs_id),
        ("TPL.START", fr.tpl_start), ("TPL.NEXP", fr.nexp), ("TPL.EXPNO", fr.expno),
    ]
    if fr.kind == "SCIENCE":
        b = fr.binning
        n = size // b
        s = PIXEL_SCALE * b / 3600.0
        c += [
            ("CTYPE1", "RA---TAN"), ("CTYPE2", "DEC--TAN"), ("CUNIT1", "deg"), ("CUNIT2", "deg"),
            ("CRVAL1", ra), ("CRVAL2", dec),
            ("CRPIX1", n / 2 + 0.5 + (fr.jitter[0] + fr.wcs_error[0]) / b),
            ("CRPIX2", n / 2 + 0.5 + (fr.jitter[1] + fr.wcs_error[1]) / b),
            ("CD1_1", -s), ("CD1_2", 0.0), ("CD2_1", 0.0), ("CD2_2", s),
            ("SEQ.JITTER.X", round(fr.jitter[0], 2), "commanded offset (px)"),
            ("SEQ.JITTER.Y", round(fr.jitter[1], 2), "commanded offset (px)"),
        ]
    return c


def _write_refcat(path: Path, fields: dict, rng: np.random.Generator) -> int:
    from astropy.io import fits

    rows = [(s["ra"], s["dec"], s["mag"]["V"] + rng.normal(0, 0.01), s["mag"]["R"] + rng.normal(0, 0.01), f["name"], s["id"])
            for f in fields.values() for s in f["stars"]]
    cols = [
        fits.Column("RA", "D", unit="deg", array=[r[0] for r in rows]),
        fits.Column("DEC", "D", unit="deg", array=[r[1] for r in rows]),
        fits.Column("MAG_V", "E", unit="mag", array=[r[2] for r in rows]),
        fits.Column("MAG_R", "E", unit="mag", array=[r[3] for r in rows]),
        fits.Column("FIELD", "16A", array=[r[4] for r in rows]),
        fits.Column("ID", "J", array=[r[5] for r in rows]),
    ]
    prim = fits.PrimaryHDU()
    h = prim.header
    h["INSTRUME"] = "DEMO"
    h["OBJECT"] = "REFERENCE CATALOGUE"
    h["MJD-OBS"] = MJD0 - 365.0
    h["DATE-OBS"] = _date(MJD0 - 365.0)
    h["HIERARCH ESO DPR CATG"] = "CALIB"
    h["HIERARCH ESO DPR TYPE"] = "REFERENCE_CATALOG"
    h["HIERARCH ESO DPR TECH"] = "CATALOG"
    h["HIERARCH ESO PRO CATG"] = "REF_CATALOG"
    fits.HDUList([prim, fits.BinTableHDU.from_columns(cols, name="CATALOG")]).writeto(path, overwrite=True)
    return len(rows)


def generate(out: Path | str, *, nights: int = 3, seed: int = 1, headers_only: bool = False,
             scale: int = 1, size: int = 1024) -> dict:
    """Write the imaging demo data set into ``out`` (see the module docstring); return a summary."""
    t_start = time.perf_counter()
    out = Path(out)
    if nights < 1 or scale < 1:
        raise ValueError(f"nights and scale must be >= 1 (got nights={nights}, scale={scale})")
    if size < 64 or size % 2:
        raise ValueError(f"size must be an even number >= 64 (got {size})")
    raw = out / "raw"
    static = out / "static"
    raw.mkdir(parents=True, exist_ok=True)
    static.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    frames, notes = _plan(nights, scale, size, rng)

    fields: dict[str, dict] = {}
    for fname, ra, dec in FIELDS:
        stars = _make_stars(size, rng)
        w = _field_wcs(ra, dec, size)
        sky = w.pixel_to_world_values([s["x0"] for s in stars], [s["y0"] for s in stars])
        for s, a, d in zip(stars, *sky):
            s["ra"], s["dec"] = float(a), float(d)
            s["mag"] = {f: -2.5 * math.log10(s["flux"][f]) + ZERO_POINTS[f] for f in FILTERS}
        fields[fname] = {"name": fname, "ra": ra, "dec": dec, "stars": stars}

    det1 = Detector(nx=size, ny=size)
    truth_frames: dict[str, dict] = {}
    cache: dict[tuple, np.ndarray] = {}

    def calib(kind: str, b: int, filt: str | None = None) -> np.ndarray:
        key = (kind, b, filt)
        if key not in cache:
            d = Detector(nx=size, ny=size, binx=b, biny=b)
            if kind == "bias":
                cache[key] = bias_structure(d, seed=seed + 7 + b)
            elif kind == "pixflat":
                pf = pixel_flat(d, rms=FLAT_RMS, seed=seed + 11 + b)
                r = np.random.default_rng(seed + 13 + b)
                n_dead = int(DEAD_FRACTION * pf.size)
                pf.flat[r.choice(pf.size, n_dead, replace=False)] = 0.05
                cache[key] = pf
            else:
                cache[key] = calib("pixflat", b) * _illumination(d.shape, ILLUMINATION[filt])
        return cache[key]

    for fr in frames:
        rec: dict[str, Any] = {"type": fr.kind, "night": fr.night, "mjd": fr.mjd, "filter": fr.filt,
                               "exptime": fr.exptime, "binning": fr.binning, "obs_name": fr.obs_name}
        cards = _cards(fr, size, fields)
        if fr.kind == "SCIENCE":
            b = fr.binning
            stars = fields[fr.field_name]["stars"]
            xs = [(s["x0"] + fr.jitter[0]) / b for s in stars]
            ys = [(s["y0"] + fr.jitter[1]) / b for s in stars]
            rec.update(field=fr.field_name, jitter=list(fr.jitter), wcs_error=list(fr.wcs_error),
                       fwhm=fr.fwhm)
            if not headers_only:
                rec["star_xy"] = [[round(x, 4), round(y, 4)] for x, y in zip(xs, ys)]
        if headers_only:
            write_header_only(raw / fr.name, cards)
        else:
            d = Detector(nx=size, ny=size, binx=fr.binning, biny=fr.binning)
            b = fr.binning
            frng = np.random.default_rng([seed, int(round(fr.mjd * 1e5))])
            flat = None
            if fr.kind == "BIAS":
                signal: Any = 0.0
            elif fr.kind == "DARK":
                signal = 0.0
            elif fr.kind == "FLAT":
                signal = fr.level
                flat = calib("flat", b, fr.filt)
            else:
                flux = [s["flux"][fr.filt] * fr.exptime for s in fields[fr.field_name]["stars"]]
                signal = SKY_E_PER_S[fr.filt] * fr.exptime + _render(d.shape, xs, ys, flux, fr.fwhm / b)
                flat = calib("flat", b, fr.filt)
            cos = COSMICS_PER_MPIX_S if fr.kind in ("DARK", "SCIENCE") else 0.0
            adu = expose(d, signal, fr.exptime, frng, flat=flat, bias=calib("bias", b),
                         cosmics_per_mpix_s=cos)
            write_uint16_image(raw / fr.name, cards, adu)
        truth_frames[fr.name] = rec

    n_ref = _write_refcat(static / "DEMO_REFCAT.fits", fields, rng)
    pf = calib("pixflat", 1) if not headers_only else None
    truth = {
        "description": "truth of the reflexng demo imaging data set; see reflexng.simulate.imaging",
        "instrument": "DEMO",
        "seed": seed,
        "pixel_convention": "0-based: x = numpy column, y = numpy row; FITS pixel = x + 1",
        "detector": {"gain_e_per_adu": det1.gain, "read_noise_e": det1.read_noise_e,
                     "read_noise_adu": det1.read_noise_adu, "bias_level_adu": det1.bias_level,
                     "dark_rate_e_per_s": det1.dark_rate_e, "saturation_adu": det1.saturation_adu,
                     "size": size},
        "flat": {"pixel_rms": FLAT_RMS, "n_dead": int((pf < 0.5).sum()) if pf is not None else None,
                 "illumination": ILLUMINATION},
        "zero_points": ZERO_POINTS,
        "zero_point_definition": "mag = -2.5 log10(flux in e-/s) + zp",
        "sky_e_per_s": SKY_E_PER_S,
        "pixel_scale_arcsec": PIXEL_SCALE,
        "fields": fields,
        "frames": truth_frames,
        "reference_catalog": "static/DEMO_REFCAT.fits",
        **notes,
    }
    (out / "truth_imaging.json").write_text(json.dumps(truth, indent=1))
    if pf is not None:
        np.save(out / "truth_imaging_pixel_flat.npy", pf)
    counts: dict[str, int] = {}
    for fr in frames:
        counts[fr.kind] = counts.get(fr.kind, 0) + 1
    return {"mode": "imaging", "out": str(out), "files": len(frames) + 1, "by_type": counts,
            "reference_catalog_stars": n_ref, "nights": nights * scale, "headers_only": headers_only,
            "truth": str(out / "truth_imaging.json"), "seconds": round(time.perf_counter() - t_start, 2)}
