"""The organiser's entry points: :func:`organise` (scan + organise) and
:func:`organise_scanned` (already-scanned records; used by benchmarks and the spec tester)."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from reflexng.cascade.parameters import workflow_values
from reflexng.organiser.classify import classify, needed_keywords
from reflexng.organiser.model import OrganiseResult
from reflexng.organiser.plan import Planner


class OrganiseCancelled(Exception):
    """Raised when ``cancelled()`` became true during organising."""


def resolve_targets(cascade, target: str | Sequence[str] | None) -> list[str]:
    """Task names to organise for: the given task / meta target, else the cascade's default."""
    if target is None:
        dt = getattr(cascade, "default_target", None)
        if isinstance(dt, (list, tuple)) and dt:
            return list(dt)
        name = cascade.info.default_target
        if name:
            target = name
        else:
            used = {e.source for e in cascade.edges}
            sinks = [t for t in cascade.tasks if t not in used]
            return sinks
    if hasattr(cascade, "target_tasks"):
        from reflexng.cascade.errors import CascadeError

        try:
            return list(cascade.target_tasks(target))
        except CascadeError as exc:
            raise ValueError(exc.message) from exc
    names = [target] if isinstance(target, str) else list(target)
    out: list[str] = []
    for n in names:
        if n in cascade.tasks:
            out.append(n)
            continue
        meta = [t.name for t in cascade.tasks.values() if n in t.meta_targets]
        if not meta:
            raise ValueError(f"unknown target {n!r}; tasks: {', '.join(cascade.tasks)}")
        out.extend(meta)
    return out


def _parameter_set(cascade, parameter_set):
    if parameter_set is None or not isinstance(parameter_set, str):
        return parameter_set
    ps = cascade.parameter_sets.get(parameter_set)
    if ps is None:
        known = ", ".join(sorted(cascade.parameter_sets)) or "none"
        raise ValueError(f"unknown parameter set {parameter_set!r}; known: {known}")
    return ps


def organise_scanned(
    cascade,
    scanned: Sequence[Any],
    target: str | Sequence[str] | None = None,
    *,
    workflow_parameters: Mapping[str, Any] | None = None,
    parameter_set=None,
    recipe_parameters: Mapping[str, Mapping[str, Any]] | None = None,
    excluded_files: Iterable[str] = (),
    prefer: str = "raw",
    content_hash: Callable[[str], str] | None = None,
    build_graph: bool = True,
) -> OrganiseResult:
    """Classify and associate already-scanned files (``reflexng.fits.ScannedFile``-like)."""
    # organising allocates many small objects and frees none: the cyclic garbage collector
    # would walk them all again and again (a third of the time), so it pauses meanwhile
    gc_enabled = gc.isenabled()
    gc.disable()
    try:
        return _organise_scanned(
            cascade, scanned, target, workflow_parameters=workflow_parameters,
            parameter_set=parameter_set, recipe_parameters=recipe_parameters,
            excluded_files=excluded_files, prefer=prefer, content_hash=content_hash,
            build_graph=build_graph)
    finally:
        if gc_enabled:
            gc.enable()


def _organise_scanned(cascade, scanned, target, *, workflow_parameters, parameter_set,
                      recipe_parameters, excluded_files, prefer, content_hash, build_graph):
    if content_hash is None:
        content_hash = _content_hash()
    files = classify(scanned, cascade, excluded=excluded_files, content_hash=content_hash)
    return _plan(cascade, files, target, workflow_parameters=workflow_parameters,
                 parameter_set=parameter_set, recipe_parameters=recipe_parameters, prefer=prefer,
                 build_graph=build_graph)


def _plan(cascade, files, target, *, workflow_parameters, parameter_set, recipe_parameters,
          prefer, build_graph, resolved: bool = False) -> OrganiseResult:
    """Jobs and datasets from classified files (``resolved``: ``target`` lists task names)."""
    ps = _parameter_set(cascade, parameter_set)
    wp = workflow_values(cascade, ps, workflow_parameters)
    targets = list(target) if resolved else resolve_targets(cascade, target)
    for t in targets:
        if t not in cascade.tasks:
            raise ValueError(f"unknown target {t!r}")
    planner = Planner(cascade, files, wp, parameter_set=ps, recipe_parameters=recipe_parameters,
                      prefer=prefer)
    datasets = planner.datasets(targets)
    result = OrganiseResult(
        cascade_name=cascade.name, target=",".join(targets), files=files, jobs=planner.jobs,
        datasets=datasets, workflow_parameters=wp, notes=planner.notes, targets=tuple(targets),
    )
    if build_graph:
        result.job_graph = job_graph(planner.jobs)
    return result


