"""The demo_spectroscopy cascade: it loads and validates, its organiser specs pass, its
parameter sets are sound, and its inspectors build figures from real products."""

from __future__ import annotations

from pathlib import Path

import pytest
from matplotlib.figure import Figure

from reflexng.cascade import load
from reflexng.engine.inspection import Inspection, InspectionContext
from reflexng.organiser.spectest import run_spec
from reflexng.recipes.builtin import spectroscopy_inspect as insp

from .conftest import run_recipe

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted((ROOT / "cascades" / "tests").glob("demo_spectroscopy*.json"))
PAPER_TASKS = {"bias", "flat", "fit_order", "wavelength_cal", "response", "science", "science_std",
               "spec_combination", "spec_combination_std", "flat_strategy"}


def test_cascade_loads_and_validates():
    c = load("demo_spectroscopy")
    assert c.name == "demo_spectroscopy" and c.instrument == "DEMO"
    assert c.info.default_target == "spec_combination"
    assert set(c.tasks) == PAPER_TASKS
    assert c.workflow_parameters["flat_strategy"].choices == ("close_in_time", "science_flat")
    problems = c.validate()
    assert not [p for p in problems if p.severity == "error"], problems
    assert not any("recipe" in str(p) for p in problems), problems  # every recipe name is known
    assert {"default", "science_flat", "quick_look"} <= set(c.parameter_sets)
    assert c.parameter_sets["science_flat"].workflow_parameters == {"flat_strategy": "science_flat"}
    for t in ("wavelength_cal", "response", "science", "spec_combination", "bias"):
        assert c.tasks[t].inspector is not None


def test_parameter_sets_name_real_recipe_parameters():
    from reflexng.recipes.builtin.spectroscopy import RECIPES

    recipes = {r.name: r for r in RECIPES}
    c = load("demo_spectroscopy")
    for ps in c.parameter_sets.values():
        for task, params in ps.recipe_parameters.items():
            rec = recipes[c.tasks[task].recipe]
            for name, value in params.items():
                assert rec.parameter(name) is not None, (ps.name, task, name)
                rec.parameter(name).coerce(value)


@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_organiser_specs(spec):
    res = run_spec(spec)
    assert res.passed, "\n".join(res.diff)


def test_inspectors_build_figures(data, calib, tmp_path):
    ws = calib[1]["WAVE_SOLUTION"]
    ctx = InspectionContext(job_id="j", task="wavelength_cal", inputs=[(data.raw("WAVE,LAMP", 1)[0], "ARC")])
    i = insp.inspect_wavecal(ws, ctx)
    assert isinstance(i, Inspection) and isinstance(i.figures[0], Figure)
    assert i.qc["WAVE RMS PX"] < 0.1
    m = insp.inspect_master(calib[1]["MASTER_BIAS"], ctx)
    assert m.images == [calib[1]["MASTER_BIAS"][0][0]] and "BIAS RON" in m.qc
    cal = calib[1]["MASTER_BIAS"] + calib[1]["MASTER_FLAT"] + calib[1]["ORDER_TABLE"] + ws + calib[1]["SKY_LINE_LIST"]
    std = data.raw("STD", 1)[0]
    resp = run_recipe("demo_spec_response", [(std, "STD"), *cal, (data.std_flux, "STD_FLUX_TABLE")], tmp_path / "r")
    r = insp.inspect_response(resp.products, ctx)
    assert isinstance(r.figures[0], Figure) and r.spectra
    sci_raw = data.raw("OBJECT", 1)[0]
    sci = run_recipe("demo_spec_science", [(sci_raw, "OBJECT"), *cal, *resp.products], tmp_path / "s")
    s = insp.inspect_spectrum(sci.products, InspectionContext("j", "science", inputs=[(sci_raw, "OBJECT")]))
    assert isinstance(s.figures[0], Figure)
    assert "Median ratio to the truth" in s.notes  # the truth was found beside the raw frame
    assert "sky lines" in s.notes and "optimal extraction" in s.notes  # the lessons' QC, in words
    s.figures[0].savefig(tmp_path / "spectrum.png")  # renders without a GUI backend
    assert (tmp_path / "spectrum.png").stat().st_size > 1000
