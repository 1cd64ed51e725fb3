"""Turn an organise result's jobs into placeholder jobs (``--placeholder-recipes``).

Above :mod:`reflexng.recipes.registry` (it asks recipes for their declared output
categories); the placeholder recipe itself is :mod:`reflexng.recipes.placeholder`.
"""

from __future__ import annotations

from typing import Any

from reflexng.recipes.placeholder import CATEGORIES, PREFIX, is_placeholder
from reflexng.recipes.registry import get_recipe as lookup


def downstream_categories(cascade: Any, task_name: str) -> list[str]:
    """The categories downstream tasks ask of ``task_name``'s products: their associated
    inputs' categories and main-input categories; failing those, the recipe's declared
    output categories; failing those, ``<TASK>_PRODUCT``."""
    out: list[str] = []
    for t in cascade.tasks.values():
        if t.main_input is not None and t.main_input.kind == "task" and t.main_input.name == task_name:
            out.extend(t.main_categories)
        for a in t.all_associated_inputs():
            if a.source.kind == "task" and a.source.name == task_name:
                out.extend(a.categories)
    if not out:
        task = cascade.tasks.get(task_name)
        out.extend(_declared(task.recipe_name if task is not None else ""))
    if not out:
        out.append(f"{task_name.upper()}_PRODUCT")
    return list(dict.fromkeys(out))


def _declared(recipe: str) -> list[str]:
    if not recipe or recipe.startswith(("esorex:", "python:", PREFIX)):
        return []
    try:
        return [str(c) for c in getattr(lookup(recipe), "output_categories", ()) or ()]
    except Exception:  # unknown recipe: nothing declared
        return []


def placeholder_jobs(result: Any, cascade: Any) -> None:
    """Turn every job of an organise result into a placeholder job (in place): recipe
    ``placeholder:<recipe>``, the categories to write in its parameters."""
    cats: dict[str, list[str]] = {}
    for jid, job in list(result.jobs.items()):
        if is_placeholder(job.recipe):
            continue
        c = cats.get(job.task)
        if c is None:
            c = cats[job.task] = downstream_categories(cascade, job.task)
        params = {**dict(job.parameters), CATEGORIES: list(c)}
        result.jobs[jid] = job._replace(recipe=PREFIX + (job.recipe or job.task), parameters=params)
