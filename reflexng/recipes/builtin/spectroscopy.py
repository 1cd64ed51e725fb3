"""Built-in recipes of the DEMO long-slit spectrograph (entry point ``demo_spectroscopy``).

=========================  ======================================  =========================
recipe                     inputs (categories)                     products (PRO CATG)
=========================  ======================================  =========================
demo_spec_bias             BIAS                                    MASTER_BIAS
demo_spec_flat             FLAT, MASTER_BIAS                       MASTER_FLAT
demo_spec_fit_order        FLAT, MASTER_BIAS                       ORDER_TABLE
demo_spec_wavecal          ARC, MASTER_BIAS, LINE_LIST,            WAVE_SOLUTION
                           [ORDER_TABLE]
demo_spec_flat_select      STD, MASTER_FLAT..., [OBJECT]           MASTER_FLAT (copy)
demo_spec_response         STD, MASTER_BIAS, MASTER_FLAT,          RESPONSE
                           ORDER_TABLE, WAVE_SOLUTION,
                           STD_FLUX_TABLE, SKY_LINE_LIST
demo_spec_science          OBJECT or STD, MASTER_BIAS,             SCI_SPECTRUM + SCI_REDUCED_2D
                           MASTER_FLAT, ORDER_TABLE,               (STD_SPECTRUM +
                           WAVE_SOLUTION, SKY_LINE_LIST,           STD_REDUCED_2D for STD)
                           [RESPONSE]
demo_spec_combine          SCI_SPECTRUM... or STD_SPECTRUM...      SCI_SPECTRUM_COMBINED /
                                                                   STD_SPECTRUM_COMBINED
=========================  ======================================  =========================

1-D spectra are binary tables (extension ``SPECTRUM``) with ``WAVE`` [Angstrom], ``FLUX``, ``ERR``
(1 sigma) - flux in erg/s/cm2/A when a RESPONSE was given (``BUNIT`` and ``FLUXCAL=T`` in the
table header), else in ADU/s/A - plus ``COUNTS``/``COUNTS_ERR`` (extracted ADU per column) and
``SKY`` (ADU per column in the aperture). Per-pixel spectra keep the detector's wavelength
sampling; combined spectra are on a linear grid.

The extraction (response and science) copes with the instrument's defects, each with a parameter:
line tilt (``rectify``: the sky modelled as one spectrum along the arcs' tilt, Kelson 2003, and
each column given the wavelength of the object's row), flexure (``flexure_correction``: the
night-sky lines of SKY_LINE_LIST located on that sky spectrum, the wavelength scale shifted by
their median offset), cosmic rays (``cr_clip`` of the optimal extraction) and
``extraction=optimal|box``. QC cards (prefix SCI or STD): ``FLEX SHIFT`` (px, measured),
``FLEX NLINES``, ``FLEX CORRECTED``, ``SKYLINE OFFSET`` (px: the sky lines' centres in the
extracted sky on the final wavelength scale minus their catalogue wavelengths), ``SKY RESID RMS``
(68th percentile of |residual / sigma| of the sky pixels around the sky lines: 1 = noise),
``EXTR METHOD``, ``EXTR SNR`` (median S/N per pixel), ``EXTR NCRREJ`` (pixels rejected as cosmic
rays), ``TRACE SIGMA`` (FWHM / 2.3548 of the stacked spatial profile).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from reflexng.recipes.builtin import spectroscopy_core as core
from reflexng.recipes.builtin import spectroscopy_io as io
from reflexng.recipes.builtin.spectroscopy_calib import (
    DemoSpecBias,
    DemoSpecFitOrder,
    DemoSpecFlat,
    DemoSpecFlatSelect,
    DemoSpecWavecal,
    read_slit,
    read_tilt,
    read_wave_solution,
)
from reflexng.recipes.builtin.spectroscopy_sky import (
    measure_flexure,
    sky_line_offset,
    sky_residual_rms,
    usable_sky_lines,
)
from reflexng.recipes.builtin.spectroscopy_wave import combine_spectra, fit_response
from reflexng.recipes.protocol import ParameterSpec, Recipe, RecipeError, RecipeResult

P = ParameterSpec
EXTRACT_PARAMS = (
    P("trace_degree", "int", 2, "polynomial degree of the object trace y(x)", min=0, max=6),
    P("trace_step", "int", 16, "columns per trace measurement", min=2, max=256),
    P("aperture", "float", 4.0, "extraction half-width in units of the spatial sigma (FWHM / 2.355)", min=1.0, max=20.0),
    P("extraction", "str", "optimal", "optimal (Horne 1986: profile-weighted, cosmic rays rejected) or box "
      "(plain sum over the aperture)", choices=("optimal", "box")),
    P("sky_exclude", "float", 6.0, "rows within this many sigma of the trace are not sky", min=2.0, max=50.0),
    P("sky_degree", "int", 1, "polynomial degree of the sky along the slit", min=0, max=4),
    P("sky_knots", "float", 0.5, "knot spacing (px) of the sky spectrum in the rectified frame", min=0.2, max=5.0),
    P("rectify", "bool", True, "model the sky along the tilted lines (the arcs' tilt) and give each column the "
      "wavelength of the object's row; off: every column is one wavelength", ),
    P("flexure_correction", "bool", True, "shift the wavelength scale by the offset of the night-sky lines "
      "(SKY_LINE_LIST) from where the arc solution puts them"),
    P("flexure_max", "float", 5.0, "largest flexure shift searched (px)", min=0.5, max=50.0),
    P("profile_smooth", "int", 21, "running-median length (columns) of the spatial profile", min=1, max=501),
    P("cr_clip", "float", 5.0, "cosmic-ray rejection threshold (sigma) of the optimal extraction", min=3.0, max=1000.0),
)


def _rectified_sky(data, var, sky_pix, xr, p, inslit, ty, tr, note):
    """Sky along the tilted lines (B-spline in the rectified column) plus a smooth correction
    along the slit; falls back to the per-column fit when the tilt is too small to sample it."""
    try:
        s2d, spl = core.fit_sky_rectified(data, var, sky_pix, xr, p["sky_knots"])
    except ValueError as exc:
        note.append(f"sky along the tilt not possible ({exc}); per-column sky instead")
        return core.fit_sky(data, var, inslit, ty, p["sky_exclude"] * tr.sigma, p["sky_degree"]), None
    corr = core.fit_sky(data - s2d, var, inslit, ty, p["sky_exclude"] * tr.sigma, p["sky_degree"])
    return s2d + corr, spl


def extract(groups: Mapping[str, list[str]], main_path: str, p: Mapping[str, Any]) -> dict:
    """Bias, flat, trace, sky (along the tilted lines), flexure against the sky lines, and
    optimal or box extraction of one raw frame; everything the response and science recipes need."""
    raw, hdr = io.read_image(main_path)
    bias_path = io.need(groups, "MASTER_BIAS", what="master bias")[0]
    bias, bias_var, _b, bh = io.read_product(bias_path)
    io.check_same_binning(hdr, bh, bias_path)
    flat_path = io.need(groups, "MASTER_FLAT", what="master flat")[0]
    flat, _fv, bpm, fh = io.read_product(flat_path)
    io.check_same_binning(hdr, fh, flat_path)
    edges = read_slit(io.need(groups, "ORDER_TABLE", what="order table (slit edges)")[0])
    ws_path = io.need(groups, "WAVE_SOLUTION", what="wavelength solution")[0]
    sol = read_wave_solution(ws_path)
    tilt, y_ref = read_tilt(ws_path)
    lsf = float(fits.getheader(ws_path).get("HIERARCH ESO QC WAVE FWHM PX", 3.5))
    sky_lines = None
    if p["flexure_correction"] or groups.get("SKY_LINE_LIST"):
        sl_path = io.need(groups, "SKY_LINE_LIST", what="night-sky line list (needed by flexure_correction; "
                          "or set flexure_correction=false)")[0]
        tab, _th, _ph = io.read_table(sl_path)
        if "WAVE" not in tab.columns.names:
            raise RecipeError(f"{sl_path}: the sky line list needs a WAVE column (Angstrom)")
        sky_lines = np.asarray(tab["WAVE"], float)
    if raw.shape != bias.shape or raw.shape != flat.shape:
        raise RecipeError(f"{main_path}: shape {raw.shape} does not match the master bias {bias.shape} "
                          f"or flat {flat.shape}")
    gain, ron = io.detector_noise(hdr)
    data, var = core.reduce_frame(raw, bias, flat, gain, ron, bias_var)
    inslit = core.slit_mask(data.shape, edges, margin=2.0)
    try:
        tr = core.find_trace(data, inslit, p["trace_degree"], p["trace_step"])
    except ValueError as exc:
        raise RecipeError(f"{main_path}: {exc}") from None
    ny, nx = data.shape
    x = np.arange(nx, dtype=float)
    yy = np.arange(ny, dtype=float)[:, None]
    ty = tr.poly(x)
    rectify = bool(p["rectify"])
    t_x = tilt(x) if rectify else np.zeros(nx)
    xr = x[None, :] - t_x[None, :] * (yy - y_ref)  # the reference-row column of every pixel
    sky_pix = inslit & (np.abs(yy - ty[None, :]) > p["sky_exclude"] * tr.sigma) & np.isfinite(data)
    if bpm is not None:
        sky_pix &= ~bpm
    note: list[str] = []
    spl = None
    if rectify:
        sky, spl = _rectified_sky(data, var, sky_pix, xr, p, inslit, ty, tr, note)
    else:
        sky = core.fit_sky(data, var, inslit, ty, p["sky_exclude"] * tr.sigma, p["sky_degree"])
    # flexure: the sky lines against the arc solution (on the reference row)
    flex, nflex, flex_scatter, line_w, line_x = 0.0, 0, float("nan"), np.array([]), np.array([])
    if sky_lines is not None:
        line_w, line_x = usable_sky_lines(sky_lines, sol, nx, lsf)
        if spl is not None:
            fine = np.arange(0.0, nx - 1.0, 0.05)
            s1 = spl(fine)
        else:
            fine = x
            s1 = np.array([np.median(sky[sky_pix[:, i], i]) if sky_pix[:, i].any() else 0.0 for i in range(nx)])
        flex, nflex, flex_scatter = measure_flexure(fine, s1, line_x, lsf, p["flexure_max"])
        if p["flexure_correction"] and nflex == 0:
            note.append("no night-sky line measured: no flexure correction")
    applied = flex if p["flexure_correction"] else 0.0
    half = p["aperture"] * tr.sigma
    if p["extraction"] == "optimal":
        ex = core.horne_extract(data, sky, flat, ty, half, gain, ron,
                                smooth=p["profile_smooth"], clip=p["cr_clip"], bad=bpm)
    else:
        opt = core.horne_extract(data, sky, flat, ty, half, gain, ron, smooth=p["profile_smooth"],
                                 clip=1e9, iters=1, bad=bpm)
        bf, bv = core.box_extract(data, sky, var, ty, half, bad=bpm)
        ex = core.Extraction(bf, bv, bf, opt.sky, 0, opt.profile)
    exptime = float(hdr.get("EXPTIME", 0.0)) or 1.0
    x_eff = x - t_x * (ty - y_ref) - applied  # reference-row column of the object's light
    wave = sol(x_eff)
    dldx = np.abs(sol.deriv()(x_eff))
    rate = ex.flux / exptime / dldx
    rate_err = np.sqrt(ex.var) / exptime / dldx
    snr = ex.flux / np.sqrt(ex.var)
    qc = {"TRACE Y": float(tr.poly(nx / 2.0)), "TRACE RMS": tr.rms, "TRACE SIGMA": tr.sigma,
          "EXTR METHOD": p["extraction"], "EXTR NCRREJ": ex.nrejected,
          "EXTR SNR": float(np.nanmedian(snr[nx // 10: -nx // 10])),
          "SKY MEDIAN": float(np.median(ex.sky)), "RECTIFIED": rectify}
    if sky_lines is not None:
        off, noff = sky_line_offset(wave, ex.sky, line_w, lsf)
        obj_free = sky_pix & (np.abs(yy - ty[None, :]) > p["sky_exclude"] * tr.sigma + 2)
        qc.update({"FLEX SHIFT": round(flex, 4), "FLEX NLINES": nflex,
                   "FLEX SCATTER": round(flex_scatter, 4) if np.isfinite(flex_scatter) else -1.0,
                   "FLEX CORRECTED": bool(p["flexure_correction"]),
                   "SKYLINE OFFSET": round(off, 4) if np.isfinite(off) else 99.0, "SKYLINE NLINES": noff,
                   "SKY RESID RMS": round(sky_residual_rms(data - sky, var, obj_free, line_x + flex, 1.5 * lsf), 4)})
    for n_ in note:
        print(f"{main_path}: {n_}")
    print(f"{main_path}: trace at y={qc['TRACE Y']:.2f} (rms {tr.rms:.3f} px), S/N {qc['EXTR SNR']:.1f}, "
          f"{ex.nrejected} pixels rejected" + (f", flexure {flex:+.3f} px from {nflex} sky lines"
                                               f"{'' if p['flexure_correction'] else ' (not corrected)'}"
                                               if sky_lines is not None else ""))
    return {"hdr": hdr, "wave": wave, "rate": rate, "rate_err": rate_err, "ext": ex, "qc": qc,
            "data": data - sky, "var": var, "trace": tr, "exptime": exptime, "dldx": dldx}


class DemoSpecResponse(Recipe):
    name = "demo_spec_response"
    version = "1.0"
    description = ("Response curve: the standard star's extracted count rate (ADU/s/A) divided by its known flux, "
                   "fitted with a smooth spline in log space.")
    parameters = (*EXTRACT_PARAMS,
                  P("knot_spacing", "float", 400.0, "spline knot spacing of the response fit (A)", min=50.0, max=5000.0),
                  P("edge_exclude", "int", 10, "columns at each end left out of the fit", min=0, max=200),
                  P("fit_clip", "float", 3.0, "rejection threshold of the response fit", min=1.5, max=20.0))
    input_categories = ("STD", "MASTER_BIAS", "MASTER_FLAT", "ORDER_TABLE", "WAVE_SOLUTION", "STD_FLUX_TABLE",
                        "SKY_LINE_LIST")
    output_categories = ("RESPONSE",)

    def run(self, inputs, parameters, output_dir) -> RecipeResult:
        groups = io.by_category(inputs)
        std = io.need(groups, "STD", what="raw standard star frame")[0]
        ref_path = io.need(groups, "STD_FLUX_TABLE", what="standard star flux table (static calibration)")[0]
        tab, _th, ref_h = io.read_table(ref_path)
        if not {"WAVE", "FLUX"} <= set(tab.columns.names):
            raise RecipeError(f"{ref_path}: the flux table needs WAVE and FLUX columns")
        r = extract(groups, std, parameters)
        star = str(r["hdr"].get("OBJECT", "")).strip()
        ref_star = str(ref_h.get("OBJECT", "")).strip()
        if ref_star and star and ref_star != star:
            raise RecipeError(f"{ref_path}: flux table is for {ref_star!r} but {std} observed {star!r}")
        wave = r["wave"]
        ref = np.interp(wave, np.asarray(tab["WAVE"], float), np.asarray(tab["FLUX"], float),
                        left=np.nan, right=np.nan)
        ratio = r["rate"] / ref
        err = r["rate_err"] / ref
        e = parameters["edge_exclude"]
        fit_ok = np.ones(wave.size, bool)
        if e:
            fit_ok[:e] = fit_ok[-e:] = False
        try:
            resp, used = fit_response(wave, np.where(fit_ok, ratio, np.nan), err,
                                      parameters["knot_spacing"], parameters["fit_clip"])
        except ValueError as exc:
            raise RecipeError(f"{std}: {exc}") from None
        rel = ratio[used] / resp[used] - 1
        qc = {**{f"STD {k}": v for k, v in r["qc"].items()},
              "RESP MEDIAN": float(np.median(resp)), "RESP FIT RMS": float(np.sqrt(np.mean(rel ** 2))),
              "RESP NUSED": int(used.sum())}
        hdr = io.product_header(r["hdr"], "RESPONSE", self, parameters, [std], qc, inputs=inputs)
        out = io.write_table(output_dir / "response.fits", hdr, {
            "WAVE": (wave, "Angstrom"), "RESPONSE": (resp, "adu/s/Angstrom / (erg/s/cm2/Angstrom)"),
            "RATIO": (ratio, "adu/s/Angstrom / (erg/s/cm2/Angstrom)"), "USED": (used.astype(np.int64), ""),
            "COUNTS": (r["rate"], "adu/s/Angstrom"), "COUNTS_ERR": (r["rate_err"], "adu/s/Angstrom"),
            "REF_FLUX": (ref, "erg/s/cm2/Angstrom")}, name="RESPONSE")
        return RecipeResult([(out, "RESPONSE")], qc)


class DemoSpecScience(Recipe):
    name = "demo_spec_science"
    version = "1.0"
    description = ("Science reduction: bias, flat, object trace, sky subtraction, optimal (Horne) extraction with "
                   "variance, wavelength calibration and - with a RESPONSE - flux calibration.")
    parameters = EXTRACT_PARAMS
    input_categories = ("OBJECT", "STD", "MASTER_BIAS", "MASTER_FLAT", "ORDER_TABLE", "WAVE_SOLUTION", "RESPONSE",
                        "SKY_LINE_LIST")
    output_categories = ("SCI_SPECTRUM", "SCI_REDUCED_2D", "STD_SPECTRUM", "STD_REDUCED_2D")

    def run(self, inputs, parameters, output_dir) -> RecipeResult:
        groups = io.by_category(inputs)
        main = io.need(groups, "OBJECT", "STD", what="raw science (OBJECT) or standard (STD) frame")
        kind = "SCI" if groups.get("OBJECT") else "STD"
        if len(main) != 1:
            raise RecipeError(f"{kind} reduction takes one raw frame per job, got {len(main)}: {main}")
        r = extract(groups, main[0], parameters)
        flux, err, unit, fluxcal = r["rate"], r["rate_err"], "adu/s/Angstrom", False
        qc = {f"{kind} {k}": v for k, v in r["qc"].items()}
        if groups.get("RESPONSE"):
            rp = groups["RESPONSE"][0]
            tab, _th, rh = io.read_table(rp)
            io.check_same_binning(r["hdr"], rh, rp)
            rw, rr = np.asarray(tab["WAVE"], float), np.asarray(tab["RESPONSE"], float)
            o = np.argsort(rw)
            resp = np.interp(r["wave"], rw[o], rr[o])
            flux, err, unit, fluxcal = flux / resp, err / resp, "erg/s/cm2/Angstrom", True
            qc[f"{kind} FLUX MEDIAN"] = float(np.nanmedian(flux))
        qc[f"{kind} FLUXCAL"] = fluxcal
        ex = r["ext"]
        hdr = io.product_header(r["hdr"], f"{kind}_SPECTRUM", self, parameters, main, qc, inputs=inputs)
        cols = {"WAVE": (r["wave"], "Angstrom"), "FLUX": (flux, unit), "ERR": (err, unit),
                "COUNTS": (ex.flux, "adu"), "COUNTS_ERR": (np.sqrt(ex.var), "adu"), "SKY": (ex.sky, "adu")}
        hdr["FLUXCAL"] = ("ABSOLUTE" if fluxcal else "UNCALIBRATED", "Certifies the validity of PHOTZP")
        stem = Path(main[0]).name.removesuffix(".fits")
        spec = io.write_spectrum(output_dir / f"{kind.lower()}_spectrum_{stem}.fits", hdr, cols, science=kind == "SCI")
        h2 = io.product_header(r["hdr"], f"{kind}_REDUCED_2D", self, parameters, main, qc, inputs=inputs)
        img = io.write_image(output_dir / f"{kind.lower()}_reduced_2d_{stem}.fits", h2, r["data"], r["var"])
        return RecipeResult([(spec, f"{kind}_SPECTRUM"), (img, f"{kind}_REDUCED_2D")], qc)


def read_spectrum(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, fits.Header]:
    tab, th, ph = io.read_table(path, "SPECTRUM")
    c = io.spectrum_columns(tab)
    return (np.asarray(c["WAVE"], float), np.asarray(c["FLUX"], float), np.asarray(c["ERR"], float), ph)


class DemoSpecCombine(Recipe):
    name = "demo_spec_combine"
    version = "1.0"
    description = "Inverse-variance weighted combination of extracted 1-D spectra on a common linear grid."
    parameters = (P("wave_step", "float", 0.0, "output sampling (A); 0 = the finest input sampling", min=0.0, max=100.0),
                  P("clip", "float", 5.0, "reject points this many sigma from the median (3+ spectra)", min=2.0, max=100.0))
    input_categories = ("SCI_SPECTRUM", "STD_SPECTRUM")
    output_categories = ("SCI_SPECTRUM_COMBINED", "STD_SPECTRUM_COMBINED")

    def run(self, inputs, parameters, output_dir) -> RecipeResult:
        groups = io.by_category(inputs)
        paths = io.need(groups, "SCI_SPECTRUM", "STD_SPECTRUM", what="extracted 1-D spectra")
        kind = "SCI" if groups.get("SCI_SPECTRUM") else "STD"
        specs = [read_spectrum(p) for p in paths]
        units = {fits.getheader(p, "SPECTRUM").get("TUNIT2", "") for p in paths}
        if len(units) > 1:
            raise RecipeError(f"cannot combine spectra in different units {sorted(units)}: {paths}")
        objs = {str(h.get("OBJECT", "")).strip() for *_x, h in specs}
        if len(objs) > 1:
            print(f"warning: combining spectra of different objects {sorted(objs)}")
        try:
            wave, flux, err, n = combine_spectra([(w, f, e) for w, f, e, _h in specs],
                                                 parameters["wave_step"] or None, parameters["clip"])
        except ValueError as exc:
            raise RecipeError(f"{paths[0]}: {exc}") from None
        snr = flux / err
        qc = {"COMB NSPEC": len(paths), "COMB SNR MEDIAN": float(np.nanmedian(snr)),
              "COMB STEP": float(wave[1] - wave[0]) if wave.size > 1 else 0.0}
        catg = f"{kind}_SPECTRUM_COMBINED"
        hdr = io.product_header(specs[0][3], catg, self, parameters, paths, qc, inputs=inputs,
                                combined=[h for *_x, h in specs])
        hdr["FLUXCAL"] = specs[0][3].get("FLUXCAL", "UNCALIBRATED")
        unit = units.pop() if units else ""
        out = io.write_spectrum(output_dir / f"{kind.lower()}_spectrum_combined.fits", hdr, {
            "WAVE": (wave, "Angstrom"), "FLUX": (flux, unit), "ERR": (err, unit), "NCOMB": (n.astype(np.int64), "")},
            science=kind == "SCI")
        return RecipeResult([(out, catg)], qc)


RECIPES: list[type[Recipe]] = [
    DemoSpecBias, DemoSpecFlat, DemoSpecFitOrder, DemoSpecWavecal, DemoSpecFlatSelect,
    DemoSpecResponse, DemoSpecScience, DemoSpecCombine,
]
