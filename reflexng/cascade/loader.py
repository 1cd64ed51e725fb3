"""Find and load cascade files (built-in ones by name, or any path) and their parameter sets."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import runpy
import sys
from pathlib import Path

from reflexng.cascade.builders import collecting
from reflexng.cascade.cascade import Cascade, ParameterSet
from reflexng.cascade.errors import CascadeError, CascadeValidationError, Problem
from reflexng.cascade.model import CascadeInfo, SourceLocation
from reflexng.cascade.validate import collector_problems
from reflexng.cascade.validate import validate as validate_cascade


def builtin_cascade_dir() -> Path:
    """The folder of cascades shipped with reflexng (``cascades/`` in the repository)."""
    from reflexng._paths import cascades_dir

    return cascades_dir()


def user_cascade_dirs() -> list[Path]:
    """Extra folders searched by name, in order: ``$REFLEXNG_CASCADE_PATH`` (os.pathsep
    separated), then ``cascades/`` in the platform's user data folder for reflexng."""
    raw = os.environ.get("REFLEXNG_CASCADE_PATH", "")
    dirs = [Path(p) for p in raw.split(os.pathsep) if p]
    try:
        import platformdirs

        dirs.append(Path(platformdirs.user_data_dir("reflexng", appauthor=False)) / "cascades")
    except Exception:  # no home folder (e.g. a locked-down CI user): env folders only
        pass
    return dirs


def find_cascade(name_or_path: str | os.PathLike) -> Path:
    """Resolve a cascade name (``demo_imaging``) or a path to a ``.py`` file."""
    p = Path(name_or_path)
    if p.suffix == ".py" or os.sep in str(name_or_path) or p.exists():
        if p.is_dir():
            from reflexng.cascade.edps import workflow_file

            wkf = workflow_file(p)
            if wkf is not None:  # an EDPS workflow package
                return wkf.resolve()
            raise CascadeError(f"{p} is a folder, not a cascade file; give the path of a cascade .py file "
                               "or a cascade name (see `reflexng cascade list`)", SourceLocation(str(p), 0))
        if not p.is_file():
            raise CascadeError(f"cascade file not found: {p}; check the path, or give a cascade name "
                               "(see `reflexng cascade list`)", SourceLocation(str(p), 0))
        return p.resolve()
    for folder in [*user_cascade_dirs(), builtin_cascade_dir()]:
        candidate = folder / f"{name_or_path}.py"
        if candidate.is_file():
            return candidate.resolve()
    found = find_workflow(str(name_or_path))
    if found is not None:
        return found
    known = ", ".join(sorted(c.stem for c in builtin_cascade_dir().glob("*.py") if not c.stem.startswith("_")))
    raise CascadeError(
        f"no cascade named {str(name_or_path)!r}; built-in cascades: {known or 'none'} "
        "(or give the path of a cascade .py file)",
        SourceLocation(str(name_or_path), 0),
    )


def workflow_dirs() -> list[Path]:
    """Folders searched for EDPS workflow packages: the cascade search path, the workflows of
    the pipelines installed with the ``esorex`` on PATH, configured workflow folders."""
    from reflexng.cascade.edps import configured_workflow_dirs, esorex_workflow_dirs

    return list(dict.fromkeys([*user_cascade_dirs(), *esorex_workflow_dirs(), *configured_workflow_dirs()]))


def find_workflow(name: str) -> Path | None:
    """An EDPS workflow by name: ``crires`` (its folder) or ``crires_wkf`` (its file)."""
    from reflexng.cascade.edps import workflows_in

    for folder in workflow_dirs():
        for wkf in workflows_in(folder):
            if name in (wkf.stem, wkf.parent.name, f"{wkf.parent.name}.{wkf.stem}"):
                return wkf.resolve()
    return None


