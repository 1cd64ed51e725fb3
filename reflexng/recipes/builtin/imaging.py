"""Built-in recipes of the demo imaging pipeline (instrument ``DEMO``).

``RECIPES`` (entry point ``demo_imaging``) lists, in processing order:

=====================  ======================================  ==========================
recipe                 inputs (category)                        products (PRO.CATG)
=====================  ======================================  ==========================
demo_img_bias          BIAS                                     MASTER_BIAS
demo_img_dark          DARK, MASTER_BIAS                        MASTER_DARK
demo_img_flat          SKY_FLAT, MASTER_BIAS, [MASTER_DARK]     MASTER_SKY_FLAT
demo_img_science       OBJECT, MASTER_BIAS, [MASTER_DARK],      REDUCED_IMG (one per frame)
                       MASTER_SKY_FLAT
demo_img_coadd         REDUCED_IMG, [REF_CATALOG]               COADD_IMG (+ WEIGHT, FRAMES offsets)
demo_img_photometry    COADD_IMG, REF_CATALOG                   SOURCE_CATALOG
=====================  ======================================  ==========================

Units: master bias in ADU, master dark in ADU/s, master flat normalised to median 1; reduced
and coadded images in e-/s with a VARIANCE plane in (e-/s)^2 and a BPM plane (bits: 1 bad
flat pixel, 2 saturated, 4 cosmic ray, 8 no data).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from reflexng.recipes.builtin import imaging_io as io
from reflexng.recipes.builtin.combine import sigma_clip_combine
from reflexng.recipes.builtin.imaging_coadd import CoaddRecipe, PhotometryRecipe
from reflexng.recipes.builtin.imaging_phot import (
    centroid,
    detect,
    find_cosmics,
    fwhm_of,
    replace_masked,
)
from reflexng.recipes.protocol import ParameterSpec, Recipe, RecipeError, RecipeResult

VERSION = "1.0"

_COMBINE = (
    ParameterSpec("method", "str", "median", "how frames are combined after clipping",
                  choices=("median", "mean")),
    ParameterSpec("sigma", "float", 3.0, "rejection threshold in standard deviations", min=1.0, max=20.0),
    ParameterSpec("iters", "int", 3, "sigma-clipping iterations", min=1, max=20),
)


def _combine(stack_or_paths, p: Mapping[str, Any]):
    return sigma_clip_combine(stack_or_paths, method=p["method"], sigma=p["sigma"], iters=p["iters"],
                              return_stats=True)


_params = io.effective_parameters


class MasterBias(Recipe):
    name = "demo_img_bias"
    version = VERSION
    description = "Sigma-clipped combination of raw biases into a master bias; read-noise QC."
    parameters = (*_COMBINE,
                  ParameterSpec("min_frames", "int", 3, "fewest raw biases accepted", min=1))
    input_categories = ("BIAS",)
    output_categories = ("MASTER_BIAS",)

    def run(self, inputs, parameters, output_dir: Path) -> RecipeResult:
        p = _params(type(self), parameters)
        files = io.need(io.by_category(inputs), "BIAS", self.name, p["min_frames"])
        print(f"{self.name}: combining {len(files)} biases ({p['method']}, {p['sigma']} sigma)", flush=True)
        first, hdr = io.read_image(files[0])
        for f in files[1:]:
            io.check_shapes(first, io.read_image(f)[0], "bias", f)
        st = _combine(files, p)
        if len(files) >= 2:
            # clipped std, not a MAD: raw values are integers and a MAD of integers is biased
            ron = io.clipped_stats(first - io.read_image(files[1])[0], 4.0)[1] / np.sqrt(2.0)
        else:
            ron = io.clipped_stats(first - st.data, 4.0)[1]
        gain = float(hdr.get("HIERARCH ESO DET OUT1 GAIN", 0) or 0)
        qc = {"RON": ron, "RON.E": ron * gain if gain else -1.0, "BIAS.MEDIAN": float(np.median(st.data)),
              "BIAS.STRUCT": float(np.std(np.median(st.data, axis=0))),
              "MASTER.NOISE": io.clipped_stats(st.data - np.median(st.data, axis=0, keepdims=True))[1], "NFRAMES": len(files)}
        print(f"{self.name}: read noise {ron:.3f} ADU, level {qc['BIAS.MEDIAN']:.1f} ADU", flush=True)
        var = (ron**2 / np.maximum(st.n_used, 1)).astype(np.float32)
        out = output_dir / "master_bias.fits"
        io.write_product(out, st.data, io.product_header(hdr, "MASTER_BIAS", self, qc, {"BUNIT": "adu"},
                                                          inputs=inputs, parameters=p), variance=var)
        return RecipeResult([(str(out), "MASTER_BIAS")], qc)


class MasterDark(Recipe):
    name = "demo_img_dark"
    version = VERSION
    description = "Bias-subtracted, exposure-normalised combination of darks: the dark rate per second."
    parameters = (*_COMBINE,
                  ParameterSpec("hot_sigma", "float", 8.0, "a pixel is hot when its rate exceeds the "
                                "median by this many robust standard deviations", min=1.0),
                  ParameterSpec("min_frames", "int", 2, "fewest raw darks accepted", min=1))
    input_categories = ("DARK", "MASTER_BIAS")
    output_categories = ("MASTER_DARK",)

    def run(self, inputs, parameters, output_dir: Path) -> RecipeResult:
        p = _params(type(self), parameters)
        g = io.by_category(inputs)
        files = io.need(g, "DARK", self.name, p["min_frames"])
        mbias, _ = io.read_image(io.need(g, "MASTER_BIAS", self.name, 1, 1)[0])
        frames, hdr0 = [], None
        for f in files:
            d, h = io.read_image(f)
            io.check_shapes(mbias, d, "dark", f)
            t = float(h.get("EXPTIME", 0) or 0)
            if t <= 0:
                raise RecipeError(f"{self.name}: {f} has EXPTIME={t}; darks need a positive exposure time")
            frames.append((d - mbias) / t)
            hdr0 = hdr0 if hdr0 is not None else h
        print(f"{self.name}: combining {len(frames)} darks", flush=True)
        st = _combine(np.stack(frames), p)
        rate = float(np.median(st.data))
        rs = io.robust_std(st.data)
        hot = st.data > rate + p["hot_sigma"] * rs
        gain = float(hdr0.get("HIERARCH ESO DET OUT1 GAIN", 0) or 0)
        qc = {"DARK.RATE": rate, "DARK.RATE.E": rate * gain if gain else -1.0,
              "DARK.MEAN": io.clipped_stats(st.data)[0], "DARK.NHOT": int(hot.sum()),
              "NFRAMES": len(files)}
        print(f"{self.name}: dark rate {rate:.5f} ADU/s ({qc['DARK.RATE.E']:.4f} e-/s), "
              f"{int(hot.sum())} hot pixels", flush=True)
        var = (st.std**2 / np.maximum(st.n_used, 1)).astype(np.float32)
        out = output_dir / "master_dark.fits"
        io.write_product(out, st.data, io.product_header(hdr0, "MASTER_DARK", self, qc, {"BUNIT": "adu/s"},
                                                          inputs=inputs, parameters=p),
                         variance=var, bpm=hot.astype(np.uint8) * io.BPM_BAD)
        return RecipeResult([(str(out), "MASTER_DARK")], qc)


class MasterFlat(Recipe):
    name = "demo_img_flat"
    version = VERSION
    description = ("Bias- and dark-corrected twilight flats of one filter, each normalised, combined "
                   "and normalised to median 1; bad pixels flagged in a BPM plane.")
    parameters = (*_COMBINE,
                  ParameterSpec("min_level", "float", 2000.0, "reject flats fainter than this (ADU)", min=0),
                  ParameterSpec("max_level", "float", 45000.0, "reject flats brighter than this (ADU)", min=0),
                  ParameterSpec("bad_low", "float", 0.5, "pixels below this normalised value are bad", min=0),
                  ParameterSpec("bad_high", "float", 1.5, "pixels above this normalised value are bad", min=1),
                  ParameterSpec("min_frames", "int", 3, "fewest usable flats accepted", min=1))
    input_categories = ("SKY_FLAT", "MASTER_BIAS", "MASTER_DARK")
    output_categories = ("MASTER_SKY_FLAT",)

    def run(self, inputs, parameters, output_dir: Path) -> RecipeResult:
        from scipy import ndimage

        p = _params(type(self), parameters)
        g = io.by_category(inputs)
        files = io.need(g, "SKY_FLAT", self.name, 1)
        mbias, _ = io.read_image(io.need(g, "MASTER_BIAS", self.name, 1, 1)[0])
        dark_files = g.get("MASTER_DARK", [])
        mdark = io.read_image(dark_files[0])[0] if dark_files else np.zeros_like(mbias)
        frames, levels, hdr0, filters = [], [], None, set()
        for f in files:
            d, h = io.read_image(f)
            io.check_shapes(mbias, d, "flat", f)
            filters.add(str(h.get("HIERARCH ESO INS FILT NAME", "")))
            c = d - mbias - mdark * float(h.get("EXPTIME", 0) or 0)
            lev = float(np.median(c))
            if not p["min_level"] <= lev <= p["max_level"]:
                print(f"{self.name}: skipping {Path(f).name}: level {lev:.0f} ADU outside "
                      f"[{p['min_level']:.0f}, {p['max_level']:.0f}]", flush=True)
                continue
            frames.append(c / lev)
            levels.append(lev)
            hdr0 = hdr0 if hdr0 is not None else h
        if len(filters) > 1:
            raise RecipeError(f"{self.name}: flats of several filters {sorted(filters)} given together; "
                              "group flats by INS.FILT.NAME")
        if len(frames) < p["min_frames"]:
            raise RecipeError(f"{self.name}: only {len(frames)} usable flats (need {p['min_frames']}); "
                              "check exposure levels or lower min_frames")
        print(f"{self.name}: combining {len(frames)} flats in filter {filters.pop()}", flush=True)
        st = _combine(np.stack(frames), p)
        norm = float(np.nanmedian(st.data))
        flat = st.data / norm
        bad = ~np.isfinite(flat) | (flat < p["bad_low"]) | (flat > p["bad_high"]) | (st.n_used == 0)
        safe = np.where(bad, 1.0, flat)
        smooth = ndimage.uniform_filter(safe, size=9, mode="nearest")
        ppr = io.robust_std((safe / smooth)[~bad])
        large = ndimage.uniform_filter(safe, size=max(3, min(flat.shape) // 8), mode="nearest")
        flat = np.where(bad, 1.0, flat).astype(np.float32)
        qc = {"FLAT.RMS": ppr, "FLAT.NBAD": int(bad.sum()), "FLAT.LEVEL": float(np.mean(levels)),
              "FLAT.ILLUM.MIN": float(large.min()), "FLAT.ILLUM.MAX": float(large.max()),
              "NFRAMES": len(frames)}
        print(f"{self.name}: pixel-to-pixel rms {ppr:.4f}, {int(bad.sum())} bad pixels", flush=True)
        var = (st.std**2 / np.maximum(st.n_used, 1) / norm**2).astype(np.float32)
        out = output_dir / "master_flat.fits"
        io.write_product(out, flat, io.product_header(hdr0, "MASTER_SKY_FLAT", self, qc, {"BUNIT": ""},
                                                       inputs=inputs, parameters=p),
                         variance=var, bpm=bad.astype(np.uint8) * io.BPM_BAD)
        return RecipeResult([(str(out), "MASTER_SKY_FLAT")], qc)


class ScienceReduction(Recipe):
    name = "demo_img_science"
    version = VERSION
    description = ("Bias, dark, non-linearity and flat correction of science frames, saturation masks, "
                   "an illumination correction from the science sky, cosmic-ray cleaning, sky and fringe "
                   "subtraction; products in e-/s with VARIANCE and BPM planes.")
    parameters = (
        ParameterSpec("saturation", "float", 58000.0, "raw level (ADU) at and above which a pixel is saturated "
                      "(the full well reads ~59000 ADU after the non-linearity)", min=0),
        ParameterSpec("gain", "float", 0.0, "gain in e-/ADU; 0 = from the header (DET.OUT1.GAIN)", min=0),
        ParameterSpec("nonlin_correct", "bool", True, "correct the detector non-linearity"),
        ParameterSpec("nonlin_coeff", "float", 0.03, "fractional response loss at full well "
                      "(e_read = e - a e^2 / full_well)", min=0.0, max=0.5),
        ParameterSpec("full_well", "float", 90000.0, "full well in electrons", min=1.0),
        ParameterSpec("cr_clean", "bool", True, "detect and replace cosmic-ray hits"),
        ParameterSpec("cr_sigma", "float", 5.0, "cosmic-ray detection threshold (noise units)", min=2.0),
        ParameterSpec("cr_contrast", "float", 2.0, "cosmic-ray excess over local structure", min=0.5),
        ParameterSpec("cr_grow", "float", 2.5, "pixels next to a hit above this many noise units join it", min=0.5),
        ParameterSpec("sky_subtract", "bool", True, "subtract the sky background"),
        ParameterSpec("sky_mesh", "int", 64, "background mesh size in pixels (0 = one constant level)", min=0),
        ParameterSpec("illum_correct", "bool", True, "divide by the illumination of the science sky "
                      "(corrects the twilight flat's gradient; needs 3 or more frames)"),
        ParameterSpec("fringe_subtract", "bool", True, "subtract a fringe map made from the science frames "
                      "(filters in fringe_filters; needs 3 or more frames)"),
        ParameterSpec("fringe_filters", "str", "R", "comma-separated filters that fringe"),
    )
    input_categories = ("OBJECT", "MASTER_BIAS", "MASTER_DARK", "MASTER_SKY_FLAT")
    output_categories = ("REDUCED_IMG",)

    def run(self, inputs, parameters, output_dir: Path) -> RecipeResult:
        from scipy import ndimage

        from reflexng.recipes.builtin import imaging_corrections as cor

        p = _params(type(self), parameters)
        g = io.by_category(inputs)
        files = io.need(g, "OBJECT", self.name, 1)
        bias_path = io.need(g, "MASTER_BIAS", self.name, 1, 1)[0]
        mbias, bh = io.read_image(bias_path)
        dark_files = g.get("MASTER_DARK", [])
        mdark = io.read_image(dark_files[0])[0] if dark_files else np.zeros_like(mbias)
        # noise of the subtracted masters (ADU^2; dark in ADU^2/s^2): it matters in long exposures
        vbias = io.read_plane(bias_path, "VARIANCE")
        vdark = io.read_plane(dark_files[0], "VARIANCE") if dark_files else None
        flat_path = io.need(g, "MASTER_SKY_FLAT", self.name, 1, 1)[0]
        flat, fh = io.read_image(flat_path)
        fbpm = io.read_plane(flat_path, "BPM")
        flat_bad = (fbpm > 0) if fbpm is not None else np.zeros(flat.shape, bool)
        flat_bad |= ~(flat > 0)
        flat = np.where(flat_bad, 1.0, flat)
        ron_adu = float(bh.get("HIERARCH ESO QC RON", 0) or 0)
        frames = []
        # pass 1: detector corrections, masks, the smooth sky of each frame
        for f in files:
            raw, h = io.read_image(f)
            for what, arr, path in (("master bias", mbias, bias_path), ("master flat", flat, flat_path)):
                io.check_shapes(raw, arr, what, path)
            ff, sf = fh.get("HIERARCH ESO INS FILT NAME"), h.get("HIERARCH ESO INS FILT NAME")
            if ff is not None and sf is not None and ff != sf:
                raise RecipeError(f"{self.name}: {Path(f).name} is filter {sf} but the master flat "
                                  f"{flat_path} is filter {ff}")
            gain = io.gain_of(h, p["gain"])
            t = float(h.get("EXPTIME", 0) or 0)
            if t <= 0:
                raise RecipeError(f"{self.name}: {f} has EXPTIME={t}; cannot scale to e-/s")
            ron_e = (ron_adu if ron_adu > 0 else float(h.get("HIERARCH ESO DET OUT1 RON", 4.0)) / gain) * gain
            sat, nsat_stars = cor.saturation_mask(raw, p["saturation"])
            el = (raw - mbias - mdark * t) * gain
            if p["nonlin_correct"]:
                el = cor.linearise(el, p["nonlin_coeff"], p["full_well"])
            e = el / flat
            # shot noise of sky, sources and dark current, read noise, and the masters' noise
            var = np.maximum(el, 0) + np.maximum(mdark * t * gain, 0) + ron_e**2
            if vbias is not None:
                var = var + vbias * gain**2
            if vdark is not None:
                var = var + vdark * (t * gain) ** 2
            var = var / flat**2
            bpm = flat_bad.astype(np.uint8) * io.BPM_BAD | sat.astype(np.uint8) * io.BPM_SATURATED
            bad = bpm > 0
            sky = io.block_background(e, bad, p["sky_mesh"]) if p["sky_subtract"] else np.zeros_like(e)
            frames.append({"f": f, "h": h, "t": t, "e": e, "var": var, "bpm": bpm, "sat": sat,
                           "nsat_stars": nsat_stars, "sky": sky})
        # the science frames' illumination (sky-flat): the twilight flat's large-scale error
        ill = None
        illum_grad = float("nan")
        if p["sky_subtract"] and len(frames) >= 3 and p["sky_mesh"] > 0:
            m = cor.illumination_map([fr["sky"] for fr in frames])
            illum_grad = float(m.max() - m.min())
            if p["illum_correct"]:
                ill = m
        # pass 2: illumination, sky, cosmic rays
        for fr in frames:
            if ill is not None:
                fr["e"] = fr["e"] / ill
                fr["var"] = fr["var"] / ill**2
                fr["sky"] = fr["sky"] / ill
            fr["sky_level"] = float(np.median(fr["sky"]))
            e = fr["e"] - fr["sky"]
            bad = fr["bpm"] > 0
            sat = fr["sat"]
            near_sat = ndimage.binary_dilation(sat, iterations=6) if sat.any() else None
            ncr = 0
            if p["cr_clean"]:
                cr = find_cosmics(e, fr["var"], bad, sigma=p["cr_sigma"], contrast=p["cr_contrast"],
                                  protect=near_sat, grow=p["cr_grow"])
                ncr = int(ndimage.label(cr, structure=np.ones((3, 3), bool))[1]) if cr.any() else 0
                if cr.any():
                    e = replace_masked(e, cr)
                    fr["bpm"][cr] |= io.BPM_COSMIC
                fr["ncr_pix"] = int(cr.sum())
            else:
                fr["ncr_pix"] = 0
            fr["ncr"] = ncr
            fr["e"] = e
            fr["near_sat"] = near_sat
        # pass 3: fringes (a map from the frames themselves), then the QC
        filt = str(frames[0]["h"].get("HIERARCH ESO INS FILT NAME", ""))
        fringing = filt in {x.strip() for x in str(p["fringe_filters"]).split(",") if x.strip()}
        noises = [np.sqrt(np.maximum(fr["var"], 1e-12)) for fr in frames]
        fmap = None
        if p["fringe_subtract"] and fringing:
            fmap = cor.fringe_map([fr["e"] for fr in frames], noises, [fr["bpm"] > 0 for fr in frames],
                                  [fr["sky_level"] for fr in frames])
        products, qcs = [], []
        for fr, noise in zip(frames, noises):
            e, var, bpm, t = fr["e"], fr["var"], fr["bpm"], fr["t"]
            bad = bpm > 0
            famp = 0.0
            if fmap is not None:
                famp = cor.fit_fringe(e, noise, bad, fmap)
                e = e - famp * fmap
            fres = cor.fringe_residual(e, noise, bad, fr["sky_level"])
            crres = cor.residual_cosmics(e, var, bad, fr["near_sat"])
            e = e / t
            var = var / t**2
            noise_t = float(np.sqrt(np.median(var)))
            stars = detect(e, noise_t, threshold=20.0, mask=bad)[:40]
            xy = centroid(e, stars)
            fw = fwhm_of(e, xy)
            fwhm = float(np.nanmedian(fw)) if np.isfinite(fw).any() else -1.0
            qc = {"SKY.LEVEL": fr["sky_level"] / t, "BKG.RMS": io.robust_std(e[~bad]),
                  "NCOSMIC": fr["ncr_pix"], "CR.NUM": fr["ncr"], "CRRES.NUM": crres,
                  "NSAT": int(fr["sat"].sum()), "NSAT.STARS": fr["nsat_stars"],
                  "FRINGE.AMP": famp, "FRINGE.RES": fres * 100.0,
                  "ILLUM.GRAD": illum_grad * 100.0 if np.isfinite(illum_grad) else -1.0,
                  "FWHM": fwhm, "NSTARS": len(stars)}
            print(f"{self.name}: {Path(fr['f']).name}: sky {qc['SKY.LEVEL']:.2f} e-/s/px, {fr['ncr']} cosmic "
                  f"rays cleaned ({crres} left), {fr['nsat_stars']} saturated star(s) masked, fringe residual "
                  f"{qc['FRINGE.RES']:.2f} % of sky, FWHM {fwhm:.2f} px", flush=True)
            out = output_dir / (Path(fr["f"]).name.removesuffix(".fits") + "_red.fits")
            io.write_product(out, e, io.product_header(fr["h"], "REDUCED_IMG", self, qc,
                                                        {"BUNIT": "electron/s"}, inputs=inputs, parameters=p,
                                                        raws=[fr["f"]]),
                             variance=var.astype(np.float32), bpm=bpm)
            products.append((str(out), "REDUCED_IMG"))
            qcs.append(qc)
        summary = {"NFRAMES": len(products),
                   "FWHM": float(np.median([q["FWHM"] for q in qcs])),
                   "SKY.LEVEL": float(np.median([q["SKY.LEVEL"] for q in qcs])),
                   "NCOSMIC": int(sum(q["NCOSMIC"] for q in qcs)),
                   "CR.NUM": int(sum(q["CR.NUM"] for q in qcs)),
                   "CRRES.NUM": int(sum(q["CRRES.NUM"] for q in qcs)),
                   "NSAT.STARS": int(max(q["NSAT.STARS"] for q in qcs)),
                   "FRINGE.RES": float(np.nanmedian([q["FRINGE.RES"] for q in qcs])),
                   "ILLUM.GRAD": qcs[0]["ILLUM.GRAD"]}
        return RecipeResult(products, summary)


RECIPES = [MasterBias, MasterDark, MasterFlat, ScienceReduction, CoaddRecipe, PhotometryRecipe]
