"""`reflexng timeline WORKDIR` — the run timeline: every attempt's wall time, CPU time, peak memory and
worker, on a common time axis, with hints (more parallel jobs, fewer threads per job)."""

from __future__ import annotations

import sys

from reflexng.cli._common import fail


def register(sub) -> None:
    p = sub.add_parser("timeline", help="show a run's timeline: wall, CPU, peak memory and worker of each job",
                       description="Show the attempts of a run (default: the last) in start order with their "
                       "resource trace, and hints when more parallel jobs or fewer threads would help.")
    p.add_argument("workdir", help="the work directory of the reduction")
    p.add_argument("--run", type=int, default=None, metavar="ID", help="run id (default: the last run)")
    p.add_argument("--json", action="store_true", help="print the attempts and hints as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    import json
    from pathlib import Path

    from reflexng.engine.executors import trace
    from reflexng.provenance.store import DB_NAME, ProvenanceStore

    workdir = Path(args.workdir)
    if not (workdir / DB_NAME).is_file():
        return fail(f"{workdir}: no {DB_NAME} there, so it is not a reflexng work directory; give the --workdir "
                    "of a run")
    store = ProvenanceStore(workdir, lock=False)
    try:
        rows = trace.timeline(store, args.run)
    finally:
        store.close()
    if args.run is not None and not rows:
        return fail(f"{workdir}: run {args.run} has no executed job; `reflexng timeline {workdir}` shows the last run")
    hints = trace.hints(rows)
    if args.json:
        json.dump({"attempts": rows, "hints": hints}, sys.stdout, indent=1, default=str)
        print()
        return 0
    print("\n".join(trace.render(rows)))
    for h in hints:
        print(f"hint: {h}")
    return 0
