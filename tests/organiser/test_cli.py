"""`reflexng organise`: text summary, --json, exit codes (in a real child process)."""

from __future__ import annotations

import json
import subprocess
import sys

from .conftest import MINI, T0


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "reflexng", "organise", *map(str, args)],
                          capture_output=True, text=True, timeout=120, cwd=cwd)


def make_data(data):
    data.night()
    data.science("sci1.fits", T0, obs_id=1)
    data.science("sci2.fits", T0 + 3.2, obs_id=2)  # no flat within a day
    data.write("odd.fits", DPR_TYPE="LAMP,ARC", MJD__OBS=T0)
    (data.root / "empty.fits").write_bytes(b"")


def test_text_summary(data, tmp_path):
    make_data(data)
    p = run("--cascade", MINI, "--data", data.root, "--target", "science", "--workdir", tmp_path / "w")
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "cascade mini, target science:" in out
    assert "unclassified: 1, unreadable: 1, ambiguous: 0, duplicates: 0" in out
    assert "odd.fits: nearest rule BIAS (mini.py:" in out
    assert "datasets: 2 (1 complete, 1 incomplete)" in out
    assert "incomplete dataset sci2.fits [OBS.ID=2]" in out
    assert "flat: needs ≥1 FLAT with DET.BINX=1 within 1 day of" in out
    assert (tmp_path / "w" / "reflexng.sqlite").is_file()


def test_json(data):
    make_data(data)
    p = run("--cascade", MINI, "--data", data.root, "--target", "science", "--json",
            "--workflow-param", "group_by=OBJECT")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert {"files", "datasets", "jobs"} <= set(doc)
    files = {f["path"].rsplit("/", 1)[-1]: f for f in doc["files"]}
    assert files["odd.fits"] == {"path": files["odd.fits"]["path"], "category": None,
                                 "status": "unclassified", "reason": files["odd.fits"]["reason"]}
    assert files["empty.fits"]["status"] == "unreadable"
    assert files["sci1.fits"]["category"] == "SCIENCE" and files["sci1.fits"]["status"] == "ok"
    (ds,) = doc["datasets"]  # grouped by OBJECT: one dataset of both frames
    assert set(ds) == {"id", "name", "target", "complete", "missing", "jobs"}
    jobs = {j["id"]: j for j in doc["jobs"]}
    assert set(ds["jobs"]) <= set(jobs)
    sci = jobs[ds["jobs"][-1]]
    assert sci["task"] == "science" and len(sci["main"]) == 2
    assert {"id", "task", "main", "associated", "complete", "missing"} <= set(sci)
    sky = sci["associated"]["RAW_SKY"]
    assert all(set(c) >= {"path", "level", "dt_days"} for c in sky) and sky[0]["level"] == 0
    assert doc["workflow_parameters"]["group_by"] == "OBJECT"


def test_usage_and_cascade_errors_exit_2(data, tmp_path):
    make_data(data)
    bad = tmp_path / "bad.py"
    bad.write_text("from reflexng.cascade import task\n\nx = task('a').with_recipe(3)\n")
    p = run("--cascade", bad, "--data", data.root)
    assert p.returncode == 2 and f"{bad}:3:" in p.stderr
    p = run("--cascade", MINI, "--data", data.root, "--target", "nope")
    assert p.returncode == 2 and "nope" in p.stderr
    p = run("--cascade", MINI, "--data", data.root, "--workflow-param", "group_by=DET.BINX")
    assert p.returncode == 2 and "group_by" in p.stderr
    p = run("--cascade", MINI, "--data", tmp_path / "missing")
    assert p.returncode == 2 and "not a folder" in p.stderr
