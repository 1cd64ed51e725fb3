"""What the task-detail pane shows, computed without Qt: the recipe (name, version,
description), its parameters (recipe default, cascade value, effective value for a job),
the task's jobs and states, its inputs and their match rules in words (from the core:
:mod:`reflexng.organiser.rule_words`, which ``reflexng cascade show`` uses too), and where the
task is declared in the cascade file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reflexng.organiser.rule_words import (  # noqa: F401 - match_rule_words, time_words re-exported
    condition_words,
    input_lines,
    match_rule_words,
    time_words,
)


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
        condition=condition_words(task.condition), meta_targets=tuple(task.meta_targets),
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
    from reflexng.provenance.trace import replay_command

    a = store.last_attempt(job_id) if store is not None else None
    return replay_command(a.jobdir) if a is not None else ""
