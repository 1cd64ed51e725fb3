"""`reflexng compare JOB --workdir W --attempt OLD [--with NEW]` — what changed between two
attempts of a job: parameters (old -> new) and product difference statistics."""

from __future__ import annotations

import sys

from reflexng.cli._common import fail


def register(sub) -> None:
    p = sub.add_parser("compare", help="compare two attempts of a job (parameters, product differences)",
                       description="Compare two attempts of one job in a work directory: the parameters "
                       "that changed (old -> new) and, per product category, new - old statistics.")
    p.add_argument("job", help="the job id (as in `reflexng run --json`)")
    p.add_argument("--workdir", required=True, help="the work directory of the runs")
    p.add_argument("--attempt", type=int, required=True, metavar="OLD", help="the older attempt number")
    p.add_argument("--with", dest="new", type=int, default=None, metavar="NEW",
                   help="the newer attempt number (default: the newest successful one)")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.set_defaults(func=_run)


def _run(args) -> int:
    import json
    from dataclasses import asdict
    from pathlib import Path

    from reflexng.engine.compare import compare_attempts
    from reflexng.provenance.store import DB_NAME, ProvenanceStore

    workdir = Path(args.workdir)
    if not (workdir / DB_NAME).is_file():
        return fail(f"--workdir {workdir}: no {DB_NAME} there, so it is not a reflexng work directory")
    store = ProvenanceStore(workdir, lock=False)
    try:
        cmp = compare_attempts(store, args.job, args.attempt, args.new)
    except ValueError as exc:
        return fail(str(exc))
    finally:
        store.close()
    if args.json:
        json.dump({"job": cmp.job_id, "old": cmp.old.attempt, "new": cmp.new.attempt, "parameters": cmp.parameters,
                   "products": [asdict(p) for p in cmp.products], "unmatched": cmp.unmatched},
                  sys.stdout, indent=1, default=str)
        print()
    else:
        print("\n".join(cmp.lines()))
    return 0
