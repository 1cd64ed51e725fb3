"""The user's decisions, recorded in the work directory's provenance database (Qt-free):
an attempt kept as the job's result, tuned values saved as a parameter set, an association
override. Table ``decisions`` (created on first use): when, what kind, which job and
attempt, and the details as JSON."""

from __future__ import annotations

import json
import time
from typing import Any

SCHEMA = ("CREATE TABLE IF NOT EXISTS decisions(id INTEGER PRIMARY KEY, time REAL, kind TEXT, job_id TEXT, "
          "attempt_id INTEGER, details TEXT)")


def record_decision(store: Any, kind: str, job_id: str, attempt_id: int | None = None,
                    details: dict[str, Any] | None = None) -> int:
    with store.transaction() as db:
        db.execute(SCHEMA)
        cur = db.execute("INSERT INTO decisions(time, kind, job_id, attempt_id, details) VALUES (?,?,?,?,?)",
                         (time.time(), kind, job_id, attempt_id, json.dumps(details or {}, sort_keys=True, default=str)))
        return int(cur.lastrowid)


def decisions(store: Any, job_id: str | None = None) -> list[dict[str, Any]]:
    """Every recorded decision (oldest first), optionally of one job."""
    with store.transaction() as db:
        db.execute(SCHEMA)
    return recorded_decisions(store, job_id)


def recorded_decisions(store: Any, job_ids: Any = None) -> list[dict[str, Any]]:
    """Like :func:`decisions` but read-only (a work directory opened for reading, e.g. by
    ``reflexng provenance``): [] when no decision was ever recorded. ``job_ids``: one id or
    an iterable of ids (None: every job)."""
    if not store.query("SELECT 1 FROM sqlite_master WHERE type='table' AND name='decisions'"):
        return []
    sql, args = "SELECT * FROM decisions", ()
    if isinstance(job_ids, str):
        job_ids = (job_ids,)
    if job_ids is not None:
        ids = tuple(job_ids)
        if not ids:
            return []
        sql, args = sql + f" WHERE job_id IN ({','.join('?' * len(ids))})", ids
    out = []
    for r in store.query(sql + " ORDER BY id", args):
        d = dict(r)
        d["details"] = json.loads(d["details"] or "{}")
        out.append(d)
    return out
