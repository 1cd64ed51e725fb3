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
    ``missing_flats``: [{night, filter}]; ``incomplete``: [{obs_name, reason}];
    ``realism``: which effects were on (:data:`REALISM`, switch with ``generate(realism={...})``)
        and their parameters (cosmic-ray rate per cm²/min, per cm²/s and per Mpix/s, Moffat beta, seeing
        range, full well, non-linearity, twilight-flat gradient, fringe amplitude and filters);
        per frame also ``psf``, ``cosmics`` {n, n_tracks, pixels} and ``bled_columns``; fields
        may have ``extended_sources`` (the galaxy: x0, y0, ra, dec, scale_length, axis_ratio,
        pa_deg, central_e_per_s, flux_e_per_s).
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

from reflexng.simulate.detector import (
    DATA_FORMAT,
    Detector,
    bias_structure,
    cosmics_per_mpix_s,
    expose,
    pixel_flat,
)
from reflexng.simulate.imaging_fits import write_header_only, write_uint16_image

FILTERS = ("V", "R")
ZERO_POINTS = {"V": 25.0, "R": 25.2}
SKY_E_PER_S = {"V": 1.0, "R": 1.5}  # e-/s/pixel: dark sky, ~22.0 (V) and ~21.8 (R) mag/arcsec^2
ILLUMINATION = {"V": 0.08, "R": 0.05}  # fractional drop from centre to corner
PIXEL_SCALE = 0.25  # arcsec / unbinned pixel
FLAT_RMS = 0.01
DEAD_FRACTION = 0.001
# Cosmic rays: events per cm^2 per second on 15-micron pixels, for a ground-based CCD at an
# observatory at ~2500 m. Muons give ~1 /cm^2/min at sea level, ~1.5-2x that at 2500 m; the
# radioactivity of the dewar window and the CCD package adds about as much again, so such CCDs
# record a few events per cm^2 per minute. The demo uses 4 /cm^2/min (0.067 /cm^2/s), not the
# 30-75x higher rate of a detector in orbit: the lessons' frames show hits and tracks because the
# science exposures are a realistic 600 s (SCI_EXPTIME), about 3 events per 256-px frame.
COSMIC_RATE_CM2_MIN = 4.0
COSMIC_RATE_CM2_S = COSMIC_RATE_CM2_MIN / 60.0
COSMICS_PER_MPIX_S = cosmics_per_mpix_s(COSMIC_RATE_CM2_S)  # ~0.15 events/Mpix/s
MOFFAT_BETA = 4.765  # atmospheric turbulence (Trujillo et al. 2001)
SEEING_RANGE = (2.4, 3.8)  # FWHM in unbinned pixels, drawn per frame
NONLINEARITY = 0.03  # fractional response loss at full well
FULL_WELL_E = 90000.0
FLAT_GRADIENT = 0.03  # twilight flats: extra linear gradient across the field (not in the science)
FRINGE_AMPLITUDE = 0.04  # R band: fringe peak amplitude as a fraction of the sky
FRINGE_FILTERS = ("R",)
# every realism effect, switchable with generate(realism={...}); recorded in the truth file
REALISM = {"moffat": True, "seeing_variation": True, "cosmics": True, "saturation_bleed": True,
           "nonlinearity": True, "flat_gradient": True, "fringing": True, "galaxy": True}
