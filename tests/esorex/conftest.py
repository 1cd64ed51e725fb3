"""Fixtures for tests that run real ESO recipes through esorex.

A test needing esorex FAILS when ``CI=true`` (CI installs esorex and the eight Debian
pipelines with apt) and is skipped otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _esorex_ok() -> bool:
    from reflexng.recipes.esorex import esorex_available, list_recipes

    if not esorex_available():
        return False
    pipelines = {r.pipeline for r in list_recipes()}
    return set(PIPELINES) <= pipelines


PIPELINES = ("amber", "giraf", "hawki", "muse", "naco", "uves", "vimos", "visir")


def require_esorex() -> None:
    if _esorex_ok():
        return
    msg = "esorex with the eight Debian ESO pipelines is not installed"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(msg + " (CI=true: apt-get install esorex "
                    + " ".join(f"cpl-plugin-{p}" for p in PIPELINES) + ")")
    pytest.skip(msg)


@pytest.fixture(autouse=True)
def _esorex_cache(tmp_path_factory, monkeypatch):
    """A private schema cache per test session (never the user's cache)."""
    monkeypatch.setenv("REFLEXNG_ESOREX_CACHE", str(tmp_path_factory.getbasetemp() / "esorex-cache"))


@pytest.fixture
def esorex():
    require_esorex()


@pytest.fixture(scope="session")
def uves_data(tmp_path_factory) -> tuple[Path, dict]:
    """Two nights of UVES blue biases and darks (different levels per night)."""
    from reflexng.simulate import eso

    out = tmp_path_factory.mktemp("uves_raw")
    return out, eso.generate("uves", out, nights=2, seed=3)


@pytest.fixture(scope="session")
def naco_data(tmp_path_factory) -> tuple[Path, dict]:
    """One night of NACO darks and twilight flats in two detector settings (DIT / mode)."""
    from reflexng.simulate import eso

    out = tmp_path_factory.mktemp("naco_raw")
    return out, eso.generate("naco", out, nights=1, seed=4)
