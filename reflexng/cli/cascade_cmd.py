"""`reflexng cascade list|show|validate|test|from-oca` — inspect and check cascades.

Exit codes: 0 success (warnings allowed), 2 a cascade error (each printed as
``path:line: message``) or a usage error.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

from reflexng.cli._common import fail


def register(sub) -> None:
    p = sub.add_parser("cascade", help="list, show and validate cascades")
    csub = p.add_subparsers(dest="cascade_cmd", metavar="COMMAND")

    pl = csub.add_parser("list", help="built-in and user cascades (name, instrument, description)")
    pl.add_argument("--json", action="store_true", help="print JSON")
    pl.set_defaults(func=cmd_list)

    ps = csub.add_parser("show", help="print a cascade (text, JSON or Graphviz DOT)")
    ps.add_argument("cascade", help="cascade name, path of a cascade .py file, or an EDPS workflow folder")
    ps.add_argument("--target", help="cut the cascade to what this task or meta target needs")
    ps.add_argument("--format", choices=["text", "json", "dot"], default="text")
    ps.set_defaults(func=cmd_show)

    pv = csub.add_parser("validate", help="check a cascade; exit 2 on errors")
    pv.add_argument("cascade", help="cascade name, path of a cascade .py file, or an EDPS workflow folder")
    pv.add_argument("--json", action="store_true", help="print the problems as JSON")
    pv.add_argument("--skip-recipes", action="store_true",
                    help="do not look recipe names up in the recipe registry (fast; no esorex)")
    pv.add_argument("--calib-dir", action="append", default=[], metavar="FOLDER",
                    help="a static calibration folder (searched for esorex recipes' static "
                         "inputs by ESO PRO CATG; repeatable; also $REFLEXNG_CALIB_PATH)")
    pv.set_defaults(func=cmd_validate)

    pt = csub.add_parser("test", help="run a cascade test scenario (JSON spec of header-only files)")
    pt.add_argument("spec", metavar="SPEC.json", type=Path, help="the scenario file")
    pt.add_argument("--verbose", action="store_true")
    pt.set_defaults(func=_dispatch("reflexng.organiser.spectest", "cascade test"))

    po = csub.add_parser("from-oca", help="translate a Reflex OCA rules file into a cascade")
    po.add_argument("file", metavar="FILE.oca", type=Path, help="the .oca file")
    po.add_argument("-o", "--output", type=Path, default=None, help="write the cascade here")
    po.add_argument("--force", action="store_true", help="replace the --output file if it exists")
    po.set_defaults(func=_dispatch("reflexng.oca.cli", "cascade from-oca"))

    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _dispatch(module: str, verb: str):
    """A handler that imports ``module`` on use and calls its ``run_cli(args)``."""

    def handler(args) -> int:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name and module.startswith(exc.name):
                return fail(f"{verb}: not built yet ({module} is missing)")
            raise
        return int(mod.run_cli(args) or 0)

    return handler


# --------------------------------------------------------------------------- list


def cascade_folders() -> list[tuple[str, Path]]:
    """(origin, folder) pairs searched by ``cascade list``: user folders first, then built-in."""
    from reflexng.cascade.loader import builtin_cascade_dir, user_cascade_dirs

    return [("user", d) for d in user_cascade_dirs()] + [("built-in", builtin_cascade_dir())]


def list_cascades() -> list[dict]:
    """One entry per cascade file: name, instrument, description, origin, path, error, errors."""
    from reflexng.cascade import CascadeError, load
    from reflexng.cascade.edps import configured_workflow_dirs, esorex_workflow_dirs, workflows_in

    out = []
    seen: set[Path] = set()
    folders = [*cascade_folders(), *(("esorex", d) for d in esorex_workflow_dirs()),
               *(("workflows", d) for d in configured_workflow_dirs())]
    for origin, folder in folders:
        if not folder.is_dir():
            continue
        # EDPS workflow packages (<inst>/<inst>_wkf.py), here or one or two levels down
        files = [w for w in workflows_in(folder) if w.resolve() not in seen]
        # plain cascade files, except inside a workflow package (its helper modules)
        if not any(folder.glob("*_wkf.py")):
            files += [f for f in sorted(folder.glob("*.py")) if not f.name.endswith("_wkf.py")]
        for f in files:
            if f.name.startswith("_") or f.resolve() in seen:
                continue
            seen.add(f.resolve())
            entry = {"name": f.stem, "instrument": "", "description": "", "origin": origin,
                     "path": str(f), "error": None, "errors": 0}
            try:
                c = load(f, validate=False)
                entry.update(name=c.name, instrument=c.instrument, description=c.description)
                entry["errors"] = sum(p.severity == "error" for p in c.validate(check_recipes=False))
            except CascadeError as exc:
                entry["error"] = str(exc)
            except Exception as exc:  # a broken file is listed, never a crash
                entry["error"] = f"{f}:0: {type(exc).__name__}: {exc}"
            out.append(entry)
    return out


def cmd_list(args) -> int:
    entries = list_cascades()
    if args.json:
        print(json.dumps(entries, indent=2))
        return 0
    if not entries:
        print("no cascades found")
        return 0
    wn = max(len(e["name"]) for e in entries)
    wi = max([len(e["instrument"]) for e in entries] + [len("INSTRUMENT")])
    print(f"{'NAME':<{wn}}  {'INSTRUMENT':<{wi}}  {'ORIGIN':<8}  DESCRIPTION")
    for e in entries:
        if e["error"]:
            text = "BROKEN: " + e["error"].splitlines()[0]
        else:
            text = e["description"] + (f"  [{e['errors']} validation error(s)]" if e["errors"] else "")
        print(f"{e['name']:<{wn}}  {e['instrument']:<{wi}}  {e['origin']:<8}  {text}")
    return 0


# --------------------------------------------------------------------------- show


def _load(name: str, validate: bool = True):
    from reflexng.cascade import CascadeError, load

    try:
        return load(name, validate=validate), None
    except CascadeError as exc:
        return None, str(exc)


def cmd_show(args) -> int:
    from reflexng.cascade import CascadeError

    cascade, error = _load(args.cascade)
    if cascade is None:
        print(error, file=sys.stderr)
        return 2
    if args.target:
        try:
            cascade = cascade.for_target(args.target)
        except CascadeError as exc:
            return fail(exc.message)
    if args.format == "json":
        from reflexng.cascade.export import to_json

        print(to_json(cascade))
    elif args.format == "dot":
        from reflexng.cascade.export import to_dot

        sys.stdout.write(to_dot(cascade))
    else:
        print(describe(cascade))
    return 0


def _kw(k) -> str:
    name = getattr(k, "name", None)
    return f"<workflow parameter {name}>" if name and not isinstance(k, str) else str(k)


def describe(cascade) -> str:
    """The text form of ``cascade show``."""
    from reflexng.organiser.rule_words import input_lines

    roles = {n: d.get("role") for n, d in cascade.graph.nodes(data=True)}
    lines = [f"cascade {cascade.name}" + (f"  ({cascade.instrument})" if cascade.instrument else "")]
    if cascade.description:
        lines.append(f"  {cascade.description}")
    lines.append(f"  file: {cascade.path}")
    if cascade.targets:
        lines.append("  target: " + ", ".join(cascade.targets))
    else:
        lines.append("  default target: " + ", ".join(cascade.default_target))
    if cascade.meta_targets:
        lines.append("  meta targets: " + "; ".join(f"{m}: {', '.join(t)}" for m, t in cascade.meta_targets.items()))
    if cascade.workflow_parameters:
        lines.append("workflow parameters:")
        for p in cascade.workflow_parameters.values():
            ch = f" (choices: {', '.join(map(str, p.choices))})" if p.choices else ""
            lines.append(f"  {p.name} = {p.default!r}{ch}" + (f"  - {p.description}" if p.description else ""))
    if cascade.parameter_sets:
        lines.append("parameter sets:")
        for s in cascade.parameter_sets.values():
            lines.append(f"  {s.name}" + (f"  - {s.description}" if s.description else ""))
    lines.append("data sources:")
    for d in cascade.data_sources.values():
        lines.append(f"  {d.name}  [{', '.join(d.categories) or 'no classification rule'}]")
        if d.grouping_keywords:
            lines.append("      grouped by: " + ", ".join(map(_kw, d.grouping_keywords)))
        for m in d.match_rules:
            how = ", ".join(m.keywords) if m.keywords else getattr(m.function, "__name__", "a function")
            lines.append(f"      match (level {m.level}): {how or 'any file'}; {m.time_range.describe()}")
    lines.append("tasks:")
    for t in cascade.tasks.values():
        extra = []
        if t.subworkflow:
            extra.append(f"subworkflow {t.subworkflow}")
        if t.meta_targets:
            extra.append("meta " + ",".join(t.meta_targets))
        if t.condition is not None:
            extra.append("conditional")
        lines.append(f"  {t.name}  ({roles.get(t.name)}; recipe {t.recipe_name or '-'})"
                     + (f"  [{'; '.join(extra)}]" if extra else ""))
        main, words = input_lines(cascade, t)  # the rules in words, as the GUI's task pane shows them
        lines.append(f"      main input: {main or '-'}")
        for a, rule_words in zip(t.associated_inputs, words):
            if a.alternatives:  # EDPS alternative_associated_inputs
                sort = f" (sorted by {', '.join(a.sort_keys)})" if a.sort_keys else ""
                alts = " | ".join(x.name + (f" [{', '.join(x.categories)}]" if x.categories else "")
                                  for x in a.alternatives)
                lines.append(f"      alternatives{sort}: {alts}")
                continue
            n = f"{a.min_ret}..{a.max_ret if a.max_ret < 10**9 else 'any'}"
            cond = ", conditional" if a.condition is not None else ""
            cats = f" [{', '.join(a.categories)}]" if a.categories else ""
            lines.append(f"      associated: {a.name}{cats} ({n}{cond})")
            lines.append(f"          {rule_words}")
        for name, kind in getattr(t, "reports", ()):
            lines.append(f"      report {name} ({kind})")
    return "\n".join(lines)


# --------------------------------------------------------------------------- validate


def cmd_validate(args) -> int:
    cascade, error = _load(args.cascade, validate=False)
    if cascade is None:  # the file could not even be loaded: that is the (only) error
        if args.json:
            print(json.dumps({"valid": False, "problems": [{"severity": "error", "text": error}]}, indent=2))
        else:
            print(error)
        return 2
    from reflexng.recipes.registry import known_recipes

    problems = cascade.validate(check_recipes=not args.skip_recipes,
                                recipe_lookup=lambda esorex: known_recipes(include_esorex=esorex))
    if not args.skip_recipes and any(t.recipe and t.recipe.startswith("esorex:")
                                     for t in cascade.tasks.values()):
        from reflexng.recipes.esorex_completeness import problems as completeness

        problems = problems + completeness(cascade, getattr(args, "calib_dir", []))
    errors = [p for p in problems if p.severity == "error"]
    if args.json:
        print(json.dumps({
            "valid": not errors,
            "problems": [
                {"severity": p.severity, "path": p.location.path, "line": p.location.line,
                 "message": p.message, "text": str(p)}
                for p in problems
            ],
        }, indent=2))
    else:
        for p in problems:
            print(p)
        warnings = len(problems) - len(errors)
        verdict = "valid" if not errors else f"{len(errors)} error(s)"
        print(f"{cascade.path}: {verdict}" + (f", {warnings} warning(s)" if warnings else ""))
    return 2 if errors else 0
