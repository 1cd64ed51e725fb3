"""The provenance tree of a product (back to the raw files) and its W3C PROV-JSON form — the
only implementation: the CLI (`reflexng provenance`) and the GUI's provenance view both use it
(one namespace, one entity-id scheme, end-product copies found by content)."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path
from typing import Any

from reflexng.provenance.decisions import recorded_decisions
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
        "attempt_id": att.id, "decisions": recorded_decisions(store, att.job_id),
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
                attempt_activity(doc, seen, j)
                add_decisions(doc, seen, j.get("decisions") or [], {aid: j["started"]})
                for sub in n.get("inputs", []):
                    doc.used(aid, walk(sub), other_attributes={"rng:role": sub.get("role", ""),
                                                               "rng:category": sub.get("category") or ""})
            doc.wasGeneratedBy(eid, aid)
        return eid

    walk(node)
    return doc


def attempt_id(job_id: str, attempt: Any) -> str:
    """The PROV id of one attempt of a job (the same in every document)."""
    return f"rng:attempt/{job_id}/{attempt}"


def attempt_activity(doc, seen: set[str], j: dict[str, Any]) -> str:
    """Declare an attempt (``j``: job_id, attempt, task, recipe, version, parameters, status,
    started, finished) as an activity associated with its recipe; its id."""
    aid = attempt_id(j["job_id"], j["attempt"])
    seen.add(aid)
    attrs = {"rng:job": j["job_id"], "rng:task": j["task"], "rng:recipe": j["recipe"], "rng:version": j["version"],
             "rng:attempt": int(j["attempt"] or 0), "rng:status": j.get("status") or ""}
    if j.get("exit_reason"):
        attrs["rng:exit_reason"] = j["exit_reason"]
    attrs.update({f"rng:param_{k}": str(v) for k, v in (j.get("parameters") or {}).items()})
    doc.activity(aid, _time(j.get("started")), _time(j.get("finished")), attrs)
    agent = f"rng:recipe/{j['recipe']}/{j['version']}"
    if agent not in seen:
        seen.add(agent)
        doc.agent(agent, {"prov:type": "prov:SoftwareAgent", "rng:recipe": j["recipe"]})
    doc.wasAssociatedWith(aid, agent)
    return aid


USER = "rng:user"


def add_decisions(doc, seen: set[str], decisions: list[dict[str, Any]], attempts: dict[str, float | None]) -> None:
    """The user's decisions (reflexng.provenance.decisions) as activities of the user: "keep
    this attempt" and "save as parameter set" were informed by the attempt they promote (a
    saved set is an entity the decision generated); an association override informs the
    attempts of its job that started after it (``attempts``: activity id -> start time)."""
    for d in decisions:
        did = f"rng:decision/{d['id']}"
        if did in seen:
            continue
        seen.add(did)
        if USER not in seen:
            seen.add(USER)
            doc.agent(USER, {"prov:type": "prov:Person", "rng:role": "the astronomer at the controls"})
        details = d.get("details") or {}
        attrs: dict[str, Any] = {"prov:type": f"rng:{d['kind']}", "rng:kind": d["kind"], "rng:job": d["job_id"]}
        attrs.update({f"rng:{k}": v if isinstance(v, (str, int, float)) and not isinstance(v, bool) else json.dumps(v)
                      for k, v in details.items() if v is not None})
        when = _time(d.get("time"))
        doc.activity(did, when, when, attrs)
        doc.wasAssociatedWith(did, USER)
        if d["kind"] in ("keep_attempt", "save_parameter_set") and details.get("attempt") is not None:
            promoted = attempt_id(d["job_id"], details["attempt"])
            if promoted not in seen:
                seen.add(promoted)
                doc.activity(promoted, other_attributes={"rng:job": d["job_id"], "rng:attempt": int(details["attempt"])})
            doc.wasInformedBy(did, promoted)
        if d["kind"] == "save_parameter_set" and details.get("name"):
            pid = f"rng:parameter_set/{details['name']}"
            if pid not in seen:
                seen.add(pid)
                doc.entity(pid, {"prov:type": "rng:ParameterSet", "rng:file": str(details.get("file", "")),
                                 "rng:values": json.dumps(details.get("values", {}), sort_keys=True, default=str)})
            doc.wasGeneratedBy(pid, did)
        if d["kind"].startswith("association_override"):
            for aid, started in attempts.items():
                if started is not None and d.get("time") is not None and started >= d["time"]:
                    doc.wasInformedBy(aid, did)


def run_document(store: ProvenanceStore, run_id: int | None = None):
    """A ``ProvDocument`` of one run (default: the latest): every attempt it started, whatever
    its end (done, failed, cancelled: ``rng:status``), with the files it used and generated,
    the reuse of earlier attempts, and the user's decisions about its jobs."""
    from prov.model import ProvDocument

    if run_id is None:
        rows = store.query("SELECT max(id) FROM runs")
        run_id = rows[0][0] if rows else None
    doc = ProvDocument()
    doc.add_namespace("rng", "urn:reflexng:")
    doc.add_namespace("file", "urn:reflexng:file:")
    if run_id is None:
        return doc
    seen: set[str] = set()
    run = f"rng:run/{run_id}"
    r = store.query("SELECT * FROM runs WHERE id=?", (run_id,))
    if r:
        doc.activity(run, _time(r[0]["started"]), _time(r[0]["finished"]),
                     {"prov:type": "rng:Run", "rng:cascade": r[0]["cascade"] or "", "rng:target": r[0]["target"] or "",
                      "rng:status": r[0]["status"] or ""})
    started: dict[str, float | None] = {}
    job_ids: list[str] = []

    def entity(path: str, category: str, h: str, kind: str) -> str:
        eid = "file:" + (h or Path(path).name)
        if eid not in seen:
            seen.add(eid)
            doc.entity(eid, {"rng:path": path, "rng:category": category or "", "rng:kind": kind})
        return eid

    for a in store.run_attempts(run_id):
        job_ids.append(a.job_id)
        j = {"job_id": a.job_id, "task": a.task, "recipe": a.recipe, "version": a.version, "attempt": a.attempt,
             "parameters": a.parameters, "status": a.status, "started": a.started, "finished": a.finished,
             "exit_reason": a.exit_reason}
        if a.status == "reused":
            rid = f"rng:reuse/{a.id}"
            doc.activity(rid, _time(a.started), _time(a.finished),
                         {"prov:type": "rng:Reuse", "rng:job": a.job_id, "rng:status": "reused",
                          "rng:attempt": int(a.attempt or 0)})
            doc.wasInformedBy(rid, attempt_id(a.job_id, a.attempt))
            if attempt_id(a.job_id, a.attempt) not in seen:
                seen.add(attempt_id(a.job_id, a.attempt))
                doc.activity(attempt_id(a.job_id, a.attempt),
                             other_attributes={"rng:job": a.job_id, "rng:attempt": int(a.attempt or 0)})
            doc.wasInformedBy(rid, run)
            continue
        aid = attempt_activity(doc, seen, j)
        started[aid] = a.started
        doc.wasInformedBy(aid, run)
        for i in a.inputs or []:
            doc.used(aid, entity(i["path"], i["category"], i["hash"], "input"),
                     other_attributes={"rng:role": i["role"] or "", "rng:category": i["category"] or ""})
        for o in a.outputs or []:
            doc.wasGeneratedBy(entity(o["path"], o["category"], o["hash"], "product"), aid)
    add_decisions(doc, seen, recorded_decisions(store, sorted(set(job_ids))), started)
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


def write_run_prov_json(store: ProvenanceStore, path: str | os.PathLike, run_id: int | None = None) -> None:
    """Write one run's PROV document (:func:`run_document`) as PROV-JSON."""
    with open(path, "w", encoding="utf-8") as fh:
        run_document(store, run_id).serialize(fh, format="json")


def replay_command(jobdir: str | os.PathLike) -> str:
    """The shell command that re-runs an attempt by hand (its folder's ``replay.sh``)."""
    folder = Path(jobdir)
    script = folder / "replay.sh"
    if script.is_file():
        return f"sh {shlex.quote(str(script))}"
    return f"python -m reflexng.engine.replay {shlex.quote(str(folder))}"
