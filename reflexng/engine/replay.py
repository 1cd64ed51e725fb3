"""Re-run one job attempt by hand: ``python -m reflexng.engine.replay ATTEMPT_DIR [--output DIR]``.

Runs the same recipe on the same inputs with the same parameters (from the attempt's
``job.json``) in this process, writing products to ``ATTEMPT_DIR/replay-<time>/products``
(or ``--output``). Nothing of the original attempt is touched.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m reflexng.engine.replay", description=__doc__)
    ap.add_argument("attempt_dir", type=Path)
    ap.add_argument("--output", type=Path, default=None, help="products folder (default: replay-<time>/products)")
    args = ap.parse_args(argv)
    if not (args.attempt_dir / "job.json").is_file():
        print(f"replay: {args.attempt_dir} has no job.json (not a job attempt folder)", file=sys.stderr)
        return 2
    args.attempt_dir = args.attempt_dir.resolve()
    out = (args.output or args.attempt_dir / f"replay-{time.strftime('%Y%m%dT%H%M%S')}" / "products").resolve()
    from reflexng.engine.child import run_job

    code = run_job(args.attempt_dir, out)
    result = json.loads((out.parent / "result.json").read_text())
    if result.get("ok"):
        from reflexng.engine.reasons import shown

        for p, c in result.get("products", []):
            print(f"{c}\t{shown(p)}")  # a name that is not UTF-8 with \\xNN escapes
    else:
        print(f"replay: {result.get('error')}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
