"""The EDPS-style test facility: ``reflexng cascade test SPEC.json``.

A spec lists fake files (header keywords), the target and workflow parameters, and the jobs
that must arise with their inputs; header-only FITS files are written to a temporary folder,
organised with the real scanner and organiser, and the jobs compared. The spec passes iff
exactly the expected jobs arise. Format: docs/organiser-json.md.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reflexng.organiser.model import Job, OrganiseResult

SPEC_KEYS = {"cascade", "target", "workflow_parameters", "parameter_set", "prefer", "files",
             "jobs", "incomplete", "classification", "description"}


class SpecError(ValueError):
    """A spec that cannot be read; ``str()`` names the spec file."""


@dataclass
class SpecResult:
    """Outcome of one spec: ``passed`` and, when not, ``diff`` lines saying what differs."""

    spec: str
    passed: bool
    diff: list[str] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)  # every job that arose, in words
    result: OrganiseResult | None = None


def write_header_fits(path: Path, keywords: dict[str, Any]) -> None:
    """A header-only FITS file (primary HDU, no data) with the given cascade keywords."""
    from astropy.io import fits

    from reflexng.fits.cards import fits_card_name

    hdr = fits.Header()
    for k, v in keywords.items():
        hdr[fits_card_name(k)] = v  # "HIERARCH ESO DPR TYPE" or a standard name
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.PrimaryHDU(header=hdr).writeto(path, overwrite=True)


def load_spec(path: str | os.PathLike) -> dict[str, Any]:
    p = Path(path)
    try:
        spec = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"{p}: cannot read: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise SpecError(f"{p}:{exc.lineno}: not valid JSON: {exc.msg}") from exc
    if not isinstance(spec, dict):
        raise SpecError(f"{p}: a spec is a JSON object")
    unknown = set(spec) - SPEC_KEYS
    if unknown:
        raise SpecError(f"{p}: unknown key(s) {sorted(unknown)}; expected {sorted(SPEC_KEYS)}")
    for key in ("cascade", "files"):
        if key not in spec:
            raise SpecError(f"{p}: missing {key!r}")
    names = set()
    for i, f in enumerate(spec["files"]):
        if not isinstance(f, dict) or "name" not in f or not isinstance(f.get("keywords", {}), dict):
            raise SpecError(f"{p}: files[{i}] needs a 'name' and a 'keywords' object")
        if f["name"] in names:
            raise SpecError(f"{p}: files[{i}]: duplicate name {f['name']!r}")
        names.add(f["name"])
    for section in ("jobs", "incomplete"):
        for i, j in enumerate(spec.get(section, [])):
            if not isinstance(j, dict) or "task" not in j:
                raise SpecError(f"{p}: {section}[{i}] needs a 'task'")
            for n in [*j.get("main", []), *(x for v in j.get("associated", {}).values() for x in v)]:
                if n not in names:
                    raise SpecError(f"{p}: {section}[{i}] ({j['task']}): no file named {n!r} in 'files'")
    return spec


def _cascade(spec: dict[str, Any], spec_path: Path):
    from reflexng.cascade import load

    ref = spec["cascade"]
    candidate = (spec_path.parent / ref)
    if ref.endswith(".py") or "/" in ref:
        return load(candidate.resolve())
    return load(ref)


def run_spec(path: str | os.PathLike) -> SpecResult:
    """Run one spec file. Raises :class:`SpecError` or ``CascadeError`` for a broken spec."""
    from reflexng.organiser.api import organise

    spec_path = Path(path)
    spec = load_spec(spec_path)
    cascade = _cascade(spec, spec_path)
    with tempfile.TemporaryDirectory(prefix="reflexng-spec-") as tmp:
        root = Path(tmp).resolve()
        for f in spec["files"]:
            write_header_fits(root / f["name"], f.get("keywords", {}))
        try:
            result = organise(
                cascade, [root], spec.get("target"),
                workflow_parameters=spec.get("workflow_parameters") or None,
                parameter_set=spec.get("parameter_set"), prefer=spec.get("prefer", "raw"),
            )
        except ValueError as exc:
            raise SpecError(f"{spec_path}: {exc}") from exc
        return compare(spec, result, root, str(spec_path))


def _name(path: str, root: Path) -> str:
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return path


def _main_names(job: Job, result: OrganiseResult, root: Path) -> list[str]:
    if job.main:
        return sorted(_name(p, root) for p in job.main)
    out: list[str] = []
    for j in job.main_jobs:
        out.extend(_main_names(result.jobs[j], result, root))
    return sorted(out)


def _assoc_names(job: Job, result: OrganiseResult, root: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, a in job.associated.items():
        names: list[str] = []
        for c in a.chosen:
            if c.path:
                names.append(_name(c.path, root))
            elif c.job_id:
                names.extend(_main_names(result.jobs[c.job_id], result, root))
        if names:
            out[name] = sorted(names)
    return out


def compare(spec: dict[str, Any], result: OrganiseResult, root: Path, spec_name: str = "") -> SpecResult:
    """Compare the organised result with the spec's expectations."""
    diff: list[str] = []
    for name, expected in (spec.get("classification") or {}).items():
        f = result.file(str(root / name))
        got = None if f is None else (f.category if f.status == "ok" else f.status)
        if got != expected:
            diff.append(f"file {name}: expected {expected}, got {got}"
                        + (f" ({f.reason})" if f is not None and f.reason else ""))
    actual: dict[tuple[str, tuple[str, ...]], Job] = {}
    words: list[str] = []
    for job in result.jobs.values():
        key = (job.task, tuple(_main_names(job, result, root)))
        actual[key] = job
        state = "complete" if job.complete else "incomplete: " + "; ".join(job.missing)
        words.append(f"{job.task} {list(key[1])} {_assoc_names(job, result, root)} {state}")
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for exp in spec.get("jobs", []):
        key = (exp["task"], tuple(sorted(exp.get("main", []))))
        job = actual.get(key)
        if job is None:
            diff.append(f"missing job: {exp['task']} main={list(key[1])}")
            continue
        seen.add(key)
        if not job.complete:
            diff.append(f"job {exp['task']} main={list(key[1])} is incomplete: {'; '.join(job.missing)}")
        if "associated" in exp:
            got = _assoc_names(job, result, root)
            want = {k: sorted(v) for k, v in exp["associated"].items() if v}
            for inp in sorted(set(got) | set(want)):
                if got.get(inp) != want.get(inp):
                    diff.append(f"job {exp['task']} main={list(key[1])}: associated {inp}: "
                                f"expected {want.get(inp, [])}, got {got.get(inp, [])}")
    for exp in spec.get("incomplete", []):
        key = (exp["task"], tuple(sorted(exp.get("main", []))))
        job = actual.get(key)
        if job is None:
            diff.append(f"missing incomplete job: {exp['task']} main={list(key[1])}")
            continue
        seen.add(key)
        if job.complete:
            diff.append(f"job {exp['task']} main={list(key[1])} is complete, expected incomplete")
            continue
        text = exp.get("missing_contains", "")
        if text and not any(text in m for m in job.missing):
            diff.append(f"job {exp['task']} main={list(key[1])}: no missing message contains "
                        f"{text!r}; got {list(job.missing)}")
    for key, job in actual.items():
        if key not in seen:
            state = "" if job.complete else f" (incomplete: {'; '.join(job.missing)})"
            diff.append(f"unexpected job: {key[0]} main={list(key[1])}{state}")
    return SpecResult(spec_name, not diff, diff, sorted(words), result)


def run_cli(args) -> int:
    """``reflexng cascade test SPEC.json [...] [--verbose]``: 0 all pass, 1 a failure, 2 broken spec."""
    from reflexng.cascade import CascadeError

    specs = args.spec if isinstance(args.spec, (list, tuple)) else [args.spec]
    worst = 0
    for spec in specs:
        try:
            res = run_spec(spec)
        except (SpecError, CascadeError) as exc:
            print(str(exc), file=sys.stderr)
            worst = 2
            continue
        print(f"{'PASS' if res.passed else 'FAIL'} {spec}")
        for line in res.diff:
            print(f"  {line}")
        if getattr(args, "verbose", False):
            print("  jobs that arose:")
            for w in res.jobs:
                print(f"    {w}")
        if not res.passed:
            worst = max(worst, 1)
    return worst
