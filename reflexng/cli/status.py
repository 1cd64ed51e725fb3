"""`reflexng status WORKDIR` — the last runs of a work directory, its failed jobs and its disk use.

``--json``: ``{workdir, runs: [{id, started, finished, status, cascade, target, jobs}],
failed: [{job, task, dataset, attempt, status, reason, log}], disk: {jobs, end_products, database,
total}}`` (sizes in bytes; ``failed``: the jobs whose latest attempt failed, was cancelled or was
interrupted). ``--prov-json OUT``: the last run as PROV-JSON (reflexng.provenance.trace). Also :func:`open_workdir`, shared by ``clean`` and ``export``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from reflexng.cli._common import fail


def open_workdir(path: str, verb: str, lock: bool = False):
    """(ProvenanceStore, None) for an existing work directory, or (None, exit code) after one line."""
    from reflexng.provenance.store import (
        DB_NAME,
        DamagedStoreError,
        ProvenanceStore,
        WorkdirLockedError,
    )

    p = Path(path)
    if not p.exists():
        return None, fail(f"{verb} {path}: no such folder; give the work directory of a reduction "
                          f"(the folder holding {DB_NAME}, as given to `reflexng run --workdir`)")
    if not p.is_dir():
        return None, fail(f"{verb} {path}: is a file, not a folder; give the work directory of a reduction")
    if not (p / DB_NAME).is_file():
        return None, fail(f"{verb} {p / DB_NAME}: missing, so {path} is not a reflexng work directory; give the "
                          "folder you passed to `reflexng run --workdir`")
    try:
        return ProvenanceStore(p, lock=lock), None
    except DamagedStoreError as exc:
        return None, fail(f"{verb} {exc}; move the damaged file aside (a new run starts a fresh one)")
    except WorkdirLockedError as exc:
        return None, fail(f"{verb} {exc}")
    except OSError as exc:
        from reflexng.cli._errors import describe_os_error

        return None, fail(f"{verb} {describe_os_error(exc)}")


def disk_use(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def human(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def register(sub) -> None:
    p = sub.add_parser("status", help="last runs, failed jobs and disk use of a work directory",
                       description="Show the last runs recorded in a work directory, the jobs whose latest "
                       "attempt failed (with the log to read) and how much disk the work directory uses.")
    p.add_argument("workdir", metavar="WORKDIR", help="work directory of a reduction")
    p.add_argument("--runs", type=int, default=5, metavar="N", help="how many recent runs to show (default 5)")
    p.add_argument("--json", action="store_true", help="print the status as JSON")
    p.add_argument("--timeline", action="store_true",
                   help="instead: the last run's timeline (wall, CPU, peak memory and worker of each job, with "
                   "hints), as `reflexng timeline WORKDIR`")
    p.add_argument("--prov-json", metavar="OUT",
                   help="also write the last run as W3C PROV-JSON to OUT (every attempt with its status, "
                   "done, failed or cancelled, and the user's decisions)")
    p.set_defaults(func=run)


def collect(store, workdir: Path, n_runs: int) -> dict:
    runs = []
    for r in store.query("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (max(1, n_runs),)):
        counts: dict[str, int] = {}
        try:
            for j in json.loads(r["summary"] or "{}").get("jobs", []):
                counts[j.get("status", "?")] = counts.get(j.get("status", "?"), 0) + 1
        except ValueError:
            pass
        runs.append({"id": r["id"], "started": r["started"], "finished": r["finished"], "status": r["status"],
                     "cascade": r["cascade"], "target": r["target"], "jobs": counts})
    failed = []
    rows = store.query("SELECT j.* FROM jobs j JOIN (SELECT job_id, MAX(id) AS id FROM jobs GROUP BY job_id) l "
                       "ON j.id = l.id WHERE j.status IN ('failed', 'interrupted', 'cancelled') ORDER BY j.id")
    for r in rows:
        log = os.path.join(r["jobdir"], "log.txt") if r["jobdir"] else None
        failed.append({"job": r["job_id"], "task": r["task"], "dataset": r["dataset"], "attempt": r["attempt"],
                       "status": r["status"], "reason": r["exit_reason"] or "", "log": log})
    disk = {"jobs": disk_use(workdir / "jobs"), "end_products": disk_use(workdir / "end_products"),
            "database": sum(os.path.getsize(p) for p in workdir.glob("reflexng.sqlite*") if p.is_file())}
    disk["total"] = disk_use(workdir)
    return {"workdir": str(workdir), "runs": runs, "failed": failed, "disk": disk}


def run(args) -> int:
    if getattr(args, "timeline", False):
        import argparse

        from reflexng.cli import timeline

        return timeline.run(argparse.Namespace(workdir=args.workdir, run=None, json=args.json))
    store, code = open_workdir(args.workdir, "status")
    if store is None:
        return code
    try:
        info = collect(store, Path(args.workdir).resolve(), args.runs)
        if getattr(args, "prov_json", None):
            from reflexng.provenance.trace import write_run_prov_json

            try:
                write_run_prov_json(store, args.prov_json)
            except OSError as exc:
                return fail(f"status: cannot write {args.prov_json}: {exc.strerror or exc}; give a writable file")
            print(f"PROV-JSON of the last run written to {args.prov_json}", file=sys.stderr)
    finally:
        store.close()
    if args.json:
        json.dump(info, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    print(f"work directory {info['workdir']}")
    if not info["runs"]:
        print("no runs yet")
    for r in info["runs"]:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r["started"])) if r["started"] else "?"
        took = f" ({r['finished'] - r['started']:.0f} s)" if r["finished"] and r["started"] else ""
        jobs = ", ".join(f"{n} {s}" for s, n in sorted(r["jobs"].items())) or "no jobs"
        print(f"  run {r['id']}  {when}{took}  {r['status'] or '?':<11} {r['cascade']} -> {r['target']}: {jobs}")
    failed = [f for f in info["failed"] if f["status"] != "cancelled"]
    cancelled = [f for f in info["failed"] if f["status"] == "cancelled"]
    if failed:
        print(f"failed jobs ({len(failed)}):")
    else:
        print("failed jobs: none")
    if cancelled:
        print(f"cancelled jobs ({len(cancelled)}, stopped by the user; the next run runs them again):")
    for f in failed + cancelled:
        print(f"  {f['job']} ({f['task']}, attempt {f['attempt']}): {f['status']}: {f['reason'] or f['status']}")
        if f["log"]:
            print(f"    log: {f['log']}")
    d = info["disk"]
    print(f"disk: {human(d['total'])} (jobs {human(d['jobs'])}, end products {human(d['end_products'])}, "
          f"database {human(d['database'])}); `reflexng clean {args.workdir}` removes old attempts")
    return 0
