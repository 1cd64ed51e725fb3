"""Calibration recipes of the DEMO long-slit spectrograph: bias, flat, fit_order (slit edges),
wavelength calibration and the flat-strategy selection. See :mod:`.spectroscopy` for the list."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from numpy.polynomial import Polynomial

from reflexng.recipes.builtin import spectroscopy_core as core
from reflexng.recipes.builtin import spectroscopy_io as io
from reflexng.recipes.builtin.spectroscopy_wave import (
    find_arc_lines,
    identify_and_fit,
    isolated,
    measure_tilt,
)
from reflexng.recipes.protocol import ParameterSpec, Recipe, RecipeError, RecipeResult

P = ParameterSpec
COMBINE_PARAMS = (
    P("method", "str", "median", "combination of the frames", choices=("median", "mean")),
    P("kappa", "float", 3.0, "sigma-clipping threshold of the combination", min=1.0, max=20.0),
    P("iterations", "int", 2, "sigma-clipping iterations", min=1, max=10),
)


def _load_raws(paths: Sequence[str], what: str) -> tuple[list[np.ndarray], list[fits.Header]]:
    imgs, hdrs = [], []
    for p in paths:
        d, h = io.read_image(p)
        if imgs and d.shape != imgs[0].shape:
            raise RecipeError(f"{p}: shape {d.shape} differs from {paths[0]} {imgs[0].shape}; "
                              f"all {what} frames must have the same binning")
        imgs.append(d)
        hdrs.append(h)
    return imgs, hdrs


def _master_bias(groups: Mapping[str, list[str]], ref: fits.Header) -> tuple[np.ndarray, np.ndarray | None]:
    path = io.need(groups, "MASTER_BIAS", what="master bias")[0]
    img, var, _bpm, h = io.read_product(path)
    io.check_same_binning(ref, h, path)
    return img, var


def read_slit(path: str) -> core.SlitEdges:
    """The slit edges of an ORDER_TABLE product."""
    tab, _th, h = io.read_table(path, "EDGES")
    lo = [h[f"HIERARCH ESO PRO SLIT LOWER C{k}"] for k in range(h["HIERARCH ESO PRO SLIT NCOEF"])]
    hi = [h[f"HIERARCH ESO PRO SLIT UPPER C{k}"] for k in range(h["HIERARCH ESO PRO SLIT NCOEF"])]
    return core.SlitEdges(Polynomial(lo), Polynomial(hi), np.asarray(tab["X"]),
                          np.asarray(tab["Y_LOWER"]), np.asarray(tab["Y_UPPER"]),
                          float(h.get("HIERARCH ESO QC SLIT EDGE RMS", 0.0)))


def read_wave_solution(path: str) -> Polynomial:
    """lambda(x) on the solution's reference row (``read_tilt``)."""
    h = fits.getheader(path)
    n = int(h["HIERARCH ESO PRO WAVE NCOEF"])
    return Polynomial([float(h[f"HIERARCH ESO PRO WAVE C{k}"]) for k in range(n)])


def read_tilt(path: str) -> tuple[Polynomial, float]:
    """(tilt dx/dy as a polynomial of x, reference row): a line at x on the reference row lies at
    ``x + tilt(x) (y - y_ref)`` on row y. No tilt recorded: a zero tilt."""
    h = fits.getheader(path)
    n = int(h.get("HIERARCH ESO PRO WAVE TILT NCOEF", 0))
    y_ref = float(h.get("HIERARCH ESO PRO WAVE YREF", 0.0))
    if n == 0:
        return Polynomial([0.0]), y_ref
    return Polynomial([float(h[f"HIERARCH ESO PRO WAVE TILT C{k}"]) for k in range(n)]), y_ref


class DemoSpecBias(Recipe):
    name = "demo_spec_bias"
    version = "1.0"
    description = "Master bias: sigma-clipped combination of raw biases; read noise from frame differences."
    parameters = COMBINE_PARAMS
    input_categories = ("BIAS",)
    output_categories = ("MASTER_BIAS",)

    def run(self, inputs: Sequence[tuple[str, str]], parameters: Mapping[str, Any], output_dir: Path) -> RecipeResult:
        groups = io.by_category(inputs)
        paths = io.need(groups, "BIAS", what="raw bias frames")
        imgs, hdrs = _load_raws(paths, "bias")
        print(f"combining {len(imgs)} biases ({parameters['method']}, kappa={parameters['kappa']})")
        master = core.combine(imgs, parameters["method"], parameters["kappa"], parameters["iterations"])
        ron = core.read_noise_from_pairs(imgs)
        gain, _ = io.detector_noise(hdrs[0])
        eff = np.pi / 2 if parameters["method"] == "median" and len(imgs) > 2 else 1.0
        var = np.full(master.shape, eff * ron ** 2 / len(imgs), dtype=np.float32)
        qc = {"BIAS NFRAMES": len(imgs), "BIAS MEAN": float(np.mean(master)),
              "BIAS MEDIAN": float(np.median(master)), "BIAS RMS": core.robust_std(master),
              "BIAS RON": round(ron, 4), "BIAS RON ELECTRONS": round(ron * gain, 4)}
        hdr = io.product_header(hdrs[0], "MASTER_BIAS", self, parameters, paths, qc, inputs=inputs)
        out = io.write_image(output_dir / "master_bias.fits", hdr, master, var)
        return RecipeResult([(out, "MASTER_BIAS")], qc)


