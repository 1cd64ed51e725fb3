"""demo_spectroscopy through the engine: organise and run one night of 512 px data with
reflexng.engine.Session (recipes in child processes); the end product is flux-calibrated
to within 5 % of the true continuum (median ratio, edges and lines excluded)."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from reflexng.engine import Session


@pytest.mark.slow
def test_session_runs_demo_spectroscopy(data, tmp_path):
    events = []
    with Session("demo_spectroscopy", [data.root], workdir=tmp_path / "work", ordering="dynamic",
                 max_jobs=2) as s:
        s.subscribe(lambda e: events.append(e.kind))
        org = s.organise()
        assert len(org.datasets) == 2 and all(d.complete for d in org.datasets)
        summary = s.run()
        assert summary.ok, [j for j in summary.jobs if j["status"] != "executed"]
        assert {j["task"] for j in summary.jobs} == {"bias", "flat", "fit_order", "wavelength_cal",
                                                      "flat_strategy", "response", "science", "spec_combination"}
        ends = [p for p in summary.end_products if p.endswith(".fits")]
        assert len(ends) == 2
        combo = next(j["id"] for j in summary.jobs if j["task"] == "spec_combination")
        insp = s.inspect(combo)
        assert insp is not None and insp.figures and "Median ratio" in insp.notes
    assert "run_finished" in events
    for path in ends:
        with fits.open(path) as hdul:
            obj = hdul[0].header["OBJECT"]
            from reflexng.recipes.builtin.spectroscopy_io import spectrum_columns

            t = spectrum_columns(hdul["SPECTRUM"].data)
        tgt = next(x for x in data.truth["targets"] if x["name"] == obj)
        cont = np.interp(t["WAVE"], tgt["wave"], tgt["continuum"])
        ok = np.ones(t["WAVE"].size, bool)
        for lo, hi in tgt["line_windows"]:
            ok &= ~((t["WAVE"] > lo) & (t["WAVE"] < hi))
        n = ok.size
        ok[: n // 20] = ok[-n // 20:] = False
        assert abs(np.median(t["FLUX"][ok] / cont[ok]) - 1) < 0.05
