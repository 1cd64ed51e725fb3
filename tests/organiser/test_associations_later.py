"""A job's associations chosen in the columnar search are made when first looked at
(``model.Associations``), and are then exactly those :meth:`Planner.associate` makes."""

from __future__ import annotations

import copy
import json
import pickle

import pytest

from reflexng.cascade import load
from reflexng.fits import scan
from reflexng.organiser import needed_keywords, organise
from reflexng.organiser.classify import classify
from reflexng.organiser.model import Association, Associations
from reflexng.organiser.plan import Planner
from reflexng.organiser.report import to_json, write_json
from reflexng.organiser.spectest import write_header_fits

CASCADE = '''
from reflexng.cascade import SAME_NIGHT, UNLIMITED, classification_rule, data_source, metadata, task

metadata("later", instrument="LATER", default_target="science")


def raw(name, dpr_type, group=("TPL.START",), catg="CALIB"):
    return (data_source(name)
            .with_classification_rule(classification_rule(name, {"DPR.CATG": catg, "DPR.TYPE": dpr_type}))
            .with_grouping_keywords(list(group))
            .with_match_keywords(["DET.BINX"], time_range=SAME_NIGHT, level=0)
            .with_match_keywords(["DET.BINX"], time_range=UNLIMITED, level=1)
            .build())


raw_bias = raw("RAW_BIAS", "BIAS")
raw_sky = raw("RAW_SKY", "SKY", group=())
raw_flat = raw("RAW_FLAT", "FLAT")
raw_science = raw("RAW_SCIENCE", "OBJECT", group=("MJD-OBS",), catg="SCIENCE")
bias = task("bias").with_recipe("b").with_main_input(raw_bias).build()
flat = task("flat").with_recipe("f").with_main_input(raw_flat).with_associated_input(bias).build()
science = (task("science").with_recipe("s").with_main_input(raw_science)
           .with_associated_input(bias).with_associated_input(flat)
           .with_associated_input(raw_sky, min_ret=1, max_ret=2)
           .with_associated_input(raw_sky, min_ret=0, max_ret=1)
           .build())
'''


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "later.py").write_text(CASCADE)
    raw = tmp_path / "raw"
    raw.mkdir()
    for night in range(3):
        t0 = 61000.1 + night
        for binx in (1, 2):
            for i in range(3):
                write_header_fits(raw / f"bias_{night}_{binx}_{i}.fits", {
                    "DPR.CATG": "CALIB", "DPR.TYPE": "BIAS", "DET.BINX": binx,
                    "TPL.START": f"b{night}{binx}", "MJD-OBS": t0 + i * 0.001 + binx * 0.01})
                write_header_fits(raw / f"flat_{night}_{binx}_{i}.fits", {
                    "DPR.CATG": "CALIB", "DPR.TYPE": "FLAT", "DET.BINX": binx,
                    "TPL.START": f"f{night}{binx}", "MJD-OBS": t0 + 0.1 + i * 0.001 + binx * 0.01})
            for i in range(4):
                write_header_fits(raw / f"sci_{night}_{binx}_{i}.fits", {
                    "DPR.CATG": "SCIENCE", "DPR.TYPE": "OBJECT", "DET.BINX": binx,
                    "MJD-OBS": t0 + 0.2 + i * 0.02 + binx * 0.005})
        # binning 1 has skies every night, binning 2 only the first night (level 1 then)
        for i in range(3):
            write_header_fits(raw / f"sky_{night}_{i}.fits", {
                "DPR.CATG": "CALIB", "DPR.TYPE": "SKY", "DET.BINX": 1, "MJD-OBS": t0 + 0.3 + i * 0.01})
    write_header_fits(raw / "sky_b2.fits", {"DPR.CATG": "CALIB", "DPR.TYPE": "SKY", "DET.BINX": 2,
                                            "MJD-OBS": 61000.5})
    return tmp_path


def test_associations_made_later_equal_those_made_at_once(folder):
    cascade = load(folder / "later.py")
    files = classify(scan([str(folder / "raw")], needed_keywords(cascade)), cascade)
    planner = Planner(cascade, files, {})
    datasets = planner.datasets(["science"])
    assert len(datasets) == 24 and all(d.complete for d in datasets)
    later = [j for j in planner.jobs.values() if type(j.associated) is Associations]
    # every science job (searched in columns) and every flat job (searched one by one)
    assert sorted(j.task for j in later) == ["flat"] * 6 + ["science"] * 24
    for job in later:
        assert job.associated._pending  # nothing made before the first look
        g = planner._group_of[job.id]
        eager = {plan[8]: planner.associate(g, plan, None, False)
                 for plan in planner._task_plans[job.task][2]}
        assert list(job.associated) == list(eager)
        assert list(eager) == (["bias"] if job.task == "flat" else ["bias", "flat", "RAW_SKY"])
        assert dict(job.associated) == eager  # the first look makes them all
        assert not job.associated._pending
        assert all(type(a) is Association for a in job.associated.values())
        # the candidates, their levels and times, and the rejected ones, field by field
        for name, a in eager.items():
            got = job.associated[name]
            assert got.chosen == a.chosen and tuple(got.rejected) == tuple(a.rejected)
            assert got[4:] == a[4:] and got[:2] == a[:2]
        # the upstream jobs it names exist and are depended on
        for a in job.associated.values():
            for c in a.chosen:
                assert c.job_id is None or c.job_id in job.depends_on
    levels = {c.level for j in later if j.task == "science" for c in j.associated["RAW_SKY"].chosen}
    assert levels == {0, 1}  # binning 2 found its sky on level 1 after night 0


def test_associations_read_as_the_dict_they_stand_for(folder):
    cascade = load(folder / "later.py")
    result = organise(cascade, folder / "raw")
    job = next(j for j in result.jobs.values() if j.task == "science")
    a = job.associated
    assert type(a) is Associations and len(a) == 3 and "bias" in a and "nothing" not in a and a.get("nothing", 1) == 1
    plain = dict(a.items())
    assert a == plain and plain == a and not (a != plain)
    assert repr(a) == repr(plain)
    assert pickle.loads(pickle.dumps(a)) == plain and type(pickle.loads(pickle.dumps(a))) is dict
    assert copy.deepcopy(job).associated == plain
    with pytest.raises(TypeError):
        hash(a)
    # the JSON of a result whose associations were never looked at equals one looked at
    fresh = organise(cascade, folder / "raw")
    assert any(type(j.associated) is Associations and j.associated._pending
               for j in fresh.jobs.values())
    out: list[str] = []
    write_json(fresh, out.append)  # the command line's writer
    assert json.loads("".join(out)) == json.loads(json.dumps(to_json(result)))
    again: list[str] = []
    write_json(result, again.append)
    assert "".join(again) == "".join(out)