class DemoSpecFlat(Recipe):
    name = "demo_spec_flat"
    version = "1.0"
    description = ("Normalised master flat: bias-subtracted lamp flats combined, divided by the lamp "
                   "spectrum (per column); keeps pixel-to-pixel sensitivity and slit illumination.")
    parameters = (P("method", "str", "mean", "combination of the frames", choices=("median", "mean")),
                  *COMBINE_PARAMS[1:],
                  P("edge_level", "float", 0.5, "slit edge = where the lamp drops to this fraction", min=0.05, max=0.95),
                  P("bad_low", "float", 0.5, "normalised values below this are bad pixels", min=0.0, max=1.0),
                  P("bad_high", "float", 1.5, "normalised values above this are bad pixels", min=1.0, max=10.0))
    input_categories = ("FLAT", "MASTER_BIAS")
    output_categories = ("MASTER_FLAT",)

    def run(self, inputs, parameters, output_dir) -> RecipeResult:
        groups = io.by_category(inputs)
        paths = io.need(groups, "FLAT", what="raw lamp flats")
        imgs, hdrs = _load_raws(paths, "flat")
        bias, bias_var = _master_bias(groups, hdrs[0])
        gain, ron = io.detector_noise(hdrs[0])
        sub = [im - bias for im in imgs]
        scales = np.array([np.median(s[s > np.percentile(s, 50)]) for s in sub])
        ref = float(np.mean(scales))
        comb = core.combine([s * (ref / sc) for s, sc in zip(sub, scales)], parameters["method"],
                            parameters["kappa"], parameters["iterations"])
        try:
            edges = core.find_slit_edges(comb, degree=1, level=parameters["edge_level"])
        except ValueError as exc:
            raise RecipeError(f"{paths[0]}: {exc}") from None
        inside = core.slit_mask(comb.shape, edges, margin=2.0)
        lamp = np.array([np.median(comb[inside[:, x], x]) if inside[:, x].any() else np.nan
                         for x in range(comb.shape[1])])
        lamp = np.where(np.isfinite(lamp) & (lamp > 0), lamp, np.nan)
        norm = comb / lamp[None, :]
        lit = core.slit_mask(comb.shape, edges, margin=1.0)
        norm /= np.nanmean(norm[inside])
        var = (ron ** 2 + np.clip(comb, 0, None) / gain) / len(imgs) / lamp[None, :] ** 2
        if bias_var is not None:
            var = var + bias_var / lamp[None, :] ** 2
        bpm = ~lit | ~np.isfinite(norm) | (norm < parameters["bad_low"]) | (norm > parameters["bad_high"])
        bpm &= True
        norm = np.where(lit & np.isfinite(norm), norm, 1.0)
        var = np.where(lit & np.isfinite(var), var, 0.0)
        illum = np.array([np.median(norm[y, inside[y]]) if inside[y].any() else np.nan
                          for y in range(norm.shape[0])])
        pix = norm / np.where(np.isfinite(illum), illum, 1.0)[:, None]
        xc = comb.shape[1] / 2.0
        qc = {"FLAT NFRAMES": len(imgs), "FLAT LAMP MEDIAN": float(np.nanmedian(lamp)),
              "FLAT PIX RMS": core.robust_std(pix[inside]),
              "FLAT ILLUM MIN": float(np.nanmin(illum)), "FLAT ILLUM MAX": float(np.nanmax(illum)),
              "FLAT NBAD": int((bpm & lit).sum()),
              "FLAT SLIT LOWER": float(edges.lower(xc)), "FLAT SLIT UPPER": float(edges.upper(xc))}
        hdr = io.product_header(hdrs[0], "MASTER_FLAT", self, parameters, paths, qc, inputs=inputs)
        hdr["MJD-OBS"] = float(np.mean([h.get("MJD-OBS", 0.0) for h in hdrs]))
        out = output_dir / "master_flat.fits"
        hdr["BUNIT"] = ("", "normalised flat: dimensionless")
        io.write_image(out, hdr, norm, var, bpm, extra=[("SLIT_ILLUM", np.nan_to_num(illum, nan=0.0), "")])
        return RecipeResult([(str(out), "MASTER_FLAT")], qc)


