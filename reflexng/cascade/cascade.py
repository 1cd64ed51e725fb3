"""The immutable ``Cascade``: data sources, tasks, edges, workflow parameters, metadata."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from reflexng.cascade.model import CascadeInfo, DataSource, Task, WorkflowParameter

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

    from reflexng.cascade.errors import Problem


@dataclass(frozen=True)
class ParameterSet:
    """A named set of workflow parameters and per-task recipe parameters (from YAML/TOML)."""

    name: str
    description: str = ""
    workflow_parameters: Mapping[str, Any] = field(default_factory=dict)
    recipe_parameters: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    path: str = ""


@dataclass(frozen=True)
class Edge:
    """``source`` feeds ``target``; ``role`` is "main" or "associated"."""

    source: str
    target: str
    role: str


@dataclass(frozen=True, eq=False)
class Cascade:
    """An immutable cascade. ``load_problems`` holds what the loader found while collecting
    (duplicate names, which the name-keyed mappings cannot show); ``targets`` is set on a
    sub-cascade made by :meth:`for_target` (the task names the user asked for) and
    ``parent`` is the full cascade it was cut from."""

    info: CascadeInfo
    path: str
    data_sources: Mapping[str, DataSource]
    tasks: Mapping[str, Task]
    workflow_parameters: Mapping[str, WorkflowParameter] = field(default_factory=dict)
    parameter_sets: Mapping[str, ParameterSet] = field(default_factory=dict)
    load_problems: tuple[Problem, ...] = ()
    targets: tuple[str, ...] = ()
    # the full cascade a target cut was made from (roles and names refer to it)
    parent: Cascade | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for name in ("data_sources", "tasks", "workflow_parameters", "parameter_sets"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def instrument(self) -> str:
        return self.info.instrument

    @property
    def description(self) -> str:
        return self.info.description

    @property
    def edges(self) -> list[Edge]:
        out: list[Edge] = []
        for t in self.tasks.values():
            if t.main_input is not None:
                out.append(Edge(t.main_input.name, t.name, "main"))
            for a in t.all_associated_inputs():
                out.append(Edge(a.source.name, t.name, "associated"))
        return out

    def workflow_defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.workflow_parameters.values()}

    # ------------------------------------------------------------------ graph

    @functools.cached_property
    def graph(self) -> nx.DiGraph:
        """Frozen networkx DiGraph of data sources and tasks (see ``graph.build_graph``)."""
        import networkx as nx

        from reflexng.cascade.graph import build_graph

        return nx.freeze(build_graph(self))

    @property
    def meta_targets(self) -> dict[str, list[str]]:
        """``{meta target: [task names]}``, e.g. ``{"science": ["science", "spec_combination"]}``."""
        from reflexng.cascade.graph import meta_targets

        return meta_targets(self)

    @property
    def default_target(self) -> list[str]:
        """Task names of the default target: the metadata's ``default_target`` (a meta
        target resolved to its tasks), else the sink task(s); a sub-cascade's own targets."""
        from reflexng.cascade.graph import default_target

        return default_target(self)

    @property
    def sink_tasks(self) -> list[str]:
        """Tasks whose products no other task uses."""
        from reflexng.cascade.graph import sink_tasks

        return sink_tasks(self)

    def target_tasks(self, target: str | Iterable[str]) -> list[str]:
        """Task names a target stands for (a task, a meta target, or several)."""
        from reflexng.cascade.graph import resolve_targets

        return resolve_targets(self, target)

    def for_target(self, target: str | Iterable[str]) -> Cascade:
        """The sub-cascade a target (task name, meta target, or several) needs: the target
        tasks and all their ancestors, data sources included. Raises ``CascadeError`` for an
        unknown target. The result's ``targets`` lists the target task names."""
        from reflexng.cascade.graph import needed_nodes, resolve_targets

        names = resolve_targets(self, target)
        keep = needed_nodes(self.graph, names)
        label = target if isinstance(target, str) else ",".join(target)
        return dataclasses.replace(
            self,
            info=dataclasses.replace(self.info, default_target=label),
            data_sources={k: v for k, v in self.data_sources.items() if k in keep},
            tasks={k: v for k, v in self.tasks.items() if k in keep},
            targets=tuple(names),
            parent=self.parent or self,
        )

    def task_role(self, name: str) -> str:
        """"science" or "calibration" (science: meta target 'science' or a sink task)."""
        return self.graph.nodes[name]["role"]

    # ------------------------------------------------------------------ validation

    def validate(self, check_recipes: bool = True, recipe_lookup=None) -> list[Problem]:
        """Errors, then warnings, each pointing at the builder call (``path:line``).
        ``check_recipes=False`` skips the recipe-registry lookup (fast, no esorex);
        ``recipe_lookup``: see :func:`reflexng.cascade.validate.validate`."""
        from reflexng.cascade.validate import validate

        return validate(self, check_recipes=check_recipes, recipe_lookup=recipe_lookup)

    @property
    def errors(self) -> list[Problem]:
        """The validation errors (no recipe lookup: unknown recipes are only warnings)."""
        return [p for p in self.validate(check_recipes=False) if p.severity == "error"]
