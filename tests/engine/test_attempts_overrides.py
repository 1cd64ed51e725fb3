"""Promote an attempt (keep it, save it as a parameter set) and association overrides, through
the Qt-free core on real FITS files, real child processes (the testing recipes) and the real
SQLite store: what the GUI's Compare pane and dataset tree call, and what a script can call."""

from __future__ import annotations

import pytest
from flow_data import RAW_ASSOCIATION


def _science(result):
    return next(j for j in result.jobs.values() if j.task == "science")


def test_association_override_is_remembered_used_and_recorded(promote_setup):
    from reflexng.engine import Session
    from reflexng.organiser.overrides import (
        FILE,
        Override,
        add_override,
        alternatives,
        load_overrides,
        remove_override,
    )
    from reflexng.provenance.decisions import decisions

    cascade, raw, work = promote_setup
    cascade.write_text(RAW_ASSOCIATION)  # the science job takes raw bias frames as calibration
    with Session(str(cascade), [raw], None, workdir=work) as s:
        r = s.organise()
        sci = _science(r)
        name = next(iter(sci.associated))  # the raw-bias input
        chosen = sorted(c.path for c in sci.associated[name].chosen)
        assert [p.rsplit("/", 1)[-1] for p in chosen] == ["bias_1.fits"]  # the closest in time
        alt = alternatives(r, sci.id, name)
        assert alt and all(c.reason for c in alt)  # listed with why they were not chosen
        other = next(c.path for c in alt if c.path.endswith("bias_0.fits"))
        add_override(work, Override(sci.id, name, "use", path=other), s.store)
        assert (work / FILE).is_file() and load_overrides(work)[0].path == other
        r2 = s.organise()  # re-organising (a re-run) uses the override
        a = _science(r2).associated[name]
        assert [c.path for c in a.chosen] == [other] and "(override)" in a.note
        assert {c.path for c in a.rejected} >= set(chosen)
        assert s.run().ok
        used = {i["path"] for i in s.store.last_attempt(sci.id).inputs}
        assert other in used and not (set(chosen) & used)  # the science job read the swapped-in frame
        assert [d["kind"] for d in decisions(s.store, sci.id)] == ["association_override"]
        # exclude the only chosen frame: the science job becomes incomplete, saying why
        remove_override(work, load_overrides(work)[0], s.store)
        add_override(work, Override(sci.id, name, "exclude", path=chosen[0]), s.store)
        r3 = s.organise()
        assert not _science(r3).associated[name].chosen and not _science(r3).complete
        assert "excluded by the user" in "; ".join(_science(r3).missing)
        remove_override(work, load_overrides(work)[0], s.store)
        r4 = s.organise()
        assert sorted(c.path for c in _science(r4).associated[name].chosen) == chosen
        assert not getattr(r4, "overrides", [])


def test_override_file_damaged_gives_a_message(tmp_path):
    from reflexng.organiser.overrides import FILE, OverrideError, load_overrides

    (tmp_path / FILE).write_text("{not json")
    with pytest.raises(OverrideError, match=FILE):
        load_overrides(tmp_path)


def test_keep_attempt_and_save_parameter_set(promote_setup, capsys):
    from reflexng.cascade import load
    from reflexng.engine import Session
    from reflexng.engine.attempts import PromoteError, keep_attempt, main, save_parameter_set
    from reflexng.provenance.decisions import decisions

    cascade, raw, work = promote_setup
    with Session(str(cascade), [raw], None, workdir=work) as s:
        r = s.organise()
        bias = _science(r).associated["bias"].chosen[0].job_id
        assert s.run().ok
        first = s.products(bias)[0][0]
        s.rerun(bias, {"payload": "second try"})
        assert s.run().ok
        assert s.products(bias)[0][0] != first
        params = keep_attempt(s, bias, 1)
        assert params["payload"] == ""
        summary = s.run()
        statuses = {j["id"]: j["status"] for j in summary.to_json()["jobs"]}
        assert statuses[bias] == "reused"  # attempt 1's products, not recomputed
        assert s.products(bias)[0][0] == first
        sci = _science(r).id
        # downstream: the science result made from bias attempt 1 (reused: same inputs as its first run)
        assert statuses[sci] == "reused"
        sci_attempt = s.store.producer_of(s.products(sci)[0][0])
        assert first in {i["path"] for i in sci_attempt.inputs}
        with pytest.raises(PromoteError, match="no attempt 9"):
            keep_attempt(s, bias, 9)
        defaults = s.recipe_parameters(bias)[2]
        f = save_parameter_set(s.store, cascade, "tuned", bias, 2, defaults)
        assert f == cascade.with_name("promote.params.yaml")
        with pytest.raises(PromoteError, match="exists already"):
            save_parameter_set(s.store, cascade, "tuned", bias, 2, defaults)
        assert [d["kind"] for d in decisions(s.store, bias)] == ["keep_attempt", "save_parameter_set"]
    ps = load(cascade).parameter_sets["tuned"]
    assert ps.recipe_parameters["bias"]["payload"] == "second try"
    assert "category" not in ps.recipe_parameters["bias"] or ps.recipe_parameters["bias"]["category"] == "MASTER_BIAS"
    # the same from the command line
    assert main([str(work), bias, "1", "--save-set", "first", "--cascade", str(cascade)]) == 0
    assert "parameter set first written" in capsys.readouterr().out
    assert "first" in load(cascade).parameter_sets
    assert main([str(work), bias, "7", "--save-set", "x", "--cascade", str(cascade)]) == 1
    assert "no attempt 7" in capsys.readouterr().err
