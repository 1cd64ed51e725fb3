"""Association, jobs and datasets on real header-only FITS files (mini cascade)."""

from __future__ import annotations

import networkx as nx
from astropy.time import Time

from reflexng.organiser import organise

from .conftest import T0


def jobs_of(result, task):
    return sorted((j for j in result.jobs.values() if j.task == task), key=lambda j: j.main)


def names(paths):
    return sorted(p.rsplit("/", 1)[-1] for p in paths)


def chosen_main(result, job, input_name):
    """Main file names of the job(s) or the files chosen for an associated input."""
    out = []
    for c in job.associated[input_name].chosen:
        out.extend([c.path] if c.path else result.jobs[c.job_id].main)
    return names(out)


def test_recursive_association_complete_dataset(data, mini):
    data.night()
    data.science("sci.fits", T0)
    result = organise(mini, data.root, "science")
    (ds,) = result.datasets
    assert ds.complete and ds.missing == ()
    assert ds.target == "science" and ds.name == "sci.fits [OBS.ID=1]"
    (sci,) = jobs_of(result, "science")
    (flat,) = jobs_of(result, "flat")
    (bias,) = jobs_of(result, "bias")
    assert names(flat.main) == ["n1_flat_0.fits", "n1_flat_1.fits"]
    assert chosen_main(result, sci, "flat") == names(flat.main)
    # the flat job's biases are associated for the flat's files (recursion)
    assert flat.associated["bias"].chosen[0].job_id == bias.id
    assert names(bias.main) == ["n1_bias_0.fits", "n1_bias_1.fits", "n1_bias_2.fits"]
    assert "LINE_LIST" not in sci.associated  # an input of arc only
    (arc,) = jobs_of(result, "arc")
    assert chosen_main(result, arc, "LINE_LIST") == ["linelist.fits"]
    # level and time difference recorded: flat 0.2 days before the science frame
    c = sci.associated["flat"].chosen[0]
    assert c.level == 0 and abs(c.dt_days + 0.2) < 1e-6
    # execution order: upstream first, target last
    order = list(ds.jobs)
    assert order[-1] == sci.id and order.index(bias.id) < order.index(flat.id)
    assert set(order) == {sci.id, flat.id, bias.id, arc.id}
    assert sci.depends_on and set(sci.depends_on) == {bias.id, flat.id, arc.id}


def test_job_graph_is_a_dag(data, mini):
    data.night()
    data.science("sci1.fits", T0, obs_id=1)
    data.science("sci2.fits", T0 + 0.05, obs_id=2)
    result = organise(mini, data.root)  # default target: combine
    g = result.job_graph
    assert isinstance(g, nx.DiGraph) and nx.is_directed_acyclic_graph(g)
    (comb,) = jobs_of(result, "combine")
    assert len(comb.main_jobs) == 2 and comb.main == ()
    for sid in comb.main_jobs:
        assert g.has_edge(sid, comb.id)
    (bias,) = jobs_of(result, "bias")
    (flat,) = jobs_of(result, "flat")
    assert g.has_edge(bias.id, flat.id)


def test_shared_calibration_jobs_are_deduplicated(data, mini):
    data.night()
    data.science("sci1.fits", T0, obs_id=1)
    data.science("sci2.fits", T0 + 0.05, obs_id=2)
    result = organise(mini, data.root, "science")
    assert len(result.datasets) == 2
    assert len(jobs_of(result, "bias")) == 1 and len(jobs_of(result, "flat")) == 1
    (bias,) = jobs_of(result, "bias")
    assert all(bias.id in ds.jobs for ds in result.datasets)
    assert len({ds.id for ds in result.datasets}) == 2


