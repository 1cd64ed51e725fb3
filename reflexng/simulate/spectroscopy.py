"""Simulated raw data of the DEMO long-slit spectrograph, with the truth beside it.

``generate(out, *, nights=2, seed=1, headers_only=False, scale=1, size=512) -> dict`` writes
into ``out``:

* raw frames ``DEMO.<DATE-OBS>.fits`` (``:`` replaced by ``-``) with ESO-style headers
  (``INSTRUME='DEMO'``, ``HIERARCH ESO DPR CATG/TYPE/TECH``, ``DET BINX/BINY``, ``DET DIT``,
  ``DET OUT1 GAIN`` (e-/ADU), ``DET OUT1 RON`` (e-), ``INS MODE='LSS'``, ``INS GRAT NAME``,
  ``TPL ID/START/EXPNO/NEXP``, ``OBS NAME``, ``DATE-OBS``, ``MJD-OBS``, ``EXPTIME``, ``OBJECT``,
  ``RA``/``DEC``). For every night and each binning (1x1 and 2x2): 5 biases
  (DPR.TYPE ``BIAS``), 5 lamp flats (``FLAT,LAMP``, TPL.ID ``DEMO_lss_cal_flat``), 2 arcs
  (``WAVE,LAMP``), one flux-standard exposure (DPR.CATG ``CALIB``, TYPE ``STD``), and one
  science target (DPR.CATG ``SCIENCE``, TYPE ``OBJECT``; DEMO-GAL-1 in 1x1, DEMO-QSO-2 in 2x2)
  observed 3 x 1800 s (the galaxy) or 3 x 600 s (the quasar), followed by 3 attached night-time
  flats (TPL.ID ``DEMO_lss_obs_attflat``).
  All raw frames have DPR.TECH ``SPECTRUM``. ``nights * scale`` nights are written. Timeline
  (UT): biases 18:00, calibration flats 21:00, arcs 21:22, standard 22:48, science from 02:53
  (1x1) and 05:46 (2x2) - so the flat closest in time to the standard is the afternoon flat,
  while the science frames' flat is the attached one (what ``flat_strategy`` chooses between).
* static calibrations in ``static/``: ``DEMO_LINE_LIST.fits`` (binary table WAVE [A],
  INTENSITY; DPR.CATG ``STATIC``, DPR.TYPE ``LINE_LIST``; with ``arc_defects`` it lists the blend
  companions but not the lamp's unlisted lines), ``DEMO_STD_FLUX.fits`` (binary table WAVE [A],
  FLUX [erg/s/cm2/A]; DPR.TYPE ``STD_FLUX_TABLE``, OBJECT = the star) and ``DEMO_SKY_LINES.fits``
  (night-sky lines WAVE [A], INTENSITY; DPR.TYPE ``SKY_LINE_LIST``; Na D and one OH pair are
  unresolved doublets).
* ``truth_spectroscopy.json`` (keys below) and, unless ``headers_only``,
  ``truth_spectroscopy_arrays.npz`` (numpy, not FITS, so the organiser does not see it):
  ``PIXFLAT_1X1``/``PIXFLAT_2X2``, the true pixel-to-pixel flat of each binning, and
  ``ILLUM_1X1``/``ILLUM_2X2``, the true slit illumination (fraction of light per pixel).

Realism (``generate(..., realism=Realism(...))``, all on by default, ``Realism.none()`` for the
idealised data): cosmic rays in science, standard and arc frames (``COSMICS`` = 0.15 hits per
unbinned Mpix per s = 4 /cm2/min for 15-um pixels, b*b times that per binned Mpix; passed to
``detector.expose``'s ``cosmics_per_mpix_s``), flexure (each science/standard exposure shifted
along the dispersion w.r.t. the arcs: 0.9-1.9 binned px for science, 0.1-0.4 px for standards), tilted arc and sky
lines (``spectroscopy_model.TILT``), a realistic night-sky line spectrum, blended arc lines and
lamp lines missing from the line list, and a Moffat spatial profile whose FWHM varies between
exposures.

Truth keys: ``detector`` (gain e-/ADU, read_noise_e, read_noise_adu, bias_level, dark_rate_e,
saturation_adu), ``pixel_flat_rms``, ``line_list`` ([wave, intensity] of the static list),
``lamp_lines`` (what the lamp really emits), ``missing_from_line_list``, ``blended_lines``
([listed line, companion]), ``sky_lines``, ``realism`` (the switches), ``frames`` (per science or
standard file name: kind, binning, object, ``flexure_px`` (binned px along x), ``seeing_fwhm_px``
(binned), ``cosmics_per_mpix_s`` (per unbinned Mpix), ``cosmics_per_binned_mpix_s``,
``exptime``), per binning ``"1"``/``"2"`` in ``binnings``:
``wavelength_coefficients`` (lambda[A] = sum c_k x**k with x the 0-based binned column, on the
reference row ``y_ref``), ``tilt_coefficients`` (dx/dy = sum t_k x0**k: the line at x0 on row
``y_ref`` lies at ``x0 + tilt(x0) (y - y_ref) + flexure`` on row y; exact wavelengths per pixel:
``spectroscopy_model.true_wavelength``), ``lsf_fwhm_px``, ``line_pixels`` (true centre column of
every line-list line on row ``y_ref``), ``slit_lower``/``slit_upper`` and ``traces`` (polynomial
coefficients y(x), binned pixels); ``standard`` (name, teff, wave, flux);
``targets`` (name, binning, redshift, continuum parameters, emission/absorption lines,
``line_windows``, and sampled ``wave``/``flux``/``continuum`` in erg/s/cm2/A); ``files``
(counts per DPR.TYPE). Biases carry no signal; dark current (``dark_rate_e``) is removed as
part of the sky.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from astropy.io import fits

from reflexng.simulate import spectroscopy_model as m
from reflexng.simulate.detector import DATA_FORMAT, Detector, bias_structure, expose, pixel_flat

TILT0, TILT1 = m.TILT

MJD_START = 61109.0  # 2026-03-10T00:00 UT
BINNINGS = (1, 2)
PIXEL_FLAT_RMS = 0.01
GRATING = "GR300"
LAMP_RATE = 14000.0  # e-/s per unbinned pixel at the lamp peak
ARC_RATE = 40000.0  # e-/s per unbinned row for a line of intensity 1
SKY_RATE = 0.12  # continuum e-/s/A per unbinned row, before throughput scaling (grey time)
SKY_LINE_RATE = 2000.0  # e-/s per unbinned row for a sky line of strength 1 (realism off)
SKY_LINE_RATE_REAL = 3.0  # e-/s per unbinned row per unit strength (the realistic sky)
# Cosmic-ray hits per unbinned Mpix per second. A ground-based CCD at an observatory at ~2500 m
# sees a few events per cm2 per minute (muons plus the radioactivity of the dewar window and the
# package); we take 4 /cm2/min = 0.067 /cm2/s, the imaging demo's rate. With 15-um pixels one
# Mpix is 2.25 cm2, so 0.067 * 2.25 = 0.15 /Mpix/s: ~70 hits on the 512 x 512 chip in a
# 1800-s exposure, 2-3 of them in the galaxy's extraction aperture. A binned frame has b*b
# fewer pixels on the same area, so its rate per (binned) Mpix is b*b times this.
COSMICS = 0.15
# s per science exposure, per target: the faint galaxy (1x1) 1800 s - the usual 20-30 min, long
# enough for a fair number of cosmic rays; the bright quasar (2x2) 600 s (1800 s would saturate it)
SCI_EXPTIME = (1800.0, 600.0)


@dataclass(frozen=True)
class Realism:
    """The defects of the realistic demo; each one can be switched off (``Realism.none()``: the
    old, idealised data the recipes' model matches exactly). All are recorded in the truth file."""

    cosmics_per_mpix_s: float = COSMICS  # hits per unbinned Mpix per s in science, standard and arc frames
    flexure: bool = True  # science/standard frames shifted along the dispersion w.r.t. the arcs
    tilt: bool = True  # arc and sky lines tilted along the slit
    sky_lines: bool = True  # a realistic night-sky line spectrum (strong [OI], Na D, OH)
    arc_defects: bool = True  # blended arc lines and lamp lines missing from the line list
    seeing: bool = True  # Moffat spatial profile, FWHM varying from frame to frame

    @classmethod
    def none(cls) -> Realism:
        return cls(cosmics_per_mpix_s=COSMICS, flexure=False, tilt=False, sky_lines=False,
                   arc_defects=False, seeing=False)


def _frame_effects(plan: list[dict], realism: Realism, seed: int) -> None:
    """Draw each exposure's flexure (unbinned px along the dispersion) and seeing FWHM
    (unbinned px) from a generator of its own, so the noise does not change them."""
    rng = np.random.default_rng([seed, 16])
    for f in plan:
        f["flexure_u"], f["seeing_fwhm_u"] = 0.0, None
        if f["kind"] == "science":
            if realism.flexure:  # 0.9 - 1.9 binned px, growing through the night
                f["flexure_u"] = float(f["binning"] * rng.uniform(0.9, 1.9))
            if realism.seeing:
                f["seeing_fwhm_u"] = float(rng.uniform(3.5, 6.5))
        elif f["kind"] == "std":
            if realism.flexure:
                f["flexure_u"] = float(f["binning"] * rng.uniform(0.1, 0.4))
            if realism.seeing:
                f["seeing_fwhm_u"] = float(rng.uniform(3.0, 5.5))


def _date(mjd: float) -> str:
    t = datetime(1858, 11, 17) + timedelta(milliseconds=round(mjd * 86400000.0))
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}"


