"""Shared fixtures: one small simulated imaging data set (256 px) and its calibration chain,
run with the recipes called in-process (recipe.run)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reflexng.recipes.builtin.imaging import (
    CoaddRecipe,
    MasterBias,
    MasterDark,
    MasterFlat,
    PhotometryRecipe,
    ScienceReduction,
)
from reflexng.simulate.imaging import generate

SIZE = 256


@pytest.fixture(scope="session")
def imaging_data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo_imaging_data")
    generate(out, nights=1, seed=5, size=SIZE)
    return out


@pytest.fixture(scope="session")
def truth(imaging_data) -> dict:
    return json.loads((imaging_data / "truth_imaging.json").read_text())


def raw_files(data: Path, truth: dict, kind: str, **match) -> list[str]:
    return sorted(str(data / "raw" / name) for name, r in truth["frames"].items()
                  if r["type"] == kind and r["binning"] == 1 and all(r.get(k) == v for k, v in match.items()))


class Chain:
    """Runs the recipes in order, each into its own output folder, keeping the results."""

    def __init__(self, data: Path, truth: dict, work: Path) -> None:
        self.data, self.truth, self.work = data, truth, work
        self.results = {}

    def run(self, recipe, inputs, name, **params):
        out = self.work / name
        out.mkdir(parents=True, exist_ok=True)
        res = recipe().run(inputs, params, out)
        self.results[name] = res
        return res


@pytest.fixture(scope="session")
def chain(imaging_data, truth, tmp_path_factory) -> Chain:
    c = Chain(imaging_data, truth, tmp_path_factory.mktemp("demo_imaging_work"))
    d, t = imaging_data, truth
    mb = c.run(MasterBias, [(f, "BIAS") for f in raw_files(d, t, "BIAS")], "bias").products[0][0]
    md = c.run(MasterDark, [(f, "DARK") for f in raw_files(d, t, "DARK")] + [(mb, "MASTER_BIAS")],
               "dark").products[0][0]
    mf = c.run(MasterFlat, [(f, "SKY_FLAT") for f in raw_files(d, t, "FLAT", filter="V")]
               + [(mb, "MASTER_BIAS"), (md, "MASTER_DARK")], "flat").products[0][0]
    sci = c.run(ScienceReduction, [(f, "OBJECT") for f in raw_files(d, t, "SCIENCE", filter="V")]
                + [(mb, "MASTER_BIAS"), (md, "MASTER_DARK"), (mf, "MASTER_SKY_FLAT")], "reduce")
    ref = str(d / "static" / "DEMO_REFCAT.fits")
    co = c.run(CoaddRecipe, list(sci.products) + [(ref, "REF_CATALOG")], "coadd")
    c.run(PhotometryRecipe, [(co.products[0][0], "COADD_IMG"), (ref, "REF_CATALOG")], "photometry")
    return c
