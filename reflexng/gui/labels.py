"""Readable names for datasets and jobs (Qt-free): what an astronomer calls them — the
target's OBJECT, its OBS.NAME, the setup (grouping values) and the night — instead of the
first file's name. The full organiser name stays available for tooltips."""

from __future__ import annotations

import datetime as _dt
from typing import Any

_MJD0 = _dt.datetime(1858, 11, 17)


def _night(mjd: float | None) -> str:
    if mjd is None:
        return ""
    try:
        # the night starts at local noon: an observation before noon UT belongs to the previous date
        return (_MJD0 + _dt.timedelta(days=float(mjd) - 0.5)).strftime("%Y-%m-%d")
    except (OverflowError, ValueError):
        return ""


def _headers(result: Any, path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    index = getattr(result, "_label_index", None)
    if index is None:
        index = {f.path: f for f in getattr(result, "files", ())}
        try:
            result._label_index = index
        except AttributeError:
            pass
    rec = index.get(path)
    return dict(getattr(rec, "headers", None) or {}) if rec is not None else {}


def dataset_label(result: Any, ds: Any) -> str:
    """'NGC 253 · OB M1 · R_SPECIAL · 2024-03-05' from the dataset's target job; the
    organiser's name when none of these is known."""
    job = result.jobs.get(ds.target_job) if getattr(result, "jobs", None) else None
    if job is None:
        return ds.name
    ref = job.reference_path or (job.main[0] if job.main else None)
    if ref is None and job.main_jobs:  # the main input is a task: use its first job's frame
        up = result.jobs.get(job.main_jobs[0])
        ref = (up.reference_path or (up.main[0] if up.main else None)) if up is not None else None
    h = _headers(result, ref)
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
