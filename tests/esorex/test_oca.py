"""OCA import: the parser, the translation report, and every OCA file Debian ships."""

from __future__ import annotations

import argparse
import glob
from pathlib import Path

import pytest

from reflexng.cascade import load
from reflexng.cascade.validate import validate
from reflexng.oca.cli import run_cli
from reflexng.oca.parser import BoolOp, Compare, OcaSyntaxError, parse
from reflexng.oca.translator import translate

PACKAGED = sorted(glob.glob("/usr/share/cpl-plugins/*/gasgano/config/*.oca"))

SAMPLE = '''
/* a block comment
   over two lines */
if DPR.CATG like "%CALIB%" and DPR.TYPE == "BIAS" then
{
  DO.CATG = "BIAS";   // first rule
}
if DPR.CATG like "%CALIB%" and DPR.TYPE == "BIAS" and DET.BINX == 2 then
{
  DO.CATG = "BIAS_BIN2";
  RAW.TYPE = "BINNED";
}
if DPR.TYPE == "DARK" and (INS.MODE like "%A%" or INS.MODE ?= "B") then
{
  DO.CATG = "DARK";
}
if PRO.CATG is string then { DO.CATG = PRO.CATG; }

select execute(MBIAS) from inputFiles where SIG.TEMPLATE == 1 and DO.CATG == "BIAS";
minRet = 3;
select execute(MDARK) from inputFiles where DO.CATG == "DARK" group by DET.BINX, EXPTIME;
select execute(OLD) from inputFiles where DO.CATG == "BIAS_BIN2";

action MBIAS
{
  recipe demo_mbias;
}
action MDARK
{
  minRet = 1; maxRet = 1;
  select file as MASTER_BIAS from calibFiles where DO.CATG == "MASTER_BIAS"
     and inputFile.DET.BINX == DET.BINX and MJD-OBS < inputFile.MJD-OBS;
  minRet = 0; maxRet = 2;
  select file as LINES from calibFiles where PRO.CATG == "LINES";
  recipe demo_mdark { "--sigma=4"; }
}
action OLD
{
  recipe not_installed_recipe;
}
'''


def _translate(text: str, installed=("demo_mbias", "demo_mdark")):
    return translate(parse(text, "sample.oca"), installed=set(installed), recipe_lookup=None)


def test_parser_structure():
    oca = parse(SAMPLE, "sample.oca")
    assert [r.line for r in oca.rules] == [4, 8, 13, 17]
    assert oca.rules[1].assignments[1][0] == "RAW.TYPE"
    cond = oca.rules[2].condition
    assert isinstance(cond, BoolOp) and cond.op == "and"
    assert isinstance(cond.items[1], BoolOp) and cond.items[1].items[1].op == "?="
    assert [s.action for s in oca.selects] == ["MBIAS", "MDARK", "OLD"]
    assert oca.selects[1].group_by == ["DET.BINX", "EXPTIME"]
    mdark = oca.actions["MDARK"]
    assert [(a.tag, a.min_ret, a.max_ret) for a in mdark.associations] == [("MASTER_BIAS", 1, 1), ("LINES", 0, 2)]
    assert mdark.recipe == "demo_mdark" and mdark.recipe_options[0][0] == "--sigma=4"
    assert [u.text for u in oca.unknown] == ["minRet = 3"]
    mjd = mdark.associations[0].condition.items[2]
    assert isinstance(mjd, Compare) and mjd.left.name == "MJD-OBS" and mjd.right.input_file


def test_syntax_error_names_file_and_line():
    with pytest.raises(OcaSyntaxError, match=r"x.oca:3: expected 'then'"):
        parse('\n\nif DPR.TYPE == "BIAS" {\n DO.CATG = "B"; }', "x.oca")


