"""The recipe registry: entry points, user modules, command recipes, esorex delegation, failures."""

from __future__ import annotations

import textwrap
import warnings
from pathlib import Path

import helpers
import pytest

from reflexng.recipes import registry


@pytest.fixture
def clean_registry(monkeypatch, tmp_path):
    monkeypatch.setenv("REFLEXNG_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.delenv("REFLEXNG_RECIPE_PATH", raising=False)
    registry.reload()
    yield
    registry.reload()


def test_builtin_testing_recipes(clean_registry):
    known = registry.known_recipes()
    assert known["test_noop"] == "1.0" and "test_half_product" in known
    r = registry.get_recipe("test_sleep")
    assert r.name == "test_sleep" and r.defaults()["seconds"] == 1.0
    with pytest.raises(registry.UnknownRecipeError, match="no recipe named 'zzz'; known recipes: .*test_noop"):
        registry.get_recipe("zzz")


def test_user_recipe_folder_and_broken_module(clean_registry, tmp_path, monkeypatch):
    d = tmp_path / "recipes"
    d.mkdir()
    (d / "mine.py").write_text(textwrap.dedent('''
        from reflexng.recipes.protocol import Recipe, RecipeResult, ParameterSpec

        class Mine(Recipe):
            name = "my_recipe"
            version = "2.1"
            parameters = (ParameterSpec("k", "int", 3),)

            def run(self, inputs, parameters, output_dir):
                p = output_dir / "mine.txt"
                p.write_text(str(parameters["k"]) + " " + str(len(inputs)))
                return RecipeResult([(str(p), "MINE")], {"k": parameters["k"]})
    '''))
    (d / "broken.py").write_text("import no_such_module_anywhere\n")
    monkeypatch.setenv("REFLEXNG_RECIPE_PATH", str(d))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        known = registry.known_recipes()
    assert known["my_recipe"] == "2.1" and "test_noop" in known
    assert any("broken.py failed to import" in str(w.message) for w in caught)


def test_user_recipe_and_command_recipe_run_as_jobs(clean_registry, tmp_path, monkeypatch, make_session):
    d = tmp_path / "recipes"
    d.mkdir()
    (d / "mine.py").write_text(textwrap.dedent('''
        from reflexng.recipes.protocol import Recipe, RecipeResult, ParameterSpec

        class Mine(Recipe):
            name = "my_recipe"
            version = "2.1"
            parameters = (ParameterSpec("k", "int", 3),)

            def run(self, inputs, parameters, output_dir):
                p = output_dir / "mine.txt"
                p.write_text(str(parameters["k"]) + " " + str(len(inputs)))
                return RecipeResult([(str(p), "MINE")], {"k": parameters["k"]})

        RECIPES = [Mine]
    '''))
    (tmp_path / "config.toml").write_text(textwrap.dedent(f'''
        recipe_dirs = ["{d}"]

        [command_recipes.copy_sof]
        command = "cp {{inputs_sof}} {{output_dir}}/list-{{tag}}.txt"
        version = "0.3"
        parameters = {{ tag = "a" }}
        products = "*.txt"
        category = "SOF_COPY"
    '''))
    registry.reload()
    assert registry.get_recipe("command:copy_sof").version == "0.3"
    s = make_session(helpers.single(tmp_path / "raw", "my_recipe", {"k": "5"}), workdir=tmp_path / "w1")
    summary = s.run()
    prod = Path(summary.jobs[0]["products"][0])
    assert prod.read_text() == "5 1" and summary.jobs[0]["status"] == "executed"
    s2 = make_session(helpers.single(tmp_path / "raw2", "copy_sof", {"tag": "b"}), workdir=tmp_path / "w2")
    summary = s2.run()
    assert summary.jobs[0]["status"] == "executed", summary.jobs[0]["reason"]
    prod = Path(summary.jobs[0]["products"][0])
    assert prod.name == "list-b.txt" and "raw_one.fits SCI" in prod.read_text()
    assert s2.products("job-1") == [(str(prod), "SOF_COPY")]
    replay = (prod.parent.parent / "replay.sh").read_text()
    assert "cp " in replay and "list-b.txt" in replay


def test_esorex_names_are_delegated(clean_registry):
    try:
        import reflexng.recipes.esorex as esorex_mod  # noqa: F401
    except ImportError:
        with pytest.raises(registry.UnknownRecipeError, match="esorex recipes are not available"):
            registry.get_recipe("esorex:uves_cal_mbias")
        return
    import shutil

    if shutil.which("esorex") is None:
        pytest.skip("esorex not installed")
    r = registry.get_recipe("esorex:uves_cal_mbias")
    assert getattr(r, "name", "").endswith("uves_cal_mbias")
    listed = registry.known_recipes(include_esorex=True)
    assert any(n.startswith("esorex:uves_") for n in listed)
