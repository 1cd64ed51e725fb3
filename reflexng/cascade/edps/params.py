"""``<inst>_parameters.yaml`` as EDPS writes it.

Named sets, each with ``is_default``, optional ``tags`` / ``description``,
``workflow_parameters`` (the workflow parameters are declared here, not in the code),
``recipe_parameters`` keyed by task then full recipe parameter name
(``demo.demo_bias.sigma``) and optional ``packaging_parameters``. YAML anchors and merge
keys (``<<: *common``) work. A top-level mapping with none of those sections (a block that
only holds an anchor) is not a set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reflexng.cascade.errors import CascadeError
from reflexng.cascade.model import SourceLocation

SECTIONS = ("is_default", "tags", "description", "workflow_parameters", "recipe_parameters",
            "packaging_parameters")


@dataclass(frozen=True)
class EdpsParameterSet:
    name: str
    is_default: bool
    workflow_parameters: dict[str, Any] = field(default_factory=dict)
    recipe_parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    packaging_parameters: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    description: str = ""
    location: SourceLocation = SourceLocation("", 0)


def parameters_file(folder: Path, stem: str) -> Path | None:
    """The parameters file of a workflow: ``<inst>_parameters.yaml`` beside ``<inst>_wkf.py``
    (any ``*_parameters.yaml`` when there is exactly one)."""
    inst = stem[: -len("_wkf")] if stem.endswith("_wkf") else stem
    for name in (f"{inst}_parameters.yaml", f"{inst}_parameters.yml"):
        if (folder / name).is_file():
            return folder / name
    found = sorted(folder.glob("*_parameters.y*ml"))
    return found[0] if len(found) == 1 else None


def _bool(v: Any) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("yes", "true", "1", "on")
    return bool(v)


def read(path: Path) -> list[EdpsParameterSet]:
    """The parameter sets of a parameters file; CascadeError naming file and line when bad."""
    import yaml

    from reflexng.cascade.validate import _find_line

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CascadeError(f"cannot read the parameters file: {exc}", SourceLocation(str(path), 0)) from exc
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}  # noqa: S506
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        msg = str(exc).replace("\n", " ")
        raise CascadeError(f"cannot read the parameters file: {msg}",
                           SourceLocation(str(path), mark.line + 1 if mark is not None else 0)) from exc
    if not isinstance(data, dict):
        raise CascadeError("the parameters file must be a mapping of parameter set names",
                           SourceLocation(str(path), 1))
    out: list[EdpsParameterSet] = []
    for name, body in data.items():
        name = str(name)

        def where(key: str | None = None, name: str = name) -> SourceLocation:
            return SourceLocation(str(path), _find_line(str(path), name, key))

        if not isinstance(body, dict) or not any(k in body for k in SECTIONS):
            continue  # e.g. a block holding only an anchor
        unknown = [k for k in body if k not in SECTIONS and k != "<<"]
        if unknown:
            raise CascadeError(f"parameter set {name!r}: unknown section {unknown[0]!r}; expected one of "
                               + ", ".join(SECTIONS), where(str(unknown[0])))
        sections = {}
        for key in ("workflow_parameters", "recipe_parameters", "packaging_parameters"):
            v = body.get(key) or {}
            if not isinstance(v, dict):
                raise CascadeError(f"parameter set {name!r}: {key} must be a mapping", where(key))
            sections[key] = v
        rp: dict[str, dict[str, Any]] = {}
        for task, params in sections["recipe_parameters"].items():
            if params is None:
                continue
            if not isinstance(params, dict):
                raise CascadeError(f"parameter set {name!r}: recipe parameters of task {task!r} must be a "
                                   "mapping 'full.parameter.name: value'", where(str(task)))
            rp[str(task)] = {str(k): v for k, v in params.items()}
        tags = body.get("tags") or ()
        out.append(EdpsParameterSet(
            name, _bool(body.get("is_default", False)),
            {str(k): v for k, v in sections["workflow_parameters"].items()}, rp,
            dict(sections["packaging_parameters"]),
            tuple(str(t) for t in (tags if isinstance(tags, (list, tuple)) else [tags])),
            str(body.get("description", "") or ""), where()))
    defaults = [s for s in out if s.is_default]
    if len(defaults) > 1:
        raise CascadeError(f"parameter sets {defaults[0].name!r} and {defaults[1].name!r} are both "
                           "is_default: yes; only one set may be the default", defaults[1].location)
    return out


def default_set(sets: list[EdpsParameterSet]) -> EdpsParameterSet | None:
    """The set marked ``is_default``, else the first one."""
    for s in sets:
        if s.is_default:
            return s
    return sets[0] if sets else None


def recipe_parameter_names(recipe: str | None, params: dict[str, Any]) -> dict[str, Any]:
    """EDPS names recipe parameters in full (``demo.demo_bias.sigma``): esorex recipes take
    them so; reflexng's own recipes take the name after the recipe's."""
    out: dict[str, Any] = {}
    for k, v in params.items():
        if k == "OMP_NUM_THREADS":
            continue  # an EDPS execution setting, not a recipe parameter
        if recipe and not recipe.startswith("esorex:") and "." in k:
            bare = recipe.split(":", 1)[-1]
            k = k.split(f"{bare}.", 1)[1] if f"{bare}." in k else k.rsplit(".", 1)[-1]
        out[k] = v
    return out
