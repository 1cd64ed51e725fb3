"""Find recipes by name.

Where recipes come from, in order (the first definition of a name wins):

1. built-in modules declared in the entry-point group ``reflexng.recipes`` (each entry point is
   a list of :class:`~reflexng.recipes.protocol.Recipe` classes); a module that fails to import
   gives a warning and the others still load; then the modules named in
   ``$REFLEXNG_RECIPE_MODULES`` (importable module names, ``os.pathsep`` or comma separated,
   each with a ``RECIPES`` list) — this is how the test suite adds the ``test_*`` recipes of
   :mod:`reflexng.recipes.builtin.testing`, which users never see;
2. user recipe modules: every ``*.py`` in the folders of ``$REFLEXNG_RECIPE_PATH``
   (``os.pathsep`` separated) and of ``recipe_dirs`` in the configuration file; a module lists
   its recipes in ``RECIPES`` (otherwise every Recipe subclass with a name is taken);
3. external command recipes from the configuration file::

       [command_recipes.my_tool]
       command = "mytool --sigma {sigma} {inputs_sof} {output_dir}"
       version = "1.0"
       parameters = { sigma = 3.0 }
       products = "*.fits"          # glob in the output folder
       category = "MY_PRODUCT"      # used when a product has no ESO PRO CATG

   known by name (``my_tool``) and as ``command:my_tool``;
4. ``esorex:<recipe>`` names are delegated to :mod:`reflexng.recipes.esorex` (imported lazily).

The configuration file is ``config.toml`` in the platform's user config folder for
``reflexng`` (``$REFLEXNG_CONFIG`` names another file).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
import threading
import warnings
from pathlib import Path
from typing import Any

from reflexng.recipes.placeholder import get_recipe as placeholder_recipe
from reflexng.recipes.placeholder import is_placeholder
from reflexng.recipes.protocol import Recipe, UnknownRecipeError

__all__ = ["UnknownRecipeError", "config_path", "get_recipe", "known_recipes", "recipe_dirs", "recipe_kind", "reload"]

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "reflexng.recipes"
ESOREX_PREFIX = "esorex:"
COMMAND_PREFIX = "command:"


_lock = threading.RLock()
_cache: dict[str, Any] | None = None
_cache_key: tuple | None = None


def config_path() -> Path:
    """The configuration file (``$REFLEXNG_CONFIG`` or ``<user config dir>/config.toml``)."""
    env = os.environ.get("REFLEXNG_CONFIG")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_config_dir("reflexng")) / "config.toml"


def load_config() -> dict[str, Any]:
    """The configuration as a dict ({} when the file does not exist or cannot be read)."""
    path = config_path()
    if not path.is_file():
        return {}
    try:
        import tomllib

        return tomllib.loads(path.read_text(encoding="utf-8"))
    except Exception as exc:  # a broken config must not stop the application
        warnings.warn(f"cannot read the configuration {path}: {exc}; ignoring it", stacklevel=2)
        return {}


def recipe_dirs(config: dict[str, Any] | None = None) -> list[Path]:
    """Folders searched for user recipe modules."""
    cfg = load_config() if config is None else config
    out = [Path(p) for p in os.environ.get("REFLEXNG_RECIPE_PATH", "").split(os.pathsep) if p]
    dirs = cfg.get("recipe_dirs") or []
    if isinstance(dirs, str):
        dirs = [dirs]
    out += [Path(os.path.expanduser(str(d))) for d in dirs]
    return out


def _recipes_in(obj: Any, origin: str) -> list[Any]:
    if isinstance(obj, type) and issubclass(obj, Recipe):
        obj = [obj]
    out = []
    for r in obj or []:
        if not getattr(r, "name", ""):
            warnings.warn(f"{origin}: recipe {r!r} has no name; skipped", stacklevel=3)
            continue
        out.append(r)
    return out


def _entry_point_recipes(found: dict[str, Any]) -> None:
    from importlib.metadata import entry_points

    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            recipes = _recipes_in(ep.load(), f"entry point {ep.name}")
        except Exception as exc:
            warnings.warn(
                f"recipe module {ep.value} (entry point {ep.name!r}) failed to import: "
                f"{type(exc).__name__}: {exc}; its recipes are not available",
                stacklevel=3,
            )
            continue
        for r in recipes:
            found.setdefault(r.name, r)


def module_names() -> list[str]:
    """The modules named in ``$REFLEXNG_RECIPE_MODULES``."""
    text = os.environ.get("REFLEXNG_RECIPE_MODULES", "")
    return [m.strip() for part in text.split(os.pathsep) for m in part.split(",") if m.strip()]


def _module_recipes(found: dict[str, Any]) -> None:
    for name in module_names():
        try:
            recipes = _recipes_in(getattr(importlib.import_module(name), "RECIPES", None), name)
        except Exception as exc:
            warnings.warn(f"recipe module {name} (REFLEXNG_RECIPE_MODULES) failed to import: "
                          f"{type(exc).__name__}: {exc}; its recipes are not available", stacklevel=3)
            continue
        for r in recipes:
            found.setdefault(r.name, r)


def load_module_file(path: Path) -> Any:
    """Import a user recipe module from a file (module name ``reflexng_user_recipes.<stem>``)."""
    name = f"reflexng_user_recipes.{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _user_recipes(found: dict[str, Any], dirs: list[Path]) -> None:
    for d in dirs:
        if not d.is_dir():
            continue
        for f in sorted(d.glob("*.py")):
            if f.name.startswith("_"):
                continue
            try:
                module = load_module_file(f)
            except Exception as exc:
                warnings.warn(f"user recipe module {f} failed to import: {type(exc).__name__}: {exc} "
                              "(its recipes are missing; fix the file or move it off the recipe path)", stacklevel=3)
                continue
            listed = getattr(module, "RECIPES", None)
            if listed is None:
                listed = [
                    v for v in vars(module).values()
                    if isinstance(v, type) and issubclass(v, Recipe) and v is not Recipe
                    and v.__module__ == module.__name__ and v.name
                ]
            for r in _recipes_in(listed, str(f)):
                found.setdefault(r.name, r)


def _command_recipes(found: dict[str, Any], cfg: dict[str, Any]) -> None:
    from reflexng.recipes.command import CommandRecipe

    for name, body in (cfg.get("command_recipes") or {}).items():
        try:
            r = CommandRecipe.from_config(name, body)
        except (TypeError, ValueError) as exc:
            warnings.warn(f"command recipe {name!r} in {config_path()}: {exc}", stacklevel=3)
            continue
        found.setdefault(name, r)
        found.setdefault(COMMAND_PREFIX + name, r)


def _all() -> dict[str, Any]:
    global _cache, _cache_key
    with _lock:
        cfg = load_config()
        dirs = recipe_dirs(cfg)
        key = (tuple(str(d) for d in dirs), str(config_path()), repr(cfg.get("command_recipes")),
               tuple(module_names()))
        if _cache is None or key != _cache_key:
            found: dict[str, Any] = {}
            _entry_point_recipes(found)
            _module_recipes(found)
            _user_recipes(found, dirs)
            _command_recipes(found, cfg)
            _cache, _cache_key = found, key
        return _cache


def reload() -> None:
    """Forget what was found (the next lookup searches again)."""
    global _cache
    with _lock:
        _cache = None


def _esorex_module():
    from reflexng.recipes import esorex  # imported when an esorex: name is first asked for

    return esorex


def get_recipe(name: str) -> Any:
    """The recipe called ``name`` as an object following the protocol (classes are instantiated).

    Raises :class:`UnknownRecipeError` naming the known recipes.
    """
    if name.startswith(ESOREX_PREFIX):
        return _esorex_module().get_recipe(name[len(ESOREX_PREFIX) :])
    if is_placeholder(name):  # --placeholder-recipes
        return placeholder_recipe(name)
    found = _all()
    r = found.get(name)
    if r is None:
        known = ", ".join(sorted(n for n in found if not n.startswith(COMMAND_PREFIX))) or "none"
        raise UnknownRecipeError(
            f"no recipe named {name!r}; known recipes: {known} (ESO recipes are named 'esorex:<recipe>'; "
            "user recipes come from REFLEXNG_RECIPE_PATH or recipe_dirs in the configuration)"
        )
    return r() if isinstance(r, type) else r


def known_recipes(include_esorex: bool = False) -> dict[str, str]:
    """Recipe name -> version of every recipe found (``esorex:`` ones too when asked)."""
    out = {n: str(getattr(r, "version", "")) for n, r in _all().items() if not n.startswith(COMMAND_PREFIX)}
    if include_esorex:
        try:
            listed = _esorex_module().list_recipes()
        except Exception as exc:  # esorex missing or broken: say so, keep the rest
            warnings.warn(f"cannot list esorex recipes: {exc}", stacklevel=2)
            listed = {}
        items = listed.items() if isinstance(listed, dict) else (
            (getattr(x, "name", x), getattr(x, "version", "")) for x in listed
        )
        for n, v in items:
            out[n if str(n).startswith(ESOREX_PREFIX) else ESOREX_PREFIX + str(n)] = str(v or "")
    return dict(sorted(out.items()))


def recipe_kind(name: str) -> str:
    """``python``, ``command``, ``esorex`` or ``function`` (``python:<fn>`` function tasks)."""
    if name.startswith(ESOREX_PREFIX):
        return "esorex"
    if name.startswith("python:"):
        return "function"
    r = _all().get(name)
    from reflexng.recipes.command import CommandRecipe

    return "command" if isinstance(r, CommandRecipe) else "python"


def _register_with_validator() -> None:
    from reflexng.cascade.validate import register_recipe_lookup

    register_recipe_lookup(lambda include_esorex: known_recipes(include_esorex=include_esorex), get_recipe)


_register_with_validator()
