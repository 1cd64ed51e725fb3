"""Association overrides (Qt-free): the user swaps a chosen calibration for another candidate
(one the association rule rejected, listed with why) or excludes one. Overrides are kept in
the work directory (``association_overrides.json``), applied to every organise result of that
work directory (so re-runs use them), shown as overrides and recorded in the provenance
database (table ``decisions``).

    from reflexng.organiser.overrides import add_override, apply_overrides, load_overrides
    add_override(workdir, Override("flat-3", "flat", "use", path="/raw/FLAT_2.fits"))
    result = apply_overrides(result, load_overrides(workdir))
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

FILE = "association_overrides.json"
ACTIONS = ("use", "exclude")


class OverrideError(ValueError):
    """An override that does not fit the organise result (unknown job, input or candidate)."""


@dataclass(frozen=True)
class Override:
    """``use``: the candidate (``path`` or ``job``) replaces the chosen ones of ``input``;
    ``exclude``: the candidate is removed from the chosen ones."""

    job_id: str
    input: str
    action: str
    path: str | None = None
    job: str | None = None
    dataset: str = ""

    def key(self) -> tuple[str, str, str, str | None, str | None]:
        return (self.job_id, self.input, self.action, self.path, self.job)

    def words(self) -> str:
        what = os.path.basename(self.path) if self.path else f"products of {self.job}"
        verb = "uses" if self.action == "use" else "excludes"
        return f"{self.job_id} {verb} {what} for {self.input} (override)"


def load_overrides(workdir: str | os.PathLike | None) -> list[Override]:
    if workdir is None:
        return []
    f = Path(workdir) / FILE
    try:
        data = json.loads(f.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise OverrideError(f"{f}: cannot read the association overrides ({exc}); fix or delete the file") from exc
    out = []
    for i, d in enumerate(data if isinstance(data, list) else []):
        try:
            o = Override(**{k: d[k] for k in ("job_id", "input", "action") if k in d},
                         path=d.get("path"), job=d.get("job"), dataset=d.get("dataset", ""))
        except TypeError as exc:
            raise OverrideError(f"{f}: entry {i + 1} is not an override ({exc})") from exc
        if o.action not in ACTIONS:
            raise OverrideError(f"{f}: entry {i + 1}: action {o.action!r} is not one of {', '.join(ACTIONS)}")
        out.append(o)
    return out


def save_overrides(workdir: str | os.PathLike, overrides: list[Override]) -> None:
    f = Path(workdir) / FILE
    f.parent.mkdir(parents=True, exist_ok=True)
    tmp = f.with_suffix(".tmp")
    tmp.write_text(json.dumps([asdict(o) for o in overrides], indent=2), encoding="utf-8")
    os.replace(tmp, f)


def add_override(workdir: str | os.PathLike, override: Override, store: Any = None) -> list[Override]:
    """Remember ``override`` (a newer one for the same job and input replaces a ``use``);
    record it in the provenance store when one is given."""
    if override.action not in ACTIONS:
        raise OverrideError(f"action {override.action!r} is not one of {', '.join(ACTIONS)}")
    if not (override.path or override.job):
        raise OverrideError("an override names a candidate: a file path or an upstream job")
    kept = [o for o in load_overrides(workdir)
            if not (o.job_id == override.job_id and o.input == override.input
                    and (o.action == override.action == "use" or o.key() == override.key()))]
    kept.append(override)
    save_overrides(workdir, kept)
    if store is not None:
        from reflexng.provenance.decisions import record_decision

        record_decision(store, "association_override", override.job_id, details=asdict(override))
    return kept


def remove_override(workdir: str | os.PathLike, override: Override, store: Any = None) -> list[Override]:
    kept = [o for o in load_overrides(workdir) if o.key() != override.key()]
    save_overrides(workdir, kept)
    if store is not None:
        from reflexng.provenance.decisions import record_decision

        record_decision(store, "association_override_removed", override.job_id, details=asdict(override))
    return kept


def alternatives(result: Any, job_id: str, input_name: str) -> list[Any]:
    """The candidates a user may swap in for ``input_name`` of a job: the ones the rule
    rejected (each with its reason) — files, and upstream jobs that are part of this result."""
    job = result.jobs.get(job_id)
    if job is None or input_name not in job.associated:
        return []
    return [c for c in job.associated[input_name].rejected if c.path or c.job_id in result.jobs]


def _same(c: Any, o: Override) -> bool:
    return bool((o.path and c.path and os.path.abspath(c.path) == os.path.abspath(o.path)) or (o.job and c.job_id == o.job))


def apply_overrides(result: Any, overrides: list[Override], strict: bool = False) -> Any:
    """The organise result with the overrides applied (a new result; the given one is left
    alone). Each overridden association gets a ``note`` saying so; an override that no longer
    fits (the data changed) is skipped, or raises :class:`OverrideError` with ``strict``."""
    if not overrides:
        return result
    jobs = dict(result.jobs)
    applied: list[Override] = []
    for o in overrides:
        job = jobs.get(o.job_id)
        assoc = job.associated.get(o.input) if job is not None else None
        if assoc is None:
            if strict:
                raise OverrideError(f"override for {o.job_id}/{o.input}: no such job or associated input")
            continue
        chosen = list(assoc.chosen)
        rejected = list(assoc.rejected)
        if o.action == "use":
            cand = next((c for c in [*rejected, *chosen] if _same(c, o)), None)
            if cand is not None and cand.job_id and cand.job_id not in jobs:
                cand = None  # an upstream job outside this organise (another target's): cannot run it here
            if cand is None:
                if strict:
                    raise OverrideError(f"override for {o.job_id}/{o.input}: {o.path or o.job} is not a candidate")
                continue
            rejected = [c for c in rejected if not _same(c, o)] + [
                c._replace(reason="replaced by the user's override") for c in chosen if not _same(c, o)]
            chosen = [cand._replace(reason="chosen by the user's override")]
        else:
            if not any(_same(c, o) for c in chosen):
                if strict:
                    raise OverrideError(f"override for {o.job_id}/{o.input}: {o.path or o.job} is not chosen")
                continue
            rejected = [*rejected, *[c._replace(reason="excluded by the user's override") for c in chosen if _same(c, o)]]
            chosen = [c for c in chosen if not _same(c, o)]
        complete = bool(chosen) or assoc.optional
        note = "; ".join(filter(None, [assoc.note, o.words()]))
        new_assoc = assoc._replace(chosen=tuple(chosen), rejected=tuple(rejected), complete=complete,
                            missing="" if complete else "every candidate was excluded by the user", note=note)
        associated = dict(job.associated)
        associated[o.input] = new_assoc
        depends = [d for d in job.depends_on]
        for c in chosen:
            if c.job_id and c.job_id not in depends:
                depends.append(c.job_id)
        keep_jobs = {c.job_id for a in associated.values() for c in a.chosen if c.job_id} | set(job.main_jobs)
        depends = [d for d in depends if d in keep_jobs]
        missing = tuple(m for m in job.missing if not m.startswith(f"{o.input}:"))
        if not complete:
            missing = (*missing, f"{o.input}: every candidate was excluded by the user")
        job_complete = not missing and (job.complete or bool(job.missing))
        jobs[o.job_id] = job._replace(associated=associated, depends_on=tuple(depends),
                                 complete=job_complete, missing=missing)
        applied.append(o)
    datasets = []
    for ds in result.datasets:
        ok = all(jobs[j].complete for j in ds.jobs if j in jobs)
        datasets.append(replace(ds, complete=ok) if ok != ds.complete else ds)
    new = replace(result, jobs=jobs, datasets=datasets, job_graph=None)
    new.overrides = applied  # what the dataset tree marks as overrides
    return new
