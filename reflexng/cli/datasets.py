"""`reflexng datasets` — the datasets of a reduction, one line each.

For every dataset: its label (object, setup, night: the name ``run --dataset`` and the
end-product folders use), its status (``complete``, ``incomplete``, and with a work directory
``reduced`` / ``failed`` from the last run), the calibration quality level (0 = from the
calibration plan; a higher level is flagged with what was taken from elsewhere) and, for an
incomplete dataset, what is missing in short. ``--json``:
``{datasets: [{label, id, status, complete, quality_level, not_from_plan, missing, jobs}]}``.

The helpers the dataset-level verbs share are in :mod:`reflexng.cli._reduction`.
"""

from __future__ import annotations

import sys
from typing import Any

from reflexng.cli._reduction import (  # noqa: F401 - recipe_params and target_of: also for `organise`
    add_reduction_args,
    labels_of,
    open_session,
    recipe_params,
    short_missing,
    target_of,
)


def quality(result, dataset) -> tuple[int, list[str]]:
    """(worst calibration quality level used, what was not from the calibration plan)."""
    worst = 0
    notes: list[str] = []
    for jid in dataset.jobs:
        job = result.jobs.get(jid)
        if job is None:
            continue
        for a in job.associated.values():
            for c in a.chosen:
                lvl = c.level or 0
                if lvl > worst:
                    worst = lvl
                if lvl > 0:
                    when = f", {abs(c.dt_days):.1f} d away" if c.dt_days is not None else ""
                    notes.append(f"{job.task}: {a.input} at level {lvl}{when}")
    return worst, list(dict.fromkeys(notes))


def dataset_rows(session) -> list[dict[str, Any]]:
    result = session.result
    labels = labels_of(session)
    store = session.store
    rows = []
    for ds in result.datasets:
        status = "complete" if ds.complete else "incomplete"
        if ds.complete:
            last = store.last_attempt(ds.target_job)
            if last is not None:
                status = {"done": "reduced", "failed": "failed"}.get(last.status, status)
        level, notes = quality(result, ds)
        rows.append({"label": labels.get(ds.id, ds.name), "id": ds.id, "status": status, "complete": ds.complete,
                     "quality_level": level, "not_from_plan": notes, "missing": list(ds.missing),
                     "missing_short": short_missing(ds.missing), "jobs": len(ds.jobs)})
    rows.sort(key=lambda r: r["label"])
    return rows


def register(sub) -> None:
    p = sub.add_parser("datasets", help="list the datasets: label, status, calibration quality, what is missing",
                       description="Organise the data for the target and list its datasets, one line each: "
                       "the label (object_setup_night, used by `run --dataset` and the end-product folders), "
                       "status, calibration quality level (flagged '!' when a calibration is not from the "
                       "calibration plan) and, in short, what an incomplete dataset misses.")
    add_reduction_args(p)
    p.add_argument("--verbose", "-v", action="store_true", help="say in full what is missing and not from the plan")
    p.add_argument("--json", action="store_true", help="print the datasets as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    import json

    session, code = open_session(args)
    if session is None:
        return code
    try:
        rows = dataset_rows(session)
    finally:
        session.close()
    if args.json:
        json.dump({"datasets": rows}, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    if not rows:
        print("no datasets (`reflexng organise` shows every file and why)")
        return 0
    width = max(len(r["label"]) for r in rows)
    print(f"{'DATASET':<{width}}  {'STATUS':<10}  QUALITY  MISSING")
    for r in rows:
        q = f"{r['quality_level']}{'!' if r['not_from_plan'] else ' '}"
        print(f"{r['label']:<{width}}  {r['status']:<10}  {q:<7}  {r['missing_short'] if not args.verbose else ''}")
        if args.verbose:
            for m in r["missing"]:
                print(f"    missing: {m}")
            for n in r["not_from_plan"]:
                print(f"    not from the calibration plan: {n}")
    flagged = sum(1 for r in rows if r["not_from_plan"])
    n_ok = sum(1 for r in rows if r["complete"])
    print(f"{len(rows)} datasets: {n_ok} complete, {len(rows) - n_ok} incomplete"
          + (f"; {flagged} use calibrations not from the calibration plan (!; --verbose says which)" if flagged else ""))
    return 0
