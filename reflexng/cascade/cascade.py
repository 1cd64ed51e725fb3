"""The immutable ``Cascade``: data sources, tasks, edges, workflow parameters, metadata."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from reflexng.cascade.model import CascadeInfo, DataSource, Task, WorkflowParameter


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
    info: CascadeInfo
    path: str
    data_sources: Mapping[str, DataSource]
    tasks: Mapping[str, Task]
    workflow_parameters: Mapping[str, WorkflowParameter] = field(default_factory=dict)
    parameter_sets: Mapping[str, ParameterSet] = field(default_factory=dict)

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
            for a in t.associated_inputs:
                out.append(Edge(a.source.name, t.name, "associated"))
        return out

    def workflow_defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.workflow_parameters.values()}
