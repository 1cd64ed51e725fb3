"""The organiser's output before and after a change: `reflexng organise --json` byte for byte.

Runs the organise command of an older revision (``--before``, default ``HEAD``: exported with
``git archive`` into a temporary folder and put first on ``PYTHONPATH``) and of this tree on
the same inputs, and compares the outputs byte for byte:

- the demo corpora (``reflexng demo-data --headers-only``, imaging and spectroscopy, default
  and ``--scale 2``) with the demo cascades and their parameter sets;
- every scenario of ``cascades/tests/*.json`` (the files of ``cascade test`` specs, written as
  header-only FITS files; the spec's cascade, target, workflow parameters, parameter set and
  preference).

This tree's command runs three times per input: without a work directory, into an empty
work directory (first organise) and again (unchanged: the stored result). Exit 1 on any
difference; each one is named.

    python benchmarks/organise_same.py [--before REV] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def export(rev: str, dest: Path) -> Path:
    """The ``reflexng`` package of ``rev`` under ``dest`` (for PYTHONPATH)."""
    dest.mkdir(parents=True, exist_ok=True)
    tar = subprocess.run(["git", "-C", str(REPO), "archive", rev, "reflexng"], check=True,
                         capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=tar, check=True)
    return dest


def organise(pythonpath: Path | None, args: list[str], workdir: Path | None = None) -> bytes:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath) + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, "-m", "reflexng", "organise", *args, "--json"]
    if workdir is not None:
        cmd += ["--workdir", str(workdir)]
    # not from the repository folder: its reflexng would come first on sys.path
    p = subprocess.run(cmd, capture_output=True, env=env, cwd=tempfile.gettempdir())
    if p.returncode != 0:
        return b"exit %d: " % p.returncode + p.stderr
    return p.stdout


def inputs(base: Path) -> list[tuple[str, list[str]]]:
    """(name, organise arguments) of every compared case; writes their files under ``base``."""
    from reflexng.organiser.spectest import load_spec, write_header_fits

    cases: list[tuple[str, list[str]]] = []
    for scale in (1, 2):
        out = base / f"demo{scale}"
        if not out.is_dir():
            subprocess.run([sys.executable, "-m", "reflexng", "demo-data", "--headers-only",
                            "--mode", "all", "--scale", str(scale), "--out", str(out)],
                           check=True, capture_output=True)
        for mode in ("imaging", "spectroscopy"):
            args = ["--cascade", f"demo_{mode}", "--data", str(out / mode)]
            cases.append((f"demo_{mode} scale {scale}", args))
            cases.append((f"demo_{mode} scale {scale}, whole corpus", [args[0], args[1], "--data", str(out)]))
    for spec_path in sorted((REPO / "cascades" / "tests").glob("*.json")):
        spec = load_spec(spec_path)
        folder = base / "specs" / spec_path.stem
        if not folder.is_dir():
            for f in spec["files"]:
                write_header_fits(folder / f["name"], f.get("keywords", {}))
        ref = spec["cascade"]
        cascade = str((spec_path.parent / ref).resolve()) if ref.endswith(".py") or "/" in ref else ref
        args = ["--cascade", cascade, "--data", str(folder)]
        target = spec.get("target")
        for t in [target] if isinstance(target, str) else (target or []):
            args += ["--target", t]
        for k, v in (spec.get("workflow_parameters") or {}).items():
            args += ["--workflow-param", f"{k}={json.dumps(v) if not isinstance(v, str) else v}"]
        if spec.get("parameter_set"):
            args += ["--parameter-set", spec["parameter_set"]]
        if spec.get("prefer"):
            args += ["--prefer", spec["prefer"]]
        cases.append((f"spec {spec_path.name}", args))
    return cases


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="HEAD",
                    help="git revision to compare with (default HEAD: the uncommitted change)")
    ap.add_argument("--keep", type=Path, default=None, help="keep inputs here (reused next time)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="reflexng-same-"))
    base = args.keep or tmp / "inputs"
    try:
        old = export(args.before, tmp / "before")
        cases = inputs(base)
        bad = 0
        for name, case in cases:
            before = organise(old, case)
            work = tmp / "work"
            shutil.rmtree(work, ignore_errors=True)
            now = {"plain": organise(None, case), "first": organise(None, case, work),
                   "unchanged": organise(None, case, work)}
            differ = [k for k, v in now.items() if v != before]
            size = len(before)
            print(f"{'SAME' if not differ else 'DIFFERENT (' + ', '.join(differ) + ')':<34} "
                  f"{size:>9} bytes  {name}")
            bad += bool(differ)
        print(f"{len(cases) - bad} of {len(cases)} cases byte-identical with {args.before}")
        return 1 if bad else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
