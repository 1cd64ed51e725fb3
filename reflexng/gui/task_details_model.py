"""What the task-detail pane shows, computed without Qt: the recipe (name, version,
description), its parameters (recipe default, cascade value, effective value for a job),
the task's jobs and states, its inputs and their match rules in words, and where the task
is declared in the cascade file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reflexng.cascade.model import MatchRule, TimeRange


@dataclass
class RecipeSummary:
    name: str
    version: str = ""
    description: str = ""
    specs: tuple = ()
    defaults: dict[str, Any] = field(default_factory=dict)
    error: str = ""


@dataclass
class ParameterRow:
    name: str
    default: Any
    cascade: Any  # the task's value (resolved workflow parameter); None = not set by the cascade
    effective: Any
    description: str = ""

    @property
    def changed(self) -> bool:
        """True when the effective value differs from the recipe default."""
        return self.effective != self.default


@dataclass
class TaskDetails:
    name: str
    recipe: RecipeSummary
    location: str
    main_input: str
    inputs: list[str]
    parameters: list[ParameterRow]
    jobs: list[tuple[str, str]]  # (job id, state)
    selected_job: str | None = None
    condition: str = ""
    meta_targets: tuple[str, ...] = ()


def recipe_summary(cascade: Any, task_name: str) -> RecipeSummary:
    """Name, version, description and parameter specs of a task's recipe (may start esorex:
    call it off the GUI thread). An unknown recipe gives a summary with ``error`` set."""
    task = cascade.tasks[task_name]
    if task.function is not None and not task.recipe:
        from reflexng.engine.recipes import _function_version

        doc = (getattr(task.function, "__doc__", "") or "").strip()
        return RecipeSummary(task.recipe_name, _function_version(task.function), doc.split("\n\n")[0])
    from reflexng.recipes.registry import get_recipe

    try:
        r = get_recipe(task.recipe)
    except Exception as exc:  # unknown recipe, esorex missing
        return RecipeSummary(task.recipe_name, "?", error=str(exc))
    specs = tuple(getattr(r, "parameters", ()) or ())
    defaults = r.defaults() if hasattr(r, "defaults") else {s.name: s.default for s in specs}
    return RecipeSummary(task.recipe_name, str(getattr(r, "version", "") or ""),
                         str(getattr(r, "description", "") or "").strip(), specs, dict(defaults))


def _words(value: Any) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)


def _condition_words(cond: Any) -> str:
    if cond is None:
        return ""
    name = getattr(cond, "workflow_parameter", None)
    if name is not None:
        return f"only when {name} = {cond.workflow_value!r}"
    doc = (getattr(cond, "__doc__", "") or "").strip().splitlines()
    return "only when " + (doc[0] if doc else getattr(cond, "__name__", "a condition holds"))


def time_words(tr: TimeRange) -> str:
    if tr.same_night:
        return "the same night"
    if tr.before is None and tr.after is None:
        return "any time"
    return tr.describe()


def match_rule_words(rule: MatchRule) -> str:
    """'level 0: same INS.MODE, DET.BINX; the same night' (a function rule by its docstring)."""
    parts = []
    if rule.keywords:
        parts.append("same " + ", ".join(str(k) for k in rule.keywords))
    if rule.function is not None:
        doc = (getattr(rule.function, "__doc__", "") or "").strip().splitlines()
        parts.append(doc[0] if doc else f"{getattr(rule.function, '__name__', 'function')}(main, candidate)")
    parts.append(time_words(rule.time_range))
    return f"level {rule.level}: " + "; ".join(parts)


def _source_rules(cascade: Any, name: str, seen: frozenset = frozenset()) -> tuple[MatchRule, ...]:
    """The match rules an input uses by default: a data source's, or for a task the rules of
    its main input's data source."""
    ds = cascade.data_sources.get(name)
    if ds is not None:
        return tuple(ds.match_rules)
    t = cascade.tasks.get(name)
    if t is None or t.main_input is None or name in seen:
        return ()
    return _source_rules(cascade, t.main_input.name, seen | {name})


def _kind_words(cascade: Any, name: str) -> str:
    ds = cascade.data_sources.get(name)
    if ds is not None:
        cats = ", ".join(ds.categories)
        return f"data source{f' ({cats})' if cats else ''}"
    return "products of task" if name in cascade.tasks else "unknown input"


