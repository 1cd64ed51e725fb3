"""Dataset labels people can read: ``<object>_<setup>_<night>`` from header values (Qt-free).

A label names the observation a dataset reduces, from the header of its reference raw frame
(the first main input of the chain that leads to the target job):

* the object: ``OBJECT``, else ``OBS.NAME``, else the target task's name;
* the setup: the values of the main data source's setup keywords that are words, such as a
  filter or grating name (numbers such as binning or DIT are left out: they rarely tell
  datasets apart and make labels hard to read);
* the night: the date the night started (``MJD-OBS`` - 12 h, as ESO counts nights), ``YYYY-MM-DD``.

Labels are at most :data:`MAX_LENGTH` characters of letters, digits and ``._+-``, and unique
within one organise result: when two datasets would get the same label, the start time of the
observation (``TPL.START`` or ``DATE-OBS``, ``THHMMSS``) is added, and if that is not enough, a
short piece of the dataset id. The same data always give the same labels (no counters).

The CLI (``reflexng datasets``, ``run --dataset``, end-product folders) and the GUI's dataset
tree show the same labels: call :func:`dataset_labels`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MAX_LENGTH = 60
_BAD = re.compile(r"[^A-Za-z0-9._+-]+")


def clean(text: Any, limit: int = MAX_LENGTH) -> str:
    """``text`` as letters, digits and ``._+-`` (other runs become ``_``), at most ``limit`` chars."""
    s = _BAD.sub("_", str(text)).strip("._-")
    return s[:limit].rstrip("._-")


def night_of(mjd: Any) -> str:
    """The ESO night (date at which the night started) of an MJD, as ``YYYY-MM-DD``; "" if unknown."""
    try:
        m = float(mjd)
    except (TypeError, ValueError):
        return ""
    import datetime

    day = datetime.date(1858, 11, 17) + datetime.timedelta(days=int((m - 0.5) // 1))
    return day.isoformat()


def _is_word(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float)):
        return False
    s = str(value).strip()
    if not s:
        return False
    try:
        float(s)
    except ValueError:
        return True
    return False


def _reference(result: Any, dataset: Any) -> tuple[str | None, str]:
    """(reference raw file, task of the job that owns it) for a dataset: follow the target job's
    main input down to the first job with main files."""
    jobs = result.jobs
    jid = dataset.target_job
    seen: set[str] = set()
    while jid in jobs and jid not in seen:
        seen.add(jid)
        job = jobs[jid]
        if job.main:
            return (job.reference_path or job.main[0]), job.task
        if not job.main_jobs:
            break
        jid = job.main_jobs[0]
    return None, ""


def _setup_keywords(cascade: Any, task_name: str) -> tuple[str, ...]:
    tasks = getattr(cascade, "tasks", None) or {}
    task = tasks.get(task_name)
    ref = getattr(task, "main_input", None)
    if ref is None or getattr(ref, "kind", "") != "data_source":
        return ()
    source = (getattr(cascade, "data_sources", None) or {}).get(ref.name)
    return tuple(getattr(source, "setup_keywords", ()) or ())


def _start_time(h: Mapping[str, Any]) -> str:
    for key in ("TPL.START", "DATE-OBS"):
        v = str(h.get(key) or "")
        m = re.search(r"T(\d\d):?(\d\d):?(\d\d)", v)
        if m:
            return "T" + "".join(m.groups())
    return ""


def _fit(parts: list[str], limit: int = MAX_LENGTH) -> str:
    """Join non-empty parts with ``_``; shorten the first (the object) so the rest fits."""
    parts = [p for p in parts if p]
    if not parts:
        return "dataset"
    tail = "_".join(parts[1:])
    room = limit - (len(tail) + 1 if tail else 0)
    head = parts[0][:max(room, 8)].rstrip("._-")
    return clean("_".join(p for p in (head, tail) if p), limit)


def base_label(headers: Mapping[str, Any], setup_keywords: tuple[str, ...] = (), fallback: str = "") -> tuple[str, str]:
    """(object, setup) words of one header (cascade keyword names: ``OBS.NAME``, ``INS.FILT.NAME``)."""
    obj = headers.get("OBJECT") or headers.get("OBS.NAME") or fallback
    setup = [clean(headers.get(k), 20) for k in setup_keywords if _is_word(headers.get(k))]
    return clean(obj or "dataset", MAX_LENGTH), "_".join(s for s in setup if s)


def dataset_labels(result: Any, cascade: Any = None, headers_of=None) -> dict[str, str]:
    """Dataset id -> label for every dataset of an OrganiseResult (see the module docstring).

    ``headers_of(path) -> mapping`` reads a header (default: :func:`reflexng.fits.read_header_values`;
    a file that cannot be read gives a label from the task name and the dataset id)."""
    if headers_of is None:
        headers_of = _read_headers
    first: dict[str, list[str]] = {}
    info: dict[str, tuple[list[str], str]] = {}
    for ds in result.datasets:
        path, task = _reference(result, ds)
        h: Mapping[str, Any] = {}
        if path:
            try:
                h = headers_of(path) or {}
            except (OSError, ValueError):
                h = {}
        obj, setup = base_label(h, _setup_keywords(cascade, task) if cascade is not None else (),
                                fallback=ds.target)
        night = night_of(h.get("MJD-OBS"))
        parts = [obj, setup, night]
        info[ds.id] = (parts, _start_time(h))
        first.setdefault(_fit(parts), []).append(ds.id)
    out: dict[str, str] = {}
    for label, ids in first.items():
        if len(ids) == 1:
            out[ids[0]] = label
            continue
        second: dict[str, list[str]] = {}
        for i in ids:
            parts, start = info[i]
            second.setdefault(_fit([*parts, start]), []).append(i)
        for label2, ids2 in second.items():
            for i in ids2:
                out[i] = label2 if len(ids2) == 1 else _fit([*info[i][0], info[i][1], clean(i[-6:], 6)])
    return out


def setup_words(result: Any, dataset: Any, cascade: Any = None, headers_of=None) -> str:
    """The setup words of one dataset's label (e.g. the filter ``V``), "" when there are none."""
    path, task = _reference(result, dataset)
    if not path:
        return ""
    try:
        h = (headers_of or _read_headers)(path) or {}
    except (OSError, ValueError):
        return ""
    return base_label(h, _setup_keywords(cascade, task) if cascade is not None else ())[1]


def _read_headers(path: str) -> Mapping[str, Any]:
    from reflexng.fits import read_header_values

    return read_header_values(path, None)


def match(labels: Mapping[str, str], patterns: list[str]) -> tuple[list[str], list[str]]:
    """(dataset ids whose label, id or name matches one of the glob ``patterns``, patterns that
    matched nothing)."""
    import fnmatch

    chosen: list[str] = []
    unmatched: list[str] = []
    for pat in patterns:
        hit = [i for i, lab in labels.items() if fnmatch.fnmatchcase(lab, pat) or fnmatch.fnmatchcase(i, pat)]
        if not hit:
            unmatched.append(pat)
        chosen.extend(h for h in hit if h not in chosen)
    return chosen, unmatched
