"""Bad targets and parameters are usage errors (exit 2) found before any job runs."""

from __future__ import annotations

import pytest

from ._cli import check, rx, write_cascade

CASES = [
    (("--target", "nosuch"), ["unknown target 'nosuch'", "known targets: prep"], True),
    (("--param", "prep.seconds"), ["--param 'prep.seconds': expected NAME=VALUE"], False),
    (("--param", "seconds=1"), ["expected TASK.NAME=VALUE"], False),
    (("--workflow-param", "nosuch=1"), ["unknown workflow parameter 'nosuch'"], True),
    (("--parameter-set", "nosuch"), ["unknown parameter set 'nosuch'"], True),
    (("--param", "prep.seconds=abc"), ["--param prep.seconds=abc", "not a valid float"], False),
    (("--param", "prep.seconds=-1"), ["below the minimum 0"], False),
    (("--param", "prep.sigma=3"), ["has no parameter 'sigma'", "reflexng recipes show test_sleep"], False),
    (("--param", "nosuch.x=1"), ["has no task 'nosuch'", "tasks: prep"], True),
    (("--force", "nosuch"), ["--force nosuch: no such task"], False),
    (("--timeout", "-1"), ["--timeout -1.0: give a time limit"], False),
    (("--jobs", "0"), ["--jobs must be at least 1"], False),
    (("--end-product-pattern", "{OBJECT}_{PRO.CATG"), ["unbalanced braces", "{OBJECT}_{PRO.CATG}.fits"], False),
]


@pytest.fixture
def sleepy(tiny, tmp_path):
    _, data = tiny
    return write_cascade(tmp_path / "sleepy.py", recipe="test_sleep", params=', "seconds": 0'), data


@pytest.mark.parametrize("extra,words,names_cascade", CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_run_options(sleepy, tmp_path, extra, words, names_cascade):
    cascade, data = sleepy
    w = tmp_path / "w"
    res = rx("run", "--cascade", cascade, "--data", data, "--workdir", w, *extra)
    err = check(res, 2, *words, *([cascade] if names_cascade else []))
    assert "running" not in err  # nothing ran
    assert not (w / "jobs").exists()


@pytest.mark.parametrize("extra,words", [
    (("--target", "nosuch"), ["unknown target 'nosuch'"]),
    (("--param", "nosuch"), ["expected NAME=VALUE"]),
    (("--workflow-param", "nosuch=1"), ["unknown workflow parameter 'nosuch'"]),
    (("--param", "nosuch=1"), ["expected TASK.NAME=VALUE", "--workflow-param"]),  # one meaning per flag
    (("--param", "nosuch.x=1"), ["has no task 'nosuch'"]),
    (("--parameter-set", "nosuch"), ["unknown parameter set 'nosuch'"]),
])
def test_bad_organise_options(tiny, tmp_path, extra, words):
    cascade, data = tiny
    check(rx("organise", "--cascade", cascade, "--data", data, "--workdir", tmp_path / "w", *extra), 2, *words)


def test_bad_cascade_show_target(tiny):
    cascade, _ = tiny
    check(rx("cascade", "show", cascade, "--target", "nosuch"), 2, "nosuch")


def test_broken_user_recipe_module_is_one_warning_line(tiny, tmp_path):
    import os

    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "broken_recipe.py").write_text("def broken(:\n")
    env = {**os.environ, "REFLEXNG_RECIPE_PATH": str(folder)}
    for args in (("recipes", "list"), ("recipes", "show", "test_noop")):
        res = rx(*args, env=env)
        err = check(res, 0, folder / "broken_recipe.py", "fix the file or move it off the recipe path")
        assert "registry.py" not in err and "found = _all()" not in err
