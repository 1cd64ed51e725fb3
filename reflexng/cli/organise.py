"""`reflexng organise` — scan data folders, classify the files, build jobs and datasets.

Exit 0 even when files are bad or datasets incomplete (that is reported, not an error);
2 for usage or cascade errors (cascade errors as ``path:line: message``).
"""

from __future__ import annotations

import sys

from reflexng.cli._common import check_folders, fail, parse_key_values


def register(sub) -> None:
    p = sub.add_parser(
        "organise",
        help="classify data files and build datasets and jobs for a target",
        description="Scan data folders (recursively), classify every file with the cascade's "
        "rules, associate calibrations and report datasets: complete ones, and for incomplete "
        "ones what is missing, in words.",
    )
    p.add_argument("--cascade", required=True, help="cascade name or path of a cascade .py file")
    p.add_argument("--data", action="append", required=True, metavar="DIR",
                   help="data folder (repeat for several)")
    p.add_argument("--target", action="append", default=None, metavar="TASK",
                   help="target task or meta target (repeatable; default: the cascade's)")
    p.add_argument("--workflow-param", action="append", metavar="NAME=VALUE",
                   help="workflow parameter (repeatable)")
    p.add_argument("--param", action="append", metavar="TASK.NAME=VALUE",
                   help="recipe parameter (repeatable; as for run)")
    p.add_argument("--parameter-set", default=None, help="named parameter set of the cascade")
    p.add_argument("--workdir", default=None,
                   help="work directory; the scan cache lives in <workdir>/reflexng.sqlite")
    p.add_argument("--prefer", choices=["raw", "processed"], default="raw",
                   help="for calibrations: raw data (default) or processed calibrations first")
    p.add_argument("--json", action="store_true", help="print the result as JSON (see docs/organiser-json.md)")
    p.set_defaults(func=run)


def run(args) -> int:
    from reflexng.cascade import CascadeError, load

    try:
        params = parse_key_values(args.workflow_param, "--workflow-param")
        from reflexng.cli.datasets import recipe_params

        rparams = recipe_params(args.param)
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
    from reflexng.cli.run import check_recipe_params

    problem = check_recipe_params(cascade, rparams)
    if problem:
        return fail(problem)
    from reflexng.cli._progress import stage
    from reflexng.cli.datasets import target_of
    from reflexng.organiser import organise

    try:
        with stage("scanning and organising", json_mode=args.json) as update:
            result = organise(
                cascade, args.data, target_of(args), workflow_parameters=params, progress=update,
                parameter_set=args.parameter_set, recipe_parameters=rparams, workdir=args.workdir, prefer=args.prefer,
                build_graph=False,
            )
    except CascadeError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except ValueError as exc:  # unknown target / parameter / parameter set
        return fail(f"{cascade.path}: {exc}")
    if args.json:
        import json

        from reflexng.organiser.report import to_json

        json.dump(to_json(result), sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        from reflexng.organiser.report import summary_lines

        sys.stdout.write("\n".join(summary_lines(result)) + "\n")
    return 0
