"""JSON and DOT export, and the layered layout (no overlaps; edges left to right)."""

from __future__ import annotations

import json
import re

import pytest
from _cascade_testutil import FIG1
from hypothesis import given, settings
from hypothesis import strategies as st

from reflexng.cascade import Cascade, DataSource, InputRef, Task, load, to_dict, to_dot, to_json
from reflexng.cascade.layering import NODE_HEIGHT, NODE_WIDTH, compute_layout, layout
from reflexng.cascade.model import AssociatedInput, CascadeInfo


@pytest.fixture(scope="module")
def fig1():
    return load(FIG1)


def test_json_schema(fig1):
    d = json.loads(to_json(fig1))
    assert (d["name"], d["instrument"]) == ("fig1", "XSHOOTER (simplified)") and d["description"]
    tasks = {t["name"]: t for t in d["tasks"]}
    assert set(tasks) == set(fig1.tasks)
    sc = tasks["science"]
    assert sc["recipe"] == "esorex:xsh_scired_slit_stare" and sc["main_input"] == "RAW_SCIENCE"
    assert sc["meta_targets"] == ["spectra"] and sc["role"] == "science" and sc["subworkflow"] is None
    dark = next(a for a in sc["associated_inputs"] if a["name"] == "dark")
    assert dark == {"name": "dark", "kind": "task", "min_ret": 0, "max_ret": 1, "conditional": False}
    assert tasks["flat_strategy"]["recipe"] == "python:forward_science_flat"
    assert tasks["flat_strategy"]["subworkflow"] == "flat_strategy" and tasks["flat_strategy"]["conditional"]
    assert tasks["bias"]["role"] == "calibration"
    assert tasks["science"]["recipe_parameters"] == {"extract-method": "<workflow parameter extraction>"}
    assert tasks["flat"]["recipe_parameters"] == {"stack-method": "median"}
    ds = {s["name"]: s for s in d["data_sources"]}
    assert ds["RAW_BIAS"]["classification"] == [
        {"category": "RAW_BIAS", "keywords": {"DPR.CATG": "CALIB", "DPR.TYPE": "BIAS"}, "function": None}]
    assert ds["RAW_STD"]["classification"][0]["keywords"]["DPR.TYPE"] == ["STD,FLUX", "STD"]
    edges = {(e["source"], e["target"], e["role"]) for e in d["edges"]}
    assert ("science", "spec_combination", "main") in edges and ("bias", "flat", "associated") in edges
    assert len(d["edges"]) == len(fig1.edges)
    assert d["workflow_parameters"][0]["choices"] == ["close_in_time", "science_flat"]


def test_json_of_a_target_cut(fig1):
    d = to_dict(fig1.for_target("science_std"))
    assert d["targets"] == ["science_std"]
    assert {t["name"] for t in d["tasks"]} == set(fig1.for_target("science_std").tasks)
    names = {t["name"] for t in d["tasks"]} | {s["name"] for s in d["data_sources"]}
    assert all(e["source"] in names and e["target"] in names for e in d["edges"])


def test_dot_contains_every_node_and_edge_with_styles(fig1):
    dot = to_dot(fig1)
    assert dot.startswith('digraph "fig1" {') and dot.rstrip().endswith("}")
    for d in fig1.data_sources:
        assert re.search(rf'^\s*"{d}" \[shape=box, style=filled, fillcolor=lightgrey\];', dot, re.M)
    for t in fig1.tasks:
        assert re.search(rf'^\s*"{t}" \[shape=ellipse', dot, re.M)
    for e in fig1.edges:
        style = "color=red, style=solid" if e.role == "main" else "color=black, style=dashed"
        assert f'"{e.source}" -> "{e.target}" [{style}];' in dot
    assert 'subgraph "cluster_' in dot and 'label="flat_strategy"' in dot and 'label="wavelength"' in dot
    assert dot.count("{") == dot.count("}")


def _overlaps(pos):
    items = list(pos.items())
    for i, (a, (xa, ya)) in enumerate(items):
        for b, (xb, yb) in items[i + 1:]:
            if abs(xa - xb) < NODE_WIDTH and abs(ya - yb) < NODE_HEIGHT:
                return (a, b)
    return None


