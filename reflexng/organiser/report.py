"""Words and JSON for an :class:`OrganiseResult` (used by ``reflexng organise``).

The JSON schema is documented in docs/organiser-json.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from reflexng.organiser.model import (
    AMBIGUOUS,
    DUPLICATE,
    OK,
    UNCLASSIFIED,
    UNREADABLE,
    OrganiseResult,
)

SHOW = 20  # files listed per problem kind in the text summary


def to_json(result: OrganiseResult) -> dict[str, Any]:
    """The ``--json`` document: files, datasets, jobs (plus cascade, target, notes)."""
    return {
        **_head(result),
        "files": [file_json(f) for f in result.files],
        "datasets": [dataset_json(d) for d in result.datasets],
        "jobs": [job_json(j) for j in result.jobs.values()],
    }


def _head(result: OrganiseResult) -> dict[str, Any]:
    return {
        "cascade": result.cascade_name,
        "target": result.target,
        "workflow_parameters": {k: _plain(v) for k, v in result.workflow_parameters.items()},
        "notes": list(result.notes),
    }


def file_json(f) -> dict[str, Any]:
    return {
        "path": f.path,
        "category": f.category,
        "status": f.status,
        "reason": f.reason,
        **({"duplicate_of": f.duplicate_of} if f.duplicate_of else {}),
    }


def dataset_json(d) -> dict[str, Any]:
    return {"id": d.id, "name": d.name, "target": d.target, "complete": d.complete,
            "missing": list(d.missing), "jobs": list(d.jobs)}


def job_json(j) -> dict[str, Any]:
    return {
        "id": j.id,
        "task": j.task,
        "main": list(j.main),
        "main_jobs": list(j.main_jobs),
        "associated": {
            name: [
                {"path": c.path, "job": c.job_id, "level": c.level,
                 "dt_days": None if c.dt_days is None else round(c.dt_days, 6)}
                for c in a.chosen
            ]
            for name, a in j.associated.items()
        },
        "complete": j.complete,
        "missing": list(j.missing),
    }


def write_json(result: OrganiseResult, write: Callable[[str], Any]) -> None:
    """Write ``json.dumps(to_json(result), indent=1) + "\n"`` through ``write``, in pieces of
    a few thousand files (same bytes, several times faster, no whole document in memory)."""
    from reflexng.organiser._jsonstream import encode

    head = _head(result)
    write("{")
    first = True
    for k, v in head.items():
        write(("\n " if first else ",\n ") + _key(k) + encode(v, 1))
        first = False
    write_parts(write, files_texts(result.files), map(dataset_text, result.datasets),
                map(job_text, result.jobs.values()), first=first)


def write_parts(write: Callable[[str], Any], files: Iterable[str], datasets: Iterable[str],
                jobs: Iterable[str], *, first: bool = False) -> None:
    """Write the "files", "datasets" and "jobs" members and the closing brace of the
    document whose opening brace and head members :func:`write_json` wrote (``first``: no
    member written yet), from the items' texts: ``files`` as :func:`files_texts` gives
    them (pieces of many files, or one :func:`file_text` per file, each piece after the
    first starting with ``",\n  "``), ``datasets`` and ``jobs`` one text per item as
    :func:`dataset_text` and :func:`job_text` give it.

    For a caller that keeps texts between requests: an item's text depends only on the
    fields its ``*_json`` function reads (a file: path, category, status, reason,
    duplicate_of; a job: id, task, main, main_jobs, complete, missing and each chosen
    candidate's path, job_id, level and dt_days; a dataset: id, name, target, complete,
    missing, jobs), so an item whose fields are unchanged can be written from its kept
    text; the bytes are those of :func:`write_json`."""
    from reflexng.organiser._jsonstream import write_items

    write(("\n " if first else ",\n ") + '"files": ')
    started = False
    for piece in files:
        write(piece if started else "[\n  " + piece)
        started = True
    write("\n ]" if started else "[]")
    write(',\n "datasets": ')
    write_items(datasets, write, 1)
    write(',\n "jobs": ')
    write_items(jobs, write, 1)
    write("\n}\n")


def file_text(f) -> str:
    """The text of one file in the "files" list (``file_json(f)`` at its indentation)."""
    from reflexng.organiser._jsonstream import encode

    return encode(file_json(f), 2)


def dataset_text(d) -> str:
    """The text of one dataset in the "datasets" list."""
    from reflexng.organiser._jsonstream import encode

    return encode(dataset_json(d), 2)


def job_text(j) -> str:
    """The text of one job in the "jobs" list (``job_json(j)`` at its indentation)."""
    text = _job_fast(j)
    if text is None:  # a value of another type than the schema's
        from reflexng.organiser._jsonstream import encode

        text = encode(job_json(j), 2)
    return text


_JOB = ('{\n   "id": %s,\n   "task": %s,\n   "main": %s,\n   "main_jobs": %s,\n   '
        '"associated": %s,\n   "complete": %s,\n   "missing": %s\n  }')
_CANDIDATE = ('{\n      "path": %s,\n      "job": %s,\n      "level": %s,\n      '
              '"dt_days": %s\n     }')


def _job_fast(j) -> str | None:
    """:func:`job_text` by a template, the values of the schema's types only (else None)."""
    from json.encoder import encode_basestring_ascii as enc

    from reflexng.organiser._jsonstream import SCALARS, str_list

    job_id, task, complete = j.id, j.task, j.complete
    main, main_jobs = str_list(j.main, 3), str_list(j.main_jobs, 3)
    missing = str_list(j.missing, 3)
    if (job_id.__class__ is not str or task.__class__ is not str
            or complete.__class__ is not bool or main is None or main_jobs is None
            or missing is None):
        return None
    parts = []
    for name, a in j.associated.items():
        if name.__class__ is not str:
            return None
        texts = []
        for c in a.chosen:
            path, up, level, dt = c.path, c.job_id, c.level, c.dt_days
            if dt is not None:
                dt = round(dt, 6)
            fp, fu = SCALARS.get(path.__class__), SCALARS.get(up.__class__)
            fl, fd = SCALARS.get(level.__class__), SCALARS.get(dt.__class__)
            if fp is None or fu is None or fl is None or fd is None:
                return None
            texts.append(_CANDIDATE % (fp(path), fu(up), fl(level), fd(dt)))
        parts.append(enc(name) + (": [\n     " + ",\n     ".join(texts) + "\n    ]" if texts
                                  else ": []"))
    associated = "{\n    " + ",\n    ".join(parts) + "\n   }" if parts else "{}"
    return _JOB % (enc(job_id), enc(task), main, main_jobs, associated,
                   "true" if complete else "false", missing)


