"""Each builder method of the cascade language produces the documented model object."""

from __future__ import annotations

import pytest

from reflexng.cascade import (
    ONE_DAY,
    SAME_NIGHT,
    UNLIMITED,
    CascadeError,
    ClassificationRule,
    DataSource,
    Task,
    classification_rule,
    data_source,
    days,
    fits_card_name,
    metadata,
    night_of,
    relative,
    subworkflow,
    task,
    workflow_parameter,
)
from reflexng.cascade.builders import collecting
from reflexng.cascade.parameters import RuleContext

THIS_FILE = __file__


def raw_bias() -> DataSource:
    return data_source("RAW_BIAS").with_classification_rule(classification_rule("BIAS", {"DPR.TYPE": "BIAS"})).build()


# --------------------------------------------------------------------------- keywords and rules


def test_fits_card_name_maps_dotted_eso_names():
    assert fits_card_name("DPR.TYPE") == "HIERARCH ESO DPR TYPE"
    assert fits_card_name("det.binx") == "HIERARCH ESO DET BINX"
    assert fits_card_name("EXPTIME") == "EXPTIME"
    assert fits_card_name("date-obs") == "DATE-OBS"
    assert fits_card_name("HIERARCH ESO INS MODE") == "HIERARCH ESO INS MODE"


def test_classification_rule_exact_alternatives_and_predicate():
    r = classification_rule("FLAT", {"DPR.TYPE": "FLAT", "DET.BINX": [1, 2], "EXPTIME": lambda v: v > 1})
    assert isinstance(r, ClassificationRule) and r.category == "FLAT"
    assert r.matches({"DPR.TYPE": "FLAT ", "DET.BINX": 2, "EXPTIME": 5.0})
    assert not r.matches({"DPR.TYPE": "FLAT", "DET.BINX": 3, "EXPTIME": 5.0})
    assert r.first_mismatch({"DPR.TYPE": "FLAT", "DET.BINX": 1, "EXPTIME": 0.5})[0] == "EXPTIME"
    assert r.first_mismatch({"DPR.TYPE": "BIAS"})[:1] == ("DPR.TYPE",)
    assert r.location.path == THIS_FILE and r.location.line > 0


def test_classification_rule_function_and_errors():
    def is_dark(h):
        return h.get("DPR.TYPE") == "DARK" and h.get("EXPTIME", 0) > 0

    r = classification_rule("DARK", is_dark, keywords=["DPR.TYPE", "EXPTIME"])
    assert r.matches({"DPR.TYPE": "DARK", "EXPTIME": 10}) and not r.matches({"DPR.TYPE": "DARK"})
    assert r.keyword_names == ("DPR.TYPE", "EXPTIME")
    with pytest.raises(CascadeError, match="non-empty category"):
        classification_rule("", {"A": 1})
    with pytest.raises(CascadeError, match="has no keywords"):
        classification_rule("X", {})
    with pytest.raises(CascadeError, match="expected a dict"):
        classification_rule("X", 42)


# --------------------------------------------------------------------------- time ranges


def test_named_and_relative_time_ranges():
    assert SAME_NIGHT.contains(0.3, 60000.6, 60000.9) and not SAME_NIGHT.contains(0.3, 60000.4, 60000.7)
    assert night_of(60000.6) == night_of(60001.4) != night_of(60001.6)
    assert ONE_DAY.contains(-1.0) and ONE_DAY.contains(0.99) and not ONE_DAY.contains(1.01)
    assert days(3).contains(-2.9) and not days(3).contains(3.5) and days(3).name == "within 3 days"
    r = relative(2, 0)  # up to 2 days before, nothing after
    assert r.contains(-1.5) and not r.contains(0.1) and not r.contains(-2.5)
    assert relative(None, 1).contains(-1000) and UNLIMITED.contains(1e6) and UNLIMITED.contains(-1e6)


# --------------------------------------------------------------------------- data sources


