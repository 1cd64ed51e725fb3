"""`reflexng demo-data` — write simulated raw data with known truth.

Dispatches to the simulators: ``reflexng.simulate.imaging``, ``reflexng.simulate.spectroscopy``
and, with ``--instrument uves|naco|hawki|vimos|giraffe|muse``, ``reflexng.simulate.eso``
(which dispatches to ``reflexng.simulate.eso_<instrument>`` for the last four). Each exposes
``generate(out: Path, *, nights, seed, headers_only, scale, size) -> dict`` (a summary) or,
for ESO instruments, ``generate(instrument, out, *, nights, seed) -> dict``.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from reflexng.cli._common import fail


def register(sub) -> None:
    p = sub.add_parser("demo-data", help="write simulated raw FITS data with a truth file")
    p.add_argument("--out", required=True, type=Path, help="output folder (created)")
    p.add_argument("--mode", choices=["imaging", "spectroscopy", "all"], default="all")
    p.add_argument("--instrument", choices=["demo", "uves", "naco", "hawki", "vimos", "giraffe", "muse"], default="demo",
                   help="demo (default) or raw frames for the ESO UVES/NACO/HAWK-I/VIMOS/GIRAFFE/MUSE recipes")
    p.add_argument("--nights", type=int, default=None, help="number of nights (default per mode)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--headers-only", action="store_true", help="header-only files (for benchmarks)")
    p.add_argument("--scale", type=int, default=1, help="multiply nights and files by K")
    p.add_argument("--size", type=int, default=None, help="detector size in pixels (default 1024)")
    p.add_argument("--json", action="store_true",
                   help="print the summary as JSON: {mode: {folder, files, nights, truth}} for every mode")
    p.set_defaults(func=run)


def _common_summary(mode: str, folder: Path, raw: dict) -> dict:
    """The same keys for every mode: folder, files (number of FITS files), nights, truth (file), details."""
    files = raw.get("files")
    n = len(files) if isinstance(files, (list, tuple)) else (files if isinstance(files, int) else None)
    if n is None:
        n = sum(1 for _ in folder.rglob("*.fits"))
    truth = sorted(str(p) for p in folder.glob("truth*.json"))
    nights = raw.get("nights")
    return {"folder": str(folder), "files": n,
            "nights": len(nights) if isinstance(nights, (list, tuple)) else nights,
            "truth": truth[0] if truth else None, "details": raw}


def _earlier_demo_data(out: Path) -> bool:
    """True when ``out`` holds the truth file of an earlier ``demo-data`` (safe to write again)."""
    return any(out.glob("truth*.json")) or any(out.glob("*/truth*.json"))


def run(args) -> int:
    out: Path = args.out
    if out.exists() and not out.is_dir():
        return fail(f"--out {out}: is a file, not a folder; choose a folder (it is created if missing)")
    if out.is_dir() and any(out.iterdir()) and not _earlier_demo_data(out):
        return fail(f"--out {out}: the folder is not empty and holds no earlier demo data; files with the "
                    "same names would be replaced, so choose an empty or new folder")
    summaries = {}
    folders = {}
    try:
        if args.instrument != "demo":
            mod = importlib.import_module("reflexng.simulate.eso")
            kwargs = {} if args.size is None else {"size": args.size}
            folders[args.instrument] = out
            summaries[args.instrument] = mod.generate(
                args.instrument, out, nights=args.nights or (1 if args.instrument in ("hawki", "vimos", "muse") else 2),
                seed=args.seed, **kwargs
            )
        else:
            modes = ["imaging", "spectroscopy"] if args.mode == "all" else [args.mode]
            for mode in modes:
                mod = importlib.import_module(f"reflexng.simulate.{mode}")
                target = out / mode if args.mode == "all" else out
                kwargs = dict(seed=args.seed, headers_only=args.headers_only, scale=args.scale)
                if args.nights is not None:
                    kwargs["nights"] = args.nights
                from reflexng.cli.demo import demo_size

                size = demo_size(mode, args.size)
                if size is not None:
                    kwargs["size"] = size
                from reflexng.cli._progress import stage

                folders[mode] = target
                with stage(f"writing simulated {mode} data to {target}", json_mode=args.json):
                    summaries[mode] = mod.generate(target, **kwargs)
    except OSError as exc:
        from reflexng.cli._errors import describe_os_error

        return fail(f"demo-data: cannot write the simulated data: {describe_os_error(exc)}")
    except ValueError as exc:
        return fail(f"demo-data: {exc}")
    out_json = {m: _common_summary(m, folders[m], s or {}) for m, s in summaries.items()}
    if args.json:
        print(json.dumps(out_json, indent=2, default=str))
        return 0
    for mode, s in out_json.items():
        nights = f", {s['nights']} night(s)" if s["nights"] is not None else ""
        print(f"{mode}: {s['files']} FITS files{nights} in {s['folder']}")
        if s["truth"]:
            print(f"  truth: {s['truth']}")
    first = next(iter(out_json), None)
    if first in ("imaging", "spectroscopy"):
        print(f"next: reflexng run --cascade demo_{first} --data {out_json[first]['folder']}")
    return 0
