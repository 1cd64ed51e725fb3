"""`reflexng run` — organise and reduce: run every job of the complete datasets.

Progress goes to stderr (a progress bar on a terminal), the summary to stdout (``--json``:
``{ok, jobs: [{id, task, dataset, status, attempt, products, seconds, reason}], end_products}``).
Exit 0 when every complete dataset succeeded, 1 if a job failed, 2 for usage or cascade errors.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from reflexng.cli import _executor_args as executor_args
from reflexng.cli._common import check_folders, fail, parse_key_values, say_interrupted
from reflexng.cli._reduction import (  # noqa: F401 - check_recipe_params: also for `organise`
    check_recipe_params,
    choose_datasets,
    labels_of,
    option_message,
    short_missing,
    target_of,
)
from reflexng.cli._reduction import recipe_params as parse_recipe_params


def register(sub) -> None:
    p = sub.add_parser("run", help="organise the data and run the reduction (smart re-runs)",
                       description="Organise the data folders for the target, then run every job of the "
                       "complete datasets in child processes. Unchanged jobs are reused.")
    p.add_argument("--cascade", required=True, help="cascade name, path of a cascade .py file, or an EDPS workflow folder")
    p.add_argument("--data", action="append", required=True, metavar="DIR", help="data folder (repeatable)")
    p.add_argument("--target", action="append", default=None, metavar="TASK",
                   help="target task or meta target (repeatable; default: the cascade's)")
    p.add_argument("--dataset", action="append", default=None, metavar="LABEL",
                   help="run only this dataset (label from `reflexng datasets`, id, or a glob such as "
                   "'DEMO_FIELD_A_*'; repeatable)")
    p.add_argument("--dry-run", action="store_true",
                   help="run nothing: say for each job whether it would run or be reused, and why "
                   "(as `reflexng explain`)")
    p.add_argument("--verbose", "-v", action="store_true",
                   help="print every job (also reused and skipped) and every incomplete dataset in full")
    p.add_argument("--workdir", default=None, help="work directory (default: under the user data folder)")
    p.add_argument("--param", action="append", metavar="TASK.NAME=VALUE", help="recipe parameter (repeatable)")
    p.add_argument("--workflow-param", action="append", metavar="NAME=VALUE", help="workflow parameter (repeatable)")
    p.add_argument("--parameter-set", default=None, help="named parameter set of the cascade")
    p.add_argument("--ordering", choices=["dfs", "bfs", "dynamic"], default="dfs",
                   help="dfs: dataset by dataset, depth first (default, as in the GUI and the Python API); "
                   "bfs: task level by level; dynamic: whatever is ready, in parallel (--jobs)")
    p.add_argument("--jobs", type=int, default=None, metavar="N", help="parallel jobs for dynamic (default: cores)")
    p.add_argument("--force", action="append", default=[], metavar="TASK|all",
                   help="run the task's jobs even when unchanged (repeatable; 'all' for every task)")
    p.add_argument("--timeout", type=float, default=None, metavar="S", help="per-job time limit in seconds")
    p.add_argument("--failure-policy", choices=["continue", "stop"], default="continue",
                   help="after a failed job: go on with other datasets (default) or stop")
    p.add_argument("--end-product-pattern", default=None, metavar="PATTERN",
                   help="end product names from header keywords, e.g. {OBJECT}_{PRO.CATG}.fits (default: "
                   "category and setup, e.g. source_catalog_V.fits, in end_products/<dataset label>/)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.add_argument("--placeholder-recipes", action="store_true",
                   help="run the whole job graph without the pipeline: every job writes header-only "
                        "placeholder products (marked in provenance, never exported)")
    executor_args.add_arguments(p)
    p.set_defaults(func=run)


def run_interruptible(session, progress=None):
    """Run ``session`` in its background thread; on Ctrl-C say so in one line, stop the running
    jobs (their child processes are terminated and their attempts recorded as cancelled) and wait
    for the run to end (``progress`` goes quiet). A second Ctrl-C kills at once (see
    :func:`reflexng.cli._common.install_interrupts`). Returns ``(RunSummary or None, interrupted)``."""
    finished = threading.Event()
    session.subscribe(lambda ev: finished.set() if ev.kind == "run_finished" else None)
    session.start()
    try:
        while not finished.wait(0.5):
            pass
        return session.wait(), False
    except KeyboardInterrupt:
        if progress is not None:
            progress.quiet = True
        say_interrupted(f"\nreflexng: interrupted; stopping the running jobs - {session.workdir} stays consistent "
                        "and `reflexng run` again re-runs them")
    session.stop()
    try:
        while not finished.wait(0.5):
            pass
    except KeyboardInterrupt:
        return None, True
    return session.wait(), True


def _explain_nothing_to_run(result, data: list[str]) -> None:
    """Say why there is no job: no files, none readable, or none classified for the target."""
    files = result.files
    where = ", ".join(data)
    if not files:
        why = f"no FITS files found in {where}"
    else:
        bad = [f for f in files if f.status != "ok"]
        unreadable = sum(1 for f in bad if f.status == "unreadable")
        why = (f"{len(files)} file(s) in {where}: {unreadable} unreadable, {len(bad) - unreadable} not "
               f"classified, none usable for target {result.target}")
        for f in bad[:5]:
            why += f"\n  {f.path}: {f.reason or f.status}"
    for note in result.notes:
        why += f"\n  {note}"
    why += "\ncheck --data and --target (`reflexng organise` shows every file and why)"
    print(f"reflexng: nothing to run: {why}", file=sys.stderr)


def _incomplete_lines(result, labels: dict[str, str], verbose: bool, limit: int = 4) -> list[str]:
    """Incomplete datasets in a few short lines (``verbose``: every one, in full)."""
    bad = [d for d in result.datasets if not d.complete]
    if not bad:
        return []
    if verbose:
        return [f"reflexng: dataset {labels.get(d.id, d.name)} is incomplete: {'; '.join(d.missing)}" for d in bad]
    out = [f"reflexng: {len(bad)} of {len(result.datasets)} datasets are incomplete and will not run:"]
    for d in bad[:limit]:
        out.append(f"  {labels.get(d.id, d.name)}: {short_missing(d.missing, 60)}")
    if len(bad) > limit:
        out.append(f"  ... and {len(bad) - limit} more (--verbose for all; `reflexng datasets` lists them)")
    return out


def run(args) -> int:
    import json

    from reflexng.cascade import CascadeError, load

    try:
        recipe_params = parse_recipe_params(args.param)
        workflow = parse_key_values(args.workflow_param, "--workflow-param")
    except ValueError as exc:
        return fail(str(exc))
    problem = check_folders(args.data, args.workdir)
    if problem:
        return fail(problem)
    try:
        cascade = load(args.cascade)
    except CascadeError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    from reflexng.cascade.validate import recipe_parameter_problems

    bad = recipe_parameter_problems(cascade, [args.parameter_set] if args.parameter_set else [])
    if bad:  # an unknown recipe parameter would silently do nothing: refuse, naming file:line
        print(str(bad[0]) + ("" if len(bad) == 1 else f" (and {len(bad) - 1} more: `reflexng cascade validate`)"),
              file=sys.stderr)
        return 2
    from reflexng.engine import OptionError, Session
    from reflexng.engine.export import DEFAULT_PATTERN
    from reflexng.provenance.store import WorkdirLockedError

    try:  # the Session checks every option (the same checks the GUI gets)
        executor, executor_options = executor_args.options(args)
        session = Session(cascade, args.data, target_of(args), workdir=args.workdir, parameter_set=args.parameter_set,
                          workflow_parameters=workflow, recipe_parameters=recipe_params, ordering=args.ordering,
                          max_jobs=args.jobs, failure_policy=args.failure_policy, force=args.force,
                          job_timeout=args.timeout,
                          end_product_pattern=DEFAULT_PATTERN if args.end_product_pattern is None
                          else args.end_product_pattern,
                          placeholder_recipes=args.placeholder_recipes,
                          executor=executor, executor_options=executor_options)
    except OptionError as exc:
        return fail(option_message(exc))
    except (WorkdirLockedError, ValueError) as exc:
        return fail(str(exc))
    problem = executor_args.prepare(session)
    if problem:
        session.close()
        return fail(problem)
    t0 = time.monotonic()
    from reflexng.cli._progress import RunProgress, stage

    progress = RunProgress(json_mode=args.json, verbose=args.verbose)
    try:
        try:
            with stage("organising the data", json_mode=args.json):
                result = session.organise()
        except CascadeError as exc:
            print(str(exc), file=sys.stderr)
            return 2
        except ValueError as exc:  # unknown target / workflow parameter / parameter set
            return fail(f"{cascade.path}: {exc}")
        labels = labels_of(session)
        if args.dataset:
            ids, problem = choose_datasets(session, args.dataset)
            if problem:
                return fail(problem)
            session.select_datasets(ids)
        if args.dry_run:
            from reflexng.cli.explain import plan, print_plan

            entries, _ = plan(session)
            print_plan(entries, args.json)
            return 0 if entries else 1
        for line in _incomplete_lines(result, labels, args.verbose):
            print(line, file=sys.stderr)
        if not result.jobs:
            _explain_nothing_to_run(result, args.data)
            return 1
        if not session.datasets():
            print("reflexng: nothing to run: no dataset is complete (`reflexng datasets` says what is missing)",
                  file=sys.stderr)
            return 1
        progress.labels = {jid: labels.get(ds.id, ds.name) for ds in result.datasets for jid in ds.jobs}
        session.subscribe(progress)
        summary, interrupted = run_interruptible(session, progress)
    finally:
        progress.close()
        session.close()
    if interrupted and not args.json:
        return 130  # the interrupt line said it all
    if summary is None:
        if interrupted:
            return 130
        if progress.error:
            return fail(f"the run in {session.workdir} stopped: {progress.error}", 1)
        return fail(f"the run in {session.workdir} ended without a summary (see the messages above)", 1)
    if args.json:
        json.dump(summary.to_json(), sys.stdout, indent=1, default=str)
        sys.stdout.write("\n")
    else:
        counts: dict[str, int] = {}
        for j in summary.jobs:
            counts[j["status"]] = counts.get(j["status"], 0) + 1
        print(f"{len(summary.jobs)} jobs in {time.monotonic() - t0:.1f} s"
              + (": " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) if counts else ""))
        failed = [j for j in summary.jobs if j["status"] == "failed"]
        for j in failed[:8]:
            print(f"  failed: {j['id']} ({j['task']}): {j['reason']}")
        if len(failed) > 8:
            print(f"  ... and {len(failed) - 8} more failed jobs (`reflexng status {session.workdir}`)")
        if progress.reran:
            print(f"re-ran {len(progress.reran)} job(s) because something changed:")
            for r in progress.reran[:5]:
                print(f"  {r}")
        exported = summary.exported
        if exported:
            new = sum(len(e["new"]) + len(e["updated"]) for e in exported)
            same = sum(len(e["unchanged"]) for e in exported)
            root = Path(session.workdir) / "end_products"
            print(f"end products ({new} written, {same} unchanged) in {root}:")
            for e in exported[:12]:
                names = ", ".join(Path(p).name for p in e["new"] + e["updated"] + e["unchanged"])
                state = "new" if e["new"] else ("new version" if e["updated"] else "unchanged")
                print(f"  {e['dataset']}/  {names}  ({state})")
            if len(exported) > 12:
                print(f"  ... and {len(exported) - 12} more datasets")
    if interrupted:
        return 130
    failed = any(j["status"] == "failed" for j in summary.jobs)
    return 1 if failed or summary.stopped else 0
