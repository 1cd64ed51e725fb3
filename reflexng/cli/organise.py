"""`reflexng organise` — scan data folders, classify the files, build jobs and datasets.

Exit 0 even when files are bad or datasets incomplete (that is reported, not an error);
2 for usage or cascade errors (cascade errors as ``path:line: message``).
"""

from __future__ import annotations

import os
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
    p.add_argument("--cascade", required=True, help="cascade name, path of a cascade .py file, or an EDPS workflow folder")
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
    try:
        params = parse_key_values(args.workflow_param, "--workflow-param")
        from reflexng.cli.datasets import recipe_params

        rparams = recipe_params(args.param)
    except ValueError as exc:
        return fail(str(exc))
    problem = check_folders(args.data, args.workdir)
    if problem:
        return fail(problem)
    # the stored text is the bytes written; a summary (paths) depends on the terminal's encoding
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    errors = getattr(sys.stdout, "errors", None) or "strict"
    kind = "json" if args.json else f"summary:{encoding}:{errors}"
    if args.workdir is not None and getattr(args, "own_process", False):
        from reflexng.organiser.store import db_path, walk_ahead

        # nothing stored yet: the folders are walked while the cascade is loaded (with a
        # store, the walk is needed at once, to look the request up: walked here, then, as
        # moving a large walk's listings from a child costs more than it overlaps)
        if not os.path.exists(db_path(args.workdir)):
            walk_ahead(args.data)
    try:
        return _run(args, params, rparams, encoding, errors, kind)
    finally:
        if args.workdir is not None:
            from reflexng.organiser.store import drop_walks

            drop_walks()


def _run(args, params, rparams, encoding: str, errors: str, kind: str) -> int:
    if args.workdir is not None:
        # an unchanged request on unchanged files: the stored output, without even loading
        # the cascade (reflexng.organiser.store checks cascade contents, code and files)
        from reflexng.cli.datasets import target_of
        from reflexng.organiser.store import stored_output

        # the same request as the organise() call below (the key covers all of it)
        text = stored_output(args.cascade, args.data, args.workdir, kind, target=target_of(args),
                             workflow_parameters=params, parameter_set=args.parameter_set,
                             recipe_parameters=rparams, prefer=args.prefer)
        if text is not None:
            import zlib

            sys.stdout.flush()
            try:
                for piece in text:  # as it is inflated
                    sys.stdout.buffer.write(piece)
            except zlib.error as exc:
                return fail(f"the stored output in {args.workdir} is damaged ({exc}); organise with "
                            "another --workdir, or delete its reflexng.sqlite")
            sys.stdout.buffer.flush()
            return 0
    from reflexng.cascade import CascadeError, load

    validated = False
    if args.workdir is not None:
        from reflexng.organiser.store import locate_cascade, was_validated

        where = locate_cascade(args.cascade)
        validated = where is not None and was_validated(args.workdir, where)
    before = set(sys.modules)
    try:
        cascade = load(args.cascade, validate=False)
        # what the cascade imported (not what validating it imports)
        deps = set(sys.modules) - before
        if not validated:  # a cascade whose contents validated clean before is not again
            from reflexng.cascade.errors import CascadeValidationError
            from reflexng.cascade.validate import validate

            bad = [p for p in validate(cascade, check_recipes=False) if p.severity == "error"]
            if bad:
                raise CascadeValidationError(bad)
    except CascadeError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if rparams:  # (the check imports the engine's recipe registry: only when there is a --param)
        from reflexng.cli.run import check_recipe_params

        problem = check_recipe_params(cascade, rparams)
        if problem:
            return fail(problem)
    from reflexng.cli._progress import stage
    from reflexng.cli.datasets import target_of
    from reflexng.organiser import organise
    from reflexng.organiser.store import module_files, register_dependencies

    deps = module_files(deps)
    register_dependencies(cascade.path, deps)
    try:
        with stage("scanning and organising", json_mode=args.json) as update:
            result = organise(
                cascade, args.data, target_of(args), workflow_parameters=params, progress=update,
                parameter_set=args.parameter_set, recipe_parameters=rparams, workdir=args.workdir, prefer=args.prefer,
                build_graph=False, store_later=True,  # stored once written out (attach_output)
            )
    except CascadeError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except ValueError as exc:  # unknown target / parameter / parameter set
        return fail(f"{cascade.path}: {exc}")
    from reflexng.organiser.store import OutputPacker

    kept = OutputPacker(encoding, errors)  # compressed as it goes: stored for the next unchanged request
    out = sys.stdout

    def write(piece: str) -> None:
        out.write(piece)
        kept.add(piece)

    if args.json:
        from reflexng.organiser.report import write_json

        write_json(result, write)  # streamed: the same text as json.dump(..., indent=1)
    else:
        from reflexng.organiser.report import summary_lines

        write("\n".join(summary_lines(result)) + "\n")
    out.flush()
    if args.workdir is not None:
        import sqlite3

        from reflexng.organiser.incremental import attach_output
        from reflexng.organiser.store import mark_validated, remember_dependencies

        try:  # a read-only or full work directory: organised, nothing kept
            attach_output(result, kind, kept.blob())
            if not validated:
                mark_validated(args.workdir, cascade.path)
            # what the cascade imported (its helper modules, wherever they are): the next
            # unchanged request checks them before writing the stored output
            remember_dependencies(args.workdir, cascade.path, deps)
        except (sqlite3.Error, OSError):
            pass
    return 0