MJD0 = 60700.0
FIELDS = (("DEMO_FIELD_A", 150.10, 2.20), ("DEMO_FIELD_B", 150.60, 2.45), ("DEMO_FIELD_C", 151.05, 1.95))
SCI_EXPTIME = 600.0  # science exposures (s); star and sky fluxes are per second
SCI_DT = (SCI_EXPTIME + 40.0) / 86400.0  # start-to-start spacing of science frames (read-out, offset)
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
    jit = max(8.0, 0.03 * size)  # large enough for a fringe map from the frames themselves

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
            for fr in seq("SCIENCE", night, t, 5 * scale, SCI_DT, SCI_EXPTIME, filt=f,
                          field_name=fname, obs_name=f"{fname}_{f}"):
                fr.jitter = (float(rng.uniform(-jit, jit)), float(rng.uniform(-jit, jit)))
                fr.wcs_error = (float(rng.normal(0, 1.0)), float(rng.normal(0, 1.0)))
                fr.fwhm = float(rng.uniform(*SEEING_RANGE))
            t += 0.05
        if cycle == 1:
            name = f"{fname}_V_binned"
            for fr in seq("SCIENCE", night, t, 3 * scale, SCI_DT, SCI_EXPTIME, filt="V", binning=2,
                          field_name=fname, obs_name=name):
                fr.jitter = (float(rng.uniform(-jit, jit)), float(rng.uniform(-jit, jit)))
                fr.fwhm = float(rng.uniform(*SEEING_RANGE))
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


def _make_stars(size: int, rng: np.random.Generator, avoid: tuple[float, float, float] | None = None) -> list[dict]:
    """Stars at least 15 px apart (and, with ``avoid`` = (x, y, r), outside that circle)."""
    n = max(30, int(220 * (size / 1024) ** 2))
    margin = 0.03 * size + 14
    xs: list[float] = []
    ys: list[float] = []
    tries = 0
    while len(xs) < n and tries < 50 * n:
        tries += 1
        x, y = rng.uniform(margin, size - 1 - margin, 2)
        if avoid is not None and (x - avoid[0]) ** 2 + (y - avoid[1]) ** 2 < avoid[2] ** 2:
            continue
        if all((x - a) ** 2 + (y - b) ** 2 > 15.0**2 for a, b in zip(xs, ys)):
            xs.append(float(x))
            ys.append(float(y))
    stars = []
    for i, (x, y) in enumerate(zip(xs, ys)):
        fv = float(10 ** rng.uniform(1.0, math.log10(600)))  # e-/s: V ~18-22.5 mag
        sat = i == 0  # one saturated star per field
        if sat:
            fv = 8000.0
        fr = fv * float(rng.uniform(0.7, 1.6))
        stars.append({"id": i + 1, "x0": x, "y0": y, "flux": {"V": fv, "R": fr}, "saturated": sat})
    return stars


def _render(shape: tuple[int, int], xs, ys, fluxes, fwhm: float, beta: float | None = None) -> np.ndarray:
    """Pixel-integrated PSFs (total electrons ``fluxes``) at 0-based (x, y): circular Gaussians
    (``beta`` None, exact integrals) or Moffat profiles of index ``beta`` (3x3 sub-pixel sampling,
    normalised to the flux the profile puts inside the stamp plus its analytic wing beyond)."""
    from scipy.special import erf

    img = np.zeros(shape, dtype=np.float64)
    ny, nx = shape
    if beta is None:
        sig = fwhm / 2.3548
        r = int(math.ceil(5 * sig)) + 1
        k = 1.0 / (math.sqrt(2.0) * sig)
    else:
        alpha = fwhm / (2.0 * math.sqrt(2.0 ** (1.0 / beta) - 1.0))
        r = int(math.ceil(5 * fwhm)) + 1
        sub = (np.arange(3) - 1) / 3.0
        norm = (beta - 1.0) / (math.pi * alpha**2)
    for x, y, f in zip(xs, ys, fluxes):
        ix, iy = int(round(x)), int(round(y))
        x0, x1 = max(ix - r, 0), min(ix + r + 1, nx)
        y0, y1 = max(iy - r, 0), min(iy + r + 1, ny)
        if x0 >= x1 or y0 >= y1:
            continue
        if beta is None:
            ex = np.arange(x0, x1 + 1) - 0.5 - x
            ey = np.arange(y0, y1 + 1) - 0.5 - y
            px = 0.5 * np.diff(erf(ex * k))
            py = 0.5 * np.diff(erf(ey * k))
            img[y0:y1, x0:x1] += f * np.outer(py, px)
            continue
        dx = (np.arange(x0, x1)[:, None] + sub[None, :] - x).ravel()
        dy = (np.arange(y0, y1)[:, None] + sub[None, :] - y).ravel()
        r2 = (dy[:, None] ** 2 + dx[None, :] ** 2) / alpha**2
        prof = norm * (1.0 + r2) ** (-beta)
        stamp = prof.reshape(y1 - y0, 3, x1 - x0, 3).mean(axis=(1, 3))
        img[y0:y1, x0:x1] += f * stamp
    return img