def _plan(nights: int) -> list[dict]:
    """The observing plan: one dict per raw frame (no pixels yet)."""
    frames: list[dict] = []
    for night in range(nights):
        d0 = MJD_START + night
        for b in BINNINGS:
            off = (b - 1) * 0.03

            def block(kind, tpl_id, dtype, catg, start, count, exptime, step, obj, b=b, night=night, **extra):
                for i in range(count):
                    frames.append(dict(kind=kind, tpl_id=tpl_id, dpr_type=dtype, dpr_catg=catg,
                                       tpl_start=start, expno=i + 1, nexp=count,
                                       mjd=start + i * step, exptime=exptime, object=obj,
                                       binning=b, night=night, **extra))

            block("bias", "DEMO_lss_cal_bias", "BIAS", "CALIB", d0 + 0.75 + off, 5, 0.0, 60 / 86400, "BIAS")
            block("flat", "DEMO_lss_cal_flat", "FLAT,LAMP", "CALIB", d0 + 0.875 + off, 5, 3.0 / b**2,
                  60 / 86400, "FLAT")
            block("arc", "DEMO_lss_cal_arc", "WAVE,LAMP", "CALIB", d0 + 0.89 + off, 2, 2.0 / b**2,
                  60 / 86400, "WAVE")
            std = m.STANDARD
            block("std", "DEMO_lss_obs_std", "STD", "CALIB", d0 + 0.95 + off / 3, 1, 20.0 / b**2,
                  0.0, std["name"], ra=std["ra"], dec=std["dec"])
            tgt = m.TARGETS[b - 1]
            t0 = d0 + 1.12 + 0.12 * (b - 1)
            texp = SCI_EXPTIME[b - 1]
            block("science", "DEMO_lss_obs_object", "OBJECT", "SCIENCE", t0, 3, texp, (texp + 100) / 86400,
                  tgt["name"], ra=tgt["ra"], dec=tgt["dec"], target=b - 1)
            block("flat", "DEMO_lss_obs_attflat", "FLAT,LAMP", "CALIB", t0 + (3 * texp + 400) / 86400, 3,
                  3.0 / b**2, 60 / 86400, "FLAT")
    return frames


