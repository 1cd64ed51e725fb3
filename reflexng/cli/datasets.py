"""`reflexng datasets` — the datasets of a reduction, one line each.

For every dataset: its label (object, setup, night: the name ``run --dataset`` and the
end-product folders use), its status (``complete``, ``incomplete``, and with a work directory
``reduced`` / ``failed`` from the last run), the calibration quality level (0 = from the
calibration plan; a higher level is flagged with what was taken from elsewhere) and, for an
incomplete dataset, what is missing in short. ``--json``:
``{datasets: [{label, id, status, complete, quality_level, not_from_plan, missing, jobs}]}``.

Also the helpers the other dataset-level verbs share (``run --dataset``, ``explain``):
:func:`add_reduction_args`, :func:`open_session`, :func:`choose_datasets`.
"""

from __future__ import annotations

import sys
from typing import Any

from reflexng.cli._common import check_folders, fail, parse_key_values

ORDERING_HELP = ("dfs: dataset by dataset, depth first (default, as in the GUI and the Python API); "
                 "bfs: task level by level; dynamic: whatever is ready, in parallel")


def add_reduction_args(p, *, workdir_required: bool = False) -> None:
    """The arguments that say which reduction: cascade, data, target(s), parameters, work directory."""
    p.add_argument("--cascade", required=True, help="cascade name or path of a cascade .py file")
    p.add_argument("--data", action="append", required=True, metavar="DIR", help="data folder (repeatable)")
    p.add_argument("--target", action="append", default=None, metavar="TASK",
                   help="target task or meta target (repeatable; default: the cascade's)")
    p.add_argument("--workdir", default=None, required=workdir_required,
                   help="work directory (default: under the user data folder)")
    p.add_argument("--param", action="append", metavar="TASK.NAME=VALUE", help="recipe parameter (repeatable)")
    p.add_argument("--workflow-param", action="append", metavar="NAME=VALUE", help="workflow parameter (repeatable)")
    p.add_argument("--parameter-set", default=None, help="named parameter set of the cascade")


def recipe_params(items: list[str] | None) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for key, value in parse_key_values(items, "--param").items():
        if "." not in key:
            raise ValueError(f"--param {key}={value}: expected TASK.NAME=VALUE (a workflow parameter is "
                             "--workflow-param NAME=VALUE)")
        task, name = key.split(".", 1)
        out.setdefault(task, {})[name] = value
    return out


def target_of(args) -> Any:
    t = getattr(args, "target", None)
    if not t:
        return None
    return t[0] if len(t) == 1 else list(t)


def open_session(args, **session_kwargs):
    """(Session, None) organised for the arguments, or (None, exit code) after one clear line."""
    from reflexng.cascade import CascadeError, load

    try:
        rparams = recipe_params(args.param)
        workflow = parse_key_values(args.workflow_param, "--workflow-param")
    except ValueError as exc:
        return None, fail(str(exc))
    problem = check_folders(args.data, args.workdir)
    if problem:
        return None, fail(problem)
    try:
        cascade = load(args.cascade)
    except CascadeError as exc:
        print(str(exc), file=sys.stderr)
        return None, 2
    from reflexng.cli.run import check_recipe_params

    problem = check_recipe_params(cascade, rparams)
    if problem:
        return None, fail(problem)
    from reflexng.cascade.validate import recipe_parameter_problems

    bad = recipe_parameter_problems(cascade, [args.parameter_set] if args.parameter_set else [])
    if bad:  # an unknown recipe parameter would silently do nothing: refuse, naming file:line
        print(str(bad[0]) + ("" if len(bad) == 1 else f" (and {len(bad) - 1} more: `reflexng cascade validate`)"),
              file=sys.stderr)
        return None, 2
    from reflexng.engine import Session
    from reflexng.provenance.store import WorkdirLockedError

    try:
        session = Session(cascade, args.data, target_of(args), workdir=args.workdir,
                          parameter_set=args.parameter_set, workflow_parameters=workflow,
                          recipe_parameters=rparams, **session_kwargs)
    except (WorkdirLockedError, ValueError) as exc:
        return None, fail(str(exc))
    try:
        session.organise()
    except CascadeError as exc:
        session.close()
        print(str(exc), file=sys.stderr)
        return None, 2
    except ValueError as exc:
        session.close()
        return None, fail(f"{cascade.path}: {exc}")
    return session, None


def labels_of(session) -> dict[str, str]:
    from reflexng.organiser.labels import dataset_labels

    return dataset_labels(session.result, session.cascade)


def choose_datasets(session, patterns: list[str]) -> tuple[list[str] | None, str | None]:
    """(dataset ids matching the label globs, None) or (None, message naming what did not match)."""
    from reflexng.organiser.labels import match

    labels = labels_of(session)
    chosen, unmatched = match(labels, patterns)
    if unmatched:
        some = ", ".join(sorted(labels.values())[:8]) or "none"
        return None, (f"--dataset {unmatched[0]}: no dataset of {session.cascade.path} with this label "
                      f"(datasets: {some}{', ...' if len(labels) > 8 else ''}); `reflexng datasets` lists them")
    return chosen, None


def short_missing(missing, width: int = 70) -> str:
    """Missing inputs in a few words: ``task: input`` of each, then the first reason, cut short."""
    import re

    what: list[str] = []
    first = ""
    for m in missing:
        mm = re.match(r"\s*([\w.-]+): ([\w.-]+): (.*)", str(m))
        if mm:
            item = f"{mm.group(1)}:{mm.group(2)}"
            first = first or mm.group(3)
        else:
            item = str(m).split(";")[0].strip()
        if item not in what:
            what.append(item)
    text = ", ".join(what[:4]) + (f" +{len(what) - 4}" if len(what) > 4 else "")
    if first:
        text += f" ({first})"
    return text if len(text) <= width else text[:width - 1] + "…"


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
