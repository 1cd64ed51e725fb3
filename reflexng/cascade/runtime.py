"""What a task's inputs look like when its job runs: category filters and renaming.

The engine knows the products of upstream jobs only at run time; it hands each job's inputs
here (``shape_inputs``), each with the upstream job that made it. Applied, in order:

1. an upstream task's output filter (``Task.output_filter``: what it passes downstream);
2. the categories the input asks for (``AssociatedInput.categories`` of a task input,
   ``Task.main_categories`` of a task main input);
3. the task's input filter (``Task.input_filter``) on every input;
4. the task's input map (``Task.input_map``): categories renamed for the recipe.

Native cascades without these features are returned unchanged (``needs_shaping`` is false).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def needs_shaping(cascade: Any) -> bool:
    """Whether any task filters or renames inputs (else the engine skips ``shape_inputs``)."""
    got = getattr(cascade, "_needs_shaping", None)
    if got is None:
        tasks = getattr(cascade, "tasks", {}).values()
        got = any(t.shapes_inputs or t.output_filter or t.main_categories for t in tasks)
        try:
            object.__setattr__(cascade, "_needs_shaping", got)
        except (AttributeError, TypeError):  # not a Cascade: compute each time
            pass
    return got


def _passes(rule: tuple, category: str) -> bool:
    if not rule:
        return True
    mode, cats = rule
    return (category in cats) if mode == "select" else (category not in cats)


def shape_inputs(cascade: Any, job: Any, inputs: Sequence[dict[str, Any]],
                 origins: Sequence[str | None], jobs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``inputs`` (engine input dicts) of ``job`` after filters and renaming; ``origins[i]``
    is the upstream job id that made ``inputs[i]`` (None for a raw or static file)."""
    tasks = cascade.tasks
    task = tasks.get(job.task)
    if task is None:
        return list(inputs)
    wanted: dict[str, tuple[str, ...]] = {}
    for a in job.associated.values():
        cats = getattr(a, "categories", ())
        if cats:
            for c in a.chosen:
                if c.job_id:
                    wanted[c.job_id] = tuple(cats)
    if task.main_categories:
        for up in job.main_jobs:
            wanted.setdefault(up, tuple(task.main_categories))
    out: list[dict[str, Any]] = []
    for item, origin in zip(inputs, origins):
        cat = item["category"]
        if origin is not None:
            up_job = jobs.get(origin)
            up_task = tasks.get(up_job.task) if up_job is not None else None
            if up_task is not None and not _passes(up_task.output_filter, cat):
                continue
            w = wanted.get(origin)
            if w and cat not in w:
                continue
        if not _passes(task.input_filter, cat):
            continue
        new = task.input_map.get(cat)
        if new:
            item = {**item, "category": new}
        out.append(item)
    return out