def _header(f: dict, n: int, det: Detector) -> list[tuple]:
    b = f["binning"]
    date = _date(f["mjd"])
    cards = [
        ("ORIGIN", "ESO", "simulated by reflexng"),
        ("TELESCOP", "DEMO-TEL"),
        ("INSTRUME", "DEMO"),
        ("OBJECT", f["object"]),
        ("RA", float(f.get("ra", 0.0)), "[deg]"),
        ("DEC", float(f.get("dec", 0.0)), "[deg]"),
        ("DATE-OBS", date),
        ("MJD-OBS", round(f["mjd"], 8)),
        ("EXPTIME", float(f["exptime"]), "[s]"),
        ("ARCFILE", f"DEMO.{date}.fits"),
        ("HIERARCH ESO DPR CATG", f["dpr_catg"]),
        ("HIERARCH ESO DPR TYPE", f["dpr_type"]),
        ("HIERARCH ESO DPR TECH", "SPECTRUM"),
        ("HIERARCH ESO DET BINX", b),
        ("HIERARCH ESO DET BINY", b),
        ("HIERARCH ESO DET DIT", float(f["exptime"])),
        ("HIERARCH ESO DET NDIT", 1),
        ("HIERARCH ESO DET CHIP NX", n),
        ("HIERARCH ESO DET CHIP NY", n),
        ("HIERARCH ESO DET OUT1 GAIN", det.gain, "[e-/ADU]"),
        ("HIERARCH ESO DET OUT1 RON", det.read_noise_e, "[e-]"),
        ("HIERARCH ESO INS MODE", "LSS"),
        ("HIERARCH ESO INS GRAT NAME", GRATING),
        ("HIERARCH ESO INS SLIT NAME", "SLIT1.0"),
        ("HIERARCH ESO OBS NAME", f"{f['object']}_{f['kind']}" if f["kind"] in ("std", "science") else "calibration"),
        ("HIERARCH ESO TPL ID", f["tpl_id"]),
        ("HIERARCH ESO TPL START", _date(f["tpl_start"])[:19]),
        ("HIERARCH ESO TPL EXPNO", f["expno"]),
        ("HIERARCH ESO TPL NEXP", f["nexp"]),
    ]
    if f["kind"] in ("std", "science"):
        cards.append(("AIRMASS", 1.1))
    return cards


