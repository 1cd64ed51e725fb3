"""Task inspectors of the demo imaging cascade: what to look at after each step.

Each is ``fn(products, context) -> Inspection``; figures are ``matplotlib.figure.Figure``
objects built without pyplot; images are shown with a zscale stretch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reflexng.recipes.inspection import Inspection, InspectionContext


def _paths(products: Sequence[tuple[str, str]], category: str) -> list[str]:
    return [p for p, c in products if c == category]


def _image_figure(path: str, title: str):
    """zscale view of the primary image and a histogram of its values."""
    import numpy as np
    from astropy.io import fits
    from astropy.visualization import ZScaleInterval
    from matplotlib.figure import Figure

    with fits.open(path) as hl:
        data = np.asarray(hl[0].data, dtype=np.float32)
        bpm = np.asarray(hl["BPM"].data) if "BPM" in hl else None
    finite = data[np.isfinite(data)]
    lo, hi = ZScaleInterval().get_limits(finite) if finite.size else (0.0, 1.0)
    fig = Figure(figsize=(9, 4), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    im = ax1.imshow(data, origin="lower", cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
    fig.colorbar(im, ax=ax1, shrink=0.8)
    ax1.set_title(f"{title} (zscale {lo:.4g} .. {hi:.4g})", fontsize=9)
    if bpm is not None and bpm.any():
        ys, xs = np.nonzero(bpm)
        ax1.plot(xs, ys, ",", color="red", alpha=0.5)
    clip = finite[(finite >= lo - (hi - lo)) & (finite <= hi + (hi - lo))] if finite.size else finite
    ax2.hist(clip, bins=100, color="0.3")
    ax2.set_yscale("log")
    ax2.set_xlabel("value")
    ax2.set_title("histogram" + (f"; {int((bpm > 0).sum())} flagged pixels" if bpm is not None else ""),
                  fontsize=9)
    return fig


def inspect_master(products: Sequence[tuple[str, str]], context: InspectionContext) -> Inspection:
    """Master bias / dark / flat: the frame (zscale), its histogram and the QC values."""
    images = [p for p, _ in products]
    figs = [_image_figure(p, f"{c} {Path(p).name}") for p, c in products]
    notes = {
        "bias": "Compare QC RON with the detector's read noise; structure should be smooth.",
        "dark": "QC DARK.RATE.E is the dark current in e-/s/pixel; hot pixels go to the BPM.",
        "flat": "QC FLAT.RMS is the pixel-to-pixel sensitivity scatter; red dots are bad pixels.",
    }.get(context.task, "")
    truth = context.truth or {}
    if truth.get("detector"):
        d = truth["detector"]
        notes += (f" Truth: read noise {d.get('read_noise_adu', 0):.3f} ADU, dark "
                  f"{d.get('dark_rate_e_per_s')} e-/s, flat rms {truth.get('flat', {}).get('pixel_rms')}.")
    return Inspection(title=f"{context.task}: {len(images)} product(s)", images=images, figures=figs,
                      qc=dict(context.qc), notes=notes.strip())


def inspect_science(products: Sequence[tuple[str, str]], context: InspectionContext) -> Inspection:
    """Reduced frames: the first one (zscale, flagged pixels in red) and per-frame QC."""
    frames = _paths(products, "REDUCED_IMG")
    figs = [_image_figure(frames[0], f"reduced {Path(frames[0]).name}")] if frames else []
    if frames:
        figs.append(_frame_qc_figure(frames))
    return Inspection(title=f"science: {len(frames)} reduced frame(s)", images=frames, figures=figs,
                      qc=dict(context.qc),
                      notes="Sky-subtracted frames in e-/s; red marks cosmic rays, saturated and bad pixels.")


def _frame_qc_figure(frames: Sequence[str]):
    import numpy as np
    from astropy.io import fits
    from matplotlib.figure import Figure

    rows: list[dict[str, Any]] = []
    for f in frames:
        h = fits.getheader(f)
        rows.append({k: float(h.get(f"HIERARCH ESO QC {k}", np.nan)) for k in ("FWHM", "SKY LEVEL", "NCOSMIC")})
    fig = Figure(figsize=(9, 3), layout="constrained")
    axes = fig.subplots(1, 3)
    for ax, key in zip(axes, ("FWHM", "SKY LEVEL", "NCOSMIC")):
        ax.plot(range(1, len(rows) + 1), [r[key] for r in rows], "o-")
        ax.set_xlabel("frame")
        ax.set_title(key, fontsize=9)
    return fig


def inspect_coadd(products: Sequence[tuple[str, str]], context: InspectionContext) -> Inspection:
    """The coadd (zscale) with its QC: registration residual, WCS tie and FWHM."""
    paths = _paths(products, "COADD_IMG")
    figs = [_image_figure(p, "coadd") for p in paths]
    return Inspection(title="coadd", images=paths, figures=figs, qc=dict(context.qc),
                      notes="QC REG.RMS is the registration residual (px); WCS.RMS the catalogue tie (arcsec).")


def inspect_photometry(products: Sequence[tuple[str, str]], context: InspectionContext) -> Inspection:
    """The source catalogue: zero-point residuals and magnitude errors against magnitude."""
    import numpy as np
    from astropy.io import fits
    from matplotlib.figure import Figure

    paths = _paths(products, "SOURCE_CATALOG")
    figs = []
    for p in paths:
        with fits.open(p) as hl:
            t = hl[1].data
            zp = hl[0].header.get("HIERARCH ESO QC ZP", np.nan)
            mag, err, ref, flags = t["MAG"], t["MAG_ERR"], t["REF_MAG"], t["FLAGS"]
        fig = Figure(figsize=(9, 3.5), layout="constrained")
        ax1, ax2 = fig.subplots(1, 2)
        ok = np.isfinite(ref) & (flags == 0)
        ax1.errorbar(ref[ok], (ref - mag)[ok], yerr=err[ok], fmt="o", ms=3)
        ax1.axhline(0, color="k", lw=0.8)
        ax1.set_xlabel("catalogue magnitude")
        ax1.set_ylabel("catalogue - measured (mag)")
        ax1.set_title(f"zero point {zp:.3f}", fontsize=9)
        ax2.semilogy(mag, err, ".")
        ax2.set_xlabel("magnitude")
        ax2.set_ylabel("error (mag)")
        figs.append(fig)
    return Inspection(title="photometric catalogue", tables=paths, figures=figs, qc=dict(context.qc),
                      notes="Residuals should scatter around zero with no trend in magnitude.")
