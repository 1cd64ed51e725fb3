"""Compare two attempts of a job: what changed in the parameters (old -> new) and how each
product changed (difference statistics per product category). Qt-free; the GUI's Compare
button and ``reflexng compare`` both use it."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reflexng.provenance.store import Attempt, ProvenanceStore


def parameter_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """One line per parameter that differs, reading old -> new: ``sigma: 3 -> 4``; a
    parameter only in one of them reads ``(unset)`` on the other side."""
    out = []
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k, _UNSET), new.get(k, _UNSET)
        if a != b:
            out.append(f"{k}: {_show(a)} -> {_show(b)}")
    return out


_UNSET = object()


def _show(v: Any) -> str:
    return "(unset)" if v is _UNSET else repr(v)


@dataclass
class ProductDiff:
    """``new - old`` of one product pair (the first image HDU of each FITS file)."""

    category: str
    old: str
    new: str
    shape: tuple[int, ...] | None = None
    changed_pixels: int = 0
    pixels: int = 0
    mean: float = math.nan  # of new - old
    std: float = math.nan
    max_abs: float = math.nan
    note: str = ""  # why there are no statistics (shapes differ, no image data, unreadable)

    def words(self) -> str:
        if self.note:
            return f"{self.category}: {self.note}"
        if not self.changed_pixels:
            return f"{self.category}: identical ({self.pixels} pixels)"
        return (f"{self.category}: {self.changed_pixels} of {self.pixels} pixels differ; new - old: mean "
                f"{self.mean:.4g}, std {self.std:.4g}, max |diff| {self.max_abs:.4g}")


def _image(path: str):
    import numpy as np
    from astropy.io import fits

    with fits.open(path, memmap=False) as hdul:
        for hdu in hdul:
            if getattr(hdu, "is_image", False) and hdu.data is not None and hdu.data.size:
                return np.asarray(hdu.data, dtype=float)
    return None


def product_diff(old: str, new: str, category: str = "") -> ProductDiff:
    """Difference statistics of two products (new - old)."""
    import numpy as np

    d = ProductDiff(category or os.path.basename(new), old, new)
    try:
        a, b = _image(old), _image(new)
    except (OSError, ValueError, TypeError) as exc:
        d.note = f"cannot read: {exc}"
        return d
    if a is None or b is None:
        d.note = "no image data to compare"
        return d
    if a.shape != b.shape:
        d.note = f"image shapes differ: {a.shape} -> {b.shape}"
        return d
    diff = b - a
    finite = np.isfinite(diff)
    d.shape, d.pixels = tuple(a.shape), int(a.size)
    d.changed_pixels = int(np.count_nonzero(~((a == b) | (np.isnan(a) & np.isnan(b)))))
    if finite.any():
        vals = diff[finite]
        d.mean, d.std, d.max_abs = float(vals.mean()), float(vals.std()), float(np.abs(vals).max())
    return d


@dataclass
class AttemptComparison:
    job_id: str
    old: Attempt
    new: Attempt
    parameters: list[str] = field(default_factory=list)  # parameter_diff(old, new)
    products: list[ProductDiff] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)  # categories only one attempt has

    def lines(self) -> list[str]:
        head = f"job {self.job_id}: attempt {self.old.attempt} -> attempt {self.new.attempt}"
        out = [head, "parameters: " + ("; ".join(self.parameters) if self.parameters else "identical")]
        out += ["product " + p.words() for p in self.products]
        out += [f"product {c}: only in one attempt" for c in self.unmatched]
        return out


def compare_attempts(store: ProvenanceStore, job_id: str, old: int, new: int | None = None,
                     statistics: bool = True) -> AttemptComparison:
    """Compare attempt numbers ``old`` and ``new`` (default: the newest successful one) of a
    job. Raises ValueError naming what is missing."""
    attempts = {a.attempt: a for a in store.attempts_of(job_id)}
    if not attempts:
        raise ValueError(f"job {job_id} has no recorded attempt in {store.workdir}")
    if new is None:
        done = [a for a in attempts.values() if a.status == "done"]
        if not done:
            raise ValueError(f"job {job_id} has no successful attempt to compare with")
        new = max(done, key=lambda a: a.id).attempt
    for n in (old, new):
        if n not in attempts:
            raise ValueError(f"job {job_id} has no attempt {n}; attempts: {', '.join(map(str, sorted(attempts)))}")
    a, b = attempts[old], attempts[new]
    cmp = AttemptComparison(job_id, a, b, parameter_diff(a.parameters, b.parameters))
    old_by = {o["category"]: o["path"] for o in a.outputs or ()}
    new_by = {o["category"]: o["path"] for o in b.outputs or ()}
    for cat in sorted(set(old_by) | set(new_by)):
        if cat in old_by and cat in new_by:
            cmp.products.append(product_diff(old_by[cat], new_by[cat], cat) if statistics
                                else ProductDiff(cat, old_by[cat], new_by[cat]))
        else:
            cmp.unmatched.append(cat)
    return cmp


def matching_product(store: ProvenanceStore, job_id: str, shown: str, attempt: int) -> tuple[str | None, str]:
    """The product of ``attempt`` with the category of the product ``shown`` (a path of any
    attempt of the job): (path or None, category)."""
    cat = ""
    for a in store.attempts_of(job_id):
        for o in a.outputs or ():
            if os.path.abspath(o["path"]) == os.path.abspath(shown):
                cat = o["category"]
    other = next((a for a in store.attempts_of(job_id) if a.attempt == attempt), None)
    match = next((o["path"] for o in (other.outputs if other else None) or () if o["category"] == cat), None)
    return match, cat