def lamp_lines(realism: Realism) -> tuple:
    """The arc lamp's lines: the listed ones plus, with ``arc_defects``, blend companions and
    lines missing from the line list."""
    if not realism.arc_defects:
        return m.BASE_ARC_LINES
    return tuple(sorted((*m.BASE_ARC_LINES, *m.ARC_BLEND_COMPANIONS, *m.ARC_UNLISTED)))


def listed_lines(realism: Realism) -> tuple:
    """The static line list: the lamp's lines without the unlisted ones (blends listed)."""
    if not realism.arc_defects:
        return m.BASE_ARC_LINES
    return tuple(sorted((*m.BASE_ARC_LINES, *m.ARC_BLEND_COMPANIONS)))


def _object_rate(n: int, f: dict, realism: Realism) -> np.ndarray:
    """(n, n) electrons/s of the standard or target, per row with its tilt and flexure."""
    if f["kind"] == "std":
        fn, y0 = m.standard_flux, 0.5
    else:
        tgt = m.TARGETS[f["target"]]
        fn, y0 = (lambda w, t=tgt: m.target_flux(t, w)), tgt["y0"]
    prof = m.object_profile(n, y0, f["seeing_fwhm_u"])
    if not (realism.tilt or realism.flexure):
        return m.render_continuum(n, fn)[None, :] * prof
    out = np.zeros((n, n))
    rows = np.nonzero(prof.max(axis=1) > 1e-7)[0]
    for y in rows:
        out[y] = m.render_continuum(n, fn, y_u=float(y), flexure=f["flexure_u"], tilt=realism.tilt) * prof[y]
    return out


def _signal(f: dict, n: int, cache: dict, realism: Realism) -> np.ndarray:
    """Expected electrons per binned pixel (pixel flat included), before read-out."""
    kind = f["kind"]
    per_frame = kind in ("std", "science") and (realism.flexure or realism.seeing)
    key = (kind, f.get("target"), f["binning"]) if not per_frame else None
    if key is None or key not in cache:
        illum = cache.setdefault("illum", m.slit_illumination(n))
        pflat = cache["pflat"]
        if kind == "bias":
            rate = np.zeros((n, n))
        elif kind == "flat":
            w = m.wavelength_poly(n, 1)(np.arange(n))
            spec = m.lamp_shape(w) * m.throughput(w)
            rate = LAMP_RATE * (spec / spec.max())[None, :] * illum
        elif kind == "arc":
            if "arc_rate" not in cache:
                if realism.tilt:
                    cache["arc_rate"] = m.render_lines_2d(n, lamp_lines(realism), ARC_RATE, 0.0, True)
                else:
                    cache["arc_rate"] = m.render_lines(n, lamp_lines(realism), ARC_RATE)[None, :]
            rate = cache["arc_rate"] * illum
        else:
            if "sky_cont" not in cache:
                cache["sky_cont"] = m.render_continuum(n, lambda w: np.full_like(w, SKY_RATE / m.FLUX_TO_E))
            sky = np.broadcast_to(cache["sky_cont"][None, :], (n, n))
            if realism.sky_lines:
                sky = sky + m.render_lines_2d(n, m.SKY_LINES, SKY_LINE_RATE_REAL, f["flexure_u"], realism.tilt)
            else:
                sky = sky + m.render_lines(n, m.SKY_LINES[:8], SKY_LINE_RATE * 1e-4)[None, :]
            rate = (_object_rate(n, f, realism) + sky) * illum
        img = m.bin_image(rate * pflat, f["binning"])
        if key is None:
            return img * max(f["exptime"], 1.0)
        cache[key] = img
    return cache[key] * max(f["exptime"], 1.0 if f["kind"] != "bias" else 0.0)