def test_translation_reports_what_it_cannot_translate(tmp_path):
    tr = _translate(SAMPLE)
    report = "\n".join(tr.report)
    assert "'minRet = 3' outside any action" in report
    assert "'?=' operator" in report
    assert "not_installed_recipe is not installed" in report
    assert "MJD-OBS < inputFile.MJD-OBS" in report  # kept as a match function, said so
    assert "# NOT TRANSLATED: recipe not_installed_recipe is not installed" in tr.code
    assert "sample.oca" in tr.code.split('"""')[1]  # the report is in the file's docstring
    assert tr.tasks == ["mbias", "mdark"] and tr.skipped_tasks == ["old"]
    out = tmp_path / "sample_cascade.py"
    out.write_text(tr.code)
    cascade = load(out)
    errors = [p for p in validate(cascade, check_recipes=False) if p.severity == "error"]
    assert errors == []
    mbias, mdark = cascade.tasks["mbias"], cascade.tasks["mdark"]
    assert mbias.recipe == "esorex:demo_mbias"
    assert cascade.data_sources["BIAS"].grouping_keywords == ("TPL.START",)  # SIG.TEMPLATE
    assert cascade.data_sources["DARK"].grouping_keywords == ("DET.BINX", "EXPTIME")
    bias_in, lines_in = mdark.associated_inputs
    # MASTER_BIAS is inferred to come from the task reducing BIAS
    assert (bias_in.source.name, bias_in.source.kind) == ("mbias", "task")
    assert bias_in.match_rules[0].keywords == ("DET.BINX",) and bias_in.match_rules[0].function
    assert (lines_in.source.name, lines_in.min_ret, lines_in.max_ret) == ("LINES", 0, 2)
    assert cascade.data_sources["LINES"].classification_rules[0].keywords == {"PRO.CATG": "LINES"}
    assert mdark.recipe_parameters == {"sigma": "4"}


def test_classification_follows_oca_order(tmp_path):
    """A later OCA rule overwrites an earlier one: a binned bias is BIAS_BIN2, not BIAS."""
    out = tmp_path / "c.py"
    out.write_text(_translate(SAMPLE).code)
    c = load(out)
    bias = c.data_sources["BIAS"].classification_rules[0]
    binned = c.data_sources["BIAS_BIN2"].classification_rules[0]
    dark = c.data_sources["DARK"].classification_rules[0]
    h1 = {"DPR.CATG": "CALIB", "DPR.TYPE": "BIAS", "DET.BINX": 1}
    h2 = {"DPR.CATG": "CALIB", "DPR.TYPE": "BIAS", "DET.BINX": 2}
    assert bias.matches(h1) and not binned.matches(h1)
    assert binned.matches(h2) and not bias.matches(h2)
    assert dark.matches({"DPR.TYPE": "DARK", "INS.MODE": "XAX"})
    assert dark.matches({"DPR.TYPE": "DARK", "INS.MODE": "B"})
    assert not dark.matches({"DPR.TYPE": "DARK", "INS.MODE": "C"})
    # '?=' is optional equality: a keyword missing on either side does not prevent the match
    assert dark.matches({"DPR.TYPE": "DARK"})
    assert not dark.matches({"DPR.TYPE": "DARK", "INS.MODE": "B2"})
    assert not bias.matches({"DPR.TYPE": "BIAS"})  # otherwise a missing keyword never matches


@pytest.mark.parametrize("path", PACKAGED, ids=[Path(p).name for p in PACKAGED])
def test_every_packaged_oca_file_imports_and_validates(esorex, path, tmp_path, capsys):
    out = tmp_path / (Path(path).stem + "_imported.py")
    assert run_cli(argparse.Namespace(file=path, output=str(out))) == 0
    printed = capsys.readouterr().out
    assert "Translation report" in printed and "validated" in printed
    cascade = load(out)
    assert not [p for p in validate(cascade) if p.severity == "error"]
    assert cascade.tasks and cascade.data_sources
    for t in cascade.tasks.values():
        assert t.recipe.startswith("esorex:")


def test_packaged_files_exist_when_esorex_is_installed(esorex):
    assert {Path(p).name for p in PACKAGED} >= {"uves.oca", "naco.oca"}


def test_naco_import_reports_uninstalled_detmon_and_keeps_the_rest(esorex, tmp_path):
    path = next(p for p in PACKAGED if p.endswith("naco.oca"))
    tr = translate(parse(Path(path).read_text(), path))
    assert any("detmon_ir_lg is not installed" in r for r in tr.report)
    assert "naco_img_dark" in tr.tasks and "naco_img_twflat" in tr.tasks


