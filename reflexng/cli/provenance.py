"""`reflexng provenance PRODUCT.fits` — the tree from a product back to its raw files."""

from __future__ import annotations

import sys

from reflexng.cli._common import fail


def register(sub) -> None:
    p = sub.add_parser("provenance", help="show how a product was made (tree back to the raw files)",
                       description="Show the jobs, recipes, parameters and input files that made a product, "
                       "back to the raw files.")
    p.add_argument("product", help="a product FITS file (in a work directory, or an end-product copy)")
    p.add_argument("--workdir", help="the work directory (default: found from the product's path)")
    p.add_argument("--json", action="store_true", help="print the tree as JSON")
    p.add_argument("--prov-json", metavar="OUT", help="also write W3C PROV-JSON to OUT")
    p.set_defaults(func=_run)


def _run(args) -> int:
    import json
    from pathlib import Path

    from reflexng.provenance.store import DB_NAME, ProvenanceStore
    from reflexng.provenance.trace import find_workdir, render, tree, write_prov_json

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
        print("\n".join(render(node)))
        if args.prov_json:
            print(f"PROV-JSON written to {args.prov_json}", file=sys.stderr)
    return 0
