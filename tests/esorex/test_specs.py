"""The organiser test specs shipped with the esorex cascades (header-only files, no esorex)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reflexng.organiser.spectest import run_spec

SPECS = sorted((Path(__file__).resolve().parents[2] / "cascades" / "tests").glob("*.json"))
ESO = ("uves", "naco", "hawki", "giraffe", "vimos", "muse", "visir")
MINE = [p for p in SPECS if p.name.startswith(ESO)]


@pytest.mark.parametrize("spec", MINE, ids=[p.name for p in MINE])
def test_spec(spec):
    result = run_spec(spec)
    assert result.passed, "\n".join(result.diff)


def test_specs_exist():
    assert {p.name for p in MINE} >= {"uves_blue_calib.json", "naco_imaging.json", "naco_imaging_jitter.json",
                                      "uves_echelle.json", "hawki_imaging.json", "giraffe.json",
                                      "vimos_imaging.json", "muse.json", "visir_imaging.json"}


@pytest.mark.parametrize("name", ["hawki_imaging", "uves_echelle", "giraffe", "vimos_imaging", "muse",
                                  "naco_imaging", "visir_imaging", "uves_blue_calib"])
def test_shipped_eso_cascade_is_complete_by_its_recipes(esorex, name):
    """Every input the recipes require comes from the cascade, or is a static calibration
    of the pipeline's kit (which Debian does not ship)."""
    from reflexng.cascade import load
    from reflexng.recipes.esorex_completeness import check

    cascade = load(Path(__file__).resolve().parents[2] / "cascades" / f"{name}.py")
    missing = [f for f in check(cascade) if not f.satisfied]
    assert all("a static calibration not found" in f.message for f in missing), \
        [f.message for f in missing]
    assert all(t.recipe.startswith("esorex:") for t in cascade.tasks.values())
