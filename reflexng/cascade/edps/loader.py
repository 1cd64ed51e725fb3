"""Load an EDPS workflow package (a folder with ``<inst>_wkf.py``) unmodified.

The folder is imported as a package, so its relative imports and helper modules work. While
it loads, ``edps`` (and ``edps.generator.time_range``) are reflexng's implementation
(:mod:`reflexng.cascade.edps.api`): the modules are placed in ``sys.modules`` and a meta-path
finder answers for other ``edps.*`` names only for the duration of the load; afterwards
everything is removed again and a real EDPS installation, if imported before, is restored.
The collected objects are then assembled into a :class:`~reflexng.cascade.Cascade`
(dialect ``edps``): unnamed data sources get names, unused data sources are dropped, bare
recipe names run through esorex, ``<inst>_parameters.yaml`` gives the workflow parameters
and parameter sets.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import itertools
import os
import re
import sys
import threading
import types
from pathlib import Path

from reflexng.cascade.builders import collecting
from reflexng.cascade.cascade import Cascade, ParameterSet
from reflexng.cascade.errors import CascadeError, Problem
from reflexng.cascade.model import (
    AssociatedInput,
    CascadeInfo,
    DataSource,
    InputRef,
    SourceLocation,
    Task,
    WorkflowParameter,
)
from reflexng.cascade.parameters import canonical_keyword

from . import api, params, time_range
from .api import ANON_PREFIX, _ParamRef
from .params import default_set, recipe_parameter_names

_LOCK = threading.RLock()
_COUNTER = itertools.count(1)
WKF_SUFFIX = "_wkf.py"


# --------------------------------------------------------------------------- finding


def is_workflow_file(path: Path) -> bool:
    """``<inst>_wkf.py`` (the entry module of an EDPS workflow package)."""
    return path.name.endswith(WKF_SUFFIX) and path.is_file()


def workflow_file(folder: Path) -> Path | None:
    """The ``*_wkf.py`` of a workflow folder: ``<folder>_wkf.py`` first, else the only one."""
    own = folder / f"{folder.name}{WKF_SUFFIX}"
    if own.is_file():
        return own
    found = sorted(folder.glob(f"*{WKF_SUFFIX}"))
    if len(found) == 1:
        return found[0]
    if found:
        names = ", ".join(f.name for f in found)
        raise CascadeError(f"the workflow folder holds several workflows ({names}); give the path of "
                           "the one you want", SourceLocation(str(folder), 0))
    return None


def workflows_in(folder: Path) -> list[Path]:
    """Every ``*_wkf.py`` in ``folder`` and its sub-folders (two levels: ``<pipe>/<inst>/``)."""
    out: list[Path] = []
    if not folder.is_dir():
        return out
    for pattern in (f"*{WKF_SUFFIX}", f"*/*{WKF_SUFFIX}", f"*/*/*{WKF_SUFFIX}"):
        out.extend(p for p in sorted(folder.glob(pattern)) if not p.name.startswith("_"))
    return list(dict.fromkeys(out))


def esorex_workflow_dirs() -> list[Path]:
    """Where ESO's pipeline kits install EDPS workflows, for the ``esorex`` on PATH:
    ``<prefix>/share/esopipes/workflows/`` (``<prefix>/bin/esorex``)."""
    import shutil

    exe = shutil.which("esorex")
    if not exe:
        return []
    out = []
    for e in dict.fromkeys([exe, os.path.realpath(exe)]):
        prefix = Path(e).resolve().parent.parent if e == os.path.realpath(exe) else Path(e).parent.parent
        d = prefix / "share" / "esopipes" / "workflows"
        if d.is_dir():
            out.append(d)
    return list(dict.fromkeys(out))


def configured_workflow_dirs() -> list[Path]:
    """``workflow_dirs`` of reflexng's configuration, then EDPS's own ``workflow_dir`` setting
    (``~/.edps/application.properties``)."""
    out: list[Path] = []
    try:  # the configuration file belongs to the recipe registry (a layer up: looked up by name)
        dirs = importlib.import_module("reflexng.recipes.registry").load_config().get("workflow_dirs") or []
        if isinstance(dirs, str):
            dirs = [dirs]
        out += [Path(os.path.expanduser(str(d))) for d in dirs]
    except Exception:  # no configuration: nothing configured
        pass
    props = Path.home() / ".edps" / "application.properties"
    try:
        for line in props.read_text(encoding="utf-8").splitlines():
            m = re.match(r"\s*workflow_dir\s*[=:]\s*(.+?)\s*$", line)
            if m:
                out.append(Path(os.path.expanduser(m.group(1))))
    except OSError:
        pass
    return out


# --------------------------------------------------------------------------- the scoped edps modules


class _Finder(importlib.abc.MetaPathFinder):
    """Answers ``edps.<anything else>`` while a workflow loads: an unsupported feature."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "edps" or fullname.startswith("edps."):
            return importlib.machinery.ModuleSpec(fullname, _UnsupportedLoader())
        return None