def test_cli_errors(tmp_path, capsys):
    assert run_cli(argparse.Namespace(file=str(tmp_path / "none.oca"), output=None)) == 2
    assert "OCA file not found" in capsys.readouterr().err
    bad = tmp_path / "bad.oca"
    bad.write_text('if DPR.TYPE == "X" then {\n DO.CATG = ;\n}\n')
    assert run_cli(argparse.Namespace(file=str(bad), output=None)) == 2
    assert "bad.oca:2" in capsys.readouterr().err


def _imported(name: str, tmp_path: Path):
    path = next(p for p in PACKAGED if p.endswith(name))
    out = tmp_path / (Path(path).stem + "_imported.py")
    out.write_text(translate(parse(Path(path).read_text(), path)).code)
    return load(out)


def test_imported_uves_rules_organise_simulated_data(esorex, uves_data, tmp_path):
    """uves.oca's rules classify the raw frames (biases, darks, the order-definition flat and
    the lamp flats each by its own rule) and chain master bias -> master dark, each dark set
    with the master bias of its own night (the nearest in time)."""
    from reflexng.organiser import organise

    raw, truth = uves_data
    cascade = _imported("uves.oca", tmp_path)
    result = organise(cascade, [raw], "uves_master_dark_b")
    cats = {f.category for f in result.files if f.path.endswith(".fits")}
    assert cats == {"BIAS_BLUE", "DARK_BLUE", "ORDER_FLAT_BLUE", "FLAT_BLUE"}
    by_name = {Path(f.path).name: f.category for f in result.files}
    assert all(c == "ORDER_FLAT_BLUE" for n, c in by_name.items() if ".orderdef_" in n)
    assert all(c == "FLAT_BLUE" for n, c in by_name.items() if ".flat_" in n)
    darks = [j for j in result.jobs.values() if j.task == "uves_master_dark_b"]
    assert len(darks) == len(truth["nights"]) == len(result.datasets)
    assert all(d.complete for d in result.datasets)
    for job in darks:
        night = Path(job.main[0]).name.split("_n")[1][0]
        chosen = job.associated["uves_master_bias_b"].chosen
        bias_job = result.jobs[chosen[0].job_id]
        assert all(f"bias_n{night}_" in Path(p).name for p in bias_job.main)


def test_imported_naco_rules_organise_simulated_data(esorex, naco_data, tmp_path):
    from reflexng.organiser import organise

    raw, truth = naco_data
    cascade = _imported("naco.oca", tmp_path)
    result = organise(cascade, [raw], ["naco_img_dark", "naco_img_twflat"])
    by_task: dict[str, list] = {}
    for j in result.jobs.values():
        by_task.setdefault(j.task, []).append(j)
    # one job per template (SIG.TEMPLATE -> TPL.START): 2 dark sets, 2 flat sets
    assert sorted(len(j.main) for j in by_task["naco_img_dark"]) == [3, 3]
    assert sorted(len(j.main) for j in by_task["naco_img_twflat"]) == [5, 5]


FULL = '''
if DPR.CATG == "CALIB" and DPR.TYPE == "FLAT" and TPL.ID regexp "X_[wn]fm_flat" then
{
  DO.CATG = "FLAT";
  INS.BLUE = INS.OPTI1.NAME like "Blue%";
}
if DPR.CATG == "CALIB" and DPR.TYPE == "LAMP" then { DO.CATG = "LAMP_A"; }
if DPR.CATG == "CALIB" and DPR.TYPE == "LAMP2" then { DO.CATG = "LAMP_B"; }
if DPR.CATG == "SCIENCE" and DPR.TYPE == "OBJECT" then { DO.CATG = "OBJECT"; }

select execute(FLATS) from inputFiles where DO.CATG == "FLAT";
select execute(LAMPS) from inputFiles where DO.CATG == "LAMP_A" or DO.CATG == "LAMP_B";
select execute(SCI) from inputFiles where DO.CATG == "OBJECT";

action FLATS
{
  product TRACE { PRO.CATG = "TRACE_TABLE"; PRO.EXT = "0000.fits"; }
  minRet = 0; maxRet = 0;
  select file as BADPIX from calibFiles where DO.CATG == "BADPIX";
  recipe x_flat {"--nifu=-1 --merge";}
}
action LAMPS
{
  minRet = 1; maxRet = 1;
  select file as TRACE_TABLE from calibFiles where DO.CATG == "TRACE_TABLE"
     and inputFile.INS.BLUE == INS.BLUE;
  recipe x_lamp;
}
action SCI
{
  minRet = 1; maxRet = 2;
  select file as CAL from calibFiles where DO.CATG == "LINES_A" or DO.CATG == "LINES_B";
  priority = 10;
  recipe x_sci;
}
'''


