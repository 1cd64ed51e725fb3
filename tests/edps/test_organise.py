"""Organising header-only FITS files with the EDPS-style test workflow: the expected
datasets and jobs, quality levels -1..2, alternatives with sort keys, a dynamic parameter
driving a condition, a file in two data sources, an unused data source, parameter sets."""

from __future__ import annotations

import json
import os

import pytest
from conftest import cli, write

from reflexng.cascade import load
from reflexng.organiser import organise

T = 61000.1  # the reference night


def _demo(root, name, **kw):
    base = dict(INSTRUME="DEMO", INS_MODE="IMAGING", DET_BINX=1, DET_BINY=1)
    base.update(kw)
    return write(root, name, **base)


def _calib(root, prefix, dpr_type, mjd, n, filt="FREE"):
    return [_demo(root, f"{prefix}_{i}.fits", DPR_CATG="CALIB", DPR_TYPE=dpr_type, TPL_START=prefix,
                  INS_FILT_NAME=filt, MJD__OBS=mjd + i * 0.001, EXPTIME=1.0) for i in range(n)]


def _science(root, name, obs, filt, mjd):
    return _demo(root, name, DPR_CATG="SCIENCE", DPR_TYPE="OBJECT", OBS_NAME=obs, TPL_START=obs,
                 INS_FILT_NAME=filt, MJD__OBS=mjd, EXPTIME=60.0)


@pytest.fixture
def data(tmp_path):
    d = tmp_path / "raw"
    files = {
        "bias": _calib(d, "b1", "BIAS", T - 0.3, 3),
        "bias2": _calib(d, "b2", "BIAS", T + 3.0, 3),
        "dark": _calib(d, "d1", "DARK", T - 0.2, 2),
        "fR1": _calib(d, "fR1", "FLAT,SKY", T - 0.05, 3, "R"),
        "fR2": _calib(d, "fR2", "FLAT,SKY", T - 2.0, 3, "R"),
        "fR3": _calib(d, "fR3", "FLAT,SKY", T + 0.01, 1, "R"),  # too few for a master flat
        "fV": _calib(d, "fV", "FLAT,SKY", T + 3.2, 3, "V"),
        "lamp": _calib(d, "lamp", "FLAT,LAMP", T, 2, "R"),  # only an unused data source wants these
        "R1": [_science(d, "sci_R1.fits", "A_R", "R", T)],
        "V1": [_science(d, "sci_V1.fits", "A_V", "V", T + 0.01)],
        "R2": [_science(d, "sci_R2.fits", "B_R", "R", T + 1.5)],
    }
    return d, files


def _by_main(result, task):
    return {os.path.basename(j.main[0]).split("_")[1].split(".")[0] if j.main else j.id: j
            for j in result.jobs.values() if j.task == task}


def _chosen(result, job, name):
    """(upstream task or file kind, first main file of the chosen group, level)."""
    out = []
    for c in job.associated[name].chosen:
        if c.job_id:
            up = result.jobs[c.job_id]
            out.append((up.task, os.path.basename(up.main[0]).rsplit("_", 1)[0], c.level))
        else:
            out.append(("file", os.path.basename(c.path), c.level))
    return out


def test_default_parameter_set(edpsdemo, data):
    root, files = data
    res = organise(load(edpsdemo), root)
    tasks = sorted(j.task for j in res.jobs.values())
    # fR2 is never the best flat: no job for it (jobs exist only when a dataset needs them)
    assert tasks == ["bias", "bias", "collect", "collect", "collect", "dark", "flat", "flat",
                     "reduce", "reduce", "reduce"]
    assert len(res.datasets) == 6 and all(d.complete for d in res.datasets)
    sci = {os.path.basename(j.main[0]): j for j in res.jobs.values() if j.task == "reduce"}
    r1, v1, r2 = sci["sci_R1.fits"], sci["sci_V1.fits"], sci["sci_R2.fits"]
    # quality levels: -1 (within 0.1 d), 1 (three days), 2 (any time)
    assert _chosen(res, r1, "flat") == [("flat", "fR1", -1)]
    assert _chosen(res, r2, "flat") == [("flat", "fR1", 1)]
    assert _chosen(res, v1, "flat") == [("flat", "fV", 2)]
    assert r1.associated["flat"].note.startswith("alternative 1 of 2")
    # the dynamic parameter "filter" drives the dark's condition (R only); never a recipe parameter
    assert (r1.job_parameters, v1.job_parameters) == ({"filter": "R"}, {"filter": "V"})
    assert _chosen(res, r1, "dark") == [("dark", "d1", 0)]
    assert _chosen(res, r2, "dark") == [("dark", "d1", 1)]  # the match function at level 1
    assert v1.associated["dark"].skipped_reason == "condition needs_dark is false"
    assert "filter" not in r1.parameters
    # job processing set the recipe parameter from a workflow parameter
    assert r1.parameters["sky_mesh"] == 32
    # a file in two data sources; an unused data source's files stay unclassified
    rec = res.file(files["fR1"][0])
    assert (rec.status, rec.category, rec.data_sources) == ("ok", "SKY_FLAT", ("SKY_FLAT", "ILLUMINATION"))
    assert res.file(files["lamp"][0]).status == "unclassified"
    # collect: one job per reduce job (no grouping keywords), with the static catalogue optional
    collects = [j for j in res.jobs.values() if j.task == "collect"]
    assert sorted(j.main_jobs[0] for j in collects) == sorted(j.id for j in sci.values())


def test_second_parameter_set_changes_conditions_and_alternatives(edpsdemo, data):
    root, _ = data
    res = organise(load(edpsdemo), root, parameter_set="test_parameters")
    sci = {os.path.basename(j.main[0]): j for j in res.jobs.values() if j.task == "reduce"}
    r1 = sci["sci_R1.fits"]
    # use_dark FALSE: no dark at all
    assert all(j.associated["dark"].skipped_reason for j in sci.values())
    # flat_source any: both alternatives are tried; sorted by MJD-OBS the single-frame
    # illumination group (0.01 d) beats the master flat (0.05 d)
    assert _chosen(res, r1, "illumination") == [("illumination", "fR3", 0)]
    assert r1.associated["illumination"].note.startswith("alternative 2 of 2")
    assert "flat" not in r1.associated
    bias = next(j for j in res.jobs.values() if j.task == "bias")
    assert bias.parameters["sigma"] == 5.0


def test_organise_cli_json_and_unknown_parameter_set(edpsdemo, data):
    root, _ = data
    r = cli("organise", "--cascade", str(edpsdemo), "--data", str(root), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert len(doc["datasets"]) == 6
    r = cli("organise", "--cascade", str(edpsdemo), "--data", str(root), "--parameter-set", "nope")
    assert r.returncode != 0
    assert "qc1_parameters" in r.stderr and "test_parameters" in r.stderr and "Traceback" not in r.stderr


def test_calibration_target(edpsdemo, data):
    root, _ = data
    res = organise(load(edpsdemo), root, target="qc1calib")
    assert sorted({j.task for j in res.jobs.values()}) == ["bias", "dark", "flat"]
