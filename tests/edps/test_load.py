"""Loading EDPS workflow packages unmodified: package import, the scoped ``edps`` module,
names for unnamed data sources, unused data sources, parameters files, errors at the
workflow's own file and line."""

from __future__ import annotations

import sys
import types

import pytest
from conftest import cli

from reflexng.cascade import CascadeError, load
from reflexng.cascade.edps.time_range import SAME_NIGHT, RelativeTimeRange
from reflexng.cascade.model import SAME_NIGHT as NATIVE_SAME_NIGHT


def test_folder_and_wkf_file_load_the_same_cascade(edpsdemo):
    a = load(edpsdemo)
    b = load(edpsdemo / "edpsdemo_wkf.py")
    assert a.info.dialect == "edps" and a.name == "edpsdemo" and a.instrument == "EDPSDEMO"
    assert a.meta_targets["qc1calib"] == ["bias", "dark", "flat"]
    assert list(a.tasks) == list(b.tasks) == ["bias", "dark", "flat", "illumination", "reduce", "collect"]
    assert a.path == str((edpsdemo / "edpsdemo_wkf.py").resolve())


def test_unnamed_data_sources_get_names_and_unused_ones_are_ignored(edpsdemo):
    c = load(edpsdemo)
    # named after their categories; ILLUMINATION was named in the workflow
    assert sorted(c.data_sources) == ["BIAS", "DARK", "ILLUMINATION", "OBJECT", "REF_CATALOG", "SKY_FLAT"]
    assert "LAMP_FLAT" not in c.data_sources  # no task uses it
    assert not [p for p in c.validate(check_recipes=False) if p.severity == "error"]


def test_lower_case_keywords_and_edps_time_ranges(edpsdemo):
    c = load(edpsdemo)
    bias = c.data_sources["BIAS"]
    assert bias.grouping_keywords == ("TPL.START", "DET.BINX", "DET.BINY")
    rule = bias.classification_rules[0]
    assert rule.keywords == {"INSTRUME": "DEMO", "INS.MODE": "IMAGING", "DPR.CATG": "CALIB",
                             "PRO.CATG": None, "DPR.TYPE": "BIAS"}
    level0 = bias.match_rules[0]
    assert level0.time_range is SAME_NIGHT and (SAME_NIGHT.before, SAME_NIGHT.after) == (0.4, 0.4)
    assert NATIVE_SAME_NIGHT.same_night and not SAME_NIGHT.same_night  # native meaning unchanged
    reduce = c.tasks["reduce"]
    (alt,) = [a for a in reduce.associated_inputs if a.alternatives]
    levels = [r.level for r in alt.alternatives[0].match_rules]
    assert levels == [-1, 0, 1, 2]
    assert alt.sort_keys == ("MJD-OBS",)


def test_relative_time_range():
    r = RelativeTimeRange(-3, 1)
    assert (r.before, r.after) == (3.0, 1.0)
    assert r.contains(-2.9) and not r.contains(-3.1) and r.contains(0.9) and not r.contains(1.1)
    past = RelativeTimeRange(float("-inf"), 0)
    assert past.contains(-1000) and not past.contains(0.01)


def test_recipes_parameters_and_sets(edpsdemo):
    c = load(edpsdemo)
    assert c.tasks["bias"].recipe == "demo_img_bias"  # a reflexng recipe keeps its name
    assert c.tasks["illumination"].recipe_name == "python:copy_upstream"  # no recipe: passes inputs on
    # the default set (is_default: yes) gives the cascade-level values; full names mapped,
    # OMP_NUM_THREADS is not a recipe parameter
    assert dict(c.tasks["bias"].recipe_parameters) == {"sigma": 3.5, "iters": 2}
    assert c.workflow_defaults() == {"use_dark": "TRUE", "flat_source": "master",
                                     "science_grouping": ["obs.name", "tpl.start"], "sky_mesh": 32}
    assert list(c.parameter_sets) == ["qc1_parameters", "test_parameters"]
    test = c.parameter_sets["test_parameters"]
    # merge keys: the anchored values, some overridden
    assert test.workflow_parameters["use_dark"] == "FALSE"
    assert test.workflow_parameters["sky_mesh"] == 32
    assert test.recipe_parameters["bias"] == {"sigma": 5.0}
    assert test.recipe_parameters["flat"] == {"iters": 2}


def test_bare_cpl_recipe_runs_through_esorex(write_workflow):
    folder = write_workflow({"mini_wkf.py": """
        from edps import task, data_source, classification_rule
        raw = data_source().with_classification_rule(classification_rule("DARK", {"dpr.type": "DARK"})).build()
        dark = task("dark").with_recipe("cr2res_cal_dark").with_main_input(raw).build()
        """})
    c = load(folder)
    assert c.tasks["dark"].recipe == "esorex:cr2res_cal_dark"