class _UnsupportedLoader(importlib.abc.Loader):
    def create_module(self, spec):
        raise api.unsupported(f"module {spec.name}")

    def exec_module(self, module):  # pragma: no cover - create_module raises
        pass


def _edps_modules() -> dict[str, types.ModuleType]:
    edps = types.ModuleType("edps", "reflexng's implementation of the EDPS workflow API")
    for name in api.NAMES:
        setattr(edps, name, getattr(api, name))
    edps.__all__ = sorted(api.NAMES)
    edps.__getattr__ = api.module_getattr
    edps.__path__ = []  # a package: its other submodules go to the finder
    generator = types.ModuleType("edps.generator")
    generator.__path__ = []
    generator.__getattr__ = api.module_getattr
    generator.time_range = time_range
    edps.generator = generator
    return {"edps": edps, "edps.generator": generator, "edps.generator.time_range": time_range}


# --------------------------------------------------------------------------- loading


def load_workflow(path: Path) -> Cascade:
    """Import the workflow package of ``path`` (a ``*_wkf.py`` file or its folder) and
    assemble the cascade. Raises :class:`CascadeError` naming the workflow's file and line."""
    path = Path(path).resolve()
    if path.is_dir():
        wkf = workflow_file(path)
        if wkf is None:
            raise CascadeError(f"{path} holds no EDPS workflow (*{WKF_SUFFIX})", SourceLocation(str(path), 0))
        path = wkf
    folder = path.parent
    pkg = "_reflexng_wkf{}_{}".format(next(_COUNTER), re.sub(r"\W", "_", folder.name))
    with _LOCK:
        api.reset()
        saved = {k: sys.modules.pop(k) for k in list(sys.modules) if k == "edps" or k.startswith("edps.")}
        finder = _Finder()
        sys.meta_path.insert(0, finder)
        sys.modules.update(_edps_modules())
        try:
            with collecting() as c:
                _import(pkg, folder, path)
            modules = [m for k, m in sys.modules.items() if k == pkg or k.startswith(pkg + ".")]
            wkf_module = sys.modules.get(f"{pkg}.{path.stem}")
            extra = _keywords_of(modules)
        finally:
            for k in [k for k in sys.modules if k == pkg or k.startswith(pkg + ".")
                      or k == "edps" or k.startswith("edps.")]:
                del sys.modules[k]
            sys.modules.update(saved)
            if finder in sys.meta_path:
                sys.meta_path.remove(finder)
    problems = [Problem(f"{kind} {_shown(name)!r} is never built (add .build() at the end)", loc)
                for kind, name, loc in c.unbuilt.values()]
    pfile = params.parameters_file(folder, path.stem)
    sets = params.read(pfile) if pfile is not None else []
    return _assemble(c, path, wkf_module, sets, pfile, extra, problems)


def _shown(name: str) -> str:
    return "(unnamed data source)" if name.startswith(ANON_PREFIX) else name


