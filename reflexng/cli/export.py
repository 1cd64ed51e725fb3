"""`reflexng export WORKDIR --to FOLDER` — copy or link the end products of chosen datasets.

Datasets are the folders of ``<workdir>/end_products/`` (their labels); ``--dataset`` takes labels
or globs (repeatable; default all). ``--pattern`` names the copies from header keywords
(``{OBJECT}``, ``{INS.FILT.NAME}``, ``{PRO.CATG}``, ...) and ``{dataset}``, ``{name}``,
``{category}``; ``/`` makes sub-folders; default ``{dataset}/{name}``. A keyword a product does
not have is an error naming the file, before anything is written. Unchanged copies are left
alone. ``--json``: ``{exported: [{source, target, state}]}`` (state new|updated|unchanged).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from reflexng.cli._common import fail
from reflexng.cli.status import open_workdir


def register(sub) -> None:
    from reflexng.engine.export import EXPORT_PATTERN

    p = sub.add_parser("export", help="copy or link the end products of chosen datasets to a folder",
                       description="Copy (or hard-link) the current end products of a work directory's datasets "
                       "into a folder, named by a pattern of header keywords.")
    p.add_argument("workdir", metavar="WORKDIR", help="work directory of a reduction")
    p.add_argument("--to", required=True, type=Path, metavar="FOLDER", help="destination folder (created)")
    p.add_argument("--dataset", action="append", default=None, metavar="LABEL",
                   help="dataset label or glob (repeatable; default: every dataset)")
    p.add_argument("--pattern", default=EXPORT_PATTERN,
                   help=f"names of the copies (default {EXPORT_PATTERN}); e.g. {{OBJECT}}/{{INS.FILT.NAME}}_{{name}}")
    p.add_argument("--link", action="store_true", help="hard links instead of copies (falls back to copies)")
    p.add_argument("--json", action="store_true", help="report as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    import fnmatch

    from reflexng.engine.export import PatternError, check_pattern, current_end_products, export_to

    problem = check_pattern(args.pattern)
    if problem:
        return fail(f"export --pattern: {problem}")
    store, code = open_workdir(args.workdir, "export")
    if store is None:
        return code
    store.close()
    workdir = Path(args.workdir)
    ends = current_end_products(workdir)
    if not ends:
        return fail(f"export {workdir / 'end_products'}: no end products yet; run the reduction first "
                    f"(`reflexng run ... --workdir {args.workdir}`)", 1)
    chosen = ends
    if args.dataset:
        chosen = {}
        for pat in args.dataset:
            hit = {k: v for k, v in ends.items() if fnmatch.fnmatchcase(k, pat)}
            if not hit:
                return fail(f"export --dataset {pat}: no dataset with this label in {workdir / 'end_products'} "
                            f"(datasets: {', '.join(sorted(ends)[:8])}{', ...' if len(ends) > 8 else ''})")
            chosen.update(hit)
    if args.to.exists() and not args.to.is_dir():
        return fail(f"export --to {args.to}: is a file, not a folder; choose a folder (it is created if missing)")
    try:
        done = export_to(chosen, args.to, args.pattern, link=args.link)
    except PatternError as exc:
        return fail(f"export --pattern {args.pattern}: {exc}")
    except ValueError as exc:
        return fail(f"export: {exc}")
    if args.json:
        json.dump({"exported": [{"source": s, "target": t, "state": st} for s, t, st in done]}, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    for _s, t, st in done:
        print(f"  {st:<9} {t}")
    n_new = sum(1 for d in done if d[2] != "unchanged")
    print(f"{len(done)} end products of {len(chosen)} datasets in {args.to}: {n_new} written, "
          f"{len(done) - n_new} unchanged")
    return 0
