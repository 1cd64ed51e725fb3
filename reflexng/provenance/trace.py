"""The provenance tree of a product (back to the raw files) and its W3C PROV-JSON form — the
only implementation: the CLI (`reflexng provenance`) and the GUI's provenance view both use it
(one namespace, one entity-id scheme, end-product copies found by content)."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any

from reflexng.provenance.store import DB_NAME, ProvenanceStore, file_hash


def find_workdir(product: str | os.PathLike) -> Path | None:
    """The work directory holding a product: the nearest parent with ``reflexng.sqlite``."""
    p = Path(product).resolve()
    for parent in p.parents:
        if (parent / DB_NAME).is_file():
            return parent
    return None


def _attempt_for(store: ProvenanceStore, path: str):
    att = store.producer_of(path)
    if att is not None:
        return att, path
    # an end-product copy (or a moved file): find the product with the same content
    try:
        h = file_hash(path)
    except OSError:
        return None, path
    rows = store.query("SELECT o.path FROM job_outputs o JOIN jobs j ON j.id=o.attempt_id "
                       "WHERE o.hash=? AND j.status='done' ORDER BY j.id DESC LIMIT 1", (h,))
    if rows:
        return store.producer_of(rows[0][0]), rows[0][0]
    return None, path


def tree(store: ProvenanceStore, product: str | os.PathLike, category: str = "", _depth: int = 0) -> dict[str, Any]:
    """``{path, category, kind: product|raw, job: {...}, inputs: [subtrees]}``."""
    path = os.path.abspath(product)
    att, recorded = _attempt_for(store, path)
    node: dict[str, Any] = {"path": path, "category": category, "kind": "raw" if att is None else "product"}
    if att is None or _depth > 50:
        return node
    if recorded != path:
        node["copy_of"] = recorded
    out = next((o for o in att.outputs or [] if o["path"] == recorded), None)
    if out is not None:
        node["category"] = out["category"]
        node["qc"] = out.get("qc", {})
    replay = Path(att.jobdir) / "replay.sh"
    node["job"] = {
        "job_id": att.job_id, "task": att.task, "recipe": att.recipe, "version": att.version,
        "parameters": att.parameters, "attempt": att.attempt, "status": att.status, "started": att.started,
        "finished": att.finished, "host": att.host, "reflexng_version": att.reflexng_version,
        "jobdir": att.jobdir, "replay": str(replay) if replay.exists() else None, "dataset": att.dataset,
        "attempt_id": att.id,
    }
    node["inputs"] = []
    for i in att.inputs or []:
        sub = tree(store, i["path"], i["category"], _depth + 1)
        sub["role"] = i["role"]
        sub["hash"] = i["hash"]
        node["inputs"].append(sub)
    return node


def render(node: dict[str, Any], indent: str = "") -> list[str]:
    """The tree as text lines."""
    name = os.path.basename(node["path"])
    lines = []
    if node["kind"] == "raw":
        lines.append(f"{indent}{name} [{node.get('category') or '?'}] raw file ({node['path']})")
        return lines
    j = node["job"]
    lines.append(f"{indent}{name} [{node.get('category')}] ({node['path']})")
    lines.append(f"{indent}  made by job {j['job_id']}: task {j['task']}, recipe {j['recipe']} {j['version']}, "
                 f"attempt {j['attempt']}")
    if j["parameters"]:
        lines.append(f"{indent}  parameters: " + ", ".join(f"{k}={v}" for k, v in sorted(j["parameters"].items())))
    if j.get("replay"):
        lines.append(f"{indent}  replay: {j['replay']}")
    for sub in node.get("inputs", []):
        lines.append(f"{indent}  <- {sub.get('role', 'input')} input:")
        lines += render(sub, indent + "     ")
    return lines


def prov_document(node: dict[str, Any]):
    """A ``prov.model.ProvDocument`` for the tree (entities, activities, recipes as agents)."""
    from prov.model import ProvDocument

    doc = ProvDocument()
    doc.add_namespace("rng", "urn:reflexng:")
    doc.add_namespace("file", "urn:reflexng:file:")
    seen: set[str] = set()

    def ent_id(n: dict[str, Any]) -> str:
        return "file:" + (n.get("hash") or file_hash_safe(n["path"]) or Path(n["path"]).name)

    def walk(n: dict[str, Any]) -> str:
        eid = ent_id(n)
        if eid not in seen:
            seen.add(eid)
            doc.entity(eid, {"rng:path": n["path"], "rng:category": n.get("category") or "", "rng:kind": n["kind"]})
        j = n.get("job")
        if j:
            aid = f"rng:attempt/{j['job_id']}/{j['attempt']}"
            if aid not in seen:
                seen.add(aid)
                attrs = {"rng:task": j["task"], "rng:recipe": j["recipe"], "rng:version": j["version"]}
                attrs.update({f"rng:param_{k}": str(v) for k, v in j["parameters"].items()})
                doc.activity(aid, _time(j["started"]), _time(j["finished"]), attrs)
                agent = f"rng:recipe/{j['recipe']}/{j['version']}"
                if agent not in seen:
                    seen.add(agent)
                    doc.agent(agent, {"prov:type": "prov:SoftwareAgent", "rng:recipe": j["recipe"]})
                doc.wasAssociatedWith(aid, agent)
                for sub in n.get("inputs", []):
                    doc.used(aid, walk(sub), other_attributes={"rng:role": sub.get("role", ""),
                                                               "rng:category": sub.get("category") or ""})
            doc.wasGeneratedBy(eid, aid)
        return eid

    walk(node)
    return doc


def file_hash_safe(path: str) -> str:
    try:
        return file_hash(path)
    except OSError:
        return ""


def _time(t: float | None):
    if t is None:
        return None
    import datetime

    return datetime.datetime.fromtimestamp(t, tz=datetime.timezone.utc)


def write_prov_json(node: dict[str, Any], path: str | os.PathLike) -> None:
    """Write the tree's PROV document as PROV-JSON."""
    with open(path, "w", encoding="utf-8") as fh:
        prov_document(node).serialize(fh, format="json")


def replay_command(jobdir: str | os.PathLike) -> str:
    """The shell command that re-runs an attempt by hand (its folder's ``replay.sh``)."""
    folder = Path(jobdir)
    script = folder / "replay.sh"
    if script.is_file():
        return f"sh {shlex.quote(str(script))}"
    return f"python -m reflexng.engine.replay {shlex.quote(str(folder))}"
