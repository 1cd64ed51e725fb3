"""What the cascade view draws, computed without Qt: node positions, roles and the target's
needs. Job states come from the session (``session.state.task_counts()`` / ``task_statuses()``)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

JOB_STATES = ("waiting", "queued", "running", "done", "reused", "failed", "cancelled", "interrupted", "skipped",
              "incomplete", "stale")

# node roles
DATA_SOURCE = "data_source"
CALIBRATION = "calibration"
SCIENCE = "science"


@dataclass
class GraphNode:
    name: str
    kind: str  # "data_source" | "task"
    role: str  # DATA_SOURCE | CALIBRATION | SCIENCE
    x: float
    y: float
    in_target: bool = True
    recipe: str = ""


X_SPACING, Y_SPACING = 220.0, 80.0  # pixels between layers / slots (fallback layout)


@dataclass
class GraphModel:
    """Positions are node centres in scene pixels; ``bends`` are polyline points of long edges."""

    nodes: dict[str, GraphNode] = field(default_factory=dict)
    edges: list[tuple[str, str, str]] = field(default_factory=list)  # (source, target, role)
    bends: dict[tuple[str, str], list[tuple[float, float]]] = field(default_factory=dict)


def _core_layout(cascade: Any) -> tuple[dict[str, tuple[float, float]], dict] | None:
    """The core's layered layout with crossing reduction (``reflexng.cascade.layering``)."""
    from reflexng.cascade.layering import compute_layout

    try:
        lay = compute_layout(cascade)
    except Exception:  # an invalid cascade (cycle, unknown input): fall back, validation reports it
        return None
    pos = {str(k): (float(v[0]), float(v[1])) for k, v in lay.positions.items()}
    return pos, dict(lay.bends)


def layered_layout(cascade: Any) -> dict[str, tuple[float, float]]:
    """Layers by longest path from the data sources; x = layer, y = rank in the layer
    (ordered by the mean rank of the inputs to keep edges short)."""
    preds: dict[str, list[str]] = defaultdict(list)
    for e in cascade.edges:
        preds[e.target].append(e.source)
    layer: dict[str, int] = {n: 0 for n in cascade.data_sources}

    def depth(name: str, seen: frozenset = frozenset()) -> int:
        if name in layer:
            return layer[name]
        if name in seen:  # a cycle: validation reports it elsewhere
            return 0
        ps = preds.get(name, [])
        d = 1 + max((depth(p, seen | {name}) for p in ps), default=0)
        layer[name] = d
        return d

    for t in cascade.tasks:
        depth(t)
    columns: dict[int, list[str]] = defaultdict(list)
    for n, d in layer.items():
        columns[d].append(n)
    rank: dict[str, float] = {}
    pos: dict[str, tuple[float, float]] = {}
    for d in sorted(columns):
        names = columns[d]
        if d > 0:
            names.sort(key=lambda n: (sum(rank.get(p, 0) for p in preds[n]) / max(1, len(preds[n])), n))
        for i, n in enumerate(names):
            rank[n] = i
            pos[n] = (d * X_SPACING, i * Y_SPACING)
    return pos


def needed_tasks(cascade: Any, target: str | None) -> set[str]:
    """Every task (and data source) the target needs; a meta-target selects every task
    carrying it. None = the whole cascade."""
    if not target:
        return set(cascade.tasks) | set(cascade.data_sources)
    try:
        roots = list(cascade.target_tasks(target))
    except Exception:  # unknown target or an older Cascade: match names / meta targets
        roots = [t.name for t in cascade.tasks.values() if t.name == target or target in t.meta_targets]
    preds: dict[str, list[str]] = defaultdict(list)
    for e in cascade.edges:
        preds[e.target].append(e.source)
    out: set[str] = set()
    stack = list(roots)
    while stack:
        n = stack.pop()
        if n in out:
            continue
        out.add(n)
        stack.extend(preds.get(n, []))
    return out


def task_roles(cascade: Any, target: str | None = None) -> dict[str, str]:
    """Science for the target, tasks carrying a ``science`` meta-target and tasks nobody
    consumes; calibration for the rest."""
    consumed = {e.source for e in cascade.edges}
    roles: dict[str, str] = {}
    core_role = getattr(cascade, "task_role", None)
    for t in cascade.tasks.values():
        science = (
            t.name == target
            or (target is not None and target in t.meta_targets)
            or any("science" in m.lower() for m in t.meta_targets)
            or t.name not in consumed
        )
        if core_role is not None and not science:
            try:
                science = core_role(t.name) == SCIENCE
            except Exception:
                pass
        roles[t.name] = SCIENCE if science else CALIBRATION
    return roles


def build_graph(cascade: Any, target: str | None = None) -> GraphModel:
    core = _core_layout(cascade)
    pos, bends = core if core else (layered_layout(cascade), {})
    needed = needed_tasks(cascade, target)
    roles = task_roles(cascade, target)
    g = GraphModel()
    for name in cascade.data_sources:
        x, y = pos.get(name, (0.0, 0.0))
        g.nodes[name] = GraphNode(name, "data_source", DATA_SOURCE, x, y, name in needed)
    for name, t in cascade.tasks.items():
        x, y = pos.get(name, (0.0, 0.0))
        g.nodes[name] = GraphNode(name, "task", roles[name], x, y, name in needed, t.recipe_name)
    g.edges = [(e.source, e.target, e.role) for e in cascade.edges]
    g.bends = {tuple(k): [(float(x), float(y)) for x, y in v] for k, v in bends.items()}
    return g


def format_counts(c: Counter, order: Iterable[str] = JOB_STATES) -> str:
    return " ".join(f"{c[s]} {s}" for s in order if c.get(s))