def test_grouping_keywords_and_workflow_parameter_in_grouping(data, mini):
    data.night()
    data.science("sci1.fits", T0, obs_id=1, obj="A")
    data.science("sci2.fits", T0 + 0.01, obs_id=1, obj="A")
    data.science("sci3.fits", T0 + 0.02, obs_id=2, obj="A")
    r = organise(mini, data.root, "science")
    assert [names(j.main) for j in jobs_of(r, "science")] == [["sci1.fits", "sci2.fits"], ["sci3.fits"]]
    assert jobs_of(r, "science")[0].grouping == {"OBS.ID": 1}
    r = organise(mini, data.root, "science", workflow_parameters={"group_by": "OBJECT"})
    assert [names(j.main) for j in jobs_of(r, "science")] == [["sci1.fits", "sci2.fits", "sci3.fits"]]
    # the task main input: combine groups the science jobs by OBJECT
    data.science("sci4.fits", T0 + 0.03, obs_id=3, obj="B")
    r = organise(mini, data.root, "combine")
    combos = sorted(len(j.main_jobs) for j in jobs_of(r, "combine"))
    assert combos == [1, 2]


def test_min_group_size_makes_incomplete_with_words(data, mini):
    data.biases("n1_bias", T0 - 0.3, n=2)
    data.flats("n1_flat", T0 - 0.2)
    data.write("n1_arc.fits", DPR_TYPE="LAMP,WAVE", DET_BINX=1, MJD__OBS=T0 - 0.1)
    data.write("n1_sky_0.fits", DPR_TYPE="SKY", MJD__OBS=T0 + 0.01)
    data.write("n1_sky_1.fits", DPR_TYPE="SKY", MJD__OBS=T0 + 0.02)
    data.write("linelist.fits", PRO_CATG="LINE_LIST")
    data.science("sci.fits", T0)
    result = organise(mini, data.root, "science")
    (ds,) = result.datasets
    assert not ds.complete
    assert any("needs ≥3 RAW_BIAS files per group [TPL.START=n1_bias], found 2" in m for m in ds.missing)
    assert not jobs_of(result, "bias")  # too-small groups never become jobs


def test_quality_level_neighbouring_night(data, mini):
    data.night()
    # move the flats to the previous night: 0.8 days before, not the same night
    for p in data.root.glob("n1_flat_*"):
        p.unlink()
    data.flats("n0_flat", T0 - 0.8)
    data.science("sci.fits", T0)
    result = organise(mini, data.root, "science")
    (sci,) = jobs_of(result, "science")
    c = sci.associated["flat"].chosen[0]
    assert c.level == 1 and abs(c.dt_days + 0.8) < 1e-6
    assert result.datasets[0].complete
    # a same-night flat wins at level 0 even though the other is ... also fine in time
    data.flats("n1_flat", T0 + 0.3)
    sci2 = jobs_of(organise(mini, data.root, "science"), "science")[0]
    assert sci2.associated["flat"].chosen[0].level == 0


def test_out_of_time_range_says_what_is_missing(data, mini):
    data.night()
    for p in data.root.glob("n1_flat_*"):
        p.unlink()
    data.flats("old_flat", T0 - 3.2)
    data.science("sci.fits", T0)
    result = organise(mini, data.root, "science")
    (ds,) = result.datasets
    assert not ds.complete
    when = Time(T0, format="mjd").isot[:16]
    expected = f"flat: needs ≥1 FLAT with DET.BINX=1 within 1 day of {when}; nearest is 3.2 days away"
    assert any(expected in m for m in ds.missing), ds.missing
    (sci,) = jobs_of(result, "science")
    assert not sci.complete and not sci.associated["flat"].complete
    assert sci.associated["flat"].chosen == ()


def test_rejected_candidates_say_which_keyword_failed(data, mini):
    data.night()
    data.biases("n1_bias2", T0 - 0.01, binx=2)  # closer in time, wrong binning
    data.science("sci.fits", T0)
    result = organise(mini, data.root, "science")
    (sci,) = jobs_of(result, "science")
    a = sci.associated["bias"]
    assert names(result.jobs[a.chosen[0].job_id].main)[0] == "n1_bias_0.fits"
    rej = [c for c in a.rejected if "DET.BINX is 2, job has 1" in c.reason]
    assert rej and rej[0].job_id is not None and "level 0 (mini.py:" in rej[0].reason