def test_edps_is_only_reflexngs_while_loading(edpsdemo, monkeypatch):
    real = types.ModuleType("edps")
    real.task = "the real EDPS"
    monkeypatch.setitem(sys.modules, "edps", real)
    load(edpsdemo)  # uses reflexng's layer although "edps" is already imported
    assert sys.modules["edps"] is real  # and gives the real one back
    monkeypatch.delitem(sys.modules, "edps")
    load(edpsdemo)
    assert "edps" not in sys.modules and not any(k.startswith("edps.") for k in sys.modules)
    assert not any(type(f).__name__ == "_Finder" for f in sys.meta_path)


def test_reload_runs_the_package_afresh(edpsdemo):
    load(edpsdemo)
    text = (edpsdemo / "edpsdemo_wkf.py").read_text()
    (edpsdemo / "edpsdemo_wkf.py").write_text(text.replace('task("collect")', 'task("gather")'))
    assert "gather" in load(edpsdemo).tasks


@pytest.mark.parametrize("code, feature, line", [
    ("from edps import with_something_new\n", "with_something_new", 1),
    ("import edps\nx = edps.FancyThing\n", "FancyThing", 2),
    ("from edps import task\nt = task('a')\nt.with_parallel_universe(3)\n", "task.with_parallel_universe", 3),
    ("from edps.client.FitsFile import FitsFile\n", "module edps.client", 1),
])
def test_unsupported_name_is_one_line_at_the_workflow_line(write_workflow, code, feature, line):
    folder = write_workflow({"mini_wkf.py": code})
    with pytest.raises(CascadeError) as err:
        load(folder)
    assert err.value.location.path == str(folder / "mini_wkf.py")
    assert err.value.location.line == line
    assert f"EDPS feature {feature}" in err.value.message and "is not supported yet" in err.value.message


def test_validate_cli_unsupported_exits_2_with_one_line(write_workflow):
    folder = write_workflow({"mini_wkf.py": "from edps import task\n\ntask('a').with_grouping_function(len)\n"})
    r = cli("cascade", "validate", str(folder))
    assert r.returncode == 2
    assert r.stdout.strip() == (f"{folder / 'mini_wkf.py'}:3: EDPS feature task.with_grouping_function is "
                                "not supported yet")
    assert "Traceback" not in r.stdout + r.stderr


def test_errors_point_at_the_helper_module_line(write_workflow):
    folder = write_workflow({
        "mini_wkf.py": "from .mini_datasources import raw\n",
        "mini_datasources.py": "from edps import data_source\n\nraw = data_source().with_min_group_size(0)\n",
    })
    with pytest.raises(CascadeError) as err:
        load(folder)
    assert str(err.value).startswith(f"{folder / 'mini_datasources.py'}:3: ")
    folder2 = write_workflow({"mini_wkf.py": "from . import missing_helper\n"}, name="broken")
    with pytest.raises(CascadeError) as err:
        load(folder2)
    assert err.value.location.path == str(folder2 / "mini_wkf.py") and err.value.location.line == 1


def test_parameters_file_errors_name_file_and_line(edpsdemo):
    p = edpsdemo / "edpsdemo_parameters.yaml"
    p.write_text(p.read_text().replace("is_default: no", "is_default: yes"))
    with pytest.raises(CascadeError) as err:
        load(edpsdemo)
    assert err.value.location.path == str(p) and "only one set may be the default" in err.value.message
    p.write_text("a:\n  is_default: yes\n  surprise: 1\n")
    with pytest.raises(CascadeError) as err:
        load(edpsdemo)
    assert (err.value.location.line, "unknown section 'surprise'" in err.value.message) == (3, True)


def test_show_and_validate_cli(edpsdemo):
    r = cli("cascade", "show", str(edpsdemo))
    assert r.returncode == 0, r.stderr
    assert "alternatives (sorted by MJD-OBS): flat [MASTER_SKY_FLAT] | illumination" in r.stdout
    assert "report demo_science_report" in r.stdout
    r = cli("cascade", "validate", str(edpsdemo), "--skip-recipes")
    assert r.returncode == 0, r.stdout + r.stderr
    r = cli("cascade", "show", str(edpsdemo), "--format", "json")
    assert r.returncode == 0 and '"alternative_group"' in r.stdout


def test_task_pane_lists_alternatives_and_reports(edpsdemo):
    from reflexng.gui.task_details_model import input_lines  # Qt-free model of the task pane

    main, lines = input_lines(load(edpsdemo), load(edpsdemo).tasks["reduce"])
    assert main.startswith("OBJECT")
    assert any(line.startswith("flat — products of task") for line in lines)
    assert any(line.startswith("illumination — products of task") for line in lines)
    assert "report demo_science_report (recipe inputs outputs) — recorded, not run" in lines
