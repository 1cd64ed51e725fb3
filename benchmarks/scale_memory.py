"""Where the memory of a first ``reflexng organise --json`` goes, per file record.

Runs the real command (``reflexng.cli.main``, output to /dev/null) in this process under
``tracemalloc`` and reports, in bytes per file:

- the traced peak of each phase (walk, scan, classify, plan, store, JSON), found by
  resetting the peak where the command calls ``walk``, ``classify``, ``ResultStore.put``
  and ``write_json`` (the real functions, wrapped only to take the measurements);
- live memory by allocating module (``tracemalloc`` statistics by file) at the moment the
  scan is done and at the moment the JSON is written (everything the result holds);
- a census (``sys.getsizeof`` of every object reached, each object counted once, in the
  order listed): walk entries (measured as ``walk`` returns), scanned files (as
  ``classify`` is called), then, as ``write_json`` is called, the FileRecord objects (named
  tuples), their headers dictionaries and values, the records' own
  strings, their other fields, jobs, datasets; and the JSON text written (its length) and
  the compressed copy kept for the store.

``tracemalloc`` slows the command down several times and adds its own bookkeeping to the
RSS: the timings and peak RSS of ``benchmarks/scale.py big`` come from untraced runs.

    python benchmarks/scale_memory.py --cascade CASCADE --data DIR --workdir EMPTY_DIR
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tracemalloc
from types import BuiltinFunctionType, FunctionType, MethodType, ModuleType
from typing import Any

_STOP = (type, ModuleType, FunctionType, BuiltinFunctionType, MethodType)
CENSUS = "(this probe's census: not the command's)"


class Census:
    """Bytes of objects reached from given roots, each object counted once across calls."""

    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.keep: list[Any] = []  # keeps counted objects' ids from being reused meanwhile

    def size(self, *roots: Any, deep: bool = True) -> int:
        total = 0
        stack = list(roots)
        seen, getsizeof = self.seen, sys.getsizeof
        while stack:
            o = stack.pop()
            if id(o) in seen or isinstance(o, _STOP):
                continue
            seen.add(id(o))
            self.keep.append(o)
            total += getsizeof(o)
            if not deep:
                continue
            if isinstance(o, dict):
                stack.extend(o.keys())
                stack.extend(o.values())
            elif isinstance(o, (list, tuple, set, frozenset)):
                stack.extend(o)
            elif not isinstance(o, (str, bytes, int, float, complex, bool)) and o is not None:
                d = getattr(o, "__dict__", None)
                if d is not None:
                    stack.append(d)
                for cls in type(o).__mro__:
                    for name in getattr(cls, "__slots__", ()):
                        v = getattr(o, name, None)
                        if v is not None:
                            stack.append(v)
        return total


class Probe:
    def __init__(self, n_files: int) -> None:
        self.n = n_files
        self.phase = "start"
        self.peaks: list[tuple[str, int, int]] = []  # (phase, peak above its start, live at end)
        self.top = 0  # the highest traced peak
        self.rows: list[tuple[str, str, int]] = []  # (moment, what, bytes)
        self.by_module: dict[str, list[tuple[str, int]]] = {}
        self._start = 0

    def mark(self, phase: str) -> None:
        """End the current phase (its peak above where it began), begin ``phase``."""
        current, peak = tracemalloc.get_traced_memory()
        self.peaks.append((self.phase, peak - self._start, current))
        if self.phase != CENSUS:
            self.top = max(self.top, peak)
        tracemalloc.reset_peak()
        self._start = current
        self.phase = phase

    def modules(self, moment: str, top: int = 12) -> None:
        snap = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, __file__)])
        stats = snap.statistics("filename")
        self.by_module[moment] = [(_short(s.traceback[0].filename), s.size) for s in stats[:top]]

    def report(self) -> None:
        n = self.n
        print(f"memory of a first organise of {n} files, per file record "
              f"(tracemalloc: Python allocations; bytes / {n}):")
        print("  traced peak of each phase above the memory live when it began, and live at "
              "its end:")
        for phase, peak, live in self.peaks:
            if phase == CENSUS:
                continue
            print(f"    {phase:<34} peak +{peak / n:8.0f} B   live at end {live / n:8.0f} B")
        for moment in self.by_module:
            print(f"  live by allocating module {moment}:")
            for name, size in self.by_module[moment]:
                print(f"    {name:<52} {size / n:8.0f} B")
        print("  census (sys.getsizeof of each object reached, counted once, in this order):")
        last = None
        for moment, what, size in self.rows:
            if moment != last:
                print(f"   {moment}:")
                last = moment
            print(f"    {what:<52} {size / n:8.0f} B")


def _short(filename: str) -> str:
    for marker in (os.sep + "reflexng" + os.sep, os.sep + "python3"):
        i = filename.rfind(marker)
        if i >= 0:
            return filename[i + 1:]
    return filename


def records_census(c: Census, files: list, moment: str, probe: Probe) -> None:
    rows = probe.rows
    rows.append((moment, "list of records", c.size(files, deep=False)))
    rows.append((moment, "FileRecord objects (named tuples)",
                 sum(c.size(f, deep=False) for f in files)))
    rows.append((moment, "headers dicts + their values", sum(c.size(f.headers) for f in files)))
    strs = [getattr(f, k) for f in files
            for k in ("path", "reason", "header_digest", "category", "status", "data_source",
                      "duplicate_of")]
    rows.append((moment, "record strings (path, reason, digest, category...)",
                 c.size(*[s for s in strs if isinstance(s, str)])))
    rows.append((moment, "other fields (sizes, mtimes, mjd, data_sources)",
                 sum(c.size(*[v for k, v in f._asdict().items() if k != "headers"]) for f in files)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cascade", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    n = sum(1 for _, _, fs in os.walk(args.data) for f in fs if f.endswith(".fits"))
    probe = Probe(n)

    from importlib import import_module

    walk_mod = import_module("reflexng.fits.walk")  # (the packages' names are functions)
    classify_mod = import_module("reflexng.organiser.classify")
    report = import_module("reflexng.organiser.report")
    store = import_module("reflexng.organiser.store")

    reached: set[str] = set()
    walk0, classify0 = walk_mod.walk_parts, classify_mod.classify
    put0, write_json0 = store.ResultStore.put, report.write_json

    def walk(*a, **k):
        reached.add("walk")
        probe.mark("walk")
        out = walk0(*a, **k)
        entries = out.entries()  # what the organiser makes of it next (after the digest: the same)
        probe.mark(CENSUS)
        probe.rows.append(("as walk returns", "walk entries (list, tuples, paths, ints)",
                           Census().size(entries)))
        del entries
        probe.mark("after the walk (scan: reading headers)")
        return out

    def classify(scanned, *a, **k):
        reached.add("classify")
        probe.mark(CENSUS)
        probe.modules("as the scan is done")
        probe.rows.append(("as classify is called", "scanned files (ScannedFile, values dicts, "
                           "strings)", Census().size(list(scanned))))
        probe.mark("classify")
        out = classify0(scanned, *a, **k)
        probe.mark("after classify (planning jobs, datasets)")
        return out

    def put(self, *a, **k):
        reached.add("ResultStore.put")
        probe.mark("store put (marshal, zlib, sqlite)")
        try:
            return put0(self, *a, **k)
        finally:
            probe.mark("after the store put")

    def write_json(result, write):
        reached.add("write_json")
        probe.mark(CENSUS)
        probe.modules("as the JSON is written (the result complete)")
        moment = "as write_json is called (live)"
        census = Census()
        records_census(census, result.files, moment, probe)
        probe.rows.append((moment, "jobs (Job, Association, Candidate, their tuples, dicts, "
                           "strings not in records)", census.size(result.jobs)))
        probe.rows.append((moment, "datasets", census.size(result.datasets)))
        del census
        probe.mark("write_json")
        length = [0]

        def counted(piece: str) -> None:
            length[0] += len(piece)
            write(piece)

        write_json0(result, counted)
        probe.rows.append(("JSON", "text written (characters)", length[0]))
        probe.mark("after write_json (attach output, exit)")

    walk_mod.walk_parts, classify_mod.classify = walk, classify
    store.ResultStore.put, report.write_json = put, write_json
    from reflexng.cli import main as cli

    tracemalloc.start()
    gc.collect()
    probe.mark("start-up, cascade, store look-up")
    out = open(os.devnull, "w")
    sys.stdout, real = out, sys.stdout
    try:
        status = cli(["organise", "--cascade", args.cascade, "--data", args.data,
                      "--workdir", args.workdir, "--json"])
    finally:
        sys.stdout = real
        out.close()
    probe.mark("end")
    probe.peaks.pop(0)  # before tracing started
    probe.report()
    missed = {"walk", "classify", "ResultStore.put", "write_json"} - reached
    if missed:  # the command no longer calls them as this probe expects: phases merged
        print(f"  NOTE: not reached (their phases are merged into the previous ones): "
              f"{', '.join(sorted(missed))}")
    print(f"  traced peak overall {probe.top / n:.0f} B per file ({probe.top / 2**20:.0f} MB); "
          f"exit status {status}")
    return status or 0


if __name__ == "__main__":
    sys.exit(main())