_CHUNK = 4096  # files per piece of text
_STR = frozenset({str})
_STR_OR_NONE = frozenset({str, type(None)})
_NEXT = ',\n  {\n   "path": "'  # between one file's closing brace and the next one's path
_END = '"\n  }' + _NEXT  # after the reason of a file without duplicate_of


def files_texts(files: Sequence) -> Iterator[str]:
    """The "files" list's items as :func:`file_text` writes them, joined by ``,\n  ``, in
    pieces of up to 4096 files; each piece after the first starts with the joint. A piece
    is built a column at a time: paths and reasons encoded with a few C calls
    (:func:`encode_strings`), the text between a path and its reason looked up per
    (category, status), and joined in one step; a piece with a value of another type than
    the schema's is written file by file (tested byte for byte)."""
    for start in range(0, len(files), _CHUNK):
        chunk = files[start:start + _CHUNK]
        text = _files_piece(chunk)
        if text is None:
            text = ",\n  ".join(map(file_text, chunk))
        yield text if start == 0 else ",\n  " + text


def _files_piece(files: Sequence) -> str | None:
    from json.encoder import encode_basestring_ascii as enc
    from operator import attrgetter

    from reflexng.organiser._jsonstream import encode_strings

    n = len(files)
    paths = encode_strings(list(map(attrgetter("path"), files)))
    reasons = encode_strings(list(map(attrgetter("reason"), files)))
    cats = list(map(attrgetter("category"), files))
    states = list(map(attrgetter("status"), files))
    dups = list(map(attrgetter("duplicate_of"), files))
    if (paths is None or reasons is None or not set(map(type, cats)) <= _STR_OR_NONE
            or not set(map(type, states)) <= _STR):
        return None
    if any(dups):
        if not set(map(type, dups)) <= _STR_OR_NONE:
            return None
        ends = ['",\n   "duplicate_of": ' + enc(d) + _END[1:] if d else _END for d in dups]
    else:
        ends = [_END] * n
    mid = {}  # (category, status) -> the text between the path and the reason
    for cat, status in set(zip(cats, states)):
        mid[cat, status] = ('",\n   "category": ' + ("null" if cat is None else enc(cat))
                            + ',\n   "status": ' + enc(status) + ',\n   "reason": "')
    pieces = ends * 4  # per file: path, mid, reason, end
    pieces[0::4] = paths
    pieces[1::4] = map(mid.__getitem__, zip(cats, states))
    pieces[2::4] = reasons
    pieces[3::4] = ends
    pieces[-1] = pieces[-1][: -len(_NEXT)]  # the last file: no joint after it
    return '{\n   "path": "' + "".join(pieces)


