"""Hand-made organiser output for engine tests (the organiser has its own tests)."""

from __future__ import annotations

import os
from pathlib import Path

import networkx as nx

from reflexng.engine.jobdir import safe_name
from reflexng.organiser.model import (
    Association,
    Candidate,
    Dataset,
    FileRecord,
    Job,
    OrganiseResult,
)
from reflexng.recipes.builtin.testing import write_header_fits

CASCADE = str(Path(__file__).with_name("data") / "tiny_cascade.py")


def raw_file(folder: Path, name: str, obj: str = "NGC1", **cards) -> FileRecord:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    write_header_fits(p, {"OBJECT": obj, "DPR.TYPE": "SCI", **cards})
    st = os.stat(p)
    return FileRecord(str(p), st.st_size, st.st_mtime_ns, "ok", "SCI", "RAW_SCI", headers={"OBJECT": obj})


def diamond(folder: Path, objects=("NGC1",), recipe: str = "test_noop", params: dict | None = None,
            final_recipe: str | None = None, final_params: dict | None = None) -> OrganiseResult:
    """prep -> (left, right) -> final per object; ``recipe`` for every task unless overridden."""
    files, jobs, datasets = [], {}, []
    params = params or {}
    for obj in objects:
        f = raw_file(folder, f"raw_{safe_name(obj)}.fits", obj)
        files.append(f)
        p, lft, r, fin = (f"{t}-{obj}" for t in ("prep", "left", "right", "final"))
        jobs[p] = Job(p, "prep", recipe, main=(f.path,), parameters={"category": "PREP", **params})
        jobs[lft] = Job(lft, "left", recipe, main_jobs=(p,), depends_on=(p,), parameters={"category": "LEFT", **params})
        jobs[r] = Job(r, "right", recipe, main_jobs=(p,), depends_on=(p,), parameters={"category": "RIGHT", **params})
        assoc = {"right": Association("right", "task", chosen=(Candidate(job_id=r),))}
        jobs[fin] = Job(fin, "final", final_recipe or recipe, main_jobs=(lft,), associated=assoc, depends_on=(lft, r),
                        parameters={"category": "FINAL", **params, **(final_params or {})})
        datasets.append(Dataset(f"ds-{obj}", obj, "final", fin, (p, lft, r, fin), True))
    g = nx.DiGraph()
    g.add_nodes_from(jobs)
    g.add_edges_from((d, j) for j, job in jobs.items() for d in job.depends_on)
    return OrganiseResult("tiny", "final", files, jobs, datasets, g)


def single(folder: Path, recipe: str, params: dict | None = None, task: str = "prep") -> OrganiseResult:
    """One job of one recipe on one raw file."""
    f = raw_file(folder, "raw_one.fits", "ONE")
    job = Job("job-1", task, recipe, main=(f.path,), parameters=dict(params or {}))
    ds = Dataset("ds-1", "ONE", task, "job-1", ("job-1",), True)
    g = nx.DiGraph()
    g.add_node("job-1")
    return OrganiseResult("tiny", task, [f], {"job-1": job}, [ds], g)