def _fringe_pattern(shape: tuple[int, int], binning: int, seed: int) -> np.ndarray:
    """A fixed fringe pattern (peak ~1): three interfering plane waves of 25-45 unbinned pixels'
    wavelength under a smooth envelope, like thin-film interference of night-sky lines."""
    ny, nx = shape
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:ny, 0:nx].astype(np.float64) * binning
    f = np.zeros(shape)
    for _ in range(3):
        lam = rng.uniform(25.0, 45.0)
        th = rng.uniform(0, np.pi)
        f += np.sin(2 * np.pi * (xx * np.cos(th) + yy * np.sin(th)) / lam + rng.uniform(0, 2 * np.pi))
    size = max(nx, ny) * binning
    env = 0.6 + 0.4 * np.cos(np.pi * (xx - size / 2) / size) * np.cos(np.pi * (yy - size / 3) / size)
    f *= env
    return (f / np.abs(f).max()).astype(np.float32)


def _twilight_gradient(shape: tuple[int, int], amplitude: float) -> np.ndarray:
    """The twilight sky's brightness gradient across the field (only in sky flats): linear,
    ``amplitude`` peak to peak, at 30 degrees to the x axis, median 1."""
    ny, nx = shape
    yy, xx = np.mgrid[0:ny, 0:nx]
    u = ((xx - (nx - 1) / 2) / nx) * math.cos(math.radians(30)) + ((yy - (ny - 1) / 2) / ny) * math.sin(math.radians(30))
    g = 1.0 + amplitude * u / (math.cos(math.radians(30)) + math.sin(math.radians(30)))
    return (g / np.median(g)).astype(np.float32)


def _galaxy(size: int) -> dict:
    """A faint inclined exponential disc (extended source) in the first field (unbinned pixels)."""
    rd = max(4.0, 0.01 * size)
    return {"x0": 0.31 * size, "y0": 0.63 * size, "scale_length": rd, "axis_ratio": 0.6, "pa_deg": 30.0,
            "central_e_per_s": 0.3, "field": FIELDS[0][0],
            "flux_e_per_s": 2 * math.pi * rd**2 * 0.6 * 0.3}


