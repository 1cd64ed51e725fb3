"""Validation: each problem kind, with the path:line of the builder call that caused it."""

from __future__ import annotations

import pytest
from _cascade_testutil import FIG1, line_of

from reflexng.cascade import CascadeValidationError, load

BASE = """\
raw_bias = data_source("RAW_BIAS").with_classification_rule(classification_rule("BIAS", {"DPR.TYPE": "BIAS"})).build()
bias = task("bias").with_recipe("demo_bias").with_main_input(raw_bias).build()
"""


def problems(path):
    return [str(p) for p in load(path, validate=False).validate(check_recipes=False)]


def test_fig1_is_valid():
    c = load(FIG1)
    assert c.errors == [] and c.validate(check_recipes=False) == []


def test_task_without_main_input_and_without_recipe(write_cascade):
    path, text = write_cascade(BASE + 'lonely = task("lonely").with_recipe("r").build()  # no main\n'
                               'empty = task("empty").with_main_input(raw_bias).build()  # no recipe\n')
    out = problems(path)
    assert f"{path}:{line_of(text, '# no main')}: task 'lonely' has no main input (add .with_main_input(...))" in out
    assert any(p.startswith(f"{path}:{line_of(text, '# no recipe')}: task 'empty' has neither a recipe nor a function")
               for p in out)
    with pytest.raises(CascadeValidationError):
        load(path)


def test_cycle_through_duplicate_names(write_cascade):
    # names allow a cycle: 'a' is defined twice, the second 'a' reads 'b' which reads the first 'a'
    path, text = write_cascade(BASE + (
        'a1 = task("a").with_recipe("r").with_main_input(raw_bias).build()\n'
        'b = task("b").with_recipe("r").with_main_input(a1).build()\n'
        'a2 = task("a").with_recipe("r").with_main_input(b).build()  # closes the cycle\n'
    ))
    out = problems(path)
    cyc = [p for p in out if "cycle in the cascade" in p]
    assert len(cyc) == 1 and cyc[0].startswith(f"{path}:{line_of(text, '# closes')}:")
    assert "a -> b -> a" in cyc[0] or "b -> a -> b" in cyc[0]


def test_every_cycle_is_reported_once_at_the_input_that_closes_it(write_cascade):
    # two separate groups of tasks feeding each other, one of them with a shortcut (its
    # strongly connected component is larger than one cycle), and a task reading itself
    path, text = write_cascade(BASE + (
        'p1 = task("p").with_recipe("r").with_main_input(raw_bias).build()\n'
        'q1 = task("q").with_recipe("r").with_main_input(p1).build()\n'
        'r = task("r").with_recipe("r").with_main_input(q1).build()\n'
        'q = task("q").with_recipe("r").with_main_input(p1).with_associated_input(r).build()\n'
        'p = task("p").with_recipe("r").with_main_input(raw_bias)'
        '.with_associated_input(q1).build()  # closes pqr\n'
        'x1 = task("x").with_recipe("r").with_main_input(raw_bias).build()\n'
        'y = task("y").with_recipe("r").with_main_input(x1).build()\n'
        'x = task("x").with_recipe("r").with_main_input(y).build()  # closes xy\n'
        's1 = task("s").with_recipe("r").with_main_input(raw_bias).build()\n'
        's = task("s").with_recipe("r").with_main_input(s1).build()  # closes s\n'
    ))
    cyc = sorted(p for p in problems(path) if "cycle in the cascade" in p)
    assert len(cyc) == 3, cyc
    assert f"{path}:{line_of(text, '# closes pqr')}: cycle in the cascade: p -> q -> p" in cyc
    assert f"{path}:{line_of(text, '# closes xy')}: cycle in the cascade: x -> y -> x" in cyc
    assert f"{path}:{line_of(text, '# closes s')}: cycle in the cascade: s -> s" in cyc


