"""What the reduction verbs share (``run``, ``datasets``, ``explain``, ``organise``): the
arguments that say which reduction, the recipe-parameter checks in the command line's words,
opening an organised Session, and choosing datasets by label."""

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


# the command-line flag of each Session option, for its errors ("--timeout -1: must be positive")
_FLAGS = {
    "max_jobs": "--jobs", "job_timeout": "--timeout", "end_product_pattern": "--end-product-pattern",
    "force": "--force", "recipe_parameters": "--param", "ordering": "--ordering",
    "failure_policy": "--failure-policy", "executor": "--executor", "scheduler": "--scheduler",
    "cluster": "--cluster", "cluster_config": "--cluster-config", "dask_workers": "--dask-workers",
    "start_timeout": "--start-timeout",
}


def check_recipe_params(cascade, params: dict[str, dict[str, str]]) -> str | None:
    """A message for the first ``--param TASK.NAME=VALUE`` the cascade's recipes refuse (the
    Session's own check, :func:`reflexng.engine.recipes.parameter_checker`), None when all are fine."""
    from reflexng.engine.recipes import parameter_checker
    from reflexng.engine.state import OptionError

    try:
        parameter_checker(cascade)(params)
    except OptionError as exc:
        return option_message(exc)
    return None


def option_message(exc) -> str:
    """A Session option error in the words of the command line."""
    option = getattr(exc, "option", "")
    flag = _FLAGS.get(option)
    if flag is None:
        return str(exc)
    # --jobs: the detail names the value itself
    return f"{flag} {exc.detail}" if option == "max_jobs" else f"{flag} {exc.value}: {exc.detail}"
