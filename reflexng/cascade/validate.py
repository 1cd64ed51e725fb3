"""Validation of a cascade: every problem points at the builder call that caused it.

Errors: duplicate names, unknown inputs, a task without a main input or without a recipe
or function, cycles, a meta target named like a task, misused workflow parameters, bad
parameter sets, an unknown default target. Warnings: unknown recipe names (checked with the
recipe lookup given to :func:`validate`, else the one registered with
:func:`register_recipe_lookup` — ``reflexng.recipes.registry`` registers itself when imported;
the cascade layer never imports the recipes layer), a data source without a classification rule
used as main input, an unused data source.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reflexng.cascade.errors import Problem
from reflexng.cascade.model import SourceLocation, WorkflowParameter

if TYPE_CHECKING:  # pragma: no cover
    from reflexng.cascade.builders import Collector
    from reflexng.cascade.cascade import Cascade

WARNING = "warning"


def collector_problems(collector: Collector) -> list[Problem]:
    """Duplicate names among what a cascade file built (the loader keeps only the last one)."""
    problems: list[Problem] = []
    first: dict[str, tuple[str, SourceLocation]] = {}
    for obj in [*collector.data_sources, *collector.tasks]:
        what = "data source" if obj.kind == "data_source" else "task"
        if obj.name in first:
            other_what, other_loc = first[obj.name]
            same = "another " + what if other_what == what else f"a {other_what}"
            problems.append(
                Problem(f"duplicate name {obj.name!r}: {same} of that name is defined at {other_loc}", obj.location)
            )
        else:
            first[obj.name] = (what, obj.location)
    seen: dict[str, SourceLocation] = {}
    for wp in collector.workflow_parameters:
        if wp.name in seen:
            problems.append(
                Problem(f"duplicate workflow parameter {wp.name!r}: already defined at {seen[wp.name]}", wp.location)
            )
        else:
            seen[wp.name] = wp.location
    return problems


RecipeLookup = Callable[[bool], Any]  # include_esorex -> recipe names (a dict name -> version, or names)
_recipe_lookup: RecipeLookup | None = None
_recipe_getter: Callable[[str], Any] | None = None  # name -> recipe (for its parameter names)


def register_recipe_lookup(lookup: RecipeLookup | None,
                           getter: Callable[[str], Any] | None = None) -> RecipeLookup | None:
    """Set the default recipe lookup of :func:`validate` and the recipe getter of
    :func:`recipe_parameter_problems` (None: none); returns the previous lookup."""
    global _recipe_lookup, _recipe_getter
    previous, _recipe_lookup, _recipe_getter = _recipe_lookup, lookup, getter
    return previous


def validate(cascade: Cascade, *, check_recipes: bool = True,
             recipe_lookup: RecipeLookup | None = None) -> list[Problem]:
    """All problems of ``cascade`` (errors first, then warnings, each in file order).
    ``recipe_lookup(include_esorex)`` gives the known recipe names (default: the registered one)."""
    problems: list[Problem] = list(cascade.load_problems)
    problems += _inputs(cascade)
    problems += _tasks(cascade)
    problems += _cycles(cascade)
    problems += _meta_targets(cascade)
    problems += _workflow_parameters(cascade)
    problems += _parameter_sets(cascade)
    problems += _default_target(cascade)
    if check_recipes:
        problems += _recipes(cascade, recipe_lookup or _recipe_lookup)
        problems += recipe_parameter_problems(cascade)
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity != "error"]
    return _dedupe(errors) + _dedupe(warnings)


def _dedupe(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def _loc(cascade: Cascade) -> SourceLocation:
    return cascade.info.location if cascade.info.location.line else SourceLocation(cascade.path, 1)


# --------------------------------------------------------------------------- inputs


def _inputs(cascade: Cascade) -> list[Problem]:
    out: list[Problem] = []
    used: set[str] = set()
    for t in cascade.tasks.values():
        refs = []
        if t.main_input is not None:
            refs.append(("main input", t.main_input, t.call_locations.get("with_main_input", t.location)))
        refs += [("associated input", a.source, a.location) for a in t.all_associated_inputs()]
        for what, ref, loc in refs:
            used.add(ref.name)
            pool = cascade.data_sources if ref.kind == "data_source" else cascade.tasks
            if ref.name not in pool:
                kind, call = ("data source", "data_source") if ref.kind == "data_source" else ("task", "task")
                out.append(
                    Problem(
                        f"task {t.name!r}: {what} {ref.name!r} is not a {kind} of this cascade "
                        f"(build it in the cascade file with {call}({ref.name!r})...build())",
                        loc,
                    )
                )
        if t.main_input is not None and t.main_input.kind == "data_source":
            ds = cascade.data_sources.get(t.main_input.name)
            if ds is not None and not ds.classification_rules:
                out.append(
                    Problem(
                        f"data source {ds.name!r} has no classification rule but is the main input of "
                        f"task {t.name!r}: no file will be recognised for it",
                        ds.location,
                        WARNING,
                    )
                )
    for ds in cascade.data_sources.values():
        if ds.name not in used:
            out.append(Problem(f"data source {ds.name!r} is not used by any task", ds.location, WARNING))
    return out


def _tasks(cascade: Cascade) -> list[Problem]:
    out: list[Problem] = []
    if not cascade.tasks and not cascade.targets:
        out.append(Problem("the cascade defines no task (build at least one with task(...)...build())",
                           _loc(cascade)))
    for t in cascade.tasks.values():
        if t.grouping_keywords and t.main_input is not None and t.main_input.kind == "data_source":
            out.append(
                Problem(
                    f"task {t.name!r}: grouping keywords of a task apply only when its main input is "
                    f"a task; group the files of {t.main_input.name!r} with "
                    "data_source(...).with_grouping_keywords([...])",
                    t.call_locations.get("with_grouping_keywords", t.location),
                    WARNING,
                )
            )
        if t.main_input is None:
            out.append(Problem(f"task {t.name!r} has no main input (add .with_main_input(...))", t.location))
        if not t.recipe and t.function is None:
            out.append(
                Problem(
                    f"task {t.name!r} has neither a recipe nor a function "
                    "(add .with_recipe(name) or .with_function(fn))",
                    t.location,
                )
            )
    return out


def _cycles(cascade: Cascade) -> list[Problem]:
    """One problem per group of tasks that feed each other (a strongly connected component),
    naming a cycle through the task that closes it (the last in file order) and pointing at
    that task's input call. The standard library's ``graphlib`` finds the cycles (networkx
    is not needed to load or organise a cascade)."""
    from graphlib import CycleError, TopologicalSorter

    preds: dict[str, set[str]] = {}
    succ: dict[str, set[str]] = {}
    for t in cascade.tasks.values():
        sources = [t.main_input.name] if t.main_input is not None else []
        sources += [a.source.name for a in t.all_associated_inputs()]
        preds.setdefault(t.name, set()).update(sources)
        for s in sources:
            succ.setdefault(s, set()).add(t.name)
    out: list[Problem] = []
    while True:
        try:
            TopologicalSorter(preds).prepare()
            return out
        except CycleError as exc:
            found: list[str] = exc.args[1]  # in data-flow order, the first node repeated at the end
        comp = _reach(found[0], succ) & _reach(found[0], preds)
        members = [cascade.tasks[n] for n in cascade.tasks if n in comp]
        last = max(members, key=lambda t: (t.location.path, t.location.line))
        cycle = found[:-1] if last.name in found else _cycle_through(last.name, succ, comp)
        i = cycle.index(last.name)
        names = [last.name, *cycle[i + 1:], *cycle[:i + 1]]
        out.append(Problem("cycle in the cascade: " + " -> ".join(names), _input_location(last, names[-2])))
        for n in comp:  # the rest of the graph may hold other cycles
            del preds[n]


def _reach(start: str, edges: dict[str, set[str]]) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for m in edges.get(todo.pop(), ()):
            if m not in seen:
                seen.add(m)
                todo.append(m)
    return seen


def _cycle_through(node: str, succ: dict[str, set[str]], comp: set[str]) -> list[str]:
    """A shortest cycle from ``node`` back to it inside ``comp`` (breadth first)."""
    parent: dict[str, str] = {}
    level = [node]
    while level:
        nxt = []
        for u in level:
            for v in sorted(succ.get(u, ())):
                if v == node:
                    path = [u]
                    while path[-1] != node:
                        path.append(parent[path[-1]])
                    return path[::-1]
                if v in comp and v not in parent:
                    parent[v] = u
                    nxt.append(v)
        level = nxt
    raise AssertionError(f"{node!r} is in no cycle")  # pragma: no cover - comp is strongly connected


def _input_location(task, source: str) -> SourceLocation:
    if task.main_input is not None and task.main_input.name == source:
        return task.call_locations.get("with_main_input", task.location)
    for a in task.all_associated_inputs():
        if a.source.name == source:
            return a.location
    return task.location


def _meta_targets(cascade: Cascade) -> list[Problem]:
    out: list[Problem] = []
    for t in cascade.tasks.values():
        for m in t.meta_targets:
            if m in cascade.tasks or m in cascade.data_sources:
                out.append(
                    Problem(
                        f"task {t.name!r}: meta target {m!r} has the name of a "
                        f"{'task' if m in cascade.tasks else 'data source'}; choose another name",
                        t.call_locations.get("with_meta_targets", t.location),
                    )
                )
    return out


def _default_target(cascade: Cascade) -> list[Problem]:
    dt = cascade.info.default_target
    if not dt or cascade.targets:
        return []
    metas = {m for t in cascade.tasks.values() for m in t.meta_targets}
    if dt in cascade.tasks or dt in metas:
        return []
    return [Problem(f"default target {dt!r} is neither a task nor a meta target", _loc(cascade))]


# --------------------------------------------------------------------------- workflow parameters


def _workflow_parameters(cascade: Cascade) -> list[Problem]:
    out: list[Problem] = []
    declared = cascade.workflow_parameters

    def check(value: Any, where: str, loc: SourceLocation) -> None:
        if isinstance(value, WorkflowParameter):
            if value.name not in declared:
                out.append(
                    Problem(f"{where}: workflow parameter {value.name!r} is not declared in this cascade", loc)
                )
        elif isinstance(value, (list, tuple)):
            for v in value:
                check(v, where, loc)

    def check_condition(cond: Any, where: str, loc: SourceLocation) -> None:
        if cond is None:
            return
        if not callable(cond):
            out.append(Problem(f"{where}: condition must be a function, got {cond!r}", loc))
            return
        name = getattr(cond, "workflow_parameter", None)
        if name is None:
            return
        p = declared.get(name)
        if p is None:
            out.append(Problem(f"{where}: condition uses undeclared workflow parameter {name!r}", loc))
        elif p.choices is not None and cond.workflow_value not in p.choices:
            out.append(
                Problem(
                    f"{where}: condition compares workflow parameter {name!r} with "
                    f"{cond.workflow_value!r}, which is not one of {list(p.choices)}",
                    loc,
                )
            )

    for ds in cascade.data_sources.values():
        check(list(ds.grouping_keywords), f"data source {ds.name!r} grouping keywords", ds.location)
        for g in ds.grouping_keywords:
            if not isinstance(g, (str, WorkflowParameter)):
                out.append(Problem(f"data source {ds.name!r}: grouping keyword {g!r} is not a name", ds.location))
    for t in cascade.tasks.values():
        ploc = t.call_locations.get("with_recipe_parameters", t.location)
        for k, v in t.recipe_parameters.items():
            check(v, f"task {t.name!r} recipe parameter {k!r}", ploc)
        check(list(t.grouping_keywords), f"task {t.name!r} grouping keywords",
              t.call_locations.get("with_grouping_keywords", t.location))
        check_condition(t.condition, f"task {t.name!r}", t.call_locations.get("with_condition", t.location))
        for a in t.all_associated_inputs():
            check_condition(a.condition, f"task {t.name!r} associated input {a.name!r}", a.location)
    return out


# --------------------------------------------------------------------------- parameter sets


def _find_line(path: str, set_name: str, key: str | None = None) -> int:
    """Best-effort line of ``key`` inside parameter set ``set_name`` of a YAML/TOML file."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return 0
    start = 0
    head = re.compile(rf"^\s*(\[\s*)?[\"']?{re.escape(set_name)}[\"']?\s*[:\].]")
    for i, line in enumerate(lines):
        if head.match(line):
            start = i
            break
    if key is None:
        return start + 1
    word = re.compile(rf"(^|[\s{{,.\[\"']){re.escape(key)}[\"']?\s*[:=\].]")
    for i in range(start, len(lines)):
        if word.search(lines[i]):
            return i + 1
    return start + 1


