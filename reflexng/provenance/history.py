"""The work directory's run history in one query: every run with its attempts and their
products (Qt-free; the GUI's provenance view is filled from it in a worker, the CLI can
print it). One SQL statement instead of one query per run and three per attempt: 100 runs
of 100 attempts are read in one pass."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

SQL = """
SELECT r.id AS run_id, r.cascade AS cascade, r.target AS target, r.status AS run_status,
       r.started AS run_started,
       j.id AS id, j.job_id AS job_id, j.task AS task, j.recipe AS recipe, j.version AS version,
       j.parameters AS parameters, j.status AS status, j.attempt AS attempt, j.jobdir AS jobdir,
       j.exit_reason AS exit_reason, j.dataset AS dataset,
       (SELECT json_group_array(json_object('path', o.path, 'category', o.category))
          FROM job_outputs o WHERE o.attempt_id = j.id) AS outputs
FROM runs r LEFT JOIN jobs j ON j.run_id = r.id
ORDER BY r.id DESC, j.id
"""


@dataclass
class AttemptRow:
    """One attempt as the history lists it (no inputs: the product trees have those)."""

    id: int
    job_id: str
    task: str
    recipe: str
    version: str
    parameters: dict[str, Any]
    status: str
    attempt: int
    jobdir: str
    exit_reason: str = ""
    dataset: str = ""
    outputs: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RunRow:
    id: int
    cascade: str
    target: str
    status: str
    started: float | None
    attempts: list[AttemptRow] = field(default_factory=list)


def run_history(store: Any) -> list[RunRow]:
    """Every run, newest first, with its attempts (oldest first) and their products."""
    runs: dict[int, RunRow] = {}
    for r in store.query(SQL):
        run = runs.get(r["run_id"])
        if run is None:
            run = runs[r["run_id"]] = RunRow(r["run_id"], r["cascade"] or "", r["target"] or "",
                                             r["run_status"] or "", r["run_started"])
        if r["id"] is None:  # a run without attempts
            continue
        outputs = [o for o in json.loads(r["outputs"] or "[]") if o.get("path")]
        run.attempts.append(AttemptRow(
            r["id"], r["job_id"], r["task"] or "", r["recipe"] or "", r["version"] or "",
            json.loads(r["parameters"] or "{}"), r["status"] or "", r["attempt"] or 0, r["jobdir"] or "",
            r["exit_reason"] or "", r["dataset"] or "", outputs,
        ))
    return list(runs.values())
