"""Helpers of the fault tests: cascades whose function tasks misbehave, run as ``python -m reflexng``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from reflexng.recipes.builtin.testing import write_header_fits

HEAD = '''
import os, shutil
from pathlib import Path
from reflexng.cascade import classification_rule, data_source, metadata, task
from reflexng.recipes.protocol import RecipeResult
from reflexng.recipes.builtin.testing import write_header_fits

metadata("faults", instrument="TEST", description="fault test cascade", default_target="prep")
raw = (data_source("RAW_SCI")
       .with_classification_rule(classification_rule("SCI", {"DPR.TYPE": "SCI"}))
       .with_grouping_keywords(["OBJECT"])
       .build())
'''


def function_cascade(path: Path, body: str, tasks: str | None = None) -> Path:
    """A cascade whose task ``prep`` runs the function ``fn`` defined in ``body``."""
    tasks = tasks or 'prep = task("prep").with_function(fn).with_main_input(raw).build()\n'
    path.write_text(HEAD + body + "\n" + tasks, encoding="utf-8")
    return path


def recipe_cascade(path: Path, recipe: str, params: str = "") -> Path:
    tasks = (f'prep = (task("prep").with_recipe("{recipe}").with_main_input(raw)\n'
             f'        .with_recipe_parameters({{"category": "PREP"{params}}}).build())\n')
    path.write_text(HEAD + tasks, encoding="utf-8")
    return path


def write_raw(folder: Path, n: int = 1, **cards) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        p = folder / f"raw_{i}.fits"
        write_header_fits(p, {"OBJECT": f"OBJ{i}", "DPR.TYPE": "SCI", **cards})
        out.append(p)
    return out


def rx(*args, timeout: float = 120, env: dict | None = None, cwd: Path | None = None):
    return subprocess.run([sys.executable, "-m", "reflexng", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=cwd)


def run_json(cascade: Path, data: Path, workdir: Path, *extra, code: int | None = None, env: dict | None = None):
    """``reflexng run --json``: (summary dict, stderr); asserts no traceback (and ``code`` when given)."""
    res = rx("run", "--cascade", cascade, "--data", data, "--workdir", workdir, "--json", *extra, env=env)
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout, res.stderr
    if code is not None:
        assert res.returncode == code, f"exit {res.returncode}, expected {code}\n{res.stderr}"
    return json.loads(res.stdout) if res.stdout.strip() else {}, res.stderr


def jobs_by_task(summary: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for j in summary.get("jobs", []):
        out.setdefault(j["task"], []).append(j)
    return out


def tracebacks(text: str) -> list[str]:
    """The tracebacks in ``text``, except the job helper's ConnectionResetError when the engine exits
    (``engine/zygote.py`` belongs to issue 15, where it is handled)."""
    out = []
    for block in text.split("Traceback (most recent call last):")[1:]:
        if "engine/zygote.py" in block and "ConnectionResetError" in block:
            continue
        out.append(block)
    return out
