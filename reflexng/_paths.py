"""Where the shipped ``cascades/`` and ``resources/`` folders are.

After ``pip install .`` they are the packages ``reflexng._cascades`` and ``reflexng._resources``.
When reflexng runs straight from a source checkout (``python -m reflexng`` inside a clone, where
the checkout's ``reflexng/`` shadows the installed package), they are the top-level folders of
the checkout.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path


def package_data_dir(name: str) -> Path:
    """``name`` is "cascades" or "resources"."""
    try:
        return Path(str(importlib.resources.files(f"reflexng._{name}")))
    except ModuleNotFoundError:
        checkout = Path(__file__).resolve().parent.parent / name
        if checkout.is_dir():
            return checkout
        raise ModuleNotFoundError(
            f"reflexng's {name}/ folder is missing: reinstall reflexng (pip install .)"
        ) from None


def cascades_dir() -> Path:
    return package_data_dir("cascades")


def resources_dir() -> Path:
    return package_data_dir("resources")
