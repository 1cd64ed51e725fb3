"""Benchmark: reflexng's layered cascade layout vs. networkx's multipartite_layout.

Both get the same layers (x); the alternative keeps the nodes in definition order within a
layer, ours reduces crossings. Prints crossings (fewer is better) and time per layout.
Run: python benchmarks/bench_cascade_layout.py
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import networkx as nx

from reflexng.cascade import Cascade, DataSource, InputRef, Task, load
from reflexng.cascade.layering import _acyclic, _crossings, assign_layers, compute_layout
from reflexng.cascade.model import AssociatedInput, CascadeInfo

FIG1 = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "cascades" / "fig1.py"


def synthetic(n_tasks: int, seed: int = 1) -> Cascade:
    """A pipeline-like cascade: each task reduces one raw type and uses 1-4 earlier tasks."""
    rng = random.Random(seed)
    ds = {f"RAW_{i}": DataSource(f"RAW_{i}") for i in range(n_tasks)}
    tasks: dict[str, Task] = {}
    for i in range(n_tasks):
        earlier = list(tasks)
        assoc = rng.sample(earlier, min(len(earlier), rng.randint(1, 4))) if earlier else []
        tasks[f"t{i}"] = Task(f"t{i}", recipe="r", main_input=InputRef(f"RAW_{i}", "data_source"),
                              associated_inputs=tuple(AssociatedInput(InputRef(a, "task")) for a in assoc))
    return Cascade(CascadeInfo(f"synthetic{n_tasks}"), "<synthetic>", ds, tasks)


def multipartite_crossings(cascade: Cascade) -> tuple[int, float]:
    """Crossings of networkx.multipartite_layout on the same layers (dummy nodes for long edges)."""
    t0 = time.perf_counter()
    g = _acyclic(cascade.graph)
    layer = assign_layers(g)
    unit = nx.DiGraph()
    full = dict(layer)
    for n in g.nodes:
        unit.add_node(n, subset=layer[n])
    for u, v in g.edges:
        prev = u
        for k in range(layer[u] + 1, layer[v]):
            d = f"{u}->{v}:{k}"
            unit.add_node(d, subset=k)
            full[d] = k
            unit.add_edge(prev, d)
            prev = d
        unit.add_edge(prev, v)
    pos = nx.multipartite_layout(unit, subset_key="subset")
    elapsed = time.perf_counter() - t0
    n_layers = max(full.values()) + 1
    order = [sorted((n for n in unit if full[n] == i), key=lambda n: pos[n][1]) for i in range(n_layers)]
    between = [[(u, v) for u, v in unit.edges if full[u] == i] for i in range(n_layers - 1)]
    return _crossings(order, between), elapsed


def main() -> None:
    cases = [("fig1 (EDPS paper)", load(FIG1))] + [(f"synthetic {n} tasks", synthetic(n)) for n in (20, 40)]
    print(f"{'cascade':<22} {'nodes':>5} {'edges':>5} | {'reflexng crossings':>18} {'ms':>7} | "
          f"{'multipartite crossings':>22} {'ms':>7} | ratio")
    for name, c in cases:
        t0 = time.perf_counter()
        lay = compute_layout(c)
        ours_ms = (time.perf_counter() - t0) * 1000
        theirs, theirs_s = multipartite_crossings(c)
        ratio = lay.crossings / theirs if theirs else float("nan")
        print(f"{name:<22} {c.graph.number_of_nodes():>5} {c.graph.number_of_edges():>5} | "
              f"{lay.crossings:>18} {ours_ms:>7.1f} | {theirs:>22} {theirs_s * 1000:>7.1f} | {ratio:.2f}")


if __name__ == "__main__":
    main()
