"""Is a cascade's chain complete by what its esorex recipes declare?

For every task running ``esorex:<recipe>``, each input the recipe requires (its own tag
tables, see :mod:`reflexng.recipes.esorex_catalog`) must come from the task's main input, an
associated data source, an upstream task whose recipe makes it, or a static calibration
found in a calibration folder. What is missing is said in words::

    uves_cal_wavecal needs LINE_REFER_TABLE: a static calibration not found in
    /usr/share/esopipes/datastatic/uves-6.1.8; install the pipeline's calibration kit or add
    the folder (--calib-dir or $REFLEXNG_CALIB_PATH)

Static calibration folders, searched as EDPS searches a pipeline's kit (every FITS file below
the folder, classified by its ``ESO PRO CATG``): ``--calib-dir`` options, then
``$REFLEXNG_CALIB_PATH`` (``os.pathsep`` separated), then ``calib_dirs`` in the configuration
file's ``[esorex]`` table, then the places the pipelines' calibration packages install to
(``/usr/share/esopipes/datastatic/<pipeline>-<version>``, ESO's installer
``<prefix>/calib/<pipeline>-<version>/cal``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from reflexng.cascade.errors import Problem

CALIB_ROOTS = ("/usr/share/esopipes/datastatic", "/usr/local/calib", "/opt/eso/calib",
               str(Path.home() / "install" / "calib"))


@dataclass(frozen=True)
class Finding:
    task: str
    recipe: str
    category: str
    message: str
    satisfied: bool


def calib_folders(extra: Sequence[str | Path] = (), pipeline: str = "", version: str = "") -> list[Path]:
    """The static calibration folders to search, in order (existing ones only)."""
    from reflexng.recipes.registry import load_config

    cands: list[Path] = [Path(p) for p in extra]
    cands += [Path(p) for p in os.environ.get("REFLEXNG_CALIB_PATH", "").split(os.pathsep) if p]
    conf = load_config().get("esorex", {})
    if isinstance(conf, dict):
        cands += [Path(str(p)).expanduser() for p in conf.get("calib_dirs", []) or []]
    if pipeline:
        for root in CALIB_ROOTS:
            base = Path(root)
            cands += [base / f"{pipeline}-{version}", base / f"{pipeline}-{version}" / "cal"]
            cands += sorted(base.glob(f"{pipeline}-*"), reverse=True)
    out: list[Path] = []
    for p in cands:
        if p.is_dir() and p not in out:
            out.append(p)
    return out


def _searched(pipeline: str, version: str, extra: Sequence[str | Path]) -> list[Path]:
    """Folders named in messages: the configured ones and the standard kit locations."""
    named = [Path(p) for p in extra]
    named += [Path(p) for p in os.environ.get("REFLEXNG_CALIB_PATH", "").split(os.pathsep) if p]
    named.append(Path(CALIB_ROOTS[0]) / f"{pipeline}-{version}")
    return list(dict.fromkeys(named))


def static_categories(folders: Iterable[Path]) -> dict[str, Path]:
    """``{PRO.CATG: first file}`` of the FITS files below ``folders``."""
    from reflexng.fits import read_header_values

    out: dict[str, Path] = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or not path.name.lower().endswith((".fits", ".fits.gz", ".fits.fz", ".fit")):
                continue
            try:
                cat = read_header_values(path, ["PRO.CATG"]).get("PRO.CATG")
            except Exception:  # an unreadable file is not a calibration
                continue
            if isinstance(cat, str) and cat.strip():
                out.setdefault(cat.strip(), path)
    return out


def _task_outputs(cascade, name: str) -> set[str] | None:
    """Categories the task's recipe makes (None: unknown, assume it makes what is asked)."""
    from reflexng.recipes.esorex_catalog import recipe_io

    t = cascade.tasks.get(name)
    if t is None or not t.recipe or not t.recipe.startswith("esorex:"):
        return None
    io = recipe_io(t.recipe)
    if io is None or not io.outputs:
        return None
    from reflexng.recipes.esorex import _downstream_tags

    return set(io.outputs) | set(_downstream_tags(t.recipe[len("esorex:"):]).values())


def _is_static(ds) -> bool:
    """A data source of calibration files recognised only by their PRO.CATG (no raw rule)."""
    rules = ds.classification_rules
    return bool(rules) and all(r.function is None and set(r.keywords or {}) == {"PRO.CATG"}
                               for r in rules)


