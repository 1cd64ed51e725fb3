"""The organiser test specs shipped with the esorex cascades (header-only files, no esorex)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reflexng.organiser.spectest import run_spec

SPECS = sorted((Path(__file__).resolve().parents[2] / "cascades" / "tests").glob("*.json"))
MINE = [p for p in SPECS if p.name.startswith(("uves", "naco"))]


@pytest.mark.parametrize("spec", MINE, ids=[p.name for p in MINE])
def test_spec(spec):
    result = run_spec(spec)
    assert result.passed, "\n".join(result.diff)


def test_specs_exist():
    assert {p.name for p in MINE} >= {"uves_blue_calib.json", "naco_imaging.json"}
