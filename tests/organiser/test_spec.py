"""The EDPS-style test facility: shipped specs pass, a wrong expectation fails with a diff."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from reflexng.organiser.spectest import SpecError, run_cli, run_spec

REPO = Path(__file__).resolve().parents[2]
OWN_SPECS = sorted((REPO / "tests" / "fixtures" / "organiser").glob("*.json"))
CASCADE_SPECS = sorted((REPO / "cascades" / "tests").glob("*.json"))


@pytest.mark.parametrize("spec", OWN_SPECS + CASCADE_SPECS, ids=lambda p: p.name)
def test_shipped_spec_passes(spec):
    res = run_spec(spec)
    assert res.passed, "\n".join(res.diff)


def test_own_specs_exist():
    assert len(OWN_SPECS) >= 3


def _variant(tmp_path, change) -> Path:
    spec = json.loads((REPO / "tests/fixtures/organiser/fig1_close_in_time.json").read_text())
    spec["cascade"] = str(REPO / "tests/fixtures/cascades/fig1.py")
    change(spec)
    p = tmp_path / "variant.json"
    p.write_text(json.dumps(spec))
    return p


def test_wrong_association_fails_with_diff(tmp_path, capsys):
    def change(spec):
        for j in spec["jobs"]:
            if j["task"] == "flat":
                j["associated"]["bias"] = ["bias_1.fits"]

    p = _variant(tmp_path, change)
    res = run_spec(p)
    assert not res.passed
    assert any("associated bias: expected ['bias_1.fits'], got ['bias_1.fits', 'bias_2.fits', 'bias_3.fits']" in d
               for d in res.diff)
    assert run_cli(argparse.Namespace(spec=str(p), verbose=True)) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"FAIL {p}") and "jobs that arose:" in out


def test_unexpected_and_missing_jobs_fail(tmp_path):
    def change(spec):
        spec["jobs"] = [j for j in spec["jobs"] if j["task"] != "bias"]
        spec["jobs"].append({"task": "dark", "main": ["bias_1.fits"]})

    res = run_spec(_variant(tmp_path, change))
    assert not res.passed
    assert "missing job: dark main=['bias_1.fits']" in res.diff
    assert any(d.startswith("unexpected job: bias main=") for d in res.diff)


def test_workflow_parameter_changes_the_jobs(tmp_path):
    # the close_in_time expectations do not hold with the science_flat strategy
    res = run_spec(_variant(tmp_path, lambda s: s.update(workflow_parameters={"flat_strategy": "science_flat"})))
    assert not res.passed
    assert any(d.startswith("unexpected job: flat_strategy") for d in res.diff)


def test_broken_spec_is_a_clear_error(tmp_path, capsys):
    p = tmp_path / "bad.json"
    p.write_text('{"cascade": "fig1", "files": [}')
    with pytest.raises(SpecError, match="bad.json:1: not valid JSON"):
        run_spec(p)
    q = _variant(tmp_path, lambda s: s["jobs"].append({"task": "bias", "main": ["nope.fits"]}))
    with pytest.raises(SpecError, match="no file named 'nope.fits'"):
        run_spec(q)
    assert run_cli(argparse.Namespace(spec=str(p), verbose=False)) == 2
    assert "not valid JSON" in capsys.readouterr().err