def _provided(cascade, ref) -> tuple[set[str] | None, set[str]]:
    """(categories the input provides, those of them that are static calibrations)."""
    if ref.kind == "task":
        return _task_outputs(cascade, ref.name), set()
    ds = cascade.data_sources.get(ref.name)
    if ds is None:
        return set(), set()
    cats = set(ds.categories)
    return cats, (cats if _is_static(ds) else set())


def check(cascade, calib_dirs: Sequence[str | Path] = ()) -> list[Finding]:
    """Findings for every required input of every esorex task (satisfied ones included)."""
    from reflexng.recipes import esorex
    from reflexng.recipes.esorex_catalog import recipe_io

    findings: list[Finding] = []
    kits: dict[tuple, dict[str, Path]] = {}
    for t in cascade.tasks.values():
        if not t.recipe or not t.recipe.startswith(esorex.PREFIX):
            continue
        recipe = t.recipe[len(esorex.PREFIX):]
        io = recipe_io(recipe)
        if io is None:
            if esorex.esorex_path() is not None and recipe not in esorex._recipe_files():
                findings.append(Finding(t.name, recipe, "", f"recipe {recipe} is not installed: "
                                        f"{esorex.install_hint(recipe)}", False))
            continue
        so = esorex._recipe_files().get(recipe)
        pipeline, version = esorex._pipeline_of(so.parent) if so else ("", "")
        have: set[str] = set()
        static: set[str] = set()
        unknown = False
        for ref in [t.main_input, *[a.source for a in t.associated_inputs]]:
            if ref is None:
                continue
            got, stat = _provided(cascade, ref)
            static |= stat
            if got is None:
                unknown = True
            else:
                have |= got - stat
        key = (pipeline, version, tuple(calib_dirs))
        if key not in kits:
            kits[key] = static_categories(calib_folders(calib_dirs, pipeline, version))
        kit = kits[key]
        for req in io.required():
            alts = set(req.alternatives)
            if alts & have:
                findings.append(Finding(t.name, recipe, req.name, "provided", True))
                continue
            in_kit = [c for c in req.alternatives if c in kit]
            if in_kit:
                findings.append(Finding(t.name, recipe, req.name,
                                        f"{recipe} needs {in_kit[0]}: found in {kit[in_kit[0]].parent} "
                                        "(a static calibration; give that folder with --data)", True))
                continue
            if unknown:
                findings.append(Finding(t.name, recipe, req.name, "may come from an upstream task "
                                        "whose recipe does not declare its products", True))
                continue
            if alts & static:
                where = ", ".join(str(p) for p in _searched(pipeline, version, calib_dirs))
                findings.append(Finding(t.name, recipe, req.name,
                                        f"{recipe} needs {req.name}: a static calibration not found "
                                        f"in {where}; install the pipeline's calibration kit or add "
                                        "the folder (--calib-dir or $REFLEXNG_CALIB_PATH), or give "
                                        "the file with --data", False))
                continue
            raw = [ds.name for ds in cascade.data_sources.values()
                   if not _is_static(ds) and alts & set(ds.categories)]
            if raw:
                findings.append(Finding(t.name, recipe, req.name,
                                        f"{recipe} needs {req.name}: raw frames of data source "
                                        f"{raw[0]}, which is not an input of task {t.name}; add it "
                                        "as an associated input", False))
                continue
            makers = sorted(r.name for r in esorex.list_recipes()
                            if r.pipeline == pipeline and r.name != t.recipe
                            and alts & set(getattr(recipe_io(r.name), "outputs", ()) or ()))
            if makers:
                msg = (f"{recipe} needs {req.name}: a product of {' or '.join(makers)}, which no "
                       f"task of the cascade feeds to task {t.name}; add that task as an "
                       "associated input")
            else:
                where = ", ".join(str(p) for p in _searched(pipeline, version, calib_dirs))
                msg = (f"{recipe} needs {req.name}: a static calibration not found in {where}; "
                       "install the pipeline's calibration kit or add the folder (--calib-dir "
                       "or $REFLEXNG_CALIB_PATH)")
            findings.append(Finding(t.name, recipe, req.name, msg, False))
    return findings


def problems(cascade, calib_dirs: Sequence[str | Path] = ()) -> list[Problem]:
    """The unsatisfied findings as validation warnings at the task's line."""
    out = []
    for f in check(cascade, calib_dirs):
        if not f.satisfied:
            t = cascade.tasks[f.task]
            out.append(Problem(f"task {f.task!r}: {f.message}", t.location, "warning"))
    return out
