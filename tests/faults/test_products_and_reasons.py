"""A job succeeds only with its products; engine-side failures are one line naming the file."""

from __future__ import annotations

import os

from ._faults import function_cascade, jobs_by_task, run_json, rx, write_raw

TWO_TASKS = ('prep = task("prep").with_function(fn).with_main_input(raw).build()\n'
             'final = task("final").with_recipe("test_noop").with_main_input(prep)'
             '.with_recipe_parameters({"category": "FINAL"}).build()\n'
             'metadata("faults", instrument="TEST", description="fault test cascade", default_target="final")\n')


def test_zero_products_fail_the_job_and_its_downstream_job_does_not_run(tmp_path, raw_guard):
    data = raw_guard(tmp_path / "data")
    write_raw(data)
    for body in ("def fn(inputs, parameters, output_dir):\n    return None\n",
                 "def fn(inputs, parameters, output_dir):\n    return []\n",
                 "def fn(inputs, parameters, output_dir):\n    return RecipeResult(qc={'x': 1})\n"):
        cascade = function_cascade(tmp_path / "c.py", body, TWO_TASKS)
        summary, _ = run_json(cascade, data, tmp_path / "w", code=1)
        jobs = jobs_by_task(summary)
        assert jobs["prep"][0]["status"] == "failed" and "no products" in jobs["prep"][0]["reason"], jobs
        assert jobs["final"][0]["status"] == "skipped", jobs


def test_a_function_that_may_produce_none_succeeds_without_products(tmp_path, raw_guard):
    data = raw_guard(tmp_path / "data")
    write_raw(data)
    body = "def fn(inputs, parameters, output_dir):\n    return None\n\nfn.may_produce_none = True\n"
    summary, _ = run_json(function_cascade(tmp_path / "c.py", body), data, tmp_path / "w", code=0)
    assert [(j["status"], j["products"]) for j in summary["jobs"]] == [("executed", [])]


def test_a_recipe_that_deletes_its_output_folder_fails_with_a_reason(tmp_path, raw_guard):
    data = raw_guard(tmp_path / "data")
    write_raw(data)
    body = "def fn(inputs, parameters, output_dir):\n    shutil.rmtree(output_dir)\n"
    summary, err = run_json(function_cascade(tmp_path / "c.py", body), data, tmp_path / "w", code=1)
    (job,) = summary["jobs"]
    assert "removed its output folder" in job["reason"] and "attempt-001" in job["reason"], job
    assert "FileNotFoundError" not in err


def test_a_raw_file_deleted_before_its_job_starts_is_named(tmp_path, raw_guard):
    data = tmp_path / "data"
    write_raw(data, 2)
    # the first job (one at a time) deletes the raw file of the other one
    body = ("def fn(inputs, parameters, output_dir):\n"
            "    me = Path(inputs[0][0])\n"
            "    [f.unlink() for f in me.parent.glob('raw_*.fits') if f != me]\n"
            "    write_header_fits(output_dir / 'p.fits', {'OBJECT': 'X'})\n")
    for debug in ("", "1"):
        write_raw(data, 2)
        raw_guard(data)
        env = dict(os.environ, REFLEXNG_DEBUG=debug) if debug else None
        w = tmp_path / f"w{debug}"
        out = rx("run", "--cascade", function_cascade(tmp_path / "c.py", body), "--data", data, "--workdir", w,
                 "--ordering", "dfs", "--jobs", "1", "--force", "all", env=env)
        assert out.returncode == 1, out.stderr
        assert f"file not found: {data / 'raw_'}" in out.stderr, out.stderr
        assert "reflexng error" not in out.stderr
        assert ("Traceback" in out.stderr) == bool(debug), out.stderr
        logs = [p.read_text() for p in w.glob("jobs/prep/*/log.txt")]
        assert any("Traceback" in t and "raw_" in t for t in logs), logs
