"""`reflexng explain` (and `reflexng run --dry-run`) — what a run would do, job by job, and why.

For every job of the chosen datasets (default: the complete ones) in run order: ``run`` with the
reason (never ran; parameter sigma 3 -> 4; input changed; upstream job will run first; ...) or
``reuse`` (unchanged), from the engine's smart re-run explanation (``Session.why_run``) — the
same words the run prints. Nothing is run and nothing is written but the scan cache.
``--json``: ``{jobs: [{id, task, dataset, action, why}], run, reuse}``.
Exit 0; 1 when there is nothing to run at all (no complete dataset); 2 for bad input.
"""

from __future__ import annotations

import sys

from reflexng.cli._common import fail
from reflexng.cli._reduction import add_reduction_args, choose_datasets, labels_of, open_session


def register(sub) -> None:
    p = sub.add_parser("explain", help="dry run: which jobs would run or be reused, and why",
                       description="Organise the data and say, for each job a run would consider, whether it "
                       "would run or reuse earlier products, and why. Nothing is run.")
    add_reduction_args(p)
    add_dataset_arg(p)
    p.add_argument("--force", action="append", default=[], metavar="TASK|all",
                   help="as for run: treat the task's jobs as forced")
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    p.set_defaults(func=run)


def add_dataset_arg(p) -> None:
    p.add_argument("--dataset", action="append", default=None, metavar="LABEL",
                   help="only this dataset (label, id or glob such as 'NGC*_V_*'; repeatable)")


def plan(session, dataset_patterns=None) -> tuple[list[dict], str | None]:
    """(one entry per job: id, task, dataset, action, why; error message or None)."""
    if dataset_patterns:
        ids, problem = choose_datasets(session, dataset_patterns)
        if problem:
            return [], problem
        session.select_datasets(ids)
    labels = labels_of(session)
    out: list[dict] = []
    seen: set[str] = set()
    for ds in session.datasets():
        for jid in ds.jobs:
            if jid in seen or jid not in session.result.jobs:
                continue
            seen.add(jid)
            why = session.why_run(jid)
            job = session.result.jobs[jid]
            action = "reuse" if why.startswith("unchanged") else ("incomplete" if why.startswith("incomplete")
                                                                  else "run")
            out.append({"id": jid, "task": job.task, "dataset": labels.get(ds.id, ds.name), "action": action,
                        "why": why})
    return out, None


def print_plan(entries: list[dict], as_json: bool) -> None:
    import json

    n_run = sum(1 for e in entries if e["action"] == "run")
    n_reuse = sum(1 for e in entries if e["action"] == "reuse")
    if as_json:
        json.dump({"jobs": entries, "run": n_run, "reuse": n_reuse}, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return
    current = None
    for e in entries:
        if e["dataset"] != current:
            current = e["dataset"]
            print(current)
        word = {"run": "would run", "reuse": "reuse    ", "incomplete": "cannot run"}[e["action"]]
        print(f"  {word}  {e['task']:<14} {e['id']}: {e['why']}")
    print(f"{len(entries)} jobs: {n_run} would run, {n_reuse} would be reused")


def run(args) -> int:
    session, code = open_session(args, force=args.force)
    if session is None:
        return code
    try:
        unknown = sorted(set(args.force) - set(session.cascade.tasks) - {"all"})
        if unknown:
            return fail(f"--force {', '.join(unknown)}: no such task; tasks: {', '.join(session.cascade.tasks)}")
        entries, problem = plan(session, args.dataset)
    finally:
        session.close()
    if problem:
        return fail(problem)
    print_plan(entries, args.json)
    if not entries:
        print("reflexng: nothing to run: no complete dataset (`reflexng datasets` says what is missing)",
              file=sys.stderr)
        return 1
    return 0
