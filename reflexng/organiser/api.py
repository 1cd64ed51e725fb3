"""The organiser's entry points: :func:`organise` (scan + organise) and
:func:`organise_scanned` (already-scanned records; used by benchmarks and the spec tester)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from reflexng.cascade.parameters import workflow_values
from reflexng.organiser._gcpause import paused
from reflexng.organiser.classify import classify, needed_keywords
from reflexng.organiser.model import OrganiseResult
from reflexng.organiser.planning import (  # noqa: F401  (re-exported: the package's names)
    OrganiseCancelled,
    _content_hash,
    _parameter_set,
    _plan,
    job_graph,
    resolve_targets,
)


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
    # and a large result is frozen out of its passes when it resumes (organiser._gcpause)
    with paused() as made:
        result = _organise_scanned(
            cascade, scanned, target, workflow_parameters=workflow_parameters,
            parameter_set=parameter_set, recipe_parameters=recipe_parameters,
            excluded_files=excluded_files, prefer=prefer, content_hash=content_hash,
            build_graph=build_graph)
        made.append(result)
        return result


def _organise_scanned(cascade, scanned, target, *, workflow_parameters, parameter_set,
                      recipe_parameters, excluded_files, prefer, content_hash, build_graph):
    if content_hash is None:
        content_hash = _content_hash()
    files = classify(scanned, cascade, excluded=excluded_files, content_hash=content_hash)
    return _plan(cascade, files, target, workflow_parameters=workflow_parameters,
                 parameter_set=parameter_set, recipe_parameters=recipe_parameters, prefer=prefer,
                 build_graph=build_graph)


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
    store_later: bool = False,
) -> OrganiseResult:
    """Scan ``data_dirs`` and organise the files for ``target`` (default: the cascade's).

    The scan cache lives in ``<workdir>/reflexng.sqlite`` when ``workdir`` is given; so do
    stored results (``reflexng.organiser.store``): an unchanged request on unchanged files
    returns the stored result, and when some files changed only those are read and
    classified again (``reflexng.organiser.incremental``).
    ``build_graph=False`` leaves ``job_graph`` None (saves importing networkx).
    ``store_later=True`` (the command line) leaves storing a first result (a new base) to
    ``reflexng.organiser.incremental.store_now(result)`` (or ``attach_output``), called once
    the result is written out: its records are packed by a forked child meanwhile.
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
            workers=workers, build_graph=build_graph, store_later=store_later)
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
