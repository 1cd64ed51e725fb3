"""Every installed recipe accepts the configuration the adapter writes for its defaults.

For each recipe of ``esorex --recipes`` the adapter's configuration writer
(:func:`reflexng.recipes.esorex_run.rc_lines`) writes every parameter at its default, and
esorex reads the file back (``--recipe-config=... --params``: a dry parse, nothing is run).
Before empty and multi-token strings were written as esorex writes them, six recipes
rejected their own defaults (exit 254 / 139: "does not fit 'key=value' format").
"""

from __future__ import annotations

import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from reflexng.recipes import esorex as ex
from reflexng.recipes.esorex_run import rc_lines


def _esorex_recipes() -> list[str]:
    out = subprocess.run([ex.esorex_path(), "--recipes"], capture_output=True, text=True,
                         timeout=120).stdout
    return sorted(set(re.findall(r"^\s{2}(\w+)\s*:", out, re.M)))


def _check(name: str, folder) -> str | None:
    recipe = ex.get_recipe(name)
    rc = folder / f"{name}.rc"
    rc.write_text("\n".join(rc_lines(recipe, recipe.defaults())) + "\n")
    got = subprocess.run([ex.esorex_path(), f"--recipe-dir={recipe.library.parent}",
                          f"--recipe-config={rc}", "--params", name],
                         capture_output=True, text=True, cwd=folder, timeout=120)
    text = got.stdout + got.stderr
    if got.returncode != 0 or "[ ERROR ]" in text:
        errors = [ln for ln in text.splitlines() if "ERROR" in ln][:3]
        return f"{name}: exit {got.returncode}: {' | '.join(errors)}"
    for p in recipe.parameters:  # every value esorex read back is the default we wrote
        if p.default in (None, "") or not isinstance(p.default, str) or " " not in p.default:
            continue
        alias = next((a for a, full in recipe.aliases.items() if full == p.name), None)
        if alias and not re.search(rf"^\s*{re.escape(alias)}\s*:\s*{re.escape(p.default)}\s*$", got.stdout, re.M):
            return f"{name}: {p.name} not read back as {p.default!r}"
    return None


def test_every_installed_recipe_accepts_its_default_configuration(esorex, tmp_path):
    names = _esorex_recipes()
    installed = {r.name[len(ex.PREFIX):] for r in ex.list_recipes()}
    assert len(names) >= 150 and set(names) <= installed  # all eight pipelines
    with ThreadPoolExecutor(max_workers=4) as pool:
        problems = [p for p in pool.map(lambda n: _check(n, tmp_path), names) if p]
    assert problems == []


def test_empty_and_multi_token_strings_are_written_like_esorex(esorex):
    recipe = ex.get_recipe("naco_img_jitter")
    lines = rc_lines(recipe, {"offsets": "", "xcorr": "40 40 65 65"})
    assert lines == ["#naco.naco_img_jitter.offsets=", "naco.naco_img_jitter.xcorr=40 40 65 65"]
    with pytest.raises(ex.RecipeError, match="give the value on one line"):
        rc_lines(recipe, {"offsets": "a\nb"})


def test_every_parameter_of_every_recipe_carries_its_description(esorex):
    """The GUI's parameter editor shows the recipe's own help as tooltips: every parameter of
    every installed recipe has a description from esorex (plus its command-line alias)."""
    missing = []
    with ThreadPoolExecutor(max_workers=4) as pool:  # schemas are cached after the first test
        recipes = list(pool.map(lambda info: ex.get_recipe(info.name), ex.list_recipes()))
    for recipe in recipes:
        for p in recipe.parameters:
            if len(p.description.replace("(esorex option --", "").strip()) < 3:
                missing.append(p.name)
    assert not missing, missing[:20]