def job_graph(jobs: Mapping[str, Any]):
    """networkx DiGraph of jobs (upstream -> downstream); node attribute ``task``."""
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(jobs)  # job order
    # then the attribute, one call per task: (node, attributes) pairs would cost networkx an
    # exception per node
    by_task: dict[str, list[str]] = {}
    for jid, j in jobs.items():
        got = by_task.get(j.task)
        if got is None:
            by_task[j.task] = [jid]
        else:
            got.append(jid)
    for task, jids in by_task.items():
        g.add_nodes_from(jids, task=task)
    g.add_edges_from([(d, jid) for jid, j in jobs.items() for d in j.depends_on])
    return g


def _content_hash() -> Callable[[str], str] | None:
    from reflexng.fits import content_hash

    return content_hash


def organise(
    cascade,
    data_dirs: str | os.PathLike | Iterable[str | os.PathLike],
    target: str | Sequence[str] | None = None,
    *,
    workflow_parameters: Mapping[str, Any] | None = None,
    parameter_set=None,
    recipe_parameters: Mapping[str, Mapping[str, Any]] | None = None,
    workdir: str | os.PathLike | None = None,
    excluded_files: Iterable[str] = (),
    prefer: str = "raw",
    progress: Callable[..., Any] | None = None,
    cancelled: Callable[[], bool] | None = None,
    workers: int = 2,
    build_graph: bool = True,
) -> OrganiseResult:
    """Scan ``data_dirs`` and organise the files for ``target`` (default: the cascade's).

    The scan cache lives in ``<workdir>/reflexng.sqlite`` when ``workdir`` is given; so do
    stored results (``reflexng.organiser.store``): an unchanged request on unchanged files
    returns the stored result, and when some files changed only those are read and
    classified again (``reflexng.organiser.incremental``).
    ``build_graph=False`` leaves ``job_graph`` None (saves importing networkx).
    Raises ValueError for unknown targets/parameters, :class:`OrganiseCancelled` when cancelled.
    """
    if isinstance(data_dirs, (str, os.PathLike)):
        data_dirs = [data_dirs]
    roots = [str(Path(d).resolve()) for d in data_dirs]
    excluded = {str(Path(p).resolve()) for p in excluded_files} | {str(p) for p in excluded_files}
    cascade_path = getattr(cascade, "path", None)
    if workdir is not None and cascade_path and os.path.isfile(cascade_path):  # validates first
        Path(workdir).mkdir(parents=True, exist_ok=True)
    if (workdir is not None and cascade_path and os.path.isfile(cascade_path)
            and _results_storable(Path(workdir))):
        from reflexng.organiser.incremental import organise_stored

        return organise_stored(
            cascade, roots, target, workflow_parameters=workflow_parameters,
            parameter_set=parameter_set, recipe_parameters=recipe_parameters, workdir=workdir,
            excluded=excluded, prefer=prefer, progress=progress, cancelled=cancelled,
            workers=workers, build_graph=build_graph)
    # validate parameters before the (long) scan
    ps = _parameter_set(cascade, parameter_set)
    workflow_values(cascade, ps, workflow_parameters)
    resolve_targets(cascade, target)
    from reflexng.fits import scan

    cache_db = None
    if workdir is not None:
        Path(workdir).mkdir(parents=True, exist_ok=True)
        cache_db = str(Path(workdir) / "reflexng.sqlite")
    try:
        scanned = scan(roots, needed_keywords(cascade), cache_db=cache_db, workers=workers,
                       progress=progress, cancelled=cancelled)
    except Exception as exc:
        if type(exc).__name__ == "ScanCancelled":
            raise OrganiseCancelled("organising was cancelled during the scan") from exc
        raise
    if cancelled is not None and cancelled():
        raise OrganiseCancelled("organising was cancelled")
    return organise_scanned(
        cascade, scanned, target, workflow_parameters=workflow_parameters, parameter_set=ps,
        recipe_parameters=recipe_parameters, excluded_files=excluded, prefer=prefer,
        build_graph=build_graph,
    )


def _results_storable(workdir: Path) -> bool:
    """Stored organise results need a writable work directory with free space; a read-only or
    full one is organised without them (its header cache is read, never written)."""
    db = workdir / "reflexng.sqlite"
    if not os.access(workdir, os.W_OK) or (db.exists() and not os.access(db, os.W_OK)):
        return False
    try:
        st = os.statvfs(workdir)
    except (OSError, AttributeError):  # no statvfs on Windows
        return True
    return st.f_bavail * st.f_frsize >= 1 << 20