def load(name_or_path: str | os.PathLike, validate: bool = True) -> Cascade:
    """Execute a cascade file and return the immutable :class:`Cascade` it defines.

    With ``validate=True`` (default) a cascade with errors raises
    :class:`CascadeValidationError` listing each ``path:line: message`` (warnings do not
    raise; see ``Cascade.validate()``). Helper modules imported from the cascade's folder
    (e.g. ``_common.py``) run afresh on every load, so their objects belong to this cascade.
    """
    path = find_cascade(name_or_path)
    if path.name.endswith("_wkf.py") or _imports_edps(path):
        from reflexng.cascade.edps import load_workflow

        cascade = load_workflow(path)
        if validate:
            errors = [p for p in validate_cascade(cascade, check_recipes=False) if p.severity == "error"]
            if errors:
                raise CascadeValidationError(errors)
        return cascade
    folder = str(path.parent)
    before = set(sys.modules)
    added_path = folder not in sys.path
    if added_path:
        sys.path.insert(0, folder)
    try:
        with collecting() as c:
            try:
                runpy.run_path(str(path), run_name=f"reflexng_cascade_{path.stem}")
            except CascadeError:
                raise
            except SystemExit as exc:
                raise CascadeError(f"the cascade file called exit({exc.code!r}) here; remove the call",
                                   _traceback_location(exc, path)) from exc
            except SyntaxError as exc:
                where = SourceLocation(exc.filename or str(path), exc.lineno or 0)
                raise CascadeError(f"syntax error: {exc.msg} (fix the cascade file at this line)", where) from exc
            except ModuleNotFoundError as exc:
                raise CascadeError(
                    f"the cascade imports {exc.name!r}, which is not installed: install it in reflexng's Python "
                    "environment, or fix the import", _traceback_location(exc, path)
                ) from exc
            except Exception as exc:
                raise CascadeError(
                    f"error while loading the cascade: {type(exc).__name__}: {exc} (fix the cascade file at this line)",
                    _traceback_location(exc, path)
                ) from exc
        for kind, name, loc in c.unbuilt.values():
            c.problems.append(Problem(f"{kind} {name!r} is never built (add .build() at the end)", loc))
    finally:
        if added_path:
            with contextlib.suppress(ValueError):
                sys.path.remove(folder)
        _forget_helper_modules(before, folder)
    info = c.info or CascadeInfo(name=path.stem, location=SourceLocation(str(path), 1))
    if not info.name:
        info = dataclasses.replace(info, name=path.stem)
    cascade = Cascade(
        info=info,
        path=str(path),
        data_sources={d.name: d for d in c.data_sources},
        tasks={t.name: t for t in c.tasks},
        workflow_parameters={w.name: w for w in c.workflow_parameters},
        parameter_sets=load_parameter_sets(path),
        load_problems=tuple(c.problems + collector_problems(c)),
    )
    if validate:
        errors = [p for p in validate_cascade(cascade, check_recipes=False) if p.severity == "error"]
        if errors:
            raise CascadeValidationError(errors)
    return cascade


def _imports_edps(path: Path) -> bool:
    """Whether a cascade file is an EDPS workflow module (``from edps import ...``)."""
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:20000]
    except OSError:
        return False
    return re.search(r"^\s*(from\s+edps[\s.]|import\s+edps\b)", head, re.M) is not None


def _forget_helper_modules(before: set[str], folder: str) -> None:
    """Drop modules first imported by the cascade from its own folder (they re-run next load)."""
    for name in set(sys.modules) - before:
        f = getattr(sys.modules.get(name), "__file__", None) or ""
        if f and os.path.dirname(os.path.abspath(f)) == folder:
            del sys.modules[name]


def _traceback_location(exc: BaseException, path: Path) -> SourceLocation:
    """The deepest traceback frame in the cascade file or a helper module beside it."""
    tb = exc.__traceback__
    loc = SourceLocation(str(path), 0)
    while tb is not None:
        f = os.path.abspath(tb.tb_frame.f_code.co_filename)
        if f == str(path) or os.path.dirname(f) == str(path.parent):
            loc = SourceLocation(f, tb.tb_lineno)
        tb = tb.tb_next
    return loc


