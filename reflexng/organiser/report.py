"""Words and JSON for an :class:`OrganiseResult` (used by ``reflexng organise``).

The JSON schema is documented in docs/organiser-json.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
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
    """Write ``json.dumps(to_json(result), indent=1) + "\n"`` through ``write``, piece by
    piece (same bytes, several times faster, no whole document in memory)."""
    from reflexng.organiser._jsonstream import write_indented

    head = _head(result)
    parts = [("files", result.files, file_json), ("datasets", result.datasets, dataset_json),
             ("jobs", result.jobs.values(), job_json)]
    write("{")
    first = True
    for k, v in head.items():
        write(("\n " if first else ",\n ") + _key(k))
        first = False
        write_indented(v, write, 1)
    for k, items, conv in parts:
        write(("\n " if first else ",\n ") + _key(k))
        first = False
        if conv is file_json:
            _write_files(items, write)
        else:
            write_indented(map(conv, items), write, 1, seq=True)
    write("\n}\n" if not first else "}\n")


def _write_files(files, write: Callable[[str], Any]) -> None:
    """The "files" list as :func:`write_indented` writes ``map(file_json, files)``, with the
    four- or five-key objects formatted in one step each (tested byte for byte)."""
    from json.encoder import encode_basestring_ascii as enc

    from reflexng.organiser._jsonstream import encode

    if not files:
        write("[]")
        return
    head = '{\n   "path": '
    buf: list[str] = []
    sep = "[\n  "
    for f in files:
        cat, status, reason, dup = f.category, f.status, f.reason, f.duplicate_of
        if (f.path.__class__ is str and status.__class__ is str and reason.__class__ is str
                and (cat is None or cat.__class__ is str)
                and (not dup or dup.__class__ is str)):
            text = (head + enc(f.path) + ',\n   "category": '
                    + ("null" if cat is None else enc(cat))
                    + ',\n   "status": ' + enc(status) + ',\n   "reason": ' + enc(reason)
                    + (',\n   "duplicate_of": ' + enc(dup) if dup else "") + "\n  }")
        else:
            text = encode(file_json(f), 2)
        buf.append(sep)
        buf.append(text)
        sep = ",\n  "
        if len(buf) >= 1024:
            write("".join(buf))
            buf.clear()
    buf.append("\n ]")
    write("".join(buf))


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
