"""`reflexng clean WORKDIR` — remove old job attempts, keeping what is still needed.

Kept: for every job its newest successful attempt (what smart re-runs reuse), and every attempt
the provenance of an end product needs — the attempts that made the files in
``end_products/`` (current and ``previous/`` versions, recognised by content) and, recursively,
the attempts that made their inputs. Removed: every other attempt folder (failed, cancelled,
interrupted and superseded attempts); their rows stay in the database, marked ``cleaned``, so the
history of runs stays readable and they are never reused. Asks before deleting unless ``--yes``
(``--dry-run`` only says what would go). ``--json``: ``{removed: [{job, attempt, status, folder,
bytes}], kept, bytes}``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from reflexng.cli._common import fail
from reflexng.cli.status import human, open_workdir


def register(sub) -> None:
    p = sub.add_parser("clean", help="remove old job attempts (keeps what reuse and end-product provenance need)",
                       description="Remove the folders of failed and superseded job attempts. The newest "
                       "successful attempt of every job and every attempt the provenance of an end product "
                       "needs are kept. Asks first unless --yes.")
    p.add_argument("workdir", metavar="WORKDIR", help="work directory of a reduction")
    p.add_argument("--yes", "-y", action="store_true", help="delete without asking")
    p.add_argument("--dry-run", action="store_true", help="only say what would be removed")
    p.add_argument("--json", action="store_true", help="report as JSON")
    p.set_defaults(func=run)


def plan(store, workdir: Path) -> tuple[list[dict], set[int]]:
    """(attempts to remove, ids of attempts kept)."""
    rows = store.query("SELECT id, job_id, status, attempt, jobdir FROM jobs WHERE status NOT IN ('reused', 'cleaned') "
                       "ORDER BY id")
    keep: set[int] = set()
    newest_done: dict[str, int] = {}
    for r in rows:
        if r["status"] == "done":
            newest_done[r["job_id"]] = r["id"]
    keep.update(newest_done.values())
    # attempts that made the end products (by content), then what made their inputs
    wanted: list[int] = []
    ends = workdir / "end_products"
    if ends.is_dir():
        for f in sorted(ends.rglob("*")):
            if f.is_file() and not f.name.startswith("."):
                try:
                    h = store.hash_file(f)
                except OSError:
                    continue
                # the newest successful attempt that wrote this content (identical re-runs: the last one)
                for o in store.query("SELECT MAX(o.attempt_id) AS a FROM job_outputs o JOIN jobs j ON j.id=o.attempt_id "
                                     "WHERE o.hash=? AND j.status='done'", (h,)):
                    if o["a"] is not None:
                        wanted.append(o["a"])
    visited: set[int] = set()
    while wanted:
        aid = wanted.pop()
        if aid in visited:
            continue
        visited.add(aid)
        keep.add(aid)
        for i in store.query("SELECT path, hash FROM job_inputs WHERE attempt_id=?", (aid,)):
            for o in store.query("SELECT attempt_id FROM job_outputs WHERE path=?", (i["path"],)):
                if o["attempt_id"] not in visited:
                    wanted.append(o["attempt_id"])
    jobs_root = (workdir / "jobs").resolve()
    remove = []
    for r in rows:
        if r["id"] in keep or r["status"] == "running" or not r["jobdir"]:
            continue
        folder = Path(r["jobdir"]).resolve()
        if jobs_root not in folder.parents:
            continue  # never delete outside <workdir>/jobs
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0
        remove.append({"id": r["id"], "job": r["job_id"], "attempt": r["attempt"], "status": r["status"],
                       "folder": str(folder), "bytes": size})
    return remove, keep


def _repoint_latest(job_folder: Path) -> None:
    latest = job_folder / "latest"
    if latest.is_symlink() and not latest.exists():
        latest.unlink()
        left = sorted(p.name for p in job_folder.glob("attempt-*") if p.is_dir())
        if left:
            os.symlink(left[-1], latest)


def run(args) -> int:
    store, code = open_workdir(args.workdir, "clean", lock=not args.dry_run)
    if store is None:
        return code
    try:
        workdir = Path(args.workdir).resolve()
        remove, keep = plan(store, workdir)
        total = sum(r["bytes"] for r in remove)
        report = {"removed": remove, "kept": len(keep), "bytes": total, "dry_run": bool(args.dry_run)}
        if not remove:
            if args.json:
                json.dump(report, sys.stdout, indent=1)
                sys.stdout.write("\n")
            else:
                print(f"nothing to clean in {workdir} ({len(keep)} attempts are needed)")
            return 0
        if not args.json or args.dry_run:
            by = {}
            for r in remove:
                by[r["status"]] = by.get(r["status"], 0) + 1
            what = ", ".join(f"{n} {s}" for s, n in sorted(by.items()))
            print(f"{len(remove)} old attempts ({what}), {human(total)}; keeping {len(keep)} attempts that reuse "
                  "and the provenance of end products need", file=sys.stderr if args.json else sys.stdout)
        if args.dry_run:
            if args.json:
                json.dump(report, sys.stdout, indent=1)
                sys.stdout.write("\n")
            else:
                for r in remove:
                    print(f"  would remove {r['folder']}")
            return 0
        if not args.yes:
            if not sys.stdin.isatty():
                return fail(f"clean {args.workdir}: would delete {len(remove)} attempt folders; nobody to ask "
                            "(not a terminal): run again with --yes, or --dry-run to see them")
            try:
                answer = input(f"delete them ({human(total)})? [y/N] ")
            except EOFError:
                answer = ""
            if answer.strip().lower() not in ("y", "yes"):
                print("nothing deleted")
                return 1
        with store.transaction() as db:
            for r in remove:
                db.execute("UPDATE jobs SET status='cleaned' WHERE id=?", (r["id"],))
        for r in remove:
            shutil.rmtree(r["folder"], ignore_errors=True)
            _repoint_latest(Path(r["folder"]).parent)
        if args.json:
            json.dump(report, sys.stdout, indent=1)
            sys.stdout.write("\n")
        else:
            print(f"removed {len(remove)} attempt folders, freed {human(total)}")
        return 0
    finally:
        store.close()
