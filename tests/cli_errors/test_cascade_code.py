"""Broken cascade code: each message is ``path:line: what`` and says what to do; exit 2."""

from __future__ import annotations

import pytest

from ._cli import check, rx, write_cascade

BROKEN = {
    "syntax": ('from reflexng.cascade import metadata\nmetadata("x"\nfoo = (\n', 2, "syntax error"),
    "exception": ('from reflexng.cascade import metadata\nmetadata("x")\n\nraise RuntimeError("boom")\n', 4,
                  "RuntimeError: boom"),
    "import": ('from reflexng.cascade import metadata\nimport numpyy_not_installed\n', 2,
               "'numpyy_not_installed', which is not installed"),
    "exit": ("import sys\nsys.exit(0)\n", 2, "called exit(0) here; remove the call"),
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_broken_cascade_file(tiny, tmp_path, kind):
    _, data = tiny
    code, line, what = BROKEN[kind]
    path = tmp_path / f"broken_{kind}.py"
    path.write_text(code)
    where = f"{path}:{line}:"
    for verb in ("run", "organise"):
        err = check(rx(verb, "--cascade", path, "--data", data, "--workdir", tmp_path / "w"), 2, where, what)
        assert "fix" in err or "install" in err or "remove" in err
    res = rx("cascade", "validate", path)
    assert res.returncode == 2 and where in res.stdout and what in res.stdout and "Traceback" not in res.stderr
    check(rx("cascade", "show", path), 2, where)


def test_broken_cascade_is_listed_not_a_crash(tmp_path):
    folder = tmp_path / "cascades"
    folder.mkdir()
    (folder / "bad.py").write_text(BROKEN["exception"][0])
    import os

    env = {**os.environ, "REFLEXNG_CASCADE_PATH": str(folder)}
    res = rx("cascade", "list", env=env)
    assert res.returncode == 0 and "Traceback" not in res.stderr
    assert f"BROKEN: {folder / 'bad.py'}:4:" in res.stdout


def test_task_without_main_input(tiny, tmp_path):
    _, data = tiny
    path = tmp_path / "nomain.py"
    path.write_text('from reflexng.cascade import task\nt = task("a").with_recipe("test_noop").build()\n')
    check(rx("run", "--cascade", path, "--data", data), 2, f"{path}:2:", "with_main_input")


def test_unknown_recipe_fails_the_job_not_the_app(tiny, tmp_path):
    _, data = tiny
    cascade = write_cascade(tmp_path / "unknown.py", recipe="no_such_recipe")
    res = rx("cascade", "validate", cascade)  # a warning: the recipe may be installed later
    assert res.returncode == 0 and f"{cascade}:" in res.stdout and "no_such_recipe" in res.stdout
    res = rx("run", "--cascade", cascade, "--data", data, "--workdir", tmp_path / "w")
    err = check(res, 1)
    assert "FAILED" in err and "no recipe named 'no_such_recipe'" in err
    assert "failed: " in res.stdout and "no_such_recipe" in res.stdout
    check(rx("recipes", "show", "no_such_recipe"), 2, "no_such_recipe")
