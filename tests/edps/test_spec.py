"""``reflexng cascade test`` (the EDPS-style test facility) on an EDPS workflow package."""

from __future__ import annotations

from pathlib import Path

from conftest import cli

SPECS = Path(__file__).resolve().parent / "specs"


def test_spec_passes():
    r = cli("cascade", "test", str(SPECS / "edpsdemo_night.json"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("PASS")


def test_spec_fails_when_the_expectation_is_wrong(tmp_path):
    text = (SPECS / "edpsdemo_night.json").read_text(encoding="utf-8")
    bad = tmp_path / "specs" / "bad.json"
    bad.parent.mkdir()
    (tmp_path / "workflows").symlink_to(SPECS.parent / "workflows")
    bad.write_text(text.replace('"main": [\n    "sci_R.fits"\n   ]', '"main": [\n    "sci_V.fits"\n   ]', 1),
                   encoding="utf-8")
    r = cli("cascade", "test", str(bad))
    assert r.returncode != 0 and "FAIL" in r.stdout