class DemoSpecFitOrder(Recipe):
    name = "demo_spec_fit_order"
    version = "1.0"
    description = "Slit edges (the single 'order' of the long slit) from lamp flats: polynomial y(x) per edge."
    parameters = (P("degree", "int", 1, "polynomial degree of each edge", min=0, max=5),
                  P("step", "int", 8, "columns per measurement bin", min=1, max=128),
                  P("edge_level", "float", 0.5, "edge = where the lamp drops to this fraction", min=0.05, max=0.95))
    input_categories = ("FLAT", "MASTER_BIAS")
    output_categories = ("ORDER_TABLE",)

    def run(self, inputs, parameters, output_dir) -> RecipeResult:
        groups = io.by_category(inputs)
        paths = io.need(groups, "FLAT", what="raw lamp flats")
        imgs, hdrs = _load_raws(paths, "flat")
        bias, _ = _master_bias(groups, hdrs[0])
        comb = core.combine([im - bias for im in imgs], "median", 3.0, 1)
        try:
            e = core.find_slit_edges(comb, parameters["degree"], parameters["step"], parameters["edge_level"])
        except ValueError as exc:
            raise RecipeError(f"{paths[0]}: {exc}") from None
        xc = comb.shape[1] / 2.0
        qc = {"SLIT WIDTH": float(e.upper(xc) - e.lower(xc)), "SLIT EDGE RMS": e.rms,
              "SLIT TILT": float(e.lower.deriv()(xc)), "SLIT NPOINTS": int(e.x.size)}
        hdr = io.product_header(hdrs[0], "ORDER_TABLE", self, parameters, paths, qc, inputs=inputs)
        n = max(e.lower.coef.size, e.upper.coef.size)
        hdr["HIERARCH ESO PRO SLIT NCOEF"] = n
        for k in range(n):
            hdr[f"HIERARCH ESO PRO SLIT LOWER C{k}"] = float(e.lower.coef[k]) if k < e.lower.coef.size else 0.0
            hdr[f"HIERARCH ESO PRO SLIT UPPER C{k}"] = float(e.upper.coef[k]) if k < e.upper.coef.size else 0.0
        out = io.write_table(output_dir / "order_table.fits", hdr,
                             {"X": (e.x, "pixel"), "Y_LOWER": (e.y_lower, "pixel"), "Y_UPPER": (e.y_upper, "pixel")},
                             name="EDGES")
        return RecipeResult([(out, "ORDER_TABLE")], qc)


