"""Readable names for datasets and jobs (Qt-free): what an astronomer calls them — the
target's OBJECT, its OBS.NAME, the setup (grouping values) and the night — instead of the
first file's name. The full organiser name stays available for tooltips."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from itertools import compress
from operator import attrgetter
from typing import Any

_MJD0 = _dt.datetime(1858, 11, 17)
_path = attrgetter("path")


def _night(mjd: float | None) -> str:
    if mjd is None:
        return ""
    try:
        # the night starts at local noon: an observation before noon UT belongs to the previous date
        day = (_MJD0 + _dt.timedelta(days=float(mjd) - 0.5)).date()
    except (OverflowError, ValueError):
        return ""
    # isoformat: the text strftime("%Y-%m-%d") gives, 4x faster; before the year 1000 strftime's
    # year is not zero-padded on some platforms (glibc): kept as it was there
    return day.isoformat() if day.year >= 1000 else day.strftime("%Y-%m-%d")


def _reference(result: Any, job: Any) -> str | None:
    """The frame a job's readable name is read from."""
    ref = job.reference_path or (job.main[0] if job.main else None)
    if ref is None and job.main_jobs:  # the main input is a task: use its first job's frame
        up = result.jobs.get(job.main_jobs[0])
        ref = (up.reference_path or (up.main[0] if up.main else None)) if up is not None else None
    return ref


def prepare(result: Any) -> None:
    """Build the path index the labels read (one pass over the files: call it in a worker,
    the first label builds it otherwise)."""
    _index(result)


def _index(result: Any) -> tuple[set[str], dict[str, Any]]:
    """(paths looked for, record by path) for the reference frames of the datasets' target
    jobs only — 6,666 of 300,000 files: one C-level pass, no dictionary over every file."""
    cached = getattr(result, "_label_index", None)
    if cached is not None:
        return cached
    jobs = getattr(result, "jobs", None) or {}
    wanted = {ref for ds in getattr(result, "datasets", ()) if (job := jobs.get(ds.target_job)) is not None
              and (ref := _reference(result, job))}
    files = getattr(result, "files", ())
    found = compress(files, map(wanted.__contains__, map(_path, files)))
    cached = (wanted, {f.path: f for f in found})
    try:
        result._label_index = cached
    except AttributeError:
        pass
    return cached


def _headers(result: Any, path: str | None) -> Mapping[str, Any]:
    if not path:
        return {}
    wanted, index = _index(result)
    if path not in wanted:  # a dataset the result does not list: found by a pass of its own
        wanted.add(path)
        rec = next((f for f in getattr(result, "files", ()) if f.path == path), None)
        if rec is not None:
            index[path] = rec
    rec = index.get(path)
    return (getattr(rec, "headers", None) or {}) if rec is not None else {}


def dataset_label(result: Any, ds: Any) -> str:
    """'NGC 253 · OB M1 · R_SPECIAL · 2024-03-05' from the dataset's target job; the
    organiser's name when none of these is known."""
    job = result.jobs.get(ds.target_job) if getattr(result, "jobs", None) else None
    if job is None:
        return ds.name
    h = _headers(result, _reference(result, job))
    parts: list[str] = []
    for key in ("OBJECT", "OBS.NAME"):
        v = str(h.get(key) or "").strip()
        if v and v not in parts:
            parts.append(v if key == "OBJECT" else f"OB {v}")
    for k, v in (job.grouping or {}).items():
        text = str(v).strip()
        if text and text not in parts and k not in ("OBJECT", "OBS.NAME"):
            parts.append(text)
    night = _night(job.mjd)
    if night:
        parts.append(night)
    return " · ".join(parts) if parts else ds.name


def dataset_tooltip(result: Any, ds: Any) -> str:
    """The full name: the organiser's dataset name, id, target task and job."""
    state = "complete" if ds.complete else "incomplete: " + "; ".join(ds.missing)
    return f"{ds.name}\ndataset {ds.id} — target {ds.target}, job {ds.target_job}\n{state}"


# the text colour of a job's or dataset's status word in lists (a Stop is not a failure: not red)
STATUS_TEXT_COLOURS = {"failed": "#c0392b", "incomplete": "#c0392b", "cancelled": "#5e4a73", "interrupted": "#8a5a00"}


def status_text_colour(status: str) -> str:
    return STATUS_TEXT_COLOURS.get(str(status), "#222")
