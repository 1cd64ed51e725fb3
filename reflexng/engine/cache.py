"""Smart re-runs: the cache key of a job and the words for why it runs.

Cache key = recipe name + recipe version + effective parameters + (role, category, content
hash) of every input. A job is reused when an earlier successful attempt with the same key
still has every product present and unmodified; otherwise it runs, and :func:`explain` says why.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from reflexng.provenance.store import Attempt, ProvenanceStore


def cache_key(recipe: str, version: str, parameters: Mapping[str, Any], inputs: Sequence[Mapping[str, Any]]) -> str:
    body = {
        "recipe": recipe,
        "version": str(version),
        "parameters": {k: parameters[k] for k in sorted(parameters)},
        "inputs": sorted([str(i["role"]), str(i["category"]), str(i["hash"])] for i in inputs),
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def find_reusable(store: ProvenanceStore, key: str) -> tuple[Attempt | None, str]:
    """The newest successful attempt with this key whose products are intact, else (None, why not)."""
    why_not = ""
    for att in store.successful_attempts(key):
        problems = [p for p in (store.product_unchanged(o) for o in att.outputs or []) if p]
        if not problems:
            return att, ""
        why_not = why_not or problems[0]
    return None, why_not


def _fmt(v: Any) -> str:
    if isinstance(v, str):
        return v if v and " " not in v else repr(v)
    return json.dumps(v) if isinstance(v, bool) or v is None else str(v)


def _input_key(i: Mapping[str, Any]) -> tuple[str, str, str]:
    return (str(i["role"]), str(i["category"]), os.path.basename(str(i["path"])))


def differences(previous: Attempt, recipe: str, version: str, parameters: Mapping[str, Any],
                inputs: Sequence[Mapping[str, Any]]) -> list[str]:
    """What changed since ``previous``, in words ("parameter sigma 3 -> 4", "input b.fits changed")."""
    out: list[str] = []
    if previous.recipe != recipe:
        out.append(f"recipe {previous.recipe} -> {recipe}")
    elif str(previous.version) != str(version):
        out.append(f"recipe version {previous.version} -> {version}")
    old_p = previous.parameters
    for name in sorted(set(old_p) | set(parameters)):
        if name not in old_p:
            out.append(f"parameter {name} added ({_fmt(parameters[name])})")
        elif name not in parameters:
            out.append(f"parameter {name} removed")
        elif old_p[name] != parameters[name] and _fmt(old_p[name]) != _fmt(parameters[name]):
            out.append(f"parameter {name} {_fmt(old_p[name])} -> {_fmt(parameters[name])}")
    old_i = {_input_key(i): i for i in previous.inputs or []}
    new_i = {_input_key(i): i for i in inputs}
    for k in new_i:
        if k not in old_i:
            out.append(f"input {k[2]} added")
        elif old_i[k]["hash"] != new_i[k]["hash"]:
            out.append(f"input {k[2]} changed")
    for k in old_i:
        if k not in new_i:
            out.append(f"input {k[2]} removed")
    return out


def explain(store: ProvenanceStore, job_id: str, key: str, recipe: str, version: str,
            parameters: Mapping[str, Any], inputs: Sequence[Mapping[str, Any]]) -> str:
    """Why a job with this key will run (or "unchanged (reused)")."""
    att, why_not = find_reusable(store, key)
    if att is not None:
        return "unchanged (reused)"
    if why_not:
        return why_not
    previous = store.last_attempt(job_id, "done")
    if previous is None:
        last = store.last_attempt(job_id)
        if last is not None and last.status in ("failed", "interrupted", "cancelled"):
            word = {"failed": "failed", "interrupted": "was interrupted", "cancelled": "was cancelled"}[last.status]
            return f"last attempt {word}" + (f": {last.exit_reason}" if last.exit_reason and last.status == "failed" else "")
        return "never ran"
    diffs = differences(previous, recipe, version, parameters, inputs)
    return "; ".join(diffs) if diffs else "products of the last attempt are no longer valid"


def forced_reason(store: ProvenanceStore, job_id: str, label: str, recipe: str, version: str,
                  parameters: Mapping[str, Any], inputs: Sequence[Mapping[str, Any]] | None) -> str:
    """"forced (<label>)", plus what changed since the last successful attempt, if anything."""
    why = f"forced ({label})"
    previous = store.last_attempt(job_id, "done")
    if previous is not None and inputs is not None:
        diffs = differences(previous, recipe, version, parameters, inputs)
        if diffs:
            why += ": " + "; ".join(diffs)
    return why
