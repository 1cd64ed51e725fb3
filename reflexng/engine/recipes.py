"""What the engine process needs to know about a job's recipe (it never runs it itself)."""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reflexng.recipes import registry


@dataclass
class RecipeInfo:
    name: str
    version: str
    specs: tuple = ()
    defaults: dict[str, Any] = field(default_factory=dict)
    function_task: bool = False
    obj: Any = None
    error: str = ""

    def replay_command(self, inputs_sof: str, parameters: dict[str, Any], output_dir: str) -> str | None:
        fn = getattr(self.obj, "replay_command", None)
        if fn is None:
            return None
        try:
            return fn(inputs_sof, parameters, output_dir)
        except Exception:
            return None


def _function_version(fn) -> str:
    """A function task's version: a hash of its source (so editing the function re-runs it)."""
    try:
        src = inspect.getsource(fn)
    except (OSError, TypeError):
        src = getattr(fn, "__qualname__", repr(fn))
    return "function-" + hashlib.sha1(src.encode()).hexdigest()[:12]


def recipe_info(job, cascade) -> RecipeInfo:
    """Version, parameter specs and defaults of the recipe a job runs. An unknown recipe gives
    an info with ``error`` set (the job then fails with that message)."""
    tasks = getattr(cascade, "tasks", {})
    task = tasks.get(job.task)
    placeholder = job.recipe.startswith("placeholder:")  # --placeholder-recipes: never the function
    if not placeholder and (job.recipe.startswith("python:") or (task is not None and task.function is not None
                                                                 and not task.recipe)):
        fn = task.function if task is not None else None
        return RecipeInfo(job.recipe, _function_version(fn) if fn else "function", function_task=True)
    try:
        r = registry.get_recipe(job.recipe)
    except Exception as exc:
        return RecipeInfo(job.recipe, "?", error=str(exc))
    specs = tuple(getattr(r, "parameters", ()) or ())
    defaults = r.defaults() if hasattr(r, "defaults") else {s.name: s.default for s in specs}
    return RecipeInfo(job.recipe, str(getattr(r, "version", "")), specs, dict(defaults), obj=r)


def parameter_checker(cascade) -> Callable[[dict[str, dict[str, Any]]], None]:
    """A check for user recipe parameters ``{task: {name: value}}`` of ``cascade``: raises
    :class:`~reflexng.engine.state.OptionError` for a task the cascade does not have, a name
    the task's recipe does not have, or a value of the wrong type. Function tasks, recipes
    without a parameter schema and recipes that cannot be found are left to the run (that job
    fails with the reason)."""
    from reflexng.engine.state import OptionError

    def check(params: dict[str, dict[str, Any]]) -> None:
        tasks = cascade.tasks
        for task_name, values in params.items():
            task = tasks.get(task_name)
            if task is None:
                raise OptionError("recipe_parameters", f"{task_name}.*",
                                  f"{getattr(cascade, 'path', '') or getattr(cascade, 'name', 'the cascade')} has no "
                                  f"task {task_name!r}; tasks: {', '.join(tasks)}")
            if task.function is not None or not values:
                continue
            try:
                specs = {s.name: s for s in getattr(registry.get_recipe(task.recipe_name), "parameters", ())}
            except Exception:  # unknown or broken recipe: the job fails with that reason
                continue
            if not specs:
                continue
            for name, value in values.items():
                spec = specs.get(name)
                if spec is None:
                    raise OptionError("recipe_parameters", f"{task_name}.{name}",
                                      f"recipe {task.recipe_name} of task {task_name} has no parameter {name!r}; "
                                      f"parameters: {', '.join(specs)} (see `reflexng recipes show "
                                      f"{task.recipe_name}`)")
                try:
                    spec.coerce(value)
                except ValueError as exc:
                    raise OptionError("recipe_parameters", f"{task_name}.{name}={value}", str(exc)) from None

    return check


def check_values(info: RecipeInfo, task: str, values: dict[str, Any]) -> None:
    """Raise OptionError when ``values`` name a parameter the recipe does not have or hold a
    value of the wrong type (a recipe without a parameter schema accepts anything)."""
    from reflexng.engine.state import OptionError

    specs = {s.name: s for s in info.specs}
    if not specs:
        return
    for name, value in values.items():
        spec = specs.get(name)
        if spec is None:
            raise OptionError("recipe_parameters", f"{task}.{name}",
                              f"recipe {info.name} of task {task} has no parameter {name!r}; "
                              f"parameters: {', '.join(specs)} (see `reflexng recipes show {info.name}`)")
        try:
            spec.coerce(value)
        except ValueError as exc:
            raise OptionError("recipe_parameters", f"{task}.{name}={value}", str(exc)) from None
