"""Export a cascade as JSON (for tools and ``reflexng cascade show --format json``) and DOT.

JSON schema (``to_dict``)::

    {name, instrument, description, path, default_target, targets,
     workflow_parameters: [{name, default, choices, description}],
     tasks: [{name, recipe, main_input, associated_inputs: [{name, kind, min_ret, max_ret,
              conditional}], meta_targets, subworkflow, role, conditional, grouping_keywords,
              recipe_parameters, dynamic_parameters}],
     data_sources: [{name, classification: [{category, keywords, function}],
                     grouping_keywords, setup_keywords}],
     edges: [{source, target, role}]}

Rule values that are not plain data (predicates, workflow parameters) are written as
descriptive strings, e.g. ``"<predicate: exposure longer than 10 s>"``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from reflexng.cascade.graph import task_roles
from reflexng.cascade.model import WorkflowParameter, describe_value

if TYPE_CHECKING:  # pragma: no cover
    from reflexng.cascade.cascade import Cascade

ROLE_COLOURS = {"science": "#9ec5ea", "calibration": "#a8d5a2"}


def _plain(value: Any) -> Any:
    """A JSON-safe version of a rule or parameter value."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, WorkflowParameter):
        return f"<workflow parameter {value.name}>"
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if callable(value):
        return f"<predicate: {describe_value(value)}>"
    return str(value)


def to_dict(cascade: Cascade) -> dict[str, Any]:
    """The cascade as plain data (see the module docstring for the schema)."""
    roles = task_roles(cascade)
    tasks = []
    for t in cascade.tasks.values():
        tasks.append(
            {
                "name": t.name,
                "recipe": t.recipe_name,
                "main_input": t.main_input.name if t.main_input else None,
                "associated_inputs": [_input(a, group) for group, a in _inputs(t)],
                "meta_targets": list(t.meta_targets),
                "subworkflow": t.subworkflow,
                "role": roles[t.name],
                "conditional": t.condition is not None,
                "grouping_keywords": _plain(list(t.grouping_keywords)),
                "recipe_parameters": _plain(dict(t.recipe_parameters)),
                "dynamic_parameters": list(t.dynamic_parameters),
            }
        )
    data_sources = [
        {
            "name": d.name,
            "classification": [
                {
                    "category": r.category,
                    "keywords": _plain(dict(r.keywords)) if r.keywords is not None else None,
                    "function": getattr(r.function, "__name__", "function") if r.function else None,
                }
                for r in d.classification_rules
            ],
            "grouping_keywords": _plain(list(d.grouping_keywords)),
            "setup_keywords": list(d.setup_keywords),
        }
        for d in cascade.data_sources.values()
    ]
    return {
        "name": cascade.name,
        "instrument": cascade.instrument,
        "description": cascade.description,
        "path": cascade.path,
        "default_target": cascade.default_target,
        "targets": list(cascade.targets),
        "workflow_parameters": [
            {
                "name": p.name,
                "default": _plain(p.default),
                "choices": _plain(list(p.choices)) if p.choices is not None else None,
                "description": p.description,
            }
            for p in cascade.workflow_parameters.values()
        ],
        "tasks": tasks,
        "data_sources": data_sources,
        "edges": [{"source": e.source, "target": e.target, "role": e.role} for e in cascade.edges],
    }


def to_json(cascade: Cascade, indent: int | None = 2) -> str:
    """The cascade as a JSON string (``to_dict`` serialised)."""
    return json.dumps(to_dict(cascade), indent=indent)


# --------------------------------------------------------------------------- DOT


def _q(name: str) -> str:
    return '"' + str(name).replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(cascade: Cascade) -> str:
    """Graphviz DOT: data sources as grey boxes, tasks as ellipses coloured by role,
    main edges red/solid, associated edges black/dashed, subworkflows as clusters."""
    roles = task_roles(cascade)
    lines = [f"digraph {_q(cascade.name or 'cascade')} {{", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    for d in cascade.data_sources.values():
        lines.append(f"  {_q(d.name)} [shape=box, style=filled, fillcolor=lightgrey];")

    # subworkflow tree: "a/b" nests cluster b inside cluster a
    tree: dict = {"tasks": [], "children": {}}
    for t in cascade.tasks.values():
        node = tree
        for part in (t.subworkflow.split("/") if t.subworkflow else []):
            node = node["children"].setdefault(part, {"tasks": [], "children": {}})
        node["tasks"].append(t)
    counter = [0]

    def emit(node: dict, indent: str) -> None:
        for t in node["tasks"]:
            colour = ROLE_COLOURS[roles[t.name]]
            label = _q(f"{t.name}\n{t.recipe_name}" if t.recipe_name else t.name).replace("\n", "\\n")
            lines.append(
                f"{indent}{_q(t.name)} [shape=ellipse, style=filled, fillcolor={_q(colour)}, label={label}];"
            )
        for name, child in node["children"].items():
            counter[0] += 1
            lines.append(f"{indent}subgraph {_q(f'cluster_{counter[0]}_{name}')} {{")
            lines.append(f"{indent}  label={_q(name)}; style=rounded; color=grey40;")
            emit(child, indent + "  ")
            lines.append(f"{indent}}}")

    emit(tree, "  ")
    for e in cascade.edges:
        style = "color=red, style=solid" if e.role == "main" else "color=black, style=dashed"
        lines.append(f"  {_q(e.source)} -> {_q(e.target)} [{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _inputs(t) -> list[tuple[int | None, Any]]:
    """(alternatives group number or None, input) for every associated input of a task."""
    out: list[tuple[int | None, Any]] = []
    for i, a in enumerate(t.associated_inputs):
        if a.alternatives:
            out.extend((i, alt) for alt in a.alternatives)
        else:
            out.append((None, a))
    return out


def _input(a, group: int | None) -> dict[str, Any]:
    d: dict[str, Any] = {
        "name": a.name,
        "kind": a.source.kind,
        "min_ret": a.min_ret,
        "max_ret": a.max_ret,
        "conditional": a.condition is not None,
    }
    if a.categories:  # only present when used: native exports stay as they were
        d["categories"] = list(a.categories)
    if group is not None:
        d["alternative_group"] = group
    return d

