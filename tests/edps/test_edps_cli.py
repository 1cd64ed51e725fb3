"""``reflexng cascade list`` finds EDPS workflow packages (cascade search path, the workflows
of the esorex on PATH, configured workflow folders); a workflow loads by name; validation
says when a CPL recipe is not installed without inventing a package name."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import WORKFLOWS


def _run(args, env_extra: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, **env_extra}
    return subprocess.run([sys.executable, "-m", "reflexng", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def _listed(r) -> dict[str, dict]:
    assert r.returncode == 0, r.stderr
    return {e["name"]: e for e in json.loads(r.stdout)}


def test_list_finds_workflows_on_the_cascade_path(tmp_path):
    r = _run(["cascade", "list", "--json"], {"REFLEXNG_CASCADE_PATH": str(WORKFLOWS)})
    e = _listed(r)["edpsdemo"]
    assert (e["origin"], e["error"], e["errors"]) == ("user", None, 0)
    assert e["path"].endswith("edpsdemo_wkf.py")
    # the helper modules of the package are not listed as cascades
    assert not any(n.startswith("edpsdemo_") for n in _listed(r))


def test_list_finds_the_workflows_of_the_esorex_on_path(tmp_path):
    prefix = tmp_path / "install"
    (prefix / "bin").mkdir(parents=True)
    exe = prefix / "bin" / "esorex"
    exe.write_text("#!/bin/sh\nexit 1\n")
    exe.chmod(0o755)
    kit = prefix / "share" / "esopipes" / "workflows" / "demo-1.0.0" / "edpsdemo"
    shutil.copytree(WORKFLOWS / "edpsdemo", kit, ignore=shutil.ignore_patterns("__pycache__"))
    env = {"PATH": f"{prefix / 'bin'}{os.pathsep}{os.environ['PATH']}", "REFLEXNG_CASCADE_PATH": ""}
    e = _listed(_run(["cascade", "list", "--json"], env))["edpsdemo"]
    assert e["origin"] == "esorex" and Path(e["path"]).parent == kit
    # and by name
    r = _run(["cascade", "show", "edpsdemo"], env)
    assert r.returncode == 0 and f"file: {kit / 'edpsdemo_wkf.py'}" in r.stdout, r.stderr


def test_list_finds_configured_workflow_folders(tmp_path):
    folder = tmp_path / "my_workflows"
    shutil.copytree(WORKFLOWS / "edpsdemo", folder / "edpsdemo", ignore=shutil.ignore_patterns("__pycache__"))
    cfg = tmp_path / "config.toml"
    cfg.write_text(f"workflow_dirs = [{str(folder)!r}]\n")
    e = _listed(_run(["cascade", "list", "--json"], {"REFLEXNG_CONFIG": str(cfg), "REFLEXNG_CASCADE_PATH": ""}))
    assert e["edpsdemo"]["origin"] == "workflows"


@pytest.mark.skipif(shutil.which("esorex") is None, reason="recipe names are checked against esorex")
def test_missing_cpl_recipe_is_said_without_inventing_a_package(write_workflow):
    folder = write_workflow({"mini_wkf.py": """
        from edps import task, data_source, classification_rule
        raw = data_source().with_classification_rule(classification_rule("DARK", {"dpr.type": "DARK"})).build()
        dark = task("dark").with_recipe("zz_not_a_recipe_cal_dark").with_main_input(raw).build()
        """})
    r = _run(["cascade", "validate", str(folder)], {})
    assert r.returncode == 0, r.stdout + r.stderr  # a warning, not an error
    line = next(x for x in r.stdout.splitlines() if "zz_not_a_recipe_cal_dark" in x)
    assert line.startswith(f"{folder / 'mini_wkf.py'}:4: warning: ")
    assert "is not installed" in line and "cpl-plugin" not in line and "apt-get" not in line
