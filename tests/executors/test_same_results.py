"""Same results everywhere: the imaging demo reduced with fork, spawn and dask gives byte-identical
products (DATE fixed by $SOURCE_DATE_EPOCH) and the same provenance (recipes, versions, parameters, inputs with checksums)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest


def _provenance(workdir):
    db = sqlite3.connect(workdir / "reflexng.sqlite")
    try:
        w = str(workdir)
        outputs = sorted(
            (job, cat, path.replace(w, "W"), h) for job, cat, path, h in db.execute(
                "SELECT j.job_id, o.category, o.path, o.hash FROM job_outputs o JOIN jobs j ON j.id = o.attempt_id "
                "WHERE j.status = 'done'"))
        attempts = sorted(db.execute("SELECT job_id, task, recipe, version, parameters, cache_key, status, attempt "
                                     "FROM jobs"))
        inputs = sorted(
            (job, role, cat, path.replace(w, "W"), h) for job, role, cat, path, h in db.execute(
                "SELECT j.job_id, i.role, i.category, i.path, i.hash FROM job_inputs i JOIN jobs j ON j.id = i.attempt_id"))
        executors = {r[0] for r in db.execute("SELECT executor FROM attempt_resources")}
    finally:
        db.close()
    return outputs, attempts, inputs, executors


@pytest.mark.slow
def test_demo_imaging_identical_on_fork_spawn_and_dask(tmp_path):
    import os

    if not os.environ.get("CI"):
        pytest.importorskip("distributed")
    data = tmp_path / "data"
    subprocess.run([sys.executable, "-m", "reflexng", "demo-data", "--out", str(data), "--mode", "imaging",
                    "--size", "128", "--nights", "1"], check=True, capture_output=True, timeout=300)
    seen = {}
    # DATE is the time a product was written (as CPL writes it): fixed by the reproducible-builds
    # convention so products can be compared byte for byte
    env = dict(os.environ, SOURCE_DATE_EPOCH="1767225600")
    for name in ("fork", "spawn", "dask"):
        work = tmp_path / f"work-{name}"
        r = subprocess.run([sys.executable, "-m", "reflexng", "run", "--cascade", "demo_imaging", "--data",
                            str(data), "--workdir", str(work), "--executor", name, "--jobs", "2"],
                           capture_output=True, text=True, timeout=900, env=env)
        assert r.returncode == 0, f"{name}: {r.stderr[-2000:]}"
        seen[name] = _provenance(work)
    outputs, attempts, inputs, executors = seen["fork"]
    assert outputs and attempts and inputs and executors == {"fork"}
    for name in ("spawn", "dask"):
        o, a, i, e = seen[name]
        assert e == {name}
        assert o == outputs, f"{name}: products differ from fork"
        assert a == attempts, f"{name}: recipes, versions, parameters or cache keys differ from fork"
        assert i == inputs, f"{name}: inputs or their checksums differ from fork"
