"""End products: names from header keywords, sanitised, collision-safe, never outside the folder."""

from __future__ import annotations

import os
from pathlib import Path

import helpers

from reflexng.engine.export import export, product_name
from reflexng.recipes.builtin.testing import write_header_fits


def _product(folder: Path, name: str, obj: str, catg: str = "SCI_IMG") -> str:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    write_header_fits(p, {"OBJECT": obj, "PRO.CATG": catg, "FILTER": "V"})
    return str(p)


def test_name_pattern_and_sanitising(tmp_path):
    p = _product(tmp_path / "src", "a.fits", "NGC 1300")
    assert product_name("{OBJECT}_{PRO.CATG}.fits", p, "X") == "NGC_1300_SCI_IMG.fits"
    assert product_name("{OBJECT}-{FILTER}-{MISSING}", p, "X") == "NGC_1300-V-unknown.fits"
    evil = _product(tmp_path / "src", "b.fits", "../../x")
    name = product_name("{OBJECT}_{PRO.CATG}.fits", evil, "X")
    assert "/" not in name and not name.startswith(".") and name == "x_SCI_IMG.fits"
    assert product_name("../{OBJECT}/../../{PRO.CATG}", evil, "X").count("/") == 0


def test_export_stays_in_folder_and_avoids_collisions(tmp_path):
    src = tmp_path / "src"
    prods = [(_product(src, f"p{i}.fits", obj), "SCI_IMG") for i, obj in
             enumerate(["../../x", "/etc/passwd", "..", "x", "x"])]
    out = tmp_path / "work" / "end_products" / "ds" / "stamp"
    paths = export(prods, out)
    assert len(set(paths)) == 5
    for p in paths:
        assert Path(p).parent == out.resolve() and Path(p).is_file()
    names = sorted(Path(p).name for p in paths)
    assert names == ["etc_passwd_SCI_IMG.fits", "unknown_SCI_IMG.fits", "x_SCI_IMG.fits", "x_SCI_IMG_2.fits",
                     "x_SCI_IMG_3.fits"]
    assert not (tmp_path / "x_SCI_IMG.fits").exists() and not (tmp_path / "work" / "x_SCI_IMG.fits").exists()


def test_session_exports_target_products_with_pattern(make_session, raw_dir):
    res = helpers.diamond(raw_dir, objects=("../../evil",))
    s = make_session(res, end_product_pattern="{OBJECT}-{PRO.CATG}", link_end_products=True)
    summary = s.run()
    assert len(summary.end_products) == 1
    p = Path(summary.end_products[0])
    root = (Path(s.workdir) / "end_products").resolve()
    assert root in p.parents and p.name == "evil-FINAL.fits"
    assert p.parent.parent.name == "evil"  # the dataset name is sanitised too
    final = next(j for j in summary.jobs if j["task"] == "final")["products"][0]
    assert os.path.samefile(p, final)  # hard link