def _parameter_sets(cascade: Cascade) -> list[Problem]:
    out: list[Problem] = []
    for ps in cascade.parameter_sets.values():
        path = ps.path or cascade.path
        for name, value in ps.workflow_parameters.items():
            p = cascade.workflow_parameters.get(name)
            loc = SourceLocation(path, _find_line(path, ps.name, name))
            if p is None:
                known = ", ".join(cascade.workflow_parameters) or "none"
                out.append(Problem(f"parameter set {ps.name!r}: unknown workflow parameter {name!r} (known: {known})", loc))
            elif p.choices is not None and value not in p.choices and str(value) not in map(str, p.choices):
                out.append(
                    Problem(f"parameter set {ps.name!r}: workflow parameter {name!r} = {value!r} "
                            f"is not one of {list(p.choices)}", loc)
                )
        edps = getattr(cascade.info, "dialect", "") == "edps"
        for task_name in ps.recipe_parameters:
            if task_name not in cascade.tasks and not cascade.targets:
                out.append(  # EDPS ignores parameters of tasks a workflow does not have: a warning there
                    Problem(f"parameter set {ps.name!r}: recipe parameters for unknown task {task_name!r}"
                            + (" (ignored)" if edps else ""),
                            SourceLocation(path, _find_line(path, ps.name, task_name)),
                            WARNING if edps else "error")
                )
    return out


