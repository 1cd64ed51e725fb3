"""Provenance for the GUI, read from the work directory's store (Qt-free): runs, attempts,
the tree from an end product back to raw files, replay commands, PROV-JSON."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class ProvNode:
    """A file; ``attempt`` is the attempt that produced it (None for a raw file)."""

    path: str
    category: str = ""
    attempt: Any = None
    inputs: list[ProvNode] = field(default_factory=list)

    @property
    def raw(self) -> bool:
        return self.attempt is None


def product_tree(store: Any, path: str, _seen: set[str] | None = None, depth: int = 0) -> ProvNode:
    """The tree from ``path`` back to the raw files, following ``store.producer_of``."""
    seen = set() if _seen is None else _seen
    producer = store.producer_of(path)
    category = ""
    if producer is not None:
        for o in producer.outputs or ():
            if os.path.abspath(o["path"]) == os.path.abspath(path):
                category = o.get("category") or ""
    node = ProvNode(path, category, producer)
    if producer is None or path in seen or depth > 50:
        return node
    seen.add(path)
    for i in producer.inputs or ():
        child = product_tree(store, i["path"], seen, depth + 1)
        if not child.category:
            child.category = i.get("category") or ""
        node.inputs.append(child)
    return node


def replay_command(attempt: Any) -> str:
    """The shell command that re-runs an attempt by hand (from its folder's ``replay.sh``)."""
    folder = Path(attempt.jobdir)
    script = folder / "replay.sh"
    if script.is_file():
        return f"sh {shlex.quote(str(script))}"
    return f"python -m reflexng.engine.replay {shlex.quote(str(folder))}"


def prov_document(root: ProvNode) -> Any:
    """A W3C PROV document (``prov`` package) for the tree under ``root``."""
    from prov.model import ProvDocument

    doc = ProvDocument()
    doc.add_namespace("rx", "https://reflexng.example/ns#")
    doc.add_namespace("file", "file://")
    done: dict[str, Any] = {}

    def ent(node: ProvNode):
        key = f"file:{node.path}"
        if key not in done:
            attrs = {"rx:category": node.category or "raw", "prov:label": os.path.basename(node.path)}
            done[key] = doc.entity(key, attrs)
        return done[key]

    activities: dict[int, Any] = {}

    def walk(node: ProvNode) -> None:
        e = ent(node)
        a = node.attempt
        if a is None:
            return
        act = activities.get(a.id)
        if act is None:
            attrs = {
                "rx:task": a.task,
                "rx:recipe": a.recipe,
                "rx:recipe_version": a.version,
                "rx:attempt": a.attempt,
                "rx:parameters": repr(sorted(a.parameters.items())),
                "rx:jobdir": a.jobdir,
            }
            act = doc.activity(f"rx:job/{a.job_id}/{a.attempt}", other_attributes=attrs)
            activities[a.id] = act
            for child in node.inputs:
                walk(child)
                doc.used(act, ent(child))
        doc.wasGeneratedBy(e, act)

    walk(root)
    return doc


def export_prov_json(root: ProvNode, path: str | os.PathLike) -> None:
    doc = prov_document(root)
    Path(path).write_text(doc.serialize(indent=2), encoding="utf-8")
