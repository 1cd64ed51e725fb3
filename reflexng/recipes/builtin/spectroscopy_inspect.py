"""Task inspectors of the ``demo_spectroscopy`` cascade: what to look at after each step.

Each function takes ``(products, context)`` (see :mod:`reflexng.recipes.inspection`) and returns
an :class:`Inspection`. Figures are ``matplotlib.figure.Figure`` objects built without pyplot.
The expected spectra come from ``context.truth`` or, when that is empty, from the simulator's
``truth_spectroscopy.json`` found beside the job's raw input files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reflexng.recipes.inspection import Inspection

if TYPE_CHECKING:
    import numpy as np

TRUTH_FILE = "truth_spectroscopy.json"


def _qc(path: str) -> dict[str, Any]:
    from astropy.io import fits

    h = fits.getheader(path)
    return {k[len("ESO QC "):]: h[k] for k in h if k.startswith("ESO QC ")}


def _figure(nrows: int = 1, height: float = 3.2):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, height * nrows), layout="constrained")
    axes = [fig.add_subplot(nrows, 1, i + 1) for i in range(nrows)]
    return fig, axes


def find_truth(context: Any) -> Mapping[str, Any] | None:
    """The simulator's truth: ``context.truth``, or the truth file beside a raw input - also
    through the ``inputs.sof`` of the job that made an input product."""
    truth = getattr(context, "truth", None)
    if truth:
        return truth
    for folder in _candidate_dirs([p for p, _c in getattr(context, "inputs", ()) or ()]):
        f = folder / TRUTH_FILE
        if f.is_file():
            try:
                return json.loads(f.read_text())
            except (OSError, ValueError):
                return None
    return None


def _candidate_dirs(paths: Sequence[str], depth: int = 2) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        p = Path(path)
        out += [p.parent, p.parent.parent]
        if depth > 0:  # a product: the raw files its job read are listed in the job's inputs.sof
            for d in (p.parent, p.parent.parent):
                sof = d / "inputs.sof"
                if sof.is_file():
                    try:
                        raws = [ln.split()[0] for ln in sof.read_text().splitlines() if ln.strip()]
                    except OSError:
                        raws = []
                    out += _candidate_dirs(raws[:1], depth - 1)
                    break
    return list(dict.fromkeys(out))


def _first(products: Sequence[tuple[str, str]], *cats: str) -> str | None:
    for p, c in products:
        if c in cats:
            return p
    return None


def inspect_master(products: Sequence[tuple[str, str]], context: Any) -> Inspection:
    """Master bias / flat / order table: the frames (shown with zscale) and their QC."""
    qc: dict[str, Any] = {}
    for p, _c in products:
        qc.update(_qc(p))
    notes = "Check the frame for structure and the QC values (read noise, flat rms, slit edges)."
    return Inspection(title=f"{getattr(context, 'task', '')}: master calibration",
                      images=[p for p, c in products if c in ("MASTER_BIAS", "MASTER_FLAT")],
                      tables=[p for p, c in products if c == "ORDER_TABLE"], qc=qc, notes=notes)


def inspect_wavecal(products: Sequence[tuple[str, str]], context: Any) -> Inspection:
    """Wavelength-fit residuals against wavelength, and the arc spectrum with identified lines."""
    from astropy.io import fits

    path = _first(products, "WAVE_SOLUTION")
    if path is None:
        return Inspection(title="wavelength_cal", notes="no WAVE_SOLUTION product")
    lines = fits.getdata(path, "LINES")
    arc = fits.getdata(path, "ARC_SPECTRUM")
    qc = _qc(path)
    fig, (ax1, ax2) = _figure(2)
    used = lines["USED"] == 1
    ax1.axhline(0, color="0.6", lw=0.8)
    ax1.plot(lines["WAVE_CAT"][used], lines["RESID_ANG"][used], "o", ms=4, label="used")
    if (~used).any():
        ax1.plot(lines["WAVE_CAT"][~used], lines["RESID_ANG"][~used], "x", color="C3", label="rejected")
    ax1.set_xlabel("wavelength [Å]")
    ax1.set_ylabel("catalogue − fit [Å]")
    ax1.set_title(f"wavelength fit: rms {qc.get('WAVE RMS PX', float('nan')):.3f} px = "
                  f"{qc.get('WAVE RMS ANG', float('nan')):.3f} Å, {int(used.sum())} lines")
    ax1.legend(fontsize=8)
    ax2.plot(arc["WAVE"], arc["FLUX"], lw=0.8, color="k")
    for w in lines["WAVE_CAT"][used]:
        ax2.axvline(w, color="C0", lw=0.5, alpha=0.6)
    ax2.set_xlabel("wavelength [Å]")
    ax2.set_ylabel("arc [ADU]")
    return Inspection(title="wavelength_cal: fit residuals", figures=[fig], tables=[path], qc=qc,
                      notes="Residuals should scatter around zero with no trend; rms well below 0.1 px.")


def inspect_response(products: Sequence[tuple[str, str]], context: Any) -> Inspection:
    """The response curve with the measured ratio points."""
    from astropy.io import fits

    path = _first(products, "RESPONSE")
    if path is None:
        return Inspection(title="response", notes="no RESPONSE product")
    t = fits.getdata(path, "RESPONSE")
    fig, (ax,) = _figure(1)
    used = t["USED"] == 1
    ax.plot(t["WAVE"][used], t["RATIO"][used], ".", ms=2, color="0.5", label="observed / reference")
    ax.plot(t["WAVE"], t["RESPONSE"], color="C3", label="fitted response")
    ax.set_xlabel("wavelength [Å]")
    ax.set_ylabel("ADU s⁻¹ Å⁻¹ per erg s⁻¹ cm⁻² Å⁻¹")
    ax.legend(fontsize=8)
    return Inspection(title="response curve", figures=[fig], spectra=[path], qc=_qc(path),
                      notes="The fit should follow the points smoothly; the ends are extrapolated.")


def _expected(truth: Mapping[str, Any] | None, obj: str) -> tuple[np.ndarray, np.ndarray] | None:
    import numpy as np

    if not truth:
        return None
    std = truth.get("standard", {})
    if std.get("name") == obj:
        return np.asarray(std["wave"]), np.asarray(std["flux"])
    for t in truth.get("targets", []):
        if t.get("name") == obj:
            return np.asarray(t["wave"]), np.asarray(t["flux"])
    return None


def inspect_spectrum(products: Sequence[tuple[str, str]], context: Any) -> Inspection:
    """The extracted (or combined) spectrum against the expected one, when the truth is known."""
    import numpy as np
    from astropy.io import fits

    path = _first(products, "SCI_SPECTRUM_COMBINED", "STD_SPECTRUM_COMBINED", "SCI_SPECTRUM", "STD_SPECTRUM")
    if path is None:
        return Inspection(title="spectrum", notes="no spectrum product")
    from reflexng.recipes.builtin.spectroscopy_io import spectrum_columns

    with fits.open(path) as hdul:
        t = spectrum_columns(hdul["SPECTRUM"].data)
        unit = hdul["SPECTRUM"].columns["FLUX"].unit or ""
        obj = str(hdul[0].header.get("OBJECT", "")).strip()
    fig, axes = _figure(2)
    ax = axes[0]
    ax.fill_between(t["WAVE"], t["FLUX"] - t["ERR"], t["FLUX"] + t["ERR"], color="C0", alpha=0.3, lw=0)
    ax.plot(t["WAVE"], t["FLUX"], lw=0.8, color="C0", label=f"{obj} (reduced)")
    exp = _expected(find_truth(context), obj) if "erg" in unit else None
    notes = "Flux-calibrated spectrum with its 1-sigma band."
    if exp is not None:
        ew, ef = exp
        ax.plot(ew, ef, lw=0.8, color="C3", label="expected (simulator truth)")
        ratio = t["FLUX"] / np.interp(t["WAVE"], ew, ef)
        axes[1].plot(t["WAVE"], ratio, lw=0.6, color="k")
        axes[1].axhline(1.0, color="C3", lw=0.8)
        axes[1].set_ylim(0.8, 1.2)
        axes[1].set_ylabel("reduced / expected")
        n = ratio.size
        notes += f" Median ratio to the truth (edges excluded): {np.nanmedian(ratio[n // 10: -n // 10]):.4f}."
    else:
        axes[1].plot(t["WAVE"], t["FLUX"] / t["ERR"], lw=0.6, color="k")
        axes[1].set_ylabel("S/N per pixel")
    axes[1].set_xlabel("wavelength [Å]")
    ax.set_ylabel(unit)
    ax.legend(fontsize=8)
    images = [p for p, c in products if c.endswith("REDUCED_2D")]
    qc = _qc(path)
    k = next((k for k in ("SCI", "STD") if f"{k} FLEX SHIFT" in qc), None)
    if k is not None:  # what the workshop lessons look at
        notes += (f" Flexure {qc[f'{k} FLEX SHIFT']:+.2f} px measured on {qc[f'{k} FLEX NLINES']} sky lines"
                  f" ({'corrected' if qc[f'{k} FLEX CORRECTED'] else 'NOT corrected'}); sky lines "
                  f"{qc[f'{k} SKYLINE OFFSET']:+.2f} px from their wavelengths; sky residual "
                  f"{qc[f'{k} SKY RESID RMS']:.2f} x the noise; {qc[f'{k} EXTR METHOD']} extraction, "
                  f"S/N {qc[f'{k} EXTR SNR']:.1f}, {qc[f'{k} EXTR NCRREJ']} pixels rejected as cosmic rays.")
    return Inspection(title=f"spectrum of {obj}", figures=[fig], spectra=[path], images=images,
                      qc=qc, notes=notes)
