"""`reflexng gui` — open the desktop GUI (optionally on a cascade, data folders, target)."""

from __future__ import annotations

import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "gui",
        help="open the desktop GUI",
        description="Open the reflexng window: cascade graph, data organiser, interactive run "
        "with inspection and re-run, provenance.",
    )
    p.add_argument("--cascade", default=None, help="cascade name (demo_imaging), path of a cascade .py file, or an EDPS workflow folder")
    p.add_argument("--data", action="append", type=Path, default=[], metavar="DIR",
                   help="raw-data folder (repeat for several)")
    p.add_argument("--target", default=None, help="target task or meta-target (default: the cascade's)")
    p.add_argument("--workdir", type=Path, default=None, help="work directory (default: from the preferences)")
    p.set_defaults(func=run)


def run(args) -> int:
    from reflexng.gui.display import display_available, why_no_display

    if not display_available():
        print(f"reflexng gui: {why_no_display()}", file=sys.stderr)
        return 2
    for d in args.data:
        if not d.is_dir():
            print(f"reflexng gui: data folder not found: {d}", file=sys.stderr)
            return 2
    if args.workdir is not None and args.workdir.exists() and not args.workdir.is_dir():
        print(f"reflexng gui: --workdir {args.workdir}: is a file, not a folder; choose a folder", file=sys.stderr)
        return 2
    if args.cascade:
        from reflexng.cascade import CascadeError
        from reflexng.cascade.loader import find_cascade

        try:
            find_cascade(args.cascade)
        except CascadeError as exc:  # a file that exists but does not load is shown in the window
            print(str(exc), file=sys.stderr)
            return 2
    from reflexng.gui import launch

    return launch(args.cascade, args.data, args.target, args.workdir)
