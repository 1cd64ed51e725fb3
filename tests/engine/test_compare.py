"""Comparing two attempts of a job: parameters read old -> new, product difference statistics
(the core function behind the GUI's Compare button and `reflexng compare`)."""

from __future__ import annotations

import json

import helpers
import pytest

from reflexng.engine.compare import compare_attempts, parameter_diff

CASCADE = '''
from reflexng.cascade import classification_rule, data_source, metadata, task

metadata("imgs", instrument="TEST", default_target="img")
raw = data_source("RAW_SCI").with_classification_rule(classification_rule("SCI", {"DPR.TYPE": "SCI"})).build()


def make_image(inputs, parameters, output_dir):
    import numpy as np
    from astropy.io import fits

    data = np.full((8, 8), float(parameters["factor"]))
    data[0, 0] = 100.0  # the same in every attempt
    out = output_dir / "image.fits"
    fits.PrimaryHDU(data, header=fits.Header([("HIERARCH ESO PRO CATG", "IMAGE")])).writeto(out)
    return [(str(out), "IMAGE")]


img = task("img").with_function(make_image).with_main_input(raw).build()
'''


def test_parameter_diff_reads_old_to_new():
    assert parameter_diff({"sigma": 3, "mode": "a"}, {"sigma": 4, "extra": 1, "mode": "a"}) == [
        "extra: (unset) -> 1", "sigma: 3 -> 4"]
    assert parameter_diff({"x": 1}, {"x": 1}) == []


def test_two_attempts_compared_in_core_and_cli(tmp_path, capsys):
    path = tmp_path / "imgs.py"
    path.write_text(CASCADE)
    res = helpers.single(tmp_path / "raw", "python:make_image", {"factor": 2}, task="img")
    from reflexng.engine import Session

    w = tmp_path / "w"
    with Session(str(path), workdir=w) as s:
        s.use_organised(res)
        assert s.run().jobs[0]["status"] == "executed"
        s.rerun("job-1", {"factor": 3})
        assert s.run().jobs[0]["status"] == "executed"
        cmp = compare_attempts(s.store, "job-1", 1)
    assert (cmp.old.attempt, cmp.new.attempt) == (1, 2)
    assert cmp.parameters == ["factor: 2 -> 3"]
    (d,) = cmp.products
    assert d.category == "IMAGE" and d.pixels == 64 and d.changed_pixels == 63
    assert d.mean == pytest.approx(63 / 64) and d.max_abs == pytest.approx(1.0)
    assert "63 of 64 pixels differ" in d.words()
    from reflexng.provenance.store import ProvenanceStore

    with ProvenanceStore(w, lock=False) as store, pytest.raises(ValueError, match="has no attempt 7; attempts: 1, 2"):
        compare_attempts(store, "job-1", 7)

    from reflexng.cli import main

    assert main(["compare", "job-1", "--workdir", str(w), "--attempt", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["parameters"] == ["factor: 2 -> 3"] and out["products"][0]["changed_pixels"] == 63
    assert main(["compare", "job-1", "--workdir", str(w), "--attempt", "1"]) == 0
    text = capsys.readouterr().out
    assert "attempt 1 -> attempt 2" in text and "factor: 2 -> 3" in text
    assert main(["compare", "nosuch", "--workdir", str(w), "--attempt", "1"]) == 2
    assert "job nosuch has no recorded attempt" in capsys.readouterr().err
