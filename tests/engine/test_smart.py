"""Smart re-runs: reuse, invalidation by parameters / inputs / products, --force, and why_run texts."""

from __future__ import annotations

from pathlib import Path

import helpers

from reflexng.recipes.builtin.testing import write_header_fits


def _status(summary) -> dict[str, str]:
    return {j["id"]: j["status"] for j in summary.jobs}


def test_second_run_reuses_everything(make_session, raw_dir, tmp_path):
    res = helpers.diamond(raw_dir, objects=("A", "B"))
    s = make_session(res)
    assert s.why_run("prep-A") == "never ran"
    assert s.why_run("final-A") == "upstream job left-A will run first"
    first = s.run()
    assert set(_status(first).values()) == {"executed"}
    second = s.run()
    assert set(_status(second).values()) == {"reused"}
    assert s.why_run("final-A") == "unchanged (reused)"
    # reused products are those of the first attempt
    assert second.jobs[3]["products"] == first.jobs[3]["products"]
    s.close()
    # a new session (new process state) on the same work directory reuses too
    s2 = make_session(helpers.diamond(raw_dir, objects=("A", "B")))
    assert set(_status(s2.run()).values()) == {"reused"}


def test_parameter_change_reruns_job_and_downstream(make_session, raw_dir):
    s = make_session(helpers.diamond(raw_dir))
    s.run()
    s.close()
    s2 = make_session(helpers.diamond(raw_dir, params={"payload": "sigma4"}))
    assert s2.why_run("prep-NGC1") == "parameter payload '' -> sigma4"
    summary = s2.run()
    assert set(_status(summary).values()) == {"executed"}
    why = {j["id"]: j["why"] for j in summary.jobs}
    assert why["prep-NGC1"] == "parameter payload '' -> sigma4"
    assert why["final-NGC1"] == "parameter payload '' -> sigma4; input left.fits changed; input right.fits changed"
    assert s2.why_run("final-NGC1") == "unchanged (reused)"


def test_changed_input_reruns(make_session, raw_dir):
    res = helpers.diamond(raw_dir)
    s = make_session(res)
    s.run()
    raw = Path(res.files[0].path)
    write_header_fits(raw, {"OBJECT": "NGC1", "DPR.TYPE": "SCI", "EXPTIME": 30.0})
    assert s.why_run("prep-NGC1") == "input raw_NGC1.fits changed"
    st = _status(s.run())
    assert st["prep-NGC1"] == "executed"


def test_missing_or_modified_product_invalidates_never_crashes(make_session, raw_dir):
    s = make_session(helpers.diamond(raw_dir))
    first = s.run()
    left = Path(next(j for j in first.jobs if j["id"] == "left-NGC1")["products"][0])
    right = Path(next(j for j in first.jobs if j["id"] == "right-NGC1")["products"][0])
    left.unlink()
    with open(right, "ab") as fh:
        fh.write(b"x" * 10)
    s.use_organised(s.result)  # forget in-memory states, like a new session would
    assert s.why_run("left-NGC1") == "product left.fits missing"
    assert s.why_run("right-NGC1") == "product right.fits modified"
    st = _status(s.run())
    assert st == {"prep-NGC1": "reused", "left-NGC1": "executed", "right-NGC1": "executed",
                  # the re-made products have the same content: final is reused
                  "final-NGC1": "reused"}
    by_id = {j["id"]: j for j in s.run().jobs}
    assert "attempt-002" in by_id["left-NGC1"]["products"][0]
    assert (left.parent / "left.fits").exists() is False  # attempt 1 was never rewritten


def test_force_task_and_all(make_session, raw_dir, tmp_path):
    s = make_session(helpers.diamond(raw_dir))
    s.run()
    s.close()
    s2 = make_session(helpers.diamond(raw_dir), force=("left",))
    assert s2.why_run("left-NGC1") == "forced (--force left)"
    st = _status(s2.run())
    assert st["left-NGC1"] == "executed" and st["prep-NGC1"] == "reused" and st["right-NGC1"] == "reused"
    assert st["final-NGC1"] == "reused"  # same content from the forced job
    s2.close()
    s3 = make_session(helpers.diamond(raw_dir), force=("all",))
    assert set(_status(s3.run()).values()) == {"executed"}
    attempts = sorted(p.name for p in (Path(s3.workdir) / "jobs" / "left" / "left-NGC1").iterdir())
    assert attempts == ["attempt-001", "attempt-002", "attempt-003", "latest"]
    assert (Path(s3.workdir) / "jobs/left/left-NGC1/latest").resolve().name == "attempt-003"


def test_recipe_defaults_and_overrides(make_session, raw_dir):
    s = make_session(helpers.single(raw_dir, "test_sleep", {"seconds": 0.1}))
    specs, effective, defaults = s.recipe_parameters("job-1")
    assert defaults["seconds"] == 1.0 and effective["seconds"] == 0.1
    assert {p.name for p in specs} >= {"seconds", "payload", "category"}
    s.run()
    att = Path(s.workdir) / "jobs/prep/job-1/attempt-001"
    import json

    assert json.loads((att / "parameters.json").read_text())["seconds"] == 0.1
    sof = (att / "inputs.sof").read_text().split()
    assert sof[0].endswith("raw_one.fits") and Path(sof[0]).is_absolute() and sof[1] == "SCI"