def input_lines(cascade: Any, task: Any) -> tuple[str, list[str]]:
    """(main input in words, one line per associated input with its match rules in words)."""
    main = ""
    if task.main_input is not None:
        name = task.main_input.name
        main = f"{name} — {_kind_words(cascade, name)}"
        ds = cascade.data_sources.get(name)
        group = tuple(ds.grouping_keywords) if ds is not None else tuple(task.grouping_keywords)
        if group:
            main += f"; one job per {_words([getattr(g, 'name', g) for g in group])}"
    lines = []
    for a in task.all_associated_inputs():  # EDPS alternatives: one line per alternative
        count = f"{a.min_ret}" if a.min_ret == a.max_ret else f"{a.min_ret} to {a.max_ret}"
        head = f"{a.name} — {_kind_words(cascade, a.name)}, {count} " + ("(optional)" if a.optional else "required")
        if a.match_rules is not None:
            rules, origin = a.match_rules, ""
        else:
            rules, origin = _source_rules(cascade, a.name), " (the input's own rules)"
        words = " | ".join(match_rule_words(r) for r in sorted(rules, key=lambda r: r.level)) or "no match rules: any file"
        cond = _condition_words(a.condition)
        lines.append(f"{head}; match{origin}: {words}" + (f"; {cond}" if cond else ""))
    for rname, kind in getattr(task, "reports", ()):  # EDPS with_report: recorded, not run
        lines.append(f"report {rname} ({kind.replace('_', ' ')}) — recorded, not run")
    return main, lines


def task_details(
    cascade: Any,
    name: str,
    recipe: RecipeSummary,
    jobs: Mapping[str, str] | None = None,
    *,
    workflow_parameters: Mapping[str, Any] | None = None,
    effective: Mapping[str, Any] | None = None,
    selected_job: str | None = None,
) -> TaskDetails:
    """Everything the pane shows for task ``name``; ``effective`` are the values for
    ``selected_job`` (from the session); without it the cascade's values over the defaults."""
    from reflexng.cascade.parameters import resolve_value

    task = cascade.tasks[name]
    wp = dict(workflow_parameters or {})
    cascade_values = {k: resolve_value(v, wp) for k, v in task.recipe_parameters.items()}
    for k in task.dynamic_parameters:
        cascade_values.setdefault(k, "(computed per job)")
    specs = {s.name: s for s in recipe.specs}
    names = list(specs) + [k for k in cascade_values if k not in specs]
    rows = []
    for n in names:
        default = recipe.defaults.get(n, getattr(specs.get(n), "default", None))
        casc = cascade_values.get(n)
        if effective is not None and n in effective:
            eff = effective[n]
        else:
            eff = casc if n in cascade_values and n not in task.dynamic_parameters else default
        rows.append(ParameterRow(n, default, casc, eff, getattr(specs.get(n), "description", "") or ""))
    main, lines = input_lines(cascade, task)
    return TaskDetails(
        name=name, recipe=recipe, location=str(task.location), main_input=main, inputs=lines,
        parameters=rows, jobs=sorted((jobs or {}).items()), selected_job=selected_job,
        condition=_condition_words(task.condition), meta_targets=tuple(task.meta_targets),
    )


def format_value(v: Any) -> str:
    return "" if v is None else repr(v) if isinstance(v, str) else str(v)


def jobs_of(job_tasks: Mapping[str, str], states: Mapping[str, str], task: str) -> dict[str, str]:
    return {j: states.get(j, "waiting") for j, t in job_tasks.items() if t == task}


def summary_line(d: TaskDetails) -> str:
    """One line: 'task bias: recipe demo_bias 1.0 — 2 jobs'."""
    ver = f" {d.recipe.version}" if d.recipe.version else ""
    return f"task {d.name}: recipe {d.recipe.name}{ver} — {len(d.jobs)} job{'s' if len(d.jobs) != 1 else ''}"



def replay_command_of(store, job_id: str) -> str:
    """The shell command that re-runs a job's latest executed attempt by hand ('' when none)."""
    from reflexng.gui.provenance_model import replay_command

    a = store.last_attempt(job_id) if store is not None else None
    return replay_command(a) if a is not None else ""