def test_ties_broken_by_path(data, mini):
    ref = 61000.25  # exact binary fractions: the two flats are exactly 0.125 days away
    data.night(mjd=ref)
    for p in data.root.glob("n1_flat_*"):
        p.unlink()
    data.write("flat_b.fits", DPR_TYPE="FLAT", DET_BINX=1, TPL_START="b", MJD__OBS=ref - 0.125)
    data.write("flat_a.fits", DPR_TYPE="FLAT", DET_BINX=1, TPL_START="a", MJD__OBS=ref + 0.125)
    data.science("sci.fits", ref)
    for _ in range(2):  # deterministic: the smaller path, whatever the order on disk
        r = organise(mini, data.root, "science")
        (sci,) = jobs_of(r, "science")
        assert chosen_main(r, sci, "flat") == ["flat_a.fits"]
        assert abs(abs(sci.associated["flat"].chosen[0].dt_days) - 0.125) < 1e-12


def test_min_and_max_ret(data, mini):
    data.night(skies=4)
    for i in range(3):
        data.write(f"dark_{i}.fits", DPR_TYPE="DARK", DET_BINX=1, MJD__OBS=T0 - 0.5 - i * 0.1)
    data.science("sci.fits", T0)
    r = organise(mini, data.root, "science")
    (sci,) = jobs_of(r, "science")
    # max_ret 3 of 4 skies, the closest in time
    assert chosen_main(r, sci, "RAW_SKY") == ["n1_sky_0.fits", "n1_sky_1.fits", "n1_sky_2.fits"]
    assert chosen_main(r, sci, "dark") == ["dark_0.fits", "dark_1.fits"]
    assert sci.complete
    # only one sky: min_ret 2 not met
    for p in data.root.glob("n1_sky_*"):
        if not p.name.endswith("_0.fits"):
            p.unlink()
    for p in data.root.glob("dark_*"):
        p.unlink()
    r = organise(mini, data.root, "science")
    (sci,) = jobs_of(r, "science")
    assert not sci.complete
    assert any(m.startswith("RAW_SKY: needs ≥2 SKY within 1 day of") and "found 1" in m
               for m in sci.missing), sci.missing
    # the optional dark (min_ret=0) never makes a job incomplete
    assert sci.associated["dark"].complete and sci.associated["dark"].optional
    assert sci.associated["dark"].chosen == ()
    assert not any("dark" in m for m in sci.missing)


def test_conditions_and_workflow_parameters(data, mini):
    data.night()
    data.science("sci.fits", T0)
    r = organise(mini, data.root, "science", workflow_parameters={"use_flat": "no"})
    (sci,) = jobs_of(r, "science")
    assert not jobs_of(r, "flat")
    a = sci.associated["flat"]
    assert a.chosen == () and "use_flat=='yes'" in a.skipped_reason
    assert sci.complete and r.workflow_parameters["use_flat"] == "no"


def test_processed_calibrations_used_when_no_raw(data, mini):
    data.night()
    for p in data.root.glob("n1_bias_*"):
        p.unlink()
    mb = data.write("mbias.fits", PRO_CATG="MASTER_BIAS", PRO_REC1_ID="test_bias", DET_BINX=1,
                    MJD__OBS=T0 - 0.3)
    data.science("sci.fits", T0)
    r = organise(mini, data.root, "science")
    (sci,) = jobs_of(r, "science")
    a = sci.associated["bias"]
    assert [c.path for c in a.chosen] == [str(mb)] and a.used == "processed"
    assert "no raw data matched" in a.note
    assert r.datasets[0].complete
    # raw biases present: raw preferred by default, processed on request
    data.biases("n1_bias", T0 - 0.3)
    (sci,) = jobs_of(organise(mini, data.root, "science"), "science")
    assert sci.associated["bias"].used == "raw" and sci.associated["bias"].chosen[0].job_id
    (sci,) = jobs_of(organise(mini, data.root, "science", prefer="processed"), "science")
    assert [c.path for c in sci.associated["bias"].chosen] == [str(mb)]


