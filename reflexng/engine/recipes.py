"""What the engine process needs to know about a job's recipe (it never runs it itself)."""

from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass, field
from typing import Any


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
    from reflexng.recipes.registry import get_recipe

    try:
        r = get_recipe(job.recipe)
    except Exception as exc:
        return RecipeInfo(job.recipe, "?", error=str(exc))
    specs = tuple(getattr(r, "parameters", ()) or ())
    defaults = r.defaults() if hasattr(r, "defaults") else {s.name: s.default for s in specs}
    return RecipeInfo(job.recipe, str(getattr(r, "version", "")), specs, dict(defaults), obj=r)
