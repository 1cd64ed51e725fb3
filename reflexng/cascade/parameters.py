"""Parameter precedence, written down once:

    recipe default  <  cascade (task recipe parameters, dynamic parameters)
                    <  parameter set  <  user override

Workflow parameters: cascade default < parameter set < user override. A recipe parameter
whose value is a :class:`WorkflowParameter` takes that workflow parameter's current value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reflexng.cascade.model import Task, WorkflowParameter


@dataclass(frozen=True)
class RuleContext:
    """What conditions, dynamic parameters and match functions receive.

    ``header`` is the first main file's header values (cascade keyword names), ``headers``
    those of every main file of the job.
    """

    workflow_parameters: Mapping[str, Any] = field(default_factory=dict)
    header: Mapping[str, Any] = field(default_factory=dict)
    headers: Sequence[Mapping[str, Any]] = ()
    task: str | None = None
    # the job's own job parameters (``Task.job_parameters``, EDPS dynamic parameters)
    job_parameters: Mapping[str, Any] = field(default_factory=dict)
    # the job's main files (organiser file records: ``path``, ``category``, ``headers``)
    files: Sequence[Any] = ()

    def get(self, keyword: str, default: Any = None) -> Any:
        return self.header.get(keyword, default)

    def workflow(self, name: str) -> Any:
        return self.workflow_parameters[name]

    def parameter(self, name: str, default: Any = None) -> Any:
        """A job parameter, else a workflow parameter, else ``default``."""
        if name in self.job_parameters:
            return self.job_parameters[name]
        return self.workflow_parameters.get(name, default)


def canonical_keyword(keyword: str) -> str:
    """The cascade name of a keyword written any way: ``dpr.type``, ``DPR.TYPE`` and
    ``HIERARCH ESO DPR TYPE`` are all ``DPR.TYPE``; ``mjd-obs`` is ``MJD-OBS``."""
    k = keyword.strip()
    up = k.upper()
    if up.startswith("HIERARCH ESO "):
        return ".".join(up[len("HIERARCH ESO "):].split())
    if up.startswith("HIERARCH "):
        return ".".join(up[len("HIERARCH "):].split())
    return up


class FileView:
    """A read-only view of one file for cascade code: ``f["dpr.type"]`` and
    ``f.get_keyword_value("dpr.type", default)`` (None / the default for a missing keyword),
    ``f.name`` (path), ``f.category``."""

    __slots__ = ("name", "category", "headers")

    def __init__(self, name: str, category: str | None, headers: Mapping[str, Any]) -> None:
        self.name = name
        self.category = category
        self.headers = headers

    @property
    def file_path(self) -> str:
        return self.name

    @property
    def classification(self) -> str | None:
        return self.category

    def get_keyword_value(self, keyword: str, default: Any = None) -> Any:
        v = self.headers.get(canonical_keyword(keyword))
        return default if v is None else v

    def __getitem__(self, keyword: str) -> Any:
        return self.headers.get(canonical_keyword(keyword))

    def get(self, keyword: str, default: Any = None) -> Any:
        return self.get_keyword_value(keyword, default)

    def __contains__(self, keyword: str) -> bool:
        return canonical_keyword(keyword) in self.headers

    def __repr__(self) -> str:
        return f"FileView({self.name!r}, {self.category!r})"


@dataclass
class JobParametersView:
    """``job.parameters`` of a :class:`JobEdit`."""

    recipe_parameters: dict[str, Any] = field(default_factory=dict)
    workflow_parameters: dict[str, Any] = field(default_factory=dict)

    def get_workflow_param(self, name: str, default: Any = None) -> Any:
        return self.workflow_parameters.get(name, default)


@dataclass
class JobEdit:
    """What a job-processing function (``Task.job_processing``) may change while the
    organiser makes a job: ``input_files`` (the main files, :class:`FileView`; drop or
    re-order), ``associated_files`` (associated raw/static files; drop), ``parameters.recipe_parameters``
    and ``command`` (the recipe). ``task_name``, ``parameters.workflow_parameters`` and
    ``setup`` are for reading."""

    task_name: str
    command: str
    input_files: list[FileView]
    parameters: JobParametersView
    associated_files: list[FileView] = field(default_factory=list)
    setup: dict[str, Any] = field(default_factory=dict)


def resolve_value(value: Any, workflow_parameters: Mapping[str, Any]) -> Any:
    """A :class:`WorkflowParameter` stands for its current value; anything else is itself."""
    if isinstance(value, WorkflowParameter):
        return workflow_parameters.get(value.name, value.default)
    return value


def workflow_values(
    cascade, parameter_set=None, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Workflow parameter values: cascade default < parameter set < user override.

    Raises ValueError naming the parameter for an unknown name or a value outside its choices.
    """
    values = {p.name: p.default for p in cascade.workflow_parameters.values()}
    for source, layer in (("parameter set", getattr(parameter_set, "workflow_parameters", None)), ("override", overrides)):
        for name, value in (layer or {}).items():
            p = cascade.workflow_parameters.get(name)
            if p is None:
                known = ", ".join(sorted(cascade.workflow_parameters)) or "none"
                raise ValueError(f"unknown workflow parameter {name!r} ({source}); known: {known}")
            if p.choices is not None and value not in p.choices:
                # values from the command line arrive as strings: match them against the choices
                matched = [c for c in p.choices if str(c) == str(value)]
                if not matched:
                    raise ValueError(f"workflow parameter {name!r}: {value!r} is not one of {list(p.choices)}")
                value = matched[0]
            values[name] = value
    return values


def task_parameters(
    task: Task,
    ctx: RuleContext,
    parameter_set=None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Cascade-level recipe parameters of one job (everything above the recipe defaults)."""
    wp = ctx.workflow_parameters
    params = {k: resolve_value(v, wp) for k, v in task.recipe_parameters.items()}
    for name, fn in task.dynamic_parameters.items():
        params[name] = fn(ctx)
    if parameter_set is not None:
        params.update(parameter_set.recipe_parameters.get(task.name, {}))
    if overrides:
        params.update(overrides.get(task.name, {}))
    return params


def effective_parameters(recipe_defaults: Mapping[str, Any], cascade_level: Mapping[str, Any]) -> dict[str, Any]:
    """The values a recipe runs with: its defaults overlaid with the cascade-level values."""
    return {**recipe_defaults, **cascade_level}
