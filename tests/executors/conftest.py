"""Executor tests: real attempt folders (job.json), real child processes, a real LocalCluster.

``attempt(recipe, **params)`` writes an attempt folder the way the job runner does, for a
built-in recipe or one of the recipes of ``RECIPES`` below (a user recipe folder, found through
the job's ``recipe_path``), and returns its path.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reflexng.recipes.builtin.testing import write_header_fits

RECIPES = r'''
import os, subprocess, sys, time
from pathlib import Path
from reflexng.recipes.protocol import Recipe, RecipeResult, ParameterSpec

DAEMON = (
    "import os, sys, time\n"
    "if os.fork():\n    os._exit(0)\n"
    "os.setsid()\n"
    "if os.fork():\n    os._exit(0)\n"
    "open(sys.argv[1] + '.tmp', 'w').write(str(os.getpid()))\n"
    "os.replace(sys.argv[1] + '.tmp', sys.argv[1])\n"
    "while True:\n    time.sleep(1)\n"
)

class Daemon(Recipe):
    """Starts a daemon that double-forks and calls setsid(), then ends (or hangs)."""
    name = "exec_daemon"
    version = "1"
    parameters = (ParameterSpec("hang", "bool", False),)

    def run(self, inputs, parameters, output_dir):
        pidfile = Path(output_dir).parent / "daemon.pid"
        subprocess.Popen([sys.executable, "-c", DAEMON, str(pidfile)], start_new_session=True).wait()
        while not pidfile.exists():
            time.sleep(0.02)
        print("daemon started", flush=True)
        if parameters.get("hang"):
            while True:
                time.sleep(1)
        p = Path(output_dir) / "out.txt"
        p.write_text("ok")
        return RecipeResult([(str(p), "OUT")])

class UsesNumpy(Recipe):
    """Imports numpy (a planted numpy.py in the working directory must not be the one)."""
    name = "exec_numpy"
    version = "1"

    def run(self, inputs, parameters, output_dir):
        import numpy
        p = Path(output_dir) / "numpy.txt"
        p.write_text(numpy.__file__)
        return RecipeResult([(str(p), "NUMPY")])

RECIPES = [Daemon, UsesNumpy]
'''


@pytest.fixture
def attempt(tmp_path):
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    (recipes / "exec_recipes.py").write_text(RECIPES)
    raw = tmp_path / "raw.fits"
    write_header_fits(raw, {"OBJECT": "X", "DPR.TYPE": "SCI"})
    count = iter(range(1, 10_000))

    def make(recipe: str, **params) -> Path:
        adir = tmp_path / "jobs" / recipe / f"attempt-{next(count):03d}"
        (adir / "tmp").mkdir(parents=True)
        spec = {"job_id": "j1", "task": "t", "recipe": recipe, "recipe_version": "1", "function_task": False,
                "cascade_path": "", "inputs": [{"path": str(raw), "category": "RAW", "role": "main", "hash": "x"}],
                "parameters": params, "output_dir": str(adir / "tmp"), "recipe_path": [str(recipes)],
                "config": str(tmp_path / "none.toml"), "drs_id": "test", "attempt": 1, "cache_key": "k"}
        (adir / "job.json").write_text(json.dumps(spec))
        return adir

    return make


@pytest.fixture(scope="session")
def dask_executor():
    from reflexng.engine.executors import make_executor

    ex = make_executor("dask", workers=2)
    yield ex
    ex.close()


@pytest.fixture(params=["fork", "spawn", "dask"])
def executor(request):
    if request.param == "dask":
        return request.getfixturevalue("dask_executor")
    from reflexng.engine.executors import make_executor

    return make_executor(request.param)