def test_full_grammar(tmp_path):
    """regexp, boolean assignments, product blocks (a product linked to its task whatever its
    name), [0..0] = not used, several options in one string, OR-ed categories as one
    multi-category input, priority reported, roles from DPR.CATG."""
    def line(text: str) -> int:
        return next(i for i, ln in enumerate(FULL.splitlines(), 1) if text in ln)

    oca = parse(FULL, "full.oca")
    flats = oca.actions["FLATS"]
    assert flats.products[0].category == "TRACE_TABLE" and flats.products[0].line == line("product TRACE")
    assert oca.actions["SCI"].priority == 10
    assert oca.rules[0].condition.items[2].op == "regexp"
    tr = translate(oca, installed={"x_flat", "x_lamp", "x_sci"}, recipe_lookup=None, io_lookup=None)
    report = "\n".join(tr.report)
    assert f"full.oca:{line('as BADPIX')}: 'BADPIX' has minRet = 0; maxRet = 0" in report
    assert f"full.oca:{line('action SCI')}: 'priority = 10'" in report
    assert "UNKNOWN" not in tr.code and "UNKNOWN" not in report
    out = tmp_path / "full_cascade.py"
    out.write_text(tr.code)
    c = load(out)
    assert not [p for p in validate(c, check_recipes=False) if p.severity == "error"]
    flat, lamp, sci = c.tasks["flats"], c.tasks["lamps"], c.tasks["sci"]
    assert flat.associated_inputs == ()  # [0..0]: left out
    assert flat.recipe_parameters == {"nifu": "-1", "merge": "TRUE"}
    (trace,) = lamp.associated_inputs
    assert (trace.source.name, trace.source.kind) == ("flats", "task")  # from the product block
    assert trace.match_rules[0].function is not None  # INS.BLUE is derived: a match function
    lamps_ds = c.data_sources[c.tasks["lamps"].main_input.name]
    assert lamps_ds.categories == ("LAMP_A", "LAMP_B")
    a, b = lamps_ds.classification_rules
    assert a.matches({"DPR.CATG": "CALIB", "DPR.TYPE": "LAMP"}) and not a.matches({"DPR.CATG": "CALIB", "DPR.TYPE": "LAMP2"})
    assert b.matches({"DPR.CATG": "CALIB", "DPR.TYPE": "LAMP2"})
    (cal,) = sci.associated_inputs
    assert c.data_sources[cal.source.name].categories == ("LINES_A", "LINES_B")
    assert (cal.min_ret, cal.max_ret) == (1, 2)
    assert c.task_role("sci") == "science" and c.task_role("flats") == "calibration"
    assert c.task_role("lamps") == "calibration"  # a sink, but its frames are CALIB
    fl = c.data_sources[flat.main_input.name].classification_rules[0]
    assert fl.matches({"DPR.CATG": "CALIB", "DPR.TYPE": "FLAT", "TPL.ID": "X_wfm_flat"})
    assert not fl.matches({"DPR.CATG": "CALIB", "DPR.TYPE": "FLAT", "TPL.ID": "X_afm_flat"})