# --------------------------------------------------------------------------- recipes


def _recipes(cascade: Cascade, lookup: RecipeLookup | None) -> list[Problem]:
    named = [t for t in cascade.tasks.values() if t.recipe]
    if not named:
        return []
    first = named[0]
    first_loc = first.call_locations.get("with_recipe", first.location)
    want_esorex = any(t.recipe.startswith("esorex:") for t in named)
    notes: list[Problem] = []
    if lookup is None:
        return [Problem("cannot check recipe names (no recipe registry)", first_loc, WARNING)]
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            known = set(_names(lookup(want_esorex)))
    except Exception as exc:  # a registry that fails: cannot check
        return [Problem(f"cannot check recipe names ({type(exc).__name__}: {exc})", first_loc, WARNING)]
    esorex_ok = not any("esorex" in str(w.message) for w in caught)
    if want_esorex and not esorex_ok:
        notes.append(Problem("cannot check esorex recipe names (esorex is not available)", first_loc, WARNING))
    out = []
    for t in named:
        name = t.recipe
        if name in known or (name.startswith("esorex:") and not esorex_ok):
            continue
        if name.startswith("command:") and name[len("command:"):] in known:  # listed without the prefix
            continue
        if name.startswith("esorex:") and getattr(cascade.info, "dialect", "") == "edps":
            # an EDPS workflow names a CPL recipe of its pipeline kit: say so without guessing
            # a package name
            out.append(Problem(
                f"task {t.name!r}: recipe {name[7:]!r} is not installed: no ESO pipeline of the esorex on "
                "PATH provides it; install the ESO pipeline kit this workflow comes with, then check "
                "with `reflexng recipes list --esorex` (or try the cascade with `reflexng run "
                "--placeholder-recipes`)", t.call_locations.get("with_recipe", t.location), WARNING))
            continue
        out.append(
            Problem(f"task {t.name!r}: unknown recipe {name!r} (see `reflexng recipes`)",
                    t.call_locations.get("with_recipe", t.location), WARNING)
        )
    return notes + out