def _write_static(out: Path, realism: Realism) -> list[str]:
    static = out / "static"
    static.mkdir(parents=True, exist_ok=True)
    base = [("INSTRUME", "DEMO"), ("MJD-OBS", 58849.0), ("DATE-OBS", "2020-01-01T00:00:00.000"),
            ("HIERARCH ESO DPR CATG", "STATIC"), ("HIERARCH ESO DPR TECH", "SPECTRUM"),
            ("HIERARCH ESO INS MODE", "LSS")]
    ll = np.array(listed_lines(realism))
    t1 = fits.BinTableHDU.from_columns([
        fits.Column("WAVE", "D", "Angstrom", array=ll[:, 0]),
        fits.Column("INTENSITY", "D", array=ll[:, 1])], name="LINES")
    h1 = fits.Header([*base, ("HIERARCH ESO DPR TYPE", "LINE_LIST"), ("OBJECT", "LINE_LIST")])
    p1 = static / "DEMO_LINE_LIST.fits"
    fits.HDUList([fits.PrimaryHDU(header=h1), t1]).writeto(p1, overwrite=True)
    w = np.arange(3800.0, 7201.0, 5.0)
    t2 = fits.BinTableHDU.from_columns([
        fits.Column("WAVE", "D", "Angstrom", array=w),
        fits.Column("FLUX", "D", "erg/s/cm2/Angstrom", array=m.standard_flux(w))], name="FLUX")
    h2 = fits.Header([*base, ("HIERARCH ESO DPR TYPE", "STD_FLUX_TABLE"), ("OBJECT", m.STANDARD["name"]),
                      ("RA", m.STANDARD["ra"]), ("DEC", m.STANDARD["dec"])])
    p2 = static / "DEMO_STD_FLUX.fits"
    fits.HDUList([fits.PrimaryHDU(header=h2), t2]).writeto(p2, overwrite=True)
    sl = np.array(m.SKY_LINES)
    t3 = fits.BinTableHDU.from_columns([
        fits.Column("WAVE", "D", "Angstrom", array=sl[:, 0]),
        fits.Column("INTENSITY", "D", array=sl[:, 1])], name="LINES")
    h3 = fits.Header([*base, ("HIERARCH ESO DPR TYPE", "SKY_LINE_LIST"), ("OBJECT", "SKY_LINE_LIST")])
    p3 = static / "DEMO_SKY_LINES.fits"
    fits.HDUList([fits.PrimaryHDU(header=h3), t3]).writeto(p3, overwrite=True)
    return [str(p1), str(p2), str(p3)]


