"""Shared fixtures: one night of simulated DEMO long-slit data (512 px), generated once, and a
helper that runs a built-in recipe in-process on real FITS files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from astropy.io import fits

from reflexng.recipes.builtin.spectroscopy import RECIPES
from reflexng.simulate.spectroscopy import generate

RECIPE = {r.name: r for r in RECIPES}


class Data:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.truth = json.loads((root / "truth_spectroscopy.json").read_text())
        self.headers = {p: fits.getheader(p) for p in sorted(root.glob("DEMO.*.fits"))}
        self.line_list = str(root / "static" / "DEMO_LINE_LIST.fits")
        self.std_flux = str(root / "static" / "DEMO_STD_FLUX.fits")
        self.sky_lines = str(root / "static" / "DEMO_SKY_LINES.fits")

    def raw(self, dpr_type: str, binning: int, night: int = 0, tpl_id: str | None = None) -> list[str]:
        """Raw files of a DPR.TYPE and binning observed in a night (noon-to-noon UT)."""
        out = []
        for p, h in self.headers.items():
            if (h["HIERARCH ESO DPR TYPE"] == dpr_type and h["HIERARCH ESO DET BINX"] == binning
                    and math.floor(h["MJD-OBS"] - 0.5) == 61109 + night
                    and (tpl_id is None or h["HIERARCH ESO TPL ID"] == tpl_id)):
                out.append(str(p))
        return out


def run_recipe(name: str, inputs, out: Path, **params):
    """Run a recipe in-process (the engine runs the same ``run`` in a child process)."""
    rec = RECIPE[name]()
    out.mkdir(parents=True, exist_ok=True)
    values = {**rec.defaults(), **{k: rec.parameter(k).coerce(v) for k, v in params.items()}}
    return rec.run(list(inputs), values, out)


@pytest.fixture(scope="session")
def data(tmp_path_factory) -> Data:
    root = tmp_path_factory.mktemp("demo_spec") / "raw"
    generate(root, nights=1, seed=3, size=512)
    return Data(root)


@pytest.fixture(scope="session")
def calib(data, tmp_path_factory):
    """Master calibrations of night 0 for both binnings: {binning: {category: [(path, cat)]}}."""
    work = tmp_path_factory.mktemp("calib")
    out = {}
    for b in (1, 2):
        mb = run_recipe("demo_spec_bias", [(f, "BIAS") for f in data.raw("BIAS", b)], work / f"bias{b}").products
        cal_flats = [(f, "FLAT") for f in data.raw("FLAT,LAMP", b, tpl_id="DEMO_lss_cal_flat")]
        att_flats = [(f, "FLAT") for f in data.raw("FLAT,LAMP", b, tpl_id="DEMO_lss_obs_attflat")]
        mf = run_recipe("demo_spec_flat", cal_flats + mb, work / f"flat{b}").products
        mf_att = run_recipe("demo_spec_flat", att_flats + mb, work / f"flat_att{b}").products
        ot = run_recipe("demo_spec_fit_order", cal_flats + mb, work / f"order{b}").products
        ws = run_recipe("demo_spec_wavecal", [(f, "ARC") for f in data.raw("WAVE,LAMP", b)] + mb + ot
                        + [(data.line_list, "LINE_LIST")], work / f"wave{b}").products
        out[b] = {"MASTER_BIAS": mb, "MASTER_FLAT": mf, "MASTER_FLAT_ATT": mf_att, "ORDER_TABLE": ot,
                  "WAVE_SOLUTION": ws, "SKY_LINE_LIST": [(data.sky_lines, "SKY_LINE_LIST")], "work": work}
    return out
