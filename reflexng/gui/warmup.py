"""Import what the first inspection and the first job will need, while the user is still
choosing data (Qt-free; run in a worker). First-time imports of large modules (scipy.stats,
matplotlib, astropy.table) otherwise happen in the middle of a run and compete with the
event loop for the interpreter lock."""

from __future__ import annotations

import importlib
from collections.abc import Iterable

VIEWER_MODULES = (
    "astropy.visualization",
    "astropy.wcs",
    "astropy.table",
    "astropy.coordinates",
    "matplotlib.figure",
    "matplotlib.backends.backend_agg",
)


def warm_imports(modules: Iterable[str] = VIEWER_MODULES) -> list[str]:
    """Import ``modules``; return those that could not be imported (never raises)."""
    failed = []
    for m in modules:
        try:
            importlib.import_module(m)
        except Exception:
            failed.append(m)
    return failed


def warm_recipes(recipe_names: Iterable[str]) -> list[str]:
    """Look up each recipe once (imports its module and reads its parameter specs); return
    the names that are unknown here (the engine reports those properly when a job runs)."""
    failed = []
    from reflexng.recipes.registry import get_recipe

    for name in dict.fromkeys(recipe_names):
        if not name or name.startswith("python:"):
            continue
        try:
            get_recipe(name)
        except Exception:
            failed.append(name)
    return failed