def _truth(n: int, seed: int, nights: int, det: Detector, counts: dict, realism: Realism,
           frames: dict) -> dict:
    grid = np.arange(3900.0, 7100.5, 1.0)
    bins = {}
    for b in BINNINGS:
        wl = m.wavelength_poly(n, b)
        lo, hi = m.slit_edges(n)
        xb = np.arange(n // b)
        xu = b * xb + (b - 1) / 2.0
        lo_b = (np.interp(xu, np.arange(n), lo) - (b - 1) / 2) / b
        hi_b = (np.interp(xu, np.arange(n), hi) - (b - 1) / 2) / b
        traces = {m.STANDARD["name"]: m.trace_poly(n, b, 0.5).coef.tolist()}
        traces.update({t["name"]: m.trace_poly(n, b, t["y0"]).coef.tolist() for t in m.TARGETS})
        y_ref = (n / 2.0 - (b - 1) / 2.0) / b
        # tilt(xb0) in binned coordinates: u0 = b (xb0 + .5) / n
        tilt_b = (np.polynomial.Polynomial([TILT0 - 0.5 * TILT1, TILT1])(
            np.polynomial.Polynomial([b / (2.0 * n), b / float(n)]))) if realism.tilt else np.polynomial.Polynomial([0.0])
        bins[str(b)] = {
            "shape": [n // b, n // b],
            "wavelength_coefficients": wl.coef.tolist(),
            "y_ref": y_ref,
            "tilt_coefficients": tilt_b.coef.tolist(),
            "lsf_fwhm_px": 2.3548 * m.LSF_SIGMA / b,
            "seeing_sigma_px": m.SEEING_SIGMA / b,
            "line_pixels": m.pixel_of_wave(np.array([w for w, _ in listed_lines(realism)]), n, b).tolist(),
            "slit_lower": np.polynomial.Polynomial.fit(xb, lo_b, 1).convert().coef.tolist(),
            "slit_upper": np.polynomial.Polynomial.fit(xb, hi_b, 1).convert().coef.tolist(),
            "traces": traces,
        }
    targets = []
    for b, t in zip(BINNINGS, m.TARGETS):
        targets.append({
            "name": t["name"], "binning": b, "redshift": t["redshift"], "f5500": t["f5500"],
            "slope": t["slope"], "emission": t["emission"], "absorption": t["absorption"],
            "line_windows": m.target_line_windows(t), "wave": grid.tolist(),
            "flux": m.target_flux(t, grid).tolist(), "continuum": m.target_continuum(t, grid).tolist(),
        })
    return {
        "instrument": "DEMO", "mode": "spectroscopy", "size": n, "seed": seed, "nights": nights,
        "data_format": DATA_FORMAT,
        "detector": {"gain": det.gain, "read_noise_e": det.read_noise_e,
                     "read_noise_adu": det.read_noise_adu, "bias_level": det.bias_level,
                     "dark_rate_e": det.dark_rate_e, "saturation_adu": det.saturation_adu},
        "pixel_flat_rms": PIXEL_FLAT_RMS,
        "line_list": [list(x) for x in listed_lines(realism)],
        "lamp_lines": [list(x) for x in lamp_lines(realism)],
        "missing_from_line_list": [list(x) for x in m.ARC_UNLISTED] if realism.arc_defects else [],
        "blended_lines": ([[a[0], c[0]] for c in m.ARC_BLEND_COMPANIONS
                           for a in [min(m.BASE_ARC_LINES, key=lambda x, c=c: abs(x[0] - c[0]))]]
                          if realism.arc_defects else []),
        "sky_lines": [list(x) for x in (m.SKY_LINES if realism.sky_lines else m.SKY_LINES[:8])],
        "realism": {**asdict(realism), "tilt_model": "x = x0 + tilt(x0) (y - y_ref) + flexure (binned px)",
                    "moffat_beta": m.MOFFAT_BETA if realism.seeing else None},
        "frames": frames,
        "binnings": bins,
        "standard": {"name": m.STANDARD["name"], "teff": m.STANDARD["teff"], "f5500": m.STANDARD["f5500"],
                     "wave": grid.tolist(), "flux": m.standard_flux(grid).tolist()},
        "targets": targets,
        "files": counts,
    }


def _card(key: str, value, comment: str = "") -> str:
    """One 80-character FITS card (fast path for header-only files; astropy reads it back)."""
    if isinstance(value, bool):
        v = "T" if value else "F"
    elif isinstance(value, (int, np.integer)):
        v = str(int(value))
    elif isinstance(value, float):
        v = repr(value)
        if "e" not in v and "." not in v:
            v += ".0"
        v = v.upper()
    else:
        v = "'" + str(value).replace("'", "''").ljust(8) + "'"
    if key.startswith("HIERARCH "):
        text = f"{key} = {v}"
    else:
        text = f"{key:<8}= {v:>20}" if not v.startswith("'") else f"{key:<8}= {v}"
    if comment:
        text += f" / {comment}"
    return text[:80].ljust(80)


def _write_header_only(path: Path, header: list[tuple]) -> None:
    cards = [_card("SIMPLE", True), _card("BITPIX", 8), _card("NAXIS", 0), _card("EXTEND", True)]
    cards += [_card(*c) for c in header]
    text = "".join(cards) + "END".ljust(80)
    text += " " * (-len(text) % 2880)
    path.write_bytes(text.encode("ascii"))


def generate(out, *, nights: int = 2, seed: int = 1, headers_only: bool = False, scale: int = 1,
             size: int = 512, realism: Realism | None = None) -> dict:
    """Write ``nights * scale`` nights of DEMO long-slit data into ``out``; return a summary."""
    out = Path(out)
    if nights < 1 or scale < 1:
        raise ValueError(f"nights and scale must be >= 1 (got nights={nights}, scale={scale})")
    if size < 128 or size % 4:
        raise ValueError(f"size must be a multiple of 4 and at least 128 (got {size})")
    out.mkdir(parents=True, exist_ok=True)
    total_nights = nights * scale
    plan = _plan(total_nights)
    realism = Realism() if realism is None else realism
    _frame_effects(plan, realism, seed)
    rng = np.random.default_rng(seed)
    base_det = Detector(nx=size, ny=size)
    frames: dict[str, dict] = {}
    cache: dict = {}
    if not headers_only:
        cache["pflat"] = pixel_flat(base_det, PIXEL_FLAT_RMS, seed=seed + 10).astype(np.float64)
    counts: dict[str, int] = {}
    paths = []
    for f in plan:
        det = Detector(nx=size, ny=size, binx=f["binning"], biny=f["binning"])
        hdr = _header(f, size, det)
        path = out / f"DEMO.{_date(f['mjd']).replace(':', '-')}.fits"
        injected: dict = {}  # what expose() put in: the cosmic rays
        if headers_only:
            _write_header_only(path, hdr)
        else:
            bkey = ("bias", f["binning"])
            if bkey not in cache:
                cache[bkey] = bias_structure(det)
            cr = realism.cosmics_per_mpix_s * f["binning"] ** 2 if f["kind"] in ("science", "std", "arc") else 0.0
            img = expose(det, _signal(f, size, cache, realism), f["exptime"], rng, bias=cache[bkey],
                         cosmics_per_mpix_s=cr, truth=injected)
            fits.PrimaryHDU(img, header=fits.Header(hdr)).writeto(path, overwrite=True)
        if f["kind"] in ("science", "std"):
            b = f["binning"]
            frames[path.name] = {
                "kind": f["kind"], "binning": b, "object": f["object"],
                "flexure_px": f["flexure_u"] / b,
                "seeing_fwhm_px": (f["seeing_fwhm_u"] or 2.3548 * m.SEEING_SIGMA) / b,
                "cosmics_per_mpix_s": realism.cosmics_per_mpix_s,
                "cosmics_per_binned_mpix_s": realism.cosmics_per_mpix_s * b * b,
                "exptime": f["exptime"],
                "cosmics": injected.get("cosmics", {"n": 0, "n_tracks": 0, "pixels": 0, "events": []})}
        counts[f["dpr_type"]] = counts.get(f["dpr_type"], 0) + 1
        paths.append(path)
    static = _write_static(out, realism)
    truth = _truth(size, seed, total_nights, base_det, counts, realism, frames)
    if not headers_only:
        _write_truth_arrays(out, size, cache["pflat"])
    (out / "truth_spectroscopy.json").write_text(json.dumps(truth, indent=1))
    return {"out": str(out), "files": len(paths), "static": static, "nights": total_nights,
            "counts": counts, "truth": str(out / "truth_spectroscopy.json"), "size": size,
            "headers_only": headers_only}


def _write_truth_arrays(out: Path, n: int, pflat: np.ndarray) -> None:
    illum = m.slit_illumination(n)
    arrays = {}
    for b in BINNINGS:
        num = m.bin_image(illum * pflat, b)
        den = m.bin_image(illum, b)
        with np.errstate(invalid="ignore", divide="ignore"):
            pf = np.where(den > 1e-3 * b * b, num / den, 1.0)
        arrays[f"PIXFLAT_{b}X{b}"] = pf.astype(np.float32)
        arrays[f"ILLUM_{b}X{b}"] = (den / (b * b)).astype(np.float32)
    np.savez_compressed(out / "truth_spectroscopy_arrays.npz", **arrays)
