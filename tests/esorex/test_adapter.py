"""The esorex recipe adapter run directly (no engine): schema, runs, science, failures."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from reflexng.recipes import esorex as ex
from reflexng.recipes.esorex_run import exit_reason
from reflexng.recipes.protocol import RecipeError


def _files(folder: Path, pattern: str) -> list[str]:
    return sorted(str(p) for p in folder.glob(pattern))


def test_list_recipes_and_versions(esorex):
    infos = {r.name: r for r in ex.list_recipes()}
    assert infos["esorex:uves_cal_mbias"].pipeline == "uves"
    assert infos["esorex:naco_img_twflat"].pipeline == "naco"
    name, version, pipeline = infos["esorex:naco_img_dark"]  # a plain tuple too
    r = ex.get_recipe("naco_img_dark")
    assert r.name == name == "esorex:naco_img_dark"
    assert r.version == version  # the man page's RELEASE line agrees with the plugin folder
    assert ex.esorex_available()


def test_parameter_schema_full_names_types_ranges_choices(esorex):
    r = ex.get_recipe("naco_img_dark")
    hot = r.parameter("naco.naco_img_dark.hot_threshold")
    assert hot is not None and hot.type == "float" and hot.default == 10.0
    assert "--hot_t" in hot.description  # the esorex alias is shown
    assert r.canonical("hot_t") == r.canonical("--hot_t") == "naco.naco_img_dark.hot_threshold"
    assert r.canonical("hot_threshold") == "naco.naco_img_dark.hot_threshold"
    assert r.defaults()["naco.naco_img_dark.rej_bord"] == "200 200 200 200"
    m = ex.get_recipe("esorex:uves_cal_mbias")
    method = m.parameter("uves_cal_mbias.stack_method")
    assert method.choices == ("median", "mean") and method.default == "median"
    klow = m.parameter("uves_cal_mbias.klow")
    assert (klow.type, klow.min, klow.max) == ("float", 0.0, 100.0)
    niter = m.parameter("uves_cal_mbias.niter")
    assert niter.type == "int" and niter.coerce("7") == 7
    with pytest.raises(ValueError):
        niter.coerce(101)


def test_schema_is_cached_per_recipe(esorex, tmp_path, monkeypatch):
    """A wrapper around esorex counts the calls: the second lookup asks nobody."""
    calls = tmp_path / "calls.txt"
    wrapper = tmp_path / "esorex"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexec {ex.esorex_path()} "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("REFLEXNG_ESOREX", str(wrapper))
    monkeypatch.setenv("REFLEXNG_ESOREX_CACHE", str(tmp_path / "cache"))
    first = ex.get_recipe("uves_cal_mdark")
    n = len(calls.read_text().splitlines())
    assert n == 2  # --man-page and --create-config
    second = ex.get_recipe("uves_cal_mdark")
    assert len(calls.read_text().splitlines()) == n
    assert [p.name for p in second.parameters] == [p.name for p in first.parameters]
    assert list((tmp_path / "cache").glob("uves_cal_mdark-*.json"))


def test_unknown_recipe_is_a_clear_error(esorex):
    from reflexng.recipes.registry import UnknownRecipeError, get_recipe

    with pytest.raises(UnknownRecipeError, match="no installed ESO pipeline provides recipe 'xyz_cal'"):
        get_recipe("esorex:xyz_cal")
    assert get_recipe("esorex:uves_cal_mbias").name == "esorex:uves_cal_mbias"


def test_uves_chain_science(esorex, uves_data, tmp_path):
    """Master bias = bias level; master dark = dark level - bias level, for each night.
    Tolerance 0.5 ADU: read noise 2 ADU, medians over 262k pixels of 3 frames."""
    raw, truth = uves_data
    mbias, mdark = ex.get_recipe("uves_cal_mbias"), ex.get_recipe("uves_cal_mdark")
    for night in truth["nights"]:
        n = night["night"]
        res = mbias.run([(f, "BIAS_BLUE") for f in _files(raw, f"*bias_n{n}_*.fits")], {},
                        tmp_path / f"bias{n}")
        (bias_path, cat), = res.products
        assert cat == "MASTER_BIAS_BLUE" and Path(bias_path).parent == tmp_path / f"bias{n}"
        assert abs(np.median(fits.getdata(bias_path)) - night["expected_master_bias"]) < 0.5
        assert "QC.OUT1.RON.RAW" in res.qc and abs(res.qc["QC.OUT1.RON.RAW"] - 2.0) < 0.2
        inputs = [(f, "DARK_BLUE") for f in _files(raw, f"*dark_n{n}_*.fits")]
        res = mdark.run(inputs + [(bias_path, "MASTER_BIAS_BLUE")], {}, tmp_path / f"dark{n}")
        (dark_path, cat), = res.products
        assert cat == "MASTER_DARK_BLUE"
        assert abs(np.median(fits.getdata(dark_path)) - night["expected_master_dark"]) < 0.5
        hdr = fits.getheader(dark_path)
        assert hdr["HIERARCH ESO PRO CATG"] == "MASTER_DARK_BLUE"
        # the scratch folder keeps the exact SOF, parameter file and log
        scratch = tmp_path / f"dark{n}.esorex"
        assert "MASTER_BIAS_BLUE" in (scratch / "inputs.sof").read_text()
        assert (scratch / "esorex.log").is_file()


def test_parameters_reach_esorex_by_full_name(esorex, uves_data, tmp_path):
    raw, _ = uves_data
    r = ex.get_recipe("uves_cal_mbias")
    inputs = [(f, "BIAS_BLUE") for f in _files(raw, "*bias_n0_*.fits")]
    r.run(inputs, {"stack_method": "mean", "uves_cal_mbias.klow": 3}, tmp_path / "out")
    rc = (tmp_path / "out.esorex" / "recipe.rc").read_text().split()
    assert "uves_cal_mbias.stack_method=mean" in rc and "uves_cal_mbias.klow=3.0" in rc
    (product, _), = r.run(inputs, {}, tmp_path / "out2").products
    log = (tmp_path / "out.esorex" / "esorex.log").read_text()
    assert "stack_method" in log or "mean" in log
    with pytest.raises(RecipeError, match="unknown parameter 'nonsense'"):
        r.run(inputs, {"nonsense": 1}, tmp_path / "out3")
    with pytest.raises(RecipeError, match="not one of"):
        r.run(inputs, {"stack_method": "mode"}, tmp_path / "out4")


def test_paths_with_spaces_are_staged(esorex, uves_data, tmp_path):
    raw, truth = uves_data
    spaced = tmp_path / "my data"
    spaced.mkdir()
    inputs = []
    for i, f in enumerate(_files(raw, "*bias_n1_*.fits")):
        target = spaced / f"bias {i}.fits"
        target.write_bytes(Path(f).read_bytes())
        inputs.append((str(target), "BIAS_BLUE"))
    out = tmp_path / "out dir"
    (product, _), = ex.get_recipe("uves_cal_mbias").run(inputs, {}, out).products
    assert abs(np.median(fits.getdata(product)) - truth["nights"][1]["bias_level"]) < 0.5
    assert " " not in (out.parent / "out dir.esorex" / "inputs.sof").read_text().split("\n")[0].split()[0]


def test_naco_chain_dark_product_is_passed_as_cal_dark(esorex, naco_data, tmp_path):
    raw, truth = naco_data
    dark, flat = ex.get_recipe("naco_img_dark"), ex.get_recipe("naco_img_twflat")
    res = dark.run([(f, "CAL_DARK") for f in _files(raw, "*dark_n0_s0_*.fits")], {}, tmp_path / "d")
    cats = sorted(c for _, c in res.products)
    assert cats == ["CAL_DARK", "NACO_IMG_DARK_COLD", "NACO_IMG_DARK_DEV", "NACO_IMG_DARK_HOT"]
    avg = next(p for p, c in res.products if c == "CAL_DARK")
    assert fits.getheader(avg)["HIERARCH ESO PRO CATG"] == "NACO_IMG_DARK_AVG"
    setting = truth["settings"][0]
    assert abs(np.median(fits.getdata(avg)) - setting["dark_level"]) < 0.5
    inputs = [(f, "CAL_FLAT_TW") for f in _files(raw, "*flat_n0_s0_*.fits")] + list(res.products)
    (mflat, cat), = flat.run(inputs, {}, tmp_path / "f").products
    assert cat == "MASTER_IMG_FLAT"
    assert abs(np.median(fits.getdata(mflat)) - 1.0) < 0.01


def test_border_window_failure_is_a_clear_error(esorex, naco_data, tmp_path):
    raw, _ = naco_data
    dark = ex.get_recipe("naco_img_dark")
    with pytest.raises(RecipeError) as info:
        dark.run([(f, "CAL_DARK") for f in _files(raw, "*dark_n0_s0_*.fits")],
                 {"naco.naco_img_dark.rej_bord": "600 600 600 600"}, tmp_path / "d")
    text = str(info.value)
    assert "border window" in text and "exit code 14" in text
    assert "Illegal input" in text  # the last log lines are included
    assert not any((tmp_path / "d").iterdir())


def test_missing_input_file(esorex, tmp_path):
    with pytest.raises(RecipeError, match="input file not found: .*nothere.fits"):
        ex.get_recipe("uves_cal_mbias").run([(str(tmp_path / "nothere.fits"), "BIAS_BLUE")], {},
                                            tmp_path / "o")


def test_exit_code_reasons():
    assert exit_reason(139).startswith("recipe crashed (SIGSEGV)")
    assert exit_reason(-11) == exit_reason(139)
    assert "missing header keyword or unexpected image size" in exit_reason(-6)
    assert "SIGABRT" in exit_reason(134)
    assert exit_reason(143).startswith("cancelled")
    assert "input list" in exit_reason(9)
    assert "does not know this recipe" in exit_reason(13)
    assert "configuration" in exit_reason(250) and "configuration" in exit_reason(254)
    assert "rejected an option" in exit_reason(255)
    assert "exit code 77" in exit_reason(77)


def test_replay_command_reproduces_the_product(esorex, uves_data, tmp_path):
    raw, _ = uves_data
    r = ex.get_recipe("uves_cal_mbias")
    inputs = [(f, "BIAS_BLUE") for f in _files(raw, "*bias_n0_*.fits")]
    params = {"uves_cal_mbias.stack_method": "mean"}
    (product, _), = r.run(inputs, params, tmp_path / "run").products
    attempt = tmp_path / "attempt"
    attempt.mkdir()
    sof = attempt / "inputs.sof"
    sof.write_text("".join(f"{p} {c}\n" for p, c in inputs))
    script = r.replay_command(str(sof), params, ".")
    assert "uves_cal_mbias.stack_method=mean" in script and "--recipe-dir=" in script
    (attempt / "replay.sh").write_text('cd "$(dirname "$0")"\nout=replay\nmkdir -p "$out"\n' + script + "\n")
    subprocess.run(["sh", str(attempt / "replay.sh")], check=True, capture_output=True)
    again = attempt / "replay" / Path(product).name
    assert np.array_equal(fits.getdata(again), fits.getdata(product))


_CANCEL_SCRIPT = """
import sys
from pathlib import Path
from reflexng.recipes import esorex as ex
from reflexng.recipes.protocol import RecipeError
r = ex.get_recipe("uves_cal_mbias")
try:
    r.run([(sys.argv[1], "BIAS_BLUE")], {}, Path(sys.argv[2]))
