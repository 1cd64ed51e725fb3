"""A layered (Sugiyama-style) layout of the cascade graph, computed in the core so the GUI
only draws it.

- x = layer: tasks sit at the longest path from the data sources; a data source sits one
  layer left of its first consumer (so a static calibration is not drawn far away).
  Every edge therefore points from a smaller x to a larger x.
- y = order within the layer, from a barycentre crossing-reduction heuristic (alternating
  down/up sweeps, each followed by swaps of neighbours that remove crossings; edges spanning several layers pass through invisible dummy slots; the
  ordering with the fewest crossings is kept).
- Slots are ``x_spacing`` / ``y_spacing`` apart; with the default node size
  (:data:`NODE_WIDTH` x :data:`NODE_HEIGHT`) no two nodes overlap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import networkx as nx

if TYPE_CHECKING:  # pragma: no cover
    from reflexng.cascade.cascade import Cascade

NODE_WIDTH = 160.0
NODE_HEIGHT = 44.0
X_SPACING = 220.0
Y_SPACING = 70.0


@dataclass(frozen=True)
class Layout:
    """``positions``: node -> (x, y) centre; ``bends``: (source, target) -> the centre points
    of the dummy slots a long edge passes (draw a polyline through them); ``layers``:
    node -> layer index; ``crossings``: edge crossings of the final ordering."""

    positions: dict[str, tuple[float, float]]
    bends: dict[tuple[str, str], list[tuple[float, float]]] = field(default_factory=dict)
    layers: dict[str, int] = field(default_factory=dict)
    crossings: int = 0


def _acyclic(g: nx.DiGraph) -> nx.DiGraph:
    """A copy with cycle edges removed (an invalid cascade can still be drawn)."""
    h = nx.DiGraph()
    h.add_nodes_from(g.nodes(data=True))
    h.add_edges_from(g.edges())
    while True:
        try:
            cycle = nx.find_cycle(h)
        except nx.NetworkXNoCycle:
            return h
        h.remove_edge(*cycle[-1][:2])


def assign_layers(g: nx.DiGraph) -> dict[str, int]:
    """Longest path from the sources; data sources move right next to their first consumer."""
    layer: dict[str, int] = {}
    for n in nx.topological_sort(g):
        preds = list(g.predecessors(n))
        layer[n] = 1 + max(layer[p] for p in preds) if preds else 0
    for n in g.nodes:
        succ = list(g.successors(n))
        if not list(g.predecessors(n)) and succ:
            layer[n] = max(0, min(layer[s] for s in succ) - 1)
    if layer and min(layer.values()) > 0:
        shift = min(layer.values())
        layer = {n: v - shift for n, v in layer.items()}
    return layer


def _crossings(order: list[list[str]], edges_between: list[list[tuple[str, str]]]) -> int:
    total = 0
    for i, edges in enumerate(edges_between):
        top = {n: k for k, n in enumerate(order[i])}
        bottom = {n: k for k, n in enumerate(order[i + 1])}
        pos = [(top[u], bottom[v]) for u, v in edges]
        for a in range(len(pos)):
            for b in range(a + 1, len(pos)):
                (u1, v1), (u2, v2) = pos[a], pos[b]
                if (u1 - u2) * (v1 - v2) < 0:
                    total += 1
    return total


def compute_layout(
    cascade: Cascade, *, x_spacing: float = X_SPACING, y_spacing: float = Y_SPACING, sweeps: int = 8
) -> Layout:
    """The full layout (positions, long-edge bend points, layers, crossing count)."""
    g = _acyclic(cascade.graph)
    if g.number_of_nodes() == 0:
        return Layout({})
    layer = assign_layers(g)
    n_layers = max(layer.values()) + 1

    # proper layering: split long edges into unit edges through dummy nodes
    unit = nx.DiGraph()
    unit.add_nodes_from(g.nodes)
    chains: dict[tuple[str, str], list[str]] = {}
    full_layer = dict(layer)
    for u, v in g.edges():
        prev, chain = u, []
        for k in range(layer[u] + 1, layer[v]):
            d = f"\0dummy:{u}->{v}:{k}"
            full_layer[d] = k
            unit.add_edge(prev, d)
            chain.append(d)
            prev = d
        unit.add_edge(prev, v)
        if chain:
            chains[(u, v)] = chain

    # initial order: cascade definition order (data sources, then tasks), dummies after
    rank = {n: i for i, n in enumerate(g.nodes)}
    order: list[list[str]] = [[] for _ in range(n_layers)]
    for n in sorted(unit.nodes, key=lambda n: (rank.get(n, len(rank)), n)):
        order[full_layer[n]].append(n)
    edges_between = [[(u, v) for u, v in unit.edges() if full_layer[u] == i] for i in range(n_layers - 1)]

    def sweep(down: bool) -> None:
        rng = range(1, n_layers) if down else range(n_layers - 2, -1, -1)
        for i in rng:
            ref = {n: k for k, n in enumerate(order[i - 1 if down else i + 1])}
            current = {n: k for k, n in enumerate(order[i])}

            def bary(n: str, ref=ref, current=current) -> float:
                nbrs = unit.predecessors(n) if down else unit.successors(n)
                vals = [ref[m] for m in nbrs if m in ref]
                return sum(vals) / len(vals) if vals else current[n]

            order[i].sort(key=lambda n: (bary(n), current[n]))

    preds = {n: list(unit.predecessors(n)) for n in unit}
    succs = {n: list(unit.successors(n)) for n in unit}

    def pair_crossings(u: str, v: str, i: int) -> int:
        """Crossings between the edges of u and v (u placed above v) with both neighbour layers."""
        total = 0
        for nbrs, k in ((preds, i - 1), (succs, i + 1)):
            if 0 <= k < n_layers:
                pos = index[k]
                for a in nbrs[u]:
                    pa = pos[a]
                    total += sum(1 for b in nbrs[v] if pos[b] < pa)
        return total

    def transpose() -> None:
        """Swap neighbours in a layer while that removes crossings."""
        improved = True
        while improved:
            improved = False
            for i in range(n_layers):
                row = order[i]
                for k in range(len(row) - 1):
                    u, v = row[k], row[k + 1]
                    if pair_crossings(v, u, i) < pair_crossings(u, v, i):
                        row[k], row[k + 1] = v, u
                        index[i][u], index[i][v] = k + 1, k
                        improved = True

    best = [list(layer_nodes) for layer_nodes in order]
    best_c = _crossings(order, edges_between)
    stale = 0
    for s in range(sweeps):
        if best_c == 0 or stale >= 2:  # two sweeps (down and up) without progress: done
            break
        sweep(down=s % 2 == 0)
        index = [{n: k for k, n in enumerate(row)} for row in order]
        transpose()
        c = _crossings(order, edges_between)
        if c < best_c:
            best, best_c, stale = [list(layer_nodes) for layer_nodes in order], c, 0
        else:
            stale += 1

    slot: dict[str, tuple[float, float]] = {}
    for i, nodes in enumerate(best):
        mid = (len(nodes) - 1) / 2
        for k, n in enumerate(nodes):
            slot[n] = (i * x_spacing, (k - mid) * y_spacing)
    positions = {n: slot[n] for n in g.nodes}
    bends = {edge: [slot[d] for d in chain] for edge, chain in chains.items()}
    return Layout(positions, bends, layer, best_c)


def layout(cascade: Cascade, **kwargs) -> dict[str, tuple[float, float]]:
    """``{node name: (x, y)}`` centres; see :func:`compute_layout` for options."""
    return compute_layout(cascade, **kwargs).positions