def test_packaged_chains_are_wired_from_the_recipes(esorex, tmp_path):
    """The links the issue found missing: each product goes to the task whose recipe makes it."""
    want = {
        "uves.oca": [("uves_master_flat_b_flat_blue", "uves_cal_orderpos_b"),
                     ("uves_obs_scired_b", "uves_cal_wavecal_b"),
                     ("uves_cal_wavecal_b", "uves_cal_orderpos_b"),
                     ("uves_cal_orderpos_b", "uves_cal_predict_b"),
                     ("uves_master_flat_r_flat_red", "uves_cal_orderpos_r")],
        "muse.oca": [("muse_scibasic", "muse_wave"), ("muse_wave", "muse_flat")],
        "giraf.oca": [("giwavecalibration", "gimasterflat")],
        "vimos.oca": [("vmdark", "vmbias")],
    }
    for name, links in want.items():
        c = _imported(name, tmp_path)
        for consumer, producer in links:
            sources = {a.source.name for a in c.tasks[consumer].associated_inputs if a.source.kind == "task"}
            assert producer in sources, f"{name}: {consumer} does not take {producer}'s products ({sources})"


def test_validate_checks_completeness_against_the_recipes(esorex, tmp_path):
    """`cascade validate` lists, in words, the inputs the recipes require that nothing provides;
    a static calibration found in a --calib-dir folder (by its PRO.CATG) satisfies it."""
    import subprocess
    import sys

    import numpy as np
    from astropy.io import fits

    path = next(p for p in PACKAGED if p.endswith("uves.oca"))
    out = tmp_path / "uves_imported.py"
    out.write_text(translate(parse(Path(path).read_text(), path)).code)
    cmd = [sys.executable, "-m", "reflexng", "cascade", "validate", str(out)]
    got = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert got.returncode == 0, got.stdout + got.stderr
    msg = ("task 'uves_cal_wavecal_b': uves_cal_wavecal needs LINE_REFER_TABLE: a static "
           "calibration not found in /usr/share/esopipes/datastatic/uves-")
    assert msg in got.stdout
    assert "install the pipeline's calibration kit or add the folder" in got.stdout
    kit = tmp_path / "kit"
    kit.mkdir()
    hdu = fits.PrimaryHDU(np.zeros((2, 2), np.float32))
    hdu.header["HIERARCH ESO PRO CATG"] = "LINE_REFER_TABLE"
    hdu.writeto(kit / "thar.fits")
    got = subprocess.run(cmd + ["--calib-dir", str(kit)], capture_output=True, text=True, timeout=300)
    assert "needs LINE_REFER_TABLE" not in got.stdout
    assert "needs" in got.stdout  # the other gaps are still listed


def test_bad_input_oca_syntax_error_and_missing_recipe(esorex, tmp_path):
    """An OCA syntax error: file:line and exit 2. A recipe no installed pipeline provides is
    named with the pipeline (and Debian package) to install."""
    import subprocess
    import sys

    bad = tmp_path / "broken.oca"
    bad.write_text('if DPR.TYPE == "BIAS" then {\n  DO.CATG = "BIAS";\n}\nselect execute(X) from inputFiles where ;\n')
    got = subprocess.run([sys.executable, "-m", "reflexng", "cascade", "from-oca", str(bad)],
                         capture_output=True, text=True, timeout=120)
    assert got.returncode == 2 and f"{bad}:4:" in got.stderr and "Traceback" not in got.stderr
    cascade = tmp_path / "missing.py"
    cascade.write_text(
        "from reflexng.cascade import classification_rule, data_source, metadata, task\n"
        "metadata('missing', instrument='X')\n"
        "d = data_source('RAW').with_classification_rule(classification_rule('RAW', {'DPR.TYPE': 'X'})).build()\n"
        "t = task('t').with_recipe('esorex:fors_bias').with_main_input(d).build()\n"
        "u = task('u').with_recipe('esorex:vmdummy').with_main_input(d).build()\n")
    got = subprocess.run([sys.executable, "-m", "reflexng", "cascade", "validate", str(cascade)],
                         capture_output=True, text=True, timeout=120)
    assert "recipe fors_bias is not installed: it belongs to the ESO fors pipeline, which Debian " \
           "does not package" in got.stdout
    assert "recipe vmdummy is not installed: it belongs to the ESO vimos pipeline: install it " \
           "with apt-get install cpl-plugin-vimos" in got.stdout
    from reflexng.recipes.esorex import get_recipe
    from reflexng.recipes.registry import UnknownRecipeError

    with pytest.raises(UnknownRecipeError, match="apt-get install cpl-plugin-giraf"):
        get_recipe("gimissing")