def load_parameter_sets(cascade_path: Path) -> dict[str, ParameterSet]:
    """Parameter sets beside the cascade: ``<stem>.params.yaml`` / ``.yml`` / ``.toml``.

    File layout (YAML shown; TOML is the same structure)::

        default:
          description: the standard reduction
          workflow_parameters: {flat_strategy: close_in_time}
          recipe_parameters:
            bias: {sigma: 3.0}

    Raises :class:`CascadeError` naming the file and line of a malformed set.
    """
    from reflexng.cascade.validate import _find_line

    out: dict[str, ParameterSet] = {}
    for suffix in (".params.yaml", ".params.yml", ".params.toml"):
        f = cascade_path.with_name(cascade_path.stem + suffix)
        if not f.is_file():
            continue
        data = _read_mapping(f)
        for name, body in data.items():
            name = str(name)

            def where(key: str | None = None, name: str = name, f: Path = f) -> SourceLocation:
                return SourceLocation(str(f), _find_line(str(f), name, key))

            if name in out:
                raise CascadeError(f"parameter set {name!r} is also defined in {out[name].path}", where())
            if not isinstance(body, dict):
                raise CascadeError(f"parameter set {name!r} must be a mapping with workflow_parameters "
                                   "and/or recipe_parameters", where())
            unknown = set(body) - {"description", "workflow_parameters", "recipe_parameters"}
            if unknown:
                raise CascadeError(
                    f"parameter set {name!r}: unknown section(s) {sorted(unknown)}; expected "
                    "description, workflow_parameters, recipe_parameters",
                    where(sorted(unknown)[0]),
                )
            wp = body.get("workflow_parameters") or {}
            if not isinstance(wp, dict):
                raise CascadeError(f"parameter set {name!r}: workflow_parameters must be a mapping "
                                   "name: value", where("workflow_parameters"))
            rp = body.get("recipe_parameters") or {}
            if not isinstance(rp, dict):
                raise CascadeError(f"parameter set {name!r}: recipe_parameters must be a mapping "
                                   "task: {parameter: value}", where("recipe_parameters"))
            for task_name, params in rp.items():
                if params is not None and not isinstance(params, dict):
                    raise CascadeError(f"parameter set {name!r}: recipe parameters of task {task_name!r} "
                                       "must be a mapping parameter: value", where(str(task_name)))
            out[name] = ParameterSet(
                name=name,
                description=str(body.get("description", "")),
                workflow_parameters={str(k): v for k, v in wp.items()},
                recipe_parameters={str(k): dict(v or {}) for k, v in rp.items()},
                path=str(f),
            )
    return out


def _read_mapping(f: Path) -> dict:
    try:
        text = f.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CascadeError(f"cannot read parameter set file: {exc}", SourceLocation(str(f), 0)) from exc
    if f.suffix == ".toml":
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            try:
                import tomli as tomllib
            except ModuleNotFoundError:
                raise CascadeError("TOML parameter sets need Python >= 3.11 (or the tomli package); "
                                   "use a .params.yaml file instead", SourceLocation(str(f), 0)) from None
        try:
            data = tomllib.loads(text)
        except Exception as exc:  # tomllib.TOMLDecodeError: "... (at line 3, column 5)"
            m = re.search(r"line (\d+)", str(exc))
            raise CascadeError(f"cannot read parameter set file: {exc}",
                               SourceLocation(str(f), int(m.group(1)) if m else 0)) from exc
    else:
        import yaml

        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 0
            msg = str(exc).replace("\n", " ")
            raise CascadeError(f"cannot read parameter set file: {msg}", SourceLocation(str(f), line)) from exc
    if not isinstance(data, dict):
        raise CascadeError("parameter set file must be a mapping of set names", SourceLocation(str(f), 1))
    return data