def _render_galaxy(shape: tuple[int, int], g: dict, dx: float, dy: float, binning: int) -> np.ndarray:
    ny, nx = shape
    yy, xx = np.mgrid[0:ny, 0:nx].astype(np.float64)
    x = (xx + 0.5) * binning - 0.5 - (g["x0"] + dx)
    y = (yy + 0.5) * binning - 0.5 - (g["y0"] + dy)
    c, s = math.cos(math.radians(g["pa_deg"])), math.sin(math.radians(g["pa_deg"]))
    u, v = x * c + y * s, (-x * s + y * c) / g["axis_ratio"]
    return g["central_e_per_s"] * binning**2 * np.exp(-np.hypot(u, v) / g["scale_length"])


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
             scale: int = 1, size: int = 1024, realism: dict[str, bool] | None = None) -> dict:
    """Write the imaging demo data set into ``out`` (see the module docstring); return a summary.

    ``realism``: switch effects off (or on) by name, e.g. ``{"cosmics": False}``; unknown names
    are an error. All effects of :data:`REALISM` are on by default."""
    t_start = time.perf_counter()
    out = Path(out)
    fx = dict(REALISM)
    for k, v in (realism or {}).items():
        if k not in REALISM:
            raise ValueError(f"unknown realism effect {k!r}; known: {', '.join(REALISM)}")
        fx[k] = bool(v)
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

    galaxy = _galaxy(size) if fx["galaxy"] else None
    fields: dict[str, dict] = {}
    for fname, ra, dec in FIELDS:
        avoid = None
        if galaxy is not None and fname == galaxy["field"]:
            avoid = (galaxy["x0"], galaxy["y0"], 6 * galaxy["scale_length"] + 10)
        stars = _make_stars(size, rng, avoid)
        w = _field_wcs(ra, dec, size)
        sky = w.pixel_to_world_values([s["x0"] for s in stars], [s["y0"] for s in stars])
        for s, a, d in zip(stars, *sky):
            s["ra"], s["dec"] = float(a), float(d)
            s["mag"] = {f: -2.5 * math.log10(s["flux"][f]) + ZERO_POINTS[f] for f in FILTERS}
        fields[fname] = {"name": fname, "ra": ra, "dec": dec, "stars": stars}
    if galaxy is not None:
        gf = fields[galaxy["field"]]
        w = _field_wcs(gf["ra"], gf["dec"], size)
        a, d = w.pixel_to_world_values(galaxy["x0"], galaxy["y0"])
        galaxy["ra"], galaxy["dec"] = float(a), float(d)
        fields[galaxy["field"]]["extended_sources"] = [galaxy]
    # a star is "saturated" when its peak pixel reaches 90 % of the full well in the field's
    # best seeing (the bled, flat-topped or non-linear stars that photometry must not trust)
    for fname, f in fields.items():
        fw = [fr.fwhm for fr in frames if fr.kind == "SCIENCE" and fr.field_name == fname and fr.binning == 1]
        best = min(fw) if fw and fx["seeing_variation"] else 3.0
        if fx["moffat"]:
            alpha = best / (2.0 * math.sqrt(2.0 ** (1.0 / MOFFAT_BETA) - 1.0))
            peak = (MOFFAT_BETA - 1.0) / (math.pi * alpha**2)
        else:
            peak = 1.0 / (2 * math.pi * (best / 2.3548) ** 2)
        for st in f["stars"]:
            top = max(st["flux"][b] for b in FILTERS) * SCI_EXPTIME * peak + max(SKY_E_PER_S.values()) * SCI_EXPTIME
            st["saturated"] = bool(st["saturated"] or top > 0.9 * FULL_WELL_E)

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
            elif kind == "gradient":
                cache[key] = _twilight_gradient(d.shape, FLAT_GRADIENT)
            elif kind == "fringe":
                cache[key] = _fringe_pattern(d.shape, b, seed + 17)
            else:
                cache[key] = calib("pixflat", b) * _illumination(d.shape, ILLUMINATION[filt])
        return cache[key]

    for fr in frames:
        if fr.kind == "SCIENCE" and not fx["seeing_variation"]:
            fr.fwhm = 3.0
        rec: dict[str, Any] = {"type": fr.kind, "night": fr.night, "mjd": fr.mjd, "filter": fr.filt,
                               "exptime": fr.exptime, "binning": fr.binning, "obs_name": fr.obs_name}
        cards = _cards(fr, size, fields)
        if fr.kind == "SCIENCE":
            b = fr.binning
            stars = fields[fr.field_name]["stars"]
            xs = [(s["x0"] + fr.jitter[0]) / b for s in stars]
            ys = [(s["y0"] + fr.jitter[1]) / b for s in stars]
            rec.update(field=fr.field_name, jitter=list(fr.jitter), wcs_error=list(fr.wcs_error),
                       fwhm=fr.fwhm, psf="moffat" if fx["moffat"] else "gaussian")
            if not headers_only:
                rec["star_xy"] = [[round(x, 4), round(y, 4)] for x, y in zip(xs, ys)]
        if headers_only:
            write_header_only(raw / fr.name, cards)
        else:
            d = Detector(nx=size, ny=size, binx=fr.binning, biny=fr.binning, full_well_e=FULL_WELL_E)
            b = fr.binning
            frng = np.random.default_rng([seed, int(round(fr.mjd * 1e5))])
            flat = None
            if fr.kind == "BIAS":
                signal: Any = 0.0
            elif fr.kind == "DARK":
                signal = 0.0
            elif fr.kind == "FLAT":
                signal = fr.level * (calib("gradient", b) if fx["flat_gradient"] else 1.0)
                flat = calib("flat", b, fr.filt)
            else:
                flux = [s["flux"][fr.filt] * fr.exptime for s in fields[fr.field_name]["stars"]]
                sky: Any = SKY_E_PER_S[fr.filt] * fr.exptime
                if fx["fringing"] and fr.filt in FRINGE_FILTERS:
                    sky = sky * (1.0 + FRINGE_AMPLITUDE * calib("fringe", b))
                signal = sky + _render(d.shape, xs, ys, flux, fr.fwhm / b, MOFFAT_BETA if fx["moffat"] else None)
                if galaxy is not None and fr.field_name == galaxy["field"]:
                    signal = signal + fr.exptime * _render_galaxy(d.shape, galaxy, fr.jitter[0], fr.jitter[1], b)
                flat = calib("flat", b, fr.filt)
            cos = COSMICS_PER_MPIX_S if fr.kind in ("DARK", "SCIENCE") and fx["cosmics"] else 0.0
            injected: dict[str, Any] = {}
            adu = expose(d, signal, fr.exptime, frng, flat=flat, bias=calib("bias", b),
                         cosmics_per_mpix_s=cos, bleed=fx["saturation_bleed"],
                         nonlinearity=NONLINEARITY if fx["nonlinearity"] else 0.0, truth=injected)
            rec.update(injected)
            write_uint16_image(raw / fr.name, cards, adu)
        truth_frames[fr.name] = rec

    n_ref = _write_refcat(static / "DEMO_REFCAT.fits", fields, rng)
    pf = calib("pixflat", 1) if not headers_only else None
    truth = {
        "description": "truth of the reflexng demo imaging data set; see reflexng.simulate.imaging",
        "data_format": DATA_FORMAT,
        "instrument": "DEMO",
        "seed": seed,
        "pixel_convention": "0-based: x = numpy column, y = numpy row; FITS pixel = x + 1",
        "detector": {"gain_e_per_adu": det1.gain, "read_noise_e": det1.read_noise_e,
                     "read_noise_adu": det1.read_noise_adu, "bias_level_adu": det1.bias_level,
                     "dark_rate_e_per_s": det1.dark_rate_e, "saturation_adu": det1.saturation_adu,
                     "size": size},
        "flat": {"pixel_rms": FLAT_RMS, "n_dead": int((pf < 0.5).sum()) if pf is not None else None,
                 "illumination": ILLUMINATION,
                 "twilight_gradient": FLAT_GRADIENT if fx["flat_gradient"] else 0.0},
        "realism": {**fx, "cosmic_rate_per_cm2_min": COSMIC_RATE_CM2_MIN if fx["cosmics"] else 0.0,
                    "cosmic_rate_per_cm2_s": COSMIC_RATE_CM2_S if fx["cosmics"] else 0.0,
                    "cosmics_per_mpix_s": COSMICS_PER_MPIX_S if fx["cosmics"] else 0.0,
                    "pixel_size_um": 15.0, "moffat_beta": MOFFAT_BETA if fx["moffat"] else None,
                    "seeing_fwhm_range_px": list(SEEING_RANGE) if fx["seeing_variation"] else [3.0, 3.0],
                    "full_well_e": FULL_WELL_E,
                    "nonlinearity_at_full_well": NONLINEARITY if fx["nonlinearity"] else 0.0,
                    "nonlinearity_model": "e_read = e - a * e**2 / full_well",
                    "flat_gradient_peak_to_peak": FLAT_GRADIENT if fx["flat_gradient"] else 0.0,
                    "fringe_amplitude": FRINGE_AMPLITUDE if fx["fringing"] else 0.0,
                    "fringe_filters": list(FRINGE_FILTERS)},
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
