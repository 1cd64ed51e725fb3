"""`reflexng provenance PRODUCT.fits` — the tree from a product back to its raw files.

The text form shows every job once: a product met again further down (the master bias used by
the dark, the flat and the science reduction) is one line pointing up; the raw files of one job
are one line per category (the first few names and how many); ``--depth N`` stops after N levels
of jobs. ``--json`` gives the full tree.
"""

from __future__ import annotations

import sys

from reflexng.cli._common import fail


def register(sub) -> None:
    p = sub.add_parser("provenance", help="show how a product was made (tree back to the raw files)",
                       description="Show the jobs, recipes, parameters and input files that made a product, "
                       "back to the raw files.")
    p.add_argument("product", help="a product FITS file (in a work directory, or an end-product copy)")
    p.add_argument("--workdir", help="the work directory (default: found from the product's path)")
    p.add_argument("--depth", type=int, default=None, metavar="N",
                   help="show N levels of jobs (default: all; each job once either way)")
    p.add_argument("--json", action="store_true", help="print the tree as JSON (full, not de-duplicated)")
    p.add_argument("--prov-json", metavar="OUT", help="also write W3C PROV-JSON to OUT")
    p.set_defaults(func=_run)


def _run(args) -> int:
    import json
    from pathlib import Path

    from reflexng.provenance.store import DB_NAME, ProvenanceStore
    from reflexng.provenance.trace import find_workdir, tree, write_prov_json

    product = Path(args.product)
    if product.is_dir():
        return fail(f"{product}: is a folder; give a product FITS file (from a work directory or its end_products)")
    if not product.is_file():
        return fail(f"{product}: no such file; check the path")
    if args.workdir:
        workdir = Path(args.workdir)
        if not (workdir / DB_NAME).is_file():
            return fail(f"--workdir {workdir}: no {DB_NAME} there, so it is not a reflexng work directory; "
                        "give the work directory the product was made in")
    else:
        workdir = find_workdir(product)
        if workdir is None or not (workdir / DB_NAME).is_file():
            return fail(f"{product}: not inside a work directory (no {DB_NAME} above it): either not made by "
                        "reflexng, or copied elsewhere; give --workdir")
    store = ProvenanceStore(workdir, lock=False)
    try:
        node = tree(store, product)
    finally:
        store.close()
    if node["kind"] == "raw":
        return fail(f"{product}: not a product recorded in {workdir / DB_NAME} (a raw file, or made elsewhere); "
                    "give a product of a run in this work directory")
    if args.prov_json:
        write_prov_json(node, args.prov_json)
    if args.json:
        json.dump(node, sys.stdout, indent=1, default=str)
        print()
    else:
        print("\n".join(render_once(node, args.depth)))
        if args.prov_json:
            print(f"PROV-JSON written to {args.prov_json}", file=sys.stderr)
    return 0


def render_once(node: dict, depth: int | None = None) -> list[str]:
    """The provenance tree as text, each job once, raw files grouped, ``depth`` levels of jobs."""
    import os

    seen: dict[str, str] = {}
    lines: list[str] = []

    def walk(n: dict, indent: str, level: int) -> None:
        name = os.path.basename(n["path"])
        j = n["job"]
        key = f"{j['job_id']}/{j['attempt']}"
        lines.append(f"{indent}{name} [{n.get('category')}]" + (f" ({n['path']})" if level == 0 else ""))
        if key in seen:
            lines.append(f"{indent}  made by job {j['job_id']} (shown above)")
            return
        seen[key] = name
        lines.append(f"{indent}  made by job {j['job_id']}: task {j['task']}, recipe {j['recipe']} {j['version']}, "
                     f"attempt {j['attempt']}")
        if j["parameters"]:
            lines.append(f"{indent}  parameters: " + ", ".join(f"{k}={v}" for k, v in sorted(j["parameters"].items())))
        if j.get("replay"):
            lines.append(f"{indent}  replay: {j['replay']}")
        raws: dict[str, list[str]] = {}
        products = []
        for sub in n.get("inputs", []):
            if sub["kind"] == "raw":
                raws.setdefault(sub.get("category") or "?", []).append(os.path.basename(sub["path"]))
            else:
                products.append(sub)
        for cat, names in raws.items():
            more = f" and {len(names) - 3} more" if len(names) > 3 else ""
            lines.append(f"{indent}  <- {len(names)} raw [{cat}]: {', '.join(names[:3])}{more}")
        for sub in products:
            if depth is not None and level + 1 >= depth:
                lines.append(f"{indent}  <- {os.path.basename(sub['path'])} [{sub.get('category')}] "
                             f"(job {sub['job']['job_id']}; --depth {level + 2} shows it)")
                continue
            lines.append(f"{indent}  <- {sub.get('role', 'input')} input:")
            walk(sub, indent + "     ", level + 1)

    walk(node, "", 0)
    return lines
