"""Parameter precedence: recipe default < cascade < parameter set < user override;
workflow parameters: cascade default < parameter set < user override."""

from __future__ import annotations

import pytest
from _cascade_testutil import FIG1

from reflexng.cascade import load
from reflexng.cascade.parameters import (
    RuleContext,
    effective_parameters,
    task_parameters,
    workflow_values,
)
from reflexng.recipes.protocol import ParameterSpec, Recipe


class Extract(Recipe):
    """A real recipe class, used for its declared parameter defaults."""

    name = "test_extract"
    parameters = (
        ParameterSpec("untouched", "str", "recipe"),
        ParameterSpec("sigma", "float", 5.0),
        ParameterSpec("niter", "int", 3),
        ParameterSpec("thresh", "float", 1.0),
        ParameterSpec("method", "str", "sum"),
        ParameterSpec("gain", "float", 1.0),
    )


CASCADE = """\
extraction = workflow_parameter("extraction", "optimal", choices=["optimal", "full"])
level = workflow_parameter("level", 1, choices=[1, 2, 3])
raw = data_source("RAW").with_classification_rule(classification_rule("R", {"A": 1})).build()
t = (task("t").with_recipe("test_extract").with_main_input(raw)
     .with_recipe_parameters({"sigma": 4.0, "niter": 5, "thresh": 2.0, "method": extraction})
     .with_dynamic_parameter("gain", lambda ctx: 2.0 * ctx.get("EXPTIME", 1.0))
     .build())
"""

YAML = """\
night:
  description: for a test
  workflow_parameters: {extraction: full, level: 2}
  recipe_parameters:
    t: {niter: 7, thresh: 3.0}
"""

TOML = """\
[night]
description = "for a test"

[night.workflow_parameters]
extraction = "full"
level = 2

[night.recipe_parameters.t]
niter = 7
thresh = 3.0
"""


@pytest.mark.parametrize("suffix, text", [(".params.yaml", YAML), (".params.toml", TOML)])
def test_recipe_parameter_precedence(write_cascade, suffix, text):
    path, _ = write_cascade(CASCADE, name="prec")
    path.with_name("prec" + suffix).write_text(text)
    c = load(path)
    pset = c.parameter_sets["night"]
    assert pset.description == "for a test" and pset.path.endswith(suffix)
    overrides = {"t": {"thresh": 4.0}}
    wp = workflow_values(c, pset, {"level": "3"})
    assert wp == {"extraction": "full", "level": 3}  # "3" from a command line matches choice 3
    ctx = RuleContext(wp, header={"EXPTIME": 10.0}, task="t")
    values = effective_parameters(Extract.defaults(), task_parameters(c.tasks["t"], ctx, pset, overrides))
    assert values == {
        "untouched": "recipe",  # recipe default only
        "sigma": 4.0,  # cascade beats recipe default
        "niter": 7,  # parameter set beats cascade
        "thresh": 4.0,  # user override beats parameter set
        "method": "full",  # a workflow parameter stands for its (parameter-set) value
        "gain": 20.0,  # dynamic parameter computed from the header
    }
    # without parameter set or overrides the cascade level wins over the recipe defaults
    plain = effective_parameters(Extract.defaults(), task_parameters(c.tasks["t"], RuleContext(workflow_values(c))))
    assert (plain["sigma"], plain["niter"], plain["thresh"], plain["method"], plain["gain"]) == (4.0, 5, 2.0, "optimal", 2.0)


def test_workflow_values_reject_unknown_names_and_values():
    c = load(FIG1)
    assert workflow_values(c) == {"flat_strategy": "close_in_time", "extraction": "optimal"}
    std = c.parameter_sets["std_star_science"]
    assert workflow_values(c, std) == {"flat_strategy": "science_flat", "extraction": "full"}
    assert workflow_values(c, std, {"flat_strategy": "close_in_time"})["flat_strategy"] == "close_in_time"
    with pytest.raises(ValueError, match="unknown workflow parameter 'nope'"):
        workflow_values(c, None, {"nope": 1})
    with pytest.raises(ValueError, match="'flat_strategy': 'sometimes' is not one of"):
        workflow_values(c, None, {"flat_strategy": "sometimes"})


def test_fig1_parameter_sets_and_flat_strategy_conditions():
    c = load(FIG1)
    assert set(c.parameter_sets) == {"standard", "std_star_science"}
    response = c.tasks["response"]
    flat_in = {a.name: a for a in response.associated_inputs}
    for pset, via in (("standard", "flat"), ("std_star_science", "flat_strategy")):
        ctx = RuleContext(workflow_values(c, c.parameter_sets[pset]))
        active = {n for n, a in flat_in.items() if a.condition is None or a.condition(ctx)}
        assert via in active and ({"flat", "flat_strategy"} - {via}).isdisjoint(active)
        assert bool(c.tasks["flat_strategy"].condition(ctx)) == (via == "flat_strategy")
    # the extraction workflow parameter sets science and science_std consistently
    ctx = RuleContext(workflow_values(c, c.parameter_sets["std_star_science"]))
    for name in ("science", "science_std"):
        assert task_parameters(c.tasks[name], ctx)["extract-method"] == "full"
