#!/usr/bin/env python3
"""Offline workshop install: build a wheelhouse once, install twenty laptops without network.

    python packaging/workshop.py build WHEELHOUSE [--platform P ...] [--python-version V ...]
    python WHEELHOUSE/workshop.py install WHEELHOUSE          # on each laptop, in its venv

``build`` (needs the package index once, on the teacher's machine) puts into WHEELHOUSE:
  * the reflexng wheel built from this checkout,
  * every dependency as a wheel for each chosen platform and Python version (``pip download``),
  * the demo data, pre-generated (``reflexng demo-data --mode all``) under ``demo/``,
  * a copy of this script, so the folder is all a laptop needs.

``install`` runs ``pip install --no-index --find-links WHEELHOUSE reflexng`` with the Python that
runs it (or ``--python``), then copies ``demo/`` into the user data folder where ``reflexng demo``
looks, so the demo opens at once instead of spending ~20 s writing its data.

Only the standard library is used: the script runs before reflexng is installed.
Errors are one line saying what to do; exit status 2.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

# Platforms a workshop room usually brings (pip --platform tags).
USUAL_PLATFORMS = {
    "linux-x86_64": ["manylinux_2_28_x86_64", "manylinux2014_x86_64", "manylinux_2_17_x86_64"],
    "linux-aarch64": ["manylinux_2_28_aarch64", "manylinux2014_aarch64", "manylinux_2_17_aarch64"],
    "macos-arm64": ["macosx_11_0_arm64", "macosx_12_0_arm64", "macosx_13_0_arm64", "macosx_14_0_arm64"],
    "macos-x86_64": ["macosx_10_9_x86_64", "macosx_10_13_x86_64", "macosx_11_0_x86_64",
                     "macosx_12_0_x86_64", "macosx_13_0_x86_64"],
    "windows-amd64": ["win_amd64"],
}
USUAL_PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
REPO = Path(__file__).resolve().parent.parent


class WorkshopError(Exception):
    """A problem the user can fix; printed as one line."""


def _say(msg: str) -> None:
    print(f"workshop: {msg}", file=sys.stderr, flush=True)


def _run(cmd: list[str], what: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()
        raise WorkshopError(f"{what} failed: {tail[-1] if tail else 'exit ' + str(proc.returncode)}")
    return proc


def current_platform() -> str:
    machine = platform.machine().lower()
    if sys.platform.startswith("linux"):
        return "linux-aarch64" if machine in ("aarch64", "arm64") else "linux-x86_64"
    if sys.platform == "darwin":
        return "macos-arm64" if machine == "arm64" else "macos-x86_64"
    if sys.platform == "win32":
        return "windows-amd64"
    raise WorkshopError(f"unknown platform {sys.platform}/{machine}; pass --platform explicitly")


def build(out: Path, platforms: list[str], pythons: list[str], demo: bool) -> int:
    out.mkdir(parents=True, exist_ok=True)
    _say(f"building the reflexng wheel from {REPO}")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
         "building the reflexng wheel")
    wheels = sorted(out.glob("reflexng-*.whl"), key=lambda p: p.stat().st_mtime)
    if not wheels:
        raise WorkshopError(f"no reflexng wheel appeared in {out}")
    wheel = wheels[-1]
    for plat in platforms:
        for py in pythons:
            _say(f"downloading dependencies for {plat}, Python {py}")
            cmd = [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:",
                   "-d", str(out), "--python-version", py, "--implementation", "cp"]
            for tag in USUAL_PLATFORMS[plat]:
                cmd += ["--platform", tag]
            _run(cmd + [str(wheel)], f"downloading wheels for {plat} / Python {py}")
    if demo:
        target = out / "demo"
        if not (target / "imaging").is_dir() or not (target / "spectroscopy").is_dir():
            _say(f"writing the demo data into {target} (~20 s)")
            _run([sys.executable, "-m", "reflexng", "demo-data", "--out", str(target), "--mode", "all"],
                 "writing the demo data (is reflexng installed in this Python?)")
    shutil.copy2(Path(__file__), out / "workshop.py")
    n = len(list(out.glob("*.whl")))
    _say(f"wheelhouse ready: {out} ({n} wheels{', demo data' if demo else ''}); on each laptop run: "
         f"python {out / 'workshop.py'} install {out}")
    return 0


_MISSING = re.compile(r"No matching distribution found for ([^\s;]+)")


def install(house: Path, python: str, demo: bool) -> int:
    if not house.is_dir():
        raise WorkshopError(f"{house}: no such folder; copy the wheelhouse to this laptop first")
    if not list(house.glob("reflexng-*.whl")):
        raise WorkshopError(f"{house}: no reflexng wheel in it; rebuild it with "
                            "`python packaging/workshop.py build FOLDER`")
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    _say(f"installing reflexng from {house} (no network)")
    proc = subprocess.run([python, "-m", "pip", "install", "-q", "--no-index", "--find-links", str(house),
                           "reflexng"], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        text = proc.stderr + proc.stdout
        m = _MISSING.search(text)
        ver = subprocess.run([python, "-c", "import sys, sysconfig; print('%d.%d' % sys.version_info[:2], "
                              "sysconfig.get_platform())"], capture_output=True, text=True).stdout.split()
        where = f"Python {ver[0]} on {ver[1]}" if len(ver) == 2 else "this laptop"
        if m:
            raise WorkshopError(f"{house} has no wheel of {m.group(1)} for {where}; rebuild the wheelhouse "
                                "with --platform/--python-version for this laptop")
        last = text.strip().splitlines()[-1] if text.strip() else f"exit {proc.returncode}"
        raise WorkshopError(f"pip could not install from {house}: {last}")
    if demo and (house / "demo").is_dir():
        root = subprocess.run([python, "-c", "from reflexng.cli.demo import default_demo_root; "
                               "print(default_demo_root())"], capture_output=True, text=True)
        if root.returncode != 0 or not root.stdout.strip():
            raise WorkshopError("reflexng installed but its demo folder is unknown; run `reflexng demo` "
                                "(it writes the data itself)")
        dest = Path(root.stdout.strip())
        for mode in ("imaging", "spectroscopy"):
            src = house / "demo" / mode
            if src.is_dir() and not (dest / mode).exists():
                shutil.copytree(src, dest / mode)
        _say(f"demo data copied to {dest}")
    _say("done: run `reflexng demo`")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="workshop.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="verb", required=True)
    b = sub.add_parser("build", help="download wheels and write demo data into a folder")
    b.add_argument("out", type=Path)
    b.add_argument("--platform", action="append", choices=sorted(USUAL_PLATFORMS) + ["all", "current"],
                   help="target platform (repeatable; 'all' = the usual five; default: current)")
    b.add_argument("--python-version", action="append",
                   help="target Python version, e.g. 3.11 (repeatable; 'all' = 3.10-3.13; default: this one)")
    b.add_argument("--no-demo", action="store_true", help="do not pre-generate the demo data")
    i = sub.add_parser("install", help="install reflexng and its demo data from a wheelhouse, offline")
    i.add_argument("house", type=Path)
    i.add_argument("--python", default=sys.executable, help="the Python (venv) to install into")
    i.add_argument("--no-demo", action="store_true", help="do not copy the demo data")
    args = ap.parse_args(argv)
    try:
        if args.verb == "build":
            plats = args.platform or ["current"]
            if "all" in plats:
                plats = sorted(USUAL_PLATFORMS)
            plats = [current_platform() if p == "current" else p for p in plats]
            pys = args.python_version or [f"{sys.version_info[0]}.{sys.version_info[1]}"]
            if "all" in pys:
                pys = USUAL_PYTHONS
            return build(args.out, sorted(set(plats)), pys, not args.no_demo)
        return install(args.house, args.python, not args.no_demo)
    except WorkshopError as exc:
        _say(str(exc))
        return 2
    except KeyboardInterrupt:
        _say("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
