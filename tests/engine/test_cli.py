"""`reflexng run`, `reflexng provenance` and `reflexng recipes` end to end (real organiser, real children)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import helpers
import pytest

from reflexng.cli import main


@pytest.fixture
def data(tmp_path):
    raw = tmp_path / "raw"
    for obj in ("A", "B"):
        helpers.raw_file(raw, f"raw_{obj}.fits", obj)
    return raw


def _run(capsys, *args) -> tuple[int, dict]:
    code = main(["run", *args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def _md5(p: Path) -> str:
    return hashlib.md5(p.read_bytes()).hexdigest()


def test_run_json_reuse_force_and_params(tmp_path, data, capsys):
    before = {p: _md5(p) for p in data.iterdir()}
    w = str(tmp_path / "w")
    code, s = _run(capsys, "--cascade", helpers.CASCADE, "--data", str(data), "--workdir", w)
    assert code == 0 and s["ok"]
    assert {j["status"] for j in s["jobs"]} == {"executed"} and len(s["jobs"]) == 5
    assert set(s["jobs"][0]) >= {"id", "task", "dataset", "status", "attempt", "products", "seconds", "reason"}
    p = Path(s["end_products"][0])
    assert len(s["end_products"]) == 1 and p.name == "final.fits" and p.parent.name == "A"  # <label>/<category>
    code, s = _run(capsys, "--cascade", helpers.CASCADE, "--data", str(data), "--workdir", w)
    assert code == 0 and {j["status"] for j in s["jobs"]} == {"reused"}
    code, s = _run(capsys, "--cascade", helpers.CASCADE, "--data", str(data), "--workdir", w, "--force", "left",
                   "--param", "right.payload=7")
    st = {j["task"]: j["status"] for j in s["jobs"]}
    assert st["left"] == "executed" and st["right"] == "executed" and st["final"] == "executed"
    assert st["prep"] == "reused"
    right = next(j for j in s["jobs"] if j["task"] == "right")
    assert right["why"] == "parameter payload '' -> 7"
    # raw files are never written
    assert {p: _md5(p) for p in data.iterdir()} == before


def test_function_task_runs_in_child(tmp_path, data, capsys):
    code, s = _run(capsys, "--cascade", helpers.CASCADE, "--data", str(data), "--workdir", str(tmp_path / "w"),
                   "--target", "func", "--ordering", "bfs")
    assert code == 0
    prods = [p for j in s["jobs"] for p in j["products"]]
    assert len(prods) == 2 and all(Path(p).name == "doubled.fits" for p in prods)
    from astropy.io import fits

    h = fits.getheader(prods[0])
    assert h["HIERARCH ESO PRO CATG"] == "DOUBLED" and h["HIERARCH ESO PRO REC1 ID"] == "python:double_it"


def test_usage_and_failure_exit_codes(tmp_path, data, capsys):
    assert main(["run", "--cascade", str(tmp_path / "nope.py"), "--data", str(data)]) == 2
    assert main(["run", "--cascade", helpers.CASCADE, "--data", str(data), "--param", "nodot=1"]) == 2
    assert main(["run", "--cascade", helpers.CASCADE, "--data", str(data), "--workdir", str(tmp_path / "w"),
                 "--force", "nosuchtask"]) == 2
    capsys.readouterr()
    bad = tmp_path / "bad_cascade.py"
    bad.write_text(Path(helpers.CASCADE).read_text().replace(
        'task("left").with_recipe("test_noop")', 'task("left").with_recipe("test_raise")'))
    code, s = _run(capsys, "--cascade", str(bad), "--data", str(data), "--workdir", str(tmp_path / "w2"))
    assert code == 1 and not s["ok"]
    st = {j["task"]: j["status"] for j in s["jobs"]}
    assert st == {"prep": "executed", "left": "failed", "right": "executed", "final": "skipped"}


def test_provenance_cli_and_prov_json(tmp_path, data, capsys):
    w = tmp_path / "w"
    code, s = _run(capsys, "--cascade", helpers.CASCADE, "--data", str(data), "--workdir", str(w))
    final = next(j for j in s["jobs"] if j["task"] == "final")["products"][0]
    # the product header carries ESO-style provenance
    from astropy.io import fits

    h = fits.getheader(final)
    rec = "HIERARCH ESO PRO REC1"
    assert h[f"{rec} ID"] == "test_noop" and h[f"{rec} PIPE ID"] == "test_noop/1.0"
    assert h[f"{rec} RAW1 NAME"] == "left.fits" and h[f"{rec} RAW1 CATG"] == "LEFT"
    assert h[f"{rec} CAL1 NAME"] == "right.fits" and h[f"{rec} CAL1 CATG"] == "RIGHT"
    assert len(h[f"{rec} CAL1 DATAMD5"]) >= 32
    params = {h[f"{rec} PARAM{i} NAME"]: h[f"{rec} PARAM{i} VALUE"] for i in range(1, 4)}
    assert params["category"] == "FINAL"

    out = tmp_path / "prov.json"
    assert main(["provenance", final, "--json", "--prov-json", str(out)]) == 0
    tree = json.loads(capsys.readouterr().out)
    assert tree["job"]["task"] == "final" and tree["category"] == "FINAL"
    left = next(i for i in tree["inputs"] if i["role"] == "main")
    prep = left["inputs"]
    raws = [n for p in prep for n in p["inputs"]]
    assert {Path(r["path"]).name for r in raws} == {"raw_A.fits", "raw_B.fits"}
    assert all(r["kind"] == "raw" and r["category"] == "SCI" for r in raws)
    import prov.model

    doc = prov.model.ProvDocument.deserialize(str(out), format="json")
    text = doc.get_provn()
    assert "raw_A.fits" in text and "wasGeneratedBy" in text and "used(" in text
    # text form, starting from the end-product copy (found by content)
    assert main(["provenance", s["end_products"][0], "--workdir", str(w)]) == 0
    text = capsys.readouterr().out
    assert "made by job" in text and "recipe test_noop 1.0" in text and "raw_B.fits [SCI] raw file" in text
    assert "replay.sh" in text
    # a raw file is not a product
    assert main(["provenance", str(data / "raw_A.fits"), "--workdir", str(w)]) == 2


def test_replay_script_reproduces_the_product(tmp_path, data, capsys):
    import subprocess

    code, s = _run(capsys, "--cascade", helpers.CASCADE, "--data", str(data), "--workdir", str(tmp_path / "w"))
    right = Path(next(j for j in s["jobs"] if j["task"] == "right")["products"][0])
    replay = right.parent.parent / "replay.sh"
    r = subprocess.run([str(replay)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    cat, path = r.stdout.strip().split("\t")
    assert cat == "RIGHT" and Path(path).read_bytes() == right.read_bytes()
    assert "replay-" in path


def test_recipes_list_and_show(capsys):
    assert main(["recipes", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["test_noop"] == "1.0" and "test_segfault" in listed
    assert main(["recipes", "show", "test_sleep"]) == 0
    assert "seconds (float, default 1.0) [0..None]" in capsys.readouterr().out
    assert main(["recipes", "show", "nope"]) == 2