def test_parameters_are_resolved_per_job(data, mini):
    data.night()
    data.science("sci.fits", T0, exptime=300.0)
    (sci,) = jobs_of(organise(mini, data.root, "science"), "science")
    assert sci.parameters == {"method": "median", "grouping": "OBS.ID", "half_exptime": 150.0}
    r = organise(mini, data.root, "science", workflow_parameters={"group_by": "OBJECT"},
                 recipe_parameters={"science": {"method": "mean"}})
    (sci,) = jobs_of(r, "science")
    assert sci.parameters == {"method": "mean", "grouping": "OBJECT", "half_exptime": 150.0}


def test_dataset_ids_stable_and_changing(data, mini):
    data.night()
    data.night(mjd=T0 + 5, tag="n5")
    data.science("sci1.fits", T0, obs_id=1)
    data.science("sci5.fits", T0 + 5, obs_id=5)
    ids1 = {d.name: d.id for d in organise(mini, data.root, "science").datasets}
    ids2 = {d.name: d.id for d in organise(mini, data.root, "science").datasets}
    assert ids1 == ids2 and len(set(ids1.values())) == 2
    # a closer flat for night 1 changes that dataset only
    data.flats("n1_flat_late", T0 - 0.05)
    ids3 = {d.name: d.id for d in organise(mini, data.root, "science").datasets}
    assert ids3["sci1.fits [OBS.ID=1]"] != ids1["sci1.fits [OBS.ID=1]"]
    assert ids3["sci5.fits [OBS.ID=5]"] == ids1["sci5.fits [OBS.ID=5]"]


def test_no_main_files_is_said(data, mini):
    data.night()
    r = organise(mini, data.root, "science")
    assert r.datasets == [] and any("no SCIENCE files found" in n for n in r.notes)


def test_target_group_below_min_size_is_an_incomplete_job(data, mini):
    data.biases("b", T0, n=2)
    r = organise(mini, data.root, "bias")
    (ds,) = r.datasets
    (job,) = r.jobs.values()
    assert not ds.complete and not job.complete
    assert job.missing == ("bias: needs ≥3 RAW_BIAS files per group [TPL.START=b], found 2",)


def test_unknown_target_and_parameters_are_value_errors(data, mini):
    import pytest

    data.night()
    with pytest.raises(ValueError, match="unknown target 'nope'"):
        organise(mini, data.root, "nope")
    with pytest.raises(ValueError, match="group_by"):
        organise(mini, data.root, workflow_parameters={"group_by": "DET.BINX"})
    with pytest.raises(ValueError, match="unknown parameter set 'x'"):
        organise(mini, data.root, parameter_set="x")


def test_parameter_set_of_the_fig1_cascade(tmp_path, fig1):
    import json

    from reflexng.organiser.spectest import write_header_fits

    from .conftest import FIXTURES

    spec = json.loads((FIXTURES / "organiser" / "fig1_close_in_time.json").read_text())
    for f in spec["files"]:
        write_header_fits(tmp_path / f["name"], f["keywords"])
    r = organise(fig1, tmp_path, parameter_set="std_star_science")
    assert r.workflow_parameters["flat_strategy"] == "science_flat"
    assert r.workflow_parameters["extraction"] == "full"
    (flat,) = jobs_of(r, "flat")
    assert flat.parameters == {"stack-method": "mean"}  # parameter set over the cascade's median
    (resp,) = jobs_of(r, "response")
    assert resp.associated["flat_strategy"].chosen and resp.associated["flat"].skipped_reason
    sci = jobs_of(r, "science")
    assert {j.parameters["extract-method"] for j in sci} == {"full"}  # workflow parameter value
    r2 = organise(fig1, tmp_path, parameter_set="std_star_science",
                  recipe_parameters={"flat": {"stack-method": "sum"}})
    assert jobs_of(r2, "flat")[0].parameters == {"stack-method": "sum"}  # user override wins


