"""Demo imaging recipes after the science reduction: registration + inverse-variance-weighted
coadd (``demo_img_coadd``) and aperture photometry with a zero point (``demo_img_photometry``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from reflexng.recipes.builtin import imaging_io as io
from reflexng.recipes.builtin.imaging_phot import (
    COVERAGE_MIN,
    FLAG_BAD_PIXEL,
    FLAG_BITS,
    FLAG_EDGE,
    aperture_photometry,
    aperture_touches,
    centroid,
    coverage_mask,
    detect,
    fwhm_of,
    match,
    offset_by_voting,
    safe_filter,
)
from reflexng.recipes.protocol import ParameterSpec, Recipe, RecipeError, RecipeResult

VERSION = "1.0"


def _stars(img: np.ndarray, var: np.ndarray, bad: np.ndarray, threshold: float, nmax: int) -> np.ndarray:
    noise = float(np.sqrt(np.median(var[~bad]))) if (~bad).any() else 1.0
    pk = detect(img, noise, threshold=threshold, mask=bad)[:nmax]
    xy = centroid(img, pk)
    return xy[np.all(np.isfinite(xy), axis=1)]


def _wcs(header: fits.Header, path: str) -> WCS:
    try:
        w = WCS(header)
    except Exception as exc:  # astropy raises several kinds for broken WCS cards
        raise RecipeError(f"{path}: cannot read the WCS: {exc}") from None
    if not w.has_celestial:
        raise RecipeError(f"{path}: no celestial WCS (CTYPE/CRVAL/CRPIX/CD cards) in the header")
    return w.celestial


def _read_refcat(path: str, filt: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    try:
        with fits.open(path) as hl:
            tab = hl[1].data
            ra, dec = np.asarray(tab["RA"], float), np.asarray(tab["DEC"], float)
            col = f"MAG_{filt}" if filt else None
            mag = np.asarray(tab[col], float) if col and col in tab.columns.names else None
    except (OSError, KeyError, IndexError) as exc:
        raise RecipeError(f"cannot read the reference catalogue {path}: {exc} (expected a FITS "
                          "table with RA, DEC and MAG_<filter> columns)") from None
    return ra, dec, mag


def _wcs_correction(img, var, bad, w: WCS, refcat: str, threshold: float) -> tuple[float, float, int, float]:
    """Pixel offset (dx, dy) to add to CRPIX so that catalogue stars land on detected stars."""
    ra, dec, _ = _read_refcat(refcat, None)
    px, py = w.world_to_pixel_values(ra, dec)
    ny, nx = img.shape
    inside = (px > 5) & (py > 5) & (px < nx - 6) & (py < ny - 6)
    cat = np.column_stack([px[inside], py[inside]])
    det = _stars(img, var, bad, threshold, 150)
    if len(cat) < 3 or len(det) < 3:
        return 0.0, 0.0, 0, float("nan")
    dx, dy, _ = offset_by_voting(cat, det, max_shift=15.0)
    for radius in (2.0, 1.0):
        ia, ib = match(cat + (dx, dy), det, radius)
        if len(ia) < 3:
            return 0.0, 0.0, len(ia), float("nan")
        d = det[ib] - cat[ia]
        dx, dy = np.median(d, axis=0)
    rms = float(np.sqrt(np.mean(np.sum((d - (dx, dy)) ** 2, axis=1))))
    return float(dx), float(dy), len(ia), rms


class CoaddRecipe(Recipe):
    name = "demo_img_coadd"
    version = VERSION
    description = ("Registers reduced frames on the first one (star matching, header WCS as first guess) "
                   "and combines them with inverse-variance weights; the WCS is tied to the reference "
                   "catalogue when one is given.")
    parameters = (
        ParameterSpec("detect_sigma", "float", 15.0, "detection threshold of registration stars (noise units)", min=3),
        ParameterSpec("match_radius", "float", 3.0, "search radius around the WCS prediction (pixels)", min=0.5),
        ParameterSpec("max_shift", "float", 60.0, "largest offset searched when the WCS guess fails (pixels)", min=1),
        ParameterSpec("order", "int", 1, "interpolation order for resampling (1 = bilinear, 3 = cubic)", min=1, max=3),
        ParameterSpec("weighting", "str", "inverse_variance", "per-frame weights: 1/background variance, or equal",
                      choices=("inverse_variance", "equal")),
        ParameterSpec("fix_wcs", "bool", True, "tie the coadd WCS to the reference catalogue (if given)"),
        ParameterSpec("clip_relative", "float", 1.0, "extra allowance above the stack median, as a fraction "
                      "of it (seeing changes star peaks between frames)", min=0.0),
        ParameterSpec("clip_sigma", "float", 4.0, "reject a frame's pixel this many noise units above the "
                      "median of the registered stack on the background (cosmic rays the per-frame "
                      "cleaning left); 0 = no rejection", min=0.0),
    )
    input_categories = ("REDUCED_IMG", "REF_CATALOG")
    output_categories = ("COADD_IMG",)

    def run(self, inputs, parameters, output_dir: Path) -> RecipeResult:
        from scipy import ndimage

        p = io.effective_parameters(type(self), parameters)
        g = io.by_category(inputs)
        files = sorted(io.need(g, "REDUCED_IMG", self.name, 1))
        frames = []
        for f in files:
            d, h = io.read_image(f)
            v = io.read_plane(f, "VARIANCE")
            b = io.read_plane(f, "BPM")
            if v is None:
                raise RecipeError(f"{self.name}: {f} has no VARIANCE plane; is it a demo_img_science product?")
            bad = (b > 0) if b is not None else np.zeros(d.shape, bool)
            if frames:
                io.check_shapes(frames[0][0], d, "reduced frame", f)
            frames.append((d, v.astype(np.float32), bad, h, _wcs(h, f)))
        filters = {str(fr[3].get("HIERARCH ESO INS FILT NAME")) for fr in frames}
        if len(filters) > 1:
            raise RecipeError(f"{self.name}: frames of several filters {sorted(filters)}; coadd one filter at a time")
        ref_d, ref_v, ref_b, ref_h, ref_w = frames[0]
        ref_xy = _stars(ref_d, ref_v, ref_b, p["detect_sigma"], 80)
        if len(ref_xy) < 3:
            raise RecipeError(f"{self.name}: fewer than 3 stars found in {files[0]}; lower detect_sigma")
        ny, nx = ref_d.shape
        centre = np.array([[nx / 2, ny / 2]])
        offsets, resid = [np.zeros(2)], []
        for f, (d, v, b, _h, w) in zip(files[1:], frames[1:]):
            guess = np.array(w.world_to_pixel(ref_w.pixel_to_world(centre[:, 0], centre[:, 1]))).ravel() - centre[0]
            xy = _stars(d, v, b, p["detect_sigma"], 100)
            t = guess
            ia, _ = match(ref_xy + t, xy, p["match_radius"])
            if len(ia) < 3:
                dx, dy, votes = offset_by_voting(ref_xy, xy, p["max_shift"])
                print(f"{self.name}: {Path(f).name}: WCS guess failed, offset by voting ({votes} votes)", flush=True)
                t = np.array([dx, dy])
            for radius in (p["match_radius"], 1.0, 0.5):
                ia, ib = match(ref_xy + t, xy, radius)
                if len(ia) < 3:
                    raise RecipeError(f"{self.name}: cannot register {f} on {files[0]} "
                                      f"({len(ia)} common stars); raise max_shift or match_radius")
                dd = xy[ib] - ref_xy[ia]
                t = np.median(dd, axis=0)
            resid.append(float(np.sqrt(np.mean(np.sum((dd - t) ** 2, axis=1)))))
            offsets.append(t)
            print(f"{self.name}: {Path(f).name}: offset ({t[0]:+.3f}, {t[1]:+.3f}) px from {len(ia)} stars",
                  flush=True)
        offs = np.array(offsets)
        pad = int(np.ceil(np.abs(offs).max())) + 1
        shape = (ny + 2 * pad, nx + 2 * pad)
        layers = []
        weights = []
        satmap = np.zeros(shape, bool)
        for (d, v, b, _h, _w), t, f in zip(frames, offs, files):
            good = ~b & np.isfinite(d) & np.isfinite(v)
            wgt = 1.0 / float(np.median(v[good])) if p["weighting"] == "inverse_variance" else 1.0
            weights.append(wgt)
            W = np.zeros(shape, np.float32)
            D = np.zeros(shape, np.float32)
            V = np.zeros(shape, np.float32)
            W[pad:pad + ny, pad:pad + nx] = np.where(good, wgt, 0.0)
            D[pad:pad + ny, pad:pad + nx] = np.where(good, d, 0.0)
            V[pad:pad + ny, pad:pad + nx] = np.where(good, v, 0.0)
            sh = (-t[1], -t[0])
            layers.append((ndimage.shift(D * W, sh, order=p["order"], mode="constant", cval=0.0, prefilter=False),
                           ndimage.shift(W, sh, order=1, mode="constant", cval=0.0),
                           ndimage.shift(V * W * W, sh, order=1, mode="constant", cval=0.0)))
            sb = io.read_plane(f, "BPM")
            if sb is not None and (sb & io.BPM_SATURATED).any():
                S = np.zeros(shape, np.float32)
                S[pad:pad + ny, pad:pad + nx] = (sb & io.BPM_SATURATED) > 0
                satmap |= ndimage.shift(S, sh, order=1, mode="constant", cval=0.0) > 0.01
        rejected = [np.zeros(shape, bool) for _ in layers]
        if p["clip_sigma"] > 0 and len(layers) >= 3:
            with np.errstate(invalid="ignore", divide="ignore"):
                vals = np.stack([np.where(wl > 0.5 * wg, sl / wl, np.nan) for (sl, wl, _v), wg in zip(layers, weights)])
                sig = np.stack([np.sqrt(vl) / wl for (_s, wl, vl) in layers])
                import warnings

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    med = np.nanmedian(vals, axis=0)
                # on stars, seeing differences between frames change a pixel by up to ~the median
                # itself: the allowance grows with the median (clip_relative), not only the noise
                for i in range(len(layers)):
                    lim = p["clip_sigma"] * sig[i] + p["clip_relative"] * np.abs(med)
                    rejected[i] = np.isfinite(vals[i]) & (vals[i] - med > lim)
            del vals, sig
        num = np.zeros(shape)
        den = np.zeros(shape)
        vnum = np.zeros(shape)
        for (sl, wl, vl), rej in zip(layers, rejected):
            keep = ~rej
            num += np.where(keep, sl, 0.0)
            den += np.where(keep, wl, 0.0)
            vnum += np.where(keep, vl, 0.0)
        nclip = int(sum(int(r.sum()) for r in rejected))
        ok = den > 1e-3 * max(weights)
        coadd = np.where(ok, num / np.where(ok, den, 1.0), 0.0).astype(np.float32)
        var = np.where(ok, vnum / np.where(ok, den, 1.0) ** 2, 0.0).astype(np.float32)
        bpm = (~ok).astype(np.uint8) * io.BPM_NODATA | (satmap & ok).astype(np.uint8) * io.BPM_SATURATED
        wmap = (den / sum(weights)).astype(np.float32)
        hdr = ref_h.copy()
        hdr["CRPIX1"] = float(hdr["CRPIX1"]) + pad
        hdr["CRPIX2"] = float(hdr["CRPIX2"]) + pad
        qc = {"NCOMBINED": len(frames), "REG.RMS": float(np.mean(resid)) if resid else 0.0,
              "OFFSET.MAX": float(np.abs(offs).max()), "CLIP.NPIX": nclip,
              "CRRES.NUM": int(sum(int(fr[3].get("HIERARCH ESO QC CRRES NUM", 0) or 0) for fr in frames))}
        refcat = g.get("REF_CATALOG", [])
        if p["fix_wcs"] and refcat:
            w_out = _wcs(hdr, "coadd")
            dx, dy, nm, rms = _wcs_correction(coadd, np.where(ok, var, np.inf), ~ok, w_out, refcat[0],
                                              p["detect_sigma"])
            if nm >= 3:
                hdr["CRPIX1"] = float(hdr["CRPIX1"]) + dx
                hdr["CRPIX2"] = float(hdr["CRPIX2"]) + dy
            scale = float(np.sqrt(abs(np.linalg.det(w_out.pixel_scale_matrix)))) * 3600.0
            qc.update({"WCS.SHIFT": float(np.hypot(dx, dy)), "WCS.NMATCH": nm, "WCS.RMS": rms * scale})
            print(f"{self.name}: WCS tied to {nm} catalogue stars, shift {np.hypot(dx, dy):.2f} px", flush=True)
        xy = _stars(coadd, np.where(ok, var, np.inf), ~ok, p["detect_sigma"], 40)
        fw = fwhm_of(coadd, xy)
        qc["FWHM"] = float(np.nanmedian(fw)) if np.isfinite(fw).any() else -1.0
        extra = {"BUNIT": "electron/s"}
        out = output_dir / "coadd.fits"
        table = fits.BinTableHDU.from_columns([
            fits.Column("FILE", "64A", array=[Path(f).name for f in files]),
            fits.Column("DX", "D", unit="pix", array=offs[:, 0]),
            fits.Column("DY", "D", unit="pix", array=offs[:, 1]),
            fits.Column("WEIGHT", "D", array=np.array(weights) / max(weights)),
        ], name="FRAMES")
        io.write_product(out, coadd, io.product_header(hdr, "COADD_IMG", self, qc, extra, inputs=inputs, parameters=p,
                                                           combined=[fr[3] for fr in frames]),
                         variance=var, bpm=bpm, extra=[fits.ImageHDU(wmap, name="WEIGHT"), table])
        print(f"{self.name}: coadd of {len(frames)} frames, FWHM {qc['FWHM']:.2f} px", flush=True)
        return RecipeResult([(str(out), "COADD_IMG")], qc)


class PhotometryRecipe(Recipe):
    name = "demo_img_photometry"
    version = VERSION
    description = ("Detects sources on a coadd, measures aperture fluxes, and calibrates magnitudes with "
                   "a zero point from the reference catalogue.")
    parameters = (
        ParameterSpec("detect_sigma", "float", 5.0, "detection threshold (noise units of the smoothed image)", min=1),
        ParameterSpec("aperture", "float", 2.0, "aperture radius in units of the FWHM", min=0.5, max=10),
        ParameterSpec("annulus_in", "float", 4.0, "inner radius of the background annulus (FWHM units)", min=1),
        ParameterSpec("annulus_out", "float", 6.0, "outer radius of the background annulus (FWHM units)", min=1.5),
        ParameterSpec("match_radius", "float", 1.0, "catalogue match radius (arcsec)", min=0.05),
        ParameterSpec("zp_min_snr", "float", 20.0, "stars used for the zero point have at least this S/N", min=1),
        ParameterSpec("min_coverage", "float", COVERAGE_MIN, "sources only where the coadd has at least this "
                      "fraction of the full weight (WEIGHT plane; 0.6 = 3 of 5 equal frames)", min=0.0, max=1.0),
        ParameterSpec("min_snr", "float", 3.0, "catalogue only sources measured with at least this S/N", min=0.0),
        ParameterSpec("saturation_radius", "float", 2.0, "drop detections within this many FWHM of saturated "
                      "pixels (0 = keep them, flagged)", min=0.0),
    )
    input_categories = ("COADD_IMG", "REF_CATALOG")
    output_categories = ("SOURCE_CATALOG",)

    def run(self, inputs, parameters, output_dir: Path) -> RecipeResult:
        p = io.effective_parameters(type(self), parameters)
        if p["annulus_out"] <= p["annulus_in"]:
            raise RecipeError(f"{self.name}: annulus_out must exceed annulus_in")
        g = io.by_category(inputs)
        path = io.need(g, "COADD_IMG", self.name, 1, 1)[0]
        refcat = io.need(g, "REF_CATALOG", self.name, 1, 1)[0]
        img, h = io.read_image(path)
        var = io.read_plane(path, "VARIANCE")
        b = io.read_plane(path, "BPM")
        bad = (b > 0) if b is not None else np.zeros(img.shape, bool)
        if var is None:
            var = np.full(img.shape, io.robust_std(img) ** 2, np.float32)
        weight = io.read_plane(path, "WEIGHT")
        low = coverage_mask(weight, p["min_coverage"], img.shape)
        detect_mask = bad | low
        var = np.where(bad, np.inf, var)
        w = _wcs(h, path)
        fwhm = float(h.get("HIERARCH ESO QC FWHM", -1) or -1)
        if fwhm <= 0:
            fw = fwhm_of(img, _stars(img, var, bad, 20.0, 40))
            fwhm = float(np.nanmedian(fw)) if np.isfinite(fw).any() else 3.0
        # per-pixel noise: parts of the coadd covered by fewer frames are noisier
        noise = np.sqrt(np.where(np.isfinite(var) & ~detect_mask, var, np.median(var[~detect_mask])))
        pk = detect(img, noise, threshold=p["detect_sigma"], fwhm=fwhm, mask=detect_mask)
        xy = centroid(img, pk, fwhm=fwhm)
        keep = np.all(np.isfinite(xy), axis=1)
        xy = xy[keep]
        # two peaks converging on one star: keep the first (brightest)
        if len(xy):
            uniq = []
            for i, q in enumerate(xy):
                if all(np.hypot(*(q - xy[j])) > 1.0 for j in uniq):
                    uniq.append(i)
            xy = xy[uniq]
        # saturated stars (BPM bit 2, from the frames): one masked blob each; detections on their
        # wings and bleed trails are not sources to measure
        nsat = 0
        if b is not None and (b & io.BPM_SATURATED).any():
            from scipy import ndimage

            satm = (b & io.BPM_SATURATED) > 0
            nsat = int(ndimage.label(satm)[1])
            if len(xy) and p["saturation_radius"] > 0:
                dist = ndimage.distance_transform_edt(~satm)
                ix = np.clip(np.round(xy[:, 0]).astype(int), 0, img.shape[1] - 1)
                iy = np.clip(np.round(xy[:, 1]).astype(int), 0, img.shape[0] - 1)
                xy = xy[dist[iy, ix] > p["saturation_radius"] * fwhm]
        print(f"{self.name}: {len(xy)} sources above {p['detect_sigma']} sigma, FWHM {fwhm:.2f} px", flush=True)
        ph = aperture_photometry(img, np.where(np.isfinite(var), var, 0.0), bad, xy, p["aperture"] * fwhm,
                                 p["annulus_in"] * fwhm, p["annulus_out"] * fwhm)
        with np.errstate(invalid="ignore", divide="ignore"):
            snr = ph["flux"] / ph["flux_err"]
        # rows kept: measured (finite flux and error), S/N >= min_snr, centre on well-covered pixels
        ix = np.clip(np.round(xy[:, 0]).astype(int), 0, img.shape[1] - 1) if len(xy) else np.array([], int)
        iy = np.clip(np.round(xy[:, 1]).astype(int), 0, img.shape[0] - 1) if len(xy) else np.array([], int)
        keep = np.isfinite(ph["flux"]) & np.isfinite(ph["flux_err"]) & (ph["flux_err"] > 0) & np.isfinite(snr)
        keep &= (snr >= p["min_snr"]) & ~low[iy, ix]
        dropped = int((~keep).sum())
        xy = xy[keep]
        ph = {k: v[keep] for k, v in ph.items()}
        snr = snr[keep]
        edge = aperture_touches(low | bad, xy, p["aperture"] * fwhm)
        flags = (ph["nbad"] > 0).astype(np.int16) * FLAG_BAD_PIXEL | edge.astype(np.int16) * FLAG_EDGE
        print(f"{self.name}: {len(xy)} sources kept, {dropped} dropped (not measurable, S/N < {p['min_snr']}, "
              f"or coverage < {p['min_coverage']})", flush=True)
        ra, dec = w.pixel_to_world_values(xy[:, 0], xy[:, 1]) if len(xy) else (np.array([]), np.array([]))
        filt = str(h.get("HIERARCH ESO INS FILT NAME", ""))
        cra, cdec, cmag = _read_refcat(refcat, filt)
        if cmag is None:
            raise RecipeError(f"{self.name}: the reference catalogue {refcat} has no MAG_{filt} column "
                              f"for filter {filt!r}")
        cosd = np.cos(np.deg2rad(np.median(cdec))) if len(cdec) else 1.0
        a = np.column_stack([np.asarray(ra) * cosd, dec]) * 3600.0
        c = np.column_stack([cra * cosd, cdec]) * 3600.0
        ia, ib = match(a, c, p["match_radius"])
        ref_mag = np.full(len(xy), np.nan)
        ref_mag[ia] = cmag[ib]
        with np.errstate(invalid="ignore", divide="ignore"):
            inst = -2.5 * np.log10(ph["flux"])
        use = np.isfinite(ref_mag) & (flags == 0) & (snr >= p["zp_min_snr"]) & np.isfinite(inst)
        if use.sum() < 3:
            raise RecipeError(f"{self.name}: only {int(use.sum())} catalogue stars usable for the zero point "
                              f"(matched {len(ia)}); check the WCS (QC WCS.SHIFT) or lower zp_min_snr")
        zp, zp_std, nzp = io.clipped_stats(ref_mag[use] - inst[use], 3.0)
        mag = inst + zp
        mag_err = 1.0857 * ph["flux_err"] / ph["flux"]
        cols = [
            fits.Column("ID", "J", array=np.arange(1, len(xy) + 1)),
            fits.Column("X_IMAGE", "D", unit="pix", array=xy[:, 0] + 1.0),
            fits.Column("Y_IMAGE", "D", unit="pix", array=xy[:, 1] + 1.0),
            fits.Column("RA", "D", unit="deg", array=ra),
            fits.Column("DEC", "D", unit="deg", array=dec),
            fits.Column("FLUX", "D", unit="electron/s", array=ph["flux"]),
            fits.Column("FLUX_ERR", "D", unit="electron/s", array=ph["flux_err"]),
            fits.Column("SNR", "D", array=snr),
            fits.Column("BKG", "D", unit="electron/s/pix", array=ph["bkg"]),
            fits.Column("MAG", "D", unit="mag", array=mag),
            fits.Column("MAG_ERR", "D", unit="mag", array=mag_err),
            fits.Column("REF_MAG", "D", unit="mag", array=ref_mag),
            fits.Column("FLAGS", "I", array=flags),
        ]
        qc = {"NSOURCES": len(xy), "ZP": zp, "ZP.ERR": zp_std / np.sqrt(max(nzp, 1)), "ZP.RMS": zp_std,
              "ZP.NSTARS": nzp, "FWHM": fwhm, "APERTURE": p["aperture"] * fwhm, "NSAT.STARS": nsat}
        print(f"{self.name}: zero point {zp:.3f} +- {qc['ZP.ERR']:.3f} mag from {nzp} stars (filter {filt})",
              flush=True)
        hdr = io.product_header(h, "SOURCE_CATALOG", self, qc, inputs=inputs, parameters=p)
        for k in [k for k in hdr if k.startswith(("CTYPE", "CRPIX", "CRVAL", "CD", "CUNIT"))]:
            del hdr[k]
        hdr["HIERARCH ESO PRO COVERAGE MIN"] = (p["min_coverage"], "sources only where WEIGHT >= this")
        hdr["HIERARCH ESO PRO SNR MIN"] = (p["min_snr"], "sources only with S/N >= this")
        out = output_dir / (f"source_catalog_{safe_filter(filt)}.fits" if filt else "source_catalog.fits")
        from reflexng.recipes.product_header import write_hdus

        table = fits.BinTableHDU.from_columns(cols, name="SOURCES")
        for bit, text in FLAG_BITS.items():
            table.header[f"FLAGBIT{bit.bit_length()}"] = (bit, text[:47])
            table.header["COMMENT"] = f"FLAGS bit {bit}: {text}"
        write_hdus(out, [fits.PrimaryHDU(header=hdr), table])
        return RecipeResult([(str(out), "SOURCE_CATALOG")], qc)