def _key(k: str) -> str:
    from json.encoder import encode_basestring_ascii

    return encode_basestring_ascii(k) + ": "


def _plain(v: Any) -> Any:
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return str(v)


def summary_lines(result: OrganiseResult, *, show: int = SHOW) -> list[str]:
    """A text summary: files per category and status, datasets, then what is missing."""
    files = result.files
    status = Counter(f.status for f in files)
    cats = Counter(f.category for f in files if f.status == OK)
    out = [f"cascade {result.cascade_name}, target {result.target}: {len(files)} files"]
    if result.workflow_parameters:
        out.append("workflow parameters: " + ", ".join(f"{k}={v}" for k, v in result.workflow_parameters.items()))
    processed = sum(1 for f in files if f.status == OK and f.processed)
    out.append(f"classified: {status[OK]}" + (f" ({processed} processed calibrations)" if processed else ""))
    for cat, n in sorted(cats.items(), key=lambda kv: str(kv[0])):
        out.append(f"  {cat:<24} {n}")
    excluded = sum(1 for f in files if f.excluded)
    out.append(
        f"unclassified: {status[UNCLASSIFIED]}, unreadable: {status[UNREADABLE]}, "
        f"ambiguous: {status[AMBIGUOUS]}, duplicates: {status[DUPLICATE]}"
        + (f", excluded by you: {excluded}" if excluded else "")
    )
    for st in (UNREADABLE, UNCLASSIFIED, AMBIGUOUS, DUPLICATE):
        bad = [f for f in files if f.status == st]
        if not bad:
            continue
        out.append(f"{st} files:")
        for f in bad[:show]:
            out.append(f"  {f.path}: {f.reason}")
        if len(bad) > show:
            out.append(f"  ... and {len(bad) - show} more (use --json for all)")
    n_ok = sum(1 for d in result.datasets if d.complete)
    n_bad = len(result.datasets) - n_ok
    out.append(f"datasets: {len(result.datasets)} ({n_ok} complete, {n_bad} incomplete); "
               f"jobs: {len(result.jobs)}")
    for note in result.notes:
        out.append(f"note: {note}")
    for d in result.datasets:
        if d.complete:
            continue
        out.append(f"incomplete dataset {d.name} ({d.id}):")
        for m in d.missing:
            out.append(f"  {m}")
    return out
