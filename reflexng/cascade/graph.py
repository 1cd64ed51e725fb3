"""The cascade as a graph: nodes are data sources and tasks, edges carry the input role.

Used by :class:`~reflexng.cascade.cascade.Cascade` (``graph``, ``for_target``,
``meta_targets``, ``default_target``) and by validation, export and layout.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from reflexng.cascade.errors import CascadeError
from reflexng.cascade.model import SourceLocation

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

    from reflexng.cascade.cascade import Cascade

SCIENCE = "science"
CALIBRATION = "calibration"
DATA_SOURCE = "data_source"


def build_graph(cascade: Cascade) -> nx.DiGraph:
    """A networkx DiGraph: node attrs ``kind`` ("data_source"|"task") and ``role``
    ("data_source", "science" or "calibration"); edge attr ``role`` ("main"|"associated").

    A node named by an input but not defined in the cascade is added with
    ``kind="unknown"`` (validation reports it). When a source feeds a task both as main
    and as associated input the edge role is "main".
    """
    import networkx as nx  # only here and in needed_nodes: roles and targets do without it

    g = nx.DiGraph(name=cascade.name)
    for ds in cascade.data_sources.values():
        g.add_node(ds.name, kind=DATA_SOURCE, role=DATA_SOURCE, categories=list(ds.categories))
    roles = task_roles(cascade)
    for t in cascade.tasks.values():
        g.add_node(
            t.name,
            kind="task",
            role=roles[t.name],
            recipe=t.recipe_name,
            subworkflow=t.subworkflow,
            meta_targets=list(t.meta_targets),
        )
    for t in cascade.tasks.values():
        if t.main_input is not None:
            _add_edge(g, t.main_input.name, t.name, "main", t.main_input.kind, False, False)
        for a in t.all_associated_inputs():
            _add_edge(g, a.source.name, t.name, "associated", a.source.kind, a.optional, a.condition is not None)
    return g


def _add_edge(g: nx.DiGraph, src: str, dst: str, role: str, kind: str, optional: bool, conditional: bool) -> None:
    if src not in g:
        g.add_node(src, kind="unknown", role="unknown", expected_kind=kind)
    if g.has_edge(src, dst):
        if role == "main":
            g.edges[src, dst]["role"] = "main"
        return
    g.add_edge(src, dst, role=role, optional=optional, conditional=conditional)


def _sink_tasks(cascade: Cascade) -> set[str]:
    used = set()
    for t in cascade.tasks.values():
        if t.main_input is not None:
            used.add(t.main_input.name)
        used.update(a.source.name for a in t.all_associated_inputs())
    return {name for name in cascade.tasks if name not in used}


def task_roles(cascade: Cascade) -> dict[str, str]:
    """``{task: "science" | "calibration"}``.

    A task is "science" if it has the meta target ``science``, is a sink (unless it has the
    meta target ``calibration``), or its products
    are the main input of a science task (e.g. ``science`` feeding ``spec_combination``);
    every other task produces calibrations. A target cut keeps the roles of the full cascade.
    """
    if cascade.parent is not None:
        full = task_roles(cascade.parent)
        return {n: full.get(n, CALIBRATION) for n in cascade.tasks}
    science = {n for n, t in cascade.tasks.items() if SCIENCE in t.meta_targets}
    science |= _sink_tasks(cascade) - {n for n, t in cascade.tasks.items() if CALIBRATION in t.meta_targets}
    changed = True
    while changed:
        changed = False
        for t in cascade.tasks.values():
            m = t.main_input
            if t.name in science and m is not None and m.kind == "task" and m.name in cascade.tasks:
                if m.name not in science:
                    science.add(m.name)
                    changed = True
    return {n: SCIENCE if n in science else CALIBRATION for n in cascade.tasks}


def sink_tasks(cascade: Cascade) -> list[str]:
    """Tasks whose products no other task uses (in cascade order)."""
    sinks = _sink_tasks(cascade)
    return [name for name in cascade.tasks if name in sinks]


def meta_targets(cascade: Cascade) -> dict[str, list[str]]:
    """``{meta target: [task names in cascade order]}``."""
    out: dict[str, list[str]] = {}
    for t in cascade.tasks.values():
        for m in t.meta_targets:
            out.setdefault(m, []).append(t.name)
    return out


def default_target(cascade: Cascade) -> list[str]:
    """Task names of the default target: the metadata's ``default_target`` (a task, or a
    meta target resolved to its tasks), else the sink task(s). A sub-cascade made by
    ``for_target`` answers its own targets."""
    if cascade.targets:
        return list(cascade.targets)
    if cascade.info.default_target:
        try:
            return resolve_targets(cascade, cascade.info.default_target)
        except CascadeError:  # unknown name: validation reports it; keep it visible
            return [cascade.info.default_target]
    return sink_tasks(cascade)


def resolve_targets(cascade: Cascade, target: str | Iterable[str]) -> list[str]:
    """Task names for a task name, a meta target, or several of them.

    Raises :class:`CascadeError` naming the known tasks and meta targets for an unknown one.
    """
    names = [target] if isinstance(target, str) else list(target)
    metas = meta_targets(cascade)
    out: list[str] = []
    for name in names:
        if name in cascade.tasks:
            found = [name]
        elif name in metas:
            found = metas[name]
        else:
            known = ", ".join(list(cascade.tasks) + [f"{m} (meta target)" for m in metas]) or "none"
            raise CascadeError(
                f"unknown target {name!r}; known targets: {known}",
                SourceLocation(cascade.path, 0),
            )
        out.extend(f for f in found if f not in out)
    if not out:
        raise CascadeError("no target given", SourceLocation(cascade.path, 0))
    return out


def needed_nodes(graph: nx.DiGraph, targets: Iterable[str]) -> set[str]:
    """The targets and everything upstream of them."""
    import networkx as nx

    keep: set[str] = set()
    for t in targets:
        keep.add(t)
        keep |= nx.ancestors(graph, t)
    return keep