def _import(pkg: str, folder: Path, path: Path) -> None:
    init = folder / "__init__.py"
    if init.is_file():
        spec = importlib.util.spec_from_file_location(pkg, init, submodule_search_locations=[str(folder)])
    else:
        spec = importlib.machinery.ModuleSpec(pkg, None, is_package=True)
        spec.submodule_search_locations = [str(folder)]
    module = importlib.util.module_from_spec(spec)
    sys.modules[pkg] = module
    try:
        if spec.loader is not None:
            spec.loader.exec_module(module)
        importlib.import_module(f"{pkg}.{path.stem}")
    except CascadeError:
        raise
    except SyntaxError as exc:
        where = SourceLocation(exc.filename or str(path), exc.lineno or 0)
        raise CascadeError(f"syntax error: {exc.msg} (fix the workflow file at this line)", where) from exc
    except ModuleNotFoundError as exc:
        raise CascadeError(f"the workflow imports {exc.name!r}, which is not installed: install it in "
                           "reflexng's Python environment, or fix the import", _tb_location(exc, folder, path)) from exc
    except Exception as exc:
        raise CascadeError(f"error while loading the workflow: {type(exc).__name__}: {exc} (fix the "
                           "workflow file at this line)", _tb_location(exc, folder, path)) from exc


def _tb_location(exc: BaseException, folder: Path, path: Path) -> SourceLocation:
    """The deepest traceback frame in the workflow folder."""
    tb = exc.__traceback__
    loc = SourceLocation(str(path), 0)
    root = str(folder)
    while tb is not None:
        f = os.path.abspath(tb.tb_frame.f_code.co_filename)
        if os.path.dirname(f) == root:
            loc = SourceLocation(f, tb.tb_lineno)
        tb = tb.tb_next
    return loc


_KW = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*(\.[A-Za-z0-9_\-]+)*$")


def _keywords_of(modules: list[types.ModuleType]) -> tuple[str, ...]:
    """Keyword names the workflow's functions may read: the string values of its modules'
    globals (``arm = "ARM"`` in ``<inst>_keywords.py``) and the strings inside its functions
    (the scanner extracts only the keywords it is told about)."""
    out: dict[str, None] = {}

    def add(s: str, loose: bool) -> None:
        if len(s) <= 60 and _KW.match(s) and (loose or "." in s or "-" in s):
            out[canonical_keyword(s)] = None

    def consts(code: types.CodeType) -> None:
        for c in code.co_consts:
            if isinstance(c, str):
                add(c, True)
            elif isinstance(c, types.CodeType):
                consts(c)

    for m in modules:
        for v in list(vars(m).values()):
            if isinstance(v, str):  # module-level names: kwd.arm = "ARM" is a keyword too
                add(v, True)
            elif isinstance(v, types.FunctionType) and v.__module__ == m.__name__:
                consts(v.__code__)
        if len(out) > 600:
            break
    return tuple(out)


# --------------------------------------------------------------------------- assembly


class KeywordParameter(WorkflowParameter):
    """A workflow parameter named as ``$param`` in grouping keywords: it holds keyword names."""

    keyword_values = True


