"""What every organise path shares: targets, parameter sets, planning jobs and datasets from
classified files, the job graph. Used by :mod:`reflexng.organiser.api` and
:mod:`reflexng.organiser.incremental` (which import this module, never each other at its
level: no import cycle)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from reflexng.cascade.parameters import workflow_values
from reflexng.organiser.model import OrganiseResult
from reflexng.organiser.plan import Planner


class OrganiseCancelled(Exception):
    """Raised when ``cancelled()`` became true during organising."""


def resolve_targets(cascade, target: str | Sequence[str] | None) -> list[str]:
    """Task names to organise for: the given task / meta target, else the cascade's default."""
    if target is None:
        dt = getattr(cascade, "default_target", None)
        if isinstance(dt, (list, tuple)) and dt:
            return list(dt)
        name = cascade.info.default_target
        if name:
            target = name
        else:
            used = {e.source for e in cascade.edges}
            sinks = [t for t in cascade.tasks if t not in used]
            return sinks
    if hasattr(cascade, "target_tasks"):
        from reflexng.cascade.errors import CascadeError

        try:
            return list(cascade.target_tasks(target))
        except CascadeError as exc:
            raise ValueError(exc.message) from exc
    names = [target] if isinstance(target, str) else list(target)
    out: list[str] = []
    for n in names:
        if n in cascade.tasks:
            out.append(n)
            continue
        meta = [t.name for t in cascade.tasks.values() if n in t.meta_targets]
        if not meta:
            raise ValueError(f"unknown target {n!r}; tasks: {', '.join(cascade.tasks)}")
        out.extend(meta)
    return out


def _parameter_set(cascade, parameter_set):
    if parameter_set is None or not isinstance(parameter_set, str):
        return parameter_set
    ps = cascade.parameter_sets.get(parameter_set)
    if ps is None:
        known = ", ".join(sorted(cascade.parameter_sets)) or "none"
        raise ValueError(f"unknown parameter set {parameter_set!r}; known: {known}")
    return ps


def _plan(cascade, files, target, *, workflow_parameters, parameter_set, recipe_parameters,
          prefer, build_graph, resolved: bool = False) -> OrganiseResult:
    """Jobs and datasets from classified files (``resolved``: ``target`` lists task names)."""
    ps = _parameter_set(cascade, parameter_set)
    wp = workflow_values(cascade, ps, workflow_parameters)
    targets = list(target) if resolved else resolve_targets(cascade, target)
    for t in targets:
        if t not in cascade.tasks:
            raise ValueError(f"unknown target {t!r}")
    planner = Planner(cascade, files, wp, parameter_set=ps, recipe_parameters=recipe_parameters,
                      prefer=prefer)
    datasets = planner.datasets(targets)
    result = OrganiseResult(
        cascade_name=cascade.name, target=",".join(targets), files=files, jobs=planner.jobs,
        datasets=datasets, workflow_parameters=wp, notes=planner.notes, targets=tuple(targets),
    )
    if build_graph:
        result.job_graph = job_graph(planner.jobs)
    return result


def job_graph(jobs: Mapping[str, Any]):
    """networkx DiGraph of jobs (upstream -> downstream); node attribute ``task``."""
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(jobs)  # job order
    # then the attribute, one call per task: (node, attributes) pairs would cost networkx an
    # exception per node
    by_task: dict[str, list[str]] = {}
    for jid, j in jobs.items():
        got = by_task.get(j.task)
        if got is None:
            by_task[j.task] = [jid]
        else:
            got.append(jid)
    for task, jids in by_task.items():
        g.add_nodes_from(jids, task=task)
    g.add_edges_from([(d, jid) for jid, j in jobs.items() for d in j.depends_on])
    return g


def _content_hash() -> Callable[[str], str] | None:
    from reflexng.fits import content_hash

    return content_hash
