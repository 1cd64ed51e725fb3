"""`reflexng cascade ...` as a real child process: output formats and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from _cascade_testutil import FIG1, line_of

GOOD = """\
from reflexng.cascade import classification_rule, data_source, metadata, task
metadata("tiny_user", instrument="DEMO", description="a user cascade")
raw = data_source("RAW").with_classification_rule(classification_rule("R", {"A": 1})).build()
t = task("t").with_recipe("demo_bias").with_main_input(raw).build()
"""
BAD = """\
from reflexng.cascade import classification_rule, data_source, task
raw = data_source("RAW").with_classification_rule(classification_rule("R", {"A": 1})).build()
t = task("t").with_recipe("r").build()  # no main input
u = task("u").with_main_input(raw).build()  # no recipe
"""


@pytest.fixture
def env(tmp_path):
    user = tmp_path / "user"
    user.mkdir()
    (user / "tiny_user.py").write_text(GOOD)
    (user / "broken.py").write_text("from reflexng.cascade import task\nx = (\n")
    (user / "_helper.py").write_text("raise RuntimeError('helpers are not cascades')\n")
    data = tmp_path / "xdg"
    (data / "reflexng" / "cascades").mkdir(parents=True)
    (data / "reflexng" / "cascades" / "from_data_dir.py").write_text(GOOD.replace("tiny_user", "from_data_dir"))
    e = dict(os.environ, REFLEXNG_CASCADE_PATH=str(user), XDG_DATA_HOME=str(data))
    return e, user


def run(env, *args):
    return subprocess.run([sys.executable, "-m", "reflexng", "cascade", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_list_shows_builtin_user_and_broken_cascades(env):
    e, user = env
    r = run(e, "list")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["NAME", "INSTRUMENT", "ORIGIN", "DESCRIPTION"]
    tiny = next(line for line in lines if line.startswith("tiny_user"))
    assert "DEMO" in tiny and "user" in tiny and "a user cascade" in tiny
    assert any(line.startswith("from_data_dir") for line in lines)  # platform user data folder
    broken = next(line for line in lines if line.startswith("broken"))
    assert f"BROKEN: {user / 'broken.py'}:" in broken and "syntax error" in broken
    assert "_helper" not in r.stdout
    entries = json.loads(run(e, "list", "--json").stdout)
    assert {x["origin"] for x in entries} >= {"user"}
    assert next(x for x in entries if x["name"] == "tiny_user")["error"] is None


def test_show_formats_and_target(env):
    e, _ = env
    text = run(e, "show", str(FIG1), "--target", "science_std")
    assert text.returncode == 0, text.stderr
    assert "target: science_std" in text.stdout and "spec_combination" not in text.stdout
    assert "  flat_strategy  (calibration; recipe python:forward_science_flat)" in text.stdout
    js = run(e, "show", str(FIG1), "--format", "json")
    d = json.loads(js.stdout)
    assert {t["name"] for t in d["tasks"]} >= {"bias", "spec_combination_std"} and d["edges"]
    dot = run(e, "show", str(FIG1), "--format", "dot", "--target", "flat")
    assert dot.stdout.startswith('digraph "fig1"') and '"bias" -> "flat"' in dot.stdout
    assert '"science"' not in dot.stdout
    by_name = run(e, "show", "tiny_user", "--format", "json")
    assert json.loads(by_name.stdout)["name"] == "tiny_user"


def test_show_errors_exit_2(env, tmp_path):
    e, _ = env
    r = run(e, "show", str(FIG1), "--target", "nosuch")
    assert r.returncode == 2 and "unknown target 'nosuch'" in r.stderr
    bad = tmp_path / "bad.py"
    bad.write_text(BAD)
    r = run(e, "show", str(bad))
    assert r.returncode == 2 and f"{bad}:{line_of(BAD, 'no main input')}: task 't' has no main input" in r.stderr


def test_validate_exit_codes_and_messages(env, tmp_path):
    e, _ = env
    ok = run(e, "validate", str(FIG1))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.splitlines()[-1].startswith(f"{FIG1}: valid")
    bad = tmp_path / "bad.py"
    bad.write_text(BAD)
    r = run(e, "validate", str(bad), "--skip-recipes")
    assert r.returncode == 2
    assert f"{bad}:{line_of(BAD, 'no main input')}: task 't' has no main input (add .with_main_input(...))" in r.stdout
    assert f"{bad}:{line_of(BAD, 'no recipe')}: task 'u' has neither a recipe nor a function" in r.stdout
    assert "2 error(s)" in r.stdout.splitlines()[-1]
    js = json.loads(run(e, "validate", str(bad), "--json").stdout)  # with the recipe lookup
    assert js["valid"] is False and {p["line"] for p in js["problems"] if p["severity"] == "error"} == {3, 4}
    broken = run(e, "validate", "broken")  # by name, from $REFLEXNG_CASCADE_PATH
    assert broken.returncode == 2 and "syntax error" in broken.stdout
    missing = run(e, "validate", "no_such_cascade")
    assert missing.returncode == 2 and "no cascade named 'no_such_cascade'" in missing.stdout


def test_dispatch_verbs_reach_their_modules(env, tmp_path):
    e, _ = env
    for verb, arg in (("from-oca", "x.oca"), ("test", "missing.json")):
        r = run(e, verb, str(tmp_path / arg))
        # the other engineers' modules answer a missing file with a message, not a traceback
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    help_ = run(e, "--help")
    assert help_.returncode == 0 and all(w in help_.stdout for w in ("list", "show", "validate", "test", "from-oca"))


def test_dispatch_to_a_module_not_built_yet(capsys):
    from reflexng.cli.cascade_cmd import _dispatch

    assert _dispatch("reflexng.no_such_module.cli", "cascade thing")(None) == 2
    assert "cascade thing: not built yet" in capsys.readouterr().err