def _assemble(c, path: Path, module, sets, pfile, extra, problems) -> Cascade:
    # --- names for unnamed data sources (from their categories), unique among all names
    task_names = {t.name for t in c.tasks}
    taken = set(task_names) | {d.name for d in c.data_sources if not d.name.startswith(ANON_PREFIX)}
    rename: dict[str, str] = {}
    for d in c.data_sources:
        if d.name.startswith(ANON_PREFIX):
            base = "_".join(d.categories) if d.categories else "data_source"
            base = base[:60] or "data_source"
            name, n = base, 1
            while name in taken:
                n += 1
                name = f"{base}_{n}"
            taken.add(name)
            rename[d.name] = name
    # --- workflow parameters from the parameters file
    dflt = default_set(sets)
    referenced = {k.name for d in c.data_sources for k in d.grouping_keywords if isinstance(k, _ParamRef)}
    referenced |= {k.name for t in c.tasks for k in t.grouping_keywords if isinstance(k, _ParamRef)}
    wps: dict[str, WorkflowParameter] = {}
    loc_of = {}
    for s in sets:
        for name, value in s.workflow_parameters.items():
            if name not in wps or (dflt is not None and s.name == dflt.name):
                cls = KeywordParameter if name in referenced else WorkflowParameter
                wps[name] = cls(name, value, None, "", s.location)
                loc_of[name] = s.location

    def kw(items, loc):
        out = []
        for k in items:
            if isinstance(k, _ParamRef):
                p = wps.get(k.name)
                if p is None:
                    raise CascadeError(f"grouping keyword ${k.name}: workflow parameter {k.name!r} is not "
                                       f"declared in the parameters file ({pfile.name if pfile else 'none found'})", loc)
                out.append(p)
            else:
                out.append(k)
        return tuple(out)

    def ref(r: InputRef | None) -> InputRef | None:
        if r is not None and r.name in rename:
            return InputRef(rename[r.name], r.kind)
        return r

    def assoc(a: AssociatedInput) -> AssociatedInput:
        return dataclasses.replace(a, source=ref(a.source), alternatives=tuple(assoc(x) for x in a.alternatives))

    recipes = _recipe_names()
    tasks: list[Task] = []
    for t in c.tasks:
        recipe = t.recipe
        if recipe and ":" not in recipe and recipe not in recipes:
            recipe = "esorex:" + recipe  # a bare CPL recipe name runs through esorex
        rp = dict(recipe_parameter_names(recipe, dflt.recipe_parameters.get(t.name, {}))) if dflt else {}
        tasks.append(dataclasses.replace(
            t, recipe=recipe, main_input=ref(t.main_input), recipe_parameters=rp,
            associated_inputs=tuple(assoc(a) for a in t.associated_inputs),
            grouping_keywords=kw(t.grouping_keywords, t.call_locations.get("with_grouping_keywords", t.location))))
    used = set()
    for t in tasks:
        if t.main_input is not None:
            used.add(t.main_input.name)
        used.update(a.source.name for a in t.all_associated_inputs())
    data_sources = []
    for d in c.data_sources:
        d = dataclasses.replace(d, name=rename.get(d.name, d.name), grouping_keywords=kw(d.grouping_keywords, d.location))
        if d.name in used:  # EDPS ignores data sources no task uses
            data_sources.append(d)
    psets = {}
    for s in sets:
        rps = {}
        for tname, prm in s.recipe_parameters.items():
            t = next((x for x in tasks if x.name == tname), None)
            rps[tname] = recipe_parameter_names(t.recipe if t else None, prm)
        desc = s.description or (("tags: " + ", ".join(s.tags)) if s.tags else "")
        if s is dflt:
            desc = (desc + "; " if desc else "") + "the default set"
        psets[s.name] = ParameterSet(s.name, desc, dict(s.workflow_parameters), rps, str(pfile))
    # keywords cascade functions read: their constants, and $param values of every set
    extra_kw = list(extra)
    for s in sets:
        for name in referenced:
            v = s.workflow_parameters.get(name)
            for x in v if isinstance(v, (list, tuple)) else [v]:
                if isinstance(x, str):
                    extra_kw.append(canonical_keyword(x))
    stem = path.stem
    inst = stem[: -len("_wkf")] if stem.endswith("_wkf") else stem
    name = path.parent.name if inst == path.parent.name else stem
    doc = (getattr(module, "__title__", None) or (module.__doc__ or "").strip().split("\n")[0]) if module else ""
    science = any("science" in t.meta_targets for t in tasks)
    info = CascadeInfo(name, path.parent.name.upper(), str(doc or f"EDPS workflow {stem}"),
                       "science" if science else None, SourceLocation(str(path), 1), "edps",
                       tuple(dict.fromkeys(extra_kw)))
    if c.info is not None:  # a native metadata(...) call wins
        info = dataclasses.replace(c.info, dialect="edps", extra_keywords=info.extra_keywords)
    from reflexng.cascade.validate import collector_problems

    return Cascade(info=info, path=str(path), data_sources={d.name: d for d in data_sources},
                   tasks={t.name: t for t in tasks}, workflow_parameters=wps, parameter_sets=psets,
                   load_problems=tuple(problems + collector_problems(c)))


def _recipe_names() -> set[str]:
    """Names of reflexng's own recipes (built-in, user, command): those run as they are."""
    try:  # the recipe registry is a layer up: looked up by name, like validation does
        return set(importlib.import_module("reflexng.recipes.registry").known_recipes())
    except Exception:  # no registry: every bare name is an ESO recipe
        return set()


__all__ = ["KeywordParameter", "configured_workflow_dirs", "esorex_workflow_dirs", "is_workflow_file",
           "load_workflow", "workflow_file", "workflows_in"]
_ = DataSource