class DemoSpecWavecal(Recipe):
    name = "demo_spec_wavecal"
    version = "1.0"
    description = ("Wavelength solution from arc lamp frames: line finding (Gaussian centroids), identification "
                   "against the line list from a first guess, clipped polynomial fit pixel -> Angstrom.")
    parameters = (
        P("degree", "int", 3, "polynomial degree of the solution", min=1, max=7),
        P("threshold", "float", 10.0, "detection threshold in units of the noise", min=2.0, max=1000.0),
        P("fwhm_guess", "float", 0.0, "expected line FWHM in pixels (0 = 3.5 / binning)", min=0.0, max=20.0),
        P("match_tolerance", "float", 25.0, "first identification tolerance (Angstrom)", min=1.0, max=200.0),
        P("clip_sigma", "float", 3.0, "rejection threshold of the fit residuals", min=1.5, max=10.0),
        P("wave_guess_start", "float", 4000.0, "first-guess wavelength of the first column (A)", min=1000.0, max=30000.0),
        P("wave_guess_end", "float", 7000.0, "first-guess wavelength of the last column (A)", min=1000.0, max=30000.0),
        P("max_shift", "float", 100.0, "largest shift searched around the first guess (A)", min=0.0, max=2000.0),
        P("tilt_degree", "int", 1, "polynomial degree of the line tilt along the slit, as a function of x "
          "(-1: do not measure the tilt; the solution is then the slit's average)", min=-1, max=3),
        P("blend_window", "float", 1.5, "line-list lines closer than this many FWHM to another are "
          "blends and left out of the fit", min=0.0, max=10.0),
    )
    input_categories = ("ARC", "MASTER_BIAS", "LINE_LIST", "ORDER_TABLE")
    output_categories = ("WAVE_SOLUTION",)

    def run(self, inputs, parameters, output_dir) -> RecipeResult:
        groups = io.by_category(inputs)
        paths = io.need(groups, "ARC", what="raw arc frames")
        imgs, hdrs = _load_raws(paths, "arc")
        bias, _ = _master_bias(groups, hdrs[0])
        ll_path = io.need(groups, "LINE_LIST", what="line list (static calibration)")[0]
        tab, _th, _ph = io.read_table(ll_path)
        if "WAVE" not in tab.columns.names:
            raise RecipeError(f"{ll_path}: the line list needs a WAVE column (Angstrom)")
        catalogue = np.asarray(tab["WAVE"], dtype=float)
        arc = core.combine([im - bias for im in imgs], "median", 3.0, 1)
        ny, nx = arc.shape
        if groups.get("ORDER_TABLE"):
            edges = read_slit(groups["ORDER_TABLE"][0])
            slit = core.slit_mask(arc.shape, edges, margin=3.0)
        else:
            slit = np.zeros(arc.shape, bool)
            slit[ny // 4: 3 * ny // 4] = True
        y_ref = ny / 2.0
        mask = slit.copy()
        if parameters["tilt_degree"] >= 0:  # the solution of the reference row: rows near it only
            mask &= (np.abs(np.arange(ny) - y_ref) <= 8)[:, None]
        spec = np.array([np.median(arc[mask[:, x], x]) if mask[:, x].any() else 0.0 for x in range(nx)])
        binx, _ = io.binning(hdrs[0])
        fwhm = parameters["fwhm_guess"] or 3.5 / binx
        # background noise of the collapsed spectrum from row-to-row differences (lines cancel)
        both = mask[1:] & mask[:-1]
        pix_noise = core.robust_std((arc[1:] - arc[:-1])[both]) / np.sqrt(2)
        nrows = max(float(np.median(mask.sum(axis=0))), 1.0)
        lines, noise = find_arc_lines(spec, parameters["threshold"], fwhm,
                                      noise=1.2533 * pix_noise / np.sqrt(nrows))
        w0, w1 = parameters["wave_guess_start"], parameters["wave_guess_end"]
        guess = Polynomial([w0 + (w1 - w0) * 0.5 / nx, (w1 - w0) / nx])
        single = isolated(catalogue, parameters["blend_window"] * fwhm * abs(w1 - w0) / nx)
        nblend = int((~single).sum())
        if nblend:
            print(f"{nblend} blended line-list lines left out: {np.round(catalogue[~single], 1).tolist()}")
        catalogue = catalogue[single]
        try:
            fit = identify_and_fit(lines, catalogue, nx, guess, parameters["degree"],
                                   parameters["match_tolerance"], parameters["clip_sigma"], spec,
                                   parameters["max_shift"])
        except ValueError as exc:
            raise RecipeError(f"{paths[0]}: {exc}") from None
        sol = fit.poly
        xs = np.array([ln.x for ln in lines])
        resid = fit.wave - sol(xs)
        disp_c = abs(float(sol.deriv()(nx / 2.0)))
        fwhms = np.array([ln.fwhm for ln in lines])[fit.used]
        qc = {"WAVE RMS PX": round(fit.rms_px, 5), "WAVE RMS ANG": round(fit.rms_ang, 5),
              "WAVE NFOUND": len(lines), "WAVE NIDENT": int(np.isfinite(fit.wave).sum()),
              "WAVE NUSED": int(fit.used.sum()), "WAVE FWHM PX": float(np.median(fwhms)),
              "WAVE DISP": disp_c,
              "WAVE RESOLUTION": float(sol(nx / 2.0) / (np.median(fwhms) * disp_c)),
              "WAVE LAMBDA MIN": float(sol(0)), "WAVE LAMBDA MAX": float(sol(nx - 1)),
              "WAVE SHIFT PX": fit.shift_px, "WAVE NOISE": noise, "WAVE NBLEND": nblend,
              "WAVE NUNIDENT": int((~np.isfinite(fit.wave)).sum())}
        tilt = None
        if parameters["tilt_degree"] >= 0:
            try:
                tilt, _slopes, tilt_rms = measure_tilt(arc, slit, xs[fit.used], y_ref, parameters["tilt_degree"])
            except ValueError as exc:
                raise RecipeError(f"{paths[0]}: {exc}; set tilt_degree=-1 to skip the tilt") from None
            qc["WAVE TILT"] = float(tilt(nx / 2.0))
            qc["WAVE TILT RMS"] = tilt_rms
        hdr = io.product_header(hdrs[0], "WAVE_SOLUTION", self, parameters, paths, qc, inputs=inputs)
        hdr["HIERARCH ESO PRO WAVE NCOEF"] = sol.coef.size
        for k, c in enumerate(sol.coef):
            hdr[f"HIERARCH ESO PRO WAVE C{k}"] = float(c)
        hdr["HIERARCH ESO PRO WAVE YREF"] = (y_ref, "row of the solution; lines tilt about it")
        if tilt is not None:
            hdr["HIERARCH ESO PRO WAVE TILT NCOEF"] = tilt.coef.size
            for k, c in enumerate(tilt.coef):
                hdr[f"HIERARCH ESO PRO WAVE TILT C{k}"] = float(c)
        cols = {"X": (xs, "pixel"), "X_ERR": (np.array([ln.x_err for ln in lines]), "pixel"),
                "FWHM": (np.array([ln.fwhm for ln in lines]), "pixel"),
                "PEAK": (np.array([ln.peak for ln in lines]), "adu"),
                "WAVE_CAT": (fit.wave, "Angstrom"), "WAVE_FIT": (sol(xs), "Angstrom"),
                "RESID_ANG": (resid, "Angstrom"), "RESID_PX": (resid / np.abs(sol.deriv()(xs)), "pixel"),
                "USED": (fit.used.astype(np.int64), "")}
        arc_hdu = fits.BinTableHDU.from_columns(
            [fits.Column("X", "D", array=np.arange(nx, dtype=float)),
             fits.Column("WAVE", "D", "Angstrom", array=sol(np.arange(nx))),
             fits.Column("FLUX", "D", "adu", array=spec)], name="ARC_SPECTRUM")
        out = io.write_table(output_dir / "wave_solution.fits", hdr, cols, name="LINES", extra=[arc_hdu])
        print(f"wavelength solution: {int(fit.used.sum())} lines, rms {fit.rms_px:.3f} px = {fit.rms_ang:.3f} A"
              + (f"; line tilt {qc['WAVE TILT']:.4f} px/px" if tilt is not None else ""))
        return RecipeResult([(out, "WAVE_SOLUTION")], qc)


class DemoSpecFlatSelect(Recipe):
    name = "demo_spec_flat_select"
    version = "1.0"
    description = ("flat_strategy: choose the master flat for the standard star - the one closest in time to the "
                   "standard ('close_in_time') or the one closest to the science frame ('science_flat') - and copy it.")
    parameters = (P("strategy", "str", "close_in_time", "which flat the standard star gets",
                    choices=("close_in_time", "science_flat")),)
    input_categories = ("STD", "MASTER_FLAT", "OBJECT")
    output_categories = ("MASTER_FLAT",)

    def run(self, inputs, parameters, output_dir) -> RecipeResult:
        groups = io.by_category(inputs)
        std = io.need(groups, "STD", what="raw standard star frame")[0]
        flats = io.need(groups, "MASTER_FLAT", what="master flats")
        ref_path = std
        if parameters["strategy"] == "science_flat":
            ref_path = io.need(groups, "OBJECT", what="science frame (needed by the 'science_flat' strategy)")[0]
        ref_h = fits.getheader(ref_path)
        std_h = fits.getheader(std)
        mjd = float(ref_h.get("MJD-OBS", 0.0))
        cands = []
        for f in flats:
            h = fits.getheader(f)
            if io.binning(h) == io.binning(std_h):
                cands.append((abs(float(h.get("MJD-OBS", 0.0)) - mjd), f))
        if not cands:
            raise RecipeError(f"{std}: no master flat with binning {io.binning(std_h)} among {len(flats)} inputs")
        dt, chosen = min(cands)
        with fits.open(chosen, memmap=False) as hdul:
            hdul = fits.HDUList([h.copy() for h in hdul])
        h0 = hdul[0].header
        qc = {"FLATSEL STRATEGY": parameters["strategy"], "FLATSEL DT": round(dt, 5),
              "FLATSEL SOURCE": Path(chosen).name[:60], "FLATSEL NCAND": len(cands)}
        for k, v in qc.items():
            h0[f"HIERARCH ESO QC {k}"] = v
        h0["HIERARCH ESO PRO REC2 ID"] = self.name
        out = output_dir / "master_flat_std.fits"
        from reflexng.recipes.product_header import write_hdus

        write_hdus(out, list(hdul))
        print(f"flat_strategy={parameters['strategy']}: chose {chosen} (|dt| = {dt * 24:.2f} h)")
        return RecipeResult([(str(out), "MASTER_FLAT")], qc)
