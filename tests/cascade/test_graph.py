"""The cascade graph and target cuts, checked against the EDPS paper's Fig. 1."""

from __future__ import annotations

import networkx as nx
import pytest
from _cascade_testutil import FIG1

from reflexng.cascade import CascadeError, load

CALIBRATIONS = {"bias", "dark", "flat", "fit_order", "wavelength_cal", "flexure", "response"}
FIG1_TASKS = CALIBRATIONS | {"science", "science_std", "spec_combination", "spec_combination_std"}


@pytest.fixture(scope="module")
def fig1():
    return load(FIG1)


def test_fig1_has_the_papers_tasks(fig1):
    assert set(fig1.tasks) == FIG1_TASKS | {"flat_strategy"}
    assert fig1.tasks["spec_combination"].main_input.name == "science"
    assert fig1.tasks["spec_combination_std"].main_input.name == "science_std"
    assert fig1.tasks["spec_combination"].grouping_keywords == ("OBJECT",)
    assert fig1.tasks["flat_strategy"].function is not None and fig1.tasks["flat_strategy"].condition is not None


def test_for_target_matches_fig1(fig1):
    """Our reading of the paper's Fig. 1 (Sect. 2.2 and its caption).

    Left tree, target ``spec_combination`` (standard science processing): executed (green)
    are all calibration recipes - bias, dark, flat, fit_order, wavelength_cal, flexure and
    response (the standard star is only used for the response curve) - plus science and
    spec_combination. Grey (not executed): science_std and spec_combination_std.

    Right tree, target ``science_std`` (a science spectrum of the standard star, not
    combined): executed are the same calibration recipes plus science_std; grey are
    science, spec_combination and spec_combination_std.

    Fig. 1 does not draw flat_strategy (the paper adds it in Fig. 4, Sect. 4.6); in our
    cascade the standard star's flat may come through it, so it belongs to both cuts as a
    calibration step between flat and response/science_std.
    """
    left = fig1.for_target("spec_combination")
    assert set(left.tasks) - {"flat_strategy"} == CALIBRATIONS | {"science", "spec_combination"}
    assert "flat_strategy" in left.tasks and left.targets == ("spec_combination",)
    right = fig1.for_target("science_std")
    assert set(right.tasks) - {"flat_strategy"} == CALIBRATIONS | {"science_std"}
    assert "flat_strategy" in right.tasks
    # the data sources needed come along; the science data source is needed by the right
    # tree only through flat_strategy's association with the science frames
    assert {"RAW_BIAS", "RAW_SCIENCE", "RAW_STD", "LINE_LIST"} <= set(right.data_sources)
    assert "RAW_SCIENCE" in left.data_sources


def test_target_cuts_of_single_steps(fig1):
    assert set(fig1.for_target("bias").tasks) == {"bias"}
    assert set(fig1.for_target("bias").data_sources) == {"RAW_BIAS"}
    assert set(fig1.for_target("flat").tasks) == {"bias", "fit_order", "flat"}
    assert set(fig1.for_target(["bias", "dark"]).tasks) == {"bias", "dark"}
    sub = fig1.for_target("flat")
    assert sub.graph.number_of_nodes() == 6 and sub.validate(check_recipes=False) == []


def test_meta_targets_and_default_target(fig1):
    assert fig1.meta_targets == {
        "qc1calib": ["response"],
        "spectra": ["science", "science_std", "spec_combination", "spec_combination_std"],
    }
    assert set(fig1.for_target("spectra").tasks) == fig1.tasks.keys()
    assert set(fig1.for_target("spectra").targets) == set(fig1.meta_targets["spectra"])
    assert fig1.default_target == ["spec_combination"]  # from metadata
    assert set(fig1.for_target(fig1.default_target).tasks) == set(fig1.for_target("spec_combination").tasks)
    assert fig1.sink_tasks == ["spec_combination", "spec_combination_std"]


def test_default_target_without_metadata_is_the_sinks(write_cascade):
    path, _ = write_cascade(
        'raw = data_source("RAW").with_classification_rule(classification_rule("R", {"A": 1})).build()\n'
        'a = task("a").with_recipe("r").with_main_input(raw).build()\n'
        'b = task("b").with_recipe("r").with_main_input(a).build()\n'
        'c = task("c").with_recipe("r").with_main_input(raw).with_associated_input(a).build()\n'
    )
    assert load(path).default_target == ["b", "c"]
    assert load(path).for_target("a").default_target == ["a"]


def test_default_target_naming_a_meta_target_gives_its_tasks(write_cascade):
    path, _ = write_cascade(
        'metadata("m", default_target="calib")\n'
        'raw = data_source("RAW").with_classification_rule(classification_rule("R", {"A": 1})).build()\n'
        'a = task("a").with_recipe("r").with_main_input(raw).with_meta_targets(["calib"]).build()\n'
        'b = task("b").with_recipe("r").with_main_input(raw).with_meta_targets(["calib"]).build()\n'
        'c = task("c").with_recipe("r").with_main_input(a).build()\n'
    )
    c = load(path)
    assert c.default_target == ["a", "b"] and c.info.default_target == "calib"


def test_unknown_target_names_the_known_ones(fig1):
    with pytest.raises(CascadeError, match=r"unknown target 'nosuch'; known targets: bias, .*spectra \(meta target\)"):
        fig1.for_target("nosuch")


def test_graph_nodes_edges_and_roles(fig1):
    g = fig1.graph
    assert g.nodes["RAW_BIAS"]["kind"] == "data_source" and g.nodes["bias"]["kind"] == "task"
    assert g.edges["RAW_SCIENCE", "science"]["role"] == "main"
    assert g.edges["bias", "flat"]["role"] == "associated"
    assert g.edges["science", "spec_combination"]["role"] == "main"
    assert g.edges["flat", "response"]["conditional"] and g.edges["dark", "science"]["optional"]
    roles = {n: d["role"] for n, d in g.nodes(data=True) if d["kind"] == "task"}
    assert {n for n, r in roles.items() if r == "science"} == {"science", "science_std", "spec_combination", "spec_combination_std"}
    assert fig1.task_role("response") == "calibration"
    cut = fig1.for_target("flat")
    assert cut.parent is fig1 and cut.task_role("flat") == "calibration"  # a cut keeps the roles
    assert cut.for_target("bias").parent is fig1
    with pytest.raises(nx.NetworkXError):  # the graph is frozen: nobody changes the cascade through it
        g.add_node("x")
    # one edge per input of every task
    n_inputs = sum((t.main_input is not None) + len(t.associated_inputs) for t in fig1.tasks.values())
    assert len(fig1.edges) == n_inputs == g.number_of_edges()