def test_data_source_builder_methods():
    def close(main, cand):
        return main.get("OBJECT") == cand.get("OBJECT")

    r1 = classification_rule("FLAT", {"DPR.TYPE": "FLAT"})
    r2 = classification_rule("FLAT", {"DPR.TYPE": "LAMP,FLAT"})
    ds = (
        data_source("RAW_FLAT")
        .with_classification_rule(r1)
        .with_classification_rule(r2)
        .with_grouping_keywords(["TPL.START"])
        .with_setup_keywords(["DET.BINX", "INS.FILT"])
        .with_match_keywords(["DET.BINX"], time_range=days(5), level=2)
        .with_match_keywords(["DET.BINX", "INS.FILT"], time_range=ONE_DAY, level=0)
        .with_match_function(close, time_range=SAME_NIGHT, level=1)
        .with_min_group_size(3)
        .build()
    )
    assert ds.classification_rules == (r1, r2) and ds.categories == ("FLAT",)
    assert ds.grouping_keywords == ("TPL.START",) and ds.setup_keywords == ("DET.BINX", "INS.FILT")
    assert [m.level for m in ds.match_rules] == [0, 1, 2]  # searched in quality order
    assert ds.match_rules[0].keywords == ("DET.BINX", "INS.FILT") and ds.match_rules[0].time_range is ONE_DAY
    assert ds.match_rules[1].function is close and ds.match_rules[1].time_range is SAME_NIGHT
    assert ds.min_group_size == 3 and ds.kind == "data_source"
    assert ds.location.path == THIS_FILE


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda b: b.with_classification_rule({"DPR.TYPE": "X"}), "needs a classification_rule"),
        (lambda b: b.with_grouping_keywords("OBJECT"), "needs a list of names"),
        (lambda b: b.with_setup_keywords("DET.BINX"), "needs a list of names"),
        (lambda b: b.with_match_keywords("DET.BINX"), "needs a list of names"),
        (lambda b: b.with_match_keywords(["A"], time_range=1.0), "time_range must be"),
        (lambda b: b.with_match_keywords(["A"], level=-1), "quality level"),
        (lambda b: b.with_match_function("not callable"), "needs a callable"),
        (lambda b: b.with_min_group_size(0), "min group size"),
    ],
)
def test_data_source_builder_rejects_wrong_types(call, message):
    with pytest.raises(CascadeError, match=message) as info:
        call(data_source("RAW_X"))
    assert info.value.location.path == THIS_FILE  # the error points at the caller's line


# --------------------------------------------------------------------------- tasks


def test_task_builder_methods():
    bias_src = raw_bias()
    bias = task("bias").with_recipe("demo_bias").with_main_input(bias_src).build()
    mode = workflow_parameter("mode", "a", choices=["a", "b"])

    def inspect(job):
        return job

    def gain(ctx):
        return 2.0 * ctx.get("EXPTIME", 1)

    def match(main, cand):
        return True

    t = (
        task("flat")
        .with_recipe("demo_flat")
        .with_main_input(bias_src)
        .with_associated_input(bias, min_ret=0, max_ret=3, match_keywords=["DET.BINX"], time_range=ONE_DAY, level=1)
        .with_associated_input(bias_src, match_function=match, condition=mode.equals("b"))
        .with_condition(mode.equals("a"))
        .with_recipe_parameters({"sigma": 3.0, "mode": mode})
        .with_dynamic_parameter("gain", gain)
        .with_meta_targets(["qc1calib"])
        .with_grouping_keywords(["OBJECT"])
        .with_inspector(inspect)
        .build()
    )
    assert isinstance(t, Task) and t.recipe == "demo_flat" and t.recipe_name == "demo_flat"
    assert t.main_input.name == "RAW_BIAS" and t.main_input.kind == "data_source"
    a0, a1 = t.associated_inputs
    assert (a0.name, a0.source.kind, a0.min_ret, a0.max_ret, a0.optional) == ("bias", "task", 0, 3, True)
    assert a0.match_rules[0].keywords == ("DET.BINX",) and a0.match_rules[0].level == 1
    assert a1.match_rules[0].function is match and a1.condition is not None
    ctx_a, ctx_b = RuleContext({"mode": "a"}), RuleContext({"mode": "b"})
    assert t.condition(ctx_a) and not t.condition(ctx_b) and a1.condition(ctx_b)
    assert t.recipe_parameters == {"sigma": 3.0, "mode": mode}
    assert t.dynamic_parameters["gain"](RuleContext(header={"EXPTIME": 4})) == 8.0
    assert t.meta_targets == ("qc1calib",) and t.grouping_keywords == ("OBJECT",)
    assert t.inspector is inspect and t.kind == "task"
    assert set(t.call_locations) >= {"with_recipe", "with_main_input", "with_condition", "with_associated_input:0"}


