"""Re-organising files whose headers did not change: the stored result holds, restamped.

A file touched, copied back or rewritten with the same header gets a new walk entry (size,
mtime_ns, inode), so the file-set digest no longer finds the stored result. When a request's
jobs and datasets depend only on its files' paths and headers (the stored row then carries
the scanned keywords: :meth:`~reflexng.organiser.store.ResultStore.put` ``keywords``), the
changed files are read again (the header scan, with its cache) and when every one has the
status, header digest and header values of its stored record, nothing else can differ: the
stored result, with the new sizes and times in its records, is stored again for the new file
set, together with its rendered output. Nothing is classified or planned; the cascade is not
even loaded (the request key already covers its contents and the code).

Anything else answers None and the caller organises: files added or removed, a walk problem,
a header that changed, a file unreadable now or before, a duplicate (or a file sharing its
header digest with another: duplicates are confirmed by content), a folder that changed
while the files were read, a delta that would outgrow its base, another process storing
meanwhile.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

# statuses whose record depends on more than the file's own header
_NOT_QUICK = ("unreadable", "duplicate")


def plan_reads_headers_only(cascade) -> bool:
    """True when no cascade code sees file records while jobs are planned (task and input
    conditions, dynamic and job parameters, job processing get a ``RuleContext`` whose
    ``files`` are records: such code could read a file's size or time). A condition made by
    ``WorkflowParameter.equals`` reads only its workflow parameter."""
    for t in cascade.tasks.values():
        if (_code(t.condition) or t.dynamic_parameters or t.job_parameters
                or getattr(t, "job_processing", ())):
            return False
        for a in t.all_associated_inputs():
            if _code(a.condition):
                return False
    return True


def _code(condition) -> bool:
    return condition is not None and not hasattr(condition, "workflow_parameter")


def _same_values(a: dict, b: dict) -> bool:
    """Equal header values of equal types (classification tells True from 1)."""
    if a != b:
        return False
    return all(v.__class__ is b[k].__class__ for k, v in a.items())


def refresh(
    st: Any,
    key: str,
    entries: Sequence[tuple],
    files: str,
    folders: Sequence[tuple[str, int]],
    scan: Callable[[list[tuple], list[str]], list[Any]],
) -> Any:
    """The stored row (:class:`~reflexng.organiser.store.StoredResult` of ``st``, a
    :class:`~reflexng.organiser.store.ResultStore`) of request ``key`` restamped for walk ``entries`` (file-set digest
    ``files``, walked ``folders``), stored; None when that does not hold (see the module
    docstring). ``scan(entries, keywords)`` reads the changed files."""
    from reflexng.fits.walk import folders_unchanged

    row = st.get(key)
    if row is None or row.quick is None or row.files == files:
        return None
    changed = row.changed_entries(entries)  # None: files added, removed or listed otherwise
    if not changed or not st.delta_fits(row, len(changed), len(entries)):
        return None
    for e in changed:
        if e[4]:
            return None
    paths = [e[0] for e in changed]
    recs = row.records_of(paths, raw=True)  # field dictionaries: no FileRecord needed
    quick = json.loads(row.quick)
    shared = set(quick["shared"])
    for p in paths:
        r = recs.get(p)
        if (r is None or r["status"] in _NOT_QUICK or not r["header_digest"]
                or r["header_digest"] in shared):
            return None
    new = []
    for s in scan(changed, quick["keywords"]):
        r = recs.get(s.path)
        if (r is None or s.status != "ok" or s.header_digest != r["header_digest"]
                or not _same_values(s.values, r["headers"])):
            return None
        d = dict(r)
        d["size"] = s.size
        d["mtime_ns"] = s.mtime_ns
        new.append(d)
    if len(new) != len(changed) or not folders_unchanged(folders):
        return None
    if not st.restat(row, files, new, changed, len(entries)):
        return None
    return st.get(key, files)


__all__ = ["plan_reads_headers_only", "refresh"]