def test_needed_keywords_cover_rules_and_grouping(mini):
    from reflexng.organiser import needed_keywords

    kws = needed_keywords(mini)
    for k in ("DPR.TYPE", "DPR.CATG", "INS.LAMP", "DET.BINX", "TPL.START", "OBS.ID", "OBJECT",
              "PRO.CATG", "PRO.REC1.ID", "MJD-OBS", "DATE-OBS"):
        assert k in kws
    assert len(kws) == len(set(kws))


def test_time_from_date_obs_and_missing_time_said(data, mini):
    from reflexng.organiser.classify import mjd_of

    assert abs(mjd_of({"DATE-OBS": "2025-11-21T01:12:00.000"}) - T0) < 1e-9
    assert mjd_of({"DATE-OBS": "yesterday"}) is None
    data.night()
    data.write("sci_dateobs.fits", DPR_CATG="SCIENCE", DPR_TYPE="OBJECT", DET_BINX=1, OBS_ID=1,
               DATE__OBS="2025-11-21T01:12:00.000")
    data.write("sci_notime.fits", DPR_CATG="SCIENCE", DPR_TYPE="OBJECT", DET_BINX=1, OBS_ID=2)
    r = organise(mini, data.root, "science")
    by_obs = {j.grouping["OBS.ID"]: j for j in jobs_of(r, "science")}
    assert by_obs[1].complete and abs(by_obs[1].mjd - T0) < 1e-9
    notime = by_obs[2]
    assert not notime.complete and notime.mjd is None
    assert any(m.startswith("flat: needs ≥1 FLAT with DET.BINX=1 within 1 day of unknown time")
               and "has no MJD-OBS or DATE-OBS" in m for m in notime.missing), notime.missing
    # the line list has no time but its rule is unlimited: the arc still finds it
    (arc,) = jobs_of(r, "arc")
    assert chosen_main(r, arc, "LINE_LIST") == ["linelist.fits"]


def test_result_pickles_with_explanations(data, mini):
    import pickle

    data.night()
    data.biases("n1_bias2", T0 - 0.01, binx=2)
    data.science("sci.fits", T0)
    r = organise(mini, data.root, "science")
    r2 = pickle.loads(pickle.dumps(r))
    (sci,) = jobs_of(r, "science")
    (sci2,) = jobs_of(r2, "science")
    assert list(sci2.associated["bias"].rejected) == list(sci.associated["bias"].rejected)
    assert sci2.associated["bias"].rejected and [d.id for d in r2.datasets] == [d.id for d in r.datasets]


def test_optional_input_skips_an_incomplete_upstream_job(data, mini):
    """dark is optional for science; a dark job without a bias of its binning is incomplete,
    so science does without it instead of waiting for it."""
    data.night()
    data.write("dark_b1.fits", DPR_TYPE="DARK", DET_BINX=1, MJD__OBS=T0 - 0.4)
    data.write("dark_b2.fits", DPR_TYPE="DARK", DET_BINX=2, MJD__OBS=T0 - 0.01)
    data.science("sci.fits", T0)
    r = organise(mini, data.root, "science")
    (sci,) = jobs_of(r, "science")
    a = sci.associated["dark"]
    assert sci.complete and a.complete and r.datasets[0].complete
    assert chosen_main(r, sci, "dark") == ["dark_b1.fits"]
    assert a.note.startswith("not used (incomplete): dark job dark_b2.fits")
    bad = [j for j in jobs_of(r, "dark") if not j.complete]
    assert len(bad) == 1 and "DET.BINX=2" in bad[0].missing[0]