def test_function_task_and_recipe_name():
    def combine(job):
        return job

    t = task("copy").with_function(combine).with_main_input(raw_bias()).build()
    assert t.recipe is None and t.function is combine and t.recipe_name == "python:combine"


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda b: b.with_recipe(3), "needs a recipe name"),
        (lambda b: b.with_function("f"), "needs a callable"),
        (lambda b: b.with_main_input("RAW_BIAS"), "expected a data source or a task"),
        (lambda b: b.with_main_input(data_source("RAW")), "forget .build()"),
        (lambda b: b.with_associated_input(raw_bias(), min_ret=2, max_ret=1), "min_ret <= max_ret"),
        (lambda b: b.with_associated_input(raw_bias(), min_ret="1"), "must be integers"),
        (lambda b: b.with_associated_input(raw_bias(), condition="yes"), "condition must be a function"),
        (lambda b: b.with_condition(True), "needs a callable"),
        (lambda b: b.with_recipe_parameters([("a", 1)]), "needs a dict"),
        (lambda b: b.with_dynamic_parameter("g", 3), "needs a callable"),
        (lambda b: b.with_dynamic_parameter(None, print), "needs a parameter name"),
        (lambda b: b.with_meta_targets("science"), "needs a list of names"),
        (lambda b: b.with_grouping_keywords("OBJECT"), "needs a list of names"),
        (lambda b: b.with_inspector(None), "needs a callable"),
        (lambda b: b.with_recipe("r").with_function(print).build(), "both a recipe and a function"),
    ],
)
def test_task_builder_rejects_wrong_types(call, message):
    with pytest.raises(CascadeError, match=message) as info:
        call(task("t"))
    assert info.value.location.path == THIS_FILE and info.value.location.line > 0


def test_names_must_not_be_empty():
    for make in (task, data_source):
        with pytest.raises(CascadeError, match="non-empty name"):
            make("  ")


# --------------------------------------------------------------------------- cascade-level


def test_workflow_parameter_metadata_and_subworkflow_collect():
    with collecting() as c:
        wp = workflow_parameter("flat_strategy", "close", choices=["close", "science"], description="d")
        metadata("demo", instrument="DEMO", description="a demo", default_target="flat")
        with subworkflow("outer"):
            with subworkflow("inner"):
                t_inner = task("a").with_recipe("r").with_main_input(raw_bias()).build()
            t_outer = task("b").with_recipe("r").with_main_input(raw_bias()).build()

        @subworkflow("decorated")
        def make():
            return task("c").with_recipe("r").with_main_input(raw_bias()).build()

        t_dec = make()
        t_none = task("d").with_recipe("r").with_main_input(raw_bias()).build()
    assert c.workflow_parameters == [wp] and wp.choices == ("close", "science") and wp.description == "d"
    assert c.info.name == "demo" and c.info.instrument == "DEMO" and c.info.default_target == "flat"
    assert (t_inner.subworkflow, t_outer.subworkflow, t_dec.subworkflow, t_none.subworkflow) == (
        "outer/inner", "outer", "decorated", None)
    assert [t.name for t in c.tasks] == ["a", "b", "c", "d"] and len(c.data_sources) == 4
    assert not c.unbuilt


def test_workflow_parameter_default_must_be_a_choice():
    with pytest.raises(CascadeError, match="not one of"):
        workflow_parameter("x", "c", choices=["a", "b"])


def test_equals_condition_names_itself():
    wp = workflow_parameter("flat_strategy", "close", choices=["close", "science"])
    cond = wp.equals("science")
    assert cond(RuleContext({"flat_strategy": "science"})) and not cond(RuleContext({"flat_strategy": "close"}))
    assert "flat_strategy" in cond.__name__ and cond.workflow_parameter == "flat_strategy"
