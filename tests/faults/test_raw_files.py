"""Raw files are never written: products that are links (or outside the output folder) are refused,
whichever way the recipe reports them, and provenance cards go into a private copy."""

from __future__ import annotations

import hashlib
import os

import pytest

from reflexng.provenance.headers import provenance_cards, write_provenance
from reflexng.recipes.builtin.testing import read_header_cards, write_header_fits

from ._faults import function_cascade, jobs_by_task, recipe_cascade, run_json, write_raw

LINKERS = {
    # returns None: every entry left in the output folder is a product
    "symlink_none": "def fn(inputs, parameters, output_dir):\n"
                    "    os.symlink(inputs[0][0], output_dir / 'p.fits')\n",
    "hardlink_none": "def fn(inputs, parameters, output_dir):\n"
                     "    os.link(inputs[0][0], output_dir / 'p.fits')\n",
    "symlink_list": "def fn(inputs, parameters, output_dir):\n"
                    "    os.symlink(inputs[0][0], output_dir / 'p.fits')\n"
                    "    return [('p.fits', 'PREP')]\n",
    "hardlink_list": "def fn(inputs, parameters, output_dir):\n"
                     "    os.link(inputs[0][0], output_dir / 'p.fits')\n"
                     "    return [('p.fits', 'PREP')]\n",
    "hardlink_result": "def fn(inputs, parameters, output_dir):\n"
                       "    os.link(inputs[0][0], output_dir / 'p.fits')\n"
                       "    return RecipeResult(products=[(str(output_dir / 'p.fits'), 'PREP')])\n",
    "outside_result": "def fn(inputs, parameters, output_dir):\n"
                      "    return RecipeResult(products=[(inputs[0][0], 'PREP')])\n",
    "linked_folder": "def fn(inputs, parameters, output_dir):\n"
                     "    os.symlink(os.path.dirname(inputs[0][0]), output_dir / 'sub')\n"
                     "    return [(str(output_dir / 'sub' / os.path.basename(inputs[0][0])), 'PREP')]\n",
}
WORDS = {"symlink": "symbolic link", "hardlink": "hard link", "outside": "not inside the output folder",
         "linked": "not inside the output folder"}


@pytest.mark.parametrize("mode", sorted(LINKERS))
def test_a_linked_product_is_refused_and_the_raw_file_never_written(mode, tmp_path, raw_guard):
    data = raw_guard(tmp_path / "data")
    (raw,) = write_raw(data)
    cascade = function_cascade(tmp_path / "c.py", LINKERS[mode])
    summary, err = run_json(cascade, data, tmp_path / "w", code=1)
    (job,) = jobs_by_task(summary)["prep"]
    assert job["status"] == "failed" and WORDS[mode.split("_")[0]] in job["reason"], job
    assert "p.fits" in job["reason"] or raw.name in job["reason"], job
    assert "PRO REC1" not in raw.read_text(errors="replace") and os.stat(raw).st_nlink == 1 or mode.startswith("hard")
    # the raw file is still raw: the next run classifies it as before and runs its job again
    again, _ = run_json(cascade, data, tmp_path / "w", code=1)
    assert [j["status"] for j in again["jobs"]] == ["failed"]


def test_write_provenance_replaces_the_name_never_the_linked_file(tmp_path):
    raw = tmp_path / "raw.fits"
    write_header_fits(raw, {"OBJECT": "X", "DPR.TYPE": "SCI"})
    before = hashlib.sha256(raw.read_bytes()).hexdigest()
    hard = tmp_path / "hard.fits"
    os.link(raw, hard)
    soft = tmp_path / "soft.fits"
    soft.symlink_to(raw)
    cards = provenance_cards("r", "1", "reflexng", [{"path": str(raw), "category": "SCI", "role": "main"}], {})
    for product in (hard, soft):
        assert write_provenance(str(product), "PREP", cards)
        assert read_header_cards(product)["PRO.CATG"] == "PREP"
        assert not product.is_symlink() and os.stat(product).st_nlink == 1
    assert hashlib.sha256(raw.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hard.fits", "raw.fits", "soft.fits"]  # no copy left


@pytest.mark.parametrize("recipe,params", [("test_segfault", ""), ("test_abort", ""), ("test_raise", ""),
                                           ("test_exit", ""), ("test_half_product", "")])
def test_crashing_recipes_leave_every_raw_file_as_it_was(recipe, params, tmp_path, raw_guard):
    data = raw_guard(tmp_path / "data")
    write_raw(data, 2)
    summary, _err = run_json(recipe_cascade(tmp_path / "c.py", recipe, params), data, tmp_path / "w", code=1)
    assert {j["status"] for j in summary["jobs"]} == {"failed"}