except RecipeError as exc:
    print("RECIPE_ERROR", exc)
    sys.exit(3)
"""


def test_sigterm_is_forwarded_to_esorex(esorex, uves_data, tmp_path):
    """The job process receives SIGTERM; esorex (a slow wrapper here) must stop too."""
    raw, _ = uves_data
    real = ex.esorex_path()
    ex.get_recipe("uves_cal_mbias")  # fill the schema cache with the real esorex
    pidfile = tmp_path / "esorex.pid"
    wrapper = tmp_path / "esorex"
    wrapper.write_text(f"#!/bin/sh\necho $$ > {pidfile}\nsleep 60\nexec {real} \"$@\"\n")
    wrapper.chmod(0o755)
    env = dict(os.environ, REFLEXNG_ESOREX=str(wrapper))
    proc = subprocess.Popen([sys.executable, "-c", _CANCEL_SCRIPT, _files(raw, "*bias_n0_*")[0],
                             str(tmp_path / "out")], env=env, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not (pidfile.exists() and pidfile.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pidfile.exists(), "esorex was not started"
    esorex_pid = int(pidfile.read_text())
    proc.send_signal(signal.SIGTERM)  # only the job process, not its group
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 3
    assert "cancelled" in out
    time.sleep(0.2)
    with pytest.raises(ProcessLookupError):
        os.kill(esorex_pid, 0)