def _check_layout(cascade):
    lay = compute_layout(cascade)
    pos = lay.positions
    assert set(pos) == set(cascade.graph.nodes)
    assert _overlaps(pos) is None
    for u, v in cascade.graph.edges:
        assert pos[u][0] < pos[v][0], f"edge {u}->{v} does not point right"
        for bx, _ in lay.bends.get((u, v), []):
            assert pos[u][0] < bx < pos[v][0]
    return lay


def test_fig1_layout(fig1):
    lay = _check_layout(fig1)
    layers = lay.layers
    assert layers["bias"] < layers["flat"] < layers["response"] < layers["science"] < layers["spec_combination"]
    # the data source of a task sits right before it
    assert layers["RAW_SCIENCE"] == layers["flat_strategy"] - 1
    assert layout(fig1) == lay.positions


def test_crossing_reduction_beats_the_initial_order(fig1):
    no_sweeps = compute_layout(fig1, sweeps=0)
    reduced = compute_layout(fig1)
    assert reduced.crossings < no_sweeps.crossings / 2


def test_crossing_free_graph_is_drawn_without_crossings(write_cascade):
    # two independent chains given in an interleaved order: the heuristic must untangle them
    path, _ = write_cascade(
        'a0 = data_source("A0").with_classification_rule(classification_rule("A", {"X": 1})).build()\n'
        'b0 = data_source("B0").with_classification_rule(classification_rule("B", {"X": 2})).build()\n'
        'b1 = task("b1").with_recipe("r").with_main_input(b0).build()\n'
        'a1 = task("a1").with_recipe("r").with_main_input(a0).build()\n'
        'a2 = task("a2").with_recipe("r").with_main_input(b1).with_associated_input(b1, max_ret=2).build()\n'
        'b2 = task("b2").with_recipe("r").with_main_input(a1).build()\n'
    )
    assert _check_layout(load(path)).crossings == 0


@st.composite
def random_cascades(draw):
    n_ds = draw(st.integers(1, 4))
    n_tasks = draw(st.integers(1, 12))
    data_sources = {f"D{i}": DataSource(f"D{i}") for i in range(n_ds)}
    tasks: dict[str, Task] = {}
    for i in range(n_tasks):
        pool = [InputRef(n, "data_source") for n in data_sources] + [InputRef(n, "task") for n in tasks]
        main = draw(st.sampled_from(pool))
        assoc = draw(st.lists(st.sampled_from(pool), max_size=3, unique=True))
        tasks[f"t{i}"] = Task(f"t{i}", recipe="r", main_input=main,
                              associated_inputs=tuple(AssociatedInput(a) for a in assoc if a != main))
    return Cascade(CascadeInfo("random"), "<random>", data_sources, tasks)


@settings(max_examples=60, deadline=None)
@given(random_cascades())
def test_layout_of_random_cascades(cascade):
    _check_layout(cascade)


@settings(max_examples=40, deadline=None)
@given(random_cascades(), st.data())
def test_target_cuts_of_random_cascades_are_closed(cascade, data):
    target = data.draw(st.sampled_from(sorted(cascade.tasks)))
    sub = cascade.for_target(target)
    assert target in sub.tasks and sub.targets == (target,)
    for t in sub.tasks.values():  # everything a kept task reads is kept
        for ref in [t.main_input, *(a.source for a in t.associated_inputs)]:
            assert ref.name in (sub.tasks if ref.kind == "task" else sub.data_sources)
    # nothing that the target does not need: every kept task reaches the target
    import networkx as nx

    assert all(nx.has_path(cascade.graph, n, target) for n in sub.tasks)
    assert sub.errors == [] and json.loads(to_json(sub))["targets"] == [target]


def test_an_invalid_cyclic_cascade_can_still_be_drawn():
    ds = {"D": DataSource("D")}
    tasks = {
        "a": Task("a", recipe="r", main_input=InputRef("D", "data_source"),
                  associated_inputs=(AssociatedInput(InputRef("b", "task")),)),
        "b": Task("b", recipe="r", main_input=InputRef("a", "task")),
    }
    c = Cascade(CascadeInfo("cyclic"), "<cyclic>", ds, tasks)
    assert any("cycle" in p.message for p in c.errors)
    pos = layout(c)
    assert set(pos) == {"D", "a", "b"} and _overlaps(pos) is None
    assert pos["D"][0] < pos["a"][0] < pos["b"][0]  # the edge b->a that closes the cycle is dropped
    assert json.loads(to_json(c))["edges"] and "->" in to_dot(c)
