"""Per-attempt resource trace: wall time, CPU time, peak memory and the worker of every attempt.

Stored in the work directory's provenance database, table ``attempt_resources`` (one row per
executed attempt, keyed by ``jobs.id``; created here, so the store's schema stays as it is).
:func:`timeline` gives the attempts of a run in start order (the run timeline of
``reflexng timeline`` and the GUI), :func:`hints` says when the jobs would finish sooner with more
parallel jobs, or run better with fewer threads each.
"""

from __future__ import annotations

import os
import weakref
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS attempt_resources (
    attempt_id INTEGER PRIMARY KEY,
    executor TEXT,
    worker TEXT,
    wall_s REAL,
    cpu_s REAL,
    peak_rss_kb INTEGER,
    slots INTEGER
)
"""


_READY: weakref.WeakSet = weakref.WeakSet()  # stores whose database has the table


def ensure(store) -> None:
    """Create the table (once per store object; also works on a read-only look at an old store)."""
    if store in _READY:
        return
    with store.transaction() as db:
        db.execute(SCHEMA)
    _READY.add(store)


def record(store, attempt_id: int, trace: dict[str, Any], slots: int | None = None) -> None:
    """Record the trace of an attempt (``Outcome.trace``); nothing when the trace is empty."""
    if not trace:
        return
    ensure(store)
    with store.transaction() as db:
        db.execute(
            "INSERT OR REPLACE INTO attempt_resources(attempt_id, executor, worker, wall_s, cpu_s, peak_rss_kb, slots) "
            "VALUES (?,?,?,?,?,?,?)",
            (attempt_id, trace.get("executor"), trace.get("worker"), trace.get("wall_s"), trace.get("cpu_s"),
             trace.get("peak_rss_kb"), slots))


def of_attempt(store, attempt_id: int | None) -> dict[str, Any] | None:
    """The trace of one attempt (None when it has none)."""
    if attempt_id is None:
        return None
    ensure(store)
    rows = store.query("SELECT executor, worker, wall_s, cpu_s, peak_rss_kb FROM attempt_resources "
                       "WHERE attempt_id=?", (attempt_id,))
    return dict(rows[0]) if rows else None


def describe(tr: dict[str, Any] | None) -> str:
    """One line for the task pane: ``wall 1.20 s · CPU 1.10 s · peak 45 MB · worker host pid 12``."""
    if not tr:
        return ""
    parts = []
    if tr.get("wall_s") is not None:
        parts.append(f"wall {tr['wall_s']:.2f} s")
    if tr.get("cpu_s") is not None:
        parts.append(f"CPU {tr['cpu_s']:.2f} s")
    if tr.get("peak_rss_kb"):
        parts.append(f"peak {tr['peak_rss_kb'] / 1024:.0f} MB")
    if tr.get("worker"):
        parts.append(f"worker {tr['worker']}")
    if tr.get("executor"):
        parts.append(f"({tr['executor']})")
    return " · ".join(parts)


def last_run(store) -> int | None:
    rows = store.query("SELECT max(run_id) FROM jobs WHERE status IN ('done', 'failed', 'cancelled')")
    return rows[0][0] if rows and rows[0][0] is not None else None


def timeline(store, run_id: int | None = None) -> list[dict[str, Any]]:
    """Executed attempts of a run (default: the last) in start order, with their trace."""
    ensure(store)
    if run_id is None:
        run_id = last_run(store)
    if run_id is None:
        return []
    rows = store.query(
        "SELECT j.id, j.job_id, j.task, j.attempt, j.status, j.started, j.finished, j.exit_reason, "
        "r.executor, r.worker, r.wall_s, r.cpu_s, r.peak_rss_kb, r.slots "
        "FROM jobs j LEFT JOIN attempt_resources r ON r.attempt_id = j.id "
        "WHERE j.run_id = ? AND j.status != 'reused' ORDER BY j.started, j.id", (run_id,))
    return [dict(r) for r in rows]


def hints(rows: list[dict[str, Any]], cores: int | None = None) -> list[str]:
    """Advice from a run's timeline: more parallel jobs, or fewer threads per job."""
    cores = cores or os.cpu_count() or 1
    timed = [r for r in rows if r.get("started") and r.get("finished") and r.get("wall_s") and r.get("cpu_s") is not None]
    if len(timed) < 2:
        return []
    span = max(r["finished"] for r in timed) - min(r["started"] for r in timed)
    wall = sum(r["wall_s"] for r in timed)
    cpu = sum(r["cpu_s"] for r in timed)
    if span <= 0 or wall <= 0:
        return []
    parallel = wall / span  # jobs running at once, on average
    threads = cpu / wall  # cores each job keeps busy, on average
    slots = max((r.get("slots") or 0) for r in timed) or None
    workers = {r.get("worker") for r in timed if r.get("worker")}
    out = []
    if threads > 1.5 and parallel * threads > cores * 1.2:
        out.append(f"jobs keep {threads:.1f} cores busy each while {parallel:.1f} run at once on {cores} cores: "
                   f"fewer threads per job (e.g. OMP_NUM_THREADS={max(1, int(cores / max(parallel, 1)))}) or fewer "
                   "parallel jobs would avoid oversubscription")
    elif threads >= 0.7 and parallel < 0.75 * cores and cores >= 2 and wall > 2.0:
        bound = "single-threaded and CPU-bound" if threads < 1.3 else "CPU-bound"
        better = min(cores, max(2, round(cores / max(threads, 1))))
        if slots is None or slots < better or parallel < 0.75 * (slots or cores):
            out.append(f"jobs are {bound} and on average only {parallel:.1f} ran at once on {cores} cores: "
                       f"more parallel jobs (--ordering dynamic --jobs {better}) would finish sooner"
                       + (f" (they ran on {len(workers)} workers)" if len(workers) > 1 else ""))
    return out


def render(rows: list[dict[str, Any]], width: int = 40) -> list[str]:
    """The timeline as text lines: one bar per attempt on a common time axis."""
    timed = [r for r in rows if r.get("started") and r.get("finished")]
    if not timed:
        return ["no executed job in this run"]
    t0 = min(r["started"] for r in timed)
    span = max(max(r["finished"] for r in timed) - t0, 1e-6)
    name_w = min(36, max(len(f"{r['job_id']}#{r['attempt']}") for r in timed))
    worker_w = min(28, max(len(str(r.get("worker") or "-")) for r in timed))
    out = [f"{'job':<{name_w}}  {'worker':<{worker_w}}  {'start':>7}  {'wall':>7}  {'cpu':>7}  {'peak':>7}  "
           f"timeline ({span:.1f} s)"]
    for r in timed:
        a = int((r["started"] - t0) / span * width)
        b = max(a + 1, int((r["finished"] - t0) / span * width))
        bar = " " * a + ("#" if r["status"] == "done" else "x") * (b - a)
        cpu = "-" if r.get("cpu_s") is None else f"{r['cpu_s']:.2f}s"
        wall = "-" if r.get("wall_s") is None else f"{r['wall_s']:.2f}s"
        peak = "-" if not r.get("peak_rss_kb") else f"{r['peak_rss_kb'] / 1024:.0f}MB"
        name = f"{r['job_id']}#{r['attempt']}"[:name_w]
        out.append(f"{name:<{name_w}}  {str(r.get('worker') or '-')[:worker_w]:<{worker_w}}  "
                   f"{r['started'] - t0:>6.2f}s  {wall:>7}  {cpu:>7}  {peak:>7}  |{bar:<{width}}|")
    return out
