"""End products: names that never collide, sanitised, never outside the folder; a run exports
only what changed (a re-run of an unchanged reduction writes no file); `export_to` patterns."""

from __future__ import annotations

import os
from pathlib import Path

import helpers
import pytest

from reflexng.engine.export import PatternError, export, export_to, product_name
from reflexng.recipes.builtin.testing import write_header_fits


def _product(folder: Path, name: str, obj: str, catg: str = "SCI_IMG", **cards) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    write_header_fits(p, {"OBJECT": obj, "PRO.CATG": catg, "FILTER": "V", **cards})
    return str(p)


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_name_pattern_and_sanitising(tmp_path):
    p = _product(tmp_path / "src", "a.fits", "NGC 1300")
    assert product_name("{OBJECT}_{PRO.CATG}.fits", p, "X") == "NGC_1300_SCI_IMG.fits"
    assert product_name("{OBJECT}-{FILTER}-{MISSING}", p, "X") == "NGC_1300-V-unknown.fits"
    evil = _product(tmp_path / "src", "b.fits", "../../x")
    name = product_name("{OBJECT}_{PRO.CATG}.fits", evil, "X")
    assert "/" not in name and not name.startswith(".") and name == "x_SCI_IMG.fits"
    assert product_name("../{OBJECT}/../../{PRO.CATG}", evil, "X").count("/") == 0


def test_names_never_collide_and_stay_in_folder(tmp_path):
    src = tmp_path / "src"
    prods = [(_product(src, f"p{i}.fits", obj, **{"TPL.EXPNO": i + 1}), "SCI_IMG") for i, obj in
             enumerate(["../../x", "/etc/passwd", "..", "x", "x"])]
    out = tmp_path / "work" / "end_products" / "ds"
    done = export(prods, out, setup="V")
    assert len(done.new) == 5 and not done.updated and not done.unchanged
    for p in done.new:
        assert Path(p).parent == out.resolve() and Path(p).is_file()
    names = sorted(Path(p).name for p in done.new)
    assert names == [f"sci_img_V_exp{i}.fits" for i in range(1, 6)]  # told apart by exposure, no _2
    assert all(len(n) <= 60 for n in names)
    # a pattern that collides gets the same treatment
    out2 = tmp_path / "work" / "end_products" / "ds2"
    names2 = sorted(Path(p).name for p in export(prods, out2, "{OBJECT}_{PRO.CATG}.fits").new)
    assert len(set(names2)) == 5 and not any(n.endswith("_2.fits") for n in names2)
    assert not (tmp_path / "x_SCI_IMG.fits").exists() and not (tmp_path / "work" / "x_SCI_IMG.fits").exists()


def test_only_changed_products_become_new_versions(tmp_path):
    src = tmp_path / "src"
    a = _product(src, "a.fits", "M31", "COADD_IMG")
    b = _product(src, "b.fits", "M31", "SOURCE_CATALOG")
    out = tmp_path / "end_products" / "M31_V"
    first = export([(a, "COADD_IMG"), (b, "SOURCE_CATALOG")], out, setup="V")
    assert sorted(Path(p).name for p in first.new) == ["coadd_img_V.fits", "source_catalog_V.fits"]
    before = _files(out)
    again = export([(a, "COADD_IMG"), (b, "SOURCE_CATALOG")], out, setup="V")
    assert not again.new and not again.updated and len(again.unchanged) == 2
    assert _files(out) == before  # nothing written
    b2 = _product(src / "rerun", "b.fits", "M31", "SOURCE_CATALOG", NSOURCES=7)
    third = export([(a, "COADD_IMG"), (b2, "SOURCE_CATALOG")], out, setup="V")
    assert [Path(p).name for p in third.updated] == ["source_catalog_V.fits"] and len(third.unchanged) == 1
    assert _files(out) == ["coadd_img_V.fits", "previous/source_catalog_V.1.fits", "source_catalog_V.fits"]
    assert (out / "source_catalog_V.fits").read_bytes() == Path(b2).read_bytes()
    assert (out / "previous" / "source_catalog_V.1.fits").read_bytes() == Path(b).read_bytes()


def test_export_to_with_pattern_and_missing_keyword(tmp_path):
    src = tmp_path / "src"
    a = Path(_product(src, "coadd_img_V.fits", "M31", "COADD_IMG"))
    dest = tmp_path / "out"
    done = export_to({"M31_V_2025-01-25": [a]}, dest, "{OBJECT}/{dataset}_{name}", link=True)
    target = dest / "M31" / "M31_V_2025-01-25_coadd_img_V.fits"
    assert done == [(str(a), str(target), "new")] and os.path.samefile(a, target)
    assert export_to({"M31_V_2025-01-25": [a]}, dest, "{OBJECT}/{dataset}_{name}")[0][2] == "unchanged"
    with pytest.raises(PatternError, match=r"coadd_img_V.fits: pattern field \{INS.FILT.NAME\}: no keyword"):
        export_to({"x": [a]}, tmp_path / "out2", "{INS.FILT.NAME}_{name}")
    assert not (tmp_path / "out2").exists()  # checked before writing anything


def test_session_exports_target_products_with_pattern(make_session, raw_dir):
    res = helpers.diamond(raw_dir, objects=("../../evil",))
    s = make_session(res, end_product_pattern="{OBJECT}-{PRO.CATG}", link_end_products=True)
    summary = s.run()
    assert len(summary.end_products) == 1
    p = Path(summary.end_products[0])
    root = (Path(s.workdir) / "end_products").resolve()
    assert root in p.parents and p.name == "evil-FINAL.fits"
    assert p.parent.parent == root and len(p.parent.name) <= 60  # end_products/<label>/<name>
    final = next(j for j in summary.jobs if j["task"] == "final")["products"][0]
    assert os.path.samefile(p, final)  # hard link
    assert summary.exported[0]["new"] == [str(p)]


def test_second_run_of_unchanged_reduction_creates_no_file(make_session, raw_dir):
    res = helpers.diamond(raw_dir, objects=("M31",))
    s = make_session(res)
    first = s.run()
    root = Path(s.workdir) / "end_products"
    before = _files(root)
    assert first.exported and first.exported[0]["new"]
    second = s.run()
    assert all(j["status"] == "reused" for j in second.jobs)
    assert second.exported[0]["new"] == [] and second.exported[0]["updated"] == []
    assert second.exported[0]["unchanged"] == first.exported[0]["new"]
    assert _files(root) == before