def test_cycle_check_needs_no_networkx(write_cascade):
    import subprocess
    import sys

    # (no `from reflexng.cascade import *`: that loads the layout and export names too)
    path, text = write_cascade("from reflexng.cascade import classification_rule, data_source, task\n" + BASE
                               + 'b2 = task("bias").with_recipe("r").with_main_input(bias).build()  # self\n',
                               header=False)
    code = ("import sys\nfrom reflexng.cascade import load\n"
            f"ps = load({str(path)!r}, validate=False).validate(check_recipes=False)\n"
            "print([str(p) for p in ps if 'cycle in the cascade' in p.message], 'networkx' in sys.modules)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == f"['{path}:{line_of(text, '# self')}: cycle in the cascade: bias -> bias'] False"


def test_meta_target_named_like_a_task(write_cascade):
    path, text = write_cascade(BASE + 'f = task("flat").with_recipe("r").with_main_input(raw_bias).with_associated_input(bias)'
                               '.with_meta_targets(["bias"]).build()  # meta\n')
    assert f"{path}:{line_of(text, '# meta')}: task 'flat': meta target 'bias' has the name of a task; choose another name" in problems(path)


def test_workflow_parameter_misuse(write_cascade):
    path, text = write_cascade(BASE + (
        'from reflexng.cascade.model import WorkflowParameter\n'
        'mode = workflow_parameter("mode", "a", choices=["a", "b"])\n'
        'stray = WorkflowParameter("stray", 1)  # never declared with workflow_parameter()\n'
        't1 = task("t1").with_recipe("r").with_main_input(raw_bias).with_recipe_parameters({"x": stray}).build()  # stray\n'
        't2 = task("t2").with_recipe("r").with_main_input(raw_bias).with_condition(mode.equals("c")).build()  # bad value\n'
        't3 = task("t3").with_recipe("r").with_main_input(raw_bias).with_associated_input(bias, condition=stray.equals(1)).build()  # cond\n'
        'ds = data_source("RAW_G").with_classification_rule(classification_rule("G", {"A": 1})).with_grouping_keywords([stray]).build()  # grp\n'
        't4 = task("t4").with_recipe("r").with_main_input(ds).build()\n'
    ))
    out = problems(path)
    assert f"{path}:{line_of(text, '# stray')}: task 't1' recipe parameter 'x': workflow parameter 'stray' is not declared in this cascade" in out
    assert any(p.startswith(f"{path}:{line_of(text, '# bad value')}: task 't2': condition compares workflow parameter 'mode' with 'c'") for p in out)
    assert f"{path}:{line_of(text, '# cond')}: task 't3' associated input 'bias': condition uses undeclared workflow parameter 'stray'" in out
    assert any(p.startswith(f"{path}:{line_of(text, '# grp')}: data source 'RAW_G' grouping keywords") for p in out)


def test_parameter_set_problems_point_into_the_yaml_file(write_cascade):
    path, _ = write_cascade(BASE + 'mode = workflow_parameter("mode", "a", choices=["a", "b"])\n', name="ps")
    yml = path.with_name("ps.params.yaml")
    yml.write_text("good:\n  workflow_parameters: {mode: b}\n"
                   "bad:\n  workflow_parameters:\n    mode: z\n    nosuch: 1\n"
                   "  recipe_parameters:\n    ghost_task: {a: 1}\n")
    out = problems(path)
    assert f"{yml}:5: parameter set 'bad': workflow parameter 'mode' = 'z' is not one of ['a', 'b']" in out
    assert any(p.startswith(f"{yml}:6: parameter set 'bad': unknown workflow parameter 'nosuch'") for p in out)
    assert f"{yml}:8: parameter set 'bad': recipe parameters for unknown task 'ghost_task'" in out
    assert not any("'good'" in p for p in out)


def test_unknown_default_target(write_cascade):
    path, text = write_cascade('metadata("m", default_target="nosuch")  # meta\n' + BASE)
    assert f"{path}:{line_of(text, '# meta')}: default target 'nosuch' is neither a task nor a meta target" in problems(path)


def test_warnings_do_not_fail_loading(write_cascade):
    path, text = write_cascade(BASE + (
        'bare = data_source("BARE").build()  # no rule\n'
        'unused = data_source("UNUSED").with_classification_rule(classification_rule("U", {"A": 1})).build()  # unused\n'
        't = task("t").with_recipe("r").with_main_input(bare).build()\n'
    ))
    c = load(path)  # warnings only
    warnings = [str(p) for p in c.validate(check_recipes=False) if p.severity == "warning"]
    assert any(w.startswith(f"{path}:{line_of(text, '# no rule')}: warning: data source 'BARE' has no classification rule") for w in warnings)
    assert f"{path}:{line_of(text, '# unused')}: warning: data source 'UNUSED' is not used by any task" in warnings


def test_unknown_recipe_warning_uses_the_registry(write_cascade):
    registry = pytest.importorskip("reflexng.recipes.registry")
    known = list(registry.known_recipes())
    body = BASE.replace('"demo_bias"', repr(known[0]) if known else '"demo_bias"')
    path, text = write_cascade(body + 'x = task("x").with_recipe("no_such_recipe_xyz").with_main_input(raw_bias).build()  # unknown\n')
    warnings = [str(p) for p in load(path).validate() if p.severity == "warning"]
    assert f"{path}:{line_of(text, '# unknown')}: warning: task 'x': unknown recipe 'no_such_recipe_xyz' (see `reflexng recipes`)" in warnings
    if known:
        assert not any(f"unknown recipe {known[0]!r}" in w for w in warnings)


def test_without_a_registry_recipe_names_cannot_be_checked(write_cascade):
    from reflexng.cascade.validate import register_recipe_lookup

    previous = register_recipe_lookup(None)  # as in a process that never imported the recipes layer
    try:
        path, text = write_cascade(BASE)
        warnings = [str(p) for p in load(path).validate()]
    finally:
        register_recipe_lookup(previous)
    assert warnings == [f"{path}:{line_of(text, 'with_recipe')}: warning: cannot check recipe names (no recipe registry)"]


def test_empty_cascade_is_an_error(write_cascade):
    path, _ = write_cascade('metadata("nothing")\n')
    with pytest.raises(CascadeValidationError, match="defines no task"):
        load(path)


def test_task_grouping_on_a_data_source_main_input_warns(write_cascade):
    path, text = write_cascade(BASE + 't = task("t").with_recipe("r").with_main_input(raw_bias)'
                               '.with_grouping_keywords(["OBJECT"]).build()  # grp\n')
    out = problems(path)
    assert any(p.startswith(f"{path}:{line_of(text, '# grp')}: warning: task 't': grouping keywords of a task apply only")
               for p in out)
