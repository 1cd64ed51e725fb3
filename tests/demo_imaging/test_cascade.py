"""The demo_imaging cascade: organiser specs, and an end-to-end run through the engine Session."""

import json
import time
from pathlib import Path

import pytest
from astropy.io import fits
from matplotlib.figure import Figure

from reflexng.cascade import load
from reflexng.engine.inspection import Inspection
from reflexng.organiser.spectest import run_spec
from reflexng.simulate.imaging import generate

CASCADES = Path(__file__).resolve().parents[2] / "cascades"


def test_cascade_validates_and_recipes_exist():
    c = load(CASCADES / "demo_imaging.py")
    assert not [p for p in c.validate() if getattr(p, "severity", "error") == "error"]
    from reflexng.recipes.registry import get_recipe

    for t in c.tasks.values():
        assert get_recipe(t.recipe).name == t.recipe
    assert set(c.parameter_sets) >= {"default", "quick", "robust"}


@pytest.mark.parametrize("spec", sorted((CASCADES / "tests").glob("demo_imaging*.json")), ids=lambda p: p.stem)
def test_organiser_specs(spec):
    res = run_spec(spec)
    assert res.passed, "\n".join(res.diff)


@pytest.mark.slow
def test_session_end_to_end(tmp_path):
    """Simulate (256 px, 2 nights), organise and run the whole cascade in child processes."""
    from reflexng.engine import Session

    data = tmp_path / "data"
    generate(data, nights=2, seed=3, size=256)
    truth = json.loads((data / "truth_imaging.json").read_text())
    t0 = time.perf_counter()
    s = Session(CASCADES / "demo_imaging.py", data_dirs=[data], workdir=tmp_path / "wd",
                ordering="dynamic", max_jobs=2)
    result = s.organise()
    incomplete = [d for d in result.datasets if not d.complete]
    assert len(incomplete) == 1  # the 2x2-binned sequence without 2x2 calibrations
    # night 1 has no R flats: its R reduction borrows night 0's flats at quality level 1
    levels = {}
    for job in result.jobs.values():
        if job.task == "reduce" and job.complete:
            name = Path(job.main[0]).name
            levels[truth["frames"][name]["obs_name"]] = job.associated["flat"].chosen[0].level
    assert levels["DEMO_FIELD_B_R"] == 1
    assert [v for k, v in levels.items() if k != "DEMO_FIELD_B_R"] == [0, 0, 0]
    summary = s.run()
    elapsed = time.perf_counter() - t0
    failed = [j for j in summary.jobs if j["status"] == "failed"]
    assert not failed, failed
    phot = [j for j in summary.jobs if j["task"] == "photometry" and j["status"] == "executed"]
    assert len(phot) == 4
    for j in phot:
        (cat, category), = s.products(j["id"])
        assert category == "SOURCE_CATALOG"
        h = fits.getheader(cat)
        filt = h["HIERARCH ESO INS FILT NAME"]
        # zero point within 0.03 mag of the truth in both filters (catalogue noise 0.01 mag)
        assert abs(h["HIERARCH ESO QC ZP"] - truth["zero_points"][filt]) < 0.03
        assert len(fits.getdata(cat, 1)) >= 20
    # inspectors return figures built without pyplot and the products to show
    for task in ("bias", "flat", "reduce", "coadd", "photometry"):
        job_id = next(j["id"] for j in summary.jobs if j["task"] == task and j["status"] == "executed")
        ins = s.inspect(job_id)
        assert isinstance(ins, Inspection), task
        assert ins.figures and all(isinstance(f, Figure) for f in ins.figures), (task, ins.notes)
        assert ins.images or ins.tables
    s.close()
    assert elapsed < 60, f"end-to-end run took {elapsed:.0f} s"


def test_parameter_sets_name_real_parameters():
    from reflexng.recipes.registry import get_recipe

    c = load(CASCADES / "demo_imaging.py")
    for name, ps in c.parameter_sets.items():
        for task_name, params in ps.recipe_parameters.items():
            recipe = get_recipe(c.tasks[task_name].recipe)
            for k, v in params.items():
                spec = recipe.parameter(k)
                assert spec is not None, (name, task_name, k)
                spec.coerce(v)


def test_inspectors_on_products(chain):
    from reflexng.engine.inspection import InspectionContext

    c = load(CASCADES / "demo_imaging.py")
    for task_name, result_name in (("bias", "bias"), ("dark", "dark"), ("flat", "flat"),
                                   ("reduce", "reduce"), ("coadd", "coadd"), ("photometry", "photometry")):
        res = chain.results[result_name]
        ctx = InspectionContext(job_id="j", task=task_name, qc=res.qc)
        ins = c.tasks[task_name].inspector(res.products, ctx)
        assert isinstance(ins, Inspection) and ins.figures
        assert all(isinstance(f, Figure) for f in ins.figures)
        assert set(ins.images + ins.tables) <= {p for p, _ in res.products}
        assert ins.qc == res.qc