def recipe_parameter_problems(cascade: Cascade, parameter_sets: Iterable[str] | None = None) -> list[Problem]:
    """Errors for recipe parameters the task's recipe does not have: in ``with_recipe_parameters``
    (cascade file:line) and in parameter sets (their file:line; ``parameter_sets``: only these).
    Recipes whose parameters cannot be listed (not installed, function tasks) are not checked."""
    get_recipe = _recipe_getter  # registered by reflexng.recipes.registry (cascade never imports it)
    if get_recipe is None:
        return []
    specs: dict[str, set[str] | None] = {}

    def known(task) -> set[str] | None:
        if not task.recipe or task.function is not None:
            return None
        if task.recipe not in specs:
            try:
                names = {sp.name for sp in getattr(get_recipe(task.recipe), "parameters", ()) or ()}
            except Exception:  # unknown or broken recipe: reported elsewhere
                names = set()
            specs[task.recipe] = names or None
        return specs[task.recipe]

    out: list[Problem] = []
    for t in cascade.tasks.values():
        names = known(t)
        if names is None:
            continue
        loc = t.call_locations.get("with_recipe_parameters", t.location)
        for k in list(t.recipe_parameters) + list(t.dynamic_parameters):
            if k not in names:
                out.append(Problem(f"task {t.name!r}: recipe {t.recipe} has no parameter {k!r} "
                                   f"(parameters: {', '.join(sorted(names))})", loc))
    chosen = None if parameter_sets is None else set(parameter_sets)
    for ps in cascade.parameter_sets.values():
        if chosen is not None and ps.name not in chosen:
            continue
        path = ps.path or cascade.path
        for task_name, values in ps.recipe_parameters.items():
            t = cascade.tasks.get(task_name)
            names = known(t) if t is not None else None
            if names is None:
                continue
            for k in values:
                if k not in names:
                    out.append(Problem(f"parameter set {ps.name!r}: recipe {t.recipe} of task {task_name!r} has no "
                                       f"parameter {k!r} (parameters: {', '.join(sorted(names))})",
                                       SourceLocation(path, _find_line(path, ps.name, k))))
    return out


def _names(recipes: Any) -> Iterable[str]:
    if isinstance(recipes, dict):
        return [str(k) for k in recipes]
    return [r if isinstance(r, str) else str(getattr(r, "name", r)) for r in recipes]
