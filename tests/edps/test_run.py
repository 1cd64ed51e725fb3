"""Running the EDPS-style test workflow: a placeholder run (whole job graph, no pipeline),
the interactive loop in placeholder mode, and a real run with reflexng's built-in demo
recipes on simulated images (real child processes, real SQLite, real FITS)."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest
from astropy.io import fits
from conftest import cli

from reflexng.engine import Session
from reflexng.recipes.placeholder import CARD
from reflexng.simulate.imaging import generate


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("edps_images")
    generate(out, nights=1, seed=4, size=96)
    return out


def _summary(r) -> dict:
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout)


def test_placeholder_run_then_real_run(edpsdemo, images, tmp_path):
    work = tmp_path / "work"
    s = _summary(cli("run", "--cascade", str(edpsdemo), "--data", str(images), "--workdir", str(work),
                     "--placeholder-recipes", "--json"))
    statuses = {j["task"]: j["status"] for j in s["jobs"]}
    assert set(statuses) == {"bias", "dark", "flat", "reduce", "collect"}
    assert all(j["status"] == "executed" for j in s["jobs"]), s["jobs"]
    assert not (work / "end_products").exists()  # placeholders are never exported
    reduce = next(j for j in s["jobs"] if j["task"] == "reduce")
    (product,) = reduce["products"]
    hdr = fits.getheader(product)
    # the category the downstream task asks for, marked as a placeholder, the raw header copied
    assert (hdr["HIERARCH ESO PRO CATG"], hdr[CARD], hdr["HIERARCH ESO DPR TYPE"]) == ("REDUCED_IMG", True, "OBJECT")
    bias = next(j for j in s["jobs"] if j["task"] == "bias")
    assert fits.getheader(bias["products"][0])["HIERARCH ESO PRO CATG"] == "MASTER_BIAS"
    params = json.loads((Path(reduce["products"][0]).parents[1] / "parameters.json").read_text())
    assert params["placeholder_categories"] == ["REDUCED_IMG"]
    # provenance names the placeholder recipe
    db = sqlite3.connect(f"file:{work / 'reflexng.sqlite'}?mode=ro", uri=True)
    try:
        rows = set(db.execute("SELECT recipe, version FROM jobs").fetchall())
    finally:
        db.close()
    assert rows and all(r.startswith("placeholder:") and v == "placeholder-1" for r, v in rows)

    # a real run in the same work directory: nothing reused from the placeholder run
    s = _summary(cli("run", "--cascade", str(edpsdemo), "--data", str(images), "--workdir", str(work), "--json"))
    assert {j["status"] for j in s["jobs"]} == {"executed"}, s["jobs"]
    reduce = [j for j in s["jobs"] if j["task"] == "reduce"]
    assert reduce and all(fits.getheader(p).get(CARD) is None for j in reduce for p in j["products"])
    assert {fits.getheader(p)["HIERARCH ESO PRO CATG"] for j in reduce for p in j["products"]} == {"REDUCED_IMG"}
    assert s["end_products"]
    # collect's output filter: downstream of collect there is nothing, but its inputs were filtered
    # by the main-input categories (only REDUCED_IMG products of reduce)
    collect = next(j for j in s["jobs"] if j["task"] == "collect")
    assert all(Path(p).name.endswith(".fits") for p in collect["products"])
    # the dark was only associated to R-band science (dynamic parameter + condition)
    sof = {str(Path(p).parents[1]): (Path(p).parents[1] / "inputs.sof").read_text()
           for j in reduce for p in j["products"][:1]}
    cats = [set(line.split()[1] for line in text.splitlines()) for text in sof.values()]
    assert any("MASTER_DARK" in c for c in cats) and any("MASTER_DARK" not in c for c in cats)
    assert all(c <= {"OBJECT", "MASTER_BIAS", "MASTER_DARK", "MASTER_SKY_FLAT"} for c in cats)


def test_interactive_loop_in_placeholder_mode(edpsdemo, images, tmp_path):
    s = Session(str(edpsdemo), [images], "reduce", workdir=tmp_path / "w", placeholder_recipes=True,
                ordering="dfs", max_jobs=1)
    try:
        paused = threading.Event()
        seen = []

        def on_event(ev):
            if ev.kind == "paused":
                seen.append(ev.job_id)
                paused.set()

        s.subscribe(on_event)
        s.organise()
        s.set_breakpoint("flat")
        s.start()
        assert paused.wait(300), "never paused after flat"
        jid = seen[0]
        assert s.result.jobs[jid].task == "flat"
        info = s.job_info(jid)
        assert info["products"] and all(Path(p).exists() for p, _c in info["products"])
        s.rerun(jid, {"iters": 5})
        s.set_breakpoint("flat", False)
        paused.clear()
        s.resume()
        summary = s.wait(600)
        assert summary is not None and summary.ok, summary
        flat_jobs = [j for j in summary.jobs if j["id"] == jid]
        assert flat_jobs and flat_jobs[0]["attempt"] >= 2
        assert s.recipe_parameters(jid)[1]["iters"] == 5
    finally:
        s.close()
