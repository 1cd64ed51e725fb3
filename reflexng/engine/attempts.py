"""Promote an attempt (Qt-free; the GUI's Compare pane and the command line use it):

* keep this one — attempt N becomes the job's result for downstream jobs: the job's
  parameters are set back to attempt N's, and the smart re-run reuses attempt N's products
  (nothing is recomputed while its inputs are unchanged);
* save as parameter set — the tuned values of attempt N are written as a named parameter set
  into ``<cascade>.params.yaml`` beside the cascade, so the next run (``--parameter-set NAME``)
  and the window's parameter-set box use them.

Both are recorded in the provenance database (reflexng.provenance.decisions).

    python -m reflexng.engine.attempts WORKDIR JOB ATTEMPT --save-set NAME --cascade PATH
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

from reflexng.provenance.decisions import record_decision

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


class PromoteError(ValueError):
    """The attempt cannot be promoted (unknown, failed, or the parameter set cannot be written)."""


def find_attempt(store: Any, job_id: str, attempt: int) -> Any:
    rows = store.query("SELECT id FROM jobs WHERE job_id=? AND attempt=? AND status != 'reused' ORDER BY id DESC LIMIT 1",
                       (job_id, int(attempt)))
    a = store.attempt(rows[0]["id"]) if rows else None
    if a is None:
        raise PromoteError(f"job {job_id} has no attempt {attempt}")
    if a.status != "done":
        raise PromoteError(f"attempt {attempt} of {job_id} is {a.status}; only a successful attempt can be kept")
    return a


def keep_attempt(session: Any, job_id: str, attempt: int) -> dict[str, Any]:
    """Make ``attempt`` the job's result: its parameters become the job's, and the next run
    reuses its products. Returns those parameters."""
    a = find_attempt(session.store, job_id, attempt)
    params = dict(a.parameters)
    session.rerun(job_id, params, force=False)
    record_decision(session.store, "keep_attempt", job_id, a.id, {"attempt": a.attempt, "parameters": params})
    return params


def tuned_values(parameters: dict[str, Any], defaults: dict[str, Any] | None) -> dict[str, Any]:
    """The values that differ from the recipe defaults (all of them without defaults)."""
    if not defaults:
        return dict(parameters)
    return {k: v for k, v in parameters.items() if k not in defaults or defaults[k] != v}


def parameter_set_file(cascade_path: str | os.PathLike) -> Path:
    p = Path(cascade_path)
    for suffix in (".params.yaml", ".params.yml"):
        f = p.with_name(p.stem + suffix)
        if f.is_file():
            return f
    return p.with_name(p.stem + ".params.yaml")


def save_parameter_set(store: Any, cascade_path: str | os.PathLike, name: str, job_id: str, attempt: int,
                       defaults: dict[str, Any] | None = None, description: str = "") -> Path:
    """Write attempt ``attempt``'s tuned values as parameter set ``name`` (the task's recipe
    parameters) beside the cascade; returns the file. Never overwrites an existing set."""
    import yaml

    if not NAME.match(name or ""):
        raise PromoteError(f"{name!r} is not a parameter-set name: use letters, digits, '_', '-' or '.'")
    a = find_attempt(store, job_id, attempt)
    if not cascade_path:
        raise PromoteError("the cascade has no file to put a parameter set beside")
    f = parameter_set_file(cascade_path)
    existing: dict = {}
    if f.is_file():
        try:
            existing = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise PromoteError(f"{f}: cannot read the parameter sets ({exc})") from exc
    if name in existing:
        raise PromoteError(f"{f}: a parameter set {name!r} exists already; choose another name")
    values = tuned_values(a.parameters, defaults)
    body = {name: {"description": description or f"tuned on {job_id} (attempt {a.attempt})",
                   "recipe_parameters": {a.task: values}}}
    text = yaml.safe_dump(body, sort_keys=False, default_flow_style=False)
    try:
        old = f.read_text(encoding="utf-8") if f.is_file() else ""
        sep = "" if not old or old.endswith("\n") else "\n"
        tmp = f.with_name(f.name + ".tmp")
        tmp.write_text(old + sep + text, encoding="utf-8")
        os.replace(tmp, f)
    except OSError as exc:
        raise PromoteError(f"cannot write the parameter set into {f}: {exc}") from exc
    record_decision(store, "save_parameter_set", job_id, a.id,
                    {"attempt": a.attempt, "name": name, "file": str(f), "task": a.task, "values": values})
    return f


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m reflexng.engine.attempts", description=__doc__.splitlines()[0])
    ap.add_argument("workdir")
    ap.add_argument("job")
    ap.add_argument("attempt", type=int)
    ap.add_argument("--save-set", metavar="NAME", required=True, help="write the attempt's values as this parameter set")
    ap.add_argument("--cascade", required=True, help="the cascade file the parameter set goes beside")
    args = ap.parse_args(argv)
    from reflexng.provenance.store import ProvenanceStore

    try:
        with ProvenanceStore(args.workdir, lock=False) as store:
            f = save_parameter_set(store, args.cascade, args.save_set, args.job, args.attempt)
    except (PromoteError, OSError) as exc:
        print(f"reflexng: {exc}", file=sys.stderr)
        return 1
    print(f"parameter set {args.save_set} written to {f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
