"""Session details: real organiser wiring, excluded frames, inspector failures, recipe-written provenance."""

from __future__ import annotations

import textwrap

import helpers

from reflexng.engine import Session


def test_organise_select_and_exclude_with_the_real_organiser(tmp_path):
    raw = tmp_path / "raw"
    for obj in ("A", "B", "C"):
        helpers.raw_file(raw, f"raw_{obj}.fits", obj)
    with Session(helpers.CASCADE, [raw], "func", workdir=tmp_path / "w") as s:
        events = []
        s.subscribe(events.append)
        res = s.organise()
        assert events[0].kind == "organised" and len(res.jobs) == 3
        s.exclude_files([raw / "raw_C.fits"])
        assert len(s.result.jobs) == 3 - 1
        first = s.result.datasets[0]
        s.select_datasets([first.id])
        summary = s.run()
        assert [j["status"] for j in summary.jobs] == ["executed"]
        assert summary.jobs[0]["id"] == first.target_job


def test_inspector_failure_is_reported_not_raised(tmp_path, make_session, raw_dir):
    cascade = tmp_path / "c.py"
    cascade.write_text(open(helpers.CASCADE).read().replace(
        "return Inspection(", "raise RuntimeError('plot failed')\n    return Inspection("))
    s = Session(cascade, workdir=tmp_path / "w")
    try:
        s.use_organised(helpers.diamond(raw_dir))
        s.run()
        insp = s.inspect("final-NGC1")
        assert "inspector of task final failed: RuntimeError: plot failed" in insp.notes
        assert s.inspect("left-NGC1") is None  # no inspector on that task
    finally:
        s.close()


def test_recipe_written_provenance_is_kept(tmp_path, monkeypatch, make_session, raw_dir):
    d = tmp_path / "recipes"
    d.mkdir()
    (d / "own.py").write_text(textwrap.dedent('''
        from reflexng.recipes.protocol import Recipe, RecipeResult
        from reflexng.recipes.builtin.testing import write_header_fits

        class Own(Recipe):
            name = "own_prov"
            version = "1"

            def run(self, inputs, parameters, output_dir):
                p = output_dir / "own.fits"
                write_header_fits(p, {"PRO.CATG": "OWN", "PRO.REC1.ID": "their_recipe"})
                return RecipeResult([(str(p), "OWN")])
    '''))
    monkeypatch.setenv("REFLEXNG_RECIPE_PATH", str(d))
    from reflexng.recipes import registry

    registry.reload()
    s = make_session(helpers.single(raw_dir, "own_prov"))
    summary = s.run()
    from astropy.io import fits

    h = fits.getheader(summary.jobs[0]["products"][0])
    assert h["HIERARCH ESO PRO REC1 ID"] == "their_recipe" and "HIERARCH ESO PRO REC1 RAW1 NAME" not in h
    registry.reload()
